//! Running jobs exactly once per slot (docs/ARCHITECTURE.md).
//!
//! A slot is a time the job's cron schedule names. Before any work a runner inserts a `job_runs` row keyed by
//! (job, slot); the unique key makes a second replica's insert fail, and that replica does nothing. While it works
//! the runner renews a lease on the row; a runner that dies stops renewing, and once the lease has passed another
//! runner takes the slot over and runs it again. On start, the latest slot missed while the service was down runs
//! once (never one run per missed slot).

use std::{future::Future, pin::Pin, sync::Arc, time::Duration as StdDuration};

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use croner::{Cron, parser::CronParser};
use entity::job_run;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, SqlErr,
    sea_query::{Expr, ExprTrait},
};
use tokio_cron_scheduler::{Job, JobScheduler};

/// What a job gets to work with.
#[derive(Clone)]
pub struct Ctx {
    /// The database.
    pub db: DatabaseConnection,
    /// The slot being run.
    pub slot: DateTime<Utc>,
    /// The slot's calendar date in the configured zone: the as-of date of the work.
    pub as_of: NaiveDate,
    /// The claimed `job_runs` row.
    pub run_id: i64,
}

type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// A job's work: a named async function of its context.
pub type JobFn = Arc<dyn Fn(Ctx) -> JobFuture + Send + Sync>;

/// A job as the scheduler knows it.
#[derive(Clone)]
pub struct JobSpec {
    /// Its name (`analytics`, `weekly_report`, `outbox`).
    pub name: &'static str,
    /// Its 6-field cron schedule (seconds first), in the runner's zone.
    pub cron: String,
    /// Its work.
    pub run: JobFn,
}

/// How a slot went for this runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Another runner holds or finished the slot; nothing was done.
    Skipped,
    /// This runner ran it and it succeeded.
    Succeeded(i64),
    /// This runner ran it and it failed (the error is on the row).
    Failed(i64, String),
}

/// Claims slots and runs jobs.
#[derive(Clone)]
pub struct Runner {
    db: DatabaseConnection,
    tz: Tz,
    lease: Duration,
    id: String,
}

/// Parses a 6-field cron string the way tokio-cron-scheduler does.
pub fn parse_cron(cron: &str) -> anyhow::Result<Cron> {
    CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(cron)
        .map_err(|e| anyhow::anyhow!("bad cron string {cron:?}: {e}"))
}

impl Runner {
    /// A runner named after this process, with the given zone and lease.
    pub fn new(db: DatabaseConnection, tz: Tz, lease: StdDuration) -> Runner {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
        Runner::named(
            db,
            tz,
            lease,
            format!("{host}:{}:{}", std::process::id(), Utc::now().timestamp_micros()),
        )
    }

    /// A runner with an explicit name (tests run several in one process).
    pub fn named(db: DatabaseConnection, tz: Tz, lease: StdDuration, id: String) -> Runner {
        Runner {
            db,
            tz,
            lease: Duration::from_std(lease).unwrap_or(Duration::minutes(5)),
            id,
        }
    }

    /// The zone schedules are read in.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The latest slot of `cron` at or before `now`, in whole seconds.
    pub fn latest_slot(&self, cron: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
        let c = parse_cron(cron)?;
        // Whole seconds, so that every replica names the same slot.
        let now = now.with_nanosecond(0).expect("0 is a valid nanosecond");
        Ok(c.find_previous_occurrence(&now.with_timezone(&self.tz), true)?
            .with_timezone(&Utc))
    }

    /// The next slot of `cron` after `now`.
    pub fn next_slot(&self, cron: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
        let c = parse_cron(cron)?;
        let now = now.with_nanosecond(0).expect("0 is a valid nanosecond");
        Ok(c.find_next_occurrence(&now.with_timezone(&self.tz), false)?
            .with_timezone(&Utc))
    }

    /// Tries to claim (job, slot): a new row, or a takeover of a running row whose lease has passed.
    pub async fn claim(&self, job: &str, slot: DateTime<Utc>, trigger: &str) -> anyhow::Result<Option<i64>> {
        let now = Utc::now();
        let row = job_run::ActiveModel {
            job: Set(job.to_owned()),
            scheduled_for: Set(slot),
            trigger: Set(trigger.to_owned()),
            status: Set("running".into()),
            runner: Set(self.id.clone()),
            attempt: Set(1),
            started_at: Set(now),
            lease_until: Set(now + self.lease),
            finished_at: Set(None),
            error: Set(None),
            ..Default::default()
        };
        match job_run::Entity::insert(row).exec(&self.db).await {
            Ok(r) => return Ok(Some(r.last_insert_id)),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
            Err(e) => return Err(e.into()),
        }
        // Someone has the slot. Take it over only if they were running it and their lease has passed.
        let taken = job_run::Entity::update_many()
            .col_expr(job_run::Column::Runner, Expr::value(self.id.clone()))
            .col_expr(job_run::Column::Attempt, Expr::col(job_run::Column::Attempt).add(1))
            .col_expr(job_run::Column::StartedAt, Expr::value(now))
            .col_expr(job_run::Column::LeaseUntil, Expr::value(now + self.lease))
            .filter(job_run::Column::Job.eq(job))
            .filter(job_run::Column::ScheduledFor.eq(slot))
            .filter(job_run::Column::Status.eq("running"))
            .filter(job_run::Column::LeaseUntil.lt(now))
            .exec(&self.db)
            .await?;
        if taken.rows_affected == 0 {
            return Ok(None);
        }
        let id = job_run::Entity::find()
            .filter(job_run::Column::Job.eq(job))
            .filter(job_run::Column::ScheduledFor.eq(slot))
            .one(&self.db)
            .await?
            .map(|r| r.id);
        Ok(id)
    }

