//! The numbers of docs/DEFINITIONS.md on demand (the same code as the nightly job), its latest snapshots, and job runs.

use ::jobs::analytics::{Breakdown, Funnel, FunnelKind, Kpis, Pipeline};
use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{AttemptOutcome, JobStatus, OutboxStatus};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use sea_orm::DatabaseConnection;

use super::{ApiTags, Page, PageNo, PerPage, auth::Auth, paging};
use crate::{
    edge::audit::WriteTx,
    service::{
        AppResult, Need,
        analytics::{self as svc, FunnelQuery, period_of},
        jobs, scope,
    },
};

/// One stored result of the nightly job.
#[derive(Object)]
pub struct Snapshot {
    /// The period, e.g. `2024-H1`.
    pub period: String,
    /// Its first day.
    pub from: NaiveDate,
    /// Its last day.
    pub to: NaiveDate,
    /// `kpis`, or `funnel:<pipeline>:<flow|cohort>[:<breakdown>]`.
    pub kind: String,
    /// The KPIs or funnel, as the on-demand endpoints answer them.
    pub payload: serde_json::Value,
}

/// The snapshots of the latest successful nightly run.
#[derive(Object)]
pub struct Snapshots {
    /// The run that computed them.
    pub job_run_id: i64,
    /// Its as-of date.
    pub as_of: NaiveDate,
    /// When it finished (UTC).
    #[oai(nullable)]
    pub computed_at: Option<DateTime<Utc>>,
    /// One per period and kind.
    pub snapshots: Vec<Snapshot>,
}

/// A job with its schedule.
#[derive(Object)]
pub struct JobInfo {
    /// Name.
    pub name: String,
    /// Cron schedule (seconds first).
    pub cron: String,
    /// The zone it is read in.
    pub timezone: String,
    /// Its next slot (UTC).
    #[oai(nullable)]
    pub next_run: Option<DateTime<Utc>>,
}

/// One run of a job.
#[derive(Object)]
pub struct JobRun {
    /// The run's id.
    pub id: i64,
    /// Job name.
    pub job: String,
    /// The slot it ran for (UTC).
    pub scheduled_for: DateTime<Utc>,
    /// `schedule`, `catch_up` or `manual`.
    pub trigger: String,
    /// Where it stands.
    pub status: JobStatus,
    /// The process that ran it.
    pub runner: String,
    /// 1, plus one per takeover after an expired lease and per retry after a failure.
    pub attempt: i32,
    /// Start (UTC).
    pub started_at: DateTime<Utc>,
    /// End (UTC).
    #[oai(nullable)]
    pub finished_at: Option<DateTime<Utc>>,
    /// The error of a failed run.
    #[oai(nullable)]
    pub error: Option<String>,
    /// When a `retrying` run is tried again (UTC).
    #[oai(nullable)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Every attempt at the slot, oldest first.
    pub attempts: Vec<JobAttempt>,
}

/// One attempt at a job run.
#[derive(Object)]
pub struct JobAttempt {
    /// 1 for the first.
    pub attempt: i32,
    /// The process that made it.
    pub runner: String,
    /// Start (UTC).
    pub started_at: DateTime<Utc>,
    /// End (UTC), none while it runs.
    #[oai(nullable)]
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended; none while it runs.
    #[oai(nullable)]
    pub outcome: Option<AttemptOutcome>,
    /// The error of a failed attempt.
    #[oai(nullable)]
    pub error: Option<String>,
}

impl From<jobs::RunView> for JobRun {
    fn from(v: jobs::RunView) -> Self {
        let m = v.run;
        JobRun {
            id: m.id,
            job: m.job,
            scheduled_for: m.scheduled_for,
            trigger: m.trigger,
            status: m.status,
            runner: m.runner,
            attempt: m.attempt,
            started_at: m.started_at,
            finished_at: m.finished_at,
            error: m.error,
            next_attempt_at: m.next_attempt_at,
            attempts: v
                .attempts
                .into_iter()
                .map(|a| JobAttempt {
                    attempt: a.attempt,
                    runner: a.runner,
                    started_at: a.started_at,
                    finished_at: a.finished_at,
                    outcome: a.outcome,
                    error: a.error,
                })
                .collect(),
        }
    }
}

