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
    QueryOrder,
};
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    Actor, AppResult, Kind, Page, Paging,
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
    /// How many entries were written within it.
    written: Arc<AtomicUsize>,
}

impl Context {
    /// A context for one request, command or job run.
    pub fn new(door: Door, path: impl Into<String>, client_addr: Option<String>) -> Context {
        Context {
            door,
            caller: Caller::default(),
            client_addr,
            path: path.into(),
            written: Arc::default(),
        }
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
pub async fn write(db: &impl ConnectionTrait, mut e: Entry) -> AppResult<()> {
    let ctx = current();
    if let Some(ctx) = &ctx {
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
    let door: &'static str = e.door.or(ctx.as_ref().map(|c| c.door)).map_or("", Into::into);
    let fields: Vec<&str> = e.changes.iter().map(|c| c.field.as_str()).collect();
    audit_entry::Entity::insert(audit_entry::ActiveModel {
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
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
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
    if let Some(field) = name.strip_suffix("_hash") {
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
#[derive(Debug, Default)]
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
}

/// A page of the audit log, newest first.
pub async fn list(db: &impl ConnectionTrait, f: Filter, paging: Paging) -> AppResult<Page<audit_entry::Model>> {
    let mut s = audit_entry::Entity::find().order_by_desc(audit_entry::Column::Id);
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
    paging.rows(db, s).await
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
