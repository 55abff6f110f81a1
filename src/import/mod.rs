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
pub mod sheet;
pub mod stages;
pub mod template;
pub mod value;
pub mod visits;

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{DatabaseConnection, SqliteTransactionMode, TransactionOptions, TransactionTrait};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::service::{
    Actor, AppError, AppResult, Msg,
    imports::{self, NewBatch},
    input::{Day, Money},
};
use layout::{Field, Layout};
use sheet::{Cell, Grid, column_letter};
use value::{Bad, norm};

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
            .ok_or(AppError::not_found("import dataset"))
    }

    /// Its name in paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Dataset::Companies => "companies",
            Dataset::Projects => "projects",
            Dataset::Visits => "visits",
            Dataset::FundArrivals => "fund-arrivals",
            Dataset::Blockers => "blockers",
            Dataset::Outreach => "outreach",
            Dataset::Incubation => "incubation",
        }
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

/// A problem with one row (and cell) of the sheet.
#[derive(Debug, Clone, Serialize)]
pub struct Issue {
    /// The sheet's row number, from 1.
    pub row: usize,
    /// The column letter, when one cell is at fault.
    pub column: Option<String>,
    /// The value as written.
    pub value: Option<String>,
    /// Machine code.
    pub code: String,
    /// What is wrong, in Chinese.
    pub message: String,
}

impl Issue {
    /// A problem at a row and, if known, a column.
    pub fn at(row: usize, column: Option<String>, value: Option<&str>, code: &str, message: String) -> Issue {
        Issue {
            row,
            column,
            value: value.map(str::to_owned),
            code: code.to_owned(),
            message,
        }
    }
}

/// A column of the sheet and the field it was read into.
#[derive(Debug, Clone, Serialize)]
pub struct MappedColumn {
    /// Column letter.
    pub column: String,
    /// Its header as written.
    pub header: String,
    /// The field it fills (none for an ignored column).
    pub field: Option<String>,
}

/// What an import did, or would do: the same shape for a preview and a commit.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The dataset.
    pub dataset: String,
    /// Whether anything was written.
    pub committed: bool,
    /// The recorded batch, when committed.
    pub batch_id: Option<i64>,
    /// The file's name.
    pub file_name: String,
    /// The file's SHA-256, hex.
    pub sha256: String,
    /// The sheet read.
    pub sheet: String,
    /// Every sheet of the file.
    pub sheets: Vec<String>,
    /// The header's rows, from 1 (two for a two-row header).
    pub header_rows: Vec<usize>,
    /// The columns read, with their fields.
    pub columns: Vec<MappedColumn>,
    /// The columns with a header no field knows.
    pub ignored: Vec<MappedColumn>,
    /// Rows below the header.
    pub rows: usize,
    /// Records created.
    pub created: usize,
    /// Records changed.
    pub updated: usize,
    /// Rows matching a record as it is.
    pub unchanged: usize,
    /// Blank, total (合计/小计) and note rows.
    pub skipped: usize,
    /// Companies created for the rows.
    pub companies_created: usize,
    /// Problems that keep a row out, by row and column.
    pub errors: Vec<Issue>,
    /// Things worth a look that did not keep a row out.
    pub warnings: Vec<Issue>,
    /// Rows of the sheet to show beside the report (the UI's preview): every row with an error (up to 200),
    /// else the first 20, in the read columns.
    #[serde(skip)]
    pub sample: Vec<SampleRow>,
}

/// A row of the sheet as the preview shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SampleRow {
    /// The sheet's row number.
    pub row: usize,
    /// The cells of the read columns, each with its errors' messages.
    pub cells: Vec<(String, Option<String>)>,
}

