//! Replicas on one database (issue: scale-out): what one replica limits, every replica limits; settings that
//! differ between replicas are reported; a database that cannot take writes for a moment is a 503 with
//! `Retry-After`, never a 500. The whole cluster (HAProxy, three replicas, a PostgreSQL standby that takes over)
//! is `scripts/cluster-trial.sh`, run by `a_cluster_rides_a_failover`.

use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::{db_test, support::TestApp};

db_test!(
    three_replicas_share_one_sign_in_limit,
    replicas_with_other_settings_are_reported,
    a_read_only_database_answers_503_with_retry_after,
);

/// Twenty guesses spread over three replicas, each with its own connection pool and its own gate: the
/// twenty-first is refused whichever replica answers it.
async fn three_replicas_share_one_sign_in_limit(app: TestApp) {
    let cfg = app.cfg.clone();
    assert_eq!(cfg.auth.sign_ins_per_minute, 20);
    let mut bases = vec![app.base_url().to_owned()];
    for _ in 0..2 {
        let db = invest_crm::db::connect(&app.url).await.unwrap();
        let reads = invest_crm::db::readers(&db, &app.url).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let server = poem::Server::new(poem::listener::TcpListener::bind(addr));
        tokio::spawn(server.run(invest_crm::app(db, reads, &cfg).unwrap()));
        bases.push(format!("http://{addr}"));
    }
    let client = reqwest::Client::new();
    let guess = |base: String| {
        let client = client.clone();
        async move {
            for _ in 0..50 {
                let sent = client
                    .post(format!("{base}/api/v1/auth/login"))
                    .json(&json!({"username": "nobody", "password": "a guess of a stranger"}))
                    .send()
                    .await;
                match sent {
                    Ok(r) => return r,
                    // The replica is still binding its port.
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                }
            }
            panic!("{base} never answered");
        }
    };
    for n in 0..20 {
        let r = guess(bases[n % 3].clone()).await;
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {} at replica {}",
            n + 1,
            n % 3
        );
    }
    for base in &bases {
        let r = guess(base.clone()).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "the 21st attempt at {base}");
        let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=3).contains(&wait), "one attempt comes back every 3 s: {wait}");
    }
}

/// A replica started with another body limit than a running one is told which setting differs; one with the same
/// settings but its own port and data folder is not.
async fn replicas_with_other_settings_are_reported(app: TestApp) {
    use invest_crm::service::replicas::{fingerprint, register};
    let cfg = invest_crm::config::Config::default();
    let first = fingerprint(&cfg.shown());
    assert!(
        first.contains_key("body_limit") && first.contains_key("auth"),
        "{first:?}"
    );
    assert!(register(&app.db, "a:1", &first).await.unwrap().is_empty());

    let mut same = cfg.clone();
    same.listen = "127.0.0.1:9999".parse().unwrap();
    same.data_dir = "/elsewhere".into();
    same.jobs.enabled = !cfg.jobs.enabled;
    assert!(
        register(&app.db, "b:2", &fingerprint(&same.shown()))
            .await
            .unwrap()
            .is_empty()
    );

    let mut other = cfg.clone();
    other.body_limit *= 2;
    other.auth.sign_ins_per_minute = 100;
    let found = register(&app.db, "c:3", &fingerprint(&other.shown())).await.unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    for d in &found {
        assert_eq!(d.settings, ["auth", "body_limit"], "{d:?}");
    }
    let printed = format!("{:?}", fingerprint(&other.shown()));
    assert!(
        !printed.contains("1048576") && !printed.contains("100"),
        "hashes, not values: {printed}"
    );

    // The secret key that seals the channels' secrets is compared by its id: another key is another setting.
    let key = jobs::chat::Sealer::new_key().unwrap();
    let with = |k: &str| {
        let mut c = cfg.clone();
        c.secret_key = Some(k.to_owned());
        fingerprint(&c.shared().unwrap())
    };
    assert_eq!(with(&key), with(&key));
    assert_ne!(
        with(&key)["secret_key"],
        with(&jobs::chat::Sealer::new_key().unwrap())["secret_key"]
    );
    let mut keyed = cfg.clone();
    keyed.secret_key = Some(key.clone());
    assert!(
        !keyed.shared().unwrap().to_string().contains(&key),
        "the id, not the key"
    );
}

