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

use crate::{
    db_test,
    support::{PASSWORD, TestApp},
    web::Web,
};

db_test!(
    the_ui_and_the_api_record_the_same_change,
    the_command_line_is_a_door_too,
    a_tampered_trail_is_found,
    old_entries_are_archived_and_still_verify,
    the_duties_of_administrators_are_separated,
    security_events_are_recorded,
    visits_and_blockers_show_their_changes,
    a_command_waits_for_a_writer_instead_of_failing,
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
    // What the test app wrote at its start (its migrations, its users) dates from two years ago.
    let two_years_ago: chrono::DateTime<chrono::Utc> = "2024-01-01T08:00:00Z".parse().unwrap();
    let at_start = || {
        sea_orm::Condition::any()
            .add(audit_entry::Column::Entity.eq("user"))
            .add(audit_entry::Column::Action.eq("migrate"))
    };
    audit_entry::Entity::update_many()
        .col_expr(audit_entry::Column::At, Expr::value(two_years_ago))
        .filter(at_start())
        .exec(&app.db)
        .await
        .unwrap();
    chain::seal(&app.db).await.unwrap();
    let old = audit_entry::Entity::find()
        .filter(at_start())
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

/// A request with a bearer token to a server of the app, answered status and JSON.
async fn call(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// 三员分立: the security administrator grants roles and data scopes and reads no records; the auditor reads and
/// verifies the log and nothing else; with `audit.separation_of_duties` the admin can do neither, and reads only
/// their own entries, unsearched.
async fn the_duties_of_administrators_are_separated(app: TestApp) {
    use reqwest::Method;
    for (name, role) in [("anquan", "security"), ("shenji", "auditor")] {
        let body = json!({"username": name, "display_name": name, "role": role, "password": PASSWORD});
        let (s, u) = app.post("/api/v1/users", body).await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
    }
    let token = async |name: &str| app.login(name, PASSWORD).await.1["token"].as_str().unwrap().to_owned();
    let (security, auditor) = (token("anquan").await, token("shenji").await);
    let base = app.base_url().to_owned();
    let staff = app.user_ids["staff"];

    // The auditor reads and verifies the log, and no record.
    let (s, log) = call(&base, &auditor, Method::GET, "/api/v1/audit?username=admin", None).await;
    assert_eq!(s, StatusCode::OK, "{log}");
    assert!(log["total"].as_i64().unwrap() > 0);
    let (s, v) = call(&base, &auditor, Method::GET, "/api/v1/audit/verification", None).await;
    assert_eq!((s, v["ok"].clone()), (StatusCode::OK, json!(true)), "{v}");
    for path in [
        "/api/v1/projects",
        "/api/v1/companies",
        "/api/v1/users",
        "/api/v1/analytics/kpis?year=2024",
    ] {
        let (s, _) = call(&base, &auditor, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "the auditor reads no {path}");
    }
    // The security administrator grants a data scope and reads neither records nor the log.
    let (_, u) = app.get(&format!("/api/v1/users/{staff}")).await;
    let body = json!({"version": u["version"], "data_scope": "own"});
    let (s, changed) = call(
        &base,
        &security,
        Method::PATCH,
        &format!("/api/v1/users/{staff}"),
        Some(body),
    )
    .await;
    assert_eq!(
        (s, changed["data_scope"].clone()),
        (StatusCode::OK, json!("own")),
        "{changed}"
    );
    let body = json!({"version": changed["version"], "display_name": "改名"});
    let (s, _) = call(
        &base,
        &security,
        Method::PATCH,
        &format!("/api/v1/users/{staff}"),
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "names are the admin's");
    for path in ["/api/v1/projects", "/api/v1/audit"] {
        let (s, _) = call(&base, &security, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "the security administrator reads no {path}");
    }
    let (_, e) = app
        .get(&format!(
            "/api/v1/audit?entity=user&entity_id={staff}&action=update&per_page=1"
        ))
        .await;
    assert_eq!(e["items"][0]["username"], "anquan");
    assert_eq!(
        e["items"][0]["changes"],
        json!([{"field": "data_scope", "became": "own"}])
    );

    // Separated, the admin manages accounts but grants nothing and reads only their own entries.
    let mut cfg = app.cfg.clone();
    cfg.audit.separation_of_duties = true;
    let separated = app.also_serve(&cfg).await;
    let admin = app.token("admin").to_owned();
    let (s, own) = call(&separated, &admin, Method::GET, "/api/v1/audit?per_page=200", None).await;
    assert_eq!(s, StatusCode::OK, "{own}");
    let items = own["items"].as_array().unwrap();
    assert!(
        !items.is_empty() && items.iter().all(|e| e["username"] == "admin"),
        "{own}"
    );
    for path in ["/api/v1/audit?username=staff", "/api/v1/audit/verification"] {
        let (s, _) = call(&separated, &admin, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }
    let (_, u) = app.get(&format!("/api/v1/users/{staff}")).await;
    let body = json!({"version": u["version"], "role": "leader"});
    let (s, _) = call(
        &separated,
        &admin,
        Method::PATCH,
        &format!("/api/v1/users/{staff}"),
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "roles are the security administrator's");
    let body = json!({"version": u["version"], "display_name": "周敏"});
    let (s, _) = call(
        &separated,
        &admin,
        Method::PATCH,
        &format!("/api/v1/users/{staff}"),
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let body = json!({"username": "shenji2", "display_name": "审计二", "role": "auditor", "password": PASSWORD});
    let (s, _) = call(&separated, &admin, Method::POST, "/api/v1/users", Some(body)).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "an admin creates no auditor when duties are separated"
    );
    let body = json!({"username": "zhuanyuan", "display_name": "专员", "role": "staff", "password": PASSWORD});
    let (s, _) = call(&separated, &admin, Method::POST, "/api/v1/users", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, u) = app.get(&format!("/api/v1/users/{staff}")).await;
    let body = json!({"version": u["version"], "role": "leader"});
    let (s, _) = call(
        &separated,
        &security,
        Method::PATCH,
        &format!("/api/v1/users/{staff}"),
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "the security administrator grants roles");
    let (s, _) = call(&separated, &auditor, Method::GET, "/api/v1/audit?username=staff", None).await;
    assert_eq!(s, StatusCode::OK, "the auditor searches the log");

    // In the UI the auditor's first page is the audit log, with its filters and the verification.
    let web = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = web
        .post(format!("{base}/login"))
        .form(&[("username", "shenji"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = web.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/system");
    let page = web
        .get(format!("{base}/system"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("审计日志") && page.contains("校验完整性") && !page.contains("招商项目"),
        "{page}"
    );
    let r = web.get(format!("{base}/projects")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// Security events: a token's first use, a session that expired while idle, a lockout, a record hidden outside the
/// caller's scope, a sign-in refused by the rate limit.
async fn security_events_are_recorded(app: TestApp) {
    use reqwest::Method;
    let base = app.base_url().to_owned();
    let count = async |action: &str, entity: &str, id: i64| -> Vec<Value> {
        let (_, log) = app
            .get(&format!("/api/v1/audit?action={action}&entity={entity}&entity_id={id}"))
            .await;
        log["items"].as_array().unwrap().clone()
    };
    // An API token used twice: its first use is recorded once.
    let until = (chrono::Utc::now().date_naive() + chrono::Duration::days(10)).to_string();
    let body = json!({"user_id": app.user_ids["viewer"], "name": "读取", "scopes": ["read"], "expires_on": until});
    let (_, t) = app.post("/api/v1/tokens", body).await;
    let secret = t["token"].as_str().unwrap();
    for _ in 0..2 {
        assert_eq!(
            call(&base, secret, Method::GET, "/api/v1/projects", None).await.0,
            StatusCode::OK
        );
    }
    let used = count("token_first_use", "token", t["info"]["id"].as_i64().unwrap()).await;
    assert_eq!(used.len(), 1, "{used:?}");
    assert_eq!(used[0]["username"], "viewer");

    // A session idle past its limit ends at the next request, which records it once.
    let (_, s) = app.login("leader", PASSWORD).await;
    let token = s["token"].as_str().unwrap();
    let session = entity::session::Entity::find()
        .order_by_desc(entity::session::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    entity::session::Entity::update_many()
        .col_expr(
            entity::session::Column::LastSeenAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::hours(3)),
        )
        .filter(entity::session::Column::Id.eq(session.id))
        .exec(&app.db)
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(
            call(&base, token, Method::GET, "/api/v1/auth/me", None).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let expired = count("session_expired", "session", session.id).await;
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(
        (expired[0]["username"].clone(), expired[0]["detail"]["reason"].clone()),
        (json!("leader"), json!("idle"))
    );

    // A record out of the caller's data scope is answered as missing, and the log names it.
    let p = app.project("范围外项目", "lead", "2024-01-10").await;
    let staff = app.user_ids["staff"];
    let (_, u) = app.get(&format!("/api/v1/users/{staff}")).await;
    app.patch(
        &format!("/api/v1/users/{staff}"),
        json!({"version": u["version"], "data_scope": "own"}),
    )
    .await;
    let id = p["id"].as_i64().unwrap();
    let (s, _) = app.as_user("staff").get(&format!("/api/v1/projects/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let hidden = count("refused", "project", id).await;
    assert_eq!(hidden.len(), 1, "{hidden:?}");
    assert_eq!(
        (hidden[0]["username"].clone(), hidden[0]["detail"]["status"].clone()),
        (json!("staff"), json!(404))
    );
    let (s, _) = app.as_user("staff").get("/api/v1/projects/999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        count("refused", "project", 999_999).await.is_empty(),
        "a record that does not exist hides nothing"
    );

    // Five wrong passwords from one address lock the account for it.
    for _ in 0..5 {
        assert_eq!(
            app.login("viewer", "wrong password 1234").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let locks = count("lockout", "user", app.user_ids["viewer"]).await;
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert_eq!(locks[0]["detail"]["scope"], "address");
    // Past the rate limit, a sign-in is refused unchecked, and recorded with that reason.
    let mut limited = false;
    for _ in 0..30 {
        limited |= app.login("nobody", "wrong password 1234").await.0 == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited);
    let (_, f) = app.get("/api/v1/audit?action=login_failure&per_page=1").await;
    assert_eq!(f["items"][0]["detail"]["reason"], "rate limited", "{f}");
}

/// A visit's and a blocker's pages show their 变更记录: the fields in Chinese with was → became, the projects a
/// visit concerns by name; the audit tab of 系统日志 links an entry to the record's page.
async fn visits_and_blockers_show_their_changes(app: TestApp) {
    let p = app.project("变更记录项目", "negotiating", "2024-03-01").await;
    let (pid, company) = (p["id"].as_i64().unwrap(), p["company_id"].as_i64().unwrap());
    let staff = app.as_user("staff");
    let (s, v) = staff
        .post(
            "/api/v1/visits",
            json!({"visit_date": "2024-03-05", "headcount": 3, "company_ids": [company]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let vid = v["id"].as_i64().unwrap();
    let (s, _) = staff
        .patch(
            &format!("/api/v1/visits/{vid}"),
            json!({"version": v["version"], "headcount": 5, "project_ids": [pid]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, b) = staff
        .post(
            &format!("/api/v1/projects/{pid}/blockers"),
            json!({"title": "用电增容", "category": "facilities"}),
        )
        .await;
    let bid = b["id"].as_i64().unwrap();
    let (s, _) = staff
        .patch(
            &format!("/api/v1/blockers/{bid}"),
            json!({"version": b["version"], "assigned_leader": "王建国"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let web = Web::sign_in(&app, "staff").await;
    let page = web.get(&format!("/visits/{vid}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for text in ["变更记录", "人数:<del>3</del> → 5", "关联项目:", "变更记录项目</a>"] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    assert!(
        page.body.contains("关联项目:<del>—</del> → 变更记录项目") || page.body.contains("关联项目:变更记录项目"),
        "{}",
        page.body
    );
    let page = web.get(&format!("/blockers/{bid}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("协调领导:") && page.body.contains("王建国"),
        "{}",
        page.body
    );
    let list = web.get("/visits").await;
    assert!(
        list.body.contains(&format!("href=\"/visits/{vid}\"")),
        "the list links each visit"
    );

    let admin = Web::sign_in(&app, "admin").await;
    let log = admin.get("/system?tab=audit&entity=visit&action=update").await;
    // The page's template escapes the link's slashes.
    assert!(
        log.body
            .contains(&format!("href=\"&#x2f;visits&#x2f;{vid}\">来访记录 #{vid}</a>")),
        "{}",
        log.body
    );
    assert!(log.body.contains("<del>3</del> → 5"), "{}", log.body);
}

/// A command that writes while another writer holds the database (the service, on SQLite's one file) waits for it
/// instead of failing: its transaction takes the write lock when it begins, not when it first writes after reading.
async fn a_command_waits_for_a_writer_instead_of_failing(app: TestApp) {
    let staff = app.user_ids["staff"];
    let writer = invest_crm::service::begin(&app.db).await.unwrap();
    entity::user::Entity::update_many()
        .col_expr(entity::user::Column::DisplayName, Expr::value("写入中"))
        .filter(entity::user::Column::Id.eq(staff))
        .exec(&writer)
        .await
        .unwrap();
    let url = app.url.clone();
    let reset = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_invest-crm"))
            .args(["user", "reset-password", "leader"])
            .env("DATABASE_URL", url)
            .env("INVEST_CRM_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        child.stdin.take().unwrap().write_all(b"a new password 1234\n").unwrap();
        child.wait_with_output().unwrap()
    });
    // The command reads the user, then writes: meanwhile the other writer finishes.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    writer.commit().await.unwrap();
    let out = reset.await.unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.login("leader", "a new password 1234").await.0, StatusCode::OK);
}
