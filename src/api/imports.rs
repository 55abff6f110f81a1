//! 台账导入 over HTTP: upload a ledger (XLSX or CSV) to preview or commit it, list the committed batches, undo one,
//! and download a dataset's template. The import's own rows in the audit log record each commit and undo.

use chrono::{DateTime, Utc};
use entity::import_batch;
use poem::{IntoResponse, http::StatusCode};
use poem_openapi::{
    ApiResponse, Multipart, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry},
    types::Type,
    types::multipart::Upload,
};
use sea_orm::DatabaseConnection;

use super::{
    ApiTags, Page, PageNo, PerPage,
    auth::Auth,
    exports::{File, FileKind},
    paging,
};
use crate::{
    edge::error::{ErrorBody, ErrorsBesides},
    export::{XLSX_TYPE, content_disposition},
    import::{self, Dataset, Options},
    service::{
        AppError, AppResult, Need, imports,
        input::{Short, Text},
    },
};

/// The upload of a ledger.
#[derive(Multipart)]
pub struct LedgerUpload {
    /// The ledger: XLSX (or XLS/ODS), or CSV in UTF-8 or GB18030.
    pub file: Upload,
}

/// A problem with one row (and cell) of the sheet.
#[derive(Object)]
pub struct ImportIssue {
    /// The sheet's row number, from 1.
    pub row: u64,
    /// The column letter, when one cell is at fault.
    pub column: Option<String>,
    /// The value as written.
    pub value: Option<String>,
    /// Machine code (`invalid_date`, `unknown_stage`, `dates_out_of_order`, `missing_value`, …).
    pub code: String,
    /// What is wrong, in Chinese.
    pub message: String,
}

/// A column of the sheet and the field it was read into.
#[derive(Object)]
pub struct ImportColumn {
    /// Column letter.
    pub column: String,
    /// Its header as written (a two-row header's cells joined by `/`).
    pub header: String,
    /// The field it fills; absent for an ignored column.
    pub field: Option<String>,
}

/// What an import did (commit) or would do (preview).
#[derive(Object)]
pub struct ImportReport {
    /// The dataset.
    pub dataset: String,
    /// Whether anything was written.
    pub committed: bool,
    /// The recorded batch, when committed (undo it with `DELETE /imports/batches/{batch_id}`).
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
    pub header_rows: Vec<u64>,
    /// The columns read, with the field each fills (the mapping used).
    pub columns: Vec<ImportColumn>,
    /// The columns with a header no field knows.
    pub ignored: Vec<ImportColumn>,
    /// Rows below the header.
    pub rows: u64,
    /// Records created.
    pub created: u64,
    /// Records changed.
    pub updated: u64,
    /// Rows matching a record as it is.
    pub unchanged: u64,
    /// Blank, total (合计/小计) and note rows.
    pub skipped: u64,
    /// Companies created for the rows.
    pub companies_created: u64,
    /// Rows with at least one error: a commit that skips errors leaves these rows out.
    pub error_rows: u64,
    /// Problems that keep a row out.
    pub errors: Vec<ImportIssue>,
    /// Things worth a look that did not keep a row out (a month without a day, say).
    pub warnings: Vec<ImportIssue>,
}

fn issue(i: import::Issue) -> ImportIssue {
    ImportIssue {
        row: i.row as u64,
        column: i.column,
        value: i.value,
        code: i.code,
        message: i.message,
    }
}

fn column(c: import::MappedColumn) -> ImportColumn {
    ImportColumn {
        column: c.column,
        header: c.header,
        field: c.field,
    }
}

impl From<import::Report> for ImportReport {
    fn from(r: import::Report) -> Self {
        ImportReport {
            dataset: r.dataset,
            committed: r.committed,
            batch_id: r.batch_id,
            file_name: r.file_name,
            sha256: r.sha256,
            sheet: r.sheet,
            sheets: r.sheets,
            header_rows: r.header_rows.into_iter().map(|r| r as u64).collect(),
            columns: r.columns.into_iter().map(column).collect(),
            ignored: r.ignored.into_iter().map(column).collect(),
            rows: r.rows as u64,
            created: r.created as u64,
            updated: r.updated as u64,
            unchanged: r.unchanged as u64,
            skipped: r.skipped as u64,
            companies_created: r.companies_created as u64,
            error_rows: r.error_rows as u64,
            errors: r.errors.into_iter().map(issue).collect(),
            warnings: r.warnings.into_iter().map(issue).collect(),
        }
    }
}

