//! Exactly once per slot (docs/ARCHITECTURE.md): two runners on one database, a dead runner's slot retried after its lease,
//! a missed slot caught up once, and a failed analytics run that leaves the previous snapshots in place.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use chrono::{Timelike, Utc};
use entity::{
    enums::{AttemptOutcome, JobStatus},
    job_run,
};
use jobs::runner::{JobSpec, Outcome, Runner};
use reqwest::StatusCode;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::{db_test, support::TestApp};

db_test!(
    two_runners_run_each_slot_once,
    a_dead_runners_slot_is_retried_after_its_lease,
    a_missed_slot_is_caught_up_once_on_start,
    a_failed_analytics_run_keeps_the_previous_snapshots,
    the_sweep_takes_over_any_slot_whose_lease_passed,
    a_slot_whose_runners_keep_dying_is_abandoned_and_the_admins_told,
    a_failed_retryable_run_is_retried_with_backoff_then_given_up,
);

/// A `running` row of `job` for `slot`, claimed by a runner that died, its lease already passed.
async fn dead_claim(app: &TestApp, job: &str, slot: chrono::DateTime<Utc>, attempt: i32) -> i64 {
    let now = Utc::now();
    job_run::Entity::insert(job_run::ActiveModel {
        job: Set(job.into()),
        scheduled_for: Set(slot),
        trigger: Set("schedule".into()),
        status: Set(JobStatus::Running),
        runner: Set("dead-replica".into()),
        attempt: Set(attempt),
        started_at: Set(now - chrono::Duration::minutes(10)),
        lease_until: Set(now - chrono::Duration::seconds(1)),
        finished_at: Set(None),
        error: Set(None),
        next_attempt_at: Set(None),
        ..Default::default()
    })
    .exec(&app.db)
    .await
    .unwrap()
    .last_insert_id
}

async fn attempts(app: &TestApp, run_id: i64) -> Vec<(i32, String, Option<AttemptOutcome>)> {
    use entity::job_attempt;
    use sea_orm::QueryOrder;
    job_attempt::Entity::find()
        .filter(job_attempt::Column::RunId.eq(run_id))
        .order_by_asc(job_attempt::Column::Attempt)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.attempt, a.runner, a.outcome))
        .collect()
}

async fn the_sweep_takes_over_any_slot_whose_lease_passed(app: TestApp) {
    let counter = Arc::new(AtomicUsize::new(0));
    let spec = probe("probe", "0 0 2 * * *", counter.clone());
    // Two old slots left running by a runner that died, neither the latest slot of the schedule.
    let old = [
        Utc::now() - chrono::Duration::days(3),
        Utc::now() - chrono::Duration::days(2),
    ];
    let ids = [
        dead_claim(&app, "probe", old[0], 1).await,
        dead_claim(&app, "probe", old[1], 1).await,
    ];
    let (a, b) = (
        runner(&app, "survivor-a", Duration::from_secs(30)),
        runner(&app, "survivor-b", Duration::from_secs(30)),
    );
    let specs = [spec];
    let (x, y) = tokio::join!(a.sweep(&specs), b.sweep(&specs));
    let done: Vec<_> = x.unwrap().into_iter().chain(y.unwrap()).collect();
    // Each dead slot taken over once, by one of the two, and the latest slot (never claimed) caught up once.
    assert_eq!(done.len(), 3, "{done:?}");
    assert!(done.iter().all(|(_, o)| matches!(o, Outcome::Succeeded(_))));
    assert_eq!(counter.load(Ordering::SeqCst), 3);
    for id in ids {
        let row = job_run::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
        assert_eq!((row.status, row.attempt), (JobStatus::Succeeded, 2));
        let tried = attempts(&app, id).await;
        assert_eq!(
            tried.len(),
            1,
            "the dead runner's attempt was made before attempts were recorded"
        );
        assert_eq!(tried[0].0, 2);
        assert_eq!(tried[0].2, Some(AttemptOutcome::Succeeded));
    }
    // Nothing left to sweep.
    assert!(a.sweep(&specs).await.unwrap().is_empty());
}

