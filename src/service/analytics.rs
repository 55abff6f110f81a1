//! The numbers of docs/DEFINITIONS.md on demand, computed by the same code as the nightly job (jobs::analytics), and
//! the latest nightly snapshots. On demand, the figures are those of the records the caller sees (数据权限) and say
//! so (`within`); the snapshots are the whole park's, for those who see every record.

use chrono::NaiveDate;
use entity::{analytics_snapshot, job_run};
use jobs::{
    analytics::{self, Analytics, Breakdown, Funnel, FunnelKind, Kpis, MonthFigures, Pipeline, Scope, Source},
    period::Period,
};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::{AppError, AppResult, Code, Kind, Msg, input::today, scope::Seen};

/// The period asked for: `period` (`2024`, `2024-H1` …), or `from` and `to`.
pub fn period_of(period: Option<String>, from: Option<NaiveDate>, to: Option<NaiveDate>) -> AppResult<Period> {
    let bad = |m: String| AppError::invalid("period", m.clone(), m);
    match (period, from, to) {
        (Some(p), None, None) => Period::parse(&p).map_err(|e| bad(e.to_string())),
        (None, Some(f), Some(t)) => Period::range(f, t).map_err(|_| bad("from must not be after to".into())),
        _ => Err(bad("give either period (e.g. 2024-H1) or both from and to".into())),
    }
}

/// Loads the records seen, builds and answers in the blocking pool: polars must stay off the request threads.
async fn compute<T: Send + 'static>(
    db: &impl Source,
    (as_of, scope): (NaiveDate, Scope),
    seen: &Seen,
    f: impl FnOnce(&Analytics) -> anyhow::Result<T> + Send + 'static,
) -> AppResult<T> {
    answer(analytics::load(db, as_of, scope, &seen.visible).await?, f).await
}

/// Builds what was read and answers in the blocking pool.
async fn answer<T: Send + 'static>(
    raw: analytics::Raw,
    f: impl FnOnce(&Analytics) -> anyhow::Result<T> + Send + 'static,
) -> AppResult<T> {
    tokio::task::spawn_blocking(move || analytics::on_pool(|| f(&Analytics::build(raw)?)))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(AppError::Internal)
}

/// What funnel to compute.
pub struct FunnelQuery {
    /// The period.
    pub period: Period,
    /// Flow or cohort.
    pub kind: FunnelKind,
    /// Projects or incubation.
    pub pipeline: Pipeline,
    /// Breakdown: `cohort_year` for incubation, the others for projects.
    pub by: Option<Breakdown>,
    /// Ignore events after this date (default: today in Asia/Shanghai).
    pub as_of: Option<NaiveDate>,
}

/// A flow or cohort funnel over a period, of the records seen.
pub async fn funnel(db: &DatabaseConnection, q: FunnelQuery, seen: &Seen) -> AppResult<Funnel> {
    if q.by
        .is_some_and(|b| (b == Breakdown::CohortYear) != (q.pipeline == Pipeline::Incubation))
    {
        return Err(AppError::invalid(
            "by",
            "cohort_year breaks down incubation; industry, source, contact_leader and province break down projects",
            "培育按 cohort_year 分组;项目按 industry、source、contact_leader、province 分组",
        ));
    }
    let as_of = q.as_of.unwrap_or_else(today);
    let FunnelQuery {
        period,
        kind,
        pipeline,
        by,
        ..
    } = q;
    // A project funnel is counted by the database from the kept reach dates; incubation's reach dates come from its
    // events, which the engine groups.
    let mut f = match pipeline {
        Pipeline::Projects => analytics::project_funnel(db, as_of, (kind, &period, by), &seen.visible).await?,
        Pipeline::Incubation => {
            compute(db, (as_of, Scope::Incubation), seen, move |a| {
                Ok(a.funnel(pipeline, kind, &period, by)?)
            })
            .await?
        }
    };
    f.within = seen.within.clone();
    Ok(f)
}

/// The day a period's figures are measured on when none is asked for: the period's last day once it has ended,
/// today while it runs (docs/DEFINITIONS.md, "The as-of date"). A half-year summary asked for in November is the
/// half-year's, not the year's so far.
pub fn measured_on(period: &Period, asked: Option<NaiveDate>) -> NaiveDate {
    asked.unwrap_or_else(|| today().min(period.to))
}

/// The KPIs of a period beside the same period a year earlier, and target progress, measured on the period's last
/// day by default (see [`measured_on`]); of the records seen.
pub async fn kpis(db: &impl Source, period: Period, as_of: Option<NaiveDate>, seen: &Seen) -> AppResult<Kpis> {
    let as_of = measured_on(&period, as_of);
    let raw = analytics::load_kpis(db, as_of, (std::slice::from_ref(&period), &[]), &seen.visible).await?;
    let mut k = answer(raw, move |a| Ok(a.kpis(&period)?)).await?;
    k.within = seen.within.clone();
    Ok(k)
}

