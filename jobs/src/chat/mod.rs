//! Work chat (docs/NOTIFICATIONS.md): the weekly summary, the reminder digests and the admin alerts sent to the
//! channels an admin registered — group robots of 企业微信, 钉钉 and 飞书, and applications of 企业微信 and 钉钉 that
//! message people by their chat user id. A chat message is an outbox row naming its channel, queued with the
//! e-mails it goes with and sent by the same dispatcher: at least once, deduplicated by a key per message and
//! channel, retried with backoff, recorded with the platform's code.

pub mod render;
pub mod seal;
pub mod send;

use std::str::FromStr;

use chrono::Utc;
use entity::{channel, enums::OutboxStatus, outbox, user};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

pub use render::{Doc, Part};
pub use seal::Sealer;

/// What a channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// The weekly summary: the whole park's to a group; each subscribed leader's own through an application.
    Weekly,
    /// One leader's weekly summary (what they see) to a group.
    WeeklyOf(i64),
    /// Each person's reminder digest through an application.
    Reminders,
    /// A department's reminder digest to a group.
    RemindersOf(i64),
    /// Admin alerts: failed jobs and backups, failed audit verification, lockouts, mail given up.
    Alerts,
}

impl FromStr for Topic {
    type Err = String;

    fn from_str(s: &str) -> Result<Topic, String> {
        let id = |v: &str| v.parse::<i64>().map_err(|_| format!("not an id: {v}"));
        Ok(match s.split_once(':') {
            None if s == "weekly" => Topic::Weekly,
            None if s == "reminders" => Topic::Reminders,
            None if s == "alerts" => Topic::Alerts,
            Some(("weekly", v)) => Topic::WeeklyOf(id(v)?),
            Some(("reminders", v)) => Topic::RemindersOf(id(v)?),
            _ => return Err(format!("unknown: {s}")),
        })
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Topic::Weekly => f.write_str("weekly"),
            Topic::WeeklyOf(id) => write!(f, "weekly:{id}"),
            Topic::Reminders => f.write_str("reminders"),
            Topic::RemindersOf(id) => write!(f, "reminders:{id}"),
            Topic::Alerts => f.write_str("alerts"),
        }
    }
}