/// The rows the preview shows: those with errors, or the first data rows when none has one.
fn sample(grid: &Grid, layout: &Layout, first: usize, errors: &[Issue]) -> Vec<SampleRow> {
    let mut lines: Vec<usize> = errors.iter().map(|e| e.row).collect();
    lines.dedup();
    lines.truncate(200);
    if lines.is_empty() {
        lines = (first + 1..=grid.rows.len())
            .filter(|l| skip_reason(grid, l - 1).is_none())
            .take(20)
            .collect();
    }
    let read: Vec<&layout::Column> = layout.columns.iter().filter(|c| c.field.is_some()).collect();
    lines
        .into_iter()
        .map(|line| SampleRow {
            row: line,
            cells: read
                .iter()
                .map(|c| {
                    let letter = column_letter(c.index);
                    let messages: Vec<&str> = errors
                        .iter()
                        .filter(|e| e.row == line && e.column.as_deref() == Some(letter.as_str()))
                        .map(|e| e.message.as_str())
                        .collect();
                    (
                        grid.cell(line - 1, c.index).display(),
                        (!messages.is_empty()).then(|| messages.join(";")),
                    )
                })
                .collect(),
        })
        .collect()
}

/// What the reading and matching of rows found so far.
pub struct Outcome {
    columns: HashMap<&'static str, usize>,
    errors: Vec<Issue>,
    warnings: Vec<Issue>,
    skip_errors: bool,
    /// Records created.
    pub created: usize,
    /// Records changed.
    pub updated: usize,
    /// Rows matching a record as it is.
    pub unchanged: usize,
    /// Companies created for the rows.
    pub companies_created: usize,
}

impl Outcome {
    fn new(layout: &Layout, skip_errors: bool) -> Self {
        Outcome {
            columns: layout
                .columns
                .iter()
                .filter_map(|c| c.field.map(|f| (f, c.index)))
                .collect(),
            errors: Vec::new(),
            warnings: Vec::new(),
            skip_errors,
            created: 0,
            updated: 0,
            unchanged: 0,
            companies_created: 0,
        }
    }

    /// Records an error.
    pub fn error(&mut self, i: Issue) {
        self.errors.push(i);
    }

    /// Records a warning.
    pub fn warn(&mut self, i: Issue) {
        self.warnings.push(i);
    }

    /// The column letter of a field, if the sheet has it.
    pub fn column(&self, field: &str) -> Option<String> {
        self.columns.get(field).map(|c| column_letter(*c))
    }

    /// Whether a row with this key is new: not seen on an earlier row (else a `duplicate_row` error naming that row
    /// and what the rows share, `same`) and not stored already (else it is `unchanged`). Counts the row.
    pub fn is_new<K: std::hash::Hash + Eq + Clone>(
        &mut self,
        (seen, stored): (&mut HashMap<K, usize>, &mut std::collections::HashSet<K>),
        key: K,
        line: usize,
        same: &str,
    ) -> bool {
        if let Some(first) = seen.insert(key.clone(), line) {
            self.error(Issue::at(
                line,
                None,
                None,
                "duplicate_row",
                format!("与第 {first} 行{same}"),
            ));
            return false;
        }
        if stored.remove(&key) {
            self.unchanged += 1;
            return false;
        }
        self.created += 1;
        true
    }

    /// Whether a commit may write: no errors, or errors to skip.
    pub fn may_write(&self) -> bool {
        self.errors.is_empty() || self.skip_errors
    }
}

/// The code and Chinese message of a service error about one value.
fn zh_bad(e: &AppError) -> Bad {
    match e {
        AppError::BadRequest { code, msg, .. }
        | AppError::Rule { code, msg, .. }
        | AppError::Conflict { code, msg, .. }
        | AppError::Forbidden { code, msg } => (code, msg.zh().to_owned()),
        other => ("invalid_value", other.to_string()),
    }
}

/// Reads the cells of one row into typed values, recording each problem against its cell.
pub struct RowReader<'a> {
    grid: &'a Grid,
    row: usize,
    layout: &'a Layout,
    out: &'a mut Outcome,
    failed: bool,
}

