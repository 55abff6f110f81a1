//! Scheduled jobs as people see them: what runs when, the runs so far, and the mail outbox they fill.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use entity::{enums::OutboxStatus, job_attempt, job_run, outbox};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};

use super::{AppError, AppResult, Code, Dir, Kind, Msg, Order, Page, Paging, input::LOCAL_TZ};

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
    let tz: chrono_tz::Tz = s
        .timezone
        .parse()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("unknown time zone {:?} in jobs.timezone", s.timezone)))?;
    let retry = jobs::runner::Retry {
        max_attempts: s.max_attempts.max(1),
        backoff: chrono::Duration::seconds(s.retry_seconds.max(1)),
    };
    Ok(jobs::runner::Runner::new(db.clone(), tz, std::time::Duration::from_secs(s.lease_seconds)).with_retry(retry))
}

/// What the jobs run with: their schedules, the mail settings and the backup plan.
#[derive(Clone)]
pub struct Setup {
    /// The schedules and their zone.
    pub schedules: jobs::Schedules,
    /// The mail settings.
    pub mail: jobs::outbox::MailConfig,
    /// Where the `backup` job writes and how many backups it keeps.
    pub backup: crate::backup::Plan,
    /// The attachments' settings and the data folder, for the `files` job.
    pub files: (crate::files::FilesConfig, std::path::PathBuf),
}

impl Setup {
    /// The jobs of a configuration.
    pub fn of(cfg: &crate::config::Config) -> Setup {
        let tz = cfg.jobs.timezone.parse().unwrap_or(LOCAL_TZ);
        Setup {
            schedules: cfg.jobs.clone(),
            mail: jobs::outbox::MailConfig {
                sealer: cfg
                    .sealer()
                    .inspect_err(|e| tracing::error!(error = %format!("{e:#}"), "no secret key: chat messages fail"))
                    .ok(),
                ..cfg.mail.clone()
            },
            backup: crate::backup::Plan::new(cfg.database_url(), &cfg.data_dir, cfg.backup.clone(), tz),
            files: (cfg.files.clone(), cfg.data_dir.clone()),
        }
    }

    /// Every job with its work: the scheduled work of the `jobs` crate and the backup.
    pub fn specs(&self) -> Vec<jobs::runner::JobSpec> {
        let mut specs = jobs::specs(&self.schedules, &self.mail);
        let plan = std::sync::Arc::new(self.backup.clone());
        specs.push(jobs::runner::JobSpec {
            name: "backup",
            cron: self.schedules.backup.clone(),
            run: std::sync::Arc::new(move |ctx| {
                let plan = plan.clone();
                Box::pin(async move {
                    let m = plan.run(&ctx.db).await?;
                    tracing::info!(file = %m.file, bytes = m.bytes, place = %plan.place(), "backup taken");
                    Ok(())
                })
            }),
            retryable: true,
        });
        let files = std::sync::Arc::new(self.files.clone());
        specs.push(jobs::runner::JobSpec {
            name: "files",
            cron: self.schedules.files.clone(),
            run: std::sync::Arc::new(move |ctx| {
                let files = files.clone();
                Box::pin(async move {
                    let store = crate::files::FileStore::new(&files.0, &files.1)?;
                    let grace = chrono::Duration::hours(1);
                    let (purged, tmp, blobs) = tidy_files(&ctx.db, &store, files.0.retention_days, grace).await?;
                    tracing::info!(purged, tmp, blobs, place = %store.place, "attachments tidied");
                    Ok(())
                })
            }),
            retryable: true,
        });
        specs
    }
}

/// Every job with its schedule and next slot.
pub fn schedule(db: &DatabaseConnection, setup: &Setup) -> Vec<JobInfo> {
    let s = &setup.schedules;
    let tz: chrono_tz::Tz = s.timezone.parse().unwrap_or(LOCAL_TZ);
    let runner = jobs::runner::Runner::new(db.clone(), tz, std::time::Duration::from_secs(s.lease_seconds));
    let now = Utc::now();
    setup
        .specs()
        .into_iter()
        .map(|spec| JobInfo {
            name: spec.name,
            next_run: runner.next_slot(&spec.cron, now).map_err(|e| e.to_string()),
            cron: spec.cron,
            timezone: tz,
        })
        .collect()
}

/// A job run with every attempt at it, oldest first.
pub struct RunView {
    /// The run.
    pub run: job_run::Model,
    /// Its attempts: who made each and how it ended.
    pub attempts: Vec<job_attempt::Model>,
}

