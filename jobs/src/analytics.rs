//! The numbers of DESIGN §3, computed with polars: flow and cohort funnels (with conversion and days between
//! stages, broken down on demand), visit and outreach KPIs, money, blockers, year on year, target progress.
//!
//! [`load`] reads what a computation needs from the database column by column (no model per row); [`Analytics`]
//! builds the frames (reach dates come from one group-by over all stage events) and answers any number of periods
//! from them. The nightly job and the on-demand API use this same code. Polars blocks: call [`Analytics::build`] and
//! the queries from `spawn_blocking`.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use entity::{
    blocker, company,
    enums::{IncubationStage, ProjectStage, TargetMetric},
    fund_arrival, incubation_candidate, incubation_event, outreach,
    pipeline::Stage,
    project, stage_event, target, visit,
};
use futures_util::TryStreamExt;
use polars::prelude::*;
use rust_decimal::Decimal;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect, RelationTrait,
    StreamTrait,
    sea_query::{self, Alias},
};
use serde::{Deserialize, Serialize};

use crate::period::Period;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid")
}

/// Days since 1970-01-01: how dates travel through the frames.
fn day(d: NaiveDate) -> i32 {
    (d - epoch()).num_days() as i32
}

/// The raw columns read from the database.
#[derive(Default)]
pub struct Raw {
    as_of: Option<NaiveDate>,
    project_events: Events,
    projects: ProjectColumns,
    incubation_events: Events,
    candidates: (Vec<i64>, Vec<i32>),
    visits: (Vec<i32>, Vec<i32>),
    outreach: (Vec<i32>, Vec<String>),
    funds: (Vec<i32>, Vec<i64>),
    blockers: BlockerColumns,
    targets: Vec<(i32, TargetMetric, i64)>,
}

#[derive(Default)]
struct Events {
    owner: Vec<i64>,
    rank: Vec<i32>,
    day: Vec<i32>,
}

#[derive(Default)]
struct ProjectColumns {
    id: Vec<i64>,
    industry: Vec<Option<String>>,
    source: Vec<String>,
    leader: Vec<Option<String>>,
    province: Vec<Option<String>>,
    agreed: Vec<Option<i64>>,
}

#[derive(Default)]
struct BlockerColumns {
    category: Vec<String>,
    opened: Vec<i32>,
    due: Vec<Option<i32>>,
    resolved: Vec<Option<i32>>,
}

/// What to read: funnels need the stage histories; KPIs need everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Project stage history and attributes.
    Projects,
    /// Incubation stage history.
    Incubation,
    /// Everything (KPIs and the nightly job).
    All,
}

