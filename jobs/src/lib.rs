//! Scheduled work of invest-crm (docs/ARCHITECTURE.md): the analytics of docs/DEFINITIONS.md with polars, periods, and the runner that
//! claims each scheduled slot exactly once across replicas.

pub mod analytics;
pub mod audit_chain;
pub mod chat;
pub mod nightly;
pub mod outbox;
pub mod period;
pub mod reminders;
pub mod runner;
pub mod weekly;
pub mod xlsx;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Job schedules: 6-field cron strings (seconds first), read in `timezone`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Schedules {
    /// IANA zone the cron strings are read in.
    pub timezone: String,
    /// The nightly analytics.
    pub analytics: String,
    /// The mail dispatcher.
    pub outbox: String,
    /// The weekly report to leaders.
    pub weekly_report: String,
    /// The daily reminder digests.
    pub reminders: String,
    /// The nightly verification of the audit trail's hash chain.
    pub audit_verify: String,
    /// The daily backup (`backup.*` says where to and how many are kept).
    pub backup: String,
    /// The daily purge of attachments deleted longer ago than `files.retention_days`, and the sweep of what an
    /// interrupted upload left in the file store.
    pub files: String,
    /// The weekly report and the reminders list projects without a follow-up for more than this many days.
    pub stale_days: i64,
    /// How long a claim holds without renewal before another runner may take the slot over, in seconds.
    pub lease_seconds: u64,
    /// Attempts at one slot (its runner dying, or a retryable job failing) before it is given up.
    pub max_attempts: i32,
    /// Wait before retrying a failed run, in seconds; it doubles with each attempt.
    pub retry_seconds: i64,
    /// Run the scheduler inside `serve` (turn off on replicas that should only answer requests).
    pub enabled: bool,
}

impl Default for Schedules {
    fn default() -> Self {
        Schedules {
            timezone: "Asia/Shanghai".into(),
            analytics: "0 0 2 * * *".into(),
            outbox: "0 * * * * *".into(),
            weekly_report: "0 0 8 * * 1".into(),
            reminders: "0 0 8 * * *".into(),
            audit_verify: "0 30 3 * * *".into(),
            backup: "0 0 2 * * *".into(),
            files: "0 15 3 * * *".into(),
            stale_days: 30,
            lease_seconds: 300,
            max_attempts: 3,
            retry_seconds: 60,
            enabled: true,
        }
    }
}

/// Every job with its schedule.
pub fn specs(s: &Schedules, mail: &outbox::MailConfig) -> Vec<runner::JobSpec> {
    let mail = mail.clone();
    vec![
        runner::JobSpec {
            name: "analytics",
            cron: s.analytics.clone(),
            run: Arc::new(|ctx| Box::pin(nightly::run(ctx))),
            retryable: true,
        },
        runner::JobSpec {
            name: "weekly_report",
            cron: s.weekly_report.clone(),
            run: {
                let (stale_days, web) = (s.stale_days, mail.web_url.clone());
                Arc::new(move |ctx| Box::pin(weekly::run(ctx, stale_days, web.clone())))
            },
            retryable: true,
        },
        runner::JobSpec {
            name: "reminders",
            cron: s.reminders.clone(),
            run: {
                let (stale_days, web) = (s.stale_days, mail.web_url.clone());
                Arc::new(move |ctx| Box::pin(reminders::run(ctx, stale_days, web.clone())))
            },
            retryable: true,
        },
        runner::JobSpec {
            name: "audit_verify",
            cron: s.audit_verify.clone(),
            run: Arc::new(|ctx| Box::pin(audit_chain::nightly(ctx))),
            retryable: true,
        },
        runner::JobSpec {
            name: "outbox",
            cron: s.outbox.clone(),
            run: Arc::new(move |ctx| {
                let mail = mail.clone();
                Box::pin(async move {
                    let done = outbox::Dispatcher::new(ctx.db, mail)?.dispatch().await?;
                    if done != outbox::Dispatched::default() {
                        tracing::info!(?done, "outbox dispatched");
                    }
                    Ok(())
                })
            }),
            retryable: false,
        },
    ]
}
