//! Scheduled work and the mail outbox under `kill -9`: the released binary started as processes on one database (two
//! replicas on PostgreSQL, one on SQLite), killed with SIGKILL at random moments and restarted, then the records
//! checked. Each test prints its figures (kills, slots, takeovers, duplicates, lost).

use std::{
    collections::HashMap,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use entity::{
    enums::{AttemptOutcome, JobStatus, OutboxStatus},
    job_attempt, job_run, outbox,
};
use jobs::outbox::{Mail, enqueue};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::{
    db_test,
    mail::{Sink, free_port},
    support::TestApp,
};

db_test!(
    replicas_killed_at_random_run_every_slot_once,
    mail_survives_dispatchers_killed_mid_send,
    chat_messages_survive_the_service_killed_mid_send,
);

/// The lease of the scheduler test's claims, in seconds.
const LEASE: u64 = 3;

/// Seconds between the scheduler test's slots: at least twice what one run of the job takes on this machine (timed
/// once with the binary), so that the slots do not pile up behind each other, and a divisor of a minute.
fn slot_seconds(app: &TestApp) -> i64 {
    let began = Instant::now();
    let ok = Command::new(env!("CARGO_BIN_EXE_invest-crm"))
        .args(["job", "run", "analytics"])
        .env("DATABASE_URL", &app.url)
        .env("INVEST_CRM_LOG", "error")
        .stdout(Stdio::null())
        .status()
        .expect("the binary runs")
        .success();
    assert!(ok, "the analytics job runs");
    let run = began.elapsed().as_secs_f64();
    let every = [4, 5, 6, 10, 12, 15, 20]
        .into_iter()
        .find(|e| *e as f64 >= 2.0 * run)
        .unwrap_or(30);
    println!("one analytics run takes {run:.1} s: a slot every {every} s");
    every
}

/// Starts `invest-crm serve` on the test's database with the given extra settings.
fn replica(app: &TestApp, dir: &Path, env: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_invest-crm"));
    cmd.arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .env("DATABASE_URL", &app.url)
        .env("INVEST_CRM_DATA_DIR", dir)
        .env("INVEST_CRM_LOG", "error")
        .env("INVEST_CRM_JOBS__LEASE_SECONDS", LEASE.to_string())
        // Kills this frequent can hit one slot many times: enough attempts that none is given up.
        .env("INVEST_CRM_JOBS__MAX_ATTEMPTS", "20")
        .env("INVEST_CRM_JOBS__ANALYTICS", "0 0 0 1 1 *")
        .env("INVEST_CRM_JOBS__WEEKLY_REPORT", "0 0 0 1 1 *")
        .env("INVEST_CRM_JOBS__OUTBOX", "0 0 0 1 1 *")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start the invest-crm binary")
}

/// How many replicas run on this database: two on PostgreSQL, one on SQLite (one file, one writer).
fn replicas_for(app: &TestApp) -> usize {
    if app.url.starts_with("postgres") { 2 } else { 1 }
}

/// Kills a random replica with SIGKILL every `gap` for `span`, restarting it after a short pause; answers the kills.
/// With two replicas one is always up; with one, nothing runs during the pause.
async fn kill_at_random(replicas: &mut [Child], span: Duration, gap: (u64, u64), start: impl Fn() -> Child) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_127);
    let deadline = Instant::now() + span;
    let mut kills = 0;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(rng.random_range(gap.0..gap.1))).await;
        let i = rng.random_range(0..replicas.len());
        replicas[i].kill().expect("SIGKILL");
        replicas[i].wait().expect("reap");
        kills += 1;
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..1500))).await;
        replicas[i] = start();
    }
    kills
}

fn stop(replicas: &mut [Child]) {
    for r in replicas {
        let _ = r.kill();
        let _ = r.wait();
    }
}

