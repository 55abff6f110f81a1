//! A committed ledger import (导入批次): who imported which file into which dataset, what it did, and whether it
//! was undone.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_batches")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The dataset imported into (`projects`, `companies`).
    pub dataset: String,
    /// The uploaded file's name.
    pub file_name: String,
    /// The file's SHA-256, in hex.
    pub sha256: String,
    pub user_id: Option<i64>,
    pub username: String,
    /// The report's counts: rows, created, updated, unchanged, skipped, errors.
    pub counts: Json,
    pub created_at: DateTimeUtc,
    pub undone_at: Option<DateTimeUtc>,
    pub undone_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
