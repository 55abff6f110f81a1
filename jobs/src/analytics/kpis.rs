//! The KPIs of a period: visits, outreach, flow counts, money, incubation, blockers, targets.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use entity::enums::TargetMetric;
use polars::prelude::*;
use rust_decimal::Decimal;

use crate::period::Period;

use super::types::*;
use super::{Analytics, day, growth, i64_at, in_period, median_p90};

/// The blockers as the KPIs read them: each one's category (an index into `names`, sorted), raised, due and resolved
/// days.
pub(super) struct Blockers {
    names: Vec<String>,
    category: Vec<u32>,
    opened: Vec<i32>,
    due: Vec<Option<i32>>,
    resolved: Vec<Option<i32>>,
}

impl Blockers {
    /// The blockers as loaded.
    pub(super) fn new(b: super::load::BlockerColumns) -> Blockers {
        let names: Vec<String> = (b.category.iter().map(String::as_str))
            .collect::<std::collections::BTreeSet<&str>>()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let category = (b.category.iter())
            .map(|c| names.binary_search(c).unwrap_or_default() as u32)
            .collect();
        Blockers {
            names,
            category,
            opened: b.opened,
            due: b.due,
            resolved: b.resolved,
        }
    }
}

/// A 重大项目 as the KPIs read it: its first reach day and 竣工投产 day, its agreed investment (yuan), and the days of
/// its main-line and 终止 events (sorted).
pub(super) struct Major {
    first: Option<i32>,
    producing: Option<i32>,
    agreed: Option<i64>,
    moves: Vec<i32>,
    drops: Vec<i32>,
}

/// The 重大项目 of the projects read (`major` flags them), with their events.
pub(super) fn majors(
    p: &super::load::ProjectColumns,
    moves: &(Vec<i64>, Vec<i32>),
    drops: &(Vec<i64>, Vec<i32>),
) -> Vec<Major> {
    let mut out = Vec::new();
    let mut at = HashMap::new();
    for (i, _) in p.major.iter().enumerate().filter(|(_, m)| **m) {
        at.insert(p.id[i], out.len());
        out.push(Major {
            first: p.reach[0][i],
            producing: p.reach[5][i],
            agreed: p.agreed[i],
            moves: Vec::new(),
            drops: Vec::new(),
        });
    }
    let mut add = |(ids, days): &(Vec<i64>, Vec<i32>), to: fn(&mut Major) -> &mut Vec<i32>| {
        for (id, d) in ids.iter().zip(days) {
            if let Some(&i) = at.get(id) {
                to(&mut out[i]).push(*d);
            }
        }
    };
    add(moves, |m| &mut m.moves);
    add(drops, |m| &mut m.drops);
    for m in &mut out {
        m.moves.sort_unstable();
        m.drops.sort_unstable();
    }
    out
}

/// One category's blocker figures over a period, as they are added up.
#[derive(Clone, Default)]
struct BlockerTally {
    opened: i64,
    resolved: i64,
    open_at_end: i64,
    overdue: i64,
    days: Vec<i32>,
}

/// A sum over a period that the KPIs show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Sum {
    VisitBatches,
    PersonTimes,
    FundsArrived,
    DomesticFunds,
    ForeignFunds,
    SupportFunds,
    AboveSize,
    SignedInvestment,
}

impl Sum {
    /// The sums by the frame they read: each group is summed in one pass.
    const BY_FRAME: [&'static [Sum]; 5] = [
        &[Sum::VisitBatches, Sum::PersonTimes],
        &[Sum::FundsArrived, Sum::DomesticFunds, Sum::ForeignFunds],
        &[Sum::SupportFunds],
        &[Sum::AboveSize],
        &[Sum::SignedInvestment],
    ];

    /// Its date column and the column it adds up (none: it counts the rows).
    fn columns(self) -> (&'static str, Option<&'static str>) {
        match self {
            Sum::VisitBatches => ("day", Some("batches")),
            Sum::PersonTimes => ("day", Some("headcount")),
            Sum::FundsArrived | Sum::SupportFunds => ("day", Some("amount")),
            Sum::DomesticFunds => ("day", Some("domestic")),
            Sum::ForeignFunds => ("day", Some("usd")),
            Sum::AboveSize => ("day", None),
            // A project's agreed investment counts in the period it reached 签约.
            Sum::SignedInvestment => ("r2", Some("agreed")),
        }
    }
}