/// The (owner, rank, day) of every stage event of `E` up to `as_of`; events off to the side have no rank and are
/// left out.
async fn stage_events<C, E, S>(db: &C, as_of: NaiveDate, owner: &'static str) -> anyhow::Result<Events>
where
    C: ConnectionTrait + StreamTrait,
    E: EntityTrait,
    S: Stage + ActiveEnum<Value = String>,
{
    use sea_query::ExprTrait as _;
    let mut out = Events::default();
    let mut rows = E::find()
        .select_only()
        .column_as(sea_query::Expr::col(Alias::new(owner)), "owner")
        .column_as(sea_query::Expr::col(Alias::new("stage")), "stage")
        .column_as(sea_query::Expr::col(Alias::new("occurred_on")), "occurred_on")
        .filter(sea_query::Expr::col(Alias::new("occurred_on")).lte(as_of))
        .into_tuple::<(i64, String, NaiveDate)>()
        .stream(db)
        .await?;
    while let Some((owner, stage, on)) = rows.try_next().await? {
        if let Some(r) = S::try_from_value(&stage).ok().and_then(Stage::rank) {
            out.owner.push(owner);
            out.rank.push(r as i32);
            out.day.push(day(on));
        }
    }
    Ok(out)
}

/// Reads the columns a computation as of `as_of` needs; records dated after `as_of` are left out.
pub async fn load<C>(db: &C, as_of: NaiveDate, scope: Scope) -> anyhow::Result<Raw>
where
    C: ConnectionTrait + StreamTrait,
{
    let mut raw = Raw {
        as_of: Some(as_of),
        ..Raw::default()
    };
    if matches!(scope, Scope::Projects | Scope::All) {
        raw.project_events = stage_events::<C, stage_event::Entity, ProjectStage>(db, as_of, "project_id").await?;
        let mut rows = project::Entity::find()
            .select_only()
            .columns([
                project::Column::Id,
                project::Column::Industry,
                project::Column::Source,
                project::Column::ContactLeader,
            ])
            .column(company::Column::Province)
            .column(project::Column::AgreedInvestmentYuan)
            .join(JoinType::InnerJoin, project::Relation::Company.def())
            .into_tuple::<(i64, Option<String>, String, Option<String>, Option<String>, Option<i64>)>()
            .stream(db)
            .await?;
        let p = &mut raw.projects;
        while let Some((id, industry, source, leader, province, agreed)) = rows.try_next().await? {
            p.id.push(id);
            p.industry.push(industry);
            p.source.push(source);
            p.leader.push(leader);
            p.province.push(province);
            p.agreed.push(agreed);
        }
    }
    if matches!(scope, Scope::Incubation | Scope::All) {
        raw.incubation_events =
            stage_events::<C, incubation_event::Entity, IncubationStage>(db, as_of, "candidate_id").await?;
        let mut rows = incubation_candidate::Entity::find()
            .select_only()
            .columns([
                incubation_candidate::Column::Id,
                incubation_candidate::Column::CohortYear,
            ])
            .into_tuple::<(i64, i32)>()
            .stream(db)
            .await?;
        while let Some((id, year)) = rows.try_next().await? {
            raw.candidates.0.push(id);
            raw.candidates.1.push(year);
        }
    }
    if scope == Scope::All {
        let mut rows = visit::Entity::find()
            .select_only()
            .columns([visit::Column::VisitDate, visit::Column::Headcount])
            .filter(visit::Column::VisitDate.lte(as_of))
            .into_tuple::<(NaiveDate, i32)>()
            .stream(db)
            .await?;
        while let Some((d, h)) = rows.try_next().await? {
            raw.visits.0.push(day(d));
            raw.visits.1.push(h);
        }
        drop(rows);
        let mut rows = outreach::Entity::find()
            .select_only()
            .columns([outreach::Column::StartDate, outreach::Column::Kind])
            .filter(outreach::Column::StartDate.lte(as_of))
            .into_tuple::<(NaiveDate, String)>()
            .stream(db)
            .await?;
        while let Some((d, k)) = rows.try_next().await? {
            raw.outreach.0.push(day(d));
            raw.outreach.1.push(k);
        }
        drop(rows);
        let mut rows = fund_arrival::Entity::find()
            .select_only()
            .columns([fund_arrival::Column::ArrivedOn, fund_arrival::Column::AmountYuan])
            .filter(fund_arrival::Column::ArrivedOn.lte(as_of))
            .into_tuple::<(NaiveDate, i64)>()
            .stream(db)
            .await?;
        while let Some((d, a)) = rows.try_next().await? {
            raw.funds.0.push(day(d));
            raw.funds.1.push(a);
        }
        drop(rows);
        let mut rows = blocker::Entity::find()
            .select_only()
            .columns([
                blocker::Column::Category,
                blocker::Column::OpenedOn,
                blocker::Column::DueDate,
                blocker::Column::ResolvedOn,
            ])
            .filter(blocker::Column::OpenedOn.lte(as_of))
            .into_tuple::<(String, NaiveDate, Option<NaiveDate>, Option<NaiveDate>)>()
            .stream(db)
            .await?;
        let b = &mut raw.blockers;
        while let Some((c, o, due, res)) = rows.try_next().await? {
            b.category.push(c);
            b.opened.push(day(o));
            b.due.push(due.map(day));
            // A resolution dated after the as-of date has not happened yet.
            b.resolved.push(res.filter(|r| *r <= as_of).map(day));
        }
        drop(rows);
        raw.targets = target::Entity::find()
            .select_only()
            .columns([target::Column::Year, target::Column::Metric, target::Column::Value])
            .into_tuple::<(i32, TargetMetric, i64)>()
            .all(db)
            .await?;
    }
    Ok(raw)
}

/// Which stage set a funnel is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum Pipeline {
    /// Investment projects: lead … producing.
    Projects,
    /// High-tech incubation: cultivating … filed.
    Incubation,
}

/// Flow or cohort (DESIGN §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum FunnelKind {
    /// For each stage, the records whose reach date of that stage lies in the period.
    Flow,
    /// The records whose first stage was reached in the period, and how many of them reached each stage by the
    /// as-of date.
    Cohort,
}

