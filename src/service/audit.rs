//! The audit log (docs/ARCHITECTURE.md): append-only rows of who did what, when and from where. Field names are kept, never
//! their values; no password or token ever enters it.

use chrono::{DateTime, Utc};
use entity::audit_entry;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{AppResult, Page, Paging};

/// A row to append.
#[derive(Debug, Default)]
pub struct Entry {
    /// What happened.
    pub action: String,
    /// Who did it.
    pub user_id: Option<i64>,
    /// Their username.
    pub username: Option<String>,
    /// The kind of record.
    pub entity: Option<String>,
    /// The record's id.
    pub entity_id: Option<i64>,
    /// The request path.
    pub path: String,
    /// Names of the fields sent.
    pub fields: Vec<String>,
    /// The client's address.
    pub client_addr: Option<String>,
    /// Further detail; never a secret.
    pub detail: Option<serde_json::Value>,
}

/// Appends a row.
pub async fn write(db: &impl ConnectionTrait, e: Entry) -> AppResult<()> {
    audit_entry::Entity::insert(audit_entry::ActiveModel {
        at: Set(Utc::now()),
        user_id: Set(e.user_id),
        username: Set(e.username),
        action: Set(e.action),
        entity: Set(e.entity),
        entity_id: Set(e.entity_id),
        path: Set(e.path.chars().take(300).collect()),
        fields: Set(serde_json::json!(e.fields)),
        client_addr: Set(e.client_addr),
        detail: Set(e.detail),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Which rows of the audit log to read.
#[derive(Debug, Default)]
pub struct Filter {
    /// Rows of this user id.
    pub user_id: Option<i64>,
    /// Rows of this username.
    pub username: Option<String>,
    /// Kind of record.
    pub entity: Option<String>,
    /// Action.
    pub action: Option<String>,
    /// From this time on (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Up to this time (inclusive).
    pub to: Option<DateTime<Utc>>,
}

/// A page of the audit log, newest first.
pub async fn list(db: &impl ConnectionTrait, f: Filter, paging: Paging) -> AppResult<Page<audit_entry::Model>> {
    let mut s = audit_entry::Entity::find().order_by_desc(audit_entry::Column::Id);
    if let Some(v) = f.user_id {
        s = s.filter(audit_entry::Column::UserId.eq(v));
    }
    if let Some(v) = f.username {
        s = s.filter(audit_entry::Column::Username.eq(v));
    }
    if let Some(v) = f.entity {
        s = s.filter(audit_entry::Column::Entity.eq(v));
    }
    if let Some(v) = f.action {
        s = s.filter(audit_entry::Column::Action.eq(v));
    }
    if let Some(v) = f.from {
        s = s.filter(audit_entry::Column::At.gte(v));
    }
    if let Some(v) = f.to {
        s = s.filter(audit_entry::Column::At.lte(v));
    }
    paging.rows(db, s).await
}