/// The topics of a channel (those it cannot read are left out: the service checks them when they are saved).
pub fn topics(c: &channel::Model) -> Vec<Topic> {
    serde_json::from_value::<Vec<String>>(c.sends.clone())
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// The enabled channels, oldest first.
pub async fn channels(db: &impl ConnectionTrait) -> anyhow::Result<Vec<channel::Model>> {
    Ok(channel::Entity::find()
        .filter(channel::Column::Enabled.eq(true))
        .order_by_asc(channel::Column::Id)
        .all(db)
        .await?)
}

/// A message for one channel, before it is queued.
#[derive(Debug, Clone)]
pub struct Message {
    /// Unique per message and channel, e.g. `weekly:2024-W21:park`; the channel's id is added.
    pub key: String,
    /// `weekly_report`, `reminders`, `alert`, `test`.
    pub kind: String,
    /// The channel.
    pub channel: channel::Model,
    /// The chat user ids of an application's message; empty for a group.
    pub to: Vec<String>,
    /// The message.
    pub doc: Doc,
}

/// Queues messages, each rendered for its channel's platform (one outbox row per part); a key already queued is
/// skipped. Answers how many rows were new.
pub async fn enqueue(db: &impl ConnectionTrait, messages: Vec<Message>) -> anyhow::Result<u64> {
    let mut added = 0;
    let now = Utc::now();
    for m in messages {
        let parts = render::render(m.channel.kind, &m.doc);
        let n = parts.len();
        for (i, p) in parts.into_iter().enumerate() {
            let mut key = format!("chat:{}:{}", m.channel.id, m.key);
            if n > 1 {
                key.push_str(&format!(":{}/{n}", i + 1));
            }
            let row = outbox::ActiveModel {
                message_id: Set(crate::outbox::message_id(&key)),
                idempotency_key: Set(key),
                kind: Set(m.kind.clone()),
                recipient: Set(m.to.join("|")),
                subject: Set(p.title),
                html: Set(String::new()),
                text: Set(p.markdown),
                attachments: Set(serde_json::json!([])),
                status: Set(OutboxStatus::Pending),
                attempts: Set(0),
                next_attempt_at: Set(now),
                claimed_until: Set(None),
                last_error: Set(None),
                sent_at: Set(None),
                created_at: Set(now),
                channel_id: Set(Some(m.channel.id)),
                ..Default::default()
            };
            added += crate::outbox::insert(db, row).await?;
        }
    }
    Ok(added)
}

/// The chat user ids of the enabled admins who linked one.
async fn admins_in_chat(db: &impl ConnectionTrait) -> anyhow::Result<Vec<String>> {
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::ChatUserId)
        .filter(user::Column::Role.eq(entity::enums::Role::Admin))
        .filter(user::Column::Disabled.eq(false))
        .filter(user::Column::ChatUserId.is_not_null())
        .into_tuple::<Option<String>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// Queues an admin alert to every channel that carries alerts, except `but` (the channel the alert is about):
/// to the group of a robot, to the admins who linked their chat user id through an application.
pub async fn alert(
    db: &impl ConnectionTrait,
    key: &str,
    subject: &str,
    text: &str,
    but: Option<i64>,
) -> anyhow::Result<()> {
    let mut doc = Doc::new(subject);
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        doc.line(l);
    }
    let mut messages = Vec::new();
    // The admins' chat ids are read once, for the first application that carries alerts.
    let mut admins: Option<Vec<String>> = None;
    for c in channels(db).await? {
        if Some(c.id) == but || !topics(&c).contains(&Topic::Alerts) {
            continue;
        }
        let to = match (c.kind.personal(), &admins) {
            (false, _) => Vec::new(),
            (true, Some(a)) => Clone::clone(a),
            (true, None) => admins.insert(admins_in_chat(db).await?).clone(),
        };
        if c.kind.personal() && to.is_empty() {
            continue;
        }
        messages.push(Message {
            key: format!("alert:{key}"),
            kind: "alert".into(),
            channel: c,
            to,
            doc: doc.clone(),
        });
    }
    enqueue(db, messages).await?;
    Ok(())
}

/// Seconds a message waits after the platform said its robot had sent too many.
const RATE_WAIT: i64 = 30;

/// Messages a robot may send a minute (钉钉, 企业微信 and 飞书 all allow 20); more wait for the next minute.
const PER_MINUTE: u64 = 20;

/// One sender for the process, so that applications' access tokens outlive a dispatch pass.
static SENDER: std::sync::OnceLock<send::Sender> = std::sync::OnceLock::new();

/// Sends a chat row of the outbox to its channel.
pub(crate) async fn deliver(
    db: &impl ConnectionTrait,
    (sealer, timeout): (Option<&Sealer>, std::time::Duration),
    row: &outbox::Model,
) -> Result<(), crate::outbox::SendError> {
    use crate::outbox::SendError;
    let id = row.channel_id.unwrap_or_default();
    let c = channel::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(|e| SendError::Transient(e.to_string()))?
        .filter(|c| c.enabled)
        .ok_or_else(|| SendError::Permanent("消息推送通道已删除或停用".into()))?;
    if !c.kind.personal() {
        let now = Utc::now();
        let recent: Vec<Option<chrono::DateTime<Utc>>> = outbox::Entity::find()
            .select_only()
            .column(outbox::Column::SentAt)
            .filter(outbox::Column::ChannelId.eq(id))
            .filter(outbox::Column::SentAt.gt(now - chrono::Duration::seconds(60)))
            .order_by_desc(outbox::Column::SentAt)
            .limit(PER_MINUTE)
            .into_tuple()
            .all(db)
            .await
            .map_err(|e| SendError::Transient(e.to_string()))?;
        if let (PER_MINUTE, Some(Some(oldest))) = (recent.len() as u64, recent.last()) {
            return Err(SendError::Later(*oldest + chrono::Duration::seconds(61) - now, None));
        }
    }
    let sealer = sealer.ok_or_else(|| SendError::Permanent("没有用来打开通道密钥的服务密钥".into()))?;
    let target = target(&c, sealer).map_err(SendError::Permanent)?;
    let sender = sender(timeout).map_err(|e| SendError::Transient(e.to_string()))?;
    let to: Vec<String> = row
        .recipient
        .split('|')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let part = Part {
        title: row.subject.clone(),
        markdown: row.text.clone(),
    };
    sender.send(&target, &to, &part).await.map_err(|f| match f {
        send::Failure::Transient(m) => SendError::Transient(m),
        send::Failure::Permanent(m) => SendError::Permanent(m),
        // Not an attempt that failed: the message waits for the platform's minute to pass.
        send::Failure::RateLimited(m) => SendError::Later(chrono::Duration::seconds(RATE_WAIT), Some(m)),
    })
}