/// A committed import.
#[derive(Object)]
pub struct ImportBatch {
    /// The batch's id: `DELETE /imports/batches/{id}` undoes it.
    pub id: i64,
    /// The dataset.
    pub dataset: String,
    /// The file's name.
    pub file_name: String,
    /// The file's SHA-256, hex.
    pub sha256: String,
    /// Who imported it.
    pub username: String,
    /// The report's counts (rows, created, updated, unchanged, skipped, errors, error_rows, companies_created).
    pub counts: serde_json::Value,
    /// When (UTC).
    pub created_at: DateTime<Utc>,
    /// When it was undone, if it was.
    pub undone_at: Option<DateTime<Utc>>,
    /// Who undid it.
    pub undone_by: Option<String>,
}

impl From<import_batch::Model> for ImportBatch {
    fn from(m: import_batch::Model) -> Self {
        ImportBatch {
            id: m.id,
            dataset: m.dataset,
            file_name: m.file_name,
            sha256: m.sha256,
            username: m.username,
            counts: m.counts,
            created_at: m.created_at,
            undone_at: m.undone_at,
            undone_by: m.undone_by,
        }
    }
}

/// Whether an import writes.
#[derive(poem_openapi::Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum ImportMode {
    /// Read and match everything, write nothing (the default).
    Preview,
    /// Write, in one transaction.
    Commit,
}

/// What a commit does with rows that have errors.
#[derive(poem_openapi::Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum OnError {
    /// Write nothing while any row has an error (the default): 422 with the report.
    Abort,
    /// Write the good rows and report the rest.
    Skip,
}

/// The answer to an import: the report, with 200, or with 422 when a commit wrote nothing because rows have errors.
pub enum ImportAnswer {
    /// The report: of the preview, or of the commit that wrote.
    Done(ImportReport),
    /// The commit wrote nothing because rows have errors (see `errors`; `on_error=skip` writes the good rows).
    Refused(ImportReport),
}

impl IntoResponse for ImportAnswer {
    fn into_response(self) -> poem::Response {
        match self {
            ImportAnswer::Done(r) => Json(r).into_response(),
            ImportAnswer::Refused(r) => Json(r).with_status(StatusCode::UNPROCESSABLE_ENTITY).into_response(),
        }
    }
}

impl ApiResponse for ImportAnswer {
    /// 200 with the report; 422 with either the report of a refused commit or the error body of a broken rule (a
    /// ledger without a header row or a required column): one response, whose body is one of the two.
    fn meta() -> MetaResponses {
        let json = |schema| {
            vec![MetaMediaType {
                content_type: "application/json; charset=utf-8",
                schema,
            }]
        };
        let either = MetaSchema {
            one_of: vec![ImportReport::schema_ref(), ErrorBody::schema_ref()],
            ..MetaSchema::ANY
        };
        let answer = |status, description, content| MetaResponse {
            description,
            status: Some(status),
            status_range: None,
            content,
            headers: vec![],
        };
        MetaResponses {
            responses: vec![
                answer(
                    200,
                    "The report: of the preview, or of the commit that wrote.",
                    json(ImportReport::schema_ref()),
                ),
                answer(
                    422,
                    "A commit that wrote nothing because rows have errors (the report: see `errors`; \
                     `on_error=skip` writes the good rows), or a ledger the import cannot read as its dataset (an \
                     error body: no header row, a required column missing).",
                    json(MetaSchemaRef::Inline(Box::new(either))),
                ),
            ],
        }
    }

    fn register(registry: &mut Registry) {
        ImportReport::register(registry);
        ErrorBody::register(registry);
    }
}

/// Import templates: XLSX.
pub struct Template;

impl FileKind for Template {
    const TYPES: &'static [&'static str] = &[XLSX_TYPE];
}

/// The `mapping` parameter: a JSON object of column letter or header text → field key (null or "" ignores it).
fn mapping(raw: Option<String>) -> AppResult<std::collections::HashMap<String, String>> {
    let Some(raw) = raw else { return Ok(Default::default()) };
    let m: std::collections::HashMap<String, Option<String>> = serde_json::from_str(&raw).map_err(|_| {
        AppError::invalid(
            "mapping",
            "mapping is a JSON object of column → field, e.g. {\"B\": \"name\"}",
            "列映射应为 JSON 对象,如 {\"B\": \"name\"}",
        )
    })?;
    Ok(m.into_iter()
        .map(|(k, v)| (k.trim().to_owned(), v.unwrap_or_default()))
        .collect())
}

