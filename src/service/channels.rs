//! 消息推送: the work-chat channels an admin registers (docs/NOTIFICATIONS.md). The webhook address (it carries a
//! robot's key) and the secret are sealed with the service's secret key before they are stored and never shown
//! again: answers show the address with its keys masked and only whether a secret is set. What a channel carries
//! is checked against the records it names (a leader, a department).

use chrono::Utc;
use entity::{channel, department, enums::ChannelKind, user};
use jobs::chat::{Doc, Sealer, Topic};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use super::{
    AppError, AppResult, Code, Kind, Msg, delete_versioned, find,
    input::{Patch, Text, set_some},
    insert_one, update_versioned,
};

/// A channel's name: 1–64 characters, unique.
pub type ChannelName = Text<64>;

/// A new channel.
pub struct NewChannel {
    /// Name, unique.
    pub name: ChannelName,
    /// Robot or application, and of which platform.
    pub kind: ChannelKind,
    /// The robot's webhook address, or the application's API base.
    pub endpoint: String,
    /// The robot's signing secret or the application's secret.
    pub secret: Option<String>,
    /// 企业微信 corp id or 钉钉 app key (applications).
    pub corp_id: Option<String>,
    /// The application's agent id.
    pub agent_id: Option<String>,
    /// What goes there.
    pub sends: Vec<String>,
    /// Whether it is used.
    pub enabled: bool,
}

/// Changes to a channel: `None` keeps.
pub struct ChannelChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Name.
    pub name: Option<ChannelName>,
    /// A new address.
    pub endpoint: Option<String>,
    /// A new secret, or none any more.
    pub secret: Patch<String>,
    /// Corp id or app key.
    pub corp_id: Patch<String>,
    /// Agent id.
    pub agent_id: Patch<String>,
    /// What goes there.
    pub sends: Option<Vec<String>>,
    /// Whether it is used.
    pub enabled: Option<bool>,
}

/// A channel as it is shown: the address masked, the secret only as whether there is one.
pub struct Shown {
    /// The stored row (its sealed values are not to be shown).
    pub row: channel::Model,
    /// The address with its keys masked.
    pub endpoint: String,
    /// What goes there, as stored.
    pub sends: Vec<String>,
}

const WHAT: Kind = Kind::Channel;

fn duplicate() -> AppError {
    AppError::rule(
        Code::DuplicateChannel,
        Some("name"),
        Msg::new("a channel of this name exists", "已有同名的消息推送通道"),
    )
}

/// An `http(s)` address of at most 1,000 characters.
fn check_endpoint(e: &str) -> AppResult<String> {
    let e = e.trim();
    let uri: Option<poem::http::Uri> = e.parse().ok();
    let ok =
        e.len() <= 1000 && uri.is_some_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some());
    if !ok {
        return Err(AppError::invalid(
            "endpoint",
            "an http or https address of at most 1000 characters",
            "须为 http 或 https 地址,不超过 1000 个字符",
        ));
    }
    Ok(e.to_owned())
}