/// A database that refuses writes (a standby not yet promoted): writes answer 503 with `Retry-After` and save
/// nothing, reads go on, and writes work again once it takes them, without a restart.
async fn a_read_only_database_answers_503_with_retry_after(app: TestApp) {
    if app.db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        eprintln!("PostgreSQL only: SQLite has no read-only server to fail over to");
        return;
    }
    let name = app
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let set = |on: bool| {
        let app = &app;
        let name = name.clone();
        async move {
            let admin = sea_orm::Database::connect(std::env::var("TEST_DATABASE_URL").unwrap())
                .await
                .unwrap();
            admin
                .execute_unprepared(&format!(
                    "ALTER DATABASE \"{name}\" SET default_transaction_read_only = {on}"
                ))
                .await
                .unwrap();
            // Connections read the setting when they open: end the app's, so its pool opens new ones.
            admin
                .execute_unprepared(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ))
                .await
                .unwrap();
            let _ = app;
        }
    };
    let company = app.company("只读之前有限公司").await;
    set(true).await;
    let mut answered = None;
    // The first request after the connections were ended may be the one that finds its connection gone: also a 503.
    for _ in 0..3 {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/companies", app.base_url()))
            .bearer_auth(app.token("admin"))
            .json(&json!({"name": "只读期间有限公司"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        answered = Some(r);
    }
    let r = answered.unwrap();
    assert_eq!(r.headers()["retry-after"], "2");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unavailable", "{body}");
    let (s, _) = app.get(&format!("/api/v1/companies/{company}")).await;
    assert_eq!(s, StatusCode::OK, "reads go on");
    set(false).await;
    let mut s = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..3 {
        s = app
            .post("/api/v1/companies", json!({"name": "只读之后有限公司"}))
            .await
            .0;
        if s == StatusCode::CREATED {
            break;
        }
    }
    assert_eq!(s, StatusCode::CREATED, "writes work again without a restart");
    let (_, list) = app.get("/api/v1/companies?q=只读期间").await;
    assert_eq!(list["total"], 0, "nothing of the refused write was kept: {list}");
}

/// Replicas of a new version starting at the same moment on an empty PostgreSQL database: every one starts, and
/// each migration is applied once.
#[tokio::test(flavor = "multi_thread")]
async fn replicas_starting_at_once_apply_each_migration_once() {
    use migration::MigratorTrait;
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        return crate::support::skip::<()>("TEST_DATABASE_URL is not set").unwrap_or_default();
    };
    let admin = sea_orm::Database::connect(&admin_url).await.unwrap();
    let name = format!("icrm_test_migrate_{}", std::process::id());
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\""))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let (head, query) = admin_url
        .split_once('?')
        .map_or((admin_url.as_str(), String::new()), |(h, q)| (h, format!("?{q}")));
    let url = format!("{}/{name}{query}", head.rsplit_once('/').map_or(head, |(b, _)| b));
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(invest_crm::db::connect(&url).await.unwrap());
    }
    let started = futures_util::future::join_all(replicas.iter().map(invest_crm::db::migrate)).await;
    for s in started {
        s.expect("every replica starts");
    }
    let applied = migration::Migrator::get_applied_migrations(&replicas[0]).await.unwrap();
    assert_eq!(applied.len(), migration::Migrator::migrations().len());
    for db in replicas {
        db.close().await.ok();
    }
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
}

/// The cluster trial of docs/DEPLOYMENT.md, shortened to two minutes with the test build: PostgreSQL primary and
/// synchronous standby, three replicas behind HAProxy, the mixed load while replicas are killed and the primary
/// fails over; the script checks that nothing acknowledged was lost, no job slot ran twice or went missing, no mail
/// went twice, the audit chain verifies and the sign-in limit held, and exits 1 otherwise.
#[test]
fn a_cluster_rides_a_failover() {
    let initdb = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .any(|d| d.path().join("bin/initdb").exists());
    if !initdb {
        return crate::support::skip::<()>("PostgreSQL's server programs (initdb) are not installed")
            .unwrap_or_default();
    }
    if std::process::Command::new("haproxy").arg("-v").output().is_err() {
        return crate::support::skip::<()>("haproxy is not installed").unwrap_or_default();
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.md");
    let out = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cluster-trial.py"))
        .args(["--bin", env!("CARGO_BIN_EXE_invest-crm")])
        .args([
            "--seconds",
            "130",
            "--failover-at",
            "70",
            "--kill-every",
            "25",
            "--clients",
            "4",
        ])
        .args(["--compare-seconds", "0", "--report"])
        .arg(&report)
        .output()
        .expect("python3 runs the trial");
    let written = std::fs::read_to_string(&report).unwrap_or_default();
    assert!(
        out.status.success(),
        "the cluster trial failed:\n{written}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(written.contains("**passed**"), "{written}");
}
