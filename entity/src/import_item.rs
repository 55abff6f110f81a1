//! A record an import batch created or changed, with what it was before (for an undo) and the version the import
//! left it at (an undo refuses records changed since).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub batch_id: i64,
    /// `company` or `project`.
    pub kind: String,
    pub record_id: i64,
    /// Whether the batch created the record (else it changed it).
    pub created: bool,
    /// The changed fields' values before the batch (null for a created record).
    pub before: Option<Json>,
    pub version_after: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
