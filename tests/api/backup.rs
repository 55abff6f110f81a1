//! Backup and restore (`invest-crm backup`, `invest-crm restore`): the restore drill on each database — the demo park
//! backed up and restored into a fresh database equals its source table by table and row by row, with the same
//! 2024-H1 work summary and an audit chain that verifies; a backup taken while writes go on holds every write
//! acknowledged before it began; a damaged backup, a backup of the other database and a database holding records
//! are refused.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult, JsonValue, Statement};
use serde_json::json;

use crate::{db_test, support::TestApp};

db_test!(the_restore_drill);

/// Every row of every table as its entity reads it (so that values compare across the two databases), the audit
/// log apart, and the visits' day totals the database keeps.
async fn models(db: &DatabaseConnection) -> (Vec<String>, Vec<entity::audit_entry::Model>) {
    use entity::*;
    use sea_orm::{EntityTrait, QueryOrder};
    let mut out = Vec::new();
    macro_rules! each {
        ($($e:ident),*) => {$(
            let rows = $e::Entity::find().order_by_asc(sea_orm::sea_query::Expr::cust("1, 2")).all(db).await.unwrap();
            out.push(format!("{}: {rows:?}", stringify!($e)));
        )*};
    }
    invest_crm::every_table!(each);
    // Not copied, but rebuilt by the target's triggers from the visits copied: it must come out the same.
    each!(visit_day);
    out.retain(|t| !t.starts_with("audit_entry:"));
    let audit = audit_entry::Entity::find()
        .order_by_asc(audit_entry::Column::Id)
        .all(db)
        .await
        .unwrap();
    (out, audit)
}

