//! 资本来源: the origin of a project's and a fund arrival's capital (内资, 外资, 港澳台资), and for foreign capital the
//! dollars and the rate they were converted at. Existing records are 内资.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Projects {
    Table,
    CapitalOrigin,
}

#[derive(DeriveIden)]
enum FundArrivals {
    Table,
    CapitalOrigin,
    AmountUsdCents,
    UsdRateE4,
}

fn origin(col: impl IntoIden) -> ColumnDef {
    string_len(col, 24).default("domestic").to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Projects::Table)
                .add_column(origin(Projects::CapitalOrigin))
                .to_owned(),
        )
        .await?;
        // SQLite alters one column per statement.
        for col in [
            origin(FundArrivals::CapitalOrigin),
            big_integer_null(FundArrivals::AmountUsdCents),
            big_integer_null(FundArrivals::UsdRateE4),
        ] {
            m.alter_table(Table::alter().table(FundArrivals::Table).add_column(col).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            FundArrivals::UsdRateE4,
            FundArrivals::AmountUsdCents,
            FundArrivals::CapitalOrigin,
        ] {
            m.alter_table(Table::alter().table(FundArrivals::Table).drop_column(col).to_owned())
                .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Projects::Table)
                .drop_column(Projects::CapitalOrigin)
                .to_owned(),
        )
        .await
    }
}
