//! One run of a scheduled job; the unique (job, scheduled_for) key makes each slot run once across replicas.

use sea_orm::entity::prelude::*;

use crate::enums::JobStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub job: String,
    /// The slot: when the schedule said the job should run (manual runs: when they were asked for).
    pub scheduled_for: DateTimeUtc,
    /// `schedule`, `catch_up` or `manual`.
    pub trigger: String,
    /// `running`; `retrying` (a failed attempt waits for `next_attempt_at`); `succeeded`; `failed` (no attempt
    /// left, or a job that is not retried); `abandoned` (its runners died and no attempt is left).
    pub status: JobStatus,
    /// Which process holds (or held) the claim.
    pub runner: String,
    /// 1, plus one for every takeover after an expired lease and every retry after a failure.
    pub attempt: i32,
    pub started_at: DateTimeUtc,
    /// A running claim whose lease has passed is taken to have died.
    pub lease_until: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub error: Option<String>,
    /// When a `retrying` run is due to be tried again.
    pub next_attempt_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
