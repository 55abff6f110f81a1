//! The mail outbox, and leaders' subscription to the weekly report.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    IdempotencyKey,
    Kind,
    Recipient,
    Subject,
    Html,
    Text,
    Attachments,
    MessageId,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    LastError,
    SentAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    WeeklyReport,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .col(big_pk_auto(Outbox::Id))
                .col(string_len(Outbox::IdempotencyKey, 200))
                .col(string_len(Outbox::Kind, 32))
                .col(string_len(Outbox::Recipient, 254))
                .col(string_len(Outbox::Subject, 300))
                .col(text(Outbox::Html))
                .col(text(Outbox::Text))
                .col(json(Outbox::Attachments))
                .col(string_len(Outbox::MessageId, 200))
                .col(string_len(Outbox::Status, 16))
                .col(integer(Outbox::Attempts).default(0))
                .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
                .col(timestamp_with_time_zone_null(Outbox::ClaimedUntil))
                .col(text_null(Outbox::LastError))
                .col(timestamp_with_time_zone_null(Outbox::SentAt))
                .col(timestamp_with_time_zone(Outbox::CreatedAt))
                .to_owned(),
        )
        .await?;
        // Queuing the same report for the same recipient twice inserts nothing the second time.
        m.create_index(
            index("ux_outbox_key", Outbox::Table, &["idempotency_key"])
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_outbox_due", Outbox::Table, &["status", "next_attempt_at"]))
            .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(boolean(Users::WeeklyReport).default(true))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::WeeklyReport)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Outbox::Table).to_owned()).await?;
        Ok(())
    }
}
