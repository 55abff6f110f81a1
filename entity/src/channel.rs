//! A work-chat channel (消息推送): where messages go — a group robot's webhook or an application's API — and which
//! messages: `weekly` (the park's weekly summary; for an application, each subscribed leader's own),
//! `weekly_leader:<user id>` (a leader's summary to a group), `reminders` (an application: each person's digest),
//! `reminders:<department id>` (a department's digest to a group), `alerts` (admin alerts).

use sea_orm::entity::prelude::*;

use crate::enums::ChannelKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "channels")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unique, e.g. `领导群`.
    pub name: String,
    pub kind: ChannelKind,
    /// A robot's webhook address (which carries its key), or an application's API base
    /// (`https://qyapi.weixin.qq.com`), which on-premises editions (政务微信, 政务钉钉) replace with their own; sealed.
    pub endpoint: String,
    /// The signing secret of a robot or the secret of an application, sealed; never shown again.
    pub secret: Option<String>,
    /// 企业微信: the corp id; 钉钉: the app key.
    pub corp_id: Option<String>,
    /// The application's agent id.
    pub agent_id: Option<String>,
    /// JSON list of what goes there (see the module's documentation).
    pub sends: Json,
    pub enabled: bool,
    /// Failed sends in a row; the third alerts the admins by e-mail, a sent message resets it.
    pub failures_in_row: i32,
    pub last_error: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
