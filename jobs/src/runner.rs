//! Running jobs exactly once per slot (docs/ARCHITECTURE.md, "A nightly job").
//!
//! A slot is a time the job's cron schedule names. Before any work a runner inserts a `job_runs` row keyed by
//! (job, slot); the unique key makes a second replica's insert fail, and that replica does nothing. While it works
//! the runner renews a lease on the row. A runner that dies stops renewing: every runner sweeps for running rows
//! whose lease has passed (at start and every half lease) and takes each over, whichever slot it is, with a
//! conditional update only one runner can win. A failed run of a retryable job is tried again after a backoff. A slot
//! has at most `max_attempts` attempts; then it is `abandoned` (its runners kept dying) or `failed`, and the admins get
//! an alert through the outbox. Every attempt is recorded in `job_attempts` with the runner that made it. On start,
//! the latest slot missed while the service was down runs once (never one run per missed slot).

use std::{future::Future, pin::Pin, sync::Arc, time::Duration as StdDuration};

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use croner::{Cron, parser::CronParser};
use entity::{
    enums::{AttemptOutcome, JobStatus},
    job_attempt, job_run,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, SqlErr,
    TransactionTrait, sea_query::Expr,
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
    /// Its name (`analytics`, `weekly_report`, `reminders`, `outbox`).
    pub name: &'static str,
    /// Its 6-field cron schedule (seconds first), in the runner's zone.
    pub cron: String,
    /// Its work.
    pub run: JobFn,
    /// Whether a failed run is tried again (the outbox is not: it runs every minute anyway).
    pub retryable: bool,
}

/// How a slot went for this runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Another runner holds or finished the slot; nothing was done.
    Skipped,
    /// This runner ran it and it succeeded.
    Succeeded(i64),
    /// This runner ran it and it failed (the error is on the row; a retryable job is tried again later).
    Failed(i64, String),
    /// The slot's runners died `max_attempts` times: it was given up and the admins alerted.
    Abandoned(i64),
}

/// How often a slot is tried.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Attempts at one slot, first included.
    pub max_attempts: i32,
    /// The wait before the second attempt of a failed run; it doubles for each later one.
    pub backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: 3,
            backoff: Duration::seconds(60),
        }
    }
}

/// A run this runner has claimed (or taken over) and must now work on.
#[derive(Clone, Copy, Debug)]
struct Claim {
    run_id: i64,
    attempt: i32,
    slot: DateTime<Utc>,
}