/// What a funnel is broken down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum Breakdown {
    /// The project's industry.
    Industry,
    /// The project's source.
    Source,
    /// The project's contact leader.
    ContactLeader,
    /// The origin province of the project's company.
    Province,
    /// The incubation candidate's cohort year.
    CohortYear,
}

impl Breakdown {
    fn column(self) -> &'static str {
        match self {
            Breakdown::Industry => "industry",
            Breakdown::Source => "source",
            Breakdown::ContactLeader => "contact_leader",
            Breakdown::Province => "province",
            Breakdown::CohortYear => "cohort_year",
        }
    }
}

/// A period as the answers show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PeriodRange {
    /// How the period was asked for, e.g. `2024-H1`.
    pub label: String,
    /// First day (inclusive).
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
}

impl From<&Period> for PeriodRange {
    fn from(p: &Period) -> Self {
        PeriodRange {
            label: p.label.clone(),
            from: p.from,
            to: p.to,
        }
    }
}

/// One stage of a funnel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct FunnelStage {
    /// The stage.
    pub stage: String,
    /// Records counted at this stage.
    pub count: i64,
    /// This stage's count over the previous stage's (none for the first stage, or when the previous count is 0).
    /// A true rate in a cohort; in a flow funnel it compares two streams and can exceed 1.
    pub conversion: Option<f64>,
    /// Median days from the previous stage's reach date to this one's, over the records counted here.
    pub median_days: Option<f64>,
    /// 90th percentile (nearest rank) of the same days.
    pub p90_days: Option<i64>,
    /// The count in the same period one year earlier.
    pub previous_year_count: i64,
    /// Year-on-year growth in %, one decimal (none when the previous count is 0).
    pub growth_pct: Option<f64>,
}

/// A funnel for one group of a breakdown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct FunnelGroup {
    /// The group's value (`(未填)` when the field is empty).
    pub key: String,
    /// Its stages.
    pub stages: Vec<FunnelStage>,
}

/// A funnel (DESIGN §3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Funnel {
    /// The period.
    pub period: PeriodRange,
    /// The same period one year earlier (for the year-on-year figures).
    pub previous_year: PeriodRange,
    /// Events after this date are ignored.
    pub as_of: NaiveDate,
    /// Flow or cohort.
    pub kind: FunnelKind,
    /// Projects or incubation.
    pub pipeline: Pipeline,
    /// The breakdown, if asked for.
    pub by: Option<Breakdown>,
    /// The stages, in order.
    pub stages: Vec<FunnelStage>,
    /// The same per group of the breakdown (empty without one).
    pub groups: Vec<FunnelGroup>,
}

/// A count beside the same count one year earlier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Compare {
    /// In the period.
    pub value: i64,
    /// In the same period one year earlier.
    pub previous: i64,
    /// Year-on-year growth in %, one decimal; none when the previous value is 0.
    pub growth_pct: Option<f64>,
}

/// An amount in 万元 beside the same amount one year earlier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct MoneyCompare {
    /// In the period, 万元.
    pub value: Decimal,
    /// In the same period one year earlier, 万元.
    pub previous: Decimal,
    /// Year-on-year growth in %, one decimal; none when the previous value is 0.
    pub growth_pct: Option<f64>,
}

/// Outreach activities of one kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct KindCount {
    /// The kind.
    pub kind: String,
    /// Counts.
    pub count: Compare,
}

/// Blocker figures over a period, for all categories or one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct BlockerStats {
    /// The category (`all` for the total).
    pub category: String,
    /// Raised in the period.
    pub opened: i64,
    /// Resolved in the period.
    pub resolved: i64,
    /// Raised by the end of the period and not resolved by then.
    pub open_at_end: i64,
    /// Of those, the ones past their due date at the end of the period.
    pub overdue: i64,
    /// Median days from raised to resolved, over those resolved in the period.
    pub median_days_to_resolve: Option<f64>,
}

/// Progress toward a yearly target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TargetProgress {
    /// The metric.
    pub metric: TargetMetric,
    /// The year.
    pub year: i32,
    /// The target (万元 for money metrics).
    pub target: Decimal,
    /// Year to date up to the as-of date (万元 for money metrics).
    pub actual: Decimal,
    /// actual / target (none when the target is 0).
    pub progress: Option<f64>,
    /// Days of the year elapsed by the as-of date / days in the year.
    pub time_progress: f64,
}

