//! Exports for the leading group (docs/DEFINITIONS.md, "Exports"): the records as CSV (UTF-8 with BOM), XLSX or
//! JSON, read through the services in id order a chunk at a time, so that a million rows never sit in memory at
//! once; and the funnel and KPI tables of a period.

mod computed;
mod encode;
mod tables;

use std::{path::Path, pin::Pin};

use chrono::NaiveDate;
use futures_util::{Stream, TryStreamExt, stream};
use sea_orm::DatabaseConnection;

pub use encode::{Encoded, Format, XLSX_TYPE, content_disposition, encode, neutralise};
use tables::{ContactRow, EventRow, ProjectRow, Record, Table, VisitRow, columns};

use crate::service::{
    Actor, AppError, AppResult, Need, audit, blockers::BlockerView, incubation::CandidateView, input::today,
    outreach::OutreachView, support_funds::SupportFundView,
};

/// One cell of an export.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing.
    Null,
    /// Text.
    Text(String),
    /// An enum: its API value (JSON) and its Chinese label (CSV, XLSX).
    Enum(String, &'static str),
    /// A whole number.
    Int(i64),
    /// A calendar date.
    Date(NaiveDate),
    /// Money in whole yuan, shown in 万元.
    Money(i64),
    /// US cents, shown in 万美元.
    Dollars(i64),
    /// A rate or a number of days.
    Float(f64),
    /// Yes or no.
    Bool(bool),
}

/// A column: its JSON key, its Chinese header and its width in characters.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// JSON key.
    pub key: &'static str,
    /// Header in CSV and XLSX.
    pub header: &'static str,
    /// Width in XLSX.
    pub width: f64,
}

impl Column {
    /// A column.
    pub const fn new(key: &'static str, header: &'static str, width: f64) -> Column {
        Column { key, header, width }
    }
}

/// A stream of rows.
pub type Rows = Pin<Box<dyn Stream<Item = anyhow::Result<Vec<Cell>>> + Send>>;

/// What can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "kebab-case")]
pub enum Dataset {
    /// 招商项目: with the reach date of every stage, funds arrived and the contact leader.
    Projects,
    /// 阶段记录: every stage event.
    StageEvents,
    /// 来访接待.
    Visits,
    /// 招商活动.
    Outreach,
    /// 难题台账.
    Blockers,
    /// 高企培育.
    Incubation,
    /// 联系人 (phone and e-mail masked without the contact_details scope).
    Contacts,
    /// 扶持资金: support funds secured for companies.
    SupportFunds,
    /// 项目漏斗: flow and cohort funnels of `period`, with conversion, days and year on year.
    Funnel,
    /// 主要指标: the KPIs of `period` beside the same period a year earlier.
    Kpis,
}

impl Dataset {
    /// Every dataset, in the order a menu lists them.
    pub const ALL: [Dataset; 10] = [
        Dataset::Projects,
        Dataset::StageEvents,
        Dataset::Visits,
        Dataset::Outreach,
        Dataset::Blockers,
        Dataset::Incubation,
        Dataset::Contacts,
        Dataset::SupportFunds,
        Dataset::Funnel,
        Dataset::Kpis,
    ];

    /// The dataset named by its file stem (`stage-events`) or API value (`stage_events`).
    pub fn from_name(name: &str) -> Option<Dataset> {
        use poem_openapi::types::ParseFromParameter;
        Dataset::parse_from_parameter(&name.replace('_', "-")).ok()
    }

    /// The file name stem (English) and title (Chinese).
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Dataset::Projects => ("projects", "招商项目"),
            Dataset::StageEvents => ("stage-events", "阶段记录"),
            Dataset::Visits => ("visits", "来访接待"),
            Dataset::Outreach => ("outreach", "招商活动"),
            Dataset::Blockers => ("blockers", "难题台账"),
            Dataset::Incubation => ("incubation", "高企培育"),
            Dataset::Contacts => ("contacts", "联系人"),
            Dataset::SupportFunds => ("support-funds", "扶持资金"),
            Dataset::Funnel => ("funnel", "项目漏斗"),
            Dataset::Kpis => ("kpis", "主要指标"),
        }
    }

    /// The columns.
    pub fn columns(self) -> Vec<Column> {
        match self {
            Dataset::Projects => columns::<ProjectRow>(),
            Dataset::StageEvents => columns::<EventRow>(),
            Dataset::Visits => columns::<VisitRow>(),
            Dataset::Outreach => columns::<OutreachView>(),
            Dataset::Blockers => columns::<BlockerView>(),
            Dataset::Incubation => columns::<CandidateView>(),
            Dataset::Contacts => columns::<ContactRow>(),
            Dataset::SupportFunds => columns::<SupportFundView>(),
            Dataset::Funnel => computed::FUNNEL.to_vec(),
            Dataset::Kpis => computed::KPIS.to_vec(),
        }
    }
}

