//! The weekly summary e-mail to leaders (docs/ARCHITECTURE.md): the week's and the year-to-date KPIs with year-on-year growth
//! and target progress, the year-to-date flow funnel (also drawn as an inline PNG), the week's newly signed, landed,
//! started and producing projects, the leader's own projects, all overdue blockers and projects without a follow-up
//! for a while; HTML with a plain-text alternative and an XLSX attachment. One outbox row per recipient, all in one
//! transaction: if any query fails, nothing is queued.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate};
use entity::{
    blocker,
    enums::{BlockerStatus, Label, ProjectStage, Role},
    follow_up,
    pipeline::Stage,
    project, user,
    visible::Visible,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, TransactionTrait,
    sea_query::{Alias, Expr},
};
use serde::Serialize;

use crate::{
    analytics::{self, Analytics, Compare, Figures, Funnel, FunnelKind, Kpis, Pipeline, Scope},
    outbox::{self, Attachment, Mail},
    period::Period,
    runner::Ctx,
};

mod attachments;
mod chat;

pub use chat::preview as chat_preview;

pub use attachments::chart;
use attachments::workbook;

/// The last full ISO week before `as_of` (a Monday run reports the week that just ended).
pub fn last_full_week(as_of: NaiveDate) -> Period {
    let w = (as_of - Duration::days(7)).iso_week();
    Period::parse(&format!("{}-W{:02}", w.year(), w.week())).expect("an ISO week")
}

#[derive(Serialize, Clone)]
struct Row {
    label: String,
    value: String,
    yoy: String,
}

#[derive(Serialize, Clone)]
struct ProjectLine {
    name: String,
    stage: String,
    days_since_follow_up: Option<i64>,
    open_blockers: usize,
}

#[derive(Serialize, Clone)]
struct BlockerLine {
    project: String,
    title: String,
    leader: String,
    due: String,
    days_overdue: i64,
    overdue: bool,
}

/// Everything the templates show, except what is per leader.
struct Shared {
    week: Period,
    subject: String,
    week_rows: Vec<Row>,
    /// The week before's figures, for the changes the chat messages show.
    last_rows: Vec<Row>,
    ytd_rows: Vec<Row>,
    funnel: Funnel,
    news: Vec<(String, Vec<String>)>,
    open: Vec<BlockerLine>,
    stale_days: i64,
    stale: Vec<String>,
    targets: Vec<String>,
    /// Each project in the pipeline with its contact leader (a user).
    projects: Vec<(Option<i64>, ProjectLine)>,
    chart: Vec<u8>,
    /// Which records the figures count, when not all (数据权限).
    within: Option<String>,
}

fn yoy(c: &Compare) -> String {
    c.growth_pct.map_or("—".into(), |g| format!("{g:+.1}%"))
}

fn rows(k: &Kpis) -> Vec<Row> {
    let mut rows: Vec<Row> = k
        .lines()
        .into_iter()
        .map(|l| match l.figures {
            Figures::Count(c) => Row {
                label: l.label.into(),
                value: c.value.to_string(),
                yoy: yoy(c),
            },
            // Two decimals of 万元 (万美元) read well in a mail; the export keeps them exact.
            Figures::Money(c) | Figures::Dollars(c) => Row {
                label: l.label.into(),
                value: c.value.round_dp(2).normalize().to_string(),
                yoy: c.growth_pct.map_or("—".into(), |g| format!("{g:+.1}%")),
            },
        })
        .collect();
    rows.push(Row {
        label: "解决难题(个)".into(),
        value: k.blockers.resolved.to_string(),
        yoy: "—".into(),
    });
    rows
}

/// The subject, e.g. `【招商周报】2024年第21周(5月20日—5月26日)`.
pub fn subject(week: &Period) -> String {
    let w = week.from.iso_week();
    format!(
        "【招商周报】{}年第{}周({}月{}日—{}月{}日)",
        w.year(),
        w.week(),
        week.from.month(),
        week.from.day(),
        week.to.month(),
        week.to.day()
    )
}

