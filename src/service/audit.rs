//! The audit trail (docs/SECURITY.md): append-only entries of who did what to which record, when, from where and
//! through which door, written by the service layer in the same transaction as the change it records, with the
//! changed fields' values before and after (contact details masked, secrets only as the fact of a change). Entries
//! are sealed into a hash chain by [`chain::seal`], and [`chain::verify`] finds a changed, deleted or inserted one.

pub use ::jobs::audit_chain as chain;

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use chrono::{DateTime, SubsecRound, Utc};
use entity::audit_entry;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic, Iterable, ModelTrait, QueryFilter,
    sea_query::Expr,
};
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    Actor, AppError, AppResult, Code, Dir, Kind, Msg, Need, Order, Page, Paging,
    companies::{mask_email, mask_phone},
};

/// Where an action came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Door {
    /// The JSON API.
    Api,
    /// The staff web UI.
    Web,
    /// A command of the `invest-crm` binary.
    Cli,
    /// A scheduled or hand-started job.
    Job,
}

/// The caller of a request, once authenticated (the authentication of the API and of the UI fills it).
#[derive(Clone, Default)]
pub struct Caller(Arc<Mutex<Option<Actor>>>);

impl Caller {
    /// The caller, once authenticated.
    pub fn get(&self) -> Option<Actor> {
        self.0.lock().ok().and_then(|c| c.clone())
    }

    /// Records the caller once authenticated.
    pub fn set(&self, caller: &Actor) {
        if let Ok(mut c) = self.0.lock() {
            *c = Some(caller.clone());
        }
    }
}

/// Who acts and through which door, for everything done within one request, command or job run.
#[derive(Clone)]
pub struct Context {
    /// The door.
    pub door: Door,
    /// The caller, when known.
    pub caller: Caller,
    /// The client's address, for requests.
    pub client_addr: Option<String>,
    /// The request path, the command or the job.
    pub path: String,
    /// The request's id (`X-Request-Id`), for requests.
    pub request_id: Option<String>,
    /// How many entries were written within it.
    written: Arc<AtomicUsize>,
    /// The last entry written within it: its kind, record id and row id (to add a link change to).
    last: Arc<Mutex<Option<(String, i64, i64)>>>,
    /// A record the request named that lies outside the caller's data scope (answered as not found).
    hidden: Arc<Mutex<Option<(Kind, i64)>>>,
}

impl Context {
    /// A context for one request, command or job run.
    pub fn new(door: Door, path: impl Into<String>, client_addr: Option<String>) -> Context {
        Context {
            door,
            caller: Caller::default(),
            client_addr,
            path: path.into(),
            request_id: None,
            written: Arc::default(),
            last: Arc::default(),
            hidden: Arc::default(),
        }
    }

    /// The record out of the caller's scope the request named, if the answer hid one.
    pub fn hidden(&self) -> Option<(Kind, i64)> {
        self.hidden.lock().ok().and_then(|h| *h)
    }

    /// How many entries were written within it so far.
    pub fn written(&self) -> usize {
        self.written.load(Ordering::Relaxed)
    }
}

tokio::task_local! {
    static CONTEXT: Context;
}

/// Runs `f` with `ctx` as the context of every entry it writes.
pub async fn within<F: Future>(ctx: Context, f: F) -> F::Output {
    CONTEXT.scope(ctx, f).await
}

fn current() -> Option<Context> {
    CONTEXT.try_with(Context::clone).ok()
}

/// Notes that the answer hides a record out of the caller's data scope as one that does not exist: the edge records
/// the refusal.
pub fn hide(kind: Kind, id: i64) {
    if let Some(ctx) = current()
        && let Ok(mut h) = ctx.hidden.lock()
    {
        *h = Some((kind, id));
    }
}

/// One changed field: its value before and after (masked where a contact detail), or only the fact of a change for a
/// secret.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FieldChange {
    /// The field.
    pub field: String,
    /// Its value before (null for a create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub was: Option<Value>,
    /// Its value after (null for a delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub became: Option<Value>,
    /// A secret (a password, a token): changed, never shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// A row to append.
#[derive(Debug, Default)]
pub struct Entry {
    /// What happened.
    pub action: String,
    /// Who did it (filled from the context when none).
    pub user_id: Option<i64>,
    /// Their username.
    pub username: Option<String>,
    /// The kind of record.
    pub entity: Option<String>,
    /// The record's id.
    pub entity_id: Option<i64>,
    /// The request path, command or job (filled from the context when empty).
    pub path: String,
    /// The changed fields.
    pub changes: Vec<FieldChange>,
    /// The client's address (filled from the context when none).
    pub client_addr: Option<String>,
    /// Further detail; never a secret.
    pub detail: Option<Value>,
    /// The door (taken from the context when none).
    pub door: Option<Door>,
}