/// Filters an export accepts (each dataset uses those that apply to it).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Filters {
    /// First day of the dataset's own date (lead date, event date, visit date, start date, raised date).
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: Option<NaiveDate>,
    /// Projects: current stage; incubation: current stage.
    pub stage: Option<String>,
    /// Projects: industry.
    pub industry: Option<String>,
    /// Blockers: status.
    pub status: Option<String>,
    /// Funnel and KPIs: the period (`2024-H1` …).
    pub period: Option<String>,
    /// Funnel and KPIs: ignore records after this date.
    pub as_of: Option<NaiveDate>,
    /// The records the caller sees (数据权限); the funnel and KPI tables are computed over them.
    #[serde(skip)]
    pub visible: crate::service::scope::Visible,
}

// Rows per database round trip. Measured on PostgreSQL through sqlx: the 2,000-id IN lists of bigger chunks cost
// ~40 ms a query (1M visits took 24 s); at 500 the same export takes 3.4 s.
const CHUNK: u64 = 500;

/// The rows of a table, read a chunk at a time in id order.
fn table_rows<T: Table>(db: DatabaseConnection, filters: Filters, open_contacts: bool) -> Rows {
    let pages = stream::try_unfold(Some(0i64), move |after| {
        let (db, filters) = (db.clone(), filters.clone());
        async move {
            let Some(after) = after else { return Ok(None) };
            let records = T::read(&db, &filters, after, open_contacts).await?;
            let Some(last) = records.last().map(T::id) else {
                return Ok(None);
            };
            let next = ((records.len() as u64) == CHUNK).then_some(last);
            let rows: Vec<anyhow::Result<Vec<Cell>>> = records.iter().map(|r| Ok(r.row())).collect();
            Ok::<_, anyhow::Error>(Some((stream::iter(rows), next)))
        }
    });
    Box::pin(pages.try_flatten())
}

/// The visits, read by one streamed query on a task of its own and handed over a bounded channel a chunk at a time:
/// memory stays flat, and a client that goes away drops the receiver, which ends the task and its query.
fn visit_rows(db: DatabaseConnection, filters: Filters) -> Rows {
    use futures_util::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::channel::<anyhow::Result<Vec<Vec<Cell>>>>(4);
    tokio::spawn(async move {
        let filter = crate::service::visits::VisitFilter {
            visible: filters.visible,
            from: filters.from,
            to: filters.to,
            ..Default::default()
        };
        let lines = match crate::service::visits::lines(&db, filter).await {
            Ok(lines) => lines.map(|l| l.map(|l| VisitRow(l).row())),
            Err(e) => {
                let _ = tx.send(Err(e.into())).await;
                return;
            }
        };
        let mut chunks = std::pin::pin!(lines.chunks(CHUNK as usize));
        while let Some(chunk) = chunks.next().await {
            let rows: Result<Vec<_>, _> = chunk.into_iter().collect();
            let failed = rows.is_err();
            if tx.send(rows.map_err(anyhow::Error::from)).await.is_err() || failed {
                return;
            }
        }
    });
    let chunks = stream::unfold(rx, async |mut rx| rx.recv().await.map(|chunk| (chunk, rx)));
    Box::pin(
        chunks
            .map_ok(|rows| stream::iter(rows.into_iter().map(Ok)))
            .try_flatten(),
    )
}

