//! What the KPIs read of the projects, the incubation candidates and the blockers, counted by the database: the flow
//! counts and the signed investment of some periods (one histogram of reach days per stage), the 重大项目 worked on
//! in them (their candidates, less those with a 终止 that sat idle) and the blocker figures (counts per category, and
//! days to resolve per category and number of days), instead of reading every project reached by the as-of date,
//! every candidate's events, every 重大项目's events and every blocker. These are the rules of [`Analytics::kpis`]
//! (docs/DEFINITIONS.md) written as SQL aggregates; a test holds the two equal.
//!
//! Over every record (a user who sees all), the histograms, the 重大项目 candidates and the blocker counts are sums
//! over the counts the database keeps as records are written (migration `m20261209_000023_kept_figures`): a few
//! thousand rows however large the park. A user who sees only some records has them counted from those records.
//!
//! [`Analytics::kpis`]: super::super::Analytics::kpis

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use entity::{
    blocker,
    enums::{IncubationStage, ProjectStage},
    incubation_candidate,
    pipeline::Stage,
    project, stage_event,
    visible::Visible,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Alias, Condition, Expr, ExprTrait, Func, Order, Query, SelectStatement},
};

use super::{Counting, STAGES, days_between, scanned, written};
use crate::{
    analytics::{BlockerStats, FunnelKind, kpis::year_to_date, median_p90},
    period::Period,
};

/// The stages of the incubation pipeline.
pub(in crate::analytics) const INCUBATION_STAGES: usize = IncubationStage::ORDER.len();

/// Per stage, the days on which records reached it, each with how many did and, for 签约, the investment they agreed.
type Reached = Vec<Vec<(NaiveDate, i64, i64)>>;

/// A period by its first and last day.
pub(in crate::analytics) type Span = (NaiveDate, NaiveDate);

/// The figures of the projects and blockers that the KPIs of some periods read, counted by the database.
#[derive(Debug, Default)]
pub struct DbFigures {
    /// Per period: how many projects reached each stage in it (flow) and the investment agreed by those signed in it
    /// (yuan).
    pub(in crate::analytics) flows: HashMap<Span, ([i64; STAGES], i64)>,
    /// Per period: how many incubation candidates seen reached each stage in it.
    pub(in crate::analytics) incubation: HashMap<Span, [i64; INCUBATION_STAGES]>,
    /// Per period: the 重大项目 worked on in it and their agreed investment (yuan).
    pub(in crate::analytics) majors: HashMap<Span, (i64, i64)>,
    /// Per period: the blocker figures, the total first, then each category's.
    pub(in crate::analytics) blockers: HashMap<Span, Vec<BlockerStats>>,
}

/// What the KPIs of each of `main` read, as of `as_of`, of the records `visible`: the flows and signed investment of
/// the period, of the year before it and of `year_to_date` of its year; the 重大项目 of the period and the year before;
/// the period's blockers. `flows` asks the flows of more periods (the home page's months).
pub(in crate::analytics) async fn db_figures<C: ConnectionTrait>(
    db: &C,
    as_of: NaiveDate,
    (main, flows): (&[Period], &[Period]),
    visible: &Visible,
) -> anyhow::Result<DbFigures> {
    let counting = Counting {
        as_of,
        kind: FunnelKind::Flow,
        by: None,
        visible,
        backend: db.get_database_backend(),
    };
    let majors: Vec<Period> = distinct(main.iter().flat_map(|p| [p.clone(), p.previous_year()]));
    let flows = distinct(
        majors
            .iter()
            .cloned()
            .chain(main.iter().filter_map(|p| year_to_date(p.to.year(), as_of)))
            .chain(flows.iter().cloned()),
    );
    let blocker_figures = futures_util::future::try_join_all(main.iter().map(|p| counting.blockers(db, p)));
    let (counted, incubation, candidates, dropped, blockers) = futures_util::try_join!(
        counting.flows(db, &flows),
        counting.incubation_flows(db, &flows),
        counting.major_candidates(db, &majors),
        counting.dropped_majors(db, &majors),
        blocker_figures,
    )?;
    let mut out = DbFigures::default();
    for ((p, counted), (reached, _)) in flows.iter().zip(counted).zip(incubation) {
        out.flows.insert((p.from, p.to), counted);
        let mut stages = [0; INCUBATION_STAGES];
        stages.copy_from_slice(&reached);
        out.incubation.insert((p.from, p.to), stages);
    }
    for ((p, (n, yuan)), (off_n, off_yuan)) in majors.iter().zip(candidates).zip(dropped) {
        out.majors.insert((p.from, p.to), (n - off_n, yuan - off_yuan));
    }
    for (p, b) in main.iter().zip(blockers) {
        out.blockers.insert((p.from, p.to), b);
    }
    Ok(out)
}