/// The KPIs of a period (DESIGN §3), each beside the same period one year earlier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Kpis {
    /// The period.
    pub period: PeriodRange,
    /// The same period one year earlier.
    pub previous_year: PeriodRange,
    /// Records dated after this are ignored.
    pub as_of: NaiveDate,
    /// Visits (批).
    pub visit_batches: Compare,
    /// Visitors (人次): the sum of the visits' headcounts.
    pub person_times: Compare,
    /// Outreach activities of every kind.
    pub outreach_total: Compare,
    /// Outreach activities by kind.
    pub outreach_by_kind: Vec<KindCount>,
    /// Projects reaching negotiation (flow).
    pub projects_negotiating: Compare,
    /// Projects signed (flow).
    pub projects_signed: Compare,
    /// Projects landed (flow).
    pub projects_landed: Compare,
    /// Projects started (flow).
    pub projects_started: Compare,
    /// Projects producing (flow).
    pub projects_producing: Compare,
    /// Agreed investment of the projects signed in the period.
    pub signed_investment: MoneyCompare,
    /// Fund arrivals dated in the period.
    pub funds_arrived: MoneyCompare,
    /// Companies taken into high-tech cultivation.
    pub incubation_cultivating: Compare,
    /// Incubation candidates that applied.
    pub incubation_applied: Compare,
    /// Incubation candidates approved.
    pub incubation_approved: Compare,
    /// Incubation candidates filed.
    pub incubation_filed: Compare,
    /// Blockers, all categories.
    pub blockers: BlockerStats,
    /// Blockers by category.
    pub blockers_by_category: Vec<BlockerStats>,
    /// Progress toward the targets of the period's year.
    pub targets: Vec<TargetProgress>,
}

/// Growth in % with one decimal; none on a zero base.
pub fn growth(now: f64, then: f64) -> Option<f64> {
    (then != 0.0).then(|| ((now - then) / then * 1000.0).round() / 10.0)
}

/// Median (mean of the two middle values for an even count) and p90 by nearest rank of `v`.
pub fn median_p90(mut v: Vec<i32>) -> (Option<f64>, Option<i64>) {
    if v.is_empty() {
        return (None, None);
    }
    v.sort_unstable();
    let n = v.len();
    let median = if n % 2 == 1 {
        f64::from(v[n / 2])
    } else {
        (f64::from(v[n / 2 - 1]) + f64::from(v[n / 2])) / 2.0
    };
    let rank = (9 * n).div_ceil(10);
    (Some(median), Some(i64::from(v[rank - 1])))
}

/// The frames every query reads.
pub struct Analytics {
    as_of: NaiveDate,
    projects: DataFrame,
    incubation: DataFrame,
    visits: DataFrame,
    outreach: DataFrame,
    funds: DataFrame,
    blockers: DataFrame,
    targets: Vec<(i32, TargetMetric, i64)>,
}

/// Per owner, the reach day of every stage: the earliest day of an event at that stage or a later one.
fn reach(events: Events, stages: usize) -> PolarsResult<DataFrame> {
    let df = DataFrame::new_infer_height(vec![
        Column::new("id".into(), events.owner),
        Column::new("rank".into(), events.rank),
        Column::new("day".into(), events.day),
    ])?;
    let aggs: Vec<Expr> = (0..stages)
        .map(|r| {
            col("day")
                .filter(col("rank").gt_eq(lit(r as i32)))
                .min()
                .alias(format!("r{r}"))
        })
        .collect();
    df.lazy().group_by([col("id")]).agg(aggs).collect()
}

fn in_period(e: Expr, p: &Period) -> Expr {
    e.clone().gt_eq(lit(day(p.from))).and(e.lt_eq(lit(day(p.to))))
}

fn i64_at(df: &DataFrame, name: &str, row: usize) -> PolarsResult<i64> {
    Ok(df.column(name)?.cast(&DataType::Int64)?.i64()?.get(row).unwrap_or(0))
}

/// Counts per group: (key, count per stage, days from the previous stage per stage).
type Counted = Vec<(String, Vec<i64>, Vec<Vec<i32>>)>;

