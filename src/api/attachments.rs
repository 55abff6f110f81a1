//! 附件 over HTTP: list and upload the files of a record (`/{kind}/{id}/attachments`, a multipart body read as it
//! streams), read, download (streamed) and preview one, rename it, delete it, and restore a deleted one (admins).

use std::sync::Arc;

use entity::attachment;
use poem::{Body, Request, RequestBody, web::Multipart};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry},
};

use super::{
    exports::{File, FileKind},
    prelude::*,
};
use crate::{
    edge::upload,
    files::{FileStore, FilesConfig},
    service::{
        attachments::{self as svc, AttachmentChanges, Holder},
        input::{Note, Short},
    },
};

/// A file attached to a record.
#[derive(Object)]
pub struct Attachment {
    /// Id.
    pub id: i64,
    /// The kind of record: `project`, `company`, `visit`, `outreach`, `blocker`, `candidate`.
    pub record_kind: String,
    /// The record's id.
    pub record_id: i64,
    /// The file's name as uploaded (or renamed), Chinese intact.
    pub name: String,
    /// 协议, 证照, 计划书, 用地, 照片, 其他 (the categories are configurable: `files.categories`).
    pub category: String,
    /// A note.
    pub note: Option<String>,
    /// Size in bytes.
    pub bytes: u64,
    /// The type read from the file's content (never from its name).
    pub content_type: String,
    /// SHA-256 of the bytes, hex (the same file attached twice is stored once).
    pub sha256: String,
    /// The user who attached it.
    pub uploaded_by: Option<i64>,
    /// When.
    pub uploaded_at: DateTime<Utc>,
    /// When it was deleted (only in the list of deleted ones, `?deleted=true`).
    pub deleted_at: Option<DateTime<Utc>>,
    /// Whether `/attachments/{id}/preview` shows it in a browser (images and PDF).
    pub previewable: bool,
}

impl From<attachment::Model> for Attachment {
    fn from(m: attachment::Model) -> Self {
        Attachment {
            previewable: crate::files::previewable(&m.content_type),
            id: m.id,
            record_kind: m.record_kind,
            record_id: m.record_id,
            name: m.name,
            category: m.category,
            note: m.note,
            bytes: m.bytes.max(0) as u64,
            content_type: m.content_type,
            sha256: m.sha256,
            uploaded_by: m.uploaded_by,
            uploaded_at: m.uploaded_at,
            deleted_at: m.deleted_at,
        }
    }
}

/// A change to an attachment: its name, category or note (left out: kept; `note: null` clears it).
#[derive(Object)]
pub struct AttachmentChange {
    /// A new name.
    pub name: Option<String>,
    /// A new category.
    pub category: Option<String>,
    /// A new note, or null.
    pub note: MaybeUndefined<String>,
}

/// The body of an upload: `multipart/form-data`, read as it streams.
pub struct UploadBody(Multipart);

impl<'a> ApiExtractor<'a> for UploadBody {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(_registry: &mut Registry) {}