/// The periods of `periods` not `done` yet, each once.
fn not_yet<'p>(periods: &[&'p Period], done: impl Fn(&Period) -> bool) -> Vec<&'p Period> {
    let mut todo: Vec<&Period> = periods.iter().copied().filter(|p| !done(p)).collect();
    todo.sort_by_key(|p| (p.from, p.to));
    todo.dedup_by_key(|p| (p.from, p.to));
    todo
}

/// The year to date of `year` as of `as_of`: 1 January to the as-of date, inside the year.
pub(super) fn year_to_date(year: i32, as_of: NaiveDate) -> Option<Period> {
    let jan1 = NaiveDate::from_ymd_opt(year, 1, 1)?;
    let dec31 = NaiveDate::from_ymd_opt(year, 12, 31)?;
    Period::range(jan1, as_of.clamp(jan1, dec31)).ok()
}

/// The months of `year` up to `last_month`, as the home page shows them.
pub fn months_of(year: i32, last_month: u32) -> PolarsResult<Vec<Period>> {
    (1..=last_month.min(12))
        .map(|month| {
            Period::parse(&format!("{year}-{month:02}")).map_err(|e| PolarsError::ComputeError(e.to_string().into()))
        })
        .collect()
}

/// The error of a figure asked of [`Analytics`] built with figures counted by the database for other periods.
pub(super) fn not_counted(what: &str, p: &Period) -> PolarsError {
    PolarsError::ComputeError(format!("{what} of {} were not counted by the database", p.label).into())
}

impl Analytics {
    fn frame_of(&self, s: Sum) -> &DataFrame {
        match s {
            Sum::VisitBatches | Sum::PersonTimes => &self.visits,
            Sum::FundsArrived | Sum::DomesticFunds | Sum::ForeignFunds => &self.funds,
            Sum::SupportFunds => &self.support,
            Sum::AboveSize => &self.above_size,
            Sum::SignedInvestment => &self.projects,
        }
    }