/// What the home page shows of a year: its KPIs (同比, targets), its flow funnel of projects and the figures of each
/// month up to `as_of`, all from one load of the data.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Dashboard {
    /// The year's KPIs.
    pub kpis: Kpis,
    /// The year's flow funnel of projects.
    pub funnel: Funnel,
    /// The months so far.
    pub months: Vec<MonthFigures>,
}

/// The home page's figures of `year` as of `as_of`, of the records seen.
pub async fn dashboard(db: &DatabaseConnection, year: i32, as_of: NaiveDate, seen: &Seen) -> AppResult<Dashboard> {
    use chrono::Datelike;
    let last_month = if as_of.year() == year { as_of.month() } else { 12 };
    let whole = Period::parse(&year.to_string()).map_err(|e| AppError::Internal(e.into()))?;
    let months = analytics::months_of(year, last_month).map_err(|e| AppError::Internal(e.into()))?;
    let flow = (FunnelKind::Flow, &whole, None);
    let (raw, funnel) = futures_util::try_join!(
        analytics::load_kpis(db, as_of, (std::slice::from_ref(&whole), &months), &seen.visible),
        analytics::project_funnel(db, as_of, flow, &seen.visible),
    )?;
    let (kpis, months) = answer(raw, move |a| Ok((a.kpis(&whole)?, a.months(year, last_month)?))).await?;
    let mut d = Dashboard { kpis, funnel, months };
    d.kpis.within = seen.within.clone();
    d.funnel.within = seen.within.clone();
    Ok(d)
}

/// The latest successful nightly run and its snapshots; `NotFound` before the first. They are the whole park's:
/// someone who sees part of the records is refused (their figures are computed on demand).
pub async fn latest_snapshots(
    db: &DatabaseConnection,
    seen: &Seen,
) -> AppResult<(job_run::Model, Vec<analytics_snapshot::Model>)> {
    if !seen.visible.is_all() {
        return Err(AppError::Forbidden {
            code: Code::WholeParkOnly,
            msg: Msg::new(
                "the nightly snapshots are of every record; ask /analytics/funnel or /analytics/kpis for the records you see",
                "夜间统计快照含全部数据,不在您的数据权限内;请按需查询漏斗或主要指标",
            ),
        });
    }
    jobs::nightly::latest(db)
        .await?
        .ok_or(AppError::not_found(Kind::Snapshot))
}

/// The latest day on or before `as_of` on which something the caller sees happened: a visit, an outreach activity
/// or a project reaching a stage (none when nothing did). Pages open on the current period; when it holds nothing,
/// they point to the period of this day.
pub async fn latest_activity(db: &impl ConnectionTrait, seen: &Seen, as_of: NaiveDate) -> AppResult<Option<NaiveDate>> {
    use entity::{outreach, project, visit};
    let mut days = Vec::new();
    for col in project::REACHED {
        days.push(latest_of::<project::Entity>(db, col, seen.visible.projects(), as_of).await?);
    }
    let visits = seen.visible.owned(visit::Column::OwnerId);
    days.push(latest_of::<visit::Entity>(db, visit::Column::VisitDate, visits, as_of).await?);
    let trips = seen.visible.owned(outreach::Column::OwnerId);
    days.push(latest_of::<outreach::Entity>(db, outreach::Column::StartDate, trips, as_of).await?);
    Ok(days.into_iter().flatten().max())
}

/// The latest date in `col` on or before `as_of` among the rows `scope` keeps (all: none).
async fn latest_of<E: sea_orm::EntityTrait>(
    db: &impl ConnectionTrait,
    col: E::Column,
    scope: Option<sea_orm::Condition>,
    as_of: NaiveDate,
) -> AppResult<Option<NaiveDate>> {
    use sea_orm::{
        ColumnTrait, QueryFilter, QuerySelect,
        sea_query::{Expr, Func},
    };
    let mut q = E::find()
        .select_only()
        .expr(Func::max(Expr::col(col)))
        .filter(col.lte(as_of));
    if let Some(c) = scope {
        q = q.filter(c);
    }
    Ok(q.into_tuple::<Option<NaiveDate>>().one(db).await?.flatten())
}

/// The figures of one province of the investors (客商来源地图, docs/DEFINITIONS.md).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProvinceFigures {
    /// The province as the map names it (`江苏`); `(未填)` for companies without one.
    pub province: String,
    /// Visits of the period by companies of the province (a visit of companies of two provinces counts for each).
    pub visits: i64,
    /// The person-times of those visits.
    pub person_times: i64,
    /// The period's flow funnel of the province's projects, 线索 to 竣工投产 (the funnel broken down by province).
    pub stages: Vec<i64>,
    /// The agreed investment of the province's projects signed in the period, in 万元.
    pub signed_investment: rust_decimal::Decimal,
}

