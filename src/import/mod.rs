//! 台账导入: a bureau's Excel ledgers (or CSV files) read as bureaus keep them — title rows, two-row headers,
//! totals, notes, dates and amounts in every common form — matched to what is stored, and written through the
//! services in one transaction. A preview writes nothing; a commit is a batch (service::imports) that can be
//! undone. The report names every problem by the sheet's own row number and column letter.

pub mod blockers;
pub mod companies;
pub mod funds;
pub mod incubation;
pub mod layout;
pub mod outreach;
pub mod projects;
pub mod refs;
mod report;
mod row;
pub mod sheet;
pub mod stages;
pub mod template;
pub mod value;
pub mod visits;

use std::collections::HashMap;

use sea_orm::{DatabaseConnection, DatabaseExecutor};
use sha2::{Digest, Sha256};

use crate::service::{
    Actor, AppError, AppResult, Code, Kind, Msg,
    imports::{self, NewBatch},
};
use layout::{Field, Layout};
use report::sample;
pub use report::{Issue, MappedColumn, Report, SampleRow};
pub use row::{Outcome, RowReader, issue_of};
use sheet::{Grid, column_letter};
use value::norm;

/// A dataset a ledger can be imported into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// 企业名录: companies with their contacts.
    Companies,
    /// 重点招商项目台账: projects with their companies and stage dates.
    Projects,
    /// 来访接待登记表: visits with their companies and headcounts.
    Visits,
    /// 到位资金: fund arrivals of recorded projects.
    FundArrivals,
    /// 问题台账: blockers of recorded projects.
    Blockers,
    /// 外出招商/招商活动: trips and events with the companies met.
    Outreach,
    /// 高企培育: incubation candidates and their stage dates.
    Incubation,
}

impl Dataset {
    /// Every dataset, by its name in paths.
    pub const ALL: [(&'static str, Dataset); 7] = [
        ("projects", Dataset::Projects),
        ("companies", Dataset::Companies),
        ("visits", Dataset::Visits),
        ("fund-arrivals", Dataset::FundArrivals),
        ("blockers", Dataset::Blockers),
        ("outreach", Dataset::Outreach),
        ("incubation", Dataset::Incubation),
    ];

    /// The dataset of a path's name.
    pub fn parse(name: &str) -> AppResult<Dataset> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| *d)
            .ok_or(AppError::not_found(Kind::ImportDataset))
    }

    /// Its name in paths.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, d)| *d == self)
            .map(|(n, _)| *n)
            .expect("every dataset is in ALL")
    }

    /// Its Chinese name (file names, the template's title).
    pub fn label(self) -> &'static str {
        match self {
            Dataset::Companies => "企业名录",
            Dataset::Projects => "重点招商项目台账",
            Dataset::Visits => "来访接待登记表",
            Dataset::FundArrivals => "到位资金台账",
            Dataset::Blockers => "问题台账",
            Dataset::Outreach => "招商活动台账",
            Dataset::Incubation => "高企培育台账",
        }
    }

    /// The columns its ledgers have.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Dataset::Companies => companies::FIELDS,
            Dataset::Projects => projects::FIELDS,
            Dataset::Visits => visits::FIELDS,
            Dataset::FundArrivals => funds::FIELDS,
            Dataset::Blockers => blockers::FIELDS,
            Dataset::Outreach => outreach::FIELDS,
            Dataset::Incubation => incubation::FIELDS,
        }
    }
}

/// Where an import's rows go: the database, who imports, and whether to write (else only match and check).
#[derive(Clone, Copy)]
pub struct Target<'a> {
    /// The commit's one transaction, or for a preview the pool (short reads that hold no write lock).
    pub db: &'a DatabaseExecutor<'a>,
    /// Who imports.
    pub actor: &'a Actor,
    /// Write what matched, or only report it.
    pub commit: bool,
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Write (else only report what would be written).
    pub commit: bool,
    /// Write the good rows even when others have errors.
    pub skip_errors: bool,
    /// The sheet to read (else the first one with a recognisable header).
    pub sheet: Option<String>,
    /// The header's row number, from 1 (else detected).
    pub header_row: Option<usize>,
    /// Column letter or header text → field key (empty: ignore the column); overrides detection.
    pub mapping: HashMap<String, String>,
    /// The client's address, for the audit log.
    pub client_addr: Option<String>,
}

