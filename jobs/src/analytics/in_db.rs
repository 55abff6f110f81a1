//! A project funnel counted by the database, from the reach dates each project keeps: the on-demand funnel reads a
//! few hundred sums instead of every project reached by the as-of date. These are the counting rules of [`tally`]
//! (docs/DEFINITIONS.md, "Flow funnel", "Cohort funnel", "Days between stages") written as SQL aggregates; a test
//! holds the two equal on every breakdown, kind, period and as-of date of two parks.
//!
//! [`tally`]: super::tally

use std::collections::BTreeMap;

use chrono::NaiveDate;
use entity::{project, user, visible::Visible};
use futures_util::future::try_join_all;
use sea_orm::{
    ConnectionTrait, DbBackend, EntityName, EntityTrait, IdenStatic, JoinType, QueryFilter, QuerySelect, QueryTrait,
    Select,
    sea_query::{Alias, Condition, Expr, ExprTrait, Func},
};

use super::{Breakdown, Counted, Funnel, FunnelKind, GroupCount, Pipeline, Tallies, assemble, load::leader_link};
use crate::period::Period;

mod kpis;

pub use kpis::DbFigures;
pub(super) use kpis::{db_figures, sum};

/// The stages of the main line.
const STAGES: usize = project::REACHED.len();

/// The flow or cohort funnel of projects over `p` as of `as_of`, of the projects `visible`, optionally broken down:
/// the same figures as [`super::Analytics::funnel`] computed from everything.
pub async fn project_funnel<C: ConnectionTrait>(
    db: &C,
    as_of: NaiveDate,
    (kind, p, by): (FunnelKind, &Period, Option<Breakdown>),
    visible: &Visible,
) -> anyhow::Result<Funnel> {
    let prev = p.previous_year();
    let counting = Counting {
        as_of,
        kind,
        by,
        visible,
        backend: db.get_database_backend(),
    };
    let days = (1..STAGES).map(|k| counting.days(db, p, k));
    let (counts, days) = futures_util::try_join!(counting.counts(db, [p, &prev]), try_join_all(days))?;
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for (key, now, before) in counts {
        let g = groups.entry(key).or_default();
        (g.now, g.before) = (now, before);
    }
    for (k, rows) in days.into_iter().enumerate() {
        for (key, d, n) in rows {
            let g = groups.entry(key).or_default();
            g.days[k + 1].extend(std::iter::repeat_n(d, usize::try_from(n)?));
        }
    }
    let mut total = Group::default();
    for g in groups.values() {
        for k in 0..STAGES {
            total.now[k] += g.now[k];
            total.before[k] += g.before[k];
            total.days[k].extend_from_slice(&g.days[k]);
        }
    }
    let one = |g: Group, key: String| -> (GroupCount, GroupCount) {
        (
            (key.clone(), g.now.to_vec(), g.days.to_vec()),
            (key, g.before.to_vec(), Vec::new()),
        )
    };
    let (total, total_before) = one(total, "all".into());
    // A cohort breakdown lists the groups with a lead in the period; a flow one every group with a project reached
    // by the as-of date, as the engine does; no breakdown, none.
    let (listed, before): (Counted, Counted) = groups
        .into_iter()
        .filter(|(_, g)| by.is_some() && (kind == FunnelKind::Flow || g.now[0] > 0))
        .map(|(key, g)| one(g, key))
        .unzip();
    let tallies = Tallies {
        total: &vec![total],
        total_before: &vec![total_before],
        groups: &listed,
        groups_before: &before,
    };
    Ok(assemble((Pipeline::Projects, kind, by), p, as_of, tallies))
}

/// One group's counts per stage in the period and a year earlier, and the days each took from the stage before.
#[derive(Default)]
struct Group {
    now: [i64; STAGES],
    before: [i64; STAGES],
    days: [Vec<i32>; STAGES],
}

