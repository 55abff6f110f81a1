//! A file attached to a record (附件): what it is called and of which category, its bytes' SHA-256 (the key of the
//! file store), size and type as read from its content, who attached it when, and whether it was deleted.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The kind of record: `project`, `company`, `visit`, `outreach`, `blocker`, `candidate`.
    pub record_kind: String,
    /// The record's id.
    pub record_id: i64,
    /// The file's name as uploaded (or as renamed).
    pub name: String,
    /// 协议, 证照, 计划书, 用地, 照片, 其他 (configurable).
    pub category: String,
    pub note: Option<String>,
    /// SHA-256 of the bytes, hex: where the store keeps them.
    pub sha256: String,
    pub bytes: i64,
    /// The type read from the content (never from the name).
    pub content_type: String,
    pub uploaded_by: Option<i64>,
    pub uploaded_at: DateTimeUtc,
    /// When it was deleted; purged `files.retention_days` later.
    pub deleted_at: Option<DateTimeUtc>,
    pub deleted_by: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
