//! 扶持资金: support funds secured for companies, by programme, level and approval date.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index, versioned};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Companies {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SupportFunds {
    Table,
    Id,
    CompanyId,
    Programme,
    Level,
    AmountYuan,
    ApprovedOn,
    Note,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table(SupportFunds::Table)
            .col(big_pk_auto(SupportFunds::Id))
            .col(big_integer(SupportFunds::CompanyId))
            .col(string_len(SupportFunds::Programme, 200))
            .col(string_len(SupportFunds::Level, 16))
            .col(big_integer(SupportFunds::AmountYuan))
            .col(date(SupportFunds::ApprovedOn))
            .col(text_null(SupportFunds::Note))
            .foreign_key(&mut fk(
                "fk_support_funds_company",
                (SupportFunds::Table, SupportFunds::CompanyId),
                (Companies::Table, Companies::Id),
                ForeignKeyAction::Restrict,
            ));
        m.create_table(versioned(t.to_owned())).await?;
        m.create_index(index("ix_support_funds_company", SupportFunds::Table, &["company_id"]))
            .await?;
        m.create_index(index(
            "ix_support_funds_approved",
            SupportFunds::Table,
            &["approved_on"],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SupportFunds::Table).to_owned()).await
    }
}