/// What one funnel's queries share.
struct Counting<'a> {
    as_of: NaiveDate,
    kind: FunnelKind,
    by: Option<Breakdown>,
    visible: &'a Visible,
    backend: DbBackend,
}

impl Counting<'_> {
    /// The reach date of stage `k` (0 = lead), as kept on the project, read by a plain scan.
    fn reach(&self, k: usize) -> Expr {
        scanned(self.backend, project::Entity, project::REACHED[k])
    }

    /// Whether a project counts at stage `k` in `p`: a flow, when it reached the stage in the period; a cohort, when
    /// it was a lead in the period and has reached the stage by the as-of date. Nothing after the as-of date counts.
    fn counts_at(&self, k: usize, p: &Period) -> Condition {
        let to = std::cmp::Ord::min(p.to, self.as_of);
        match self.kind {
            FunnelKind::Flow => Condition::all().add(self.reach(k).between(p.from, to)),
            FunnelKind::Cohort => Condition::all()
                .add(self.reach(0).between(p.from, to))
                .add(self.reach(k).lte(self.as_of)),
        }
    }

    /// The projects seen, with the breakdown's key selected as `key` (`(未填)` where empty) and grouped by.
    fn select(&self) -> Select<project::Entity> {
        let (select, key) = keyed(self.by);
        let select = select.apply_if(self.visible.projects(), QueryFilter::filter);
        match self.by {
            Some(_) => {
                // The empty key as a literal, not a parameter: PostgreSQL groups by the expression selected only when the
                // two are written alike.
                let key = Expr::expr(Func::coalesce([key, Expr::cust("'(未填)'")]));
                select.column_as(key.clone(), "key").group_by(key)
            }
            None => select.column_as(Expr::val("all"), "key"),
        }
    }

    /// Per group: how many projects count at each stage in each of the periods.
    async fn counts<C: ConnectionTrait>(
        &self,
        db: &C,
        [now, before]: [&Period; 2],
    ) -> anyhow::Result<Vec<(String, [i64; STAGES], [i64; STAGES])>> {
        if self.kind == FunnelKind::Flow && self.by.is_none() && self.visible.is_all() {
            return self.kept_flow_counts(db, [now, before]).await;
        }
        let mut select = self.select().filter(self.reach(0).lte(self.as_of));
        for p in [now, before] {
            for k in 0..STAGES {
                let one = Expr::case(self.counts_at(k, p), 1).finally(0);
                select = select.expr(Func::sum(one));
            }
        }
        let rows = db.query_all_raw(select.build(self.backend)).await?;
        let sum = |row: &sea_orm::QueryResult, i: usize| -> Result<i64, sea_orm::DbErr> {
            Ok(row.try_get_by_index::<Option<i64>>(i)?.unwrap_or(0))
        };
        rows.iter()
            .map(|row| {
                let (mut now, mut before) = ([0; STAGES], [0; STAGES]);
                for k in 0..STAGES {
                    now[k] = sum(row, 1 + k)?;
                    before[k] = sum(row, 1 + STAGES + k)?;
                }
                Ok((row.try_get_by_index(0)?, now, before))
            })
            .collect()
    }

    /// [`Counting::counts`] of a flow of every project without a breakdown, summed from the reach days the database
    /// keeps per stage and day (`project_reach_days`): a few thousand rows instead of every project.
    async fn kept_flow_counts<C: ConnectionTrait>(
        &self,
        db: &C,
        periods: [&Period; 2],
    ) -> anyhow::Result<Vec<(String, [i64; STAGES], [i64; STAGES])>> {
        let t = Alias::new("project_reach_days");
        let col = |c: &str| Expr::col((t.clone(), Alias::new(c)));
        let mut select = sea_orm::sea_query::Query::select();
        select.from(t.clone());
        for p in periods {
            let to = std::cmp::Ord::min(p.to, self.as_of);
            for k in 0..STAGES {
                let at = Condition::all()
                    .add(col("stage").eq(i32::try_from(k)?))
                    .add(col("day").between(p.from, to));
                select.expr(kpis::sum(Expr::case(at, col("projects")).finally(0)));
            }
        }
        let row = db
            .query_one_raw(self.backend.build(&select))
            .await?
            .ok_or_else(|| anyhow::anyhow!("an aggregate answers one row"))?;
        let (mut now, mut before) = ([0; STAGES], [0; STAGES]);
        for k in 0..STAGES {
            now[k] = row.try_get_by_index::<Option<i64>>(k)?.unwrap_or(0);
            before[k] = row.try_get_by_index::<Option<i64>>(STAGES + k)?.unwrap_or(0);
        }
        Ok(vec![("all".into(), now, before)])
    }

    /// Per group: of the projects counted at stage `k` (≥ 1) in `p`, how many took each number of days from the
    /// stage before.
    async fn days<C: ConnectionTrait>(&self, db: &C, p: &Period, k: usize) -> anyhow::Result<Vec<(String, i32, i64)>> {
        let [from, to] = [k - 1, k].map(|k| written(project::Entity, project::REACHED[k]));
        let days = days_between(self.backend, &from, &to);
        let select = self
            .select()
            .column_as(days.clone(), "days")
            .expr(Expr::cust("COUNT(*)"))
            .filter(self.counts_at(k, p))
            .group_by(days);
        let rows = db.query_all_raw(select.build(self.backend)).await?;
        rows.iter()
            .map(|row| {
                let days: i64 = row.try_get_by_index(1)?;
                Ok((row.try_get_by_index(0)?, i32::try_from(days)?, row.try_get_by_index(2)?))
            })
            .collect()
    }
}

