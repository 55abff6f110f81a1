//! The numbers of docs/DEFINITIONS.md, computed with polars: flow and cohort funnels (with conversion and days between
//! stages, broken down on demand), visit and outreach KPIs, money, blockers, year on year, target progress.
//!
//! [`load`] reads what a computation needs from the database column by column (no model per row); [`Analytics`]
//! builds the frames (reach dates come from one group-by over all stage events) and answers any number of periods
//! from them. The nightly job and the on-demand API use this same code. Polars blocks: call [`Analytics::build`] and
//! the queries from `spawn_blocking`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::{Datelike, NaiveDate};
use entity::{
    enums::{AnyStage, IncubationStage, ProjectStage, TargetMetric},
    pipeline::Stage,
};
use polars::prelude::*;

use crate::period::Period;

mod in_db;
mod kpis;
mod load;
mod types;

pub use in_db::{DbFigures, project_funnel};
pub use kpis::months_of;
use load::{Events, day, epoch};
pub use load::{Raw, Scope, Source, load, load_kpis};
pub use types::*;
/// Runs `f` (building the frames and querying them) on one of polars' own worker threads. Polars hands every query,
/// and parts of each, to its thread pool; called from elsewhere, each hand-over wakes a pool thread and puts the caller
/// to sleep until it is done, which for the hundreds of small queries of a nightly run cost more than the queries.
/// On a pool thread the same work runs in place, and what polars splits still spreads over the pool.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    polars_core::runtime::THREAD_POOL.install(f)
}

/// Growth in % with one decimal; none on a zero base.
pub fn growth(now: f64, then: f64) -> Option<f64> {
    (then != 0.0).then(|| ((now - then) / then * 1000.0).round() / 10.0)
}

/// Median (mean of the two middle values for an even count) and p90 by nearest rank of `v`. The values are
/// partitioned around the two ranks, not sorted: the nightly job takes these of a few hundred thousand days at a time.
pub fn median_p90(mut v: Vec<i32>) -> (Option<f64>, Option<i64>) {
    if v.is_empty() {
        return (None, None);
    }
    let n = v.len();
    let rank = (9 * n).div_ceil(10);
    let p90 = *v.select_nth_unstable(rank - 1).1;
    // The middle lies at or below the p90's rank: in the part now before it (or at it).
    let below = &mut v[..rank];
    let upper = *below.select_nth_unstable(n / 2).1;
    let median = if n % 2 == 1 {
        f64::from(upper)
    } else {
        let lower = below[..n / 2].iter().copied().max().unwrap_or(upper);
        (f64::from(lower) + f64::from(upper)) / 2.0
    };
    (Some(median), Some(i64::from(p90)))
}

/// The frames every query reads.
pub struct Analytics {
    as_of: NaiveDate,
    projects: DataFrame,
    /// The 重大项目 with their main-line and 终止 event days: which were worked on in a period.
    majors: Vec<kpis::Major>,
    incubation: DataFrame,
    visits: DataFrame,
    outreach: DataFrame,
    funds: DataFrame,
    support: DataFrame,
    above_size: DataFrame,
    blockers: kpis::Blockers,
    targets: Vec<(i32, TargetMetric, i64)>,
    /// The projects', incubation candidates' and blockers' figures of some periods, counted by the database: those
    /// records were not read, so no other period's can be computed.
    in_db: Option<DbFigures>,
    /// The counts asked for so far: the nightly job asks for the same period's totals in every funnel and KPI table,
    /// and for a period's previous year, which is often another of its periods.
    counted: Mutex<HashMap<CountKey, Arc<Counted>>>,
    /// The sums and outreach counts asked for so far, by what and the period's first and last day.
    summed: Mutex<HashMap<(kpis::Sum, NaiveDate, NaiveDate), i64>>,
    outreach_counted: Mutex<HashMap<(NaiveDate, NaiveDate), HashMap<String, i64>>>,
}

/// What a count is of: pipeline, kind, the period's first and last day, breakdown; whether it has the days.
type CountKey = (Pipeline, FunnelKind, NaiveDate, NaiveDate, Option<Breakdown>, bool);

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