    /// A sum over a period, each summed once per value of [`Analytics`].
    fn sum(&self, s: Sum, p: &Period) -> PolarsResult<i64> {
        let key = (s, p.from, p.to);
        if let Some(v) = self.summed.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(*v);
        }
        self.sum_periods(&[s], &[p])?;
        Ok(self.summed.lock().unwrap_or_else(|e| e.into_inner())[&key])
    }

    /// Sums `sums` (of one frame) over each of `periods` not summed yet, in one pass, and keeps them for
    /// [`Analytics::sum`].
    fn sum_periods(&self, sums: &[Sum], periods: &[&Period]) -> PolarsResult<()> {
        let todo = {
            let summed = self.summed.lock().unwrap_or_else(|e| e.into_inner());
            not_yet(periods, |p| {
                sums.iter().all(|s| summed.contains_key(&(*s, p.from, p.to)))
            })
        };
        let Some(first) = sums.first() else { return Ok(()) };
        if todo.is_empty() {
            return Ok(());
        }
        if sums.contains(&Sum::SignedInvestment) && self.in_db.is_some() {
            return Err(not_counted("the signed investment", todo[0]));
        }
        let mut aggs = Vec::with_capacity(todo.len() * sums.len());
        for (i, p) in todo.iter().enumerate() {
            for (j, s) in sums.iter().enumerate() {
                let (day, value) = s.columns();
                let inside = in_period(col(day), p);
                aggs.push(
                    match value {
                        Some(v) => col(v).cast(DataType::Int64).filter(inside).sum(),
                        None => inside.cast(DataType::Int64).sum(),
                    }
                    .alias(format!("s{i}_{j}")),
                );
            }
        }
        let out = self.frame_of(*first).clone().lazy().select(aggs).collect()?;
        let mut summed = self.summed.lock().unwrap_or_else(|e| e.into_inner());
        for (i, p) in todo.iter().enumerate() {
            for (j, s) in sums.iter().enumerate() {
                summed.insert((*s, p.from, p.to), i64_at(&out, &format!("s{i}_{j}"), 0)?);
            }
        }
        Ok(())
    }

    /// Sums ahead, one pass per frame, every sum and outreach count the KPIs of `periods` read: each period, the
    /// same period a year earlier, and the year to date of the period's year (for the targets).
    pub fn sum_ahead(&self, periods: &[Period]) -> PolarsResult<()> {
        let mut asked: Vec<Period> = Vec::with_capacity(periods.len() * 3);
        for p in periods {
            asked.push(p.clone());
            asked.push(p.previous_year());
            if let Some(ytd) = self.year_to_date(p.to.year()) {
                asked.push(ytd);
            }
        }
        let asked: Vec<&Period> = asked.iter().collect();
        for sums in Sum::BY_FRAME {
            self.sum_periods(sums, &asked)?;
        }
        self.outreach_periods(&asked)
    }

    /// The year to date of `year` when it has targets (see [`year_to_date`]).
    pub(super) fn year_to_date(&self, year: i32) -> Option<Period> {
        if !self.targets.iter().any(|t| t.0 == year) {
            return None;
        }
        year_to_date(year, self.as_of)
    }

    /// Every target metric's value over a period (money in yuan).
    fn metrics(&self, p: &Period) -> PolarsResult<HashMap<TargetMetric, i64>> {
        use TargetMetric::*;
        let flow = self.count(Pipeline::Projects, FunnelKind::Flow, p, None)?;
        let proj = flow.first().map(|(_, c, _)| c.clone()).unwrap_or_else(|| vec![0; 6]);
        let inc = self.count(Pipeline::Incubation, FunnelKind::Flow, p, None)?;
        let inc = inc.first().map(|(_, c, _)| c.clone()).unwrap_or_else(|| vec![0; 4]);
        Ok(HashMap::from([
            (VisitBatches, self.sum(Sum::VisitBatches, p)?),
            (PersonTimes, self.sum(Sum::PersonTimes, p)?),
            (ProjectsNegotiating, proj[1]),
            (ProjectsSigned, proj[2]),
            (ProjectsLanded, proj[3]),
            (ProjectsStarted, proj[4]),
            (ProjectsProducing, proj[5]),
            (SignedInvestment, self.sum(Sum::SignedInvestment, p)?),
            (FundsArrived, self.sum(Sum::FundsArrived, p)?),
            (IncubationApplied, inc[1]),
            (IncubationApproved, inc[2]),
        ]))
    }

    /// 重大项目 worked on during a period (docs/DEFINITIONS.md): the major projects first recorded by its end that
    /// had not reached 竣工投产 before its start, and were not 终止 all through it (off to the side at its start —
    /// their latest event before it a 终止 — and not moved in it); their number and agreed investment (yuan).
    pub fn major(&self, p: &Period) -> PolarsResult<(i64, i64)> {
        if let Some(f) = &self.in_db {
            return f
                .majors
                .get(&(p.from, p.to))
                .copied()
                .ok_or_else(|| not_counted("the 重大项目", p));
        }
        let (start, end) = (day(p.from), day(p.to));
        let before = |days: &[i32]| days[..days.partition_point(|&d| d < start)].last().copied();
        let (mut n, mut yuan) = (0, 0);
        for m in &self.majors {
            if m.first.is_none_or(|d| d > end) || m.producing.is_some_and(|d| d < start) {
                continue;
            }
            let off_to_the_side = before(&m.drops).is_some_and(|drop| before(&m.moves).is_none_or(|mv| drop >= mv));
            let moved_in = m.moves.partition_point(|&d| d < start) < m.moves.partition_point(|&d| d <= end);
            if off_to_the_side && !moved_in {
                continue;
            }
            n += 1;
            yuan += m.agreed.unwrap_or(0);
        }
        Ok((n, yuan))
    }

    /// Outreach activities of a period beside the year before: in all, and by kind.
    fn outreach_compared(&self, p: &Period, prev: &Period) -> PolarsResult<(Compare, Vec<KindCount>)> {
        let (kinds_now, kinds_then) = (self.outreach_by_kind(p)?, self.outreach_by_kind(prev)?);
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
        Ok((
            Compare {
                value: total_now,
                previous: total_then,
                growth_pct: growth(total_now as f64, total_then as f64),
            },
            outreach_by_kind,
        ))
    }

    /// The sum of a money column over a period beside the year before, in the unit `unit` turns it into.
    fn sum_compared(
        &self,
        s: Sum,
        (p, prev): (&Period, &Period),
        unit: fn(i64) -> Decimal,
    ) -> PolarsResult<MoneyCompare> {
        let (now, then) = (self.sum(s, p)?, self.sum(s, prev)?);
        Ok(MoneyCompare {
            value: unit(now),
            previous: unit(then),
            growth_pct: growth(now as f64, then as f64),
        })
    }

    /// The major projects of a period beside the year before: their number and their agreed investment.
    fn major_compared(&self, p: &Period, prev: &Period) -> PolarsResult<(Compare, MoneyCompare)> {
        let ((n, yuan), (n0, yuan0)) = (self.major(p)?, self.major(prev)?);
        Ok((
            Compare {
                value: n,
                previous: n0,
                growth_pct: growth(n as f64, n0 as f64),
            },
            MoneyCompare {
                value: entity::money::wan(yuan),
                previous: entity::money::wan(yuan0),
                growth_pct: growth(yuan as f64, yuan0 as f64),
            },
        ))
    }

    /// Visits (batches, person-times) and projects signed (flow) in each month of `year` up to `last_month`.
    pub fn months(&self, year: i32, last_month: u32) -> PolarsResult<Vec<MonthFigures>> {
        let months = months_of(year, last_month)?;
        let months: Vec<&Period> = months.iter().collect();
        self.sum_periods(&[Sum::VisitBatches, Sum::PersonTimes], &months)?;
        let todo = {
            let counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
            let flow = |p: &Period| (Pipeline::Projects, FunnelKind::Flow, p.from, p.to, None, false);
            not_yet(&months, |p| counted.contains_key(&flow(p)))
        };
        if !todo.is_empty() {
            let asked: Vec<(&Period, bool)> = todo.into_iter().map(|p| (p, false)).collect();
            self.count_periods((Pipeline::Projects, FunnelKind::Flow, None), &asked)?;
        }
        (1..)
            .zip(months)
            .map(|(month, p)| {
                Ok(MonthFigures {
                    month,
                    visit_batches: self.sum(Sum::VisitBatches, p)?,
                    person_times: self.sum(Sum::PersonTimes, p)?,
                    signed: self
                        .count(Pipeline::Projects, FunnelKind::Flow, p, None)?
                        .first()
                        .map_or(0, |(_, c, _)| c[2]),
                })
            })
            .collect()
    }

    /// The blockers of each category and in all (first) over a period: one pass over the rows in plain loops,
    /// since a grouping by a text column per period cost more than the rest of the KPIs.
    fn blocker_stats(&self, p: &Period) -> PolarsResult<Vec<BlockerStats>> {
        if let Some(f) = &self.in_db {
            return f
                .blockers
                .get(&(p.from, p.to))
                .cloned()
                .ok_or_else(|| not_counted("the blockers", p));
        }
        let b = &self.blockers;
        let (from, to, end) = (day(p.from), day(p.to), day(p.to.min(self.as_of)));
        let all = b.names.len();
        let mut rows = vec![BlockerTally::default(); all + 1];
        for i in 0..b.opened.len() {
            let (opened, resolved) = (b.opened[i], b.resolved[i]);
            let resolved_in = resolved.filter(|r| (from..=to).contains(r));
            let open_at_end = opened <= end && resolved.is_none_or(|r| r > end);
            for t in [b.category[i] as usize, all] {
                let t = &mut rows[t];
                t.opened += i64::from((from..=to).contains(&opened));
                t.open_at_end += i64::from(open_at_end);
                t.overdue += i64::from(open_at_end && b.due[i].is_some_and(|d| d < end));
                if let Some(r) = resolved_in {
                    t.resolved += 1;
                    t.days.push(r - opened);
                }
            }
        }
        let total = rows.pop().expect("the total");
        Ok(std::iter::once(("all", total))
            .chain(b.names.iter().map(String::as_str).zip(rows))
            .map(|(category, t)| BlockerStats {
                category: category.to_owned(),
                opened: t.opened,
                resolved: t.resolved,
                open_at_end: t.open_at_end,
                overdue: t.overdue,
                median_days_to_resolve: median_p90(t.days).0,
            })
            .collect())
    }

    /// The outreach activities of a period by kind (the kinds it has), each counted once per value of
    /// [`Analytics`].
    fn outreach_by_kind(&self, p: &Period) -> PolarsResult<HashMap<String, i64>> {
        let key = (p.from, p.to);
        if let Some(kinds) = self
            .outreach_counted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(kinds.clone());
        }
        self.outreach_periods(&[p])?;
        Ok(self.outreach_counted.lock().unwrap_or_else(|e| e.into_inner())[&key].clone())
    }

    /// Counts the outreach activities by kind of each of `periods` not counted yet, in one pass.
    fn outreach_periods(&self, periods: &[&Period]) -> PolarsResult<()> {
        let todo = {
            let counted = self.outreach_counted.lock().unwrap_or_else(|e| e.into_inner());
            not_yet(periods, |p| counted.contains_key(&(p.from, p.to)))
        };
        if todo.is_empty() {
            return Ok(());
        }
        let aggs: Vec<Expr> = (0..todo.len())
            .map(|i| {
                in_period(col("day"), todo[i])
                    .cast(DataType::Int64)
                    .sum()
                    .alias(format!("n{i}"))
            })
            .collect();
        let out = self
            .outreach
            .clone()
            .lazy()
            .group_by([col("kind")])
            .agg(aggs)
            .collect()?;
        let kinds = out.column("kind")?.str()?.clone();
        let mut counted = self.outreach_counted.lock().unwrap_or_else(|e| e.into_inner());
        for (i, p) in todo.iter().enumerate() {
            let mut by_kind = HashMap::new();
            for r in 0..out.height() {
                // Only the kinds the period has, as a count of its own rows would give.
                let n = i64_at(&out, &format!("n{i}"), r)?;
                if n > 0 {
                    by_kind.insert(kinds.get(r).unwrap_or("").to_owned(), n);
                }
            }
            counted.insert((p.from, p.to), by_kind);
        }
        Ok(())
    }

    /// The KPIs of a period, with the same period one year earlier and the targets of its year.
    pub fn kpis(&self, p: &Period) -> PolarsResult<Kpis> {
        use TargetMetric::*;
        self.sum_ahead(std::slice::from_ref(p))?;
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
        let (outreach_total, outreach_by_kind) = self.outreach_compared(p, &prev)?;
        let (major_projects, major_investment) = self.major_compared(p, &prev)?;
        let both = (p, &prev);
        let (above_now, above_then) = (self.sum(Sum::AboveSize, p)?, self.sum(Sum::AboveSize, &prev)?);
        let mut blockers = self.blocker_stats(p)?;
        let blockers_by_category = blockers.split_off(1);
        Ok(Kpis {
            period: p.into(),
            previous_year: (&prev).into(),
            as_of: self.as_of,
            within: None,
            visit_batches: cmp(VisitBatches),
            person_times: cmp(PersonTimes),
            outreach_total,
            outreach_by_kind,
            projects_negotiating: cmp(ProjectsNegotiating),
            projects_signed: cmp(ProjectsSigned),
            projects_landed: cmp(ProjectsLanded),
            projects_started: cmp(ProjectsStarted),
            projects_producing: cmp(ProjectsProducing),
            major_projects,
            major_investment,
            new_above_size: Compare {
                value: above_now,
                previous: above_then,
                growth_pct: growth(above_now as f64, above_then as f64),
            },
            support_funds: self.sum_compared(Sum::SupportFunds, both, entity::money::wan)?,
            signed_investment: money(SignedInvestment),
            funds_arrived: money(FundsArrived),
            domestic_funds: self.sum_compared(Sum::DomesticFunds, both, entity::money::wan)?,
            foreign_funds: self.sum_compared(Sum::ForeignFunds, both, entity::money::wan_usd)?,
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
        let Some(ytd) = self.year_to_date(year) else {
            return Ok(Vec::new());
        };
        let mut targets: Vec<&(i32, TargetMetric, i64)> = self.targets.iter().filter(|t| t.0 == year).collect();
        targets.sort_by_key(|t| t.1 as u8);
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