/// A page of job runs, newest first, optionally of one job, with their attempts.
pub async fn runs(db: &impl ConnectionTrait, job: Option<String>, paging: Paging) -> AppResult<Page<RunView>> {
    let mut s = job_run::Entity::find();
    if let Some(j) = job {
        s = s.filter(job_run::Column::Job.eq(j));
    }
    paging
        .fetch(db, s, Order(&[(job_run::Column::Id, Dir::Desc)]), async |runs| {
            let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
            let mut attempts: HashMap<i64, Vec<job_attempt::Model>> = HashMap::new();
            for a in job_attempt::Entity::find()
                .filter(job_attempt::Column::RunId.is_in(ids))
                .order_by_asc(job_attempt::Column::Attempt)
                .all(db)
                .await?
            {
                attempts.entry(a.run_id).or_default().push(a);
            }
            Ok(runs
                .into_iter()
                .map(|run| RunView {
                    attempts: attempts.remove(&run.id).unwrap_or_default(),
                    run,
                })
                .collect())
        })
        .await
}

/// A page of the mail outbox, newest first, optionally of one status.
pub async fn outbox(
    db: &impl ConnectionTrait,
    status: Option<OutboxStatus>,
    paging: Paging,
) -> AppResult<Page<outbox::Model>> {
    let mut s = outbox::Entity::find();
    if let Some(v) = status {
        s = s.filter(outbox::Column::Status.eq(v));
    }
    paging.rows(db, s, Order(&[(outbox::Column::Id, Dir::Desc)])).await
}

/// The job of this name with its work, as the configuration schedules it.
pub fn spec(setup: &Setup, name: &str) -> AppResult<jobs::runner::JobSpec> {
    setup
        .specs()
        .into_iter()
        .find(|j| j.name == name)
        .ok_or(AppError::not_found(Kind::Job))
}

/// Starts a job now, in the background, recorded in the job runs with the trigger `manual` like a run from the
/// command line; how it went shows there. Answers once it has started.
pub async fn start_now(db: &DatabaseConnection, setup: &Setup, name: &str) -> AppResult<()> {
    let spec = spec(setup, name)?;
    let runner = runner(db, &setup.schedules)?;
    started_by_hand(db, name).await?;
    tokio::spawn(async move {
        match runner.run_manual(&spec, None).await {
            Ok(outcome) => tracing::info!(job = spec.name, ?outcome, "manual run"),
            Err(e) => tracing::error!(job = spec.name, error = ?e, "manual run could not start"),
        }
    });
    Ok(())
}

/// Records that someone started the job `name` by hand (the run itself shows in the job runs).
pub async fn started_by_hand(db: &impl ConnectionTrait, name: &str) -> AppResult<()> {
    let e = super::audit::Entry {
        action: "job_run".into(),
        entity: Some(Kind::Job.name().into()),
        detail: Some(serde_json::json!({ "job": name })),
        ..Default::default()
    };
    super::audit::write(db, e).await
}

/// Puts a message the dispatcher gave up on back in the queue, with its attempts counted afresh: the next pass of
/// the outbox job sends it (same Message-ID). Only a failed message can be sent again.
pub async fn resend(db: &impl ConnectionTrait, id: i64) -> AppResult<outbox::Model> {
    let res = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Pending))
        .col_expr(outbox::Column::Attempts, Expr::value(0))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(Utc::now()))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq(OutboxStatus::Failed))
        .exec(db)
        .await?;
    let m = super::find::<outbox::Entity, _>(db, id, Kind::Message).await?;
    if res.rows_affected > 0 {
        super::audit::event(db, "resend", Some((Kind::Message, id)), None).await?;
    }
    if res.rows_affected == 0 {
        return Err(AppError::rule(
            Code::NotFailed,
            None,
            Msg::new(
                format!(
                    "only a failed message is sent again; this one is {}",
                    m.status.to_value()
                ),
                "只有发送失败的邮件可以重新发送",
            ),
        ));
    }
    Ok(m)
}

/// Marks the attachments of deleted records as deleted, purges those deleted more than `retention_days` ago, then
/// sweeps the file store of what no attachment names and of uploads cut short, `grace` old or more (the job gives an
/// hour: younger ones may belong to an upload under way). Answers the attachments purged, the temporary objects and
/// the blobs deleted.
pub async fn tidy_files(
    db: &DatabaseConnection,
    store: &crate::files::FileStore,
    retention_days: u32,
    grace: chrono::Duration,
) -> anyhow::Result<(u64, usize, usize)> {
    let ctx = super::audit::Context::new(super::audit::Door::Job, "files", None);
    let purged = super::audit::within(ctx, async {
        let txn = super::begin(db).await?;
        let orphaned = super::attachments::orphaned(&txn).await?;
        if orphaned > 0 {
            tracing::info!(orphaned, "attachments of deleted records marked as deleted");
        }
        let n = super::attachments::purge(&txn, retention_days).await?;
        txn.commit().await?;
        AppResult::Ok(n)
    })
    .await?;
    let named = super::attachments::named_blobs(db).await?;
    let (tmp, blobs) = store.sweep(&named, Utc::now() - grace).await?;
    Ok((purged, tmp, blobs))
}
