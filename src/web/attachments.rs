//! 附件 in the staff UI: the section a record's page shows (list, upload with drag and drop or a phone's camera,
//! delete, and for admins the deleted ones to restore), downloads and previews. The same service and the same
//! streaming upload as the API.

use minijinja::{Value, context};
use poem::{
    IntoResponse, Response, handler,
    web::{Data, Html, Multipart, Path, Query},
};
use poem_openapi::types::ParseFromParameter;
use serde::Deserialize;

use super::{Staff, WebState, local_time, me, render, saved};
use crate::{
    edge::{audit::WriteTx, upload},
    service::{
        AppError, AppResult, Kind, Need,
        attachments::{self as svc, Holder},
    },
};

/// The kind of record a path names (`projects`, `visits` …): else not found.
fn holder(word: &str) -> AppResult<Holder> {
    Holder::parse_from_parameter(word).map_err(|_| AppError::not_found(Kind::Route))
}

/// Sizes as people read them: `532 KB`, `4.2 MB`.
pub fn size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{} KB", (b + 1023) / 1024),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// One attachment as the section shows it.
pub fn row(m: &entity::attachment::Model) -> Value {
    context! {
        id => m.id, name => m.name.clone(), category => m.category.clone(), note => m.note.clone(),
        size => size(m.bytes), at => local_time(m.uploaded_at),
        image => m.content_type.starts_with("image/") && crate::files::previewable(&m.content_type),
        previewable => crate::files::previewable(&m.content_type),
        deleted_at => m.deleted_at.map(local_time),
    }
}

/// The 附件 section of a record's page, as its template includes it.
pub async fn section_context(
    db: &impl sea_orm::ConnectionTrait,
    state: &WebState,
    staff: &Staff,
    holder: Holder,
    id: i64,
) -> AppResult<Value> {
    let rows = svc::list(db, holder, id, false).await?;
    let deleted = if staff.actor.can(Need::Admin) {
        svc::list(db, holder, id, true).await?
    } else {
        Vec::new()
    };
    Ok(context! {
        base => format!("{}/attachments", holder.page(id)),
        files => rows.iter().map(row).collect::<Vec<_>>(),
        deleted => deleted.iter().map(row).collect::<Vec<_>>(),
        categories => state.categories.clone(),
        max_mb => state.files.max_bytes / (1024 * 1024),
    })
}

/// The 附件 section alone (htmx reloads it after a change).
#[handler]
pub async fn section(
    staff: Staff,
    state: Data<&WebState>,
    Path((kind, id)): Path<(String, i64)>,
) -> poem::Result<Html<String>> {
    let holder = holder(&kind)?;
    svc::permit(&state.db, &staff.actor, Need::Read, holder, id).await?;
    let att = section_context(&state.db, &state, &staff, holder, id).await?;
    render("attachments.html", context! { me => me(&staff), att })
}

/// Attaches the files chosen (or dropped) to the record; the section reloads with them.
#[handler]
pub async fn add(
    staff: Staff,
    state: Data<&WebState>,
    tx: WriteTx,
    Path((kind, id)): Path<(String, i64)>,
    parts: Multipart,
) -> poem::Result<Response> {
    let holder = holder(&kind)?;
    svc::permit(&state.db, &staff.actor, Need::Edit, holder, id).await?;
    let got = upload::receive(parts, &state.files, &["file"]).await?;
    let db = match tx.get().await {
        Ok(db) => db,
        Err(e) => {
            got.upload.discard(&state.files).await;
            return Err(e.into());
        }
    };
    let n = got.upload.files.len();
    svc::attach(
        db,
        &state.files,
        &staff.actor,
        holder,
        id,
        got.upload,
        &state.categories,
    )
    .await?;
    let att = section_context(db, &state, &staff, holder, id).await?;
    let page = render("attachments.html", context! { me => me(&staff), att })?;
    Ok(saved(page.into_response(), &format!("已上传 {n} 个附件")))
}

/// Downloads an attachment (audited).
#[handler]
pub async fn download(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Response> {
    let (m, _) = svc::get(&state.db, &staff.actor, Need::Read, id, false).await?;
    Ok(crate::api::attachments::download(&state.db, &state.files, m)
        .await?
        .into_response())
}

/// A preview's size.
#[derive(Deserialize)]
pub struct Size {
    size: Option<u32>,
}

/// Shows an image (re-encoded) or a PDF in the browser (audited).
#[handler]
pub async fn preview(
    staff: Staff,
    state: Data<&WebState>,
    Path(id): Path<i64>,
    Query(s): Query<Size>,
) -> poem::Result<Response> {
    let (m, _) = svc::get(&state.db, &staff.actor, Need::Read, id, false).await?;
    Ok(crate::api::attachments::preview(&state.db, &state.files, m, s.size)
        .await?
        .into_response())
}

/// The rename form's field.
#[derive(Deserialize)]
pub struct Renamed {
    name: Option<String>,
}

/// Renames an attachment (the row's 改名 form); the section reloads.
#[handler]
pub async fn rename(
    staff: Staff,
    state: Data<&WebState>,
    tx: WriteTx,
    Path(id): Path<i64>,
    body: String,
) -> poem::Result<Response> {
    let r: Renamed = super::form::repeated(&body)?;
    let changes = svc::AttachmentChanges {
        name: Some(svc::file_name(r.name.as_deref().unwrap_or_default())?),
        ..Default::default()
    };
    let db = tx.get().await?;
    let m = svc::update(db, &staff.actor, id, changes, &state.categories).await?;
    reloaded(db, &state, &staff, &m, "附件已改名").await
}

/// Deletes an attachment (an admin can restore it for `files.retention_days`); the section reloads.
#[handler]
pub async fn delete(staff: Staff, state: Data<&WebState>, tx: WriteTx, Path(id): Path<i64>) -> poem::Result<Response> {
    let db = tx.get().await?;
    let m = svc::delete(db, &staff.actor, id).await?;
    reloaded(db, &state, &staff, &m, "附件已删除,管理员可在保留期内恢复").await
}

/// Restores a deleted attachment (admins); the section reloads.
#[handler]
pub async fn restore(staff: Staff, state: Data<&WebState>, tx: WriteTx, Path(id): Path<i64>) -> poem::Result<Response> {
    let db = tx.get().await?;
    let m = svc::restore(db, &staff.actor, id).await?;
    reloaded(db, &state, &staff, &m, "附件已恢复").await
}

/// The section of `m`'s record after a change, read in the request's transaction.
async fn reloaded(
    db: &impl sea_orm::ConnectionTrait,
    state: &WebState,
    staff: &Staff,
    m: &entity::attachment::Model,
    message: &str,
) -> poem::Result<Response> {
    let holder = Holder::of_name(&m.record_kind).ok_or(AppError::not_found(Kind::Attachment))?;
    let att = section_context(db, state, staff, holder, m.record_id).await?;
    let page = render("attachments.html", context! { me => me(staff), att })?;
    Ok(saved(page.into_response(), message))
}
