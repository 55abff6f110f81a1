//! Ledger imports: each committed import is a batch (who, when, which file, what it did), and each record it created
//! or changed is an item holding what the record was before, so that the batch can be undone.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ImportBatches {
    Table,
    Id,
    Dataset,
    FileName,
    Sha256,
    UserId,
    Username,
    Counts,
    CreatedAt,
    UndoneAt,
    UndoneBy,
}

#[derive(DeriveIden)]
enum ImportItems {
    Table,
    Id,
    BatchId,
    Kind,
    RecordId,
    Created,
    Before,
    VersionAfter,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ImportBatches::Table)
                .col(big_pk_auto(ImportBatches::Id))
                .col(string_len(ImportBatches::Dataset, 32))
                .col(string_len(ImportBatches::FileName, 255))
                .col(string_len(ImportBatches::Sha256, 64))
                .col(big_integer_null(ImportBatches::UserId))
                .col(string_len(ImportBatches::Username, 100))
                .col(json(ImportBatches::Counts))
                .col(timestamp_with_time_zone(ImportBatches::CreatedAt))
                .col(timestamp_with_time_zone_null(ImportBatches::UndoneAt))
                .col(string_len_null(ImportBatches::UndoneBy, 100))
                .foreign_key(&mut fk(
                    "fk_import_batches_user",
                    (ImportBatches::Table, ImportBatches::UserId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ImportItems::Table)
                .col(big_pk_auto(ImportItems::Id))
                .col(big_integer(ImportItems::BatchId))
                .col(string_len(ImportItems::Kind, 16))
                .col(big_integer(ImportItems::RecordId))
                .col(boolean(ImportItems::Created))
                .col(json_null(ImportItems::Before))
                .col(integer(ImportItems::VersionAfter))
                .foreign_key(&mut fk(
                    "fk_import_items_batch",
                    (ImportItems::Table, ImportItems::BatchId),
                    (ImportBatches::Table, ImportBatches::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_import_items_batch", ImportItems::Table, &["batch_id"]))
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ImportItems::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(ImportBatches::Table).to_owned()).await
    }
}