/// The address with the values of its query and a long last path segment (飞书's hook token) masked.
pub fn masked(endpoint: &str) -> String {
    let (path, query) = endpoint.split_once('?').unwrap_or((endpoint, ""));
    let path = match path.rsplit_once('/') {
        Some((head, last)) if last.chars().count() >= 16 => {
            format!("{head}/{}***", last.chars().take(4).collect::<String>())
        }
        _ => path.to_owned(),
    };
    if query.is_empty() {
        return path;
    }
    let query: Vec<String> = query
        .split('&')
        .map(|kv| kv.split_once('=').map_or(kv.to_owned(), |(k, _)| format!("{k}=***")))
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// Checks what a channel of `kind` carries: each topic known, fit for a group or for people, naming a leader or
/// department that exists; no topic twice.
async fn check_sends(db: &impl ConnectionTrait, kind: ChannelKind, sends: &[String]) -> AppResult<Vec<String>> {
    let bad = |en: String, zh: String| AppError::invalid("sends", en, zh);
    let mut out: Vec<String> = Vec::new();
    for s in sends {
        let t: Topic = s.trim().parse().map_err(|e| {
            bad(
                format!("{e}: use weekly, weekly:<user id>, reminders, reminders:<department id> or alerts"),
                format!("无法识别“{s}”"),
            )
        })?;
        let fits = match t {
            Topic::Weekly | Topic::Alerts => true,
            Topic::Reminders => kind.personal(),
            Topic::WeeklyOf(_) | Topic::RemindersOf(_) => !kind.personal(),
        };
        if !fits {
            return Err(bad(
                format!("{t} does not fit a channel of kind {kind:?}"),
                format!("“{t}”不适用于{}", entity::enums::Label::label(kind)),
            ));
        }
        let exists = match t {
            Topic::WeeklyOf(id) => user::Entity::find_by_id(id).count(db).await? > 0,
            Topic::RemindersOf(id) => department::Entity::find_by_id(id).count(db).await? > 0,
            _ => true,
        };
        if !exists {
            return Err(bad(
                format!("{t} names no record"),
                format!("“{t}”指向的用户或部门不存在"),
            ));
        }
        if !out.contains(&t.to_string()) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}

/// Checks that an application has what it needs: corp id (app key), a numeric agent id and a secret.
fn check_app(kind: ChannelKind, (corp, agent, secret): (Option<&str>, Option<&str>, bool)) -> AppResult<()> {
    if !kind.personal() {
        return Ok(());
    }
    if corp.is_none_or(|c| c.trim().is_empty()) {
        return Err(AppError::invalid(
            "corp_id",
            "an application needs its corp id or app key",
            "应用须填写 CorpId(钉钉为 AppKey)",
        ));
    }
    if agent.is_none_or(|a| a.trim().parse::<i64>().is_err()) {
        return Err(AppError::invalid(
            "agent_id",
            "an application needs its numeric agent id",
            "应用须填写数字 AgentId",
        ));
    }
    if !secret {
        return Err(AppError::invalid(
            "secret",
            "an application needs its secret",
            "应用须填写 Secret",
        ));
    }
    Ok(())
}

/// A text of at most `MAX` characters (the input's own check: trimmed, no control characters), none when blank.
fn short<const MAX: usize>(field: &str, v: Option<&str>) -> AppResult<Option<String>> {
    Ok(Text::<MAX>::parse_opt(field, v)?.map(String::from))
}

/// A field after a change: kept as it `was`, cleared, or set to a text of at most `MAX` characters.
fn patched<const MAX: usize>(field: &str, p: Patch<String>, was: Option<String>) -> AppResult<Option<String>> {
    match p {
        Patch::Keep => Ok(was),
        Patch::Clear => Ok(None),
        Patch::Set(v) => short::<MAX>(field, Some(&v)),
    }
}

/// Shows a channel.
pub fn shown(sealer: &Sealer, row: channel::Model) -> Shown {
    let endpoint = sealer
        .open(&row.endpoint)
        .map_or_else(|_| "(无法用本服务的密钥打开)".into(), |e| masked(&e));
    let sends = serde_json::from_value(row.sends.clone()).unwrap_or_default();
    Shown { row, endpoint, sends }
}

/// Registers a channel.
pub async fn create(db: &impl ConnectionTrait, sealer: &Sealer, n: NewChannel) -> AppResult<Shown> {
    let endpoint = check_endpoint(&n.endpoint)?;
    let secret = short::<500>("secret", n.secret.as_deref())?;
    let corp = short::<128>("corp_id", n.corp_id.as_deref())?;
    let agent = short::<64>("agent_id", n.agent_id.as_deref())?;
    check_app(n.kind, (corp.as_deref(), agent.as_deref(), secret.is_some()))?;
    let sends = check_sends(db, n.kind, &n.sends).await?;
    if channel::Entity::find()
        .filter(channel::Column::Name.eq(n.name.as_str()))
        .count(db)
        .await?
        > 0
    {
        return Err(duplicate());
    }
    let now = Utc::now();
    let m = channel::ActiveModel {
        name: Set(n.name.into()),
        kind: Set(n.kind),
        endpoint: Set(sealer.seal(&endpoint)?),
        secret: Set(secret.map(|s| sealer.seal(&s)).transpose()?),
        corp_id: Set(corp),
        agent_id: Set(agent),
        sends: Set(serde_json::json!(sends)),
        enabled: Set(n.enabled),
        failures_in_row: Set(0),
        last_error: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let m = insert_one(db, WHAT, m).await.map_err(|e| e.if_duplicate(duplicate))?;
    Ok(shown(sealer, m))
}

/// Every channel, by name.
pub async fn list(db: &impl ConnectionTrait, sealer: &Sealer) -> AppResult<Vec<Shown>> {
    let rows = channel::Entity::find()
        .order_by_asc(channel::Column::Name)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| shown(sealer, r)).collect())
}

/// A channel by id.
pub async fn get(db: &impl ConnectionTrait, sealer: &Sealer, id: i64) -> AppResult<Shown> {
    Ok(shown(sealer, find::<channel::Entity, _>(db, id, WHAT).await?))
}

/// A channel by name.
pub async fn by_name(db: &impl ConnectionTrait, name: &str) -> AppResult<channel::Model> {
    channel::Entity::find()
        .filter(channel::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or(AppError::not_found(WHAT))
}

/// Changes a channel.
pub async fn update(db: &impl ConnectionTrait, sealer: &Sealer, id: i64, c: ChannelChanges) -> AppResult<Shown> {
    let now = find::<channel::Entity, _>(db, id, WHAT).await?;
    if let Some(n) = &c.name
        && channel::Entity::find()
            .filter(channel::Column::Name.eq(n.as_str()))
            .filter(channel::Column::Id.ne(id))
            .count(db)
            .await?
            > 0
    {
        return Err(duplicate());
    }
    let mut m = channel::ActiveModel::default();
    if let Some(e) = &c.endpoint {
        m.endpoint = Set(sealer.seal(&check_endpoint(e)?)?);
    }
    let secret = match c.secret {
        Patch::Keep => None,
        Patch::Clear => Some(None),
        Patch::Set(s) => Some(short::<500>("secret", Some(&s))?),
    };
    let has_secret = secret.as_ref().map_or(now.secret.is_some(), Option::is_some);
    let corp = patched::<128>("corp_id", c.corp_id, now.corp_id.clone())?;
    let agent = patched::<64>("agent_id", c.agent_id, now.agent_id.clone())?;
    check_app(now.kind, (corp.as_deref(), agent.as_deref(), has_secret))?;
    m.corp_id = Set(corp);
    m.agent_id = Set(agent);
    if let Some(secret) = secret {
        m.secret = Set(secret.map(|s| sealer.seal(&s)).transpose()?);
    }
    if let Some(s) = &c.sends {
        m.sends = Set(serde_json::json!(check_sends(db, now.kind, s).await?));
    }
    set_some(&mut m.name, c.name.map(String::from));
    set_some(&mut m.enabled, c.enabled);
    let m = update_versioned::<channel::Entity, _>(db, id, WHAT, c.version, m)
        .await
        .map_err(|e| e.if_duplicate(duplicate))?;
    Ok(shown(sealer, m))
}

/// Deletes a channel; its messages not yet sent fail with the reason when they come due.
pub async fn delete(db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
    delete_versioned::<channel::Entity, _>(db, id, WHAT, version).await
}

/// Sends a test message to a channel now and answers the platform's refusal as a 422 naming it: to the group of
/// a robot, to `me` (the admin's linked chat user id) through an application.
pub async fn test(db: &impl ConnectionTrait, sealer: &Sealer, id: i64, me: Option<String>) -> AppResult<()> {
    let c = find::<channel::Entity, _>(db, id, WHAT).await?;
    let to: Vec<String> = me.into_iter().collect();
    if c.kind.personal() && to.is_empty() {
        return Err(AppError::invalid(
            "chat_user_id",
            "link your chat user id in 个人设置 to receive an application's test message",
            "应用消息发给个人:请先在“个人设置”中填写您的企业微信/钉钉账号",
        ));
    }
    let mut doc = Doc::new("【招商CRM】消息推送测试");
    doc.line(format!("通道:{}({})", c.name, entity::enums::Label::label(c.kind)))
        .line(format!(
            "时间:{}",
            Utc::now()
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M:%S")
        ))
        .line("收到这条消息,说明地址与密钥正确。");
    jobs::chat::try_send(&c, sealer, &to, &doc).await.map_err(|m| {
        AppError::rule(
            Code::ChannelRefused,
            None,
            Msg::new(
                format!("the platform refused the message: {m}"),
                format!("发送失败:{m}"),
            ),
        )
    })?;
    let detail = serde_json::json!({ "name": c.name, "to": to });
    super::audit::event(db, "channel_test", Some((WHAT, id)), Some(detail)).await
}