    fn request_meta() -> Option<MetaRequest> {
        let inline = |s: MetaSchema| MetaSchemaRef::Inline(Box::new(s));
        let text = |description: &'static str| {
            inline(MetaSchema {
                description: Some(description),
                ..MetaSchema::new("string")
            })
        };
        let schema = MetaSchema {
            properties: vec![
                (
                    "file",
                    inline(MetaSchema {
                        description: Some(
                            "One or more files (repeat the part; at most 20), each at most `files.max_bytes` (50 MiB \
                             by default: a larger one is refused with 413 as it streams). Accepted by content: PDF, \
                             images, Office, OFD, ZIP (else 415).",
                        ),
                        items: Some(Box::new(inline(MetaSchema::new_with_format("string", "binary")))),
                        ..MetaSchema::new("array")
                    }),
                ),
                (
                    "category",
                    text("协议, 证照, 计划书, 用地, 照片 or 其他 (default 其他)."),
                ),
                ("note", text("A note for every file of this upload.")),
            ],
            required: vec!["file"],
            ..MetaSchema::new("object")
        };
        Some(MetaRequest {
            description: Some("The files, with a category and a note."),
            content: vec![MetaMediaType {
                content_type: "multipart/form-data",
                schema: inline(schema),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(UploadBody(
            <Multipart as poem::FromRequest>::from_request(request, body).await?,
        ))
    }
}

/// An attachment's bytes: its real type, `Content-Disposition` with its name (RFC 6266), a sandboxing CSP.
pub struct Stored;

impl FileKind for Stored {
    const TYPES: &'static [&'static str] = crate::files::ALLOWED;
}

/// Attachment endpoints.
pub struct AttachmentsApi {
    pub db: DatabaseConnection,
    pub store: Arc<FileStore>,
    pub config: FilesConfig,
}

#[OpenApi(tag = "ApiTags::Attachments")]
impl AttachmentsApi {
    /// The attachments of a record (out of the caller's scope: 404); `deleted=true` lists those deleted and not yet
    /// purged instead (admins, who may restore them).
    #[oai(path = "/:kind/:id/attachments", method = "get", operation_id = "listAttachments")]
    async fn list(
        &self,
        auth: Auth,
        /// The kind of record.
        kind: Path<Holder>,
        /// The record's id.
        id: Path<i64>,
        /// List the deleted ones instead (admins).
        deleted: Query<Option<bool>>,
    ) -> AppResult<Json<Vec<Attachment>>> {
        let need = if deleted.0 == Some(true) {
            Need::Admin
        } else {
            Need::Read
        };
        svc::permit(&self.db, &auth.0, need, kind.0, id.0).await?;
        let rows = svc::list(&self.db, kind.0, id.0, deleted.0 == Some(true)).await?;
        Ok(Json(rows.into_iter().map(Attachment::from).collect()))
    }

    /// Attach files to a record: staff who may edit it (a viewer: 403). The body streams into the file store; each
    /// file is refused with 413 as soon as it passes `files.max_bytes`, with 415 when its content is not of an
    /// accepted type, and nothing of a refused upload is kept.
    #[oai(path = "/:kind/:id/attachments", method = "post", operation_id = "uploadAttachments")]
    async fn upload(
        &self,
        auth: Auth,
        tx: WriteTx,
        /// The kind of record.
        kind: Path<Holder>,
        /// The record's id.
        id: Path<i64>,
        body: UploadBody,
    ) -> AppResult<Created<Vec<Attachment>>> {
        // Checked before the body is read, on a connection of its own: no transaction waits on a slow upload.
        svc::permit(&self.db, &auth.0, Need::Edit, kind.0, id.0).await?;
        let got = upload::receive(body.0, &self.store, &["file"]).await?;
        let db = match tx.get().await {
            Ok(db) => db,
            Err(e) => {
                got.upload.discard(&self.store).await;
                return Err(e);
            }
        };
        let rows = svc::attach(
            db,
            &self.store,
            &auth.0,
            kind.0,
            id.0,
            got.upload,
            &self.config.categories,
        )
        .await?;
        Ok(Created::Created(Json(rows.into_iter().map(Attachment::from).collect())))
    }

    /// Read an attachment's details.
    #[oai(path = "/attachments/:id", method = "get", operation_id = "getAttachment")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Attachment>> {
        Ok(Json(
            svc::get(&self.db, &auth.0, Need::Read, id.0, false).await?.0.into(),
        ))
    }

    /// Download an attachment (streamed), as `attachment` with its name; every role that sees the record may.
    #[oai(
        path = "/attachments/:id/content",
        method = "get",
        operation_id = "downloadAttachment"
    )]
    async fn download(&self, auth: Auth, id: Path<i64>) -> AppResult<File<Stored>> {
        let (m, _) = svc::get(&self.db, &auth.0, Need::Read, id.0, false).await?;
        download(&self.db, &self.store, m).await
    }

    /// Show an attachment in the browser: an image re-encoded (at most `size` pixels wide and high, 1600 by
    /// default), a PDF as it is; other types answer 415 (download them). Audited, but for a thumbnail (`size` of
    /// 320 or less) of a list.
    #[oai(
        path = "/attachments/:id/preview",
        method = "get",
        operation_id = "previewAttachment"
    )]
    async fn preview(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// The largest width and height, in pixels (64–1600).
        size: Query<Option<u32>>,
    ) -> AppResult<File<Stored>> {
        let (m, _) = svc::get(&self.db, &auth.0, Need::Read, id.0, false).await?;
        preview(&self.db, &self.store, m, size.0).await
    }

    /// Rename an attachment, or change its category or note.
    #[oai(path = "/attachments/:id", method = "patch", operation_id = "updateAttachment")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<AttachmentChange>,
    ) -> AppResult<Json<Attachment>> {
        let c = &body.0;
        let changes = AttachmentChanges {
            name: c.name.as_deref().map(svc::file_name).transpose()?,
            category: c.category.as_deref().map(|v| Short::parse("category", v)).transpose()?,
            note: patch(c.note.clone(), |v| Note::parse_opt("note", Some(&v)))?,
        };
        let m = svc::update(tx.get().await?, &auth.0, id.0, changes, &self.config.categories).await?;
        Ok(Json(m.into()))
    }

    /// Delete an attachment: it is no longer listed; an admin can restore it for `files.retention_days` (30 by
    /// default), after which the `files` job purges it.
    #[oai(path = "/attachments/:id", method = "delete", operation_id = "deleteAttachment")]
    async fn delete(&self, auth: Auth, tx: WriteTx, id: Path<i64>) -> AppResult<Deleted> {
        svc::delete(tx.get().await?, &auth.0, id.0).await?;
        Ok(Deleted::Deleted)
    }

    /// Restore a deleted attachment not yet purged (admins).
    #[oai(
        path = "/attachments/:id/restore",
        method = "post",
        operation_id = "restoreAttachment"
    )]
    async fn restore(&self, auth: Auth, tx: WriteTx, id: Path<i64>) -> AppResult<Json<Attachment>> {
        Ok(Json(svc::restore(tx.get().await?, &auth.0, id.0).await?.into()))
    }
}

