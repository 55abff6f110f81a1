//! The sign-in rate limit of one client address, shared by every replica: a GCRA bucket kept as its theoretical
//! arrival time.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_gates")]
pub struct Model {
    /// The client's address, empty when unknown.
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_addr: String,
    /// When the bucket is empty again, in milliseconds since the Unix epoch; a row in the past is a full bucket.
    pub tat_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
