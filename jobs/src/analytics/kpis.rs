//! The KPIs of a period: visits, outreach, flow counts, money, incubation, blockers, targets.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use entity::enums::TargetMetric;
use polars::prelude::*;
use rust_decimal::Decimal;

use crate::period::Period;

use super::types::*;
use super::{Analytics, day, growth, i64_at, in_period, median_p90};

impl Analytics {
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
            (VisitBatches, self.sum_in(&self.visits, Some("batches"), p)?),
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

    /// The projects off to the side (终止) at the start of the day `cutoff`: whose latest event before it is a 终止.
    fn dropped_before(&self, cutoff: i32) -> LazyFrame {
        let moved = self
            .project_moves
            .clone()
            .lazy()
            .filter(col("day").lt(lit(cutoff)))
            .group_by([col("id")])
            .agg([col("day").max().alias("moved")]);
        self.project_drops
            .clone()
            .lazy()
            .filter(col("day").lt(lit(cutoff)))
            .group_by([col("id")])
            .agg([col("day").max().alias("dropped")])
            .join(moved, [col("id")], [col("id")], JoinArgs::new(JoinType::Left))
            .filter(col("moved").is_null().or(col("dropped").gt_eq(col("moved"))))
            .select([col("id")])
    }

    /// 重大项目 worked on during a period (docs/DEFINITIONS.md): the major projects first recorded by its end that
    /// had not reached 竣工投产 before its start, and were not 终止 all through it; their number and agreed
    /// investment (yuan).
    pub fn major(&self, p: &Period) -> PolarsResult<(i64, i64)> {
        let (start, end) = (day(p.from), day(p.to));
        let moved_in = self
            .project_moves
            .clone()
            .lazy()
            .filter(in_period(col("day"), p))
            .group_by([col("id")])
            .agg([len().alias("moves")]);
        let idle = self
            .dropped_before(start)
            .join(moved_in, [col("id")], [col("id")], JoinArgs::new(JoinType::Left))
            .filter(col("moves").is_null())
            .select([col("id"), lit(true).alias("idle")]);
        let out = self
            .projects
            .clone()
            .lazy()
            .filter(
                col("major")
                    .and(col("r0").lt_eq(lit(end)))
                    .and(col("r5").is_null().or(col("r5").gt_eq(lit(start)))),
            )
            .join(idle, [col("id")], [col("id")], JoinArgs::new(JoinType::Left))
            .filter(col("idle").is_null())
            .select([
                len().cast(DataType::Int64).alias("n"),
                col("agreed").cast(DataType::Int64).sum().alias("v"),
            ])
            .collect()?;
        Ok((i64_at(&out, "n", 0)?, i64_at(&out, "v", 0)?))
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

    /// The major projects of a period beside the year before: their number and their agreed investment.
    /// The sum of a money column over a period beside the year before, in the unit `unit` turns it into.
    fn sum_compared(
        &self,
        df: &DataFrame,
        value: &str,
        (p, prev): (&Period, &Period),
        unit: fn(i64) -> Decimal,
    ) -> PolarsResult<MoneyCompare> {
        let (now, then) = (self.sum_in(df, Some(value), p)?, self.sum_in(df, Some(value), prev)?);
        Ok(MoneyCompare {
            value: unit(now),
            previous: unit(then),
            growth_pct: growth(now as f64, then as f64),
        })
    }

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
        (1..=last_month.min(12))
            .map(|month| {
                let p = Period::parse(&format!("{year}-{month:02}"))
                    .map_err(|e| PolarsError::ComputeError(e.to_string().into()))?;
                Ok(MonthFigures {
                    month,
                    visit_batches: self.sum_in(&self.visits, Some("batches"), &p)?,
                    person_times: self.sum_in(&self.visits, Some("headcount"), &p)?,
                    signed: self.projects_reaching(2, &p)?.len() as i64,
                })
            })
            .collect()
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
        let (outreach_total, outreach_by_kind) = self.outreach_compared(p, &prev)?;
        let (major_projects, major_investment) = self.major_compared(p, &prev)?;
        let both = (p, &prev);
        let (above_now, above_then) = (
            self.sum_in(&self.above_size, None, p)?,
            self.sum_in(&self.above_size, None, &prev)?,
        );
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
            support_funds: self.sum_compared(&self.support, "amount", both, entity::money::wan)?,
            signed_investment: money(SignedInvestment),
            funds_arrived: money(FundsArrived),
            domestic_funds: self.sum_compared(&self.funds, "domestic", both, entity::money::wan)?,
            foreign_funds: self.sum_compared(&self.funds, "usd", both, entity::money::wan_usd)?,
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