/// The week's, the week before's and the year's KPIs, the year's flow funnel, and the ids of the projects newly
/// reaching each stage from `signed` on during the week.
type WeekFigures = (Kpis, Kpis, Kpis, Funnel, Vec<Vec<i64>>);

async fn figures(db: &DatabaseConnection, week: &Period, visible: &Visible) -> anyhow::Result<WeekFigures> {
    let end = week.to;
    let (w, last, y) = (
        week.clone(),
        week.previous(),
        Period::range(NaiveDate::from_ymd_opt(end.year(), 1, 1).expect("valid"), end)?,
    );
    let since = w
        .previous_year()
        .from
        .min(last.previous_year().from)
        .min(y.previous_year().from);
    let raw = analytics::load(db, end, Scope::Kpis(since), visible).await?;
    tokio::task::spawn_blocking(move || {
        analytics::on_pool(|| -> anyhow::Result<_> {
            let a = Analytics::build(raw)?;
            let news: Vec<Vec<i64>> = (2..ProjectStage::ORDER.len())
                .map(|k| a.projects_reaching(k, &w))
                .collect::<Result<_, _>>()?;
            Ok((
                a.kpis(&w)?,
                a.kpis(&last)?,
                a.kpis(&y)?,
                a.funnel(Pipeline::Projects, FunnelKind::Flow, &y, None)?,
                news,
            ))
        })
    })
    .await?
}

/// The date of each project's latest follow-up on or before `end`.
async fn last_follow_ups(db: &DatabaseConnection, end: NaiveDate) -> anyhow::Result<HashMap<i64, NaiveDate>> {
    let rows = db
        .query_all_raw(db.get_database_backend().build(&last_follow_ups_query(end)))
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
        .collect()
}

/// Each project's id (`project_id`) and the date of its latest follow-up on or before `end` (`last`).
fn last_follow_ups_query(end: NaiveDate) -> sea_orm::sea_query::SelectStatement {
    follow_up::Entity::find()
        .select_only()
        .column(follow_up::Column::ProjectId)
        .column_as(follow_up::Column::OccurredOn.max(), "last")
        .filter(follow_up::Column::OccurredOn.lte(end))
        .group_by(follow_up::Column::ProjectId)
        .into_query()
}

/// The blockers open at `end` of the projects seen, most overdue first, and how many each project has.
async fn open_blockers(
    db: &DatabaseConnection,
    (end, visible): (NaiveDate, &Visible),
    names: &HashMap<i64, String>,
) -> anyhow::Result<(Vec<BlockerLine>, HashMap<i64, usize>)> {
    let open: Vec<blocker::Model> = blocker::Entity::find()
        .filter(blocker::Column::Status.ne(BlockerStatus::Resolved))
        .filter(blocker::Column::OpenedOn.lte(end))
        .apply_if(visible.via_project(blocker::Column::ProjectId), QueryFilter::filter)
        .all(db)
        .await?;
    let mut per_project: HashMap<i64, usize> = HashMap::new();
    for b in &open {
        *per_project.entry(b.project_id).or_default() += 1;
    }
    let mut lines: Vec<BlockerLine> = open
        .iter()
        .map(|b| BlockerLine {
            project: names.get(&b.project_id).cloned().unwrap_or_default(),
            title: b.title.clone(),
            leader: b.assigned_leader.clone().unwrap_or_default(),
            due: b.due_date.map(|d| d.to_string()).unwrap_or_default(),
            days_overdue: b.due_date.map_or(0, |d| (end - d).num_days()),
            overdue: b.due_date.is_some_and(|d| d < end),
        })
        .collect();
    lines.sort_by_key(|b| std::cmp::Reverse(b.days_overdue));
    Ok((lines, per_project))
}

