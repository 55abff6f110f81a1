//! The audit trail (docs/SECURITY.md): entries written by the service layer whatever the door, with values before
//! and after; the hash chain that finds a changed, deleted or inserted entry; the archive past retention.

use std::{io::Write, process::Stdio};

use entity::audit_entry;
use invest_crm::service::audit::chain;
use reqwest::StatusCode;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use serde_json::{Value, json};

use crate::{db_test, support::TestApp, web::Web};

db_test!(
    the_ui_and_the_api_record_the_same_change,
    the_command_line_is_a_door_too,
    a_tampered_trail_is_found,
    old_entries_are_archived_and_still_verify,
);

/// The newest entry of one record, through the API.
async fn newest(app: &TestApp, entity: &str, id: i64) -> Value {
    let (s, log) = app
        .get(&format!("/api/v1/audit?entity={entity}&entity_id={id}&per_page=1"))
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    log["items"][0].clone()
}

/// The same follow-up through the browser's form and through the API leaves the same entry but for the door; a
/// project edited in the UI records each field it changed with its value before and after.
async fn the_ui_and_the_api_record_the_same_change(app: TestApp) {
    let p = app.project("审计跟进项目", "lead", "2024-03-01").await;
    let id = p["id"].as_i64().unwrap();
    let web = Web::sign_in(&app, "staff").await;
    let a = web
        .post(
            &format!("/projects/{id}/follow-ups"),
            &[("occurred_on", "2024-03-05"), ("kind", "call"), ("note", "电话沟通")],
        )
        .await;
    assert!(a.status.is_success(), "{}", a.body);
    let (s, api) = app
        .as_user("staff")
        .post(
            &format!("/api/v1/projects/{id}/follow-ups"),
            json!({"occurred_on": "2024-03-05", "kind": "call", "note": "电话沟通"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{api}");
    let (_, log) = app.get("/api/v1/audit?entity=follow_up&action=create").await;
    let rows = log["items"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{log}");
    let (by_api, by_ui) = (&rows[0], &rows[1]);
    assert_eq!(
        (by_ui["door"].as_str(), by_api["door"].as_str()),
        (Some("web"), Some("api"))
    );
    assert!(
        by_ui["entity_id"].as_i64().is_some(),
        "the id of a create made in the UI: {by_ui}"
    );
    assert_eq!(by_api["entity_id"], api["id"]);
    for r in rows {
        assert_eq!(r["username"], "staff");
        assert!(
            r["changes"]
                .as_array()
                .unwrap()
                .contains(&json!({"field": "note", "became": "电话沟通"})),
            "{r}"
        );
    }
    assert_eq!(
        by_ui["changes"], by_api["changes"],
        "the same values, whatever the door"
    );

    // An edit in the UI: was → became per field.
    let company = app.get(&format!("/api/v1/companies/{}", p["company_id"])).await.1;
    let edit = web
        .send(
            reqwest::Method::PATCH,
            &format!("/projects/{id}"),
            &[
                ("version", &p["version"].to_string()),
                ("name", "审计跟进项目(改)"),
                ("company", company["name"].as_str().unwrap()),
                ("notes", "新的备注"),
            ],
            true,
        )
        .await;
    assert!(edit.status.is_success(), "{}", edit.body);
    let e = newest(&app, "project", id).await;
    assert_eq!(
        (e["action"].as_str(), e["door"].as_str()),
        (Some("update"), Some("web")),
        "{e}"
    );
    assert_eq!(e["path"], format!("/projects/{id}"));
    let changes = e["changes"].as_array().unwrap();
    assert!(
        changes.contains(&json!({"field": "name", "was": "审计跟进项目", "became": "审计跟进项目(改)"})),
        "{e}"
    );
    assert!(
        changes.contains(&json!({"field": "notes", "became": "新的备注"})),
        "{e}"
    );
    // Beside the record: 变更记录, by display name, in Chinese labels, was → became.
    let page = web.get(&format!("/projects/{id}")).await.body;
    assert!(page.contains("变更记录"), "{page}");
    assert!(
        page.contains("名称:<del>审计跟进项目</del> → 审计跟进项目(改)"),
        "{page}"
    );
    assert!(page.contains("备注:新的备注") && page.contains("测试staff"), "{page}");
    assert!(
        page.contains("投资企业:审计跟进项目公司"),
        "a company by its name, not its id: {page}"
    );
    let page = web.get(&format!("/companies/{}", p["company_id"])).await.body;
    assert!(
        page.contains("变更记录") && page.contains("新建") && page.contains("名称:审计跟进项目公司"),
        "{page}"
    );

    // A stage move on the board is the project's entry, with the event it added.
    let moved = web
        .post(
            &format!("/projects/{id}/stage-events"),
            &[("stage", "negotiating"), ("occurred_on", "2024-03-10")],
        )
        .await;
    assert!(moved.status.is_success(), "{}", moved.body);
    let e = newest(&app, "project", id).await;
    assert_eq!(e["action"], "stage_move", "{e}");
    assert_eq!(
        e["changes"],
        json!([{"field": "stage", "was": "lead", "became": "negotiating"}])
    );
    assert!(e["detail"]["event_id"].as_i64().is_some(), "{e}");
}

/// `invest-crm` run with `args` on the test's database, `stdin` piped in: its success and its output.
fn command(app: &TestApp, args: &[&str], stdin: &str) -> (bool, String) {
    command_with(app, args, stdin, &[])
}

/// [`command`] with more environment.
fn command_with(app: &TestApp, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (bool, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_invest-crm"))
        .args(args)
        .envs(env.iter().copied())
        .env("DATABASE_URL", &app.url)
        .env("INVEST_CRM_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A user created on the command line is recorded as the command line's, without the password, and sealed.
async fn the_command_line_is_a_door_too(app: TestApp) {
    let (ok, out) = command(
        &app,
        &[
            "user",
            "add",
            "cli.user",
            "--role",
            "staff",
            "--display-name",
            "命令行用户",
        ],
        "a long enough password\n",
    );
    assert!(ok, "{out}");
    let e = audit_entry::Entity::find()
        .filter(audit_entry::Column::Entity.eq("user"))
        .order_by_desc(audit_entry::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (e.action.as_str(), e.door.as_str(), e.path.as_str()),
        ("create", "cli", "user add")
    );
    let text = serde_json::to_string(&e.changes).unwrap();
    assert!(text.contains(r#""field":"password","secret":true"#), "{text}");
    assert!(
        !text.contains("a long enough password") && !text.contains("argon2"),
        "{text}"
    );
    assert!(e.seq.is_some() && e.hash.is_some(), "the command sealed what it wrote");

    // A password an admin sets reads as a changed secret, not as a name change, and never shows.
    let (_, u) = app.get(&format!("/api/v1/users/{}", e.entity_id.unwrap())).await;
    let (s, _) = app
        .patch(
            &format!("/api/v1/users/{}", u["id"]),
            json!({"version": u["version"], "password": "set by the admin 1", "display_name": "改名用户"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let set = newest(&app, "user", u["id"].as_i64().unwrap()).await;
    assert_eq!(set["action"], "update");
    assert_eq!(
        set["changes"],
        json!([
            {"field": "display_name", "was": "命令行用户", "became": "改名用户"},
            {"field": "password", "secret": true},
        ])
    );
    assert!(!set.to_string().contains("set by the admin 1") && !set.to_string().contains("argon2"));
    let (ok, out) = command(&app, &["audit", "verify"], "");
    assert!(ok, "{out}");
    assert!(out.contains("audit trail verified"), "{out}");
}

/// One entry changed, one deleted, one inserted with SQL: `audit verify` names each and exits non-zero; put back,
/// the trail verifies again.
async fn a_tampered_trail_is_found(app: TestApp) {
    for name in ["篡改一", "篡改二", "篡改三"] {
        app.company(name).await;
    }
    chain::seal(&app.db).await.unwrap();
    let v = chain::verify(&app.db, None).await.unwrap();
    assert_eq!(v.problem, None);
    let total = audit_entry::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(v.checked, total, "every entry sealed and checked");
    let victim = audit_entry::Entity::find()
        .filter(audit_entry::Column::Entity.eq("company"))
        .order_by_asc(audit_entry::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let seq = victim.seq.unwrap();
    let db = &app.db;
    let sql = |s: String| async move { db.execute_unprepared(&s).await.unwrap() };

    // Changed: someone makes the entry say another user did it.
    sql(format!(
        "UPDATE audit_log SET username = 'leader' WHERE id = {}",
        victim.id
    ))
    .await;
    let (ok, out) = command(&app, &["audit", "verify"], "");
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("entry {seq} (id {}) was changed", victim.id)),
        "{out}"
    );
    sql(format!(
        "UPDATE audit_log SET username = 'admin' WHERE id = {}",
        victim.id
    ))
    .await;
    assert_eq!(
        chain::verify(&app.db, None).await.unwrap().problem,
        None,
        "put back, it verifies"
    );

    // Deleted: the entry after it no longer follows.
    let copy = audit_entry::Entity::find_by_id(victim.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    sql(format!("DELETE FROM audit_log WHERE id = {}", victim.id)).await;
    let (ok, out) = command(&app, &["audit", "verify"], "");
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("entries {seq}–{seq} are missing")), "{out}");
    audit_entry::Entity::insert(sea_orm::IntoActiveModel::into_active_model(copy))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(chain::verify(&app.db, None).await.unwrap().problem, None);

    // Inserted: an entry dated last month that the service never wrote is not sealed, and is named.
    let forged = |seq: Option<i64>, at: &str| audit_entry::ActiveModel {
        at: Set(at.parse().unwrap()),
        action: Set("delete".into()),
        path: Set(String::new()),
        fields: Set(json!([])),
        door: Set("api".into()),
        seq: Set(seq),
        prev_hash: Set(seq.map(|_| "forged".into())),
        hash: Set(seq.map(|_| "forged".into())),
        ..Default::default()
    };
    // More of them than the sealer reads at once: it passes over them and ends.
    audit_entry::Entity::insert_many((0..1001).map(|_| forged(None, "2020-01-01T00:00:00Z")))
        .exec(&app.db)
        .await
        .unwrap();
    let sealing = tokio::time::timeout(std::time::Duration::from_secs(60), chain::seal(&app.db));
    assert_eq!(sealing.await.expect("the sealer ends").unwrap(), 0);
    let v = chain::verify(&app.db, None).await.unwrap();
    assert!(
        v.problem.as_deref().is_some_and(|p| p.contains("is not sealed")),
        "{v:?}"
    );
    // Inserted with a forged seal in the middle of the chain: the link does not fit.
    sql("DELETE FROM audit_log WHERE seq IS NULL".to_owned()).await;
    sql(format!("UPDATE audit_log SET seq = seq + 1000 WHERE seq > {seq}")).await;
    audit_entry::Entity::insert(forged(Some(seq + 1), "2026-01-01T00:00:00Z"))
        .exec(&app.db)
        .await
        .unwrap();
    let (ok, out) = command(&app, &["audit", "verify"], "");
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("does not follow entry {seq}")), "{out}");

    // The nightly check finds the same, fails its run, and its last failure alerts the admins by mail.
    let alerts = || {
        entity::outbox::Entity::find()
            .filter(entity::outbox::Column::Subject.contains("audit_verify"))
            .count(&app.db)
    };
    assert_eq!(alerts().await.unwrap(), 0);
    let (ok, out) = command_with(
        &app,
        &["job", "run", "audit_verify"],
        "",
        &[("INVEST_CRM_JOBS__MAX_ATTEMPTS", "1")],
    );
    assert!(!ok && out.contains("审计日志校验失败"), "{out}");
    assert_eq!(alerts().await.unwrap(), 1, "the admins are alerted");
}

/// Entries past the retention go to a JSON Lines file with their seals and leave the database only once it is
/// written and verified; the rest still verifies, and across the boundary with the archive; younger entries are
/// refused.
async fn old_entries_are_archived_and_still_verify(app: TestApp) {
    for name in ["归档一", "归档二"] {
        app.company(name).await;
    }
    // What the test app wrote at its start (its users) dates from two years ago.
    let two_years_ago: chrono::DateTime<chrono::Utc> = "2024-01-01T08:00:00Z".parse().unwrap();
    audit_entry::Entity::update_many()
        .col_expr(audit_entry::Column::At, Expr::value(two_years_ago))
        .filter(audit_entry::Column::Entity.eq("user"))
        .exec(&app.db)
        .await
        .unwrap();
    chain::seal(&app.db).await.unwrap();
    let old = audit_entry::Entity::find()
        .filter(audit_entry::Column::Entity.eq("user"))
        .count(&app.db)
        .await
        .unwrap();
    assert!(old > 0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit-2024.jsonl");
    let file = file.to_str().unwrap();

    let (ok, out) = command(&app, &["audit", "archive", "--before", "2099-01-01", "--to", file], "");
    assert!(
        !ok && out.contains("audit.retention_days"),
        "younger entries are refused: {out}"
    );

    let (ok, out) = command(&app, &["audit", "archive", "--before", "2025-01-01", "--to", file], "");
    assert!(ok, "{out}");
    let lines = std::fs::read_to_string(file).unwrap();
    assert_eq!(lines.lines().count() as u64, old, "{out}");
    assert!(
        lines.lines().all(|l| l.contains("\"hash\"")),
        "every line with its seal"
    );
    let left = audit_entry::Entity::find()
        .filter(audit_entry::Column::Entity.eq("user"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 0, "archived entries leave the database");

    let (ok, out) = command(&app, &["audit", "verify"], "");
    assert!(ok && out.contains("archived"), "{out}");
    let (ok, out) = command(&app, &["audit", "verify", "--from-archive", file], "");
    assert!(ok, "{out}");
    assert!(out.contains(&format!("{old} entries verified")), "{out}");

    // An archive that does not end where the database's chain begins is found.
    let cut: Vec<&str> = lines.lines().take(lines.lines().count() - 1).collect();
    let short = dir.path().join("short.jsonl");
    std::fs::write(&short, cut.join("\n")).unwrap();
    let (ok, out) = command(
        &app,
        &["audit", "verify", "--from-archive", short.to_str().unwrap()],
        "",
    );
    assert!(!ok && out.contains("missing"), "{out}");
}