/// One group's counts: (key, count per stage, days from the previous stage per stage).
type GroupCount = (String, Vec<i64>, Vec<Vec<i32>>);

/// Counts per group.
type Counted = Vec<GroupCount>;

/// The calendar cut at the first days of some periods and the days after their last, so that each of them is a run
/// of whole spans.
struct Calendar(Vec<i32>);

impl Calendar {
    fn new<'a>(periods: impl Iterator<Item = &'a Period>) -> Calendar {
        let mut cuts: Vec<i32> = periods.flat_map(|p| [day(p.from), day(p.to) + 1]).collect();
        cuts.sort_unstable();
        cuts.dedup();
        Calendar(cuts)
    }

    /// How many spans there are.
    fn len(&self) -> usize {
        self.0.len() + 1
    }

    /// The span of a day.
    fn span(&self, d: i32) -> usize {
        self.0.partition_point(|&c| c <= d)
    }

    /// The spans of one of the periods.
    fn spans_of(&self, p: &Period) -> std::ops::RangeInclusive<usize> {
        self.span(day(p.from))..=self.span(day(p.to))
    }
}

/// The records of each group (sorted by key) by span: a flow counts each stage in the span of its reach day; a
/// cohort every stage of a record in the span of its first stage's.
fn tally<'a>(
    keys: &'a StringChunked,
    reach: &[Vec<Option<i32>>],
    kind: FunnelKind,
    calendar: &Calendar,
    with_days: bool,
) -> Vec<(&'a str, Spans)> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<(&str, Spans)> = Vec::new();
    let mut reached: Vec<Option<i32>> = vec![None; reach.len()];
    for (row, key) in keys.iter().enumerate() {
        for (r, column) in reached.iter_mut().zip(reach) {
            *r = column[row];
        }
        let key = key.unwrap_or("");
        let at = *index.entry(key).or_insert_with(|| {
            groups.push((key, Spans::new(reach.len(), calendar.len(), with_days)));
            groups.len() - 1
        });
        let group = &mut groups[at].1;
        group.records += 1;
        let cohort_span = reached[0].map(|d| calendar.span(d));
        for (k, on) in reached.iter().enumerate() {
            let Some(d) = *on else { continue };
            let at = match (kind, cohort_span) {
                (FunnelKind::Flow, _) => calendar.span(d),
                (FunnelKind::Cohort, Some(s)) => s,
                (FunnelKind::Cohort, None) => continue,
            };
            let days = k
                .checked_sub(1)
                .and_then(|before| reached[before])
                .map(|before| d - before);
            group.count(k, at, days);
        }
    }
    groups.sort_unstable_by_key(|(key, _)| *key);
    groups
}

/// One group's records by span of the calendar: per stage, how many reached it in each span and, when asked, the
/// days each took from the stage before.
struct Spans {
    records: i64,
    reached: Vec<Vec<i64>>,
    days: Vec<Vec<Vec<i32>>>,
}

impl Spans {
    fn new(stages: usize, spans: usize, with_days: bool) -> Spans {
        Spans {
            records: 0,
            reached: vec![vec![0; spans]; stages],
            days: if with_days {
                vec![vec![Vec::new(); spans]; stages]
            } else {
                Vec::new()
            },
        }
    }

    fn count(&mut self, stage: usize, span: usize, days: Option<i32>) {
        self.reached[stage][span] += 1;
        if let (Some(d), Some(by_span)) = (days, self.days.get_mut(stage)) {
            by_span[span].push(d);
        }
    }
}

