//! 消息推送: the work-chat channels (admins). Addresses and secrets are written, never read back: an answer shows
//! the address with its keys masked and whether a secret is set.

use chrono::{DateTime, Utc};
use entity::enums::{ChannelKind, Label};
use jobs::chat::Sealer;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::DatabaseConnection;

use super::{ApiTags, Created, Deleted, auth::Auth, body::JsonBody};
use crate::{
    edge::audit::WriteTx,
    service::{
        AppResult, Need, accounts,
        channels::{self as svc, ChannelName},
    },
};

/// A work-chat channel.
#[derive(Object)]
pub struct Channel {
    /// The channel's id, at `/channels/{id}`.
    pub id: i64,
    /// Name, unique.
    pub name: String,
    /// Robot or application, and of which platform.
    pub kind: ChannelKind,
    /// The kind's Chinese label.
    pub kind_label: String,
    /// The webhook address or API base, its keys masked.
    pub endpoint: String,
    /// Whether a signing or application secret is set (it is never shown).
    pub has_secret: bool,
    /// 企业微信 corp id or 钉钉 app key.
    #[oai(nullable)]
    pub corp_id: Option<String>,
    /// The application's agent id.
    #[oai(nullable)]
    pub agent_id: Option<String>,
    /// What goes there: `weekly`, `weekly:<user id>`, `reminders`, `reminders:<department id>`, `alerts`.
    pub sends: Vec<String>,
    /// Whether it is used.
    pub enabled: bool,
    /// Failed sends in a row (the third alerts the admins by e-mail).
    pub failures_in_row: i32,
    /// The platform's last refusal.
    #[oai(nullable)]
    pub last_error: Option<String>,
    /// Version for optimistic locking.
    pub version: i32,
    /// When it was registered (UTC).
    pub created_at: DateTime<Utc>,
    /// When it was last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<svc::Shown> for Channel {
    fn from(s: svc::Shown) -> Self {
        let m = s.row;
        Channel {
            id: m.id,
            name: m.name,
            kind_label: m.kind.label().into(),
            kind: m.kind,
            endpoint: s.endpoint,
            has_secret: m.secret.is_some(),
            corp_id: m.corp_id,
            agent_id: m.agent_id,
            sends: s.sends,
            enabled: m.enabled,
            failures_in_row: m.failures_in_row,
            last_error: m.last_error,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new channel.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewChannel {
    /// Name, 1–64 characters, unique.
    pub name: ChannelName,
    /// Robot or application, and of which platform.
    pub kind: ChannelKind,
    /// A robot's webhook address as the platform shows it; an application's API base (`https://qyapi.weixin.qq.com`,
    /// `https://oapi.dingtalk.com`, or an on-premises edition's).
    #[oai(write_only)]
    pub endpoint: String,
    /// 钉钉/飞书 robot: the signing secret (加签/签名校验); application: its secret.
    #[oai(write_only)]
    pub secret: Option<String>,
    /// Application: 企业微信 corp id or 钉钉 app key.
    pub corp_id: Option<String>,
    /// Application: its agent id.
    pub agent_id: Option<String>,
    /// What goes there.
    #[oai(default)]
    pub sends: Vec<String>,
    /// Whether it is used (default yes).
    #[oai(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Changes to a channel: left out keeps; `null` clears a secret, corp id or agent id.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct ChannelChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// Name.
    #[oai(nullable)]
    pub name: Option<ChannelName>,
    /// A new address.
    #[oai(write_only, nullable)]
    pub endpoint: Option<String>,
    /// A new secret; `null`: none.
    #[oai(write_only, nullable)]
    pub secret: MaybeUndefined<String>,
    /// Corp id or app key.
    #[oai(nullable)]
    pub corp_id: MaybeUndefined<String>,
    /// Agent id.
    #[oai(nullable)]
    pub agent_id: MaybeUndefined<String>,
    /// What goes there.
    #[oai(nullable)]
    pub sends: Option<Vec<String>>,
    /// Whether it is used.
    #[oai(nullable)]
    pub enabled: Option<bool>,
}

/// What a test message did.
#[derive(Object)]
pub struct TestSent {
    /// The platform accepted it.
    pub sent: bool,
}

/// Channel endpoints.
pub struct ChannelsApi {
    pub db: DatabaseConnection,
    pub sealer: Sealer,
}

#[OpenApi(tag = "ApiTags::Channels")]
impl ChannelsApi {
    /// Register a channel (admins).
    #[oai(path = "/channels", method = "post", operation_id = "createChannel")]
    async fn create(&self, auth: Auth, tx: WriteTx, body: JsonBody<NewChannel>) -> AppResult<Created<Channel>> {
        auth.0.require(Need::Admin)?;
        let b = body.0;
        let n = svc::NewChannel {
            name: b.name,
            kind: b.kind,
            endpoint: b.endpoint,
            secret: b.secret,
            corp_id: b.corp_id,
            agent_id: b.agent_id,
            sends: b.sends,
            enabled: b.enabled,
        };
        Ok(Created::Created(Json(
            svc::create(tx.get().await?, &self.sealer, n).await?.into(),
        )))
    }

    /// Every channel, by name (admins).
    #[oai(path = "/channels", method = "get", operation_id = "listChannels")]
    async fn list(&self, auth: Auth) -> AppResult<Json<Vec<Channel>>> {
        auth.0.require(Need::Admin)?;
        let all = svc::list(&self.db, &self.sealer).await?;
        Ok(Json(all.into_iter().map(Channel::from).collect()))
    }

    /// Read a channel (admins).
    #[oai(path = "/channels/:id", method = "get", operation_id = "getChannel")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Channel>> {
        auth.0.require(Need::Admin)?;
        Ok(Json(svc::get(&self.db, &self.sealer, id.0).await?.into()))
    }

    /// Change a channel (admins); a stale `version` answers 409.
    #[oai(path = "/channels/:id", method = "patch", operation_id = "updateChannel")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<ChannelChanges>,
    ) -> AppResult<Json<Channel>> {
        auth.0.require(Need::Admin)?;
        let b = body.0;
        let c = svc::ChannelChanges {
            version: b.version,
            name: b.name,
            endpoint: b.endpoint,
            secret: b.secret.into(),
            corp_id: b.corp_id.into(),
            agent_id: b.agent_id.into(),
            sends: b.sends,
            enabled: b.enabled,
        };
        Ok(Json(svc::update(tx.get().await?, &self.sealer, id.0, c).await?.into()))
    }

    /// Delete a channel (admins); its messages not yet sent fail.
    #[oai(path = "/channels/:id", method = "delete", operation_id = "deleteChannel")]
    async fn delete(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Admin)?;
        svc::delete(tx.get().await?, id.0, version.0).await?;
        Ok(Deleted::Deleted)
    }

    /// Send a test message now (admins): to a robot's group, or through an application to the caller's linked chat
    /// user id. A refusal answers 422 `channel_refused` with the platform's code and message.
    #[oai(path = "/channels/:id/test", method = "post", operation_id = "testChannel")]
    async fn test(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<TestSent>> {
        auth.0.require(Need::Admin)?;
        let me = accounts::get_user(&self.db, auth.0.user_id).await?.chat_user_id;
        svc::test(&self.db, &self.sealer, id.0, me).await?;
        Ok(Json(TestSent { sent: true }))
    }
}
