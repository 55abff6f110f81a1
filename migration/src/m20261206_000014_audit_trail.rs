//! The audit trail's own columns: the door an entry came through (`api`, `web`, `cli`, `job`), the changed fields
//! with their values before and after, and the seal of the hash chain (`seq`, `prev_hash`, `hash`; null until the
//! sealer reaches the entry, docs/SECURITY.md).

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Door,
    Changes,
    Seq,
    PrevHash,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [
            string_len(AuditLog::Door, 16).default("").to_owned(),
            json_null(AuditLog::Changes),
            big_integer_null(AuditLog::Seq),
            string_len_null(AuditLog::PrevHash, 64),
            string_len_null(AuditLog::Hash, 64),
        ] {
            m.alter_table(Table::alter().table(AuditLog::Table).add_column(column).to_owned())
                .await?;
        }
        m.create_index(index("ux_audit_seq", AuditLog::Table, &["seq"]).unique().to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ux_audit_seq").table(AuditLog::Table).to_owned())
            .await?;
        for column in [
            AuditLog::Door,
            AuditLog::Changes,
            AuditLog::Seq,
            AuditLog::PrevHash,
            AuditLog::Hash,
        ] {
            m.alter_table(Table::alter().table(AuditLog::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