async fn replicas_killed_at_random_run_every_slot_once(app: TestApp) {
    // Real work for each slot: the nightly analytics over the demo park (seconds in a debug build).
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let every = slot_seconds(&app);
    let env = [("INVEST_CRM_JOBS__ANALYTICS", format!("*/{every} * * * * *"))];
    let start = || replica(&app, dir.path(), &env);
    let mut replicas: Vec<Child> = (0..replicas_for(&app)).map(|_| start()).collect();
    let began = Utc::now();
    // Long enough for several slots whatever their spacing.
    let span = Duration::from_secs((40).max(6 * every as u64));
    let kills = kill_at_random(&mut replicas, span, (1500, 4000), start).await;
    let ended = Utc::now();
    // Until the survivors have swept up every dead claim of the window and finished its run.
    let deadline = Instant::now() + Duration::from_secs(120);
    tokio::time::sleep(Duration::from_secs(LEASE)).await;
    while Instant::now() < deadline {
        let open = job_run::Entity::find()
            .filter(job_run::Column::Job.eq("analytics"))
            .filter(job_run::Column::ScheduledFor.lte(ended))
            .filter(job_run::Column::Status.is_in([JobStatus::Running, JobStatus::Retrying]))
            .count(&app.db)
            .await
            .unwrap();
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop(&mut replicas);

    let window = |s: &DateTime<Utc>| *s > began + chrono::Duration::seconds(every) && *s <= ended;
    let runs: Vec<job_run::Model> = job_run::Entity::find()
        .filter(job_run::Column::Job.eq("analytics"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| window(&r.scheduled_for))
        .collect();
    let mut succeeded: HashMap<i64, usize> = HashMap::new();
    for a in job_attempt::Entity::find()
        .filter(job_attempt::Column::Outcome.eq(AttemptOutcome::Succeeded))
        .all(&app.db)
        .await
        .unwrap()
    {
        *succeeded.entry(a.run_id).or_default() += 1;
    }
    let takeovers = runs.iter().filter(|r| r.attempt > 1).count();
    let expected = (ended.timestamp() / every - (began.timestamp() + every) / every) as usize;
    let duplicates = runs
        .iter()
        .filter(|r| succeeded.get(&r.id).copied().unwrap_or(0) > 1)
        .count();
    println!(
        "kill -9 of {} replica(s): {kills} kills, {} slots in the window ({expected} scheduled), {takeovers} taken \
         over, {duplicates} run twice",
        replicas.len(),
        runs.len()
    );
    assert!(kills >= 6, "the test must actually have killed: {kills}");
    for r in &runs {
        assert_eq!(
            r.status,
            JobStatus::Succeeded,
            "slot {} ended {:?}: {r:?}",
            r.scheduled_for,
            r.status
        );
        assert_eq!(
            succeeded.get(&r.id),
            Some(&1),
            "slot {} succeeded once: {r:?}",
            r.scheduled_for
        );
    }
    if replicas.len() > 1 {
        // One replica is always up: no slot goes without a run.
        assert!(runs.len() + 1 >= expected, "{} of {expected} slots ran", runs.len());
    }
}

async fn mail_survives_dispatchers_killed_mid_send(app: TestApp) {
    let port = free_port();
    // A slow server (150 ms a recipient) so that kills land while messages are being sent.
    let Some(sink) = Sink::slow(port, 150) else { return };
    let n = 60;
    let mails = (0..n)
        .map(|i| Mail {
            key: format!("chaos:{i}"),
            kind: "weekly_report".into(),
            to: format!("leader{i}@example.com"),
            subject: format!("第{i}封"),
            html: "<p>周报</p>".into(),
            text: "周报".into(),
            attachments: vec![],
        })
        .collect();
    enqueue(&app.db, mails).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("INVEST_CRM_JOBS__OUTBOX", "* * * * * *".to_owned()),
        ("SMTP_URL", format!("smtp://127.0.0.1:{}", sink.port)),
        ("INVEST_CRM_MAIL__CLAIM_SECONDS", "3".to_owned()),
        ("INVEST_CRM_MAIL__TIMEOUT_SECONDS", "5".to_owned()),
    ];
    let start = || replica(&app, dir.path(), &env);
    let mut replicas: Vec<Child> = (0..replicas_for(&app)).map(|_| start()).collect();
    let kills = kill_at_random(&mut replicas, Duration::from_secs(12), (700, 2000), start).await;
    // Then until everything is sent (a dead dispatcher's claims pass after 3 s).
    let deadline = Instant::now() + Duration::from_secs(60);
    let sent = || {
        outbox::Entity::find()
            .filter(outbox::Column::Status.eq(OutboxStatus::Sent))
            .filter(outbox::Column::IdempotencyKey.starts_with("chaos:"))
            .count(&app.db)
    };
    while sent().await.unwrap() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop(&mut replicas);

    // Only the test's messages count (a replica's start also catches up the weekly report of the test leader).
    let rows: Vec<outbox::Model> = outbox::Entity::find()
        .filter(outbox::Column::IdempotencyKey.starts_with("chaos:"))
        .all(&app.db)
        .await
        .unwrap();
    let mut received: HashMap<String, usize> = HashMap::new();
    for path in sink.messages() {
        let raw = std::fs::read(&path).unwrap();
        let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
        *received.entry(format!("<{}>", msg.message_id().unwrap())).or_default() += 1;
    }
    let lost = rows.iter().filter(|r| !received.contains_key(&r.message_id)).count();
    let duplicates: usize = rows
        .iter()
        .map(|r| received.get(&r.message_id).copied().unwrap_or(0).saturating_sub(1))
        .sum();
    let retried = rows.iter().filter(|r| r.attempts > 1).count();
    println!(
        "outbox under kill -9 of {} dispatcher(s): {kills} kills, {n} messages, {lost} lost, {duplicates} sent twice \
         (same Message-ID), {retried} needed a second attempt",
        replicas.len()
    );
    assert!(kills >= 3, "the test must actually have killed: {kills}");
    assert!(
        rows.iter().all(|r| r.status == OutboxStatus::Sent),
        "every message is sent"
    );
    assert_eq!(lost, 0, "every queued message arrives");
    // A duplicate needs a kill between the server's 250 and the row's update: at most one per kill, same Message-ID.
    assert!(duplicates <= kills, "{duplicates} duplicates for {kills} kills");
    println!(
        "the window (the row's update after the 250), median of 50: {:?}",
        update_window(&app, rows[0].id).await
    );
}

/// How long the dispatcher's update of a sent row takes: the window in which a kill makes a duplicate.
async fn update_window(app: &TestApp, id: i64) -> Duration {
    use sea_orm::sea_query::Expr;
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        outbox::Entity::update_many()
            .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Sent))
            .col_expr(outbox::Column::SentAt, Expr::value(Some(Utc::now())))
            .col_expr(outbox::Column::LastError, Expr::value(Option::<String>::None))
            .col_expr(outbox::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(outbox::Column::Id.eq(id))
            .exec(&app.db)
            .await
            .unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

/// Work-chat messages to a 企业微信 application, the service killed with SIGKILL at random while it sends them (the
/// platform answering each 300 ms after it delivered it) and restarted: every message is shown once — none lost, and
/// each one sent again after a kill recognised by the platform's duplicate check.
async fn chat_messages_survive_the_service_killed_mid_send(app: TestApp) {
    use serde_json::json;
    let Some(p) = crate::chat::Platforms::start(20, 60) else {
        return;
    };
    entity::user::Entity::update_many()
        .col_expr(
            entity::user::Column::ChatUserId,
            sea_orm::sea_query::Expr::value("admin01"),
        )
        .filter(entity::user::Column::Username.eq("admin"))
        .exec(&app.db)
        .await
        .unwrap();
    crate::chat::register(
        &app,
        &p,
        [json!([]), json!([]), json!([]), json!(["alerts"]), json!([])],
    )
    .await;
    let n = 30;
    for i in 0..n {
        jobs::outbox::alert_admins(&app.db, &format!("chaos{i}"), &format!("告警{i}"), "正文")
            .await
            .unwrap();
    }
    p.control("/_slow?ms=300").await;
    // The replicas open the channel's secrets with the key the test app sealed them with: its data folder's. The
    // alerts' e-mails go to files of their own.
    let mails = tempfile::tempdir().unwrap();
    let env = [
        ("INVEST_CRM_JOBS__OUTBOX", "* * * * * *".to_owned()),
        ("INVEST_CRM_MAIL__OUTBOX_DIR", mails.path().display().to_string()),
        ("INVEST_CRM_MAIL__CLAIM_SECONDS", "3".to_owned()),
        ("INVEST_CRM_MAIL__TIMEOUT_SECONDS", "5".to_owned()),
    ];
    let start = || replica(&app, &app.cfg.data_dir, &env);
    let mut replicas: Vec<Child> = (0..replicas_for(&app)).map(|_| start()).collect();
    let kills = kill_at_random(&mut replicas, Duration::from_secs(10), (700, 2000), start).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let sent = || {
        outbox::Entity::find()
            .filter(outbox::Column::Status.eq(OutboxStatus::Sent))
            .filter(outbox::Column::ChannelId.is_not_null())
            .count(&app.db)
    };
    while sent().await.unwrap() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop(&mut replicas);
    let mut shown: HashMap<String, usize> = HashMap::new();
    for m in p.received().await {
        *shown.entry(m["content"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    let resent = p.log().await.iter().filter(|l| l["duplicate"] == true).count();
    let lost = (0..n)
        .filter(|i| !shown.keys().any(|c| c.starts_with(&format!("# 告警{i}\n"))))
        .count();
    println!(
        "chat under kill -9 of {} replica(s): {kills} kills, {n} messages, {lost} lost, {resent} sent again and \
         dropped by the platform's duplicate check",
        replicas.len()
    );
    assert!(kills >= 3, "the test must actually have killed: {kills}");
    assert_eq!(sent().await.unwrap(), n, "every message sent");
    assert_eq!(lost, 0);
    assert_eq!(shown.len(), n as usize);
    assert!(shown.values().all(|c| *c == 1), "each shown once: {shown:?}");
}