/// Import endpoints.
pub struct ImportsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Imports")]
impl ImportsApi {
    /// Import a ledger into a dataset (`projects`, `companies`, `visits`, `fund-arrivals`, `blockers`, `outreach`,
    /// `incubation`): a preview by default (writes nothing), or a commit. The report lists the mapping used, the
    /// counts, and every error and warning by the sheet's row number and column letter. Staff and above: a preview
    /// matches the rows against records, so it is no viewer's.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/imports/:dataset", method = "post", operation_id = "importLedger")]
    async fn import(
        &self,
        auth: Auth,
        req: &poem::Request,
        dataset: Path<String>,
        /// `preview` (default) or `commit`.
        mode: Query<Option<ImportMode>>,
        /// `abort` (default: a commit with errors writes nothing) or `skip` (write the good rows).
        on_error: Query<Option<OnError>>,
        /// The sheet to read; by default the first with a recognisable header.
        sheet: Query<Option<Short>>,
        /// The header's row number, from 1; detected by default.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        header_row: Query<Option<u32>>,
        /// JSON object: column letter or header text → field key (null ignores the column).
        mapping: Query<Option<Text<4000>>>,
        upload: LedgerUpload,
    ) -> Result<ImportAnswer, ErrorsBesides<422>> {
        let dataset = Dataset::parse(&dataset.0)?;
        let commit = mode.0 == Some(ImportMode::Commit);
        auth.0.require(Need::Edit)?;
        let options = Options {
            commit,
            skip_errors: on_error.0 == Some(OnError::Skip),
            sheet: sheet.0.map(String::from),
            header_row: header_row.0.map(|r| r as usize),
            mapping: self::mapping(mapping.0.map(String::from))?,
            client_addr: crate::edge::client_addr(req),
        };
        let name = upload.file.file_name().unwrap_or("upload.xlsx").to_owned();
        let bytes = upload.file.into_vec().await.map_err(|e| {
            AppError::invalid(
                "file",
                format!("the upload could not be read: {e}"),
                "上传的文件无法读取",
            )
        })?;
        let report = import::run(&self.db, &auth.0, dataset, &name, bytes, options).await?;
        Ok(if commit && !report.committed {
            ImportAnswer::Refused(report.into())
        } else {
            ImportAnswer::Done(report.into())
        })
    }

    /// The committed imports, newest first.
    #[oai(path = "/imports", method = "get", operation_id = "listImportBatches")]
    async fn list(
        &self,
        auth: Auth,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<ImportBatch>>> {
        auth.0.require(Need::Read)?;
        let rows = imports::list(&self.db, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(ImportBatch::from).into()))
    }

    /// Undo a committed import: deletes what it created and restores what it changed. 409 naming the records
    /// changed since, or when it was undone already.
    #[oai(path = "/imports/batches/:batch_id", method = "delete", operation_id = "undoImport")]
    async fn undo(&self, auth: Auth, req: &poem::Request, batch_id: Path<i64>) -> AppResult<Json<ImportBatch>> {
        auth.0.require(Need::Edit)?;
        let b = imports::undo(&self.db, &auth.0, batch_id.0, crate::edge::client_addr(req)).await?;
        Ok(Json(b.into()))
    }

    /// The XLSX template of a dataset: the Chinese headers the import recognises, an example row, and notes.
    #[oai(
        path = "/imports/templates/:dataset",
        method = "get",
        operation_id = "getImportTemplate"
    )]
    async fn template(&self, auth: Auth, dataset: Path<String>) -> AppResult<File<Template>> {
        auth.0.require(Need::Read)?;
        let dataset = Dataset::parse(&dataset.0)?;
        let bytes = import::template::xlsx(dataset)?;
        let disposition = content_disposition(
            &format!("{}-template.xlsx", dataset.as_str()),
            &format!("{}导入模板.xlsx", dataset.label()),
        );
        Ok(File::new(bytes.into(), XLSX_TYPE, disposition))
    }
}
