//! 附件: files on projects, companies, visits, outreach activities, blockers and incubation candidates. An attachment
//! is seen by whoever sees its record (out of scope: not found), added, renamed and deleted by those who may edit the
//! record; a deletion keeps the row (and the bytes) for `files.retention_days`, during which an admin may restore it,
//! and the `files` job then purges it. Every upload, download, change and deletion is in the audit log.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, Utc};
use entity::attachment;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityName, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Alias, Expr, ExprTrait, Query},
};
use serde_json::json;

use super::{
    Actor, AppError, AppResult, Kind, Need, audit,
    input::{Note, Patch, Short, Text},
    scope::{self, Of},
};
use crate::files::{FileStore, Staged};

/// The kind of record a file is attached to, as the API's path names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, strum::EnumIter)]
pub enum Holder {
    /// A project (`/projects/{id}/attachments`).
    #[oai(rename = "projects")]
    Project,
    /// A company.
    #[oai(rename = "companies")]
    Company,
    /// A visit.
    #[oai(rename = "visits")]
    Visit,
    /// An outreach activity.
    #[oai(rename = "outreach")]
    Outreach,
    /// A blocker.
    #[oai(rename = "blockers")]
    Blocker,
    /// An incubation candidate.
    #[oai(rename = "incubation")]
    Candidate,
}

impl Holder {
    /// The record kind.
    pub fn kind(self) -> Kind {
        match self {
            Holder::Project => Kind::Project,
            Holder::Company => Kind::Company,
            Holder::Visit => Kind::Visit,
            Holder::Outreach => Kind::Outreach,
            Holder::Blocker => Kind::Blocker,
            Holder::Candidate => Kind::Candidate,
        }
    }

    /// The holder of a stored attachment (`record_kind`).
    pub fn of_name(name: &str) -> Option<Holder> {
        <Holder as strum::IntoEnumIterator>::iter().find(|h| h.kind().name() == name)
    }

    /// `SELECT id FROM` the records' table.
    fn ids(self) -> sea_orm::sea_query::SelectStatement {
        use entity::{blocker, company, incubation_candidate, outreach, project, visit};
        let table = match self {
            Holder::Project => project::Entity.table_name(),
            Holder::Company => company::Entity.table_name(),
            Holder::Visit => visit::Entity.table_name(),
            Holder::Outreach => outreach::Entity.table_name(),
            Holder::Blocker => blocker::Entity.table_name(),
            Holder::Candidate => incubation_candidate::Entity.table_name(),
        };
        Query::select()
            .column(Alias::new("id"))
            .from(Alias::new(table))
            .to_owned()
    }

    /// The record's page in the staff UI.
    pub fn page(self, id: i64) -> String {
        let word = match self {
            Holder::Project => "projects",
            Holder::Company => "companies",
            Holder::Visit => "visits",
            Holder::Outreach => "outreach",
            Holder::Blocker => "blockers",
            Holder::Candidate => "incubation",
        };
        format!("/{word}/{id}")
    }
}

/// A file's name as kept: what follows the last `/` or `\` of what the client sent, 1–255 characters.
pub type FileName = Text<255>;

/// Parses a file name a client sent (browsers send the name alone; some send a whole path).
pub fn file_name(sent: &str) -> AppResult<FileName> {
    let base = sent.rsplit(['/', '\\']).next().unwrap_or(sent);
    FileName::parse("name", base)
}

/// What is written with a new attachment.
pub struct NewAttachment {
    /// The file's name.
    pub name: FileName,
    /// Its category (one of `files.categories`; none: the last of them).
    pub category: Option<Short>,
    /// A note.
    pub note: Option<Note>,
}

/// A change to an attachment: its name, category or note.
#[derive(Default)]
pub struct AttachmentChanges {
    /// A new name.
    pub name: Option<FileName>,
    /// A new category.
    pub category: Option<Short>,
    /// A new note, or none.
    pub note: Patch<Note>,
}