impl Analytics {
    /// Builds the frames from what [`load`] read.
    pub fn build(raw: Raw) -> PolarsResult<Analytics> {
        let as_of = raw.as_of.unwrap_or_else(epoch);
        let p = raw.projects;
        let attrs = DataFrame::new_infer_height(vec![
            Column::new("id".into(), p.id),
            Column::new("industry".into(), p.industry),
            Column::new("source".into(), p.source),
            Column::new("contact_leader".into(), p.leader),
            Column::new("province".into(), p.province),
            Column::new("agreed".into(), p.agreed),
        ])?;
        let projects = attrs
            .lazy()
            .join(
                reach(raw.project_events, ProjectStage::ORDER.len())?.lazy(),
                [col("id")],
                [col("id")],
                JoinArgs::new(polars::prelude::JoinType::Inner),
            )
            .collect()?;
        let cands = DataFrame::new_infer_height(vec![
            Column::new("id".into(), raw.candidates.0),
            Column::new("cohort_year".into(), raw.candidates.1),
        ])?;
        let incubation = cands
            .lazy()
            .join(
                reach(raw.incubation_events, IncubationStage::ORDER.len())?.lazy(),
                [col("id")],
                [col("id")],
                JoinArgs::new(polars::prelude::JoinType::Inner),
            )
            .with_column(col("cohort_year").cast(DataType::String))
            .collect()?;
        let b = raw.blockers;
        Ok(Analytics {
            as_of,
            projects,
            incubation,
            visits: DataFrame::new_infer_height(vec![
                Column::new("day".into(), raw.visits.0),
                Column::new("headcount".into(), raw.visits.1),
            ])?,
            outreach: DataFrame::new_infer_height(vec![
                Column::new("day".into(), raw.outreach.0),
                Column::new("kind".into(), raw.outreach.1),
            ])?,
            funds: DataFrame::new_infer_height(vec![
                Column::new("day".into(), raw.funds.0),
                Column::new("amount".into(), raw.funds.1),
            ])?,
            blockers: DataFrame::new_infer_height(vec![
                Column::new("category".into(), b.category),
                Column::new("opened".into(), b.opened),
                Column::new("due".into(), b.due),
                Column::new("resolved".into(), b.resolved),
            ])?,
            targets: raw.targets,
        })
    }

    /// The as-of date of the data.
    pub fn as_of(&self) -> NaiveDate {
        self.as_of
    }

    /// The projects whose reach date of stage `k` (0 = lead) lies in the period.
    pub fn projects_reaching(&self, k: usize, p: &Period) -> PolarsResult<Vec<i64>> {
        let out = self
            .projects
            .clone()
            .lazy()
            .filter(in_period(col(format!("r{k}")), p))
            .select([col("id")])
            .collect()?;
        Ok(out.column("id")?.i64()?.into_no_null_iter().collect())
    }

    fn count(&self, pipeline: Pipeline, kind: FunnelKind, p: &Period, by: Option<Breakdown>) -> PolarsResult<Counted> {
        let (df, stages) = match pipeline {
            Pipeline::Projects => (&self.projects, ProjectStage::ORDER.len()),
            Pipeline::Incubation => (&self.incubation, IncubationStage::ORDER.len()),
        };
        let mut lf = df.clone().lazy();
        if kind == FunnelKind::Cohort {
            lf = lf.filter(in_period(col("r0"), p));
        }
        let key = match by {
            Some(b) => col(b.column())
                .cast(DataType::String)
                .fill_null(lit("(未填)"))
                .alias("key"),
            None => lit("all").alias("key"),
        };
        let mut aggs = Vec::new();
        for k in 0..stages {
            let rk = col(format!("r{k}"));
            let reached = match kind {
                FunnelKind::Flow => in_period(rk.clone(), p),
                FunnelKind::Cohort => rk.clone().is_not_null(),
            };
            aggs.push(reached.clone().cast(DataType::Int64).sum().alias(format!("c{k}")));
            if k > 0 {
                aggs.push((rk - col(format!("r{}", k - 1))).filter(reached).alias(format!("d{k}")));
            }
        }
        let out = lf
            .with_column(key)
            .group_by([col("key")])
            .agg(aggs)
            .sort(["key"], SortMultipleOptions::default())
            .collect()?;
        let keys = out.column("key")?.str()?.clone();
        let mut groups = Vec::with_capacity(out.height());
        for row in 0..out.height() {
            let mut counts = Vec::with_capacity(stages);
            let mut days = vec![Vec::new()];
            for k in 0..stages {
                counts.push(i64_at(&out, &format!("c{k}"), row)?);
                if k > 0 {
                    let list = out.column(&format!("d{k}"))?.list()?.get_as_series(row);
                    days.push(match list {
                        Some(s) => s.cast(&DataType::Int32)?.i32()?.into_no_null_iter().collect(),
                        None => Vec::new(),
                    });
                }
            }
            groups.push((keys.get(row).unwrap_or("").to_owned(), counts, days));
        }
        Ok(groups)
    }

