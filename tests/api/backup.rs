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

/// Every row of every table, each table in the order of its leading columns.
async fn all_rows(db: &DatabaseConnection) -> Vec<(String, Vec<JsonValue>)> {
    let counts = invest_crm::backup::row_counts(db).await.unwrap();
    let mut out = Vec::new();
    for table in counts.keys() {
        let sql = format!("SELECT * FROM \"{table}\" ORDER BY 1, 2");
        let stmt = Statement::from_string(db.get_database_backend(), sql);
        out.push((table.clone(), JsonValue::find_by_statement(stmt).all(db).await.unwrap()));
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
    let other = if app.url.starts_with("postgres") {
        "sqlite::memory:".to_owned()
    } else {
        "postgres://nobody@127.0.0.1:1/none".to_owned()
    };
    let wrong = invest_crm::backup::restore(&other, &file, false, dir.path()).await;
    assert!(wrong.unwrap_err().to_string().contains("restores into a"));

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
