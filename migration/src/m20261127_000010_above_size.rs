//! 规模以上: the date a company became an above-size (规上) enterprise, when it has.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Companies {
    Table,
    AboveSizeSince,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Companies::Table)
                .add_column(date_null(Companies::AboveSizeSince))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Companies::Table)
                .drop_column(Companies::AboveSizeSince)
                .to_owned(),
        )
        .await
    }
}