async fn a_slot_whose_runners_keep_dying_is_abandoned_and_the_admins_told(app: TestApp) {
    let counter = Arc::new(AtomicUsize::new(0));
    let spec = probe("weekly_report", "0 0 8 * * 1", counter.clone());
    let r = runner(&app, "survivor", Duration::from_secs(30));
    let slot = r.latest_slot(&spec.cron, Utc::now()).unwrap();
    let id = dead_claim(&app, "weekly_report", slot, 3).await;
    let done = r.sweep(std::slice::from_ref(&spec)).await.unwrap();
    assert_eq!(done, vec![("weekly_report", Outcome::Abandoned(id))]);
    assert_eq!(counter.load(Ordering::SeqCst), 0, "no fourth attempt");
    let row = job_run::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(row.status, JobStatus::Abandoned);
    assert!(row.finished_at.is_some());
    // The admins are told through the outbox (the test admin has an address), once however often it is swept.
    assert!(r.sweep(std::slice::from_ref(&spec)).await.unwrap().is_empty());
    let alerts = entity::outbox::Entity::find()
        .filter(entity::outbox::Column::Kind.eq("alert"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].recipient, "admin@example.com");
    assert!(alerts[0].subject.contains("weekly_report"), "{}", alerts[0].subject);
}

async fn a_failed_retryable_run_is_retried_with_backoff_then_given_up(app: TestApp) {
    let tries = Arc::new(AtomicUsize::new(0));
    let counted = tries.clone();
    let spec = JobSpec {
        name: "analytics",
        cron: "0 0 2 * * *".into(),
        run: Arc::new(move |_| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { anyhow::bail!("attempt {} failed", n + 1) })
        }),
        retryable: true,
    };
    let retry = jobs::runner::Retry {
        max_attempts: 3,
        backoff: chrono::Duration::milliseconds(200),
    };
    let r = runner(&app, "nightly", Duration::from_secs(30)).with_retry(retry);
    let slot = r.latest_slot(&spec.cron, Utc::now()).unwrap();
    let Outcome::Failed(id, _) = r.run_slot(&spec, slot, "schedule").await.unwrap() else {
        panic!("the job fails")
    };
    let row = job_run::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(row.status, JobStatus::Retrying);
    let wait = row.next_attempt_at.unwrap() - Utc::now();
    assert!(wait > chrono::Duration::milliseconds(50), "{wait}");
    // Not before its time.
    assert!(r.sweep(std::slice::from_ref(&spec)).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(r.sweep(std::slice::from_ref(&spec)).await.unwrap().len(), 1);
    // The backoff doubles: the third attempt comes after 400 ms, then the run is given up.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(r.sweep(std::slice::from_ref(&spec)).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.sweep(std::slice::from_ref(&spec)).await.unwrap().len(), 1);
    assert_eq!(tries.load(Ordering::SeqCst), 3);
    let row = job_run::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
    assert_eq!((row.status, row.attempt), (JobStatus::Failed, 3));
    assert_eq!(row.error.as_deref(), Some("attempt 3 failed"));
    let tried = attempts(&app, id).await;
    assert_eq!(tried.len(), 3);
    assert!(
        tried
            .iter()
            .all(|t| t.1 == "nightly" && t.2 == Some(AttemptOutcome::Failed))
    );
    let alerts = entity::outbox::Entity::find()
        .filter(entity::outbox::Column::Kind.eq("alert"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(alerts, 1);
}

fn probe(name: &'static str, cron: &str, counter: Arc<AtomicUsize>) -> JobSpec {
    JobSpec {
        name,
        cron: cron.into(),
        run: Arc::new(move |_| {
            let counter = counter.clone();
            Box::pin(async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(())
            })
        }),
        retryable: false,
    }
}

fn runner(app: &TestApp, name: &str, lease: Duration) -> Runner {
    Runner::named(app.db.clone(), chrono_tz::Asia::Shanghai, lease, name.into())
}

async fn two_runners_run_each_slot_once(app: TestApp) {
    let counter = Arc::new(AtomicUsize::new(0));
    let spec = probe("probe", "* * * * * *", counter.clone());
    let (a, b) = (
        runner(&app, "replica-a", Duration::from_secs(30)),
        runner(&app, "replica-b", Duration::from_secs(30)),
    );

    // The same slot asked of both at once: one runs it, the other does nothing.
    let slot = (Utc::now() - chrono::Duration::hours(1)).with_nanosecond(0).unwrap();
    let (x, y) = tokio::join!(a.run_slot(&spec, slot, "schedule"), b.run_slot(&spec, slot, "schedule"));
    let outcomes = [x.unwrap(), y.unwrap()];
    assert_eq!(
        outcomes.iter().filter(|o| matches!(o, Outcome::Succeeded(_))).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Skipped).count(), 1);
    assert_eq!(counter.load(Ordering::SeqCst), 1);

    // Two real schedulers ticking every second for a while.
    let sa = a.start(vec![spec.clone()]).await.unwrap();
    let sb = b.start(vec![spec.clone()]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(4500)).await;
    sa.shutdown().await.unwrap();
    sb.shutdown().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let runs = job_run::Entity::find()
        .filter(job_run::Column::Job.eq("probe"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        (3..=7).contains(&runs.len()),
        "the joined slot plus about one run per second for 4.5 s (one per replica would be twice): {runs:?}"
    );
    assert!(
        runs.iter().all(|r| r.scheduled_for.timestamp_subsec_nanos() == 0),
        "slots are whole seconds"
    );
    assert_eq!(
        counter.load(Ordering::SeqCst),
        runs.len(),
        "one execution per slot, never two"
    );
    let mut slots: Vec<_> = runs.iter().map(|r| r.scheduled_for).collect();
    slots.dedup();
    assert_eq!(slots.len(), runs.len());
    assert!(runs.iter().all(|r| r.status == JobStatus::Succeeded && r.attempt == 1));
}

async fn a_dead_runners_slot_is_retried_after_its_lease(app: TestApp) {
    let counter = Arc::new(AtomicUsize::new(0));
    let spec = probe("probe", "0 0 2 * * *", counter.clone());
    let slot = Utc::now() - chrono::Duration::days(1);
    // A runner claimed the slot and died: its row is still `running`, its lease not yet passed.
    let now = Utc::now();
    job_run::Entity::insert(job_run::ActiveModel {
        job: Set("probe".into()),
        scheduled_for: Set(slot),
        trigger: Set("schedule".into()),
        status: Set(JobStatus::Running),
        runner: Set("dead-replica".into()),
        attempt: Set(1),
        started_at: Set(now),
        lease_until: Set(now + chrono::Duration::minutes(5)),
        finished_at: Set(None),
        error: Set(None),
        ..Default::default()
    })
    .exec(&app.db)
    .await
    .unwrap();
    let r = runner(&app, "survivor", Duration::from_secs(30));
    assert_eq!(
        r.run_slot(&spec, slot, "schedule").await.unwrap(),
        Outcome::Skipped,
        "the lease still holds"
    );
    assert_eq!(counter.load(Ordering::SeqCst), 0);
    job_run::Entity::update_many()
        .col_expr(
            job_run::Column::LeaseUntil,
            sea_orm::sea_query::Expr::value(now - chrono::Duration::seconds(1)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    assert!(matches!(
        r.run_slot(&spec, slot, "schedule").await.unwrap(),
        Outcome::Succeeded(_)
    ));
    assert_eq!(counter.load(Ordering::SeqCst), 1);
    let row = job_run::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(
        (row.status, row.attempt, row.runner.as_str()),
        (JobStatus::Succeeded, 2, "survivor")
    );
    // Finished slots are never run again.
    assert_eq!(r.run_slot(&spec, slot, "schedule").await.unwrap(), Outcome::Skipped);
    assert_eq!(counter.load(Ordering::SeqCst), 1);
}

async fn a_missed_slot_is_caught_up_once_on_start(app: TestApp) {
    let counter = Arc::new(AtomicUsize::new(0));
    // Hourly: while the service was down for hours, several slots passed; only the latest runs.
    let spec = probe("hourly", "0 0 * * * *", counter.clone());
    let r = runner(&app, "starting", Duration::from_secs(30));
    let ran = r.catch_up(std::slice::from_ref(&spec)).await.unwrap();
    assert_eq!(ran.len(), 1);
    assert_eq!(counter.load(Ordering::SeqCst), 1);
    let row = job_run::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(row.scheduled_for, r.latest_slot(&spec.cron, Utc::now()).unwrap());
    assert_eq!(row.trigger, "catch_up");
    // A second start (or a second replica starting) finds the slot done.
    let again = runner(&app, "other", Duration::from_secs(30))
        .catch_up(std::slice::from_ref(&spec))
        .await
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(counter.load(Ordering::SeqCst), 1);
    assert_eq!(job_run::Entity::find().count(&app.db).await.unwrap(), 1);
}

async fn a_failed_analytics_run_keeps_the_previous_snapshots(app: TestApp) {
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let r = runner(&app, "nightly", Duration::from_secs(60));
    let real = jobs::specs(&jobs::Schedules::default(), &jobs::outbox::MailConfig::default()).remove(0);
    let as_of = chrono::NaiveDate::from_ymd_opt(2024, 7, 1);
    let Outcome::Succeeded(first) = r.run_manual(&real, as_of).await.unwrap() else {
        panic!("the analytics job runs on the demo park")
    };
    let failing = JobSpec {
        name: "analytics",
        cron: real.cron.clone(),
        run: Arc::new(|_| Box::pin(async { anyhow::bail!("the database went away mid-run") })),
        retryable: false,
    };
    let Outcome::Failed(second, error) = r.run_manual(&failing, as_of).await.unwrap() else {
        panic!("the failing job fails")
    };
    assert!(error.contains("went away"));
    let row = job_run::Entity::find_by_id(second).one(&app.db).await.unwrap().unwrap();
    assert_eq!(
        (row.status, row.error.as_deref()),
        (JobStatus::Failed, Some("the database went away mid-run"))
    );

    let (s, latest) = app.get("/api/v1/analytics/snapshots/latest").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        latest["job_run_id"].as_i64(),
        Some(first),
        "the failed run replaced nothing"
    );
    assert_eq!(latest["as_of"], "2024-07-01");
    let snaps = latest["snapshots"].as_array().unwrap();
    let kpis = snaps
        .iter()
        .find(|x| x["period"] == "2024-H1" && x["kind"] == "kpis")
        .expect("2024-H1 is a standard period");
    assert_eq!(kpis["payload"]["person_times"]["value"], 278);
    let funnel = snaps
        .iter()
        .find(|x| x["period"] == "2024-H1" && x["kind"] == "funnel:projects:flow")
        .unwrap();
    assert_eq!(funnel["payload"]["stages"][2]["count"], 9);
    let labels: std::collections::BTreeSet<&str> = snaps.iter().map(|x| x["period"].as_str().unwrap()).collect();
    assert_eq!(
        labels.into_iter().collect::<Vec<_>>(),
        [
            "2023", "2024", "2024-06", "2024-07", "2024-H1", "2024-H2", "2024-Q2", "2024-Q3", "2024-W26", "2024-W27"
        ]
    );
    let (_, runs) = app.get("/api/v1/jobs/runs").await;
    assert_eq!(runs["runs"]["total"], 2);
    assert_eq!(runs["jobs"][0]["name"], "analytics");
    assert!(runs["jobs"][0]["next_run"].is_string());
}