/// Claims slots and runs jobs.
#[derive(Clone)]
pub struct Runner {
    db: DatabaseConnection,
    tz: Tz,
    lease: Duration,
    retry: Retry,
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

/// The running scheduler of a process: the cron ticks and the sweep for dead runners' slots.
pub struct Scheduler {
    sched: JobScheduler,
    sweeper: tokio::task::JoinHandle<()>,
}

impl Scheduler {
    /// Stops the ticks and the sweep (runs in progress are left to finish or be taken over).
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.sweeper.abort();
        self.sched.shutdown().await?;
        Ok(())
    }
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
            retry: Retry::default(),
            id,
        }
    }

    /// The same runner with another retry policy.
    pub fn with_retry(self, retry: Retry) -> Runner {
        Runner { retry, ..self }
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

    /// Records that this runner starts attempt `attempt` of run `run_id`.
    async fn begin_attempt(&self, db: &impl ConnectionTrait, run_id: i64, attempt: i32) -> anyhow::Result<()> {
        job_attempt::Entity::insert(job_attempt::ActiveModel {
            run_id: Set(run_id),
            attempt: Set(attempt),
            runner: Set(self.id.clone()),
            started_at: Set(Utc::now()),
            finished_at: Set(None),
            outcome: Set(None),
            error: Set(None),
            ..Default::default()
        })
        .exec(db)
        .await?;
        Ok(())
    }

    /// Closes attempt `attempt` of run `run_id` (still open) with its outcome.
    async fn end_attempt(
        db: &impl ConnectionTrait,
        run_id: i64,
        attempt: i32,
        outcome: AttemptOutcome,
        error: Option<String>,
    ) -> anyhow::Result<()> {
        job_attempt::Entity::update_many()
            .col_expr(job_attempt::Column::FinishedAt, Expr::value(Some(Utc::now())))
            .col_expr(job_attempt::Column::Outcome, Expr::value(outcome))
            .col_expr(job_attempt::Column::Error, Expr::value(error))
            .filter(job_attempt::Column::RunId.eq(run_id))
            .filter(job_attempt::Column::Attempt.eq(attempt))
            .filter(job_attempt::Column::Outcome.is_null())
            .exec(db)
            .await?;
        Ok(())
    }

    /// Tries to claim (job, slot): a new row, or a takeover of a running row whose lease has passed.
    pub async fn claim(&self, job: &str, slot: DateTime<Utc>, trigger: &str) -> anyhow::Result<Option<i64>> {
        Ok(self.claim_slot(job, slot, trigger).await?.map(|c| c.run_id))
    }

    async fn claim_slot(&self, job: &str, slot: DateTime<Utc>, trigger: &str) -> anyhow::Result<Option<Claim>> {
        let now = Utc::now();
        let row = job_run::ActiveModel {
            job: Set(job.to_owned()),
            scheduled_for: Set(slot),
            trigger: Set(trigger.to_owned()),
            status: Set(JobStatus::Running),
            runner: Set(self.id.clone()),
            attempt: Set(1),
            started_at: Set(now),
            lease_until: Set(now + self.lease),
            finished_at: Set(None),
            error: Set(None),
            next_attempt_at: Set(None),
            ..Default::default()
        };
        // The run and its first attempt together (a failed insert rolls the transaction back).
        let txn = self.db.begin().await?;
        match job_run::Entity::insert(row).exec(&txn).await {
            Ok(r) => {
                self.begin_attempt(&txn, r.last_insert_id, 1).await?;
                txn.commit().await?;
                return Ok(Some(Claim {
                    run_id: r.last_insert_id,
                    attempt: 1,
                    slot,
                }));
            }
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => txn.rollback().await?,
            Err(e) => return Err(e.into()),
        }
        // Someone has the slot: take it over only if they were running it and their lease has passed.
        let seen = job_run::Entity::find()
            .filter(job_run::Column::Job.eq(job))
            .filter(job_run::Column::ScheduledFor.eq(slot))
            .one(&self.db)
            .await?;
        match seen {
            Some(r) if r.status == JobStatus::Running && r.lease_until < now && r.attempt < self.retry.max_attempts => {
                self.take_over(&r, JobStatus::Running).await
            }
            _ => Ok(None),
        }
    }

    /// Takes run `r` (seen with status `from`) over with one conditional update: only one runner can win it.
    async fn take_over(&self, r: &job_run::Model, from: JobStatus) -> anyhow::Result<Option<Claim>> {
        let now = Utc::now();
        let mut update = job_run::Entity::update_many()
            .col_expr(job_run::Column::Status, Expr::value(JobStatus::Running))
            .col_expr(job_run::Column::Runner, Expr::value(self.id.clone()))
            .col_expr(job_run::Column::Attempt, Expr::value(r.attempt + 1))
            .col_expr(job_run::Column::StartedAt, Expr::value(now))
            .col_expr(job_run::Column::LeaseUntil, Expr::value(now + self.lease))
            .col_expr(
                job_run::Column::NextAttemptAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(job_run::Column::Id.eq(r.id))
            .filter(job_run::Column::Status.eq(from))
            .filter(job_run::Column::Attempt.eq(r.attempt));
        update = if from == JobStatus::Running {
            update.filter(job_run::Column::LeaseUntil.lt(now))
        } else {
            update.filter(job_run::Column::NextAttemptAt.lte(now))
        };
        let txn = self.db.begin().await?;
        if update.exec(&txn).await?.rows_affected == 0 {
            return Ok(None);
        }
        if from == JobStatus::Running {
            Self::end_attempt(&txn, r.id, r.attempt, AttemptOutcome::LeaseExpired, None).await?;
        }
        self.begin_attempt(&txn, r.id, r.attempt + 1).await?;
        txn.commit().await?;
        tracing::warn!(job = %r.job, run_id = r.id, attempt = r.attempt + 1, ?from, "took a job slot over");
        Ok(Some(Claim {
            run_id: r.id,
            attempt: r.attempt + 1,
            slot: r.scheduled_for,
        }))
    }

    /// Records how an attempt went; a failure of a retryable job with attempts left waits for its retry, the last
    /// failure alerts the admins.
    async fn finish(&self, spec: &JobSpec, c: Claim, result: &anyhow::Result<()>) -> anyhow::Result<()> {
        let error = result.as_ref().err().map(|e| format!("{e:#}"));
        let retry = error.is_some() && spec.retryable && c.attempt < self.retry.max_attempts;
        let (status, next) = match (&error, retry) {
            (None, _) => (JobStatus::Succeeded, None),
            (Some(_), true) => (JobStatus::Retrying, Some(Utc::now() + self.backoff(c.attempt))),
            (Some(_), false) => (JobStatus::Failed, None),
        };
        // The run's status and its attempt's outcome together: a runner killed between two separate writes left a
        // succeeded run with an attempt that never ended.
        let txn = self.db.begin().await?;
        let mine = job_run::Entity::update_many()
            .col_expr(job_run::Column::Status, Expr::value(status))
            .col_expr(job_run::Column::Error, Expr::value(error.clone()))
            .col_expr(job_run::Column::NextAttemptAt, Expr::value(next))
            .col_expr(job_run::Column::FinishedAt, Expr::value((!retry).then(Utc::now)))
            .filter(job_run::Column::Id.eq(c.run_id))
            .filter(job_run::Column::Runner.eq(self.id.clone()))
            .filter(job_run::Column::Attempt.eq(c.attempt))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        let outcome = if error.is_some() {
            AttemptOutcome::Failed
        } else {
            AttemptOutcome::Succeeded
        };
        Self::end_attempt(&txn, c.run_id, c.attempt, outcome, error.clone()).await?;
        txn.commit().await?;
        if mine && status == JobStatus::Failed && spec.retryable {
            self.alert(spec.name, c, "失败", error.as_deref().unwrap_or_default())
                .await?;
        }
        Ok(())
    }

    /// The wait before the attempt after `attempt`: the backoff, doubled for each attempt after the first.
    fn backoff(&self, attempt: i32) -> Duration {
        self.retry.backoff * 2i32.pow(attempt.clamp(1, 16) as u32 - 1)
    }

    /// Tells the admins through the outbox that a slot was given up.
    async fn alert(&self, job: &str, c: Claim, what: &str, error: &str) -> anyhow::Result<()> {
        tracing::error!(job, run_id = c.run_id, attempts = c.attempt, error, "job slot given up");
        let slot = c.slot.with_timezone(&self.tz).format("%Y-%m-%d %H:%M:%S");
        let text = format!(
            "定时任务 {job}(计划时间 {slot})在 {} 次尝试后{what}。\n最后的错误:{error}\n",
            c.attempt
        );
        crate::outbox::alert_admins(
            &self.db,
            &format!("job:{}", c.run_id),
            &format!("【招商CRM告警】定时任务{what}:{job} {slot}"),
            &text,
        )
        .await
    }

    /// Claims (job, slot) and, if this runner got it, runs the job with a renewed lease and records how it went.
    pub async fn run_slot(&self, spec: &JobSpec, slot: DateTime<Utc>, trigger: &str) -> anyhow::Result<Outcome> {
        match self.claim_slot(spec.name, slot, trigger).await? {
            Some(c) => self.run_claimed(spec, c).await,
            None => Ok(Outcome::Skipped),
        }
    }

    /// Runs a claimed attempt with a renewed lease and records how it went.
    async fn run_claimed(&self, spec: &JobSpec, c: Claim) -> anyhow::Result<Outcome> {
        let heartbeat = self.heartbeat(c);
        let ctx = Ctx {
            db: self.db.clone(),
            slot: c.slot,
            as_of: c.slot.with_timezone(&self.tz).date_naive(),
            run_id: c.run_id,
        };
        tracing::info!(job = spec.name, slot = %c.slot, attempt = c.attempt, run_id = c.run_id, "job started");
        let result = (spec.run)(ctx).await;
        heartbeat.abort();
        self.finish(spec, c, &result).await?;
        Ok(match result {
            Ok(()) => {
                tracing::info!(job = spec.name, run_id = c.run_id, "job succeeded");
                Outcome::Succeeded(c.run_id)
            }
            Err(e) => {
                tracing::error!(job = spec.name, run_id = c.run_id, error = %format!("{e:#}"), "job failed");
                Outcome::Failed(c.run_id, format!("{e:#}"))
            }
        })
    }

    /// Renews the lease of a claimed attempt every third of the lease until aborted.
    fn heartbeat(&self, c: Claim) -> tokio::task::JoinHandle<()> {
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
                    .filter(job_run::Column::Id.eq(c.run_id))
                    .filter(job_run::Column::Runner.eq(id.clone()))
                    .filter(job_run::Column::Attempt.eq(c.attempt))
                    .exec(&db)
                    .await;
                if let Err(e) = renewed {
                    tracing::warn!(error = %e, run_id = c.run_id, "could not renew a job lease");
                }
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

    /// One sweep: every run of these jobs whose runner died (lease passed) is taken over, or abandoned when it has
    /// no attempt left; every failed run whose retry is due is tried again; a latest slot that no runner claimed (a
    /// tick missed on a loaded machine) is caught up. Answers what this runner did, having run the work it took.
    pub async fn sweep(&self, specs: &[JobSpec]) -> anyhow::Result<Vec<(&'static str, Outcome)>> {
        let mut out = self.catch_up(specs).await?;
        out.retain(|(_, o)| *o != Outcome::Skipped);
        let now = Utc::now();
        let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
        let stuck = job_run::Entity::find()
            .filter(job_run::Column::Job.is_in(names))
            .filter(
                sea_orm::Condition::any()
                    .add(
                        sea_orm::Condition::all()
                            .add(job_run::Column::Status.eq(JobStatus::Running))
                            .add(job_run::Column::LeaseUntil.lt(now)),
                    )
                    .add(
                        sea_orm::Condition::all()
                            .add(job_run::Column::Status.eq(JobStatus::Retrying))
                            .add(job_run::Column::NextAttemptAt.lte(now)),
                    ),
            )
            .all(&self.db)
            .await?;
        for r in stuck {
            let Some(spec) = specs.iter().find(|s| s.name == r.job) else {
                continue;
            };
            if let Some(o) = self.settle(spec, &r).await? {
                out.push((spec.name, o));
            }
        }
        Ok(out)
    }

    /// Takes over (and runs) or abandons one stuck run; none when another runner got to it first.
    async fn settle(&self, spec: &JobSpec, r: &job_run::Model) -> anyhow::Result<Option<Outcome>> {
        if r.status == JobStatus::Running && r.attempt >= self.retry.max_attempts {
            return self.abandon(spec, r).await;
        }
        match self.take_over(r, r.status).await? {
            Some(c) => Ok(Some(self.run_claimed(spec, c).await?)),
            None => Ok(None),
        }
    }

    /// Gives up a run whose runners died on every attempt, and alerts the admins.
    async fn abandon(&self, spec: &JobSpec, r: &job_run::Model) -> anyhow::Result<Option<Outcome>> {
        let error = format!("abandoned: the runner of every one of {} attempts stopped", r.attempt);
        let txn = self.db.begin().await?;
        let done = job_run::Entity::update_many()
            .col_expr(job_run::Column::Status, Expr::value(JobStatus::Abandoned))
            .col_expr(job_run::Column::FinishedAt, Expr::value(Some(Utc::now())))
            .col_expr(job_run::Column::Error, Expr::value(Some(error.clone())))
            .filter(job_run::Column::Id.eq(r.id))
            .filter(job_run::Column::Status.eq(JobStatus::Running))
            .filter(job_run::Column::Attempt.eq(r.attempt))
            .filter(job_run::Column::LeaseUntil.lt(Utc::now()))
            .exec(&txn)
            .await?;
        if done.rows_affected == 0 {
            return Ok(None);
        }
        Self::end_attempt(&txn, r.id, r.attempt, AttemptOutcome::LeaseExpired, None).await?;
        txn.commit().await?;
        let c = Claim {
            run_id: r.id,
            attempt: r.attempt,
            slot: r.scheduled_for,
        };
        self.alert(spec.name, c, "被放弃", &error).await?;
        Ok(Some(Outcome::Abandoned(r.id)))
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
            if seen.is_none() {
                out.push((spec.name, self.run_slot(spec, slot, "catch_up").await?));
            }
        }
        Ok(out)
    }

    /// Starts tokio-cron-scheduler with one cron job per spec (each tick claims its slot before working) and the
    /// sweep for dead runners' slots and due retries, at once and every half lease.
    pub async fn start(&self, specs: Vec<JobSpec>) -> anyhow::Result<Scheduler> {
        let sched = JobScheduler::new().await?;
        for spec in specs.clone() {
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
        let sweeper = {
            let runner = self.clone();
            let every = (self.lease / 2).to_std().unwrap_or(StdDuration::from_secs(60));
            tokio::spawn(async move {
                loop {
                    if let Err(e) = runner.sweep(&specs).await {
                        tracing::error!(error = %format!("{e:#}"), "sweeping job slots failed");
                    }
                    tokio::time::sleep(every.max(StdDuration::from_millis(200))).await;
                }
            })
        };
        Ok(Scheduler { sched, sweeper })
    }
}
