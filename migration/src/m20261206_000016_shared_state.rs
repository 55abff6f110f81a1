//! State that replicas of the service share through the database: the sign-in rate limit per client address (a
//! GCRA bucket, so the limit holds whatever the number of replicas) and the replicas themselves, with a
//! fingerprint of the settings that must agree between them (docs/DEPLOYMENT.md).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SignInGates {
    Table,
    ClientAddr,
    TatMs,
}

#[derive(DeriveIden)]
enum Replicas {
    Table,
    Id,
    Version,
    Settings,
    StartedAt,
    SeenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SignInGates::Table)
                .col(string_len(SignInGates::ClientAddr, 64).primary_key())
                .col(big_integer(SignInGates::TatMs))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Replicas::Table)
                .col(string_len(Replicas::Id, 128).primary_key())
                .col(string_len(Replicas::Version, 32))
                .col(json(Replicas::Settings))
                .col(timestamp_with_time_zone(Replicas::StartedAt))
                .col(timestamp_with_time_zone(Replicas::SeenAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Replicas::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(SignInGates::Table).to_owned()).await
    }
}