/// Each project's stage at the end of `end` (those with no event by then left out): the stored stage, which is that
/// of its latest event, for the projects with no event after `end`; from the history up to `end` for the few others.
async fn stages_at(db: &DatabaseConnection, end: NaiveDate) -> anyhow::Result<HashMap<i64, ProjectStage>> {
    let mut stages: HashMap<i64, ProjectStage> = project::Entity::find()
        .select_only()
        .columns([project::Column::Id, project::Column::Stage])
        .filter(project::Column::Id.not_in_subquery(moved_since(end)))
        .into_tuple::<(i64, ProjectStage)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    stages.extend(stages_of_moved(db, end).await?);
    Ok(stages)
}

/// The projects with a stage event dated after `end`.
fn moved_since(end: NaiveDate) -> sea_orm::sea_query::SelectStatement {
    use entity::stage_event;
    stage_event::Entity::find()
        .select_only()
        .column(stage_event::Column::ProjectId)
        .filter(stage_event::Column::OccurredOn.gt(end))
        .into_query()
}

/// The stage on `end` of each project moved after it ([`moved_since`]) that had begun by then: its latest event's.
async fn stages_of_moved(db: &DatabaseConnection, end: NaiveDate) -> anyhow::Result<HashMap<i64, ProjectStage>> {
    use entity::stage_event;
    let events: Vec<(i64, ProjectStage)> = stage_event::Entity::find()
        .select_only()
        .columns([stage_event::Column::ProjectId, stage_event::Column::Stage])
        .filter(stage_event::Column::ProjectId.in_subquery(moved_since(end)))
        .filter(stage_event::Column::OccurredOn.lte(end))
        .order_by_asc(stage_event::Column::OccurredOn)
        .order_by_asc(stage_event::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(events.into_iter().collect())
}

/// The target lines of the year so far.
fn target_lines(ytd: &Kpis) -> Vec<String> {
    ytd.targets
        .iter()
        .map(|t| {
            format!(
                "{}:完成{}/{},完成率{},时间进度{:.1}%",
                t.metric.label(),
                t.actual,
                t.target,
                t.progress.map_or("—".into(), |p| format!("{:.1}%", p * 100.0)),
                t.time_progress * 100.0
            )
        })
        .collect()
}

/// Whether a project at `stage` is still in the pipeline (not dropped, not yet producing; one not yet begun has no
/// stage and is not either).
fn in_pipeline(stage: ProjectStage) -> bool {
    !OUT_OF_PIPELINE.contains(&stage)
}

/// The stages out of the pipeline: dropped, or producing already.
const OUT_OF_PIPELINE: [ProjectStage; 2] = [ProjectStage::Dropped, ProjectStage::Producing];

/// Whether a project in the pipeline is stale: no follow-up ever, or none in the last `stale_days` days.
fn is_stale(days_since_follow_up: Option<i64>, stale_days: i64) -> bool {
    days_since_follow_up.is_none_or(|d| d > stale_days)
}

/// A project gone quiet.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct StaleProject {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its stage on the day asked about.
    pub stage: ProjectStage,
    /// Days since its last follow-up; none when it never had one.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub days_since_follow_up: Option<i64>,
}