/// The periods, each once, in order of their days.
fn distinct(periods: impl Iterator<Item = Period>) -> Vec<Period> {
    let mut out: Vec<Period> = periods.collect();
    out.sort_by_key(|p| (p.from, p.to));
    out.dedup_by_key(|p| (p.from, p.to));
    out
}

/// `SUM(value)` as a BIGINT (PostgreSQL sums a BIGINT column as NUMERIC).
pub(in crate::analytics) fn sum(value: impl Into<Expr>) -> Expr {
    Expr::expr(Func::cast_as(Func::sum(value), Alias::new("BIGINT")))
}

/// `SUM(CASE WHEN cond THEN value ELSE 0 END)` as a BIGINT.
fn sum_if(cond: Condition, value: impl Into<Expr>) -> Expr {
    sum(Expr::case(cond, value).finally(0))
}

/// A project's agreed investment (yuan; 0 when not given).
fn agreed() -> Expr {
    Expr::expr(Func::coalesce([
        Expr::col((project::Entity, project::Column::AgreedInvestmentYuan)),
        Expr::val(0i64),
    ]))
}

/// A sum as read: none (no rows) is 0.
fn sum_at(row: &sea_orm::QueryResult, i: usize) -> Result<i64, sea_orm::DbErr> {
    Ok(row.try_get_by_index::<Option<i64>>(i)?.unwrap_or(0))
}