/// The record exists and the actor may do what `need` names to it (out of their scope: not found).
pub async fn permit(db: &impl ConnectionTrait, actor: &Actor, need: Need, holder: Holder, id: i64) -> AppResult<()> {
    let of = match holder {
        // Companies are seen by every user.
        Holder::Company => None,
        Holder::Project => Some(Of::Project(id)),
        Holder::Visit => Some(Of::Visit(id)),
        Holder::Outreach => Some(Of::Outreach(id)),
        Holder::Blocker => Some(Of::Blocker(id)),
        Holder::Candidate => Some(Of::Candidate(id)),
    };
    match of {
        Some(of) => scope::permit(db, actor, need, of).await?,
        None => actor.require(need)?,
    }
    let exists = db
        .query_one(&holder.ids().and_where(Expr::col(Alias::new("id")).eq(id)).to_owned())
        .await?
        .is_some();
    if exists {
        Ok(())
    } else {
        Err(AppError::not_found(holder.kind()))
    }
}

/// The user an action is recorded against (none for the system itself).
fn uploader(actor: &Actor) -> Option<i64> {
    (actor.via != super::actor::Via::System).then_some(actor.user_id)
}

/// The category asked for, if it is one of `categories`; none asks for the last (其他).
fn category(categories: &[String], asked: Option<Short>) -> AppResult<String> {
    match asked {
        None => Ok(categories.last().cloned().unwrap_or_else(|| "其他".into())),
        Some(c) if categories.iter().any(|k| k == c.as_str()) => Ok(c.into()),
        Some(_) => Err(AppError::invalid(
            "category",
            format!("category is one of {}", categories.join(", ")),
            format!("类别须为{}之一", categories.join("、")),
        )),
    }
}

/// Records an attachment of the staged file on the record (the caller has checked [`permit`] with `Need::Edit`);
/// the audit entry names the record, the file's name, size and SHA-256.
pub async fn create(
    db: &impl ConnectionTrait,
    actor: &Actor,
    holder: Holder,
    record_id: i64,
    staged: &Staged,
    new: NewAttachment,
    categories: &[String],
) -> AppResult<attachment::Model> {
    let row = attachment::ActiveModel {
        record_kind: Set(holder.kind().name().to_owned()),
        record_id: Set(record_id),
        name: Set(new.name.into()),
        category: Set(category(categories, new.category)?),
        note: Set(new.note.map(String::from)),
        sha256: Set(staged.sha256.clone()),
        bytes: Set(staged.bytes as i64),
        content_type: Set(staged.content_type.to_owned()),
        uploaded_by: Set(uploader(actor)),
        uploaded_at: Set(Utc::now()),
        ..Default::default()
    };
    let m = attachment::Entity::insert(row).exec_with_returning(db).await?;
    let detail = json!({ "record": holder.kind().name(), "record_id": record_id, "name": m.name,
        "bytes": m.bytes, "sha256": m.sha256, "content_type": m.content_type });
    audit::changed(
        db,
        Kind::Attachment,
        m.id,
        audit::Action::Create,
        None,
        Some(&m),
        Some(detail),
    )
    .await?;
    Ok(m)
}

/// The attachments of a record, newest first; with `deleted`, those deleted and not yet purged instead.
pub async fn list(
    db: &impl ConnectionTrait,
    holder: Holder,
    record_id: i64,
    deleted: bool,
) -> AppResult<Vec<attachment::Model>> {
    let c = attachment::Column::DeletedAt;
    Ok(attachment::Entity::find()
        .filter(attachment::Column::RecordKind.eq(holder.kind().name()))
        .filter(attachment::Column::RecordId.eq(record_id))
        .filter(if deleted { c.is_not_null() } else { c.is_null() })
        .order_by_desc(attachment::Column::UploadedAt)
        .order_by_desc(attachment::Column::Id)
        .all(db)
        .await?)
}

