//! 系统日志: the audit log (the auditor's, and the admin's unless duties are separated: filter by user, action, kind of
//! record, outcome and day; each entry with its changes and a link to its record; the chain verified on demand), the mail outbox (status,
//! attempts, last error; a failed message sent again), the jobs (schedule, next slot, runs with every attempt; a job
//! run now), the backups (where they go, the list with sizes, the last run's failure; 立即备份) and the API tokens (issued for a user with scopes and an expiry, the secret shown once; revoked).

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{Label, TokenScope};
use minijinja::{Value, context};
use poem::{
    IntoResponse, Response, handler,
    web::{Data, Html, Path, Query},
};
use sea_orm::ActiveEnum;
use serde::{Deserialize, Serialize};
use strum::IntoEnumIterator;

use super::{
    Staff, WebState, choice,
    form::{self, date, opt},
    list_page, local_time, me, page_error, pager_base, refresh, render, saved, val,
};
use crate::{
    edge::audit::WriteTx,
    service::{
        AppError, AppResult, Kind, Need, Paging, accounts,
        audit::{self, Filter},
        input::{LOCAL_TZ, today},
        jobs, tokens,
    },
};

/// The tab, its filters and page.
#[derive(Deserialize, Serialize, Default)]
pub struct SystemQuery {
    tab: Option<String>,
    username: Option<String>,
    action: Option<String>,
    entity: Option<String>,
    from: Option<String>,
    to: Option<String>,
    outcome: Option<String>,
    status: Option<String>,
    job: Option<String>,
    page: Option<u64>,
    after: Option<String>,
}

const PER_PAGE: u64 = 30;

/// The first instant of a local day, in UTC.
fn start_of(d: NaiveDate) -> Option<DateTime<Utc>> {
    d.and_hms_opt(0, 0, 0)?
        .and_local_timezone(LOCAL_TZ)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

async fn audit_tab(state: &WebState, staff: &Staff, q: &SystemQuery, paging: Paging) -> AppResult<Value> {
    let text = |v: &Option<String>| opt(v).map(str::to_owned);
    // An admin whose duties are separated reads only their own entries, unsearched.
    let searched = staff.actor.can(Need::Audit);
    let f = if searched {
        Filter {
            username: text(&q.username),
            action: text(&q.action),
            entity: text(&q.entity),
            outcome: match opt(&q.outcome) {
                Some("done") => Some(audit::Outcome::Done),
                Some("refused") => Some(audit::Outcome::Refused),
                _ => None,
            },
            from: date("from", &q.from)?.and_then(start_of),
            to: date("to", &q.to)?
                .and_then(|d| start_of(d.succ_opt()?))
                .map(|t| t - chrono::Duration::microseconds(1)),
            ..Default::default()
        }
    } else {
        Filter::default()
    };
    let rows = audit::read(&state.db, &staff.actor, f, paging).await?;
    let kinds: Vec<Value> = Kind::iter()
        .filter(|k| !matches!(k, Kind::Route | Kind::Snapshot | Kind::ImportDataset))
        .map(|k| context! { value => k.name(), label => k.zh() })
        .collect();
    Ok(context! {
        total => rows.total, next => rows.next.clone(), searched, kinds,
        rows => val(&super::changes::entries(&state.db, rows.items).await?),
    })
}

/// Verifies the audit trail's chain now and shows the verdict.
#[handler]
pub async fn verify_audit(staff: Staff, state: Data<&WebState>) -> poem::Result<Html<String>> {
    let v = audit::verification(&state.db, &staff.actor).await?;
    let ctx = context! { ok => v.problem.is_none(), checked => v.checked, pending => v.pending, problem => v.problem };
    render("audit_verify.html", ctx)
}

async fn outbox_tab(state: &WebState, q: &SystemQuery, paging: Paging) -> AppResult<Value> {
    use sea_orm::{EntityTrait, QuerySelect};
    let rows = jobs::outbox(&state.db, choice("status", &q.status)?, paging).await?;
    // A chat message's recipient is its channel (and the chat user ids of an application's).
    let channels: std::collections::HashMap<i64, String> = entity::channel::Entity::find()
        .select_only()
        .columns([entity::channel::Column::Id, entity::channel::Column::Name])
        .into_tuple()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    let to = |m: &entity::outbox::Model| match m.channel_id {
        None => m.recipient.clone(),
        Some(c) => {
            let name = channels.get(&c).map_or("(已删除的通道)", String::as_str);
            match m.recipient.as_str() {
                "" => format!("消息推送:{name}"),
                people => format!("消息推送:{name} → {}", people.replace('|', "、")),
            }
        }
    };
    Ok(context! {
        total => rows.total, next => rows.next.clone(),
        rows => rows.items.iter().map(|m| context! {
            id => m.id, created => local_time(m.created_at), kind => m.kind.clone(), to => to(m),
            subject => m.subject.clone(), status => m.status.to_value(), attempts => m.attempts,
            error => m.last_error.clone(), sent => m.sent_at.map(local_time),
        }).collect::<Vec<_>>(),
    })
}

async fn jobs_tab(state: &WebState, q: &SystemQuery, paging: Paging) -> AppResult<Value> {
    let schedule: Vec<Value> = jobs::schedule(&state.db, &state.jobs)
        .into_iter()
        .map(|j| context! { name => j.name, cron => j.cron, next => j.next_run.ok().map(local_time) })
        .collect();
    let rows = jobs::runs(&state.db, opt(&q.job).map(str::to_owned), paging).await?;
    Ok(context! {
        schedule, total => rows.total, next => rows.next.clone(),
        rows => rows.items.iter().map(|v| {
            let r = &v.run;
            context! {
                job => r.job.clone(), slot => local_time(r.scheduled_for), trigger => r.trigger.clone(),
                status => r.status.to_value(), attempts => v.attempts.len(), started => local_time(r.started_at),
                seconds => r.finished_at.map(|f| (f - r.started_at).num_milliseconds() as f64 / 1000.0),
                error => r.error.clone(),
            }
        }).collect::<Vec<_>>(),
    })
}

/// A schedule for people: `每天 02:00` for a daily cron string, else the string.
fn when(cron: &str) -> String {
    let f: Vec<&str> = cron.split_whitespace().collect();
    match f.as_slice() {
        [s, m, h, "*", "*", "*"] if [s, m, h].iter().all(|v| v.parse::<u8>().is_ok()) => {
            format!("每天 {h:0>2}:{m:0>2}")
        }
        _ => format!("时间表 {cron}"),
    }
}

/// A size for people: 1.2 MB, 340 KB.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b => format!("{} KB", b.div_ceil(1024)),
    }
}