/// The projects `visible` in the pipeline not moved since `as_of` (at their kept stage) with no follow-up by then, or
/// none since before `quiet_before`: those never followed up first, by id, then the longest quiet; the first `most`
/// of them when given.
async fn quiet_unmoved(
    db: &DatabaseConnection,
    (as_of, quiet_before): (NaiveDate, NaiveDate),
    (visible, most): (&Visible, Option<usize>),
) -> anyhow::Result<Vec<(i64, ProjectStage, Option<NaiveDate>)>> {
    use sea_orm::sea_query::ExprTrait;
    // The projects not moved since `as_of` are at their kept stage: the database picks the quiet ones and, when only
    // the first few are asked, those; the few moved since are judged by their stage on that day. Those never followed
    // up come first, by id: asked apart, the database walks the projects in that order and stops at the first few
    // instead of grouping every follow-up of the park and sorting every project.
    let unmoved = || {
        project::Entity::find()
            .select_only()
            .columns([project::Column::Id, project::Column::Stage])
            .filter(project::Column::Stage.is_not_in(OUT_OF_PIPELINE))
            .filter(project::Column::Id.not_in_subquery(moved_since(as_of)))
            .apply_if(visible.projects(), QueryFilter::filter)
    };
    let any_follow_up = follow_up::Entity::find()
        .select_only()
        .expr(Expr::val(1))
        .filter(
            Expr::col((follow_up::Entity, follow_up::Column::ProjectId)).equals((project::Entity, project::Column::Id)),
        )
        .filter(follow_up::Column::OccurredOn.lte(as_of))
        .into_query();
    let never: Vec<(i64, ProjectStage)> = unmoved()
        .filter(Expr::exists(any_follow_up).not())
        .order_by_asc(project::Column::Id)
        .apply_if(most, |q, n| q.limit(n as u64))
        .into_tuple()
        .all(db)
        .await?;
    let mut found: Vec<(i64, ProjectStage, Option<NaiveDate>)> =
        never.into_iter().map(|(id, stage)| (id, stage, None)).collect();
    let rest = most.map(|n| n.saturating_sub(found.len()));
    if rest != Some(0) {
        let f = Alias::new("f");
        let last_of = Expr::col((f.clone(), Alias::new("last")));
        let mut quiet = unmoved()
            .column_as(last_of.clone(), "last")
            .filter(last_of.clone().lt(quiet_before))
            .order_by_asc(last_of)
            .order_by_asc(project::Column::Id)
            .apply_if(rest, |q, n| q.limit(n as u64));
        QueryTrait::query(&mut quiet).join_subquery(
            JoinType::InnerJoin,
            last_follow_ups_query(as_of),
            f.clone(),
            Expr::col((f, Alias::new("project_id"))).equals((project::Entity, project::Column::Id)),
        );
        found.extend(
            quiet
                .into_tuple::<(i64, ProjectStage, Option<NaiveDate>)>()
                .all(db)
                .await?,
        );
    }
    Ok(found)
}

/// The projects `visible` in the pipeline on `as_of` with no follow-up in the `stale_days` days before it (the weekly
/// report's rule), longest quiet first; the first `most` of them when given.
pub async fn stale_projects(
    db: &DatabaseConnection,
    (as_of, stale_days): (NaiveDate, i64),
    (visible, most): (&Visible, Option<usize>),
) -> anyhow::Result<Vec<StaleProject>> {
    let quiet_before = as_of - Duration::days(stale_days);
    let mut found = quiet_unmoved(db, (as_of, quiet_before), (visible, most)).await?;
    let mut moved = stages_of_moved(db, as_of).await?;
    if let Some(seen) = visible.projects().filter(|_| !moved.is_empty()) {
        let seen: Vec<i64> = project::Entity::find()
            .select_only()
            .column(project::Column::Id)
            .filter(project::Column::Id.is_in(moved.keys().copied()))
            .filter(seen)
            .into_tuple()
            .all(db)
            .await?;
        moved.retain(|id, _| seen.contains(id));
    }
    if !moved.is_empty() {
        let last_follow = last_follow_ups(db, as_of).await?;
        found.extend(
            moved
                .into_iter()
                .map(|(id, stage)| (id, stage, last_follow.get(&id).copied())),
        );
    }
    let mut stale: Vec<StaleProject> = found
        .into_iter()
        .filter(|(_, stage, _)| in_pipeline(*stage))
        .filter_map(|(id, stage, last)| {
            let days = last.map(|d| (as_of - d).num_days());
            is_stale(days, stale_days).then(|| StaleProject {
                id,
                name: String::new(),
                stage,
                days_since_follow_up: days,
            })
        })
        .collect();
    stale.sort_by_key(|p| (std::cmp::Reverse(p.days_since_follow_up.unwrap_or(i64::MAX)), p.id));
    stale.truncate(most.unwrap_or(usize::MAX));
    // Only the names shown are read, a few of them by id; many by reading them all.
    let names = project::Entity::find()
        .select_only()
        .columns([project::Column::Id, project::Column::Name]);
    let names = if stale.len() <= 500 {
        names.filter(project::Column::Id.is_in(stale.iter().map(|p| p.id)))
    } else {
        names
    };
    let names: HashMap<i64, String> = names.into_tuple().all(db).await?.into_iter().collect();
    for p in &mut stale {
        p.name = names.get(&p.id).cloned().unwrap_or_default();
    }
    Ok(stale)
}