    /// A flow or cohort funnel over a period, optionally broken down, with year-on-year counts.
    pub fn funnel(
        &self,
        pipeline: Pipeline,
        kind: FunnelKind,
        p: &Period,
        by: Option<Breakdown>,
    ) -> PolarsResult<Funnel> {
        let names: Vec<String> = match pipeline {
            Pipeline::Projects => ProjectStage::ORDER.iter().map(|s| s.to_value()).collect(),
            Pipeline::Incubation => IncubationStage::ORDER.iter().map(|s| s.to_value()).collect(),
        };
        let prev = p.previous_year();
        let stages_of = |counts: &[i64], days: &[Vec<i32>], before: &[i64]| -> Vec<FunnelStage> {
            names
                .iter()
                .enumerate()
                .map(|(k, name)| {
                    let (median_days, p90_days) = median_p90(days[k].clone());
                    let then = before.get(k).copied().unwrap_or(0);
                    FunnelStage {
                        stage: name.clone(),
                        count: counts[k],
                        conversion: (k > 0 && counts[k - 1] > 0).then(|| counts[k] as f64 / counts[k - 1] as f64),
                        median_days,
                        p90_days,
                        previous_year_count: then,
                        growth_pct: growth(counts[k] as f64, then as f64),
                    }
                })
                .collect()
        };
        let total = self.count(pipeline, kind, p, None)?;
        let total_before = self.count(pipeline, kind, &prev, None)?;
        let zeros = vec![0; names.len()];
        let empty = vec![Vec::new(); names.len()];
        let (counts, days) = total.first().map_or((&zeros, &empty), |(_, c, d)| (c, d));
        let before = total_before.first().map_or(&zeros, |(_, c, _)| c);
        let stages = stages_of(counts, days, before);
        let mut groups = Vec::new();
        if let Some(b) = by {
            let before: HashMap<String, Vec<i64>> = self
                .count(pipeline, kind, &prev, Some(b))?
                .into_iter()
                .map(|(k, c, _)| (k, c))
                .collect();
            for (key, counts, days) in self.count(pipeline, kind, p, Some(b))? {
                let then = before.get(&key).unwrap_or(&zeros);
                groups.push(FunnelGroup {
                    stages: stages_of(&counts, &days, then),
                    key,
                });
            }
        }
        Ok(Funnel {
            period: p.into(),
            previous_year: (&prev).into(),
            as_of: self.as_of,
            kind,
            pipeline,
            by,
            stages,
            groups,
        })
    }

    fn sum_in(&self, df: &DataFrame, value: Option<&str>, p: &Period) -> PolarsResult<i64> {
        let agg = match value {
            Some(v) => col(v).cast(DataType::Int64).sum(),
            None => len().cast(DataType::Int64),
        };
        let out = df
            .clone()
            .lazy()
            .filter(in_period(col("day"), p))
            .select([agg.alias("v")])
            .collect()?;
        i64_at(&out, "v", 0)
    }

    /// Every target metric's value over a period (money in yuan).
    fn metrics(&self, p: &Period) -> PolarsResult<HashMap<TargetMetric, i64>> {
        use TargetMetric::*;
        let flow = self.count(Pipeline::Projects, FunnelKind::Flow, p, None)?;
        let proj = flow.first().map(|(_, c, _)| c.clone()).unwrap_or_else(|| vec![0; 6]);
        let inc = self.count(Pipeline::Incubation, FunnelKind::Flow, p, None)?;
        let inc = inc.first().map(|(_, c, _)| c.clone()).unwrap_or_else(|| vec![0; 4]);
        let signed = self
            .projects
            .clone()
            .lazy()
            .filter(in_period(col("r2"), p))
            .select([col("agreed").cast(DataType::Int64).sum().alias("v")])
            .collect()?;
        Ok(HashMap::from([
            (VisitBatches, self.sum_in(&self.visits, None, p)?),
            (PersonTimes, self.sum_in(&self.visits, Some("headcount"), p)?),
            (ProjectsNegotiating, proj[1]),
            (ProjectsSigned, proj[2]),
            (ProjectsLanded, proj[3]),
            (ProjectsStarted, proj[4]),
            (ProjectsProducing, proj[5]),
            (SignedInvestment, i64_at(&signed, "v", 0)?),
            (FundsArrived, self.sum_in(&self.funds, Some("amount"), p)?),
            (IncubationApplied, inc[1]),
            (IncubationApproved, inc[2]),
        ]))
    }