/// The attachment `id` and its record, when the actor may do what `need` names to the record (out of scope, or
/// deleted when `deleted` is false: not found).
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    need: Need,
    id: i64,
    deleted: bool,
) -> AppResult<(attachment::Model, Holder)> {
    let m = attachment::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|m| m.deleted_at.is_some() == deleted)
        .ok_or(AppError::not_found(Kind::Attachment))?;
    let holder = Holder::of_name(&m.record_kind).ok_or(AppError::not_found(Kind::Attachment))?;
    permit(db, actor, need, holder, m.record_id)
        .await
        .map_err(|e| match e {
            AppError::NotFound { .. } => AppError::not_found(Kind::Attachment),
            e => e,
        })?;
    Ok((m, holder))
}

/// Records that the actor downloaded (or previewed) an attachment.
pub async fn downloaded(db: &impl ConnectionTrait, m: &attachment::Model, preview: bool) -> AppResult<()> {
    let action = if preview { "preview" } else { "download" };
    let detail = json!({ "record": m.record_kind, "record_id": m.record_id, "name": m.name, "bytes": m.bytes });
    audit::event(db, action, Some((Kind::Attachment, m.id)), Some(detail)).await
}

/// Renames an attachment, or changes its category or note.
pub async fn update(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    c: AttachmentChanges,
    categories: &[String],
) -> AppResult<attachment::Model> {
    let (before, _) = get(db, actor, Need::Edit, id, false).await?;
    let mut m = attachment::ActiveModel {
        id: Set(id),
        ..Default::default()
    };
    if let Some(n) = c.name {
        m.name = Set(n.into());
    }
    if c.category.is_some() {
        m.category = Set(category(categories, c.category)?);
    }
    c.note.apply(&mut m.note);
    write(db, &before, m, audit::Action::Update, None).await
}

/// Writes `m` over the attachment `before` and records the change.
async fn write(
    db: &impl ConnectionTrait,
    before: &attachment::Model,
    m: attachment::ActiveModel,
    action: audit::Action,
    detail: Option<serde_json::Value>,
) -> AppResult<attachment::Model> {
    let after = attachment::Entity::update(m).exec(db).await?;
    audit::changed(
        db,
        Kind::Attachment,
        before.id,
        action,
        Some(before),
        Some(&after),
        detail,
    )
    .await?;
    Ok(after)
}