/// The door of the context this runs in, if any: for an entry written later, outside it (an export's, once its
/// rows are streamed).
pub fn current_door() -> Option<Door> {
    current().map(|c| c.door)
}

/// Appends a row, completed from the context it is written in.
pub async fn write(db: &impl ConnectionTrait, e: Entry) -> AppResult<()> {
    let ctx = current();
    let target = e.entity.clone().zip(e.entity_id);
    let res = audit_entry::Entity::insert(row(e, ctx.as_ref())).exec(db).await?;
    if let Some(ctx) = ctx
        && let Ok(mut last) = ctx.last.lock()
    {
        *last = target.map(|(kind, id)| (kind, id, res.last_insert_id));
    }
    Ok(())
}

/// Appends many rows (a batch's records), completed from the context they are written in.
pub async fn write_many(db: &impl ConnectionTrait, entries: Vec<Entry>) -> AppResult<()> {
    let ctx = current();
    let rows = entries.into_iter().map(|e| row(e, ctx.as_ref())).collect();
    super::insert_all(db, rows, 1000).await?;
    Ok(())
}

/// The row of an entry, completed from the context: the caller, the path and the client's address.
fn row(mut e: Entry, ctx: Option<&Context>) -> audit_entry::ActiveModel {
    if let Some(ctx) = ctx {
        if e.user_id.is_none()
            && e.username.is_none()
            && let Some(a) = ctx.caller.get()
        {
            e.user_id = Some(a.user_id);
            e.username = Some(a.username);
        }
        if e.path.is_empty() {
            e.path = ctx.path.clone();
        }
        if e.client_addr.is_none() {
            e.client_addr = ctx.client_addr.clone();
        }
        ctx.written.fetch_add(1, Ordering::Relaxed);
    }
    let door: &'static str = e.door.or(ctx.map(|c| c.door)).map_or("", Into::into);
    let fields: Vec<&str> = e.changes.iter().map(|c| c.field.as_str()).collect();
    audit_entry::ActiveModel {
        // Whole microseconds: what PostgreSQL keeps, so that the seal reads back what it sealed on both databases.
        at: Set(Utc::now().trunc_subsecs(6)),
        user_id: Set(e.user_id),
        username: Set(e.username),
        action: Set(e.action),
        entity: Set(e.entity),
        entity_id: Set(e.entity_id),
        path: Set(e.path.chars().take(300).collect()),
        fields: Set(json!(fields)),
        changes: Set((!e.changes.is_empty()).then(|| json!(e.changes))),
        client_addr: Set(e.client_addr),
        detail: Set(e.detail),
        door: Set(door.to_owned()),
        request_id: Set(ctx.and_then(|c| c.request_id.clone())),
        ..Default::default()
    }
}

/// Records a security or operations event (a sign-out, a lockout, a job started by hand …) about a record if any.
pub async fn event(
    db: &impl ConnectionTrait,
    action: &str,
    target: Option<(Kind, i64)>,
    detail: Option<Value>,
) -> AppResult<()> {
    let entry = Entry {
        action: action.to_owned(),
        entity: target.map(|(k, _)| k.name().to_owned()),
        entity_id: target.map(|(_, id)| id),
        detail,
        ..Default::default()
    };
    write(db, entry).await
}

/// Adds `change` to the entry just written for record `id` of `kind` within this context (a record's links are
/// written after the record: its create or update entry carries them), or records it as an update of its own.
pub async fn amend(db: &impl ConnectionTrait, kind: Kind, id: i64, change: FieldChange) -> AppResult<()> {
    let last = current().and_then(|c| c.last.lock().ok().and_then(|l| l.clone()));
    let written = match last.filter(|(k, i, _)| k == kind.name() && *i == id) {
        Some((_, _, row)) => audit_entry::Entity::find_by_id(row).one(db).await?,
        None => None,
    };
    if let Some(m) = written {
        let mut changes: Vec<FieldChange> = m
            .changes
            .and_then(|c| serde_json::from_value(c).ok())
            .unwrap_or_default();
        changes.push(change);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        audit_entry::Entity::update_many()
            .col_expr(audit_entry::Column::Fields, Expr::value(json!(fields)))
            .col_expr(audit_entry::Column::Changes, Expr::value(json!(changes)))
            .filter(audit_entry::Column::Id.eq(m.id))
            .filter(audit_entry::Column::Seq.is_null())
            .exec(db)
            .await?;
        return Ok(());
    }
    let entry = Entry {
        action: <&str>::from(Action::Update).to_owned(),
        entity: Some(kind.name().to_owned()),
        entity_id: Some(id),
        changes: vec![change],
        ..Default::default()
    };
    write(db, entry).await
}