/// One queued or sent e-mail or work-chat message (without its body).
#[derive(Object)]
pub struct OutboxMessage {
    /// The message's id: `POST /outbox/{id}/resend` sends a failed one again.
    pub id: i64,
    /// `weekly_report`, `reminders`, `alert`, …
    pub kind: String,
    /// Recipient: an e-mail address; for a chat message the chat user ids (`|` between them), empty for a group.
    pub recipient: String,
    /// The work-chat channel (`/channels/{id}`) of a chat message; none for an e-mail.
    #[oai(nullable)]
    pub channel_id: Option<i64>,
    /// Subject.
    pub subject: String,
    /// Where it stands.
    pub status: OutboxStatus,
    /// Attempts so far.
    pub attempts: i32,
    /// When the next attempt is due (pending messages).
    pub next_attempt_at: DateTime<Utc>,
    /// The last error, if an attempt failed.
    #[oai(nullable)]
    pub last_error: Option<String>,
    /// When it was sent.
    #[oai(nullable)]
    pub sent_at: Option<DateTime<Utc>>,
    /// Its stable Message-ID.
    pub message_id: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

impl From<entity::outbox::Model> for OutboxMessage {
    fn from(m: entity::outbox::Model) -> Self {
        OutboxMessage {
            id: m.id,
            kind: m.kind,
            recipient: m.recipient,
            channel_id: m.channel_id,
            subject: m.subject,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_error: m.last_error,
            sent_at: m.sent_at,
            message_id: m.message_id,
            created_at: m.created_at,
        }
    }
}

/// Jobs and their runs.
#[derive(Object)]
pub struct JobRuns {
    /// The jobs and their next slots.
    pub jobs: Vec<JobInfo>,
    /// Runs, newest first.
    pub runs: Page<JobRun>,
}

/// Analytics endpoints.
pub struct AnalyticsApi {
    /// The database.
    pub db: DatabaseConnection,
    /// What the funnels and KPIs read through ([`crate::db::readers`]).
    pub reads: DatabaseConnection,
    /// The jobs (listed and run now).
    pub jobs: crate::service::jobs::Setup,
}

/// A job started by hand.
#[derive(Object)]
pub struct JobStarted {
    /// The job.
    pub job: String,
}

#[OpenApi(tag = "ApiTags::Analytics")]
impl AnalyticsApi {
    /// A flow or cohort funnel over a period, with conversion, median and p90 days between stages and year-on-year
    /// counts; `by` breaks it down (`industry`, `source`, `contact_leader`, `province` for projects; `cohort_year`
    /// for incubation).
    #[oai(path = "/analytics/funnel", method = "get", operation_id = "getFunnel")]
    async fn funnel(
        &self,
        auth: Auth,
        /// `2024`, `2024-H1`, `2024-Q2`, `2024-05` or `2024-W21`; or give `from` and `to`.
        period: Query<Option<String>>,
        /// First day of a custom period.
        from: Query<Option<NaiveDate>>,
        /// Last day of a custom period.
        to: Query<Option<NaiveDate>>,
        /// `flow` (default) or `cohort`.
        kind: Query<Option<FunnelKind>>,
        /// `projects` (default) or `incubation`.
        pipeline: Query<Option<Pipeline>>,
        /// Breakdown.
        by: Query<Option<Breakdown>>,
        /// Ignore events after this date (default: today in Asia/Shanghai).
        as_of: Query<Option<NaiveDate>>,
    ) -> AppResult<Json<Funnel>> {
        auth.0.require(Need::Read)?;
        let q = FunnelQuery {
            period: period_of(period.0, from.0, to.0)?,
            kind: kind.0.unwrap_or(FunnelKind::Flow),
            pipeline: pipeline.0.unwrap_or(Pipeline::Projects),
            by: by.0,
            as_of: as_of.0,
        };
        let seen = scope::seen(&self.db, &auth.0).await?;
        Ok(Json(svc::funnel(&self.reads, q, &seen).await?))
    }