impl Counting<'_> {
    /// Whether a 重大项目 is a candidate to have been worked on in `p`: first recorded by its end and not in
    /// production (as of the as-of date) before its start.
    fn major_candidate(&self, p: &Period) -> Condition {
        let reach = |k: usize| Expr::col((project::Entity, project::REACHED[k]));
        Condition::all()
            .add(Expr::col((project::Entity, project::Column::IsMajor)).eq(true))
            .add(reach(0).lte(p.to))
            .add(
                Condition::any()
                    .add(reach(5).is_null())
                    .add(reach(5).gte(p.from))
                    .add(reach(5).gt(self.as_of)),
            )
    }

    /// Per period of `flows`: how many projects seen reached each stage in it (by the as-of date) and the investment
    /// agreed by those signed in it, from per-stage histograms of the reach days over all the periods.
    async fn flows<C: ConnectionTrait>(&self, db: &C, flows: &[Period]) -> anyhow::Result<Vec<([i64; STAGES], i64)>> {
        let Some(span) = self.span(flows) else {
            return Ok(Vec::new());
        };
        let days = futures_util::future::try_join_all((0..STAGES).map(|k| self.reached_per_day(db, k, span))).await?;
        Ok(self
            .per_period(&days, flows)
            .into_iter()
            .map(|(reached, yuan)| {
                let mut stages = [0; STAGES];
                stages.copy_from_slice(&reached);
                (stages, yuan)
            })
            .collect())
    }

    /// Per period of `flows`: how many incubation candidates seen reached each stage in it (by the as-of date).
    async fn incubation_flows<C: ConnectionTrait>(
        &self,
        db: &C,
        flows: &[Period],
    ) -> anyhow::Result<Vec<(Vec<i64>, i64)>> {
        let Some(span) = self.span(flows) else {
            return Ok(Vec::new());
        };
        let days = (0..INCUBATION_STAGES).map(|k| self.incubation_reached_per_day(db, k, span));
        Ok(self.per_period(&futures_util::future::try_join_all(days).await?, flows))
    }

    /// The days from the first of `flows` to the last one counted (none without periods).
    fn span(&self, flows: &[Period]) -> Option<Span> {
        Some((
            flows.iter().map(|p| p.from).min()?,
            flows.iter().map(|p| std::cmp::Ord::min(p.to, self.as_of)).max()?,
        ))
    }

    /// Per period of `flows`: the records that reached each stage in it (by the as-of date) and the investment they
    /// agreed, summed from the per-stage histograms `days`.
    fn per_period(&self, days: &Reached, flows: &[Period]) -> Vec<(Vec<i64>, i64)> {
        flows
            .iter()
            .map(|p| {
                let to = std::cmp::Ord::min(p.to, self.as_of);
                let mut out = (vec![0; days.len()], 0);
                for (k, days) in days.iter().enumerate() {
                    let (a, b) = (
                        days.partition_point(|d| d.0 < p.from),
                        days.partition_point(|d| d.0 <= to),
                    );
                    for &(_, n, yuan) in days.get(a..b).unwrap_or_default() {
                        out.0[k] += n;
                        out.1 += yuan;
                    }
                }
                out
            })
            .collect()
    }

    /// Per day from `lo` to `hi` (in order), how many incubation candidates seen reached stage `k` on it (by the
    /// rule of docs/DEFINITIONS.md, as each candidate keeps it).
    async fn incubation_reached_per_day<C: ConnectionTrait>(
        &self,
        db: &C,
        k: usize,
        (lo, hi): Span,
    ) -> anyhow::Result<Vec<(NaiveDate, i64, i64)>> {
        let select = if self.visible.is_all() {
            let t = Alias::new("candidate_reach_days");
            kept_days(&t, k, (lo, hi))
                .expr(sum(Expr::col((t, Alias::new("candidates")))))
                .to_owned()
        } else {
            let on = Expr::col((incubation_candidate::Entity, incubation_candidate::REACHED[k]));
            incubation_candidate::Entity::find()
                .select_only()
                .column_as(on.clone(), "day")
                .expr(Expr::cust("COUNT(*)"))
                .filter(on.clone().between(lo, hi))
                .apply_if(
                    self.visible.owned(incubation_candidate::Column::OwnerId),
                    QueryFilter::filter,
                )
                .group_by(on.clone())
                .order_by_asc(on)
                .into_query()
        };
        day_counts(db, self.backend, &select, false).await
    }

    /// Per day from `lo` to `hi` (in order), how many projects seen reached stage `k` on it and, for 签约, the
    /// investment they agreed (0 for the other stages). The range is read through the stage's index.
    async fn reached_per_day<C: ConnectionTrait>(
        &self,
        db: &C,
        k: usize,
        (lo, hi): (NaiveDate, NaiveDate),
    ) -> anyhow::Result<Vec<(NaiveDate, i64, i64)>> {
        if self.visible.is_all() {
            let t = Alias::new("project_reach_days");
            let select = kept_days(&t, k, (lo, hi))
                .expr(sum(Expr::col((t.clone(), Alias::new("projects")))))
                .expr(sum(Expr::col((t, Alias::new("yuan")))))
                .to_owned();
            return day_counts(db, self.backend, &select, k == 2).await;
        }
        let on = Expr::col((project::Entity, project::REACHED[k]));
        let signed = k == 2;
        let select = project::Entity::find()
            .select_only()
            .column_as(on.clone(), "day")
            .expr(Expr::cust("COUNT(*)"))
            .apply_if(signed.then(|| sum(agreed())), QuerySelect::expr)
            .filter(on.clone().between(lo, hi))
            .apply_if(self.visible.projects(), QueryFilter::filter)
            .group_by(on.clone())
            .order_by_asc(on);
        day_counts(db, self.backend, &select.into_query(), signed).await
    }

    /// Per period of `majors`: the 重大项目 seen that may have been worked on in it ([`Counting::major_candidate`];
    /// see [`Counting::dropped_majors`]) and their agreed investment.
    async fn major_candidates<C: ConnectionTrait>(&self, db: &C, majors: &[Period]) -> anyhow::Result<Vec<(i64, i64)>> {
        if self.visible.is_all() {
            return self.kept_major_candidates(db, majors).await;
        }
        let mut select = project::Entity::find()
            .select_only()
            .filter(project::Column::IsMajor.eq(true))
            .filter(self.reach(0).lte(self.as_of))
            .apply_if(self.visible.projects(), QueryFilter::filter);
        for p in majors {
            select = select
                .expr(sum_if(self.major_candidate(p), 1))
                .expr(sum_if(self.major_candidate(p), agreed()));
        }
        let row = db
            .query_one_raw(select.build(self.backend))
            .await?
            .ok_or_else(|| anyhow::anyhow!("an aggregate answers one row"))?;
        (0..majors.len())
            .map(|i| Ok((sum_at(&row, 2 * i)?, sum_at(&row, 2 * i + 1)?)))
            .collect()
    }

    /// [`Counting::major_candidates`] of every 重大项目, from their kept reach days: those recorded by the period's
    /// end less those in production before its start (by the as-of date). A project reaches 投产 no earlier than its
    /// first stage, so the second are among the first.
    async fn kept_major_candidates<C: ConnectionTrait>(
        &self,
        db: &C,
        majors: &[Period],
    ) -> anyhow::Result<Vec<(i64, i64)>> {
        let t = Alias::new("project_reach_days");
        let col = |c: &str| Expr::col((t.clone(), Alias::new(c)));
        let mut select = Query::select()
            .from(t.clone())
            .and_where(col("major").eq(true))
            .and_where(col("day").lte(self.as_of))
            .to_owned();
        for p in majors {
            let recorded = Condition::all()
                .add(col("stage").eq(0))
                .add(col("day").lte(std::cmp::Ord::min(p.to, self.as_of)));
            let producing = Condition::all().add(col("stage").eq(5)).add(col("day").lt(p.from));
            for c in [recorded, producing] {
                select
                    .expr(sum_if(c.clone(), col("projects")))
                    .expr(sum_if(c, col("yuan")));
            }
        }
        let row = db
            .query_one_raw(self.backend.build(&select))
            .await?
            .ok_or_else(|| anyhow::anyhow!("an aggregate answers one row"))?;
        (0..majors.len())
            .map(|i| {
                let at = |j| sum_at(&row, 4 * i + j);
                Ok((at(0)? - at(2)?, at(1)? - at(3)?))
            })
            .collect()
    }

    /// Per period of `majors`: the 重大项目 candidates of [`Counting::major_candidate`] that were not worked on in it —
    /// off to the side at its start (their latest event before it a 终止) and not moved in it — and their agreed
    /// investment. Only projects with a 终止 event can be off to the side: their events are grouped per project.
    async fn dropped_majors<C: ConnectionTrait>(&self, db: &C, majors: &[Period]) -> anyhow::Result<Vec<(i64, i64)>> {
        if majors.is_empty() {
            return Ok(Vec::new());
        }
        if self.visible.is_all() {
            return self.kept_dropped_majors(db, majors).await;
        }
        let (stage, on, owner) = (
            stage_event::Column::Stage,
            stage_event::Column::OccurredOn,
            stage_event::Column::ProjectId,
        );
        let majors_ids = project::Entity::find()
            .select_only()
            .column(project::Column::Id)
            .filter(project::Column::IsMajor.eq(true))
            .into_query();
        let dropped = stage_event::Entity::find()
            .select_only()
            .column(owner)
            .filter(stage.eq(ProjectStage::Dropped))
            .filter(on.lte(self.as_of))
            .filter(owner.in_subquery(majors_ids))
            .into_query();
        let mut events = stage_event::Entity::find()
            .select_only()
            .column(owner)
            .filter(on.lte(self.as_of))
            .filter(owner.in_subquery(dropped))
            .group_by(owner);
        let latest = |kind: Expr, before: NaiveDate| {
            Func::max(Expr::case(Condition::all().add(kind).add(on.lt(before)), Expr::col(on)).finally(Expr::null()))
        };
        for (i, p) in majors.iter().enumerate() {
            let moved_in = Condition::all()
                .add(stage.ne(ProjectStage::Dropped))
                .add(on.between(p.from, p.to));
            events = events
                .expr_as(latest(stage.eq(ProjectStage::Dropped), p.from), format!("d{i}"))
                .expr_as(latest(stage.ne(ProjectStage::Dropped), p.from), format!("m{i}"))
                .expr_as(Func::max(Expr::case(moved_in, 1).finally(0)), format!("i{i}"));
        }
        let x = Alias::new("x");
        let of = |c: String| Expr::col((x.clone(), Alias::new(c)));
        let mut select: SelectStatement = project::Entity::find()
            .select_only()
            .filter(self.reach(0).lte(self.as_of))
            .apply_if(self.visible.projects(), QueryFilter::filter)
            .into_query();
        select.join_subquery(
            JoinType::InnerJoin,
            events.into_query(),
            x.clone(),
            of("project_id".into()).equals((project::Entity, project::Column::Id)),
        );
        for (i, p) in majors.iter().enumerate() {
            let (drop, moved) = (of(format!("d{i}")), of(format!("m{i}")));
            let idle = self
                .major_candidate(p)
                .add(drop.clone().is_not_null())
                .add(Condition::any().add(moved.clone().is_null()).add(drop.gte(moved)))
                .add(of(format!("i{i}")).eq(0));
            select.expr(sum_if(idle.clone(), 1)).expr(sum_if(idle, agreed()));
        }
        let row = db
            .query_one_raw(self.backend.build(&select))
            .await?
            .ok_or_else(|| anyhow::anyhow!("an aggregate answers one row"))?;
        (0..majors.len())
            .map(|i| Ok((sum_at(&row, 2 * i)?, sum_at(&row, 2 * i + 1)?)))
            .collect()
    }

    /// [`Counting::dropped_majors`] of every 重大项目, from the spells off to the side the database keeps: those that
    /// began before the period (by the as-of date) and lasted past its end (as of the as-of date), of a 重大项目 not in
    /// production when dropped. The spells never ended are summed per day dropped (`drop_days`); the few that ended
    /// are read by the day they ended (`drop_spans`). Such a project had reached its first stage before it was
    /// dropped and was not in production before the period began, so it is one of the period's candidates.
    async fn kept_dropped_majors<C: ConnectionTrait>(
        &self,
        db: &C,
        majors: &[Period],
    ) -> anyhow::Result<Vec<(i64, i64)>> {
        let (days, spans) = (Alias::new("drop_days"), Alias::new("drop_spans"));
        let day = Expr::col((days.clone(), Alias::new("day")));
        let mut never = Query::select().from(days.clone()).to_owned();
        let dropped = Expr::col((spans.clone(), Alias::new("dropped_on")));
        let resumed = Expr::col((spans.clone(), Alias::new("resumed_on")));
        let ends = majors.iter().map(|p| std::cmp::Ord::min(p.to, self.as_of));
        let mut ended = Query::select()
            .from(spans.clone())
            .and_where(Expr::col((spans.clone(), Alias::new("counted"))).eq(true))
            .and_where(resumed.clone().gt(ends.min().unwrap_or(self.as_of)))
            .to_owned();
        for p in majors {
            let began = |on: &Expr| {
                Condition::all()
                    .add(on.clone().lt(p.from))
                    .add(on.clone().lte(self.as_of))
            };
            never
                .expr(sum_if(began(&day), Expr::col((days.clone(), Alias::new("projects")))))
                .expr(sum_if(began(&day), Expr::col((days.clone(), Alias::new("yuan")))));
            let lasted = began(&dropped).add(resumed.clone().gt(std::cmp::Ord::min(p.to, self.as_of)));
            ended
                .expr(sum_if(lasted.clone(), 1))
                .expr(sum_if(lasted, Expr::col((spans.clone(), Alias::new("yuan")))));
        }
        let (never, ended) = futures_util::try_join!(
            db.query_one_raw(self.backend.build(&never)),
            db.query_one_raw(self.backend.build(&ended)),
        )?;
        let (never, ended) = never
            .zip(ended)
            .ok_or_else(|| anyhow::anyhow!("an aggregate answers one row"))?;
        (0..majors.len())
            .map(|i| {
                let at = |row: &sea_orm::QueryResult, j| sum_at(row, 2 * i + j);
                Ok((at(&never, 0)? + at(&ended, 0)?, at(&never, 1)? + at(&ended, 1)?))
            })
            .collect()
    }

    /// The blockers of the projects seen over `p`, in all (first) and by category: raised in it, resolved in it (with
    /// the median days it took), open at its end (as of the as-of date) and of those overdue. Every category of a
    /// blocker raised by the as-of date is listed, as the engine lists the categories it reads.
    async fn blockers<C: ConnectionTrait>(&self, db: &C, p: &Period) -> anyhow::Result<Vec<BlockerStats>> {
        use blocker::Column::{Category, DueDate, OpenedOn, ResolvedOn};
        let end = std::cmp::Ord::min(p.to, self.as_of);
        let col = |c: blocker::Column| Expr::col((blocker::Entity, c));
        let resolved_in = || Condition::all().add(col(ResolvedOn).between(p.from, end));
        let open_at_end = || {
            Condition::all().add(col(OpenedOn).lte(end)).add(
                Condition::any()
                    .add(col(ResolvedOn).is_null())
                    .add(col(ResolvedOn).gt(end)),
            )
        };
        let seen = || {
            blocker::Entity::find()
                .select_only()
                .column(Category)
                .filter(scanned(self.backend, blocker::Entity, OpenedOn).lte(self.as_of))
                .apply_if(
                    self.visible.via_project(blocker::Column::ProjectId),
                    QueryFilter::filter,
                )
                .group_by(Category)
        };
        let counts = if self.visible.is_all() {
            kept_blocker_counts((p.from, end), self.as_of)
        } else {
            seen()
                .expr(sum_if(Condition::all().add(col(OpenedOn).between(p.from, p.to)), 1))
                .expr(sum_if(resolved_in(), 1))
                .expr(sum_if(open_at_end(), 1))
                .expr(sum_if(open_at_end().add(col(DueDate).lt(end)), 1))
                .into_query()
        };
        let days = days_between(
            self.backend,
            &written(blocker::Entity, OpenedOn),
            &written(blocker::Entity, ResolvedOn),
        );
        let took = seen()
            .column_as(days.clone(), "days")
            .expr(Expr::cust("COUNT(*)"))
            .filter(resolved_in())
            .group_by(days);
        let (counts, took) = futures_util::try_join!(
            db.query_all_raw(self.backend.build(&counts)),
            db.query_all_raw(took.build(self.backend)),
        )?;
        blocker_stats(&counts, &took)
    }
}

