//! Accounts: users, sessions, API tokens and the append-only audit log.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index, versioned};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    DisplayName,
    Email,
    Role,
    PasswordHash,
    Disabled,
    FailedLogins,
    LockedUntil,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    RevokedAt,
    ClientAddr,
    UserAgent,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    TokenHash,
    Scopes,
    ExpiresAt,
    CreatedBy,
    CreatedAt,
    RevokedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    UserId,
    Username,
    Action,
    Entity,
    EntityId,
    Path,
    Fields,
    ClientAddr,
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(users_table()).await?;
        m.create_index(
            index("ux_users_username", Users::Table, &["username"])
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(sessions_table()).await?;
        m.create_index(
            index("ux_sessions_token", Sessions::Table, &["token_hash"])
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_sessions_user", Sessions::Table, &["user_id"]))
            .await?;

        m.create_table(api_tokens_table()).await?;
        m.create_index(
            index("ux_api_tokens_token", ApiTokens::Table, &["token_hash"])
                .unique()
                .to_owned(),
        )
        .await?;

        // No foreign key to users: the audit log outlives the accounts it names.
        m.create_table(audit_log_table()).await?;
        for (name, cols) in [
            ("ix_audit_at", &["at"][..]),
            ("ix_audit_user", &["user_id", "at"]),
            ("ix_audit_entity", &["entity", "entity_id"]),
            ("ix_audit_action", &["action", "at"]),
        ] {
            m.create_index(index(name, AuditLog::Table, cols)).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AuditLog::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

fn users_table() -> TableCreateStatement {
    versioned(
        Table::create()
            .table(Users::Table)
            .col(big_pk_auto(Users::Id))
            .col(string_len(Users::Username, 64))
            .col(string_len(Users::DisplayName, 100))
            .col(string_len_null(Users::Email, 254))
            .col(string_len(Users::Role, 16))
            .col(string_len(Users::PasswordHash, 255))
            .col(boolean(Users::Disabled).default(false))
            .col(integer(Users::FailedLogins).default(0))
            .col(timestamp_with_time_zone_null(Users::LockedUntil))
            .to_owned(),
    )
}

fn sessions_table() -> TableCreateStatement {
    Table::create()
        .table(Sessions::Table)
        .col(big_pk_auto(Sessions::Id))
        .col(big_integer(Sessions::UserId))
        .col(string_len(Sessions::TokenHash, 64))
        .col(timestamp_with_time_zone(Sessions::CreatedAt))
        .col(timestamp_with_time_zone(Sessions::LastSeenAt))
        .col(timestamp_with_time_zone(Sessions::ExpiresAt))
        .col(timestamp_with_time_zone_null(Sessions::RevokedAt))
        .col(string_len_null(Sessions::ClientAddr, 100))
        .col(string_len_null(Sessions::UserAgent, 300))
        .foreign_key(&mut fk(
            "fk_sessions_user",
            (Sessions::Table, Sessions::UserId),
            (Users::Table, Users::Id),
            ForeignKeyAction::Cascade,
        ))
        .to_owned()
}

fn api_tokens_table() -> TableCreateStatement {
    Table::create()
        .table(ApiTokens::Table)
        .col(big_pk_auto(ApiTokens::Id))
        .col(big_integer(ApiTokens::UserId))
        .col(string_len(ApiTokens::Name, 100))
        .col(string_len(ApiTokens::TokenHash, 64))
        .col(json(ApiTokens::Scopes))
        .col(timestamp_with_time_zone(ApiTokens::ExpiresAt))
        .col(big_integer_null(ApiTokens::CreatedBy))
        .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
        .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
        .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
        .foreign_key(&mut fk(
            "fk_api_tokens_user",
            (ApiTokens::Table, ApiTokens::UserId),
            (Users::Table, Users::Id),
            ForeignKeyAction::Cascade,
        ))
        .to_owned()
}

fn audit_log_table() -> TableCreateStatement {
    Table::create()
        .table(AuditLog::Table)
        .col(big_pk_auto(AuditLog::Id))
        .col(timestamp_with_time_zone(AuditLog::At))
        .col(big_integer_null(AuditLog::UserId))
        .col(string_len_null(AuditLog::Username, 64))
        .col(string_len(AuditLog::Action, 32))
        .col(string_len_null(AuditLog::Entity, 64))
        .col(big_integer_null(AuditLog::EntityId))
        .col(string_len(AuditLog::Path, 300))
        .col(json(AuditLog::Fields))
        .col(string_len_null(AuditLog::ClientAddr, 100))
        .col(json_null(AuditLog::Detail))
        .to_owned()
}