impl RowReader<'_> {
    /// The sheet's row number, from 1.
    pub fn line(&self) -> usize {
        self.row + 1
    }

    /// Whether any cell of the row had an error.
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn cell(&self, field: &str) -> Option<(&Cell, usize)> {
        let c = self.layout.column_of(field)?;
        let cell = self.grid.cell(self.row, c.index);
        (!cell.is_blank()).then_some((cell, c.index))
    }

    /// Records an error at the field's cell.
    pub fn error_at(&mut self, field: &str, code: &str, message: String) {
        let (value, column) = match self.cell(field) {
            Some((cell, c)) => (Some(cell.display()), Some(column_letter(c))),
            None => (None, self.out.column(field)),
        };
        self.failed = true;
        self.out.error(Issue {
            row: self.line(),
            column,
            value,
            code: code.into(),
            message,
        });
    }

    /// Records a warning at the field's cell.
    pub fn warn_at(&mut self, field: &str, code: &str, message: String) {
        let value = self.cell(field).map(|(c, _)| c.display());
        let column = self.out.column(field);
        self.out.warn(Issue {
            row: self.line(),
            column,
            value,
            code: code.into(),
            message,
        });
    }

    fn bad(&mut self, field: &str, (code, message): Bad) {
        self.error_at(field, code, message);
    }

    /// A required text, parsed; a blank cell is an error.
    pub fn required<T>(&mut self, field: &str, parse: impl FnOnce(&str) -> AppResult<T>) -> Option<T> {
        match self.cell(field) {
            None => {
                let label = self.field_label(field);
                self.error_at(field, "missing_value", format!("“{label}”不能为空"));
                None
            }
            Some((cell, _)) => {
                let text = cell.display();
                parse(&text).map_err(|e| self.bad(field, zh_bad(&e))).ok()
            }
        }
    }

    /// An optional text, parsed.
    pub fn text<T>(&mut self, field: &str, parse: impl FnOnce(&str) -> AppResult<Option<T>>) -> Option<T> {
        let (cell, _) = self.cell(field)?;
        let text = cell.display();
        parse(&text).map_err(|e| self.bad(field, zh_bad(&e))).ok().flatten()
    }

    /// An optional word from a list.
    pub fn word<T>(&mut self, field: &str, parse: fn(&Cell) -> Result<T, Bad>) -> Option<T> {
        let (cell, _) = self.cell(field)?;
        parse(cell).map_err(|b| self.bad(field, b)).ok()
    }

    /// An optional yes/no.
    pub fn yes_no(&mut self, field: &str) -> Option<bool> {
        self.word(field, value::yes_no)
    }

    /// An optional quantity.
    pub fn quantity(&mut self, field: &str) -> Option<f64> {
        self.word(field, value::quantity)
    }

    /// An optional amount in the column's unit (or the title's, or 万元).
    pub fn amount(&mut self, field: &str) -> Option<Money> {
        let (cell, c) = self.cell(field)?;
        let unit = self
            .layout
            .columns
            .iter()
            .find(|col| col.index == c)
            .and_then(|col| col.unit)
            .unwrap_or(self.layout.unit);
        let wan = value::amount(cell, unit).map_err(|b| self.bad(field, b)).ok()?;
        Money::from_wan(field, wan)
            .map_err(|e| self.bad(field, zh_bad(&e)))
            .ok()
    }

    /// An optional date people report (1990 to a year ahead); a month alone is its first day, with a warning.
    pub fn date(&mut self, field: &str) -> Option<NaiveDate> {
        let (cell, _) = self.cell(field)?;
        let (d, warning) = value::date(cell).map_err(|b| self.bad(field, b)).ok()?;
        if let Some(w) = warning {
            self.warn_at(field, "month_only", w);
        }
        Day::parse(field, d)
            .map(Day::date)
            .map_err(|e| self.bad(field, zh_bad(&e)))
            .ok()
    }

    fn field_label(&self, field: &str) -> String {
        self.layout
            .column_of(field)
            .map(|c| c.header.clone())
            .unwrap_or_else(|| field.to_owned())
    }
}

/// A rule a row's record breaks, as an issue on the row (and the cell of the field the rule names).
pub fn issue_of(line: usize, e: &AppError, out: &Outcome) -> Issue {
    let (code, message) = zh_bad(e);
    let field = match e {
        AppError::BadRequest { field, .. } | AppError::Rule { field, .. } | AppError::Conflict { field, .. } => {
            field.as_deref()
        }
        _ => None,
    };
    Issue::at(line, field.and_then(|f| out.column(f)), None, code, message)
}