/// Per day from `lo` to `hi`, the sums of stage `k`'s rows of the kept reach days `t` (their columns to add).
fn kept_days(t: &Alias, k: usize, (lo, hi): Span) -> SelectStatement {
    let day = Expr::col((t.clone(), Alias::new("day")));
    Query::select()
        .expr(day.clone())
        .from(t.clone())
        .and_where(Expr::col((t.clone(), Alias::new("stage"))).eq(i32::try_from(k).unwrap_or(i32::MAX)))
        .and_where(day.clone().between(lo, hi))
        .group_by_col((t.clone(), Alias::new("day")))
        .order_by_expr(day, Order::Asc)
        .to_owned()
}

/// Per day, how many records reached a stage on it and, when `with_yuan`, the investment they agreed (else 0):
/// the rows of `select` (day, count[, yuan]).
async fn day_counts<C: ConnectionTrait>(
    db: &C,
    backend: sea_orm::DbBackend,
    select: &SelectStatement,
    with_yuan: bool,
) -> anyhow::Result<Vec<(NaiveDate, i64, i64)>> {
    let rows = db.query_all_raw(backend.build(select)).await?;
    rows.iter()
        .map(|row| {
            let yuan = if with_yuan { sum_at(row, 2)? } else { 0 };
            Ok((row.try_get_by_index(0)?, sum_at(row, 1)?, yuan))
        })
        .collect()
}