/// The rows of a dataset; contact details are masked unless `open_contacts`.
pub fn rows(db: DatabaseConnection, set: Dataset, filters: Filters, open_contacts: bool) -> Rows {
    match set {
        Dataset::Projects => table_rows::<ProjectRow>(db, filters, open_contacts),
        Dataset::StageEvents => table_rows::<EventRow>(db, filters, open_contacts),
        Dataset::Visits => visit_rows(db, filters),
        Dataset::Outreach => table_rows::<OutreachView>(db, filters, open_contacts),
        Dataset::Blockers => table_rows::<BlockerView>(db, filters, open_contacts),
        Dataset::Incubation => table_rows::<CandidateView>(db, filters, open_contacts),
        Dataset::Contacts => table_rows::<ContactRow>(db, filters, open_contacts),
        Dataset::SupportFunds => table_rows::<SupportFundView>(db, filters, open_contacts),
        Dataset::Funnel | Dataset::Kpis => {
            let once = stream::once(async move { computed::rows(&db, set, &filters).await });
            Box::pin(once.map_ok(|rows| stream::iter(rows.into_iter().map(Ok))).try_flatten())
        }
    }
}

impl Filters {
    /// Checks the filters for `set` before any byte is written: the period of the computed tables, the enum values
    /// of the others.
    pub fn validate(&self, set: Dataset) -> AppResult<()> {
        if matches!(set, Dataset::Funnel | Dataset::Kpis)
            && let Err(e) = jobs::period::Period::parse(self.period.as_deref().unwrap_or_default())
        {
            return Err(crate::service::AppError::invalid(
                "period",
                e.to_string(),
                "请给出期间,如 2024-H1",
            ));
        }
        self.check(set)
    }
}

/// The file names of an export made today: ASCII and Chinese.
pub fn file_names(set: Dataset, format: Format) -> (String, String) {
    let (stem, title) = set.names();
    let day = today().format("%Y%m%d");
    (
        format!("{stem}-{day}.{}", format.ext()),
        format!("{title}-{day}.{}", format.ext()),
    )
}

/// Writes an export to a file (the command line's `export`, contact details unmasked); answers the number of rows.
pub async fn to_file(
    db: DatabaseConnection,
    set: Dataset,
    filters: Filters,
    format: Format,
    out: &Path,
) -> anyhow::Result<u64> {
    use std::io::Write;
    filters.validate(set)?;
    let mut e = encode(set, format, rows(db, set, filters, true)).await?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    while let Some(chunk) = e.bytes.try_next().await? {
        w.write_all(&chunk)?;
    }
    w.flush()?;
    Ok(e.count())
}

/// An export on its way out: the bytes (its audit row, with the row count, written after the last of them, so an
/// export cut short is not logged as complete), its content type and `Content-Disposition`.
pub struct Download {
    /// The bytes.
    pub body: poem::Body,
    /// Its content type.
    pub content_type: &'static str,
    /// Its RFC 6266 `Content-Disposition`.
    pub disposition: String,
}

/// Exports `set` in `format` for `actor` over the records they see, audited as a request to `path` from `client`;
/// the filters are checked before any byte is written.
pub async fn download(
    db: &DatabaseConnection,
    actor: &Actor,
    (set, format): (Dataset, Format),
    mut filters: Filters,
    (path, client_addr): (String, Option<String>),
) -> AppResult<Download> {
    use futures_util::StreamExt;
    actor.require(Need::Export)?;
    filters.visible = crate::service::scope::visible(db, actor).await?;
    filters.validate(set)?;
    let (ascii, chinese) = file_names(set, format);
    let mut entry = audit::Entry {
        action: "export".into(),
        user_id: Some(actor.user_id),
        username: Some(actor.username.clone()),
        entity: Some(set.names().0.into()),
        path,
        client_addr,
        detail: Some(serde_json::json!({"format": format.ext(), "filters": filters})),
        door: audit::current_door(),
        ..Default::default()
    };
    let rows = rows(db.clone(), set, filters, actor.sees_contact_details());
    let Encoded { bytes, rows } = encode(set, format, rows).await.map_err(AppError::Internal)?;
    let db = db.clone();
    let tail = stream::once(async move {
        if let Some(d) = entry.detail.as_mut() {
            d["rows"] = rows.load(std::sync::atomic::Ordering::Relaxed).into();
        }
        audit::write(&db, entry).await?;
        Ok(Vec::new())
    });
    let body = poem::Body::from_bytes_stream(bytes.chain(tail).map_err(|e: anyhow::Error| {
        tracing::error!(error = %format!("{e:#}"), "an export failed while streaming");
        std::io::Error::other(e.to_string())
    }));
    Ok(Download {
        body,
        content_type: format.content_type(),
        disposition: content_disposition(&ascii, &chinese),
    })
}