/// What was done to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    /// Created.
    Create,
    /// Changed.
    Update,
    /// Deleted.
    Delete,
    /// Moved to another stage (recorded against the project or candidate, with the event's id).
    StageMove,
}

/// Records `action` on record `id` of `kind`, with the fields that differ between `before` and `after` (a create
/// has no before, a delete no after), and `detail` if any.
pub async fn changed<M: ModelTrait>(
    db: &impl ConnectionTrait,
    kind: Kind,
    id: i64,
    action: Action,
    before: Option<&M>,
    after: Option<&M>,
    detail: Option<Value>,
) -> AppResult<()> {
    let entry = Entry {
        action: <&str>::from(action).to_owned(),
        entity: Some(kind.name().to_owned()),
        entity_id: Some(id),
        changes: diff(before, after),
        detail,
        ..Default::default()
    };
    write(db, entry).await
}

/// A record's id (its column `id`).
pub fn id_of<M: ModelTrait>(m: &M) -> i64 {
    <M::Entity as EntityTrait>::Column::iter()
        .find(|c| c.as_str() == "id")
        .and_then(|c| match m.get(c) {
            sea_orm::Value::BigInt(Some(id)) => Some(id),
            sea_orm::Value::Int(Some(id)) => Some(i64::from(id)),
            _ => None,
        })
        .unwrap_or_default()
}

/// Records a stage move against the record that moved (a project, a candidate), with the event it added.
pub async fn moved<S, E: ModelTrait>(
    db: &impl ConnectionTrait,
    kind: Kind,
    owner: i64,
    was: Option<sea_orm::Value>,
    became: sea_orm::Value,
    event: &E,
    step: &super::history::Step<S>,
) -> AppResult<()> {
    let entry = Entry {
        action: <&str>::from(Action::StageMove).to_owned(),
        entity: Some(kind.name().to_owned()),
        entity_id: Some(owner),
        changes: vec![FieldChange {
            field: "stage".into(),
            was: was.as_ref().map(json_of),
            became: Some(json_of(&became)),
            secret: false,
        }],
        detail: Some(json!({
            "event_id": id_of(event),
            "occurred_on": step.occurred_on,
            "reason": step.reason,
        })),
        ..Default::default()
    };
    write(db, entry).await
}

/// Columns that are bookkeeping, not content.
const BOOKKEEPING: [&str; 4] = ["id", "version", "created_at", "updated_at"];

/// The fields that differ between two versions of a record, in column order.
pub fn diff<M: ModelTrait>(before: Option<&M>, after: Option<&M>) -> Vec<FieldChange> {
    let mut out = Vec::new();
    for col in <M::Entity as EntityTrait>::Column::iter() {
        let name = col.as_str();
        if BOOKKEEPING.contains(&name) {
            continue;
        }
        let was = before.map(|m| m.get(col));
        let became = after.map(|m| m.get(col));
        if was == became {
            continue;
        }
        let (was, became) = (was.map(|v| json_of(&v)), became.map(|v| json_of(&v)));
        // A create's empty fields are not changes, nor a delete's.
        let empty = |v: &Option<Value>| v.as_ref().is_none_or(Value::is_null);
        if (before.is_none() && empty(&became)) || (after.is_none() && empty(&was)) {
            continue;
        }
        out.push(shown(name, was, became));
    }
    out
}

/// A change as the log may show it: a secret as the fact alone, a contact detail masked.
fn shown(name: &str, was: Option<Value>, became: Option<Value>) -> FieldChange {
    // A work-chat channel's sealed secret and webhook address (it carries the robot's key): the fact alone.
    if let Some(field) = name
        .strip_suffix("_hash")
        .or(["secret", "endpoint"].contains(&name).then_some(name))
    {
        return FieldChange {
            field: field.to_owned(),
            was: None,
            became: None,
            secret: true,
        };
    }
    let mask: fn(&str) -> String = match name {
        "phone" | "mobile" => mask_phone,
        "email" => mask_email,
        "wechat" | "id_number" => |_| "***".to_owned(),
        _ => {
            return FieldChange {
                field: name.to_owned(),
                was,
                became,
                secret: false,
            };
        }
    };
    let masked = |v: Option<Value>| v.map(|v| v.as_str().map_or(v.clone(), |s| Value::String(mask(s))));
    FieldChange {
        field: name.to_owned(),
        was: masked(was),
        became: masked(became),
        secret: false,
    }
}