/// The blockers' counts per category over the days `from` to `end` (the period's last day counted), from their kept
/// days (`blocker_days`): raised and resolved in it, and at `end` open (raised less resolved by then) and overdue
/// (the changes by then). Every category with a blocker raised by the as-of date is listed.
fn kept_blocker_counts((from, end): Span, as_of: NaiveDate) -> SelectStatement {
    let t = Alias::new("blocker_days");
    let col = |c: &str| Expr::col((t.clone(), Alias::new(c)));
    let by_end = || Condition::all().add(col("day").lte(end));
    let in_period = || Condition::all().add(col("day").between(from, end));
    Query::select()
        .expr(col("category"))
        .expr(sum_if(in_period(), col("opened")))
        .expr(sum_if(in_period(), col("resolved")))
        .expr(sum_if(by_end(), col("opened").sub(col("resolved"))))
        .expr(sum_if(by_end(), col("overdue")))
        .from(t.clone())
        .and_where(col("day").lte(as_of))
        .group_by_col((t.clone(), Alias::new("category")))
        .and_having(sum(col("opened")).gt(0))
        .to_owned()
}

/// The blocker figures from their counts per category and their days to resolve per category and number of days:
/// the total first, then the categories in order.
fn blocker_stats(counts: &[sea_orm::QueryResult], took: &[sea_orm::QueryResult]) -> anyhow::Result<Vec<BlockerStats>> {
    let mut by_category: BTreeMap<String, (BlockerStats, Vec<i32>)> = BTreeMap::new();
    for row in counts {
        let category: String = row.try_get_by_index(0)?;
        let stats = BlockerStats {
            category: category.clone(),
            opened: sum_at(row, 1)?,
            resolved: sum_at(row, 2)?,
            open_at_end: sum_at(row, 3)?,
            overdue: sum_at(row, 4)?,
            median_days_to_resolve: None,
        };
        by_category.insert(category, (stats, Vec::new()));
    }
    for row in took {
        let (category, d, n): (String, i64, i64) = (
            row.try_get_by_index(0)?,
            row.try_get_by_index(1)?,
            row.try_get_by_index(2)?,
        );
        if let Some((_, days)) = by_category.get_mut(&category) {
            days.extend(std::iter::repeat_n(i32::try_from(d)?, usize::try_from(n)?));
        }
    }
    let mut total = BlockerStats {
        category: "all".into(),
        opened: 0,
        resolved: 0,
        open_at_end: 0,
        overdue: 0,
        median_days_to_resolve: None,
    };
    let mut all_days = Vec::new();
    let mut out = vec![];
    for (_, (mut stats, days)) in by_category {
        total.opened += stats.opened;
        total.resolved += stats.resolved;
        total.open_at_end += stats.open_at_end;
        total.overdue += stats.overdue;
        all_days.extend_from_slice(&days);
        stats.median_days_to_resolve = median_p90(days).0;
        out.push(stats);
    }
    total.median_days_to_resolve = median_p90(all_days).0;
    out.insert(0, total);
    Ok(out)
}