/// Deletes an attachment: it is no longer listed, and is purged `retention_days` later unless restored.
pub async fn delete(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<attachment::Model> {
    let (before, _) = get(db, actor, Need::Edit, id, false).await?;
    let m = attachment::ActiveModel {
        id: Set(id),
        deleted_at: Set(Some(Utc::now())),
        deleted_by: Set(uploader(actor)),
        ..Default::default()
    };
    let detail = json!({ "record": before.record_kind, "record_id": before.record_id, "name": before.name });
    write(db, &before, m, audit::Action::Delete, Some(detail)).await
}

/// Restores a deleted attachment not yet purged: admins only.
pub async fn restore(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<attachment::Model> {
    actor.require(Need::Admin)?;
    let (before, _) = get(db, actor, Need::Read, id, true).await?;
    let m = attachment::ActiveModel {
        id: Set(id),
        deleted_at: Set(None),
        deleted_by: Set(None),
        ..Default::default()
    };
    write(db, &before, m, audit::Action::Update, None).await
}

/// Marks as deleted, now, the attachments whose record was deleted: they are purged after the retention like any
/// other (the record's deletion is in the audit log; an admin restores the record's files only with a new record).
/// Answers how many.
pub async fn orphaned(db: &impl ConnectionTrait) -> AppResult<u64> {
    let mut marked = 0;
    for holder in <Holder as strum::IntoEnumIterator>::iter() {
        let ids = holder.ids();
        let lost = attachment::Entity::find()
            .filter(attachment::Column::RecordKind.eq(holder.kind().name()))
            .filter(attachment::Column::DeletedAt.is_null())
            .filter(attachment::Column::RecordId.not_in_subquery(ids))
            .all(db)
            .await?;
        for before in lost {
            let m = attachment::ActiveModel {
                id: Set(before.id),
                deleted_at: Set(Some(Utc::now())),
                ..Default::default()
            };
            let detail = json!({ "record": before.record_kind, "record_id": before.record_id,
                "name": before.name, "record_deleted": true });
            write(db, &before, m, audit::Action::Delete, Some(detail)).await?;
            marked += 1;
        }
    }
    Ok(marked)
}

/// Purges the attachments deleted more than `retention_days` ago (the rows; the bytes go with the next sweep once
/// no attachment names them). Answers how many were purged.
pub async fn purge(db: &impl ConnectionTrait, retention_days: u32) -> AppResult<u64> {
    let before = Utc::now() - Duration::days(i64::from(retention_days));
    let gone = attachment::Entity::find()
        .filter(attachment::Column::DeletedAt.lt(before))
        .all(db)
        .await?;
    for m in &gone {
        attachment::Entity::delete_by_id(m.id).exec(db).await?;
        let detail = json!({ "record": m.record_kind, "record_id": m.record_id, "name": m.name, "purged": true });
        audit::changed(
            db,
            Kind::Attachment,
            m.id,
            audit::Action::Delete,
            Some(m),
            None,
            Some(detail),
        )
        .await?;
    }
    Ok(gone.len() as u64)
}

/// The SHA-256 of every file an attachment row names (deleted ones included: they may be restored).
pub async fn named_blobs(db: &impl ConnectionTrait) -> AppResult<HashSet<String>> {
    let rows: Vec<String> = attachment::Entity::find()
        .select_only()
        .column(attachment::Column::Sha256)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The names of the attachments of each of the records `ids`, oldest first (for the board's counts and exports).
pub async fn names_by_record(
    db: &impl ConnectionTrait,
    holder: Holder,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<String>>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<(i64, String)> = attachment::Entity::find()
            .select_only()
            .column(attachment::Column::RecordId)
            .column(attachment::Column::Name)
            .filter(attachment::Column::RecordKind.eq(holder.kind().name()))
            .filter(attachment::Column::RecordId.is_in(chunk.iter().copied()))
            .filter(attachment::Column::DeletedAt.is_null())
            .order_by_asc(attachment::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        for (id, name) in rows {
            out.entry(id).or_default().push(name);
        }
    }
    Ok(out)
}

/// Attaches uploaded files to a record: writes each attachment row in `db` (the request's transaction), then makes
/// each staged file a blob. Whatever fails, no staged file is left: those not committed are discarded (a blob
/// committed for a row the transaction then drops is swept by the `files` job).
pub async fn attach(
    db: &impl ConnectionTrait,
    store: &FileStore,
    actor: &Actor,
    holder: Holder,
    record_id: i64,
    upload: Upload,
    categories: &[String],
) -> AppResult<Vec<attachment::Model>> {
    let Upload { files, category, note } = upload;
    let mut rows = Vec::with_capacity(files.len());
    let mut staged = files.into_iter();
    let written: AppResult<()> = async {
        if staged.len() == 0 {
            return Err(AppError::invalid("file", "no file was sent", "没有选择文件"));
        }
        for (file, sent_name) in staged.as_slice() {
            let new = NewAttachment {
                name: file_name(sent_name)?,
                category: category.clone(),
                note: note.clone(),
            };
            rows.push(create(db, actor, holder, record_id, file, new, categories).await?);
        }
        for (file, _) in staged.by_ref() {
            store.commit(&file).await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = written {
        for (file, _) in staged {
            store.discard(file).await;
        }
        return Err(e);
    }
    Ok(rows)
}

/// Files received in one upload, staged in the store, with the category and note sent beside them.
#[derive(Default)]
pub struct Upload {
    /// Each file and its name as sent.
    pub files: Vec<(Staged, String)>,
    /// The category sent.
    pub category: Option<Short>,
    /// The note sent.
    pub note: Option<Note>,
}

impl Upload {
    /// Discards every staged file (the upload will not be attached).
    pub async fn discard(self, store: &FileStore) {
        for (file, _) in self.files {
            store.discard(file).await;
        }
    }
}
