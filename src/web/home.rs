//! 工作台: the year's KPIs beside last year's and the targets, the year's project funnel and months as charts, this
//! week's signings, landings, starts and productions, and the user's open blockers and stale projects.

use chrono::{Datelike, Duration};
use entity::enums::{BlockerStatus, Label, ProjectStage};
use minijinja::context;
use poem::{
    IntoResponse, Response, handler,
    web::{Data, Query},
};

use super::{Staff, WebState, group, me, render};
use crate::service::{
    AppError, Need, Paging, analytics,
    blockers::{self, BlockerFilter},
    input::today,
    projects,
};

/// The home page's query: the year whose figures to show (`period=2024`; this year by default) and the day to
/// measure on (`as_of`; default: the year's end, or today while it runs). `year=` as the older links wrote it moves
/// to `period=`.
#[derive(serde::Deserialize, serde::Serialize)]
pub struct HomeQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    year: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    period: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    as_of: Option<String>,
}

/// The key figures a staffer's home shows before 更多.
const KEY_FIGURES: [&str; 6] = [
    "visit_batches",
    "person_times",
    "projects_negotiating",
    "projects_signed",
    "signed_investment",
    "funds_arrived",
];

/// The home page.
#[handler]
pub async fn page(staff: Staff, state: Data<&WebState>, Query(q): Query<HomeQuery>) -> poem::Result<Response> {
    // The security administrator and the auditor read no records: their work is elsewhere.
    if !staff.actor.can(Need::Read) {
        let to = if staff.actor.can(Need::Users) {
            "/admin/users"
        } else {
            "/system"
        };
        return Ok(poem::web::Redirect::see_other(to).into_response());
    }
    if let (Some(y), None) = (q.year, &q.period) {
        let moved = HomeQuery {
            year: None,
            period: Some(y.to_string()),
            as_of: q.as_of,
        };
        return Ok(super::reports::to_address("/", &moved));
    }
    let db = &state.db;
    let today = today();
    let asked = match super::form::opt(&q.period) {
        Some(p) => Some(
            jobs::period::Period::parse(p)
                .map_err(|_| AppError::invalid("period", "period: a year", "期间应为年份,如 2024"))?
                .from
                .year(),
        ),
        None => None,
    };
    let year = asked.unwrap_or(today.year()).clamp(1990, today.year());
    // A past year is shown as it ended; this year as of today; or as of the day asked.
    let end = chrono::NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(today);
    let as_of = match super::form::date("as_of", &q.as_of)? {
        Some(d) => d.min(today),
        None => end.min(today),
    };
    let seen = crate::service::scope::seen(db, &staff.actor).await?;
    let whole_year = jobs::period::Period::parse(&year.to_string()).map_err(|e| AppError::Internal(e.into()))?;
    let empty = super::period::empty_notice(db, &seen, &whole_year, |p| format!("/?period={}", &p.label[..4])).await?;
    // The parts are independent: the database works on the others while the figures are computed.
    let (dash, news, (agenda, stale), (blockers, own_blockers)) = tokio::try_join!(
        analytics::dashboard(&state.reads, year, as_of, &seen),
        this_week(db, today, &seen.visible),
        due(db, &staff, (today, &seen.visible), state.stale_days),
        blocker_list(db, &staff, seen.visible.clone()),
    )?;
    let (mut chart, inverted) = super::analytics::funnel_chart(&dash.funnel);
    chart["months"] = serde_json::json!(dash.months);
    let ctx = context! {
        me => me(&staff), menu => "home", as_of => as_of.to_string(), year,
        years => (year_range_start(today.year())..=today.year()).rev().collect::<Vec<_>>(),
        kpis => dash.kpis.lines().iter().map(line).collect::<Vec<_>>(), key_figures => KEY_FIGURES,
        todo_first => staff.actor.role == entity::enums::Role::Staff, empty,
        targets => dash.kpis.targets.iter().map(|t| context! {
            metric => t.metric.label(), target => super::target_figure(t.target), actual => super::target_figure(t.actual),
            progress => t.progress.map(|p| (p * 1000.0).round() / 10.0),
            time_progress => (t.time_progress * 1000.0).round() / 10.0,
        }).collect::<Vec<_>>(),
        chart_data => super::script_json(&chart), inverted,
        news, stale, stale_days => state.stale_days, blockers, own_blockers,
        agenda => (!agenda.is_empty()).then_some(minijinja::value::Serde(agenda)),
        within => seen.within,
    };
    Ok(render("home.html", ctx)?.into_response())
}

