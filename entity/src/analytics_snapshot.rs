//! A stored result of the nightly analytics job: one period, one kind (KPIs or a funnel), as JSON.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "analytics_snapshots")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub job_run_id: i64,
    pub as_of: Date,
    pub period: String,
    pub period_from: Date,
    pub period_to: Date,
    pub kind: String,
    pub payload: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
