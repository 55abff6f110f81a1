//! `GET /api/v1/exports/{dataset}`: CSV (streamed, UTF-8 with BOM), XLSX or JSON (streamed), audited with the
//! filters and the row count.

use chrono::NaiveDate;
use jobs::period::Period;
use poem::{Body, IntoResponse, Response, http::header};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Header, Path, Query},
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry},
    types::Type,
};
use sea_orm::DatabaseConnection;

use super::{ApiTags, auth::Auth};
use crate::{
    export::{self, Dataset, Filters, Format, XLSX_TYPE},
    report::{self, DOCX_TYPE, SummaryFormat},
    service::{AppError, AppResult, Need},
};

/// The content types a kind of file is documented with.
pub trait FileKind: Send {
    /// Its content types.
    const TYPES: &'static [&'static str];
}

/// Exports: CSV, XLSX, JSON.
pub struct Exported;

impl FileKind for Exported {
    const TYPES: &'static [&'static str] = &["text/csv; charset=utf-8", XLSX_TYPE, "application/json; charset=utf-8"];
}

/// The work summary: text, Markdown, DOCX.
pub struct Summarised;

impl FileKind for Summarised {
    const TYPES: &'static [&'static str] = &["text/plain; charset=utf-8", "text/markdown; charset=utf-8", DOCX_TYPE];
}

/// A file to download, with its real content type and an RFC 6266 `Content-Disposition`.
pub struct File<K: FileKind> {
    body: Body,
    content_type: &'static str,
    disposition: String,
    sandboxed: bool,
    length: Option<u64>,
    kind: std::marker::PhantomData<K>,
}

/// An export file.
pub type ExportFile = File<Exported>;

impl<K: FileKind> File<K> {
    pub fn new(body: Body, content_type: &'static str, disposition: String) -> Self {
        File {
            body,
            content_type,
            disposition,
            sandboxed: false,
            length: None,
            kind: std::marker::PhantomData,
        }
    }

    /// The same file with a CSP that runs nothing in it even if a browser showed it as a page (an uploaded file).
    pub fn sandboxed(self) -> Self {
        File {
            sandboxed: true,
            ..self
        }
    }

    /// The same file with its length known before it streams (a client shows the download's progress).
    pub fn with_length(self, bytes: u64) -> Self {
        File {
            length: Some(bytes),
            ..self
        }
    }
}

impl<K: FileKind> IntoResponse for File<K> {
    fn into_response(self) -> Response {
        let answer = Response::builder()
            .content_type(self.content_type)
            .header(header::CONTENT_DISPOSITION, self.disposition);
        let answer = if self.sandboxed {
            answer.header(
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; img-src 'self'; sandbox",
            )
        } else {
            answer
        };
        let answer = match self.length {
            Some(n) => answer.header(header::CONTENT_LENGTH, n),
            None => answer,
        };
        answer.body(self.body)
    }
}

impl<K: FileKind> ApiResponse for File<K> {
    fn meta() -> MetaResponses {
        // A JSON export is an array of rows (their columns depend on the dataset); every other kind is a file.
        let schema = |content_type: &str| {
            let s = if content_type.starts_with("application/json") {
                MetaSchema {
                    items: Some(Box::new(MetaSchemaRef::Inline(Box::new(MetaSchema::new("object"))))),
                    ..MetaSchema::new("array")
                }
            } else {
                MetaSchema::new_with_format("string", "binary")
            };
            MetaSchemaRef::Inline(Box::new(s))
        };
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The file; `Content-Disposition` names it in Chinese (`filename*`) with an ASCII fallback.",
                status: Some(200),
                status_range: None,
                content: K::TYPES
                    .iter()
                    .map(|&content_type| MetaMediaType {
                        content_type,
                        schema: schema(content_type),
                    })
                    .collect(),
                headers: vec![MetaHeader {
                    name: "Content-Disposition".into(),
                    description: Some("attachment; filename=\"…\"; filename*=UTF-8''…".into()),
                    required: true,
                    deprecated: false,
                    schema: String::schema_ref(),
                }],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}

/// Export endpoints.
pub struct ExportsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Exports")]
impl ExportsApi {
    /// Export a dataset. Filters: `from`/`to` on the dataset's own date (a project's lead date, an event's date, a
    /// visit's date, an outreach's start, a blocker's raised date), `stage` (projects, incubation), `industry`
    /// (projects), `status` (blockers). Large CSV and JSON exports stream as they are read.
    #[oai(path = "/exports/:dataset", method = "get", operation_id = "exportDataset")]
    #[allow(clippy::too_many_arguments)]
    async fn export(
        &self,
        auth: Auth,
        /// What to export.
        dataset: Path<Dataset>,
        /// `csv` (default), `xlsx` or `json`; without it the `Accept` header decides.
        format: Query<Option<Format>>,
        /// First day (inclusive) of the dataset's date.
        from: Query<Option<NaiveDate>>,
        /// Last day (inclusive).
        to: Query<Option<NaiveDate>>,
        /// Current stage (projects, incubation).
        stage: Query<Option<String>>,
        /// Industry (projects).
        industry: Query<Option<String>>,
        /// Status (blockers).
        status: Query<Option<String>>,
        /// The period of `funnel` and `kpis` (`2024-H1` …).
        period: Query<Option<String>>,
        /// `funnel`: ignore records after this date (default today); `kpis`: the same, by default the period's last day
        /// once it has ended.
        as_of: Query<Option<NaiveDate>>,
        /// Used when `format` is absent.
        #[oai(name = "Accept")]
        accept: Header<Option<String>>,
        req: &poem::Request,
    ) -> AppResult<ExportFile> {
        let format = format.0.unwrap_or_else(|| Format::from_accept(accept.0.as_deref()));
        let filters = Filters {
            from: from.0,
            to: to.0,
            stage: stage.0,
            industry: industry.0,
            status: status.0,
            period: period.0,
            as_of: as_of.0,
            ..Default::default()
        };
        let path = format!("/api/v1/exports/{}", dataset.0.names().0);
        let d = export::download(
            &self.db,
            &auth.0,
            (dataset.0, format),
            filters,
            (path, crate::edge::client_addr(req)),
        )
        .await?;
        Ok(ExportFile::new(d.body, d.content_type, d.disposition))
    }

    /// The investment-promotion section of a work summary (工作总结) for a period, every number from the records
    /// the caller sees (its first line says which when that is not all): as `text`, `markdown` or `docx`.
    #[oai(path = "/reports/summary", method = "get", operation_id = "getWorkSummary")]
    async fn summary(
        &self,
        auth: Auth,
        /// `2024`, `2024-H1`, `2024-Q2`, `2024-05` or `2024-W21`.
        period: Query<String>,
        /// `text` (default), `markdown` or `docx`.
        format: Query<Option<SummaryFormat>>,
        /// Ignore records after this date (default: the period's last day once it has ended, else today in
        /// Asia/Shanghai).
        as_of: Query<Option<NaiveDate>>,
    ) -> AppResult<File<Summarised>> {
        auth.0.require(Need::Report)?;
        let p = Period::parse(&period.0).map_err(|e| AppError::invalid("period", e.to_string(), e.to_string()))?;
        let format = format.0.unwrap_or(SummaryFormat::Text);
        let as_of = crate::service::analytics::measured_on(&p, as_of.0);
        let seen = crate::service::scope::seen(&self.db, &auth.0).await?;
        let f = report::file(&self.db, (&p, as_of), &seen, format).await?;
        Ok(File::new(Body::from(f.bytes), f.content_type, f.disposition))
    }
}