/// This week's signings, landings, starts and productions.
async fn this_week(
    db: &sea_orm::DatabaseConnection,
    today: chrono::NaiveDate,
    visible: &crate::service::scope::Visible,
) -> crate::service::AppResult<Vec<minijinja::Value>> {
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let stages = [
        ProjectStage::Signed,
        ProjectStage::Landed,
        ProjectStage::Started,
        ProjectStage::Producing,
    ];
    Ok(projects::events_after(db, (Some(monday), Some(today), visible), &stages, 0, 1000)
        .await?
        .into_iter()
        .map(|(e, name)| context! { project_id => e.project_id, name, stage => e.stage.label(), on => e.occurred_on.to_string() })
        .collect())
}

/// The user's agenda, and the ten quietest projects they see for someone with nothing of their own due.
async fn due(
    db: &sea_orm::DatabaseConnection,
    staff: &Staff,
    (today, visible): (chrono::NaiveDate, &crate::service::scope::Visible),
    stale_days: i64,
) -> crate::service::AppResult<(jobs::reminders::Agenda, Vec<minijinja::Value>)> {
    let agenda = crate::service::people::agenda(db, &staff.actor, Some(today), stale_days).await?;
    let stale = if agenda.is_empty() {
        jobs::weekly::stale_projects(db, (today, stale_days), (visible, Some(10)))
            .await
            .map_err(crate::service::AppError::Internal)?
    } else {
        Vec::new()
    };
    let stale = stale
        .into_iter()
        .map(|p| context! { id => p.id, name => p.name, stage => p.stage.label(), days => p.days_since_follow_up })
        .collect();
    Ok((agenda, stale))
}

/// The open blockers the user coordinates as leader (whether there are any), else the overdue ones; eight at most.
async fn blocker_list(
    db: &sea_orm::DatabaseConnection,
    staff: &Staff,
    visible: crate::service::scope::Visible,
) -> crate::service::AppResult<(Vec<minijinja::Value>, bool)> {
    let mine = BlockerFilter {
        visible: visible.clone(),
        assigned_leader: Some(staff.actor.display_name.clone()),
        ..Default::default()
    };
    // Uncounted: the page shows the blockers, not how many there are (a count of the park's overdue ones read
    // every one of them).
    let mut open: Vec<_> = blockers::list(db, mine, Paging::new(Some(1), Some(200))?.uncounted())
        .await?
        .items
        .into_iter()
        .filter(|b| b.blocker.status != BlockerStatus::Resolved)
        .collect();
    let own_blockers = !open.is_empty();
    if !own_blockers {
        let overdue = BlockerFilter {
            visible,
            overdue: Some(true),
            ..Default::default()
        };
        open = blockers::list(db, overdue, Paging::new(Some(1), Some(8))?.uncounted())
            .await?
            .items;
    }
    let blockers: Vec<_> = open
        .iter()
        .take(8)
        .map(|b| {
            context! {
                id => b.blocker.id, title => b.blocker.title.clone(), project => b.project_name.clone(),
                project_id => b.blocker.project_id, due => b.blocker.due_date.map(|d| d.to_string()), overdue => b.overdue,
                status => b.blocker.status.label(),
            }
        })
        .collect();
    Ok((blockers, own_blockers))
}

/// The first year the year picker offers: the records of the last ten years at most.
fn year_range_start(this_year: i32) -> i32 {
    this_year - 9
}

/// One KPI line for the template: label, value, last year's and the growth.
pub(super) fn line(l: &jobs::analytics::KpiLine<'_>) -> minijinja::Value {
    use jobs::analytics::Figures;
    match l.figures {
        Figures::Count(c) => context! {
            key => l.key, label => l.label, value => c.value.to_string(), previous => c.previous.to_string(),
            growth => c.growth_pct, money => false,
        },
        Figures::Money(m) | Figures::Dollars(m) => context! {
            key => l.key, label => l.label, value => group(&m.value.round_dp(2).to_string()),
            previous => group(&m.previous.round_dp(2).to_string()),
            growth => m.growth_pct, money => true,
        },
    }
}
