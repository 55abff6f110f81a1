//! Job runs that survive the death of their runner: every attempt at a slot recorded with who made it, and the time
//! a failed run is retried.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum JobRuns {
    Table,
    Id,
    NextAttemptAt,
}

#[derive(DeriveIden)]
enum JobAttempts {
    Table,
    Id,
    RunId,
    Attempt,
    Runner,
    StartedAt,
    FinishedAt,
    Outcome,
    Error,
}

fn job_attempts_table() -> TableCreateStatement {
    Table::create()
        .table(JobAttempts::Table)
        .col(big_pk_auto(JobAttempts::Id))
        .col(big_integer(JobAttempts::RunId))
        .col(integer(JobAttempts::Attempt))
        .col(string_len(JobAttempts::Runner, 200))
        .col(timestamp_with_time_zone(JobAttempts::StartedAt))
        .col(timestamp_with_time_zone_null(JobAttempts::FinishedAt))
        .col(string_len_null(JobAttempts::Outcome, 16))
        .col(text_null(JobAttempts::Error))
        .foreign_key(&mut fk(
            "fk_job_attempts_run",
            (JobAttempts::Table, JobAttempts::RunId),
            (JobRuns::Table, JobRuns::Id),
            ForeignKeyAction::Cascade,
        ))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(JobRuns::Table)
                .add_column(timestamp_with_time_zone_null(JobRuns::NextAttemptAt))
                .to_owned(),
        )
        .await?;
        m.create_table(job_attempts_table()).await?;
        m.create_index(index("ix_job_attempts_run", JobAttempts::Table, &["run_id", "attempt"]))
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(JobAttempts::Table).to_owned()).await?;
        m.alter_table(
            Table::alter()
                .table(JobRuns::Table)
                .drop_column(JobRuns::NextAttemptAt)
                .to_owned(),
        )
        .await
    }
}
