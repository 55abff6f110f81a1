//! Failed sign-ins counted per account and client address, so that a stranger's wrong guesses lock the account for
//! the stranger's address only; the account-wide lock (`users.failed_logins`) then needs many more failures.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SignInStrikes {
    Table,
    UserId,
    ClientAddr,
    Failures,
    LockedUntil,
    LastAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SignInStrikes::Table)
                .col(big_integer(SignInStrikes::UserId))
                .col(string_len(SignInStrikes::ClientAddr, 64))
                .col(integer(SignInStrikes::Failures))
                .col(timestamp_with_time_zone_null(SignInStrikes::LockedUntil))
                .col(timestamp_with_time_zone(SignInStrikes::LastAt))
                .primary_key(
                    Index::create()
                        .col(SignInStrikes::UserId)
                        .col(SignInStrikes::ClientAddr),
                )
                .foreign_key(&mut fk(
                    "fk_sign_in_strikes_user",
                    (SignInStrikes::Table, SignInStrikes::UserId),
                    (Users::Table, Users::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SignInStrikes::Table).to_owned()).await
    }
}