async fn backups_tab(state: &WebState) -> AppResult<Value> {
    let plan = &state.jobs.backup;
    let (rows, error) = match plan.list().await {
        Ok(rows) => (rows, None),
        Err(e) => (Vec::new(), Some(format!("{e:#}"))),
    };
    let last = jobs::runs(&state.db, Some("backup".into()), Paging::new(Some(1), Some(1))?)
        .await?
        .items
        .into_iter()
        .next()
        .map(|v| {
            let r = v.run;
            context! { status => r.status.to_value(), error => r.error, started => local_time(r.started_at) }
        });
    let c = &plan.config;
    Ok(context! {
        place => plan.place(), when => when(&state.jobs.schedules.backup), error, last,
        keep_daily => c.keep_daily, keep_weekly => c.keep_weekly, keep_monthly => c.keep_monthly,
        rows => rows.iter().map(|b| context! {
            name => b.name.clone(), taken => local_time(b.taken_at), size => size(b.bytes),
        }).collect::<Vec<_>>(),
    })
}

/// 系统日志.
#[handler]
pub async fn page(staff: Staff, state: Data<&WebState>, Query(q): Query<SystemQuery>) -> poem::Result<Html<String>> {
    let (page, paging) = list_page(q.page, q.after.as_deref(), PER_PAGE)?;
    let tab = match opt(&q.tab) {
        Some("outbox") => "outbox",
        Some("jobs") => "jobs",
        Some("tokens") => "tokens",
        Some("backups") => "backups",
        _ => "audit",
    };
    if tab != "audit" || !staff.actor.can(Need::Audit) {
        staff.actor.require(Need::Admin)?;
    }
    let data = match tab {
        "outbox" => outbox_tab(&state, &q, paging).await?,
        "tokens" => tokens_tab(&state, paging).await?,
        "jobs" => jobs_tab(&state, &q, paging).await?,
        "backups" => backups_tab(&state).await?,
        _ => audit_tab(&state, &staff, &q, paging).await?,
    };
    let ctx = context! {
        me => me(&staff), menu => "system", tab, data, q => val(&q), base => pager_base(&q), page,
        per_page => PER_PAGE,
    };
    render("system.html", ctx)
}

/// The last day a token works: its expiry is the midnight (Asia/Shanghai) after it.
fn last_day(expires_at: DateTime<Utc>) -> String {
    (expires_at.with_timezone(&LOCAL_TZ) - chrono::Duration::seconds(1))
        .date_naive()
        .to_string()
}