/// The period's figures by the investors' province, of the records seen, most visits first.
pub async fn provinces(
    db: &DatabaseConnection,
    period: Period,
    as_of: Option<NaiveDate>,
    seen: &Seen,
) -> AppResult<Vec<ProvinceFigures>> {
    use std::collections::{BTreeMap, BTreeSet};

    let until = Ord::min(period.to, as_of.unwrap_or_else(today));
    let q = FunnelQuery {
        period: period.clone(),
        kind: FunnelKind::Flow,
        pipeline: Pipeline::Projects,
        by: Some(Breakdown::Province),
        as_of,
    };
    let funnel = funnel(db, q, seen).await?;
    let name = |raw: Option<String>| match raw.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) if p != "(未填)" => super::companies::province_name(p),
        _ => "(未填)".to_owned(),
    };
    let mut rows: BTreeMap<String, ProvinceFigures> = BTreeMap::new();
    let blank = |province: &String| ProvinceFigures {
        province: province.clone(),
        visits: 0,
        person_times: 0,
        stages: vec![0; funnel.stages.len()],
        signed_investment: rust_decimal::Decimal::ZERO,
    };
    for g in &funnel.groups {
        let p = name(Some(g.key.clone()));
        let row = rows.entry(p.clone()).or_insert_with(|| blank(&p));
        for (n, s) in row.stages.iter_mut().zip(&g.stages) {
            *n += s.count;
        }
    }
    let (visits, signed) = tokio::try_join!(
        visits_by_province(db, seen, (period.from, until)),
        signed_by_province(db, seen, (period.from, until)),
    )?;
    let mut counted = BTreeSet::new();
    for (id, headcount, province) in visits {
        let p = name(province);
        if counted.insert((p.clone(), id)) {
            let row = rows.entry(p.clone()).or_insert_with(|| blank(&p));
            row.visits += 1;
            row.person_times += i64::from(headcount);
        }
    }
    for (province, yuan) in signed {
        let p = name(province);
        rows.entry(p.clone()).or_insert_with(|| blank(&p)).signed_investment += entity::money::wan(yuan);
    }
    let mut out: Vec<ProvinceFigures> = rows.into_values().collect();
    out.sort_by(|a, b| {
        b.visits
            .cmp(&a.visits)
            .then_with(|| b.stages.cmp(&a.stages))
            .then_with(|| a.province.cmp(&b.province))
    });
    Ok(out)
}

/// Each visit of the days (`from`, `until`) that the caller sees, once per company: its id, headcount and the
/// company's province as stored.
async fn visits_by_province(
    db: &DatabaseConnection,
    seen: &Seen,
    (from, until): (NaiveDate, NaiveDate),
) -> AppResult<Vec<(i64, i32, Option<String>)>> {
    use entity::{company, visit, visit_company};
    use sea_orm::{
        ColumnTrait, EntityTrait, JoinType, QueryFilter, QuerySelect, QueryTrait,
        sea_query::{Expr, ExprTrait},
    };
    let mut visits = visit::Entity::find()
        .select_only()
        .column(visit::Column::Id)
        .column(visit::Column::Headcount)
        .filter(visit::Column::VisitDate.between(from, until));
    if let Some(c) = seen.visible.owned(visit::Column::OwnerId) {
        visits = visits.filter(c);
    }
    QueryTrait::query(&mut visits)
        .expr(Expr::col((company::Entity, company::Column::Province)))
        .join(
            JoinType::InnerJoin,
            visit_company::Entity,
            Expr::col((visit_company::Entity, visit_company::Column::VisitId))
                .equals((visit::Entity, visit::Column::Id)),
        )
        .join(
            JoinType::InnerJoin,
            company::Entity,
            Expr::col((company::Entity, company::Column::Id))
                .equals((visit_company::Entity, visit_company::Column::CompanyId)),
        );
    Ok(visits.into_tuple().all(db).await?)
}

/// The agreed investment (yuan) of each project the caller sees that was signed in the days (`from`, `until`),
/// with its company's province as stored.
async fn signed_by_province(
    db: &DatabaseConnection,
    seen: &Seen,
    (from, until): (NaiveDate, NaiveDate),
) -> AppResult<Vec<(Option<String>, i64)>> {
    use entity::project;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let mut signed = project::Entity::find()
        .select_only()
        .column(project::Column::CompanyProvince)
        .column(project::Column::AgreedInvestmentYuan)
        .filter(project::Column::ReachedSignedOn.between(from, until))
        .filter(project::Column::AgreedInvestmentYuan.is_not_null());
    if let Some(c) = seen.visible.projects() {
        signed = signed.filter(c);
    }
    Ok(signed.into_tuple().all(db).await?)
}