/// What the report shows everyone who sees `visible`, described by `within`.
async fn shared(
    db: &DatabaseConnection,
    (as_of, stale_days): (NaiveDate, i64),
    (visible, within): (&Visible, Option<String>),
) -> anyhow::Result<Shared> {
    let week = last_full_week(as_of);
    let end = week.to;
    let (kw, kl, ky, funnel, news) = figures(db, &week, visible).await?;
    let projects: Vec<(i64, String, Option<i64>)> = project::Entity::find()
        .select_only()
        .columns([
            project::Column::Id,
            project::Column::Name,
            project::Column::ContactLeaderId,
        ])
        .apply_if(visible.projects(), QueryFilter::filter)
        .into_tuple()
        .all(db)
        .await?;
    let names: HashMap<i64, String> = projects.iter().map(|(id, name, _)| (*id, name.clone())).collect();
    let news = news
        .into_iter()
        .enumerate()
        .map(|(i, ids)| {
            let label = format!("新{}", ProjectStage::ORDER[i + 2].label());
            (label, ids.iter().filter_map(|id| names.get(id).cloned()).collect())
        })
        .collect();
    let last_follow = last_follow_ups(db, end).await?;
    let (open_lines, open_per_project) = open_blockers(db, (end, visible), &names).await?;
    let stage_then = stages_at(db, end).await?;
    let mut stale = Vec::new();
    let mut lines = Vec::new();
    for (id, name, leader) in projects {
        let Some(stage) = stage_then.get(&id).filter(|s| in_pipeline(**s)) else {
            continue;
        };
        let days = last_follow.get(&id).map(|d| (end - *d).num_days());
        if is_stale(days, stale_days) {
            stale.push(name.clone());
        }
        lines.push((
            leader,
            ProjectLine {
                name,
                stage: stage.label().into(),
                days_since_follow_up: days,
                open_blockers: open_per_project.get(&id).copied().unwrap_or(0),
            },
        ));
    }
    Ok(Shared {
        subject: subject(&week),
        chart: chart(&funnel)?,
        week_rows: rows(&kw),
        last_rows: rows(&kl),
        ytd_rows: rows(&ky),
        targets: target_lines(&ky),
        funnel,
        news,
        open: open_lines,
        stale_days,
        stale,
        projects: lines,
        week,
        within,
    })
}

fn env() -> anyhow::Result<minijinja::Environment<'static>> {
    let mut env = minijinja::Environment::new();
    env.add_template("weekly.html", include_str!("../../templates/weekly.html.j2"))?;
    env.add_template("weekly.txt", include_str!("../../templates/weekly.txt.j2"))?;
    Ok(env)
}