async fn tokens_tab(state: &WebState, paging: Paging) -> AppResult<Value> {
    let users: std::collections::HashMap<i64, String> = accounts::all_users(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, format!("{}({})", u.display_name, u.username)))
        .collect();
    let rows = tokens::list(&state.db, None, paging).await?;
    let now = chrono::Utc::now();
    Ok(context! {
        total => rows.total, next => rows.next.clone(),
        rows => rows.items.iter().map(|t| context! {
            id => t.id, name => t.name.clone(), user => users.get(&t.user_id).cloned(),
            scopes => tokens::scopes(&t.scopes).into_iter().map(Label::label).collect::<Vec<_>>().join("、"),
            expires => last_day(t.expires_at), created => local_time(t.created_at),
            used => t.last_used_at.map(local_time), revoked => t.revoked_at.map(local_time),
            expired => t.expires_at <= now,
        }).collect::<Vec<_>>(),
    })
}

/// Sends a failed message again; the page reloads.
#[handler]
pub async fn resend(staff: Staff, tx: WriteTx, Path(id): Path<i64>) -> poem::Result<Response> {
    staff.actor.require(Need::Admin)?;
    jobs::resend(tx.get().await?, id).await?;
    Ok(saved(refresh(), "已重新排队发送"))
}

/// Starts a job now; the page reloads and shows its run.
#[handler]
pub async fn run_job(staff: Staff, state: Data<&WebState>, Path(name): Path<String>) -> poem::Result<Response> {
    staff.actor.require(Need::Admin)?;
    jobs::start_now(&state.db, &state.jobs, &name).await?;
    // A short wait lets the run's row appear before the page reloads.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    Ok(saved(refresh(), "任务已运行"))
}

/// The token form; `scopes` repeats, one per box ticked.
#[derive(Deserialize, Serialize, Default)]
pub struct TokenForm {
    user_id: Option<String>,
    name: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    expires_on: Option<String>,
}

impl TokenForm {
    fn parse(&self) -> AppResult<tokens::NewToken> {
        let mut scopes = Vec::new();
        for v in &self.scopes {
            scopes.extend(super::choice::<TokenScope>("scopes", &Some(v.clone()))?);
        }
        Ok(tokens::NewToken {
            user_id: form::int("user_id", &self.user_id)?
                .ok_or_else(|| AppError::invalid("user_id", "user_id is required", "请选择用户"))?,
            name: form::required("name", &self.name)?,
            scopes,
            expires_on: form::required_date("expires_on", &self.expires_on)?,
        })
    }
}

async fn token_dialog(db: &impl sea_orm::ConnectionTrait, staff: &Staff, f: &TokenForm) -> AppResult<Value> {
    let users: Vec<Value> = accounts::all_users(db)
        .await?
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| context! { value => u.id.to_string(), label => format!("{}({})", u.display_name, u.username) })
        .collect();
    let scopes: Vec<Value> = TokenScope::labels()
        .into_iter()
        .map(|(value, label)| context! { checked => f.scopes.contains(&value), value, label })
        .collect();
    Ok(context! { me => me(staff), f => val(f), users, scopes })
}

/// 签发令牌 dialog.
#[handler]
pub async fn new_token_dialog(staff: Staff, state: Data<&WebState>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Admin)?;
    let f = TokenForm {
        scopes: vec![TokenScope::Read.to_value()],
        expires_on: Some((today() + chrono::Duration::days(90)).to_string()),
        ..Default::default()
    };
    render("token_form.html", token_dialog(&state.db, &staff, &f).await?)
}

/// Issues a token and shows its secret, this once.
#[handler]
pub async fn issue_token(staff: Staff, tx: WriteTx, body: String) -> poem::Result<Response> {
    staff.actor.require(Need::Admin)?;
    let f: TokenForm = form::repeated(&body)?;
    let done = async { tokens::issue(tx.get().await?, &staff.actor, f.parse()?).await }.await;
    match done {
        Ok((secret, m)) => {
            let ctx = context! { me => me(&staff), secret, name => m.name, expires => last_day(m.expires_at) };
            Ok(render("token_issued.html", ctx)?.into_response())
        }
        Err(e) => page_error(e, "token_form.html", token_dialog(tx.get().await?, &staff, &f).await?),
    }
}

/// Revokes a token; the page reloads.
#[handler]
pub async fn revoke_token(staff: Staff, tx: WriteTx, Path(id): Path<i64>) -> poem::Result<Response> {
    staff.actor.require(Need::Admin)?;
    tokens::revoke(tx.get().await?, id).await?;
    Ok(saved(refresh(), "令牌已撤销"))
}