    fn blocker_stats(&self, p: &Period) -> PolarsResult<Vec<BlockerStats>> {
        let end = day(p.to.min(self.as_of));
        let open_at_end = col("opened")
            .lt_eq(lit(end))
            .and(col("resolved").is_null().or(col("resolved").gt(lit(end))));
        let resolved_in = in_period(col("resolved"), p);
        let aggs = [
            in_period(col("opened"), p).cast(DataType::Int64).sum().alias("opened"),
            resolved_in.clone().cast(DataType::Int64).sum().alias("resolved"),
            open_at_end.clone().cast(DataType::Int64).sum().alias("open_at_end"),
            open_at_end
                .and(col("due").lt(lit(end)))
                .fill_null(lit(false))
                .cast(DataType::Int64)
                .sum()
                .alias("overdue"),
            (col("resolved") - col("opened")).filter(resolved_in).alias("days"),
        ];
        let out = self
            .blockers
            .clone()
            .lazy()
            .group_by([col("category")])
            .agg(aggs.clone())
            .sort(["category"], SortMultipleOptions::default())
            .collect()?;
        let total = self
            .blockers
            .clone()
            .lazy()
            .with_column(lit("all").alias("category"))
            .group_by([col("category")])
            .agg(aggs)
            .collect()?;
        let read = |df: &DataFrame| -> PolarsResult<Vec<BlockerStats>> {
            let cats = df.column("category")?.str()?.clone();
            (0..df.height())
                .map(|row| {
                    let days: Vec<i32> = match df.column("days")?.list()?.get_as_series(row) {
                        Some(s) => s.cast(&DataType::Int32)?.i32()?.into_no_null_iter().collect(),
                        None => Vec::new(),
                    };
                    Ok(BlockerStats {
                        category: cats.get(row).unwrap_or("").to_owned(),
                        opened: i64_at(df, "opened", row)?,
                        resolved: i64_at(df, "resolved", row)?,
                        open_at_end: i64_at(df, "open_at_end", row)?,
                        overdue: i64_at(df, "overdue", row)?,
                        median_days_to_resolve: median_p90(days).0,
                    })
                })
                .collect()
        };
        let mut all = read(&total)?;
        if all.is_empty() {
            all.push(BlockerStats {
                category: "all".into(),
                opened: 0,
                resolved: 0,
                open_at_end: 0,
                overdue: 0,
                median_days_to_resolve: None,
            });
        }
        all.extend(read(&out)?);
        Ok(all)
    }

    fn outreach_by_kind(&self, p: &Period) -> PolarsResult<HashMap<String, i64>> {
        let out = self
            .outreach
            .clone()
            .lazy()
            .filter(in_period(col("day"), p))
            .group_by([col("kind")])
            .agg([len().cast(DataType::Int64).alias("n")])
            .collect()?;
        let kinds = out.column("kind")?.str()?.clone();
        (0..out.height())
            .map(|r| Ok((kinds.get(r).unwrap_or("").to_owned(), i64_at(&out, "n", r)?)))
            .collect()
    }

