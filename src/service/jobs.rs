//! Scheduled jobs as people see them: what runs when, the runs so far, and the mail outbox they fill.

use chrono::{DateTime, Utc};
use entity::{job_run, outbox};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::{AppResult, Page, Paging, input::LOCAL_TZ};

/// A job with its schedule and next slot.
pub struct JobInfo {
    /// Name.
    pub name: &'static str,
    /// Cron schedule (seconds first).
    pub cron: String,
    /// The zone it is read in.
    pub timezone: chrono_tz::Tz,
    /// Its next slot, or why none can be computed.
    pub next_run: Result<DateTime<Utc>, String>,
}

/// The job runner of this process, with the configured zone and lease.
pub fn runner(db: &DatabaseConnection, s: &jobs::Schedules) -> AppResult<jobs::runner::Runner> {
    let tz: chrono_tz::Tz = s.timezone.parse().map_err(|_| {
        super::AppError::Internal(anyhow::anyhow!("unknown time zone {:?} in jobs.timezone", s.timezone))
    })?;
    Ok(jobs::runner::Runner::new(
        db.clone(),
        tz,
        std::time::Duration::from_secs(s.lease_seconds),
    ))
}

/// Every job with its schedule and next slot.
pub fn schedule(db: &DatabaseConnection, s: &jobs::Schedules) -> Vec<JobInfo> {
    let tz: chrono_tz::Tz = s.timezone.parse().unwrap_or(LOCAL_TZ);
    let runner = jobs::runner::Runner::new(db.clone(), tz, std::time::Duration::from_secs(s.lease_seconds));
    let now = Utc::now();
    jobs::specs(s, &jobs::outbox::MailConfig::default())
        .into_iter()
        .map(|spec| JobInfo {
            name: spec.name,
            next_run: runner.next_slot(&spec.cron, now).map_err(|e| e.to_string()),
            cron: spec.cron,
            timezone: tz,
        })
        .collect()
}

/// A page of job runs, newest first, optionally of one job.
pub async fn runs(db: &impl ConnectionTrait, job: Option<String>, paging: Paging) -> AppResult<Page<job_run::Model>> {
    let mut s = job_run::Entity::find().order_by_desc(job_run::Column::Id);
    if let Some(j) = job {
        s = s.filter(job_run::Column::Job.eq(j));
    }
    paging.rows(db, s).await
}

/// A page of the mail outbox, newest first, optionally of one status.
pub async fn outbox(
    db: &impl ConnectionTrait,
    status: Option<String>,
    paging: Paging,
) -> AppResult<Page<outbox::Model>> {
    let mut s = outbox::Entity::find().order_by_desc(outbox::Column::Id);
    if let Some(v) = status {
        s = s.filter(outbox::Column::Status.eq(v));
    }
    paging.rows(db, s).await
}