impl Analytics {
    /// Builds the frames from what [`load`] read.
    pub fn build(raw: Raw) -> PolarsResult<Analytics> {
        let as_of = raw.as_of.unwrap_or_else(epoch);
        let p = raw.projects;
        let majors = kpis::majors(&p, &raw.project_moves, &raw.project_drops);
        let mut columns = vec![
            Column::new("id".into(), p.id),
            Column::new("industry".into(), p.industry),
            Column::new("source".into(), p.source),
            Column::new("contact_leader".into(), p.leader),
            Column::new("province".into(), p.province),
            Column::new("agreed".into(), p.agreed),
            Column::new("major".into(), p.major),
        ];
        for (r, days) in p.reach.into_iter().enumerate() {
            columns.push(Column::new(format!("r{r}").into(), days));
        }
        let projects = DataFrame::new_infer_height(columns)?;
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
        let (mut counted, mut summed) = (HashMap::new(), HashMap::new());
        for (&(from, to), (stages, signed)) in raw.figures.iter().flat_map(|f| &f.flows) {
            let all = vec![("all".to_owned(), stages.to_vec(), vec![Vec::new(); stages.len()])];
            counted.insert(
                (Pipeline::Projects, FunnelKind::Flow, from, to, None, false),
                Arc::new(all),
            );
            summed.insert((kpis::Sum::SignedInvestment, from, to), *signed);
        }
        for (&(from, to), stages) in raw.figures.iter().flat_map(|f| &f.incubation) {
            let all = vec![("all".to_owned(), stages.to_vec(), vec![Vec::new(); stages.len()])];
            counted.insert(
                (Pipeline::Incubation, FunnelKind::Flow, from, to, None, false),
                Arc::new(all),
            );
        }
        Ok(Analytics {
            as_of,
            projects,
            majors,
            incubation,
            visits: DataFrame::new_infer_height(vec![
                Column::new("day".into(), raw.visits.0),
                Column::new("batches".into(), raw.visits.1),
                Column::new("headcount".into(), raw.visits.2),
            ])?,
            outreach: DataFrame::new_infer_height(vec![
                Column::new("day".into(), raw.outreach.0),
                Column::new("kind".into(), raw.outreach.1),
            ])?,
            funds: DataFrame::new_infer_height(vec![
                Column::new("day".into(), raw.funds.day),
                Column::new("amount".into(), raw.funds.amount),
                Column::new("domestic".into(), raw.funds.domestic),
                Column::new("usd".into(), raw.funds.usd),
            ])?,
            support: DataFrame::new_infer_height(vec![
                Column::new("day".into(), raw.support.0),
                Column::new("amount".into(), raw.support.1),
            ])?,
            above_size: DataFrame::new_infer_height(vec![Column::new("day".into(), raw.above_size)])?,
            blockers: kpis::Blockers::new(b),
            targets: raw.targets,
            in_db: raw.figures,
            counted: Mutex::new(counted),
            summed: Mutex::new(summed),
            outreach_counted: Mutex::default(),
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

    /// Counts per group of a funnel (the days left empty), each computed once per value of [`Analytics`].
    fn count(
        &self,
        pipeline: Pipeline,
        kind: FunnelKind,
        p: &Period,
        by: Option<Breakdown>,
    ) -> PolarsResult<Arc<Counted>> {
        self.count_once((pipeline, kind, p, by), false)
    }

    /// The same with the days each project took from the previous stage (for the medians and p90): only the
    /// period's own funnel shows them, not the year before it nor the KPIs.
    fn count_with_days(
        &self,
        pipeline: Pipeline,
        kind: FunnelKind,
        p: &Period,
        by: Option<Breakdown>,
    ) -> PolarsResult<Arc<Counted>> {
        self.count_once((pipeline, kind, p, by), true)
    }

    fn count_once(
        &self,
        (pipeline, kind, p, by): (Pipeline, FunnelKind, &Period, Option<Breakdown>),
        days: bool,
    ) -> PolarsResult<Arc<Counted>> {
        let key = |days| (pipeline, kind, p.from, p.to, by, days);
        {
            let counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
            // A count with the days serves one without them.
            if let Some(c) = counted.get(&key(true)).or_else(|| counted.get(&key(days))) {
                return Ok(c.clone());
            }
        }
        let mut c = self.count_periods((pipeline, kind, by), &[(p, days)])?;
        Ok(c.pop().expect("one period asked"))
    }

    /// Counts, in one pass, the funnels of `pipeline`, `kind` and `by` over each of the periods `asked` (each with
    /// the days or not), and keeps them for [`Analytics::count`].
    ///
    /// The periods' first days and the days after their last cut the calendar into spans, so that every period is
    /// a run of whole spans: each record is counted once, in the span of its reach day (a cohort: of its first
    /// stage's), and a period's counts and days are those of its spans.
    fn count_periods(
        &self,
        (pipeline, kind, by): (Pipeline, FunnelKind, Option<Breakdown>),
        asked: &[(&Period, bool)],
    ) -> PolarsResult<Vec<Arc<Counted>>> {
        if let Some((p, _)) = asked.first().filter(|_| self.in_db.is_some()) {
            return Err(kpis::not_counted(
                match pipeline {
                    Pipeline::Projects => "the projects",
                    Pipeline::Incubation => "the incubation candidates",
                },
                p,
            ));
        }
        let (df, stages) = match pipeline {
            Pipeline::Projects => (&self.projects, ProjectStage::ORDER.len()),
            Pipeline::Incubation => (&self.incubation, IncubationStage::ORDER.len()),
        };
        let key = match by {
            Some(b) => col(b.column())
                .cast(DataType::String)
                .fill_null(lit("(未填)"))
                .alias("key"),
            None => lit("all").alias("key"),
        };
        let reach_columns = (0..stages).map(|k| col(format!("r{k}")).cast(DataType::Int32));
        let rows = df
            .clone()
            .lazy()
            .select(std::iter::once(key).chain(reach_columns).collect::<Vec<_>>())
            .collect()?;
        let keys = rows.column("key")?.str()?.clone();
        let reach = (0..stages)
            .map(|k| Ok(rows.column(&format!("r{k}"))?.i32()?.iter().collect()))
            .collect::<PolarsResult<Vec<Vec<Option<i32>>>>>()?;
        let calendar = Calendar::new(asked.iter().map(|(p, _)| *p));
        let with_days = asked.iter().any(|(_, days)| *days);
        let groups = tally(&keys, &reach, kind, &calendar, with_days);
        let mut all = Vec::with_capacity(asked.len());
        for (p, days) in asked {
            let within = calendar.spans_of(p);
            let counted: Counted = groups
                .iter()
                .filter_map(|(key, g)| {
                    let counts: Vec<i64> = (0..stages).map(|k| g.reached[k][within.clone()].iter().sum()).collect();
                    // A group with no member in the period is not part of its cohort.
                    let members = match kind {
                        FunnelKind::Flow => g.records,
                        FunnelKind::Cohort => counts[0],
                    };
                    (members > 0).then(|| {
                        let days_of = (0..stages)
                            .map(|k| match g.days.get(k) {
                                Some(by_span) if *days && k > 0 => by_span[within.clone()].concat(),
                                _ => Vec::new(),
                            })
                            .collect();
                        ((*key).to_owned(), counts, days_of)
                    })
                })
                .collect();
            let c = Arc::new(counted);
            self.counted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((pipeline, kind, p.from, p.to, by, *days), c.clone());
            all.push(c);
        }
        Ok(all)
    }

    /// Counts ahead, in one pass per pipeline, kind and breakdown, what the KPIs and every funnel of `periods` read:
    /// each period with the days between stages, the same period a year earlier and the year to date of its year
    /// (for the targets) without; and sums ahead what the KPIs add up ([`Analytics::sum_ahead`]). The passes are
    /// independent and run side by side on the pool (called from [`on_pool`]; elsewhere rayon's global pool).
    pub fn count_ahead(&self, periods: &[Period]) -> PolarsResult<()> {
        use rayon::prelude::*;
        let mut before: Vec<Period> = periods.iter().map(Period::previous_year).collect();
        before.extend(periods.iter().filter_map(|p| self.year_to_date(p.to.year())));
        before.sort_by_key(|p| (p.from, p.to));
        before.dedup_by_key(|p| (p.from, p.to));
        let asked: Vec<(&Period, bool)> = periods
            .iter()
            .map(|p| (p, true))
            .chain(before.iter().map(|p| (p, false)))
            .collect();
        let mut passes = Vec::new();
        for (pipeline, breakdowns) in [
            (Pipeline::Projects, Breakdown::PROJECTS.as_slice()),
            (Pipeline::Incubation, Breakdown::INCUBATION.as_slice()),
        ] {
            for kind in [FunnelKind::Flow, FunnelKind::Cohort] {
                for by in std::iter::once(None).chain(breakdowns.iter().copied().map(Some)) {
                    passes.push((pipeline, kind, by));
                }
            }
        }
        let (sums, counts) = rayon::join(
            || self.sum_ahead(periods),
            || {
                passes
                    .into_par_iter()
                    .try_for_each(|pass| self.count_periods(pass, &asked).map(drop))
            },
        );
        sums.and(counts)
    }

    /// A flow or cohort funnel over a period, optionally broken down, with year-on-year counts.
    pub fn funnel(
        &self,
        pipeline: Pipeline,
        kind: FunnelKind,
        p: &Period,
        by: Option<Breakdown>,
    ) -> PolarsResult<Funnel> {
        let prev = p.previous_year();
        let total = self.count_with_days(pipeline, kind, p, None)?;
        let total_before = self.count(pipeline, kind, &prev, None)?;
        let (groups, groups_before) = match by {
            Some(b) => (
                self.count_with_days(pipeline, kind, p, Some(b))?,
                self.count(pipeline, kind, &prev, Some(b))?,
            ),
            None => Default::default(),
        };
        let tallies = Tallies {
            total: &total,
            total_before: &total_before,
            groups: &groups,
            groups_before: &groups_before,
        };
        Ok(assemble((pipeline, kind, by), p, self.as_of, tallies))
    }
}

/// What a funnel is made of: the period's counts (with the days between stages) and those of the same period a year
/// earlier, in all (one group or none) and per group of the breakdown (none without one).
struct Tallies<'a> {
    total: &'a Counted,
    total_before: &'a Counted,
    groups: &'a Counted,
    groups_before: &'a Counted,
}

/// The funnel of `p` from its tallies: the stages with their conversion, median and p90 days and year-on-year
/// growth, in all and per group (each group as counted for the period, beside its counts a year earlier or zeros).
fn assemble(
    (pipeline, kind, by): (Pipeline, FunnelKind, Option<Breakdown>),
    p: &Period,
    as_of: NaiveDate,
    t: Tallies,
) -> Funnel {
    let names: Vec<AnyStage> = match pipeline {
        Pipeline::Projects => ProjectStage::ORDER.iter().copied().map(AnyStage::Project).collect(),
        Pipeline::Incubation => IncubationStage::ORDER
            .iter()
            .copied()
            .map(AnyStage::Incubation)
            .collect(),
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
                    stage: *name,
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
    let zeros = vec![0; names.len()];
    let empty = vec![Vec::new(); names.len()];
    let (counts, days) = t.total.first().map_or((&zeros, &empty), |(_, c, d)| (c, d));
    let before = t.total_before.first().map_or(&zeros, |(_, c, _)| c);
    let stages = stages_of(counts, days, before);
    let before: HashMap<&str, &Vec<i64>> = t.groups_before.iter().map(|(k, c, _)| (k.as_str(), c)).collect();
    let groups = t
        .groups
        .iter()
        .map(|(key, counts, days)| FunnelGroup {
            stages: stages_of(counts, days, before.get(key.as_str()).copied().unwrap_or(&zeros)),
            key: key.clone(),
        })
        .collect();
    Funnel {
        period: p.into(),
        previous_year: (&prev).into(),
        as_of,
        kind,
        pipeline,
        by,
        stages,
        groups,
        within: None,
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
        // Against the definitions on sorted values, for every length up to 300 with repeats and any order.
        let mut seed: u32 = 7;
        for n in 1..300usize {
            let v: Vec<i32> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 16) as i32 % 97 - 20
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_unstable();
            let median = if n % 2 == 1 {
                f64::from(sorted[n / 2])
            } else {
                (f64::from(sorted[n / 2 - 1]) + f64::from(sorted[n / 2])) / 2.0
            };
            let p90 = i64::from(sorted[(9 * n).div_ceil(10) - 1]);
            assert_eq!(median_p90(v), (Some(median), Some(p90)), "{n} values");
        }
    }

    #[test]
    fn growth_has_one_decimal_and_no_zero_base() {
        assert_eq!(growth(278.0, 231.0), Some(20.3));
        assert_eq!(growth(0.0, 5.0), Some(-100.0));
        assert_eq!(growth(5.0, 0.0), None);
    }
}