    /// The KPIs of a period, with the same period one year earlier and the targets of its year.
    pub fn kpis(&self, p: &Period) -> PolarsResult<Kpis> {
        use TargetMetric::*;
        let prev = p.previous_year();
        let (now, then) = (self.metrics(p)?, self.metrics(&prev)?);
        let cmp = |m: TargetMetric| Compare {
            value: now[&m],
            previous: then[&m],
            growth_pct: growth(now[&m] as f64, then[&m] as f64),
        };
        let money = |m: TargetMetric| MoneyCompare {
            value: entity::money::wan(now[&m]),
            previous: entity::money::wan(then[&m]),
            growth_pct: growth(now[&m] as f64, then[&m] as f64),
        };
        let stage_cmp = |pipeline, k: usize| -> PolarsResult<Compare> {
            let a = self
                .count(pipeline, FunnelKind::Flow, p, None)?
                .first()
                .map_or(0, |(_, c, _)| c[k]);
            let b = self
                .count(pipeline, FunnelKind::Flow, &prev, None)?
                .first()
                .map_or(0, |(_, c, _)| c[k]);
            Ok(Compare {
                value: a,
                previous: b,
                growth_pct: growth(a as f64, b as f64),
            })
        };
        let (kinds_now, kinds_then) = (self.outreach_by_kind(p)?, self.outreach_by_kind(&prev)?);
        let mut kinds: Vec<&String> = kinds_now.keys().chain(kinds_then.keys()).collect();
        kinds.sort();
        kinds.dedup();
        let outreach_by_kind = kinds
            .into_iter()
            .map(|k| {
                let (a, b) = (
                    kinds_now.get(k).copied().unwrap_or(0),
                    kinds_then.get(k).copied().unwrap_or(0),
                );
                KindCount {
                    kind: k.clone(),
                    count: Compare {
                        value: a,
                        previous: b,
                        growth_pct: growth(a as f64, b as f64),
                    },
                }
            })
            .collect::<Vec<_>>();
        let total_now: i64 = kinds_now.values().sum();
        let total_then: i64 = kinds_then.values().sum();
        let mut blockers = self.blocker_stats(p)?;
        let blockers_by_category = blockers.split_off(1);
        Ok(Kpis {
            period: p.into(),
            previous_year: (&prev).into(),
            as_of: self.as_of,
            visit_batches: cmp(VisitBatches),
            person_times: cmp(PersonTimes),
            outreach_total: Compare {
                value: total_now,
                previous: total_then,
                growth_pct: growth(total_now as f64, total_then as f64),
            },
            outreach_by_kind,
            projects_negotiating: cmp(ProjectsNegotiating),
            projects_signed: cmp(ProjectsSigned),
            projects_landed: cmp(ProjectsLanded),
            projects_started: cmp(ProjectsStarted),
            projects_producing: cmp(ProjectsProducing),
            signed_investment: money(SignedInvestment),
            funds_arrived: money(FundsArrived),
            incubation_cultivating: stage_cmp(Pipeline::Incubation, 0)?,
            incubation_applied: cmp(IncubationApplied),
            incubation_approved: cmp(IncubationApproved),
            incubation_filed: stage_cmp(Pipeline::Incubation, 3)?,
            blockers: blockers.pop().expect("the total row"),
            blockers_by_category,
            targets: self.target_progress(p.to.year())?,
        })
    }

    /// Year-to-date actuals against the targets of `year`, beside the share of the year elapsed.
    fn target_progress(&self, year: i32) -> PolarsResult<Vec<TargetProgress>> {
        let jan1 = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid");
        let dec31 = NaiveDate::from_ymd_opt(year, 12, 31).expect("valid");
        let days_in_year = f64::from(dec31.ordinal());
        let elapsed = if self.as_of < jan1 {
            0.0
        } else {
            f64::from(self.as_of.min(dec31).ordinal())
        };
        let mut targets: Vec<&(i32, TargetMetric, i64)> = self.targets.iter().filter(|t| t.0 == year).collect();
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        targets.sort_by_key(|t| t.1 as u8);
        let ytd = Period::range(jan1, self.as_of.clamp(jan1, dec31)).expect("ordered");
        let actual = self.metrics(&ytd)?;
        Ok(targets
            .into_iter()
            .map(|&(year, metric, value)| {
                let a = if self.as_of < jan1 { 0 } else { actual[&metric] };
                let show = |v: i64| {
                    if metric.is_money() {
                        entity::money::wan(v)
                    } else {
                        Decimal::from(v)
                    }
                };
                TargetProgress {
                    metric,
                    year,
                    target: show(value),
                    actual: show(a),
                    progress: (value != 0).then(|| a as f64 / value as f64),
                    time_progress: elapsed / days_in_year,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_nearest_rank_p90() {
        assert_eq!(median_p90(vec![]), (None, None));
        assert_eq!(median_p90(vec![5]), (Some(5.0), Some(5)));
        assert_eq!(median_p90(vec![4, 1, 3, 2]), (Some(2.5), Some(4)));
        // 10 values: the 9th smallest has 90% at or below it.
        assert_eq!(median_p90((1..=10).collect()), (Some(5.5), Some(9)));
        assert_eq!(median_p90((1..=11).collect()), (Some(6.0), Some(10)));
    }

    #[test]
    fn growth_has_one_decimal_and_no_zero_base() {
        assert_eq!(growth(278.0, 231.0), Some(20.3));
        assert_eq!(growth(0.0, 5.0), Some(-100.0));
        assert_eq!(growth(5.0, 0.0), None);
    }
}
