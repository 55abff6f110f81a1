//! A process of the service that served from this database: when it started, when it was last seen, and a
//! fingerprint of the settings every replica must share.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "replicas")]
pub struct Model {
    /// Host name and process id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The product version it runs.
    pub version: String,
    /// Setting name → a short hash of its value (never the value: one of them is the secret key).
    pub settings: Json,
    pub started_at: DateTimeUtc,
    /// Renewed while it runs.
    pub seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
