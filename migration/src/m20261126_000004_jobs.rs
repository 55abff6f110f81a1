//! Scheduled work: job runs (claimed once per slot across replicas) and the analytics snapshots they write.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum JobRuns {
    Table,
    Id,
    Job,
    ScheduledFor,
    Trigger,
    Status,
    Runner,
    Attempt,
    StartedAt,
    LeaseUntil,
    FinishedAt,
    Error,
}

#[derive(DeriveIden)]
enum AnalyticsSnapshots {
    Table,
    Id,
    JobRunId,
    AsOf,
    Period,
    PeriodFrom,
    PeriodTo,
    Kind,
    Payload,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(JobRuns::Table)
                .col(big_pk_auto(JobRuns::Id))
                .col(string_len(JobRuns::Job, 64))
                .col(timestamp_with_time_zone(JobRuns::ScheduledFor))
                .col(string_len(JobRuns::Trigger, 16))
                .col(string_len(JobRuns::Status, 16))
                .col(string_len(JobRuns::Runner, 200))
                .col(integer(JobRuns::Attempt).default(1))
                .col(timestamp_with_time_zone(JobRuns::StartedAt))
                .col(timestamp_with_time_zone(JobRuns::LeaseUntil))
                .col(timestamp_with_time_zone_null(JobRuns::FinishedAt))
                .col(text_null(JobRuns::Error))
                .to_owned(),
        )
        .await?;
        // The exactly-once claim: a second replica's insert for the same slot fails here.
        m.create_index(
            index("ux_job_runs_slot", JobRuns::Table, &["job", "scheduled_for"])
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_job_runs_status",
            JobRuns::Table,
            &["job", "status", "finished_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(AnalyticsSnapshots::Table)
                .col(big_pk_auto(AnalyticsSnapshots::Id))
                .col(big_integer(AnalyticsSnapshots::JobRunId))
                .col(date(AnalyticsSnapshots::AsOf))
                .col(string_len(AnalyticsSnapshots::Period, 32))
                .col(date(AnalyticsSnapshots::PeriodFrom))
                .col(date(AnalyticsSnapshots::PeriodTo))
                .col(string_len(AnalyticsSnapshots::Kind, 48))
                .col(json(AnalyticsSnapshots::Payload))
                .col(timestamp_with_time_zone(AnalyticsSnapshots::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_snapshots_run",
                    (AnalyticsSnapshots::Table, AnalyticsSnapshots::JobRunId),
                    (JobRuns::Table, JobRuns::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_snapshots_run", AnalyticsSnapshots::Table, &["job_run_id"]))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AnalyticsSnapshots::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(JobRuns::Table).to_owned()).await?;
        Ok(())
    }
}