/// The download of an attachment the caller may read, audited.
pub async fn download(db: &DatabaseConnection, store: &FileStore, m: attachment::Model) -> AppResult<File<Stored>> {
    let stream = store.open(&m.sha256).await?;
    svc::downloaded(db, &m, false).await?;
    let disposition = crate::export::content_disposition(&ascii_name(&m.name), &m.name);
    let file = File::new(
        Body::from_bytes_stream(stream),
        served_type(&m.content_type),
        disposition,
    );
    Ok(file.sandboxed().with_length(m.bytes.max(0) as u64))
}

/// The preview of an attachment the caller may read, audited.
pub async fn preview(
    db: &DatabaseConnection,
    store: &FileStore,
    m: attachment::Model,
    size: Option<u32>,
) -> AppResult<File<Stored>> {
    let shown = crate::files::preview(store, &m.sha256, &m.content_type, size.unwrap_or(1600)).await?;
    // A thumbnail in a list is part of the page showing it, as the page itself is not audited; a preview opened is.
    if size.is_none_or(|s| s > THUMBNAIL) {
        svc::downloaded(db, &m, true).await?;
    }
    let disposition =
        crate::export::content_disposition(&ascii_name(&m.name), &m.name).replacen("attachment", "inline", 1);
    Ok(File::new(Body::from(shown.bytes), shown.content_type, disposition).sandboxed())
}

/// The largest preview a page shows in its lists (not audited).
const THUMBNAIL: u32 = 320;

/// The type an attachment is served as: its own, as one of the accepted types.
fn served_type(stored: &str) -> &'static str {
    crate::files::accepted_type(stored).unwrap_or("application/octet-stream")
}

/// The name's ASCII fallback for old clients: its extension after `attachment`.
fn ascii_name(name: &str) -> String {
    let ext: String = std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    format!("attachment{ext}")
}
