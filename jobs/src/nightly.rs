//! The nightly `analytics` job: the standard periods around the as-of date, stored as snapshots in one
//! transaction. A failed run writes nothing, so the previous snapshots stay the latest.

use chrono::Utc;
use entity::{analytics_snapshot, job_run, visible::Visible};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};

use crate::{
    analytics::{self, Analytics, Breakdown, FunnelKind, Pipeline, Scope},
    period::Period,
    runner::Ctx,
};

/// The periods of a nightly run: the week, month, quarter, half-year and year of `as_of`, and the one before each.
pub fn standard_periods(as_of: chrono::NaiveDate) -> Vec<Period> {
    Period::containing(as_of)
        .into_iter()
        .flat_map(|p| {
            let prev = p.previous();
            [p, prev]
        })
        .collect()
}

/// One computed snapshot before it is stored.
struct Snapshot {
    period: Period,
    kind: String,
    payload: serde_json::Value,
}

fn compute(a: &Analytics, periods: &[Period]) -> anyhow::Result<Vec<Snapshot>> {
    use rayon::prelude::*;
    a.count_ahead(periods)?;
    // The periods side by side on the pool (the caller's, polars'); each one's snapshots in order.
    let per_period = periods
        .par_iter()
        .map(|p| snapshots_of(a, p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(per_period.into_iter().flatten().collect())
}

/// The KPIs and every funnel of one period, from counts taken ahead.
fn snapshots_of(a: &Analytics, p: &Period) -> anyhow::Result<Vec<Snapshot>> {
    let mut out = Vec::new();
    let mut push = |kind: String, payload: serde_json::Value| {
        out.push(Snapshot {
            period: p.clone(),
            kind,
            payload,
        })
    };
    push("kpis".into(), serde_json::to_value(a.kpis(p)?)?);
    for kind in [FunnelKind::Flow, FunnelKind::Cohort] {
        let k = serde_json::to_value(kind)?;
        let k = k.as_str().unwrap_or_default();
        for by in std::iter::once(None).chain(Breakdown::PROJECTS.map(Some)) {
            let name = by.map_or(String::new(), |b| {
                format!(
                    ":{}",
                    serde_json::to_value(b).unwrap_or_default().as_str().unwrap_or_default()
                )
            });
            push(
                format!("funnel:projects:{k}{name}"),
                serde_json::to_value(a.funnel(Pipeline::Projects, kind, p, by)?)?,
            );
        }
        for by in [None, Some(Breakdown::CohortYear)] {
            let name = if by.is_some() { ":cohort_year" } else { "" };
            push(
                format!("funnel:incubation:{k}{name}"),
                serde_json::to_value(a.funnel(Pipeline::Incubation, kind, p, by)?)?,
            );
        }
    }
    Ok(out)
}

/// What the `analytics` job spent its time on, in seconds.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Parts {
    /// Reading the ledger.
    pub load: f64,
    /// The funnels and KPIs in polars.
    pub compute: f64,
    /// Storing the snapshots.
    pub write: f64,
}

/// The `analytics` job.
pub async fn run(ctx: Ctx) -> anyhow::Result<()> {
    run_measured(ctx).await.map(|_| ())
}

/// The `analytics` job, answering what it spent its time on (the benchmark reports the parts).
pub async fn run_measured(ctx: Ctx) -> anyhow::Result<Parts> {
    let started = std::time::Instant::now();
    let raw = analytics::load(&ctx.db, ctx.as_of, Scope::All, &Visible::All).await?;
    let loaded = started.elapsed();
    let periods = standard_periods(ctx.as_of);
    let snapshots = tokio::task::spawn_blocking(move || {
        analytics::on_pool(|| -> anyhow::Result<Vec<Snapshot>> {
            let a = Analytics::build(raw)?;
            compute(&a, &periods)
        })
    })
    .await??;
    let computed = started.elapsed();
    let txn = ctx.db.begin().await?;
    let now = Utc::now();
    // Over TCP to PostgreSQL each statement of more than a few kilobytes can wait up to ~40 ms on the socket (sqlx
    // 0.9 leaves Nagle's algorithm on), so fewer statements are faster: a run's 150 snapshots (590 KB at 10k
    // projects) took 840 ms as 20 statements, 30–120 ms as 6 and 30–75 ms as one (27 ms of it in the database).
    // 500 to a statement keeps its parameters well under either database's limit.
    for chunk in snapshots.chunks(500) {
        analytics_snapshot::Entity::insert_many(chunk.iter().map(|s| analytics_snapshot::ActiveModel {
            job_run_id: Set(ctx.run_id),
            as_of: Set(ctx.as_of),
            period: Set(s.period.label.clone()),
            period_from: Set(s.period.from),
            period_to: Set(s.period.to),
            kind: Set(s.kind.clone()),
            payload: Set(s.payload.clone()),
            created_at: Set(now),
            ..Default::default()
        }))
        .exec(&txn)
        .await?;
    }
    txn.commit().await?;
    let parts = Parts {
        load: loaded.as_secs_f64(),
        compute: (computed - loaded).as_secs_f64(),
        write: (started.elapsed() - computed).as_secs_f64(),
    };
    tracing::info!(
        snapshots = snapshots.len(),
        load_ms = (parts.load * 1e3) as u64,
        compute_ms = (parts.compute * 1e3) as u64,
        write_ms = (parts.write * 1e3) as u64,
        "analytics snapshots stored"
    );
    Ok(parts)
}

/// The snapshots of the latest successful analytics run, if any.
pub async fn latest(
    db: &DatabaseConnection,
) -> anyhow::Result<Option<(job_run::Model, Vec<analytics_snapshot::Model>)>> {
    latest_on(db).await
}

async fn latest_on(
    db: &impl ConnectionTrait,
) -> anyhow::Result<Option<(job_run::Model, Vec<analytics_snapshot::Model>)>> {
    let Some(run) = job_run::Entity::find()
        .filter(job_run::Column::Job.eq("analytics"))
        .filter(job_run::Column::Status.eq(entity::enums::JobStatus::Succeeded))
        .order_by_desc(job_run::Column::FinishedAt)
        .order_by_desc(job_run::Column::Id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let rows = analytics_snapshot::Entity::find()
        .filter(analytics_snapshot::Column::JobRunId.eq(run.id))
        .order_by_asc(analytics_snapshot::Column::Id)
        .all(db)
        .await?;
    Ok(Some((run, rows)))
}