/// A column's value as JSON (dates as `YYYY-MM-DD`, timestamps RFC 3339, bytes by their length).
fn json_of(v: &sea_orm::Value) -> Value {
    use sea_orm::Value as V;
    match v {
        V::Bytes(Some(b)) => json!(format!("{} bytes", b.len())),
        V::ChronoDate(Some(d)) => json!(d.to_string()),
        V::ChronoDateTimeUtc(Some(t)) => json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        V::ChronoDateTimeWithTimeZone(Some(t)) => {
            json!(t.with_timezone(&Utc).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        }
        V::ChronoDateTime(Some(t)) => json!(t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        other => sea_orm::sea_query::value::sea_value_to_json_value(other),
    }
}

/// Which rows of the audit log to read.
#[derive(Debug, Default, PartialEq)]
pub struct Filter {
    /// Rows of this user id.
    pub user_id: Option<i64>,
    /// Rows of this username.
    pub username: Option<String>,
    /// Kind of record.
    pub entity: Option<String>,
    /// The record's id.
    pub entity_id: Option<i64>,
    /// Action.
    pub action: Option<String>,
    /// From this time on (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Up to this time (inclusive).
    pub to: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: Option<Outcome>,
}

/// How the action an entry records ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Done,
    /// Refused: a failed sign-in, a request refused (403) or hidden (404) for want of the right or the scope.
    Refused,
}

/// The actions that record a refusal.
pub const REFUSALS: [&str; 2] = ["refused", "login_failure"];

/// The audit log as `actor` may read it: all of it, searched, for the auditor (and the admin unless duties are
/// separated); only their own entries, unsearched, for an admin when duties are separated; nothing for anyone else.
pub async fn read(
    db: &impl ConnectionTrait,
    actor: &Actor,
    f: Filter,
    paging: Paging,
) -> AppResult<Page<audit_entry::Model>> {
    if actor.can(Need::Audit) {
        return list(db, f, paging).await;
    }
    actor.require(Need::Admin)?;
    if f != Filter::default() {
        return Err(AppError::Forbidden {
            code: Code::Forbidden,
            msg: Msg::new(
                "with duties separated, an admin reads only their own audit entries and cannot search the log",
                "三员分立下,系统管理员只能查看本人的操作记录,不能检索审计日志",
            ),
        });
    }
    let own = Filter {
        user_id: Some(actor.user_id),
        ..Filter::default()
    };
    list(db, own, paging).await
}

/// Verifies the audit trail's chain for the auditor (and the admin unless duties are separated); the check is
/// itself recorded.
pub async fn verification(db: &sea_orm::DatabaseConnection, actor: &Actor) -> AppResult<chain::Verdict> {
    actor.require(Need::Audit)?;
    let v = chain::verify(db, None).await?;
    let detail = json!({ "checked": v.checked, "pending": v.pending, "problem": v.problem });
    event(db, "audit_verify", None, Some(detail)).await?;
    Ok(v)
}

/// A page of the audit log, newest first.
pub async fn list(db: &impl ConnectionTrait, f: Filter, paging: Paging) -> AppResult<Page<audit_entry::Model>> {
    let mut s = audit_entry::Entity::find();
    if let Some(v) = f.user_id {
        s = s.filter(audit_entry::Column::UserId.eq(v));
    }
    if let Some(v) = f.username {
        s = s.filter(audit_entry::Column::Username.eq(v));
    }
    if let Some(v) = f.entity {
        s = s.filter(audit_entry::Column::Entity.eq(v));
    }
    if let Some(v) = f.entity_id {
        s = s.filter(audit_entry::Column::EntityId.eq(v));
    }
    if let Some(v) = f.action {
        s = s.filter(audit_entry::Column::Action.eq(v));
    }
    if let Some(v) = f.from {
        s = s.filter(audit_entry::Column::At.gte(v));
    }
    if let Some(v) = f.to {
        s = s.filter(audit_entry::Column::At.lte(v));
    }
    match f.outcome {
        Some(Outcome::Refused) => s = s.filter(audit_entry::Column::Action.is_in(REFUSALS)),
        Some(Outcome::Done) => s = s.filter(audit_entry::Column::Action.is_not_in(REFUSALS)),
        None => {}
    }
    paging.rows(db, s, Order(&[(audit_entry::Column::Id, Dir::Desc)])).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_a_fact_and_contacts_are_masked() {
        let s = shown("password_hash", Some(json!("$argon2…")), Some(json!("$argon2…x")));
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"field": "password", "secret": true})
        );
        let p = shown("phone", Some(json!("13812345678")), None);
        assert_eq!(p.was, Some(json!(mask_phone("13812345678"))));
        assert_ne!(p.was, Some(json!("13812345678")));
        let n = shown("name", None, Some(json!("星河")));
        assert_eq!(
            serde_json::to_value(&n).unwrap(),
            json!({"field": "name", "became": "星河"})
        );
    }
}