    /// The KPIs of a period: visits, outreach, project flow counts, money, incubation and blockers, each beside the
    /// same period one year earlier, and progress toward the targets of the period's year.
    #[oai(path = "/analytics/kpis", method = "get", operation_id = "getKpis")]
    async fn kpis(
        &self,
        auth: Auth,
        /// `2024`, `2024-H1`, `2024-Q2`, `2024-05` or `2024-W21`; or give `from` and `to`.
        period: Query<Option<String>>,
        /// First day of a custom period.
        from: Query<Option<NaiveDate>>,
        /// Last day of a custom period.
        to: Query<Option<NaiveDate>>,
        /// Ignore records after this date (default: the period's last day once it has ended, else today in
        /// Asia/Shanghai).
        as_of: Query<Option<NaiveDate>>,
    ) -> AppResult<Json<Kpis>> {
        auth.0.require(Need::Read)?;
        let p = period_of(period.0, from.0, to.0)?;
        let seen = scope::seen(&self.db, &auth.0).await?;
        Ok(Json(svc::kpis(&self.reads, p, as_of.0, &seen).await?))
    }

    /// The snapshots of the latest successful nightly analytics run (404 before the first). They are of every record:
    /// a caller whose data scope is narrower gets 403 `whole_park_only`.
    #[oai(
        path = "/analytics/snapshots/latest",
        method = "get",
        operation_id = "getLatestSnapshot"
    )]
    async fn latest(&self, auth: Auth) -> AppResult<Json<Snapshots>> {
        auth.0.require(Need::Read)?;
        let seen = scope::seen(&self.db, &auth.0).await?;
        let (run, rows) = svc::latest_snapshots(&self.db, &seen).await?;
        Ok(Json(Snapshots {
            job_run_id: run.id,
            as_of: rows.first().map_or_else(|| run.scheduled_for.date_naive(), |r| r.as_of),
            computed_at: run.finished_at,
            snapshots: rows
                .into_iter()
                .map(|r| Snapshot {
                    period: r.period,
                    from: r.period_from,
                    to: r.period_to,
                    kind: r.kind,
                    payload: r.payload,
                })
                .collect(),
        }))
    }

    /// The jobs, their next slots and their runs (admin).
    #[oai(path = "/jobs/runs", method = "get", operation_id = "listJobRuns")]
    async fn runs(
        &self,
        auth: Auth,
        /// Runs of this job.
        job: Query<Option<String>>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<JobRuns>> {
        auth.0.require(Need::Admin)?;
        let jobs = jobs::schedule(&self.db, &self.jobs)
            .into_iter()
            .map(|j| JobInfo {
                name: j.name.into(),
                next_run: j.next_run.ok(),
                cron: j.cron,
                timezone: j.timezone.to_string(),
            })
            .collect();
        let runs = jobs::runs(&self.db, job.0, paging(page, per_page, after)?).await?;
        Ok(Json(JobRuns {
            jobs,
            runs: runs.map(JobRun::from).into(),
        }))
    }

    /// The mail outbox (admin), newest first: status, attempts and the last error of each message.
    #[oai(path = "/outbox", method = "get", operation_id = "listOutboxMessages")]
    async fn outbox(
        &self,
        auth: Auth,
        /// Only the messages of this status.
        status: Query<Option<OutboxStatus>>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<OutboxMessage>>> {
        auth.0.require(Need::Admin)?;
        let rows = jobs::outbox(&self.db, status.0, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(OutboxMessage::from).into()))
    }

    /// Start a job now (admin): `analytics`, `weekly_report`, `reminders` or `outbox`. It runs in the background and
    /// shows in `/jobs/runs` with the trigger `manual`.
    #[oai(path = "/jobs/:name/run", method = "post", operation_id = "runJob")]
    async fn run_job(&self, auth: Auth, name: Path<String>) -> AppResult<Json<JobStarted>> {
        auth.0.require(Need::Admin)?;
        jobs::start_now(&self.db, &self.jobs, &name.0).await?;
        Ok(Json(JobStarted { job: name.0 }))
    }

    /// Send a failed message again (admin): it goes back in the queue with its attempts counted afresh; the next
    /// pass of the outbox job sends it. 422 `not_failed` for a message that did not fail.
    #[oai(path = "/outbox/:id/resend", method = "post", operation_id = "resendMessage")]
    async fn resend(&self, auth: Auth, tx: WriteTx, id: Path<i64>) -> AppResult<Json<OutboxMessage>> {
        auth.0.require(Need::Admin)?;
        Ok(Json(jobs::resend(tx.get().await?, id.0).await?.into()))
    }
}
