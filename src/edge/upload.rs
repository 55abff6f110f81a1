//! Uploads of attachments at the HTTP edge, for the API and the UI alike: a `multipart/form-data` body read as it
//! streams (never buffered whole): each file part goes straight into the file store, counted against its limit;
//! the text parts (a category, a note, a form's fields) are kept, each up to 64 KiB.

use poem::web::Multipart;
use tokio::io::AsyncReadExt;

use crate::{
    files::FileStore,
    service::{
        AppError, AppResult, Code, Msg,
        attachments::Upload,
        input::{Note, Short},
    },
};

/// The most files one upload carries.
pub const MAX_FILES: usize = 20;

/// The most text fields one upload carries.
const MAX_FIELDS: usize = 200;

/// The largest text part read, in bytes.
const TEXT_LIMIT: u64 = 64 * 1024;

/// What a multipart body carried: its files, staged, and its text fields in order.
#[derive(Default)]
pub struct Received {
    /// The files, with the category and note sent.
    pub upload: Upload,
    /// Every text field, name and value, in order.
    pub fields: Vec<(String, String)>,
}

/// Reads a multipart body: parts named in `file_fields` that carry a file are staged in `store`, a part of such a
/// name without a file (a file input left empty) is skipped, every other part is a text field. On any error the
/// files staged so far are discarded.
pub async fn receive(mut parts: Multipart, store: &FileStore, file_fields: &[&str]) -> AppResult<Received> {
    let mut got = Received::default();
    let read: AppResult<()> = async {
        while let Some(part) = parts.next_field().await.map_err(malformed)? {
            let name = part.name().unwrap_or_default().to_owned();
            if file_fields.contains(&name.as_str()) {
                let Some(file_name) = part.file_name().filter(|n| !n.is_empty()).map(str::to_owned) else {
                    part.bytes().await.map_err(malformed)?;
                    continue;
                };
                if got.upload.files.len() == MAX_FILES {
                    return Err(AppError::invalid(
                        "file",
                        format!("at most {MAX_FILES} files at once"),
                        format!("一次最多上传 {MAX_FILES} 个文件"),
                    ));
                }
                let staged = store.stage(part.into_async_read()).await?;
                got.upload.files.push((staged, file_name));
            } else {
                if got.fields.len() == MAX_FIELDS {
                    return Err(AppError::invalid(&name, "too many fields", "字段过多"));
                }
                let mut text = String::new();
                let mut limited = part.into_async_read().take(TEXT_LIMIT + 1);
                limited
                    .read_to_string(&mut text)
                    .await
                    .map_err(|e| malformed(e.to_string()))?;
                if text.len() as u64 > TEXT_LIMIT {
                    return Err(AppError::invalid(&name, "the field is too long", "内容过长"));
                }
                got.fields.push((name, text));
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = read {
        std::mem::take(&mut got.upload).discard(store).await;
        return Err(e);
    }
    let field = |name: &str| got.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let category = Short::parse_opt("category", field("category"));
    let note = Note::parse_opt("note", field("note"));
    match (category, note) {
        (Ok(category), Ok(note)) => {
            got.upload.category = category;
            got.upload.note = note;
            Ok(got)
        }
        (Err(e), _) | (_, Err(e)) => {
            std::mem::take(&mut got.upload).discard(store).await;
            Err(e)
        }
    }
}

fn malformed(e: impl std::fmt::Display) -> AppError {
    AppError::BadRequest {
        code: Code::MalformedRequest,
        msg: Msg::new(format!("the multipart body could not be read: {e}"), "上传内容无法读取"),
        field: None,
    }
}

/// Whether a request's body is an upload the handler streams itself (past the body limit, up to the file limit
/// per file): a `multipart/form-data` POST of attachments, or of the visit form (which carries photos).
pub fn streams(req: &poem::Request) -> bool {
    if req.method() != poem::http::Method::POST {
        return false;
    }
    let multipart = req
        .content_type()
        .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
    let path = req.uri().path();
    multipart && (path.ends_with("/attachments") || path == "/visits")
}