/// Why a row below the header is not data: blank, a total (合计/小计/总计), or a note (注:, 填表人 …, or one text
/// merged across the row).
fn skip_reason(grid: &Grid, r: usize) -> Option<&'static str> {
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
            "empty_file",
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
        let mut reader = RowReader {
            grid,
            row: r,
            layout,
            out,
            failed: false,
        };
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
        "missing_column",
        Some("file"),
        Msg::new(
            format!("the sheet {} lacks required columns: {}", grid.name, missing.join(", ")),
            format!("工作表“{}”缺少必填列:{}", grid.name, missing.join("、")),
        ),
    ))
}

/// Reads the rows of the dataset and matches (and, when `commit`, writes) them; answers what was written and how
/// many rows were skipped.
async fn import_rows(
    dataset: Dataset,
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    (grid, layout): (&Grid, &Layout),
    commit: bool,
    out: &mut Outcome,
) -> AppResult<(Vec<imports::Touched>, usize)> {
    Ok(match dataset {
        Dataset::Projects => {
            let (rows, skipped) = read_rows(grid, layout, out, projects::read);
            (projects::import(txn, actor, rows, commit, out).await?, skipped)
        }
        Dataset::Companies => {
            let (rows, skipped) = read_rows(grid, layout, out, companies::read);
            (companies::import(txn, actor, rows, commit, out).await?, skipped)
        }
        Dataset::Visits => {
            let (rows, skipped) = read_rows(grid, layout, out, visits::read);
            (visits::import(txn, actor, rows, commit, out).await?, skipped)
        }
        Dataset::FundArrivals => {
            let (rows, skipped) = read_rows(grid, layout, out, funds::read);
            (funds::import(txn, actor, rows, commit, out).await?, skipped)
        }
        Dataset::Blockers => {
            let (rows, skipped) = read_rows(grid, layout, out, blockers::read);
            (blockers::import(txn, actor, rows, commit, out).await?, skipped)
        }
        Dataset::Outreach => {
            let (rows, skipped) = read_rows(grid, layout, out, outreach::read);
            (outreach::import(txn, actor, rows, commit, out).await?, skipped)
        }
        Dataset::Incubation => {
            let (rows, skipped) = read_rows(grid, layout, out, incubation::read);
            (incubation::import(txn, actor, rows, commit, out).await?, skipped)
        }
    })
}

/// Reads a ledger file and imports it into `dataset`: a preview (nothing written) unless `o.commit`. A commit with
/// errors writes nothing unless `o.skip_errors`; the report says which (`committed`).
pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    dataset: Dataset,
    file_name: &str,
    bytes: &[u8],
    o: Options,
) -> AppResult<Report> {
    let sha256 = sha256_hex(bytes);
    let grids = sheet::read(file_name, bytes)?;
    let (grid, layout) = pick(dataset, &grids, &o)?;
    check_required(dataset, grid, &layout)?;
    let mut out = Outcome::new(&layout, o.skip_errors);
    let first = layout.header_rows.1 + 1;
    // SQLite: take the write lock at BEGIN, as every write of the API does.
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    let (touched, skipped) = import_rows(dataset, &txn, actor, (grid, &layout), o.commit, &mut out).await?;
    let committed = o.commit && out.may_write();
    let companies_created = out.companies_created;
    let mut report = Report {
        dataset: dataset.as_str().into(),
        committed,
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
        companies_created,
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
    report.sample = sample(grid, &layout, first, &report.errors);
    if committed {
        let counts = serde_json::json!({
            "rows": report.rows, "created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "skipped": report.skipped, "errors": report.errors.len(),
            "companies_created": companies_created,
        });
        let batch = NewBatch {
            dataset: report.dataset.clone(),
            file_name: file_name.into(),
            sha256: report.sha256.clone(),
            counts,
            touched,
            client_addr: o.client_addr,
        };
        report.batch_id = Some(imports::record(&txn, actor, batch).await?);
        sea_orm::TransactionSession::commit(txn).await?;
    }
    Ok(report)
}