/// The e-mail for one leader.
fn mail(
    s: &Shared,
    env: &minijinja::Environment,
    (id, name, to): &Recipient,
    web: Option<&str>,
) -> anyhow::Result<Mail> {
    let (name, to) = (name.as_str(), to.as_str());
    let mine: Vec<ProjectLine> = s
        .projects
        .iter()
        .filter(|(l, _)| *l == Some(*id))
        .map(|(_, p)| p.clone())
        .collect();
    let funnel: Vec<serde_json::Value> = s
        .funnel
        .stages
        .iter()
        .zip(ProjectStage::ORDER)
        .map(|(st, stage)| {
            serde_json::json!({
                "stage": stage.label(),
                "count": st.count,
                "conversion": st.conversion.map(|c| format!("{:.1}%", c * 100.0)).unwrap_or_else(|| "—".into()),
            })
        })
        .collect();
    let ctx = serde_json::json!({
        "subject": s.subject,
        "leader": name,
        "week": {"from": s.week.from.to_string(), "to": s.week.to.to_string()},
        "week_rows": s.week_rows,
        "ytd_rows": s.ytd_rows,
        "funnel": funnel,
        "news": s.news.iter().map(|(l, n)| serde_json::json!({"label": l, "names": n})).collect::<Vec<_>>(),
        "mine": mine,
        "overdue": s.open.iter().filter(|b| b.overdue).collect::<Vec<_>>(),
        "stale": s.stale,
        "stale_days": s.stale_days,
        "targets": s.targets,
        "within": s.within,
        // The week's page on 统计分析 (its funnel, figures and 客商来源地图), where the UI's address is known.
        "web": chat::page(s, web),
    });
    let value = minijinja::Value::from(minijinja::value::Serde(&ctx));
    let html = env.get_template("weekly.html")?.render(value.clone())?;
    let text = env.get_template("weekly.txt")?.render(value.clone())?;
    Ok(Mail {
        key: format!("weekly_report:{}:{to}", s.week.label),
        kind: "weekly_report".into(),
        to: to.into(),
        subject: s.subject.clone(),
        html,
        text,
        attachments: vec![
            Attachment {
                filename: "funnel.png".into(),
                content_type: "image/png".into(),
                content_id: Some("funnel".into()),
                data: s.chart.clone(),
            },
            Attachment {
                filename: format!("招商周报-{}.xlsx", s.week.label),
                content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
                content_id: None,
                data: workbook(s, &mine)?,
            },
        ],
    })
}

/// A leader who gets the report: user id, display name, e-mail address.
type Recipient = (i64, String, String);

/// The leaders who get the report (enabled, subscribed, with an e-mail address), with what each sees.
async fn recipients(db: &impl ConnectionTrait) -> anyhow::Result<Vec<(Recipient, user::Model)>> {
    Ok(user::Entity::find()
        .filter(user::Column::Role.eq(Role::Leader))
        .filter(user::Column::Disabled.eq(false))
        .filter(user::Column::WeeklyReport.eq(true))
        .filter(user::Column::Email.is_not_null())
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|u| Some(((u.id, u.display_name.clone(), u.email.clone()?), u)))
        .collect())
}

/// Builds the week's e-mails without queuing them (for previews); `only` picks one leader by name, `web` is the
/// UI's address the e-mails link to (none: no link). Each leader's report counts the records they see (数据权限):
/// the figures are computed once per distinct scope.
pub async fn build(
    db: &DatabaseConnection,
    as_of: NaiveDate,
    (only, web): (Option<&str>, Option<&str>),
    stale_days: i64,
) -> anyhow::Result<Vec<Mail>> {
    let env = env()?;
    let mut computed: Vec<(Visible, Shared)> = Vec::new();
    let mut mails = Vec::new();
    for (r, u) in recipients(db).await? {
        if only.is_some_and(|o| o != r.1) {
            continue;
        }
        let visible = Visible::of_user(db, &u).await?;
        let at = match computed.iter().position(|(v, _)| *v == visible) {
            Some(at) => at,
            None => {
                let within = visible.describe(db, &u).await?;
                let s = shared(db, (as_of, stale_days), (&visible, within)).await?;
                computed.push((visible, s));
                computed.len() - 1
            }
        };
        mails.push(mail(&computed[at].1, &env, &r, web)?);
    }
    Ok(mails)
}

/// The `weekly_report` job: queues the last full week's report for every recipient and work-chat channel, all or
/// nothing; with `web` (the UI's address) each links its week's page.
pub async fn run(ctx: Ctx, stale_days: i64, web: Option<String>) -> anyhow::Result<()> {
    let mails = build(&ctx.db, ctx.as_of, (None, web.as_deref()), stale_days).await?;
    let messages = chat::messages(&ctx.db, (ctx.as_of, stale_days), web.as_deref()).await?;
    let txn = ctx.db.begin().await?;
    let added = outbox::enqueue(&txn, mails).await?;
    let chats = crate::chat::enqueue(&txn, messages).await?;
    txn.commit().await?;
    tracing::info!(added, chats, "weekly report queued");
    Ok(())
}
