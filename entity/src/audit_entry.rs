//! One append-only row of the audit log: who did what to which record, when and from where.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub action: String,
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    pub path: String,
    /// JSON list of the names of the fields changed (their values, masked where they must be, are in `changes`).
    pub fields: Json,
    pub client_addr: Option<String>,
    pub detail: Option<Json>,
    /// Where the action came from: `api`, `web`, `cli`, `job` (empty in entries older than the column).
    pub door: String,
    /// JSON list of the changed fields: `{field, was, became}`, or `{field, secret: true}` for a secret.
    pub changes: Option<Json>,
    /// The entry's place in the hash chain, from 1; null until sealed.
    pub seq: Option<i64>,
    /// The seal of the entry before it in the chain (empty for the first).
    pub prev_hash: Option<String>,
    /// SHA-256 over the entry's content and `prev_hash`.
    pub hash: Option<String>,
    /// The request it was written in (the answer's `X-Request-Id`, in that request's log lines too); none outside
    /// requests and in entries older than the column.
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
