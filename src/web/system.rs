//! 系统日志 (admins only): the audit log (filter by user, action, kind of record and day), the mail outbox (status,
//! attempts, last error) and the jobs (schedule, next slot, runs with every attempt). Read-only views of
//! `/api/v1/audit`, `/api/v1/outbox` and `/api/v1/jobs/runs`.

use chrono::{DateTime, NaiveDate, Utc};
use minijinja::{Value, context};
use poem::{
    handler,
    web::{Data, Html, Query},
};
use serde::{Deserialize, Serialize};

use super::{
    Staff, WebState,
    form::{date, opt},
    local_time, me, pager_base, render, val,
};
use crate::service::{
    AppResult, Need, Paging,
    audit::{self, Filter},
    input::LOCAL_TZ,
    jobs,
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
    status: Option<String>,
    job: Option<String>,
    page: Option<u64>,
}

const PER_PAGE: u64 = 30;

/// The first instant of a local day, in UTC.
fn start_of(d: NaiveDate) -> Option<DateTime<Utc>> {
    d.and_hms_opt(0, 0, 0)?
        .and_local_timezone(LOCAL_TZ)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

async fn audit_tab(state: &WebState, q: &SystemQuery, paging: Paging) -> AppResult<Value> {
    let text = |v: &Option<String>| opt(v).map(str::to_owned);
    let f = Filter {
        username: text(&q.username),
        action: text(&q.action),
        entity: text(&q.entity),
        from: date("from", &q.from)?.and_then(start_of),
        to: date("to", &q.to)?
            .and_then(|d| start_of(d.succ_opt()?))
            .map(|t| t - chrono::Duration::microseconds(1)),
        ..Default::default()
    };
    let rows = audit::list(&state.db, f, paging).await?;
    Ok(context! {
        total => rows.total,
        rows => rows.items.iter().map(|e| context! {
            at => local_time(e.at), user => e.username.clone(), action => e.action.clone(), entity => e.entity.clone(),
            id => e.entity_id, path => e.path.clone(), addr => e.client_addr.clone(),
            fields => val(&e.fields), detail => e.detail.as_ref().map(|d| d.to_string()),
        }).collect::<Vec<_>>(),
    })
}

async fn outbox_tab(state: &WebState, q: &SystemQuery, paging: Paging) -> AppResult<Value> {
    let rows = jobs::outbox(&state.db, opt(&q.status).map(str::to_owned), paging).await?;
    Ok(context! {
        total => rows.total,
        rows => rows.items.iter().map(|m| context! {
            created => local_time(m.created_at), kind => m.kind.clone(), to => m.recipient.clone(),
            subject => m.subject.clone(), status => m.status.clone(), attempts => m.attempts,
            error => m.last_error.clone(), sent => m.sent_at.map(local_time),
        }).collect::<Vec<_>>(),
    })
}

async fn jobs_tab(state: &WebState, q: &SystemQuery, paging: Paging) -> AppResult<Value> {
    let schedule: Vec<Value> = jobs::schedule(&state.db, &state.schedules)
        .into_iter()
        .map(|j| context! { name => j.name, cron => j.cron, next => j.next_run.ok().map(local_time) })
        .collect();
    let rows = jobs::runs(&state.db, opt(&q.job).map(str::to_owned), paging).await?;
    Ok(context! {
        schedule, total => rows.total,
        rows => rows.items.iter().map(|v| {
            let r = &v.run;
            context! {
                job => r.job.clone(), slot => local_time(r.scheduled_for), trigger => r.trigger.clone(),
                status => r.status.clone(), attempts => v.attempts.len(), started => local_time(r.started_at),
                seconds => r.finished_at.map(|f| (f - r.started_at).num_milliseconds() as f64 / 1000.0),
                error => r.error.clone(),
            }
        }).collect::<Vec<_>>(),
    })
}

/// 系统日志.
#[handler]
pub async fn page(staff: Staff, state: Data<&WebState>, Query(q): Query<SystemQuery>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Admin)?;
    let page = q.page.unwrap_or(1).max(1);
    let paging = Paging::new(Some(page), Some(PER_PAGE))?;
    let tab = match opt(&q.tab) {
        Some("outbox") => "outbox",
        Some("jobs") => "jobs",
        _ => "audit",
    };
    let data = match tab {
        "outbox" => outbox_tab(&state, &q, paging).await?,
        "jobs" => jobs_tab(&state, &q, paging).await?,
        _ => audit_tab(&state, &q, paging).await?,
    };
    let ctx = context! {
        me => me(&staff), menu => "system", tab, data, q => val(&q), base => pager_base(&q), page,
        per_page => PER_PAGE,
    };
    render("system.html", ctx)
}
