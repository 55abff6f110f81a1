//! Work chat (消息推送): the channels an admin registers — a group robot of 企业微信, 钉钉 or 飞书, or an application
//! of 企业微信 or 钉钉 that messages people one by one — and what each carries. Chat messages go through the mail
//! outbox (a row names its channel); a user may link the id they have in the bureau's chat for personal messages.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{index, versioned};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Channels {
    Table,
    Id,
    Name,
    Kind,
    Endpoint,
    Secret,
    CorpId,
    AgentId,
    Sends,
    Enabled,
    FailuresInRow,
    LastError,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    ChannelId,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    ChatUserId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(versioned(
            Table::create()
                .table(Channels::Table)
                .col(big_pk_auto(Channels::Id))
                .col(string_len(Channels::Name, 64))
                .col(string_len(Channels::Kind, 32))
                .col(text(Channels::Endpoint))
                // Sealed with the service's secret key (docs/NOTIFICATIONS.md): the webhook address carries the
                // robot's key; neither is shown again.
                .col(text_null(Channels::Secret))
                .col(string_len_null(Channels::CorpId, 128))
                .col(string_len_null(Channels::AgentId, 64))
                .col(json(Channels::Sends))
                .col(boolean(Channels::Enabled).default(true))
                .col(integer(Channels::FailuresInRow).default(0))
                .col(text_null(Channels::LastError))
                .to_owned(),
        ))
        .await?;
        m.create_index(
            index("ux_channels_name", Channels::Table, &["name"])
                .unique()
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Outbox::Table)
                .add_column(big_integer_null(Outbox::ChannelId))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(string_len_null(Users::ChatUserId, 64))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::ChatUserId)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Outbox::Table)
                .drop_column(Outbox::ChannelId)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Channels::Table).to_owned()).await
    }
}
