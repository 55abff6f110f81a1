//! One attempt at a job run: which runner made it, when, and how it ended.

use sea_orm::entity::prelude::*;

use crate::enums::AttemptOutcome;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_id: i64,
    /// 1 for the first attempt of the run.
    pub attempt: i32,
    /// The process that made it.
    pub runner: String,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// `succeeded`, `failed`, `lease_expired` (its runner died), or none while it runs.
    pub outcome: Option<AttemptOutcome>,
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