    async fn finish(&self, run_id: i64, result: &anyhow::Result<()>) -> anyhow::Result<()> {
        let (status, error) = match result {
            Ok(()) => ("succeeded", None),
            Err(e) => ("failed", Some(format!("{e:#}"))),
        };
        job_run::Entity::update_many()
            .col_expr(job_run::Column::Status, Expr::value(status))
            .col_expr(job_run::Column::Error, Expr::value(error))
            .col_expr(job_run::Column::FinishedAt, Expr::value(Some(Utc::now())))
            .filter(job_run::Column::Id.eq(run_id))
            .filter(job_run::Column::Runner.eq(self.id.clone()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Claims (job, slot) and, if this runner got it, runs the job with a renewed lease and records how it went.
    pub async fn run_slot(&self, spec: &JobSpec, slot: DateTime<Utc>, trigger: &str) -> anyhow::Result<Outcome> {
        let Some(run_id) = self.claim(spec.name, slot, trigger).await? else {
            return Ok(Outcome::Skipped);
        };
        let heartbeat = {
            let (db, lease, id) = (self.db.clone(), self.lease, self.id.clone());
            let every = (lease / 3)
                .to_std()
                .unwrap_or(StdDuration::from_secs(60))
                .max(StdDuration::from_millis(100));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let renewed = job_run::Entity::update_many()
                        .col_expr(job_run::Column::LeaseUntil, Expr::value(Utc::now() + lease))
                        .filter(job_run::Column::Id.eq(run_id))
                        .filter(job_run::Column::Runner.eq(id.clone()))
                        .exec(&db)
                        .await;
                    if let Err(e) = renewed {
                        tracing::warn!(error = %e, run_id, "could not renew a job lease");
                    }
                }
            })
        };
        let ctx = Ctx {
            db: self.db.clone(),
            slot,
            as_of: slot.with_timezone(&self.tz).date_naive(),
            run_id,
        };
        tracing::info!(job = spec.name, %slot, trigger, run_id, "job started");
        let result = (spec.run)(ctx).await;
        heartbeat.abort();
        self.finish(run_id, &result).await?;
        Ok(match result {
            Ok(()) => {
                tracing::info!(job = spec.name, run_id, "job succeeded");
                Outcome::Succeeded(run_id)
            }
            Err(e) => {
                tracing::error!(job = spec.name, run_id, error = %format!("{e:#}"), "job failed");
                Outcome::Failed(run_id, format!("{e:#}"))
            }
        })
    }

    /// Runs a job by hand now, with `as_of` standing in for the slot's date.
    pub async fn run_manual(&self, spec: &JobSpec, as_of: Option<NaiveDate>) -> anyhow::Result<Outcome> {
        let now = Utc::now();
        let slot = match as_of {
            // A manual slot is unique per request; its date is what the job reads as the as-of date.
            Some(d) => d
                .and_hms_opt(12, 0, 0)
                .expect("noon")
                .and_local_timezone(self.tz)
                .single()
                .expect("noon exists")
                .with_timezone(&Utc)
                .checked_add_signed(Duration::microseconds(now.timestamp_subsec_micros().into()))
                .unwrap_or(now),
            None => now,
        };
        self.run_slot(spec, slot, "manual").await
    }

    /// On start: runs the latest slot of each job that passed while no runner was up, once.
    pub async fn catch_up(&self, specs: &[JobSpec]) -> anyhow::Result<Vec<(&'static str, Outcome)>> {
        let mut out = Vec::new();
        let now = Utc::now();
        for spec in specs {
            let slot = self.latest_slot(&spec.cron, now)?;
            let seen = job_run::Entity::find()
                .filter(job_run::Column::Job.eq(spec.name))
                .filter(job_run::Column::ScheduledFor.eq(slot))
                .one(&self.db)
                .await?;
            let dead = seen
                .as_ref()
                .is_some_and(|r| r.status == "running" && r.lease_until < now);
            if seen.is_none() || dead {
                out.push((spec.name, self.run_slot(spec, slot, "catch_up").await?));
            }
        }
        Ok(out)
    }

    /// Starts tokio-cron-scheduler with one cron job per spec; each tick claims its slot before working.
    pub async fn start(&self, specs: Vec<JobSpec>) -> anyhow::Result<JobScheduler> {
        let sched = JobScheduler::new().await?;
        for spec in specs {
            let runner = self.clone();
            let cron = spec.cron.clone();
            let job = Job::new_async_tz(cron.clone(), self.tz, move |_, _| {
                let (runner, spec, cron) = (runner.clone(), spec.clone(), cron.clone());
                Box::pin(async move {
                    let slot = match runner.latest_slot(&cron, Utc::now()) {
                        Ok(s) => s,
                        Err(e) => return tracing::error!(error = %e, "cannot read a job schedule"),
                    };
                    if let Err(e) = runner.run_slot(&spec, slot, "schedule").await {
                        tracing::error!(job = spec.name, error = %format!("{e:#}"), "could not run a job slot");
                    }
                })
            })?;
            sched.add(job).await?;
        }
        sched.start().await?;
        Ok(sched)
    }
}