/// Why a row below the header is not data: blank, a total (合计/小计/总计), or a note (注:, 填表人 …, or one text
/// merged across the row).
pub(crate) fn skip_reason(grid: &Grid, r: usize) -> Option<&'static str> {
    let cells: Vec<String> = grid.rows[r]
        .iter()
        .filter(|c| !c.is_blank())
        .map(|c| norm(&c.display()))
        .collect();
    let Some(first) = cells.first() else {
        return Some("blank");
    };
    if cells.iter().take(4).any(|c| {
        ["合计", "小计", "总计", "共计"]
            .iter()
            .any(|t| c.replace(' ', "").starts_with(t))
    }) {
        return Some("total");
    }
    const NOTES: [&str; 10] = [
        "注:",
        "说明:",
        "备注:",
        "填表人",
        "制表人",
        "审核人",
        "填报人",
        "填表说明",
        "数据来源",
        "负责人:",
    ];
    if NOTES.iter().any(|p| first.starts_with(p)) || (cells.len() >= 2 && cells.iter().all(|c| c == first)) {
        return Some("note");
    }
    None
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The sheet to read and its layout: the one named, or the first whose header is recognised.
fn pick<'g>(dataset: Dataset, grids: &'g [Grid], o: &Options) -> AppResult<(&'g Grid, Layout)> {
    let fields = dataset.fields();
    if let Some(name) = &o.sheet {
        let grid = grids.iter().find(|g| &g.name == name).ok_or_else(|| {
            AppError::invalid(
                "sheet",
                format!("the workbook has no sheet named {name}"),
                format!("工作簿中没有名为“{name}”的工作表"),
            )
        })?;
        return Ok((grid, layout::detect(fields, grid, o.header_row, &o.mapping)?));
    }
    let mut first_error = None;
    for grid in grids {
        match layout::detect(fields, grid, o.header_row, &o.mapping) {
            Ok(l) => return Ok((grid, l)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| {
        AppError::rule(
            Code::EmptyFile,
            Some("file"),
            Msg::new("the file has no sheet", "文件中没有工作表"),
        )
    }))
}

/// The data rows below the header, read (rows with errors left out, their errors in `out`), and the number of
/// rows skipped as blank, totals or notes.
fn read_rows<R>(
    grid: &Grid,
    layout: &Layout,
    out: &mut Outcome,
    read: fn(&mut RowReader<'_>) -> Option<R>,
) -> (Vec<R>, usize) {
    let first = layout.header_rows.1 + 1;
    let mut skipped = 0;
    let mut rows = Vec::new();
    for r in first..grid.rows.len() {
        if skip_reason(grid, r).is_some() {
            skipped += 1;
            continue;
        }
        let mut reader = RowReader::new(grid, r, layout, out);
        rows.extend(read(&mut reader));
    }
    (rows, skipped)
}

/// 422 when the sheet lacks a column every row needs.
fn check_required(dataset: Dataset, grid: &Grid, layout: &Layout) -> AppResult<()> {
    let missing: Vec<&str> = dataset
        .fields()
        .iter()
        .filter(|f| f.required && layout.column_of(f.key).is_none())
        .map(|f| f.label)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(AppError::rule(
        Code::MissingColumn,
        Some("file"),
        Msg::new(
            format!("the sheet {} lacks required columns: {}", grid.name, missing.join(", ")),
            format!("工作表“{}”缺少必填列:{}", grid.name, missing.join("、")),
        ),
    ))
}

/// A dataset's ledger: how one row is read, and how the rows are matched to what is stored and written (its
/// columns are its module's `FIELDS`). One implementation per dataset, as `Tracked` is for the pipelines.
pub trait Ledger {
    /// A row as read from the sheet.
    type Row: Send + 'static;
    /// Reads one row, recording each problem against its cell; none when the row cannot be used.
    fn read(r: &mut RowReader<'_>) -> Option<Self::Row>;
    /// Matches the rows to what is stored and, when `to.commit`, writes them; answers what was written.
    fn import(
        to: Target<'_>,
        rows: Vec<Self::Row>,
        out: &mut Outcome,
    ) -> impl Future<Output = AppResult<Vec<imports::Touched>>> + Send;
}

/// Declares a dataset module's ledger from its `Row`, `read` and `import`, in one line.
macro_rules! ledger {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name;

        impl $crate::import::Ledger for $name {
            type Row = Row;

            fn read(r: &mut $crate::import::RowReader<'_>) -> Option<Row> {
                read(r)
            }

            fn import(
                to: $crate::import::Target<'_>,
                rows: Vec<Row>,
                out: &mut $crate::import::Outcome,
            ) -> impl Future<Output = $crate::service::AppResult<Vec<$crate::service::imports::Touched>>> + Send {
                import(to, rows, out)
            }
        }
    };
}
use ledger;

/// A ledger file read: its hash, its sheets, the one read with its layout, and the rows below the header.
struct Read<R> {
    sha256: String,
    grids: Vec<Grid>,
    at: usize,
    layout: Layout,
    rows: Vec<R>,
    skipped: usize,
    out: Outcome,
}

/// Hashes and reads the file, finds the sheet and its layout, and reads the rows: CPU work, off the request
/// threads.
fn read_file<L: Ledger>(dataset: Dataset, file_name: &str, bytes: &[u8], o: &Options) -> AppResult<Read<L::Row>> {
    let sha256 = sha256_hex(bytes);
    let grids = sheet::read(file_name, bytes)?;
    let (grid, layout) = pick(dataset, &grids, o)?;
    check_required(dataset, grid, &layout)?;
    let mut out = Outcome::new(&layout, o.skip_errors);
    let (rows, skipped) = read_rows(grid, &layout, &mut out, L::read);
    let at = grids.iter().position(|g| std::ptr::eq(g, grid)).unwrap_or_default();
    Ok(Read {
        sha256,
        grids,
        at,
        layout,
        rows,
        skipped,
        out,
    })
}

/// Reads a ledger file and imports it into `dataset`: a preview (nothing written) unless `o.commit`. A commit with
/// errors writes nothing unless `o.skip_errors`; the report says which (`committed`).
pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    dataset: Dataset,
    file_name: &str,
    bytes: Vec<u8>,
    o: Options,
) -> AppResult<Report> {
    let file = (file_name.to_owned(), bytes);
    match dataset {
        Dataset::Projects => run_ledger::<projects::Projects>(db, actor, dataset, file, o).await,
        Dataset::Companies => run_ledger::<companies::Companies>(db, actor, dataset, file, o).await,
        Dataset::Visits => run_ledger::<visits::Visits>(db, actor, dataset, file, o).await,
        Dataset::FundArrivals => run_ledger::<funds::FundArrivals>(db, actor, dataset, file, o).await,
        Dataset::Blockers => run_ledger::<blockers::Blockers>(db, actor, dataset, file, o).await,
        Dataset::Outreach => run_ledger::<outreach::Outreach>(db, actor, dataset, file, o).await,
        Dataset::Incubation => run_ledger::<incubation::Incubation>(db, actor, dataset, file, o).await,
    }
}

async fn run_ledger<L: Ledger>(
    db: &DatabaseConnection,
    actor: &Actor,
    dataset: Dataset,
    (file_name, bytes): (String, Vec<u8>),
    mut o: Options,
) -> AppResult<Report> {
    let client_addr = o.client_addr.take();
    let (read, file_name, o) = tokio::task::spawn_blocking(move || {
        let read = read_file::<L>(dataset, &file_name, &bytes, &o);
        (read, file_name, o)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    let Read {
        sha256,
        grids,
        at,
        layout,
        rows,
        skipped,
        mut out,
    } = read?;
    // A commit writes in one transaction, taking SQLite's write lock at BEGIN as every write of the API does; a
    // preview only reads, one short query at a time, so writers go on meanwhile.
    let txn = if o.commit {
        Some(crate::service::begin(db).await?)
    } else {
        None
    };
    let exec = txn
        .as_ref()
        .map_or(DatabaseExecutor::Connection(db), DatabaseExecutor::Transaction);
    let to = Target {
        db: &exec,
        actor,
        commit: o.commit,
    };
    let touched = L::import(to, rows, &mut out).await?;
    let grid = &grids[at];
    let mut report = report(
        dataset,
        (&file_name, sha256),
        (&grids, grid, &layout),
        (out, skipped),
        o.commit,
    );
    if let (true, Some(txn)) = (report.committed, txn) {
        let counts = serde_json::json!({
            "rows": report.rows, "created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "skipped": report.skipped, "errors": report.errors.len(),
            "error_rows": report.error_rows,
            "companies_created": report.companies_created,
        });
        let batch = NewBatch {
            dataset: report.dataset.clone(),
            file_name,
            sha256: report.sha256.clone(),
            counts,
            touched,
            client_addr,
        };
        report.batch_id = Some(imports::record(&txn, actor, batch).await?);
        sea_orm::TransactionSession::commit(txn).await?;
    }
    Ok(report)
}

/// The report of what the rows did (or would do); `committed` when a commit was asked for and may write.
fn report(
    dataset: Dataset,
    (file_name, sha256): (&str, String),
    (grids, grid, layout): (&[Grid], &Grid, &Layout),
    (mut out, skipped): (Outcome, usize),
    commit: bool,
) -> Report {
    let first = layout.header_rows.1 + 1;
    let mut report = Report {
        dataset: dataset.as_str().into(),
        committed: commit && out.may_write(),
        batch_id: None,
        file_name: file_name.into(),
        sha256,
        sheet: grid.name.clone(),
        sheets: grids.iter().map(|g| g.name.clone()).collect(),
        header_rows: (layout.header_rows.0..=layout.header_rows.1).map(|r| r + 1).collect(),
        columns: Vec::new(),
        ignored: Vec::new(),
        rows: grid.rows.len().saturating_sub(first),
        created: out.created,
        updated: out.updated,
        unchanged: out.unchanged,
        skipped,
        companies_created: out.companies_created,
        error_rows: out
            .errors
            .iter()
            .map(|e| e.row)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        errors: std::mem::take(&mut out.errors),
        warnings: std::mem::take(&mut out.warnings),
        sample: Vec::new(),
    };
    (report.columns, report.ignored) = layout
        .columns
        .iter()
        .map(|c| MappedColumn {
            column: column_letter(c.index),
            header: c.header.clone(),
            field: c.field.map(str::to_owned),
        })
        .partition(|m| m.field.is_some());
    report.errors.sort_by_key(|i| (i.row, i.column.clone()));
    report.warnings.sort_by_key(|i| (i.row, i.column.clone()));
    report.sample = sample(grid, layout, first, &report.errors);
    report
}