/// Records how a send to a channel went: a success clears its failures; the third failure in a row mails the
/// admins (not through the failing channel).
pub(crate) async fn record(db: &impl ConnectionTrait, id: i64, error: Option<&str>) -> anyhow::Result<()> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let update = channel::Entity::update_many().filter(channel::Column::Id.eq(id));
    let Some(error) = error else {
        update
            .col_expr(channel::Column::FailuresInRow, Expr::value(0))
            .col_expr(channel::Column::LastError, Expr::value(Option::<String>::None))
            .exec(db)
            .await?;
        return Ok(());
    };
    update
        .col_expr(
            channel::Column::FailuresInRow,
            Expr::col(channel::Column::FailuresInRow).add(1),
        )
        .col_expr(channel::Column::LastError, Expr::value(Some(error.to_owned())))
        .exec(db)
        .await?;
    let Some(c) = channel::Entity::find_by_id(id).one(db).await? else {
        return Ok(());
    };
    if c.failures_in_row == 3 {
        let text = format!(
            "消息推送通道“{}”({})连续 3 次发送失败。\n最后的错误:{error}\n请在“消息推送”页检查它的地址与密钥,在“系统日志”中重发失败的消息。\n",
            c.name,
            entity::enums::Label::label(c.kind)
        );
        crate::outbox::mail_admins(
            db,
            &format!("channel:{id}:{}", Utc::now().timestamp()),
            &format!("【招商CRM告警】消息推送失败:{}", c.name),
            &text,
        )
        .await?;
    }
    Ok(())
}

/// A channel with its address and secret opened.
fn target<'a>(c: &'a channel::Model, sealer: &Sealer) -> Result<send::Target<'a>, String> {
    let open = |s: &str| sealer.open(s).map_err(|e| e.to_string());
    Ok(send::Target {
        channel: c,
        endpoint: open(&c.endpoint)?,
        secret: c.secret.as_deref().map(open).transpose()?,
    })
}

/// The process's sender, made on first use.
fn sender(timeout: std::time::Duration) -> anyhow::Result<&'static send::Sender> {
    if let Some(s) = SENDER.get() {
        return Ok(s);
    }
    let s = send::Sender::new(timeout)?;
    Ok(SENDER.get_or_init(|| s))
}

/// Sends a message to a channel now, outside the outbox (the 测试 button, `invest-crm channel test`): the
/// platform's refusal comes back as its text.
pub async fn try_send(c: &channel::Model, sealer: &Sealer, to: &[String], doc: &Doc) -> Result<(), String> {
    let target = target(c, sealer)?;
    let sender = sender(std::time::Duration::from_secs(20)).map_err(|e| e.to_string())?;
    for part in render::render(c.kind, doc) {
        sender.send(&target, to, &part).await.map_err(|f| match f {
            send::Failure::Transient(m) | send::Failure::Permanent(m) | send::Failure::RateLimited(m) => m,
        })?;
    }
    Ok(())
}
