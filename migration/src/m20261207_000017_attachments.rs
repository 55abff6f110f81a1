//! Files on the records (附件): one row per file attached to a project, company, visit, outreach activity, blocker or
//! incubation candidate. The bytes live in the file store under their SHA-256 (the same file twice is stored once);
//! a deleted attachment keeps its row, with when and by whom, until the retention job purges it.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    RecordKind,
    RecordId,
    Name,
    Category,
    Note,
    Sha256,
    Bytes,
    ContentType,
    UploadedBy,
    UploadedAt,
    DeletedAt,
    DeletedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Attachments::Table)
                .col(big_pk_auto(Attachments::Id))
                .col(string_len(Attachments::RecordKind, 16))
                .col(big_integer(Attachments::RecordId))
                .col(string_len(Attachments::Name, 255))
                .col(string_len(Attachments::Category, 32))
                .col(text_null(Attachments::Note))
                .col(string_len(Attachments::Sha256, 64))
                .col(big_integer(Attachments::Bytes))
                .col(string_len(Attachments::ContentType, 128))
                .col(big_integer_null(Attachments::UploadedBy))
                .col(timestamp_with_time_zone(Attachments::UploadedAt))
                .col(timestamp_with_time_zone_null(Attachments::DeletedAt))
                .col(big_integer_null(Attachments::DeletedBy))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_attachments_record",
            Attachments::Table,
            &["record_kind", "record_id"],
        ))
        .await?;
        m.create_index(index("ix_attachments_sha256", Attachments::Table, &["sha256"]))
            .await?;
        m.create_index(index("ix_attachments_deleted_at", Attachments::Table, &["deleted_at"]))
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Attachments::Table).to_owned()).await
    }
}
