//! The visits' day totals: per day and owner, how many visits (批) and person-times (人次). Kept by the database's
//! triggers as visits are written (migration `m20261208_000021_visit_days`), never by the service: the visit
//! figures read these rows instead of every visit. A day and owner with no visit has no row.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "visit_days")]
pub struct Model {
    /// The day of the visits.
    #[sea_orm(primary_key, auto_increment = false)]
    pub visit_date: Date,
    /// The owner's id, 0 for the visits with no owner.
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_key: i64,
    /// The owner (负责人) of the visits counted; none for those with no owner. Data scopes filter on it as on the
    /// visits' owner.
    pub owner_id: Option<i64>,
    /// How many visits (批).
    pub batches: i64,
    /// Their person-times (人次): the sum of their headcounts.
    pub headcount: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