/// A column written out with its table.
fn written(table: impl EntityName, column: impl IdenStatic) -> String {
    format!(r#""{}"."{}""#, table.table_name(), column.as_str())
}

/// A date column of a range that covers a large share of the rows, read by a plain scan: on SQLite with a unary
/// `+`, which keeps its planner off the column's index, where a look-up of the row per index entry costs two to
/// three times a scan (the projects' reach dates at 100k projects: 334 against 129 ms).
fn scanned(backend: DbBackend, table: impl EntityName, column: impl IdenStatic) -> Expr {
    match backend {
        DbBackend::Sqlite => Expr::cust(format!("+{}", written(table, column))),
        _ => Expr::col((table, column)),
    }
}

/// The whole days from the date in column `from` to that in `to` (both written out).
fn days_between(backend: DbBackend, from: &str, to: &str) -> Expr {
    Expr::cust(match backend {
        DbBackend::Sqlite => format!("CAST(julianday({to}) - julianday({from}) AS INTEGER)"),
        _ => format!("CAST({to} - {from} AS BIGINT)"),
    })
}

/// The projects, selected with nothing yet, and the expression of the column a breakdown groups them by (none
/// without one): a breakdown by contact leader joins the users (the company's province is kept on the project).
fn keyed(by: Option<Breakdown>) -> (sea_orm::Select<project::Entity>, Expr) {
    let leader = Alias::new("leader");
    let select = project::Entity::find().select_only();
    match by {
        Some(Breakdown::Industry) => (select, Expr::col((project::Entity, project::Column::Industry))),
        Some(Breakdown::Source) => (select, Expr::col((project::Entity, project::Column::Source))),
        Some(Breakdown::Province) => (select, Expr::col((project::Entity, project::Column::CompanyProvince))),
        // A linked leader by their name as it is now; a name that links no one as written.
        Some(Breakdown::ContactLeader) => (
            select.join_as(JoinType::LeftJoin, leader_link(), leader.clone()),
            Expr::expr(Func::coalesce([
                Expr::col((leader, user::Column::DisplayName)),
                Expr::col((project::Entity, project::Column::ContactLeader)),
            ])),
        ),
        Some(Breakdown::CohortYear) | None => (select, Expr::val(Option::<String>::None)),
    }
}