/// `text` (a record's `Debug`) with every UTC time cut to microseconds, what PostgreSQL keeps (SQLite keeps the
/// nanoseconds it was given), written as chrono writes such a time (`.362Z`, not `.362000Z`).
fn to_micros(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dot) = rest.find('.') {
        out.push_str(&rest[..dot]);
        let after = &rest[dot + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || !after[digits..].starts_with('Z') {
            out.push('.');
            rest = after;
            continue;
        }
        let mut kept = &after[..digits.min(6)];
        if kept.len() == 6 && kept.ends_with("000") {
            kept = &kept[..3];
        }
        if kept.len() == 3 && kept == "000" {
            kept = "";
        }
        if !kept.is_empty() {
            out.push('.');
            out.push_str(kept);
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// A park on the embedded SQLite moves to PostgreSQL through its backup, and back through `copy`: every row the
/// same, the work summary the same, the audit chain verifying, and new records taking new ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_park_moves_to_postgresql_and_back() {
    let Some(pg) = TestApp::postgres().await else { return };
    let lite = TestApp::sqlite().await;
    invest_crm::demo::seed(&lite.db, false).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (file, manifest) = invest_crm::backup::backup(&lite.db, &lite.url, dir.path())
        .await
        .unwrap();

    let restored = invest_crm::backup::restore(&pg.url, &file, false, dir.path())
        .await
        .unwrap();
    assert_eq!(restored.tables, manifest.tables, "the row counts against the manifest");
    assert_eq!(
        pg.kept_astray().await,
        Vec::<String>::new(),
        "the kept counts, counted afresh"
    );
    let up = invest_crm::db::connect(&pg.url).await.unwrap();
    let (rows, audit) = models(&lite.db).await;
    let (moved, moved_audit) = models(&up).await;
    for (a, b) in rows.iter().zip(&moved) {
        assert_eq!(to_micros(a), *b);
    }
    let n = manifest.tables["audit_log"] as usize;
    assert_eq!(
        audit[..n],
        moved_audit[..n],
        "the audit log up to the backup (its times are whole microseconds)"
    );
    assert_eq!(moved_audit[n].action, "restore");
    assert_eq!(summary(&lite.db).await, summary(&up).await, "the 2024-H1 work summary");
    assert_eq!(jobs::audit_chain::verify(&up, None).await.unwrap().problem, None);
    let max: i64 = up
        .query_one_raw(Statement::from_string(
            up.get_database_backend(),
            "SELECT MAX(id) AS m FROM companies",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "m")
        .unwrap();
    let name = invest_crm::service::input::Name::parse("name", "搬家后新建企业").unwrap();
    let ids = invest_crm::service::companies::create_named(&up, vec![name])
        .await
        .unwrap();
    assert!(ids[0] > max, "new records take new ids: {} after {max}", ids[0]);

    // And back: PostgreSQL into a new SQLite file, table by table.
    let back = TestApp::sqlite().await;
    let copied = invest_crm::backup::copy_between(&pg.url, &back.url).await.unwrap();
    assert_eq!(back.kept_astray().await, Vec::<String>::new());
    assert_eq!(copied["companies"], manifest.tables["companies"] + 1);
    let down = invest_crm::db::connect(&back.url).await.unwrap();
    let (again, again_audit) = models(&down).await;
    let (now, now_audit) = models(&up).await;
    assert_eq!(again, now, "PostgreSQL and its SQLite copy, row by row");
    assert_eq!(again_audit[..now_audit.len()], now_audit[..]);
    assert_eq!(summary(&up).await, summary(&down).await);
    assert_eq!(jobs::audit_chain::verify(&down, None).await.unwrap().problem, None);
    // A database that holds records is not copied over.
    let refused = invest_crm::backup::copy_between(&pg.url, &back.url).await;
    assert!(refused.unwrap_err().to_string().contains("holds records"));
}

/// Every row of every table, each table in the order of its leading columns (the counts the database keeps, whose
/// keys run to three columns, in the order of all of them).
async fn all_rows(db: &DatabaseConnection) -> Vec<(String, Vec<JsonValue>)> {
    let counts = invest_crm::backup::row_counts(db).await.unwrap();
    let mut out = Vec::new();
    for table in counts.keys() {
        let sql = format!("SELECT * FROM \"{table}\" ORDER BY 1, 2");
        let stmt = Statement::from_string(db.get_database_backend(), sql);
        let mut rows = JsonValue::find_by_statement(stmt).all(db).await.unwrap();
        if invest_crm::db::kept_tables().contains(&table.as_str()) {
            rows.sort_by_key(|r| r.to_string());
        }
        out.push((table.clone(), rows));
    }
    out
}

async fn summary(db: &DatabaseConnection) -> String {
    let p = jobs::period::Period::parse("2024-H1").unwrap();
    let whole = invest_crm::service::scope::Seen::default();
    let as_of = chrono::NaiveDate::from_ymd_opt(2024, 6, 30).unwrap();
    invest_crm::report::summary(db, (&p, as_of), &whole, true)
        .await
        .unwrap()
}

async fn the_restore_drill(app: TestApp) {
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    // A quiet park: backed up and restored into a fresh database, it is the same, row by row.
    let (file, manifest) = invest_crm::backup::backup(&app.db, &app.url, dir.path()).await.unwrap();
    assert!(
        file.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .contains(&manifest.schema_version)
    );
    assert_eq!(manifest.tables["projects"], 86, "{manifest:?}");
    let fresh = fresh_like(&app).await;
    let restored = invest_crm::backup::restore(&fresh.url, &file, false, dir.path())
        .await
        .unwrap();
    assert_eq!(restored.tables, manifest.tables, "the row counts against the manifest");
    let back = invest_crm::db::connect(&fresh.url).await.unwrap();
    let (mut source, copy) = (all_rows(&app.db).await, all_rows(&back).await);
    let projects = &copy.iter().find(|(t, _)| t == "projects").unwrap().1;
    assert_eq!(projects.len(), 86);
    assert!(
        projects.iter().all(|p| p["name"].is_string() && p["stage"].is_string()),
        "whole rows: {:?}",
        projects[0]
    );
    // The source recorded its backup after the snapshot; the copy recorded its restore: the logs match up to them.
    for ((t, a), (_, b)) in source.iter_mut().zip(&copy) {
        if t == "audit_log" {
            let n = manifest.tables["audit_log"] as usize;
            assert_eq!(a[..n], b[..n], "audit_log up to the backup");
            assert_eq!(b[n]["action"], "restore");
            continue;
        }
        assert_eq!(a, b, "{t}, row by row");
    }
    assert_eq!(summary(&app.db).await, summary(&back).await, "the 2024-H1 work summary");
    let verdict = jobs::audit_chain::verify(&back, None).await.unwrap();
    assert_eq!(verdict.problem, None, "the restored audit chain verifies");

    // The copy now holds records: a second restore is refused; forced, it backs them up first.
    let again = invest_crm::backup::restore(&fresh.url, &file, false, dir.path()).await;
    assert!(again.unwrap_err().to_string().contains("holds records"));
    let forced = invest_crm::backup::restore(&fresh.url, &file, true, dir.path())
        .await
        .unwrap();
    assert!(forced.saved_first.is_some_and(|f| f.exists()));

    // A damaged backup (one byte changed) is refused with the manifest's reason; so is a backup of the other kind.
    let bad = dir.path().join("damaged.bak");
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&bad, bytes).unwrap();
    std::fs::copy(
        invest_crm::backup::manifest_path(&file),
        invest_crm::backup::manifest_path(&bad),
    )
    .unwrap();
    let empty = fresh_like(&app).await;
    let refused = invest_crm::backup::restore(&empty.url, &bad, false, dir.path()).await;
    assert!(refused.unwrap_err().to_string().contains("is damaged"));
    if app.url.starts_with("postgres") {
        let wrong = invest_crm::backup::restore("sqlite::memory:", &file, false, dir.path()).await;
        assert!(wrong.unwrap_err().to_string().contains("restores into a"));
    }

    // Writes going on: the backup holds every company acknowledged before it began, each whole.
    let storm = Arc::new(AtomicBool::new(true));
    let writer = {
        let (storm, client, base, token) = (
            storm.clone(),
            reqwest::Client::new(),
            app.base_url().to_owned(),
            app.token("staff").to_owned(),
        );
        tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut i = 0;
            while storm.load(Ordering::Relaxed) {
                i += 1;
                let r = client
                    .post(format!("{base}/api/v1/companies"))
                    .bearer_auth(&token)
                    .json(&json!({"name": format!("备份期间写入企业{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                let id = r.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
                acked.push((std::time::Instant::now(), id));
            }
            acked
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let began = std::time::Instant::now();
    let (during, _) = invest_crm::backup::backup(&app.db, &app.url, dir.path()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    storm.store(false, Ordering::Relaxed);
    let acked = writer.await.unwrap();
    let before: Vec<i64> = acked.iter().filter(|(t, _)| *t < began).map(|(_, id)| *id).collect();
    assert!(
        !before.is_empty() && acked.len() > before.len(),
        "writes before and during the backup: {acked:?}"
    );
    let target = fresh_like(&app).await;
    invest_crm::backup::restore(&target.url, &during, false, dir.path())
        .await
        .unwrap();
    let db = invest_crm::db::connect(&target.url).await.unwrap();
    let ids: Vec<i64> = JsonValue::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        "SELECT id FROM companies ORDER BY id",
    ))
    .all(&db)
    .await
    .unwrap()
    .iter()
    .map(|r| r["id"].as_i64().unwrap())
    .collect();
    for id in &before {
        assert!(
            ids.contains(id),
            "company {id}, acknowledged before the backup began, is in it"
        );
    }
    // Nothing half-written: every company the writes put in the backup has its audit entry with it.
    let unaudited: i64 = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM companies c WHERE c.name LIKE '备份期间写入企业%' AND NOT EXISTS \
             (SELECT 1 FROM audit_log a WHERE a.entity = 'company' AND a.entity_id = c.id AND a.action = 'create')",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap();
    assert_eq!(unaudited, 0);
    assert_eq!(jobs::audit_chain::verify(&db, None).await.unwrap().problem, None);
}

/// A fresh app on the same kind of database as `app`.
async fn fresh_like(app: &TestApp) -> TestApp {
    if app.url.starts_with("postgres") {
        TestApp::postgres().await.unwrap()
    } else {
        TestApp::sqlite().await
    }
}

/// A real S3-compatible server: moto in server mode on a free port, stopped when dropped.
pub struct Moto {
    child: std::process::Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts moto with one bucket; without python3 and moto it skips the test (and fails it under CI=true).
    pub async fn start(bucket: &str) -> Option<Moto> {
        let port = crate::mail::free_port();
        let child = std::process::Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let Ok(child) = child else {
            return crate::support::skip("python3 cannot be run");
        };
        let moto = Moto { child, port };
        for _ in 0..100 {
            let made = reqwest::Client::new()
                .put(format!("{}/{bucket}", moto.url()))
                .send()
                .await;
            if made.is_ok_and(|r| r.status().is_success()) {
                return Some(moto);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        crate::support::skip("the S3 server did not start (pip install 'moto[server]')")
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The settings of `bucket` on this server, under the prefix `park/`.
    pub fn bucket(&self, bucket: &str) -> invest_crm::backup::S3Config {
        invest_crm::backup::S3Config {
            bucket: bucket.into(),
            endpoint: Some(self.url()),
            region: Some("us-east-1".into()),
            access_key_id: Some("test".into()),
            secret_access_key: Some("test-secret".into()),
            prefix: "park/".into(),
            allow_http: true,
        }
    }
}

db_test!(scheduled_backups_go_to_a_bucket_and_are_pruned);

/// The settings of a backup into `bucket` on `moto`, keeping 2 days, 1 week and 2 months.
fn to_bucket(moto: &Moto, bucket: &str, dir: &std::path::Path) -> invest_crm::backup::BackupConfig {
    invest_crm::backup::BackupConfig {
        dir: Some(dir.to_owned()),
        s3: Some(moto.bucket(bucket)),
        keep_daily: 2,
        keep_weekly: 1,
        keep_monthly: 2,
    }
}

async fn scheduled_backups_go_to_a_bucket_and_are_pruned(app: TestApp) {
    let Some(moto) = Moto::start("crm-backups").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        app.company(&format!("备份企业{i}")).await;
    }
    // Backups of earlier months already in the bucket (each with its manifest), and a file an upload cut short
    // left without one.
    let http = reqwest::Client::new();
    let old = [
        "20260115T020000.000Z",
        "20260215T020000.000Z",
        "20260310T020000.000Z",
        "20260311T020000.000Z",
    ];
    for stamp in old {
        for suffix in ["", ".manifest.json"] {
            let key = format!("{}/crm-backups/park/invest-crm-{stamp}-m1.sqlite{suffix}", moto.url());
            assert!(http.put(key).body("old").send().await.unwrap().status().is_success());
        }
    }
    let orphan = format!(
        "{}/crm-backups/park/invest-crm-20260101T020000.000Z-m1.sqlite",
        moto.url()
    );
    assert!(
        http.put(&orphan)
            .body("cut short")
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );

    let cfg = invest_crm::config::Config {
        database_url: Some(app.url.clone()),
        data_dir: dir.path().to_owned(),
        backup: to_bucket(&moto, "crm-backups", &dir.path().join("backups")),
        ..Default::default()
    };
    let setup = invest_crm::service::jobs::Setup::of(&cfg);
    let spec = invest_crm::service::jobs::spec(&setup, "backup").unwrap();
    assert_eq!(spec.cron, "0 0 2 * * *", "daily at 02:00 by default");
    let runner = invest_crm::service::jobs::runner(&app.db, &cfg.jobs).unwrap();
    let outcome = runner.run_manual(&spec, None).await.unwrap();
    assert!(matches!(outcome, jobs::runner::Outcome::Succeeded(_)), "{outcome:?}");

    // Retention: the new backup (today, this week, this month) and 2026-03-11 (the newest of the second day and
    // the second month) stay; the rest and the orphan are gone.
    let listed = setup.backup.list().await.unwrap();
    let names: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[1], "invest-crm-20260311T020000.000Z-m1.sqlite");
    assert_eq!(http.get(&orphan).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let gone = format!(
        "{}/crm-backups/park/invest-crm-20260115T020000.000Z-m1.sqlite",
        moto.url()
    );
    assert_eq!(http.get(&gone).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert!(
        std::fs::read_dir(dir.path().join("backups/.staging"))
            .unwrap()
            .next()
            .is_none(),
        "staging emptied"
    );

    // The backup in the bucket restores: fetched with its manifest, checked, and equal to the source.
    let file = setup.backup.fetch(names[0], &dir.path().join("fetched")).await.unwrap();
    let target = fresh_like(&app).await;
    let restored = invest_crm::backup::restore(&target.url, &file, false, dir.path())
        .await
        .unwrap();
    assert_eq!(restored.manifest.bytes, listed[0].bytes);
    assert_eq!(restored.tables["companies"], 3);

    // 系统日志 lists the backups with their sizes; 立即备份 takes one more.
    let base = app.also_serve(&cfg).await;
    let web = crate::web::Web::sign_in_at(&base, "admin", crate::support::PASSWORD).await;
    let page = web.get("/system?tab=backups").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(names[0]) && page.body.contains("crm-backups"),
        "{}",
        page.body
    );
    assert!(page.body.contains("立即备份"));
    let started = web
        .send(reqwest::Method::POST, "/system/jobs/backup/run", &[], true)
        .await;
    assert_eq!(started.status, StatusCode::OK);
    let mut now = Vec::new();
    // pg_dump runs at a lower priority: on a machine busy with the other tests it may take a while. The new backup is
    // listed once uploaded; the pruning comes right after it.
    for _ in 0..300 {
        now = setup.backup.list().await.unwrap();
        if now[0].name != names[0] && now.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The newest of today is the one just taken; the earlier one of today went, as keep_daily says.
    let now: Vec<&str> = now.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now[0] != names[0] && now[1] == names[1], "{now:?}");

    // A backup that cannot be stored fails, is retried, and its last failure alerts the admins and shows on the tab.
    let broken = invest_crm::config::Config {
        backup: to_bucket(&moto, "no-such-bucket", &dir.path().join("backups")),
        jobs: jobs::Schedules {
            max_attempts: 1,
            ..Default::default()
        },
        ..cfg.clone()
    };
    let setup = invest_crm::service::jobs::Setup::of(&broken);
    let spec = invest_crm::service::jobs::spec(&setup, "backup").unwrap();
    let runner = invest_crm::service::jobs::runner(&app.db, &broken.jobs).unwrap();
    let outcome = runner.run_manual(&spec, None).await.unwrap();
    assert!(matches!(outcome, jobs::runner::Outcome::Failed(..)), "{outcome:?}");
    let alert: String = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT subject FROM outbox WHERE kind = 'alert' ORDER BY id DESC",
        ))
        .await
        .unwrap()
        .expect("an alert is queued")
        .try_get("", "subject")
        .unwrap();
    assert!(alert.contains("backup"), "{alert}");
    let base = app.also_serve(&broken).await;
    let web = crate::web::Web::sign_in_at(&base, "admin", crate::support::PASSWORD).await;
    let page = web.get("/system?tab=backups").await;
    assert!(
        page.body.contains("最近一次备份") && page.body.contains("失败"),
        "{}",
        page.body
    );
}
