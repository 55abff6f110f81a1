//! Every write route leaves its audit entry, written by the service layer (docs/SECURITY.md, "The audit trail"):
//! each write operation of the API, as its OpenAPI document lists them, and each write route of the UI, as its
//! router lists them, is performed once with a valid request; each must leave an entry naming the canonical kind of
//! record, the record's id, the changed fields with their values (masked where they must be, secrets only as the fact)
//! and the actor, and none may fall back to the entry the HTTP edge writes for a write nobody recorded. A route added
//! without a step here fails the test.

use std::collections::BTreeSet;

use entity::{audit_entry, enums::OutboxStatus, outbox};
use reqwest::{Method, StatusCode};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Statement};
use serde_json::{Value, json};

use crate::{
    db_test,
    support::{PASSWORD, TestApp},
    web::Web,
};

db_test!(every_write_route_leaves_its_entry);

/// What one write must leave: an entry of this kind of record and id (any id when `None`), by this user, with these
/// fields among its changes.
struct Expect<'a> {
    entity: &'a str,
    id: Option<i64>,
    action: &'a str,
    user: &'a str,
    fields: &'a [&'a str],
}

fn expect<'a>(entity: &'a str, id: Option<i64>, action: &'a str, user: &'a str, fields: &'a [&'a str]) -> Expect<'a> {
    Expect {
        entity,
        id,
        action,
        user,
        fields,
    }
}

/// The writes done so far and the last entry seen.
struct Probe<'a> {
    app: &'a TestApp,
    seen: i64,
    api: BTreeSet<String>,
    web: BTreeSet<String>,
}

impl Probe<'_> {
    /// The entries written since the last check: one must match `e`; none may be the edge's fallback.
    async fn check(&mut self, what: &str, e: Expect<'_>) -> audit_entry::Model {
        let rows = audit_entry::Entity::find()
            .filter(audit_entry::Column::Id.gt(self.seen))
            .order_by_asc(audit_entry::Column::Id)
            .all(&self.app.db)
            .await
            .unwrap();
        assert!(!rows.is_empty(), "{what}: no audit entry");
        self.seen = rows.last().unwrap().id;
        for r in &rows {
            assert!(
                r.detail.as_ref().is_none_or(|d| d["recorded_by"] != "edge"),
                "{what}: the service layer recorded nothing, the edge did: {r:?}"
            );
        }
        let found = rows.iter().find(|r| {
            let kind = if e.entity.is_empty() { None } else { Some(e.entity) };
            r.entity.as_deref() == kind && e.id.is_none_or(|id| r.entity_id == Some(id)) && r.action == e.action
        });
        let Some(r) = found else {
            panic!(
                "{what}: no {} entry of {} {:?} among {rows:#?}",
                e.action, e.entity, e.id
            )
        };
        assert!(r.entity_id.is_some() || e.id.is_none(), "{what}: {r:?}");
        assert_eq!(r.username.as_deref(), Some(e.user), "{what}: the actor");
        assert!(!r.door.is_empty(), "{what}: the door");
        let changes: Vec<Value> = r
            .changes
            .clone()
            .and_then(|c| serde_json::from_value(c).ok())
            .unwrap_or_default();
        for f in e.fields {
            let c = changes
                .iter()
                .find(|c| c["field"] == *f)
                .unwrap_or_else(|| panic!("{what}: no change of {f} in {changes:?}"));
            let shown = c["secret"] == true || c.get("was").is_some() || c.get("became").is_some();
            assert!(shown, "{what}: {f} without its values: {c}");
        }
        r.clone()
    }

    /// An API write as the admin (or with `token`), answered 2xx; marks its operation as done.
    async fn api(&mut self, op: &str, method: Method, path: &str, body: Option<Value>, token: Option<&str>) -> Value {
        let caller = match token {
            Some(t) => self.app.with_token(t),
            None => self.app.as_user("admin"),
        };
        let (s, v) = caller.call(method, &format!("/api/v1{path}"), body).await;
        assert!(s.is_success(), "{op}: {s} {v}");
        self.api.insert(op.to_owned());
        v
    }

    /// A UI write; marks its route as done.
    async fn web(&mut self, web: &Web, method: Method, route: &str, path: &str, form: &[(&str, &str)]) -> String {
        let a = web.send(method.clone(), path, form, true).await;
        assert!(
            a.status.is_success() || a.status.is_redirection(),
            "{method} {path}: {} {}",
            a.status,
            a.body
        );
        self.web.insert(format!("{} {route}", method.as_str().to_lowercase()));
        a.body
    }
}

fn id(v: &Value) -> i64 {
    v["id"]
        .as_i64()
        .or_else(|| v["info"]["id"].as_i64())
        .unwrap_or_else(|| panic!("no id in {v}"))
}

/// A file the attachments accept (its content is a PDF's).
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

/// A company directory as the import reads it.
const DIRECTORY: &str = "企业名录\n企业名称,统一社会信用代码,所属行业,省份,联系人,职务,联系电话,规上时间\n\
                         审计导入科技有限公司,,软件,江苏,王五,经理,13900000000,\n";

async fn every_write_route_leaves_its_entry(app: TestApp) {
    let mut p = Probe {
        app: &app,
        seen: 0,
        api: BTreeSet::new(),
        web: BTreeSet::new(),
    };
    let staff_id = app.user_ids["staff"];
    let leader_id = app.user_ids["leader"];
    p.seen = audit_entry::Entity::find()
        .order_by_desc(audit_entry::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .map_or(0, |e| e.id);

    // Departments, users and tokens.
    let d = p
        .api(
            "createDepartment",
            Method::POST,
            "/departments",
            Some(json!({"name": "审计部"})),
            None,
        )
        .await;
    let dept = id(&d);
    p.check(
        "createDepartment",
        expect("department", Some(dept), "create", "admin", &["name"]),
    )
    .await;
    let body = json!({"version": d["version"], "name": "审计一部"});
    p.api(
        "updateDepartment",
        Method::PATCH,
        &format!("/departments/{dept}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateDepartment",
        expect("department", Some(dept), "update", "admin", &["name"]),
    )
    .await;
    let body = json!({"username": "probe", "display_name": "探针", "role": "staff", "password": PASSWORD, "department_id": dept});
    let u = p.api("createUser", Method::POST, "/users", Some(body), None).await;
    let probe = id(&u);
    let e = p
        .check(
            "createUser",
            expect(
                "user",
                Some(probe),
                "create",
                "admin",
                &["username", "role", "password"],
            ),
        )
        .await;
    assert!(
        !format!("{:?}", e.changes).contains("argon2"),
        "no hash in the log: {e:?}"
    );
    let body = json!({"version": u["version"], "display_name": "探针甲"});
    p.api(
        "updateUser",
        Method::PATCH,
        &format!("/users/{probe}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateUser",
        expect("user", Some(probe), "update", "admin", &["display_name"]),
    )
    .await;
    let until = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
    let body = json!({"user_id": probe, "name": "探针令牌", "scopes": ["read"], "expires_on": until});
    let t = p.api("createToken", Method::POST, "/tokens", Some(body), None).await;
    let token = id(&t);
    p.check(
        "createToken",
        expect("token", Some(token), "create", "admin", &["name", "token"]),
    )
    .await;
    p.api("revokeToken", Method::DELETE, &format!("/tokens/{token}"), None, None)
        .await;
    p.check(
        "revokeToken",
        expect("token", Some(token), "token_revoke", "admin", &[]),
    )
    .await;

    // One's own account: sign in, subscriptions, sessions, password, sign out.
    let (s, first) = app.login("probe", PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    p.api.insert("login".into());
    p.check("login", expect("session", None, "login_success", "probe", &[]))
        .await;
    let (_, second) = app.login("probe", PASSWORD).await;
    let _ = p
        .check("login", expect("session", None, "login_success", "probe", &[]))
        .await;
    let mine = first["token"].as_str().unwrap().to_owned();
    let body = Some(json!({"reminders": false}));
    p.api("setSubscription", Method::PUT, "/auth/subscription", body, Some(&mine))
        .await;
    p.check(
        "setSubscription",
        expect("user", Some(probe), "update", "probe", &["reminders"]),
    )
    .await;
    assert!(second["token"].is_string());
    let (_, sessions) = app.with_token(&mine).get("/api/v1/auth/sessions").await;
    let other = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .map(id)
        .unwrap();
    p.api(
        "endSession",
        Method::DELETE,
        &format!("/auth/sessions/{other}"),
        None,
        Some(&mine),
    )
    .await;
    p.check(
        "endSession",
        expect("session", Some(other), "session_end", "probe", &[]),
    )
    .await;
    let body = json!({"current_password": PASSWORD, "new_password": "another-password-5678"});
    p.api(
        "changePassword",
        Method::POST,
        "/auth/password",
        Some(body),
        Some(&mine),
    )
    .await;
    p.check(
        "changePassword",
        expect("user", Some(probe), "update", "probe", &["password"]),
    )
    .await;
    p.api("logout", Method::POST, "/auth/logout", None, Some(&mine)).await;
    p.check("logout", expect("session", None, "logout", "probe", &[])).await;

    // Companies, contacts, support funds.
    let c = p
        .api(
            "createCompany",
            Method::POST,
            "/companies",
            Some(json!({"name": "审计探针公司", "industry": "软件"})),
            None,
        )
        .await;
    let company = id(&c);
    p.check(
        "createCompany",
        expect("company", Some(company), "create", "admin", &["name", "industry"]),
    )
    .await;
    let body = json!({"version": c["version"], "city": "苏州"});
    p.api(
        "updateCompany",
        Method::PATCH,
        &format!("/companies/{company}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateCompany",
        expect("company", Some(company), "update", "admin", &["city"]),
    )
    .await;
    let body = json!({"name": "赵经理", "phone": "13800138000"});
    let ct = p
        .api(
            "createContact",
            Method::POST,
            &format!("/companies/{company}/contacts"),
            Some(body),
            None,
        )
        .await;
    let contact = id(&ct);
    let e = p
        .check(
            "createContact",
            expect("contact", Some(contact), "create", "admin", &["name", "phone"]),
        )
        .await;
    assert!(
        !format!("{:?}", e.changes).contains("13800138000"),
        "the phone is masked: {e:?}"
    );
    let body = json!({"version": ct["version"], "title": "总经理"});
    p.api(
        "updateContact",
        Method::PATCH,
        &format!("/contacts/{contact}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateContact",
        expect("contact", Some(contact), "update", "admin", &["title"]),
    )
    .await;
    let body = json!({"company_id": company, "programme": "科技小巨人", "level": "city", "amount": "10", "approved_on": "2024-05-01"});
    let sf = p
        .api("createSupportFund", Method::POST, "/support-funds", Some(body), None)
        .await;
    let fund = id(&sf);
    p.check(
        "createSupportFund",
        expect("support_fund", Some(fund), "create", "admin", &["programme"]),
    )
    .await;
    let body = json!({"version": sf["version"], "note": "复核"});
    p.api(
        "updateSupportFund",
        Method::PATCH,
        &format!("/support-funds/{fund}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateSupportFund",
        expect("support_fund", Some(fund), "update", "admin", &["note"]),
    )
    .await;

    // Projects and what hangs on them.
    let body = json!({"name": "审计探针项目", "company_id": company, "stage": "negotiating", "occurred_on": "2024-03-01", "team_member_ids": [staff_id]});
    let pr = p
        .api("createProject", Method::POST, "/projects", Some(body), None)
        .await;
    let project = id(&pr);
    let fields = ["name", "company_id", "stage", "team_member_ids"];
    p.check(
        "createProject",
        expect("project", Some(project), "create", "admin", &fields),
    )
    .await;
    let body = json!({"version": pr["version"], "notes": "重点跟进", "team_member_ids": [staff_id, leader_id]});
    p.api(
        "updateProject",
        Method::PATCH,
        &format!("/projects/{project}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateProject",
        expect(
            "project",
            Some(project),
            "update",
            "admin",
            &["notes", "team_member_ids"],
        ),
    )
    .await;
    let body = json!({"stage": "signed", "occurred_on": "2024-04-01"});
    p.api(
        "moveProjectStage",
        Method::POST,
        &format!("/projects/{project}/stage-events"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "moveProjectStage",
        expect("project", Some(project), "stage_move", "admin", &["stage"]),
    )
    .await;
    let body = json!({"occurred_on": "2024-04-02", "kind": "call", "note": "电话沟通"});
    let f = p
        .api(
            "createFollowUp",
            Method::POST,
            &format!("/projects/{project}/follow-ups"),
            Some(body),
            None,
        )
        .await;
    let follow = id(&f);
    p.check(
        "createFollowUp",
        expect("follow_up", Some(follow), "create", "admin", &["note"]),
    )
    .await;
    let body = json!({"version": f["version"], "note": "电话再沟通"});
    p.api(
        "updateFollowUp",
        Method::PATCH,
        &format!("/follow-ups/{follow}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateFollowUp",
        expect("follow_up", Some(follow), "update", "admin", &["note"]),
    )
    .await;
    let body = json!({"arrived_on": "2024-04-10", "amount": "100"});
    let fa = p
        .api(
            "createFundArrival",
            Method::POST,
            &format!("/projects/{project}/fund-arrivals"),
            Some(body),
            None,
        )
        .await;
    let arrival = id(&fa);
    p.check(
        "createFundArrival",
        expect("fund_arrival", Some(arrival), "create", "admin", &["amount_yuan"]),
    )
    .await;
    let body = json!({"version": fa["version"], "amount": "120"});
    p.api(
        "updateFundArrival",
        Method::PATCH,
        &format!("/fund-arrivals/{arrival}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateFundArrival",
        expect("fund_arrival", Some(arrival), "update", "admin", &["amount_yuan"]),
    )
    .await;
    let body = json!({"title": "用地指标", "category": "land"});
    let b = p
        .api(
            "createBlocker",
            Method::POST,
            &format!("/projects/{project}/blockers"),
            Some(body),
            None,
        )
        .await;
    let blocker = id(&b);
    p.check(
        "createBlocker",
        expect("blocker", Some(blocker), "create", "admin", &["title", "category"]),
    )
    .await;
    let body = json!({"version": b["version"], "assigned_leader": "李明"});
    p.api(
        "updateBlocker",
        Method::PATCH,
        &format!("/blockers/{blocker}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateBlocker",
        expect("blocker", Some(blocker), "update", "admin", &["assigned_leader"]),
    )
    .await;

    // Visits, outreach, partners, incubation, targets.
    let body = json!({"visit_date": "2024-03-05", "headcount": 3, "company_ids": [company], "project_ids": [project]});
    let v = p.api("createVisit", Method::POST, "/visits", Some(body), None).await;
    let visit = id(&v);
    let fields = ["visit_date", "headcount", "company_ids", "project_ids"];
    p.check("createVisit", expect("visit", Some(visit), "create", "admin", &fields))
        .await;
    let body = json!({"version": v["version"], "project_ids": []});
    p.api(
        "updateVisit",
        Method::PATCH,
        &format!("/visits/{visit}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateVisit",
        expect("visit", Some(visit), "update", "admin", &["project_ids"]),
    )
    .await;
    let body = json!({"kind": "trip", "city": "上海", "start_date": "2024-03-10", "company_ids": [company]});
    let o = p
        .api("createOutreachActivity", Method::POST, "/outreach", Some(body), None)
        .await;
    let outreach = id(&o);
    p.check(
        "createOutreachActivity",
        expect("outreach", Some(outreach), "create", "admin", &["city", "company_ids"]),
    )
    .await;
    let body = json!({"version": o["version"], "city": "深圳"});
    p.api(
        "updateOutreachActivity",
        Method::PATCH,
        &format!("/outreach/{outreach}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateOutreachActivity",
        expect("outreach", Some(outreach), "update", "admin", &["city"]),
    )
    .await;
    let pa = p
        .api(
            "createPartner",
            Method::POST,
            "/partners",
            Some(json!({"name": "苏州商会", "kind": "chamber_of_commerce"})),
            None,
        )
        .await;
    let partner = id(&pa);
    p.check(
        "createPartner",
        expect("partner", Some(partner), "create", "admin", &["name", "kind"]),
    )
    .await;
    let body = json!({"version": pa["version"], "notes": "年度合作"});
    p.api(
        "updatePartner",
        Method::PATCH,
        &format!("/partners/{partner}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updatePartner",
        expect("partner", Some(partner), "update", "admin", &["notes"]),
    )
    .await;
    let body = json!({"company_id": company, "cohort_year": 2024, "occurred_on": "2024-02-01"});
    let ca = p
        .api("createCandidate", Method::POST, "/incubation", Some(body), None)
        .await;
    let candidate = id(&ca);
    p.check(
        "createCandidate",
        expect("candidate", Some(candidate), "create", "admin", &["company_id"]),
    )
    .await;
    let body = json!({"version": ca["version"], "notes": "材料齐全"});
    p.api(
        "updateCandidate",
        Method::PATCH,
        &format!("/incubation/{candidate}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateCandidate",
        expect("candidate", Some(candidate), "update", "admin", &["notes"]),
    )
    .await;
    let body = json!({"stage": "applied", "occurred_on": "2024-06-01"});
    p.api(
        "moveCandidateStage",
        Method::POST,
        &format!("/incubation/{candidate}/stage-events"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "moveCandidateStage",
        expect("candidate", Some(candidate), "stage_move", "admin", &["stage"]),
    )
    .await;
    let tg = p
        .api(
            "createTarget",
            Method::POST,
            "/targets",
            Some(json!({"year": 2031, "metric": "visit_batches", "value": 10})),
            None,
        )
        .await;
    let target = id(&tg);
    p.check(
        "createTarget",
        expect("target", Some(target), "create", "admin", &["value"]),
    )
    .await;
    let body = json!({"version": tg["version"], "value": 12});
    p.api(
        "updateTarget",
        Method::PATCH,
        &format!("/targets/{target}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateTarget",
        expect("target", Some(target), "update", "admin", &["value"]),
    )
    .await;

    // The ledger import and its undo: one entry for the batch and one per record.
    let part = reqwest::multipart::Part::bytes(DIRECTORY.as_bytes().to_vec()).file_name("企业名录.csv");
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/imports/companies?mode=commit", app.base_url()))
        .bearer_auth(app.token("admin"))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let report: Value = resp.json().await.unwrap();
    let batch = report["batch_id"].as_i64().unwrap();
    p.api.insert("importLedger".into());
    let rows = audit_entry::Entity::find()
        .filter(audit_entry::Column::Id.gt(p.seen))
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        rows.iter().any(|r| r.entity.as_deref() == Some("company")
            && r.action == "create"
            && r.detail.as_ref().is_some_and(|d| d["import_batch_id"] == batch)),
        "a record the import created, tied to its batch: {rows:#?}"
    );
    p.check(
        "importLedger",
        expect("import_batch", Some(batch), "import", "admin", &[]),
    )
    .await;
    p.api(
        "undoImport",
        Method::DELETE,
        &format!("/imports/batches/{batch}"),
        None,
        None,
    )
    .await;
    p.check(
        "undoImport",
        expect("import_batch", Some(batch), "import_undo", "admin", &[]),
    )
    .await;

    // Attachments: an upload (multipart), a rename, a deletion and a restore.
    let holder = app.company("附件审计企业").await;
    let part = reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("投资协议.pdf");
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/companies/{holder}/attachments", app.base_url()))
        .bearer_auth(app.token("admin"))
        .multipart(
            reqwest::multipart::Form::new()
                .part("file", part)
                .text("category", "协议"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let att = id(&resp.json::<Value>().await.unwrap()[0]);
    p.api.insert("uploadAttachments".into());
    p.check(
        "uploadAttachments",
        expect(
            "attachment",
            Some(att),
            "create",
            "admin",
            &["name", "sha256", "record_id"],
        ),
    )
    .await;
    let body = json!({"name": "投资协议(终稿).pdf"});
    p.api(
        "updateAttachment",
        Method::PATCH,
        &format!("/attachments/{att}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateAttachment",
        expect("attachment", Some(att), "update", "admin", &["name"]),
    )
    .await;
    p.api(
        "deleteAttachment",
        Method::DELETE,
        &format!("/attachments/{att}"),
        None,
        None,
    )
    .await;
    p.check(
        "deleteAttachment",
        expect("attachment", Some(att), "delete", "admin", &["deleted_at"]),
    )
    .await;
    p.api(
        "restoreAttachment",
        Method::POST,
        &format!("/attachments/{att}/restore"),
        None,
        None,
    )
    .await;
    p.check(
        "restoreAttachment",
        expect("attachment", Some(att), "update", "admin", &["deleted_at"]),
    )
    .await;

    // Work-chat channels: registered, changed, tested against the platform server, deleted.
    let Some(platforms) = crate::chat::Platforms::start(20, 60) else {
        return;
    };
    let hook = platforms.url(&format!("/cgi-bin/webhook/send?key={}", crate::chat::WECOM_KEY));
    let body = json!({"name": "探针群", "kind": "wecom_robot", "endpoint": hook, "sends": ["alerts"]});
    let ch = p
        .api("createChannel", Method::POST, "/channels", Some(body), None)
        .await;
    let cid = id(&ch);
    p.check(
        "createChannel",
        expect("channel", Some(cid), "create", "admin", &["name", "endpoint"]),
    )
    .await;
    let body = json!({"version": ch["version"], "sends": ["alerts", "weekly"]});
    p.api(
        "updateChannel",
        Method::PATCH,
        &format!("/channels/{cid}"),
        Some(body),
        None,
    )
    .await;
    p.check(
        "updateChannel",
        expect("channel", Some(cid), "update", "admin", &["sends"]),
    )
    .await;
    p.api(
        "testChannel",
        Method::POST,
        &format!("/channels/{cid}/test"),
        None,
        None,
    )
    .await;
    p.check(
        "testChannel",
        expect("channel", Some(cid), "channel_test", "admin", &[]),
    )
    .await;
    let path = format!("/channels/{cid}?version=2");
    p.api("deleteChannel", Method::DELETE, &path, None, None).await;
    p.check(
        "deleteChannel",
        expect("channel", Some(cid), "delete", "admin", &["name"]),
    )
    .await;

    // Jobs and the outbox.
    p.api("runJob", Method::POST, "/jobs/outbox/run", None, None).await;
    p.check("runJob", expect("job", None, "job_run", "admin", &[])).await;
    let failed = outbox::Entity::insert(outbox::ActiveModel {
        idempotency_key: Set("probe-failed".into()),
        kind: Set("alert".into()),
        recipient: Set("admin@example.com".into()),
        subject: Set("探针".into()),
        html: Set(String::new()),
        text: Set(String::new()),
        attachments: Set(json!([])),
        message_id: Set("<probe@example.com>".into()),
        status: Set(OutboxStatus::Failed),
        attempts: Set(5),
        next_attempt_at: Set(chrono::Utc::now()),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(&app.db)
    .await
    .unwrap();
    p.api(
        "resendMessage",
        Method::POST,
        &format!("/outbox/{}/resend", failed.id),
        None,
        None,
    )
    .await;
    p.check(
        "resendMessage",
        expect("message", Some(failed.id), "resend", "admin", &[]),
    )
    .await;

    // The UI's writes, as the admin and as a user of their own.
    let web = Web::sign_in(&app, "admin").await;
    p.web.insert("post /login".into());
    let _ = p
        .check("/login", expect("session", None, "login_success", "admin", &[]))
        .await;
    web_writes(&mut p, &web, (company, project), &hook).await;

    // Deletes last, the records they name first.
    for (op, path, table, entity, target) in [
        ("deleteFollowUp", "/follow-ups", "follow_ups", "follow_up", follow),
        (
            "deleteFundArrival",
            "/fund-arrivals",
            "fund_arrivals",
            "fund_arrival",
            arrival,
        ),
        ("deleteBlocker", "/blockers", "blockers", "blocker", blocker),
        ("deleteVisit", "/visits", "visits", "visit", visit),
        ("deleteOutreachActivity", "/outreach", "outreach", "outreach", outreach),
        ("deletePartner", "/partners", "partners", "partner", partner),
        (
            "deleteCandidate",
            "/incubation",
            "incubation_candidates",
            "candidate",
            candidate,
        ),
        (
            "deleteSupportFund",
            "/support-funds",
            "support_funds",
            "support_fund",
            fund,
        ),
        ("deleteContact", "/contacts", "contacts", "contact", contact),
        ("deleteTarget", "/targets", "targets", "target", target),
        ("deleteProject", "/projects", "projects", "project", project),
        ("deleteCompany", "/companies", "companies", "company", company),
    ] {
        let sql = format!("SELECT version FROM {table} WHERE id = {target}");
        let row = app
            .db
            .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql))
            .await
            .unwrap();
        let version: i32 = row
            .unwrap_or_else(|| panic!("{op}: gone"))
            .try_get("", "version")
            .unwrap();
        p.api(
            op,
            Method::DELETE,
            &format!("{path}/{target}?version={version}"),
            None,
            None,
        )
        .await;
        p.check(op, expect(entity, Some(target), "delete", "admin", &[])).await;
    }
    let d2 = p
        .api(
            "createDepartment",
            Method::POST,
            "/departments",
            Some(json!({"name": "待撤销部门"})),
            None,
        )
        .await;
    let gone = id(&d2);
    let _ = p
        .check(
            "createDepartment",
            expect("department", Some(gone), "create", "admin", &[]),
        )
        .await;
    let path = format!("/departments/{gone}?version={}", d2["version"]);
    p.api("deleteDepartment", Method::DELETE, &path, None, None).await;
    p.check(
        "deleteDepartment",
        expect("department", Some(gone), "delete", "admin", &["name"]),
    )
    .await;

    // Every write operation of the document was done; every write route of the router too.
    let (_, doc) = app.anonymous().get("/openapi.json").await;
    let mut missing = Vec::new();
    for ops in doc["paths"].as_object().unwrap().values() {
        for (method, op) in ops.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            if ["post", "patch", "put", "delete"].contains(&method.as_str()) && !p.api.contains(id) {
                missing.push(id.to_owned());
            }
        }
    }
    for (path, methods) in invest_crm::web::ROUTES {
        for m in methods.iter().filter(|m| **m != "get") {
            let route = format!("{m} {path}");
            if !p.web.contains(&route) {
                missing.push(route);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "write routes without a step in this test: {missing:?}"
    );
}

/// The UI's write routes, each once.
async fn web_writes(p: &mut Probe<'_>, web: &Web, (company, project): (i64, i64), hook: &str) {
    let app = p.app;
    // One's own account through the UI, as a user of their own.
    let (_, u) = app
        .post(
            "/api/v1/users",
            json!({"username": "probe2", "display_name": "探针乙", "role": "staff", "password": PASSWORD}),
        )
        .await;
    let probe2 = id(&u);
    let _ = p
        .check("createUser", expect("user", Some(probe2), "create", "admin", &[]))
        .await;
    let mine = Web::sign_in_as(app, "probe2", PASSWORD).await;
    let _ = Web::sign_in_as(app, "probe2", PASSWORD).await;
    let _ = p
        .check("/login", expect("session", None, "login_success", "probe2", &[]))
        .await;
    // Created with the daily reminders on; the form without the box turns them off.
    p.web(
        &mine,
        Method::POST,
        "/settings/subscription",
        "/settings/subscription",
        &[],
    )
    .await;
    p.check(
        "/settings/subscription",
        expect("user", Some(probe2), "update", "probe2", &["reminders"]),
    )
    .await;
    let sessions: Vec<i64> = entity::session::Entity::find()
        .filter(entity::session::Column::UserId.eq(probe2))
        .order_by_asc(entity::session::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    let other = sessions[1];
    p.web(
        &mine,
        Method::DELETE,
        "/settings/sessions/:id",
        &format!("/settings/sessions/{other}"),
        &[],
    )
    .await;
    p.check(
        "/settings/sessions/:id",
        expect("session", Some(other), "session_end", "probe2", &[]),
    )
    .await;
    let form = [
        ("current_password", PASSWORD),
        ("new_password", "another-password-5678"),
    ];
    p.web(&mine, Method::POST, "/password", "/password", &form).await;
    p.check(
        "/password",
        expect("user", Some(probe2), "update", "probe2", &["password"]),
    )
    .await;
    p.web(&mine, Method::POST, "/logout", "/logout", &[]).await;
    p.check("/logout", expect("session", None, "logout", "probe2", &[]))
        .await;

    // Records.
    let company_id = company.to_string();
    let form = [("name", "网页探针公司"), ("industry", "软件")];
    p.web(web, Method::POST, "/companies", "/companies", &form).await;
    let e = p
        .check(
            "/companies",
            expect("company", None, "create", "admin", &["name", "industry"]),
        )
        .await;
    let c2 = e.entity_id.unwrap();
    let (_, c) = app.get(&format!("/api/v1/companies/{c2}")).await;
    let version = c["version"].to_string();
    let form = [
        ("version", version.as_str()),
        ("name", "网页探针公司"),
        ("industry", "软件"),
        ("city", "无锡"),
    ];
    p.web(web, Method::PATCH, "/companies/:id", &format!("/companies/{c2}"), &form)
        .await;
    p.check(
        "/companies/:id",
        expect("company", Some(c2), "update", "admin", &["city"]),
    )
    .await;
    p.web(
        web,
        Method::POST,
        "/companies/:id/contacts",
        &format!("/companies/{c2}/contacts"),
        &[("name", "钱经理"), ("email", "qian@example.com")],
    )
    .await;
    let e = p
        .check(
            "/companies/:id/contacts",
            expect("contact", None, "create", "admin", &["name", "email"]),
        )
        .await;
    assert!(
        !format!("{:?}", e.changes).contains("qian@example.com"),
        "the e-mail is masked: {e:?}"
    );
    let form = [
        ("programme", "瞪羚企业"),
        ("level", "district"),
        ("amount", "5"),
        ("approved_on", "2024-06-01"),
    ];
    p.web(
        web,
        Method::POST,
        "/companies/:id/support-funds",
        &format!("/companies/{c2}/support-funds"),
        &form,
    )
    .await;
    p.check(
        "/companies/:id/support-funds",
        expect("support_fund", None, "create", "admin", &["programme"]),
    )
    .await;
    let form = [
        ("name", "网页探针项目"),
        ("company", "网页探针公司"),
        ("stage", "lead"),
        ("occurred_on", "2024-03-01"),
    ];
    p.web(web, Method::POST, "/projects", "/projects", &form).await;
    let e = p
        .check(
            "/projects",
            expect("project", None, "create", "admin", &["name", "stage"]),
        )
        .await;
    let p2 = e.entity_id.unwrap();
    let (_, pr) = app.get(&format!("/api/v1/projects/{p2}")).await;
    let version = pr["version"].to_string();
    let form = [
        ("version", version.as_str()),
        ("name", "网页探针项目(改)"),
        ("company", "网页探针公司"),
    ];
    p.web(web, Method::PATCH, "/projects/:id", &format!("/projects/{p2}"), &form)
        .await;
    p.check(
        "/projects/:id",
        expect("project", Some(p2), "update", "admin", &["name"]),
    )
    .await;
    let form = [("stage", "negotiating"), ("occurred_on", "2024-04-01")];
    p.web(
        web,
        Method::POST,
        "/projects/:id/stage-events",
        &format!("/projects/{p2}/stage-events"),
        &form,
    )
    .await;
    p.check(
        "/projects/:id/stage-events",
        expect("project", Some(p2), "stage_move", "admin", &["stage"]),
    )
    .await;
    let form = [("occurred_on", "2024-04-02"), ("kind", "meeting"), ("note", "面谈")];
    p.web(
        web,
        Method::POST,
        "/projects/:id/follow-ups",
        &format!("/projects/{p2}/follow-ups"),
        &form,
    )
    .await;
    p.check(
        "/projects/:id/follow-ups",
        expect("follow_up", None, "create", "admin", &["note"]),
    )
    .await;
    let form = [("arrived_on", "2024-04-20"), ("amount", "50")];
    p.web(
        web,
        Method::POST,
        "/projects/:id/fund-arrivals",
        &format!("/projects/{project}/fund-arrivals"),
        &form,
    )
    .await;
    p.check(
        "/projects/:id/fund-arrivals",
        expect("fund_arrival", None, "create", "admin", &["amount_yuan"]),
    )
    .await;
    let form = [("title", "配套电力"), ("category", "facilities")];
    p.web(
        web,
        Method::POST,
        "/projects/:id/blockers",
        &format!("/projects/{p2}/blockers"),
        &form,
    )
    .await;
    let e = p
        .check(
            "/projects/:id/blockers",
            expect("blocker", None, "create", "admin", &["title"]),
        )
        .await;
    let b2 = e.entity_id.unwrap();
    let (_, b) = app.get(&format!("/api/v1/blockers/{b2}")).await;
    let version = b["version"].to_string();
    let form = [
        ("version", version.as_str()),
        ("title", "配套电力"),
        ("category", "facilities"),
        ("assigned_leader", "张华"),
    ];
    p.web(web, Method::PATCH, "/blockers/:id", &format!("/blockers/{b2}"), &form)
        .await;
    p.check(
        "/blockers/:id",
        expect("blocker", Some(b2), "update", "admin", &["assigned_leader"]),
    )
    .await;

    // A visit with a company and a project typed new on it: all three written together, each with its entry.
    let form = [
        ("visit_date", "2024-03-06"),
        ("headcount", "2"),
        ("company_ids", company_id.as_str()),
        ("company_ids", "new:来访新建企业"),
        ("project_ids", "new:来访新建项目"),
        ("new_project_company", "new:来访新建企业"),
        ("new_project_industry", ""),
        ("new_project_investment", "100"),
    ];
    p.web(web, Method::POST, "/visits", "/visits", &form).await;
    let before = p.seen;
    let e = p
        .check(
            "/visits",
            expect("visit", None, "create", "admin", &["headcount", "company_ids"]),
        )
        .await;
    let v2 = e.entity_id.unwrap();
    let written: Vec<(String, String, Value)> = audit_entry::Entity::find()
        .filter(audit_entry::Column::Id.gt(before))
        .order_by_asc(audit_entry::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.entity.unwrap_or_default(), r.action, r.fields))
        .collect();
    let kinds: Vec<(&str, &str)> = written.iter().map(|(e, a, _)| (e.as_str(), a.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("company", "create"),
            ("visit", "create"),
            ("project", "create"),
            ("visit", "update")
        ],
        "one entry per record written, then the visit's link to the new project"
    );
    assert_eq!(written[3].2, json!(["project_ids"]));
    let (_, v) = app.get(&format!("/api/v1/visits/{v2}")).await;
    let form = [
        ("version", v["version"].to_string()),
        ("visit_date", "2024-03-07".to_owned()),
        ("headcount", "3".to_owned()),
        ("company_ids", company_id.clone()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    p.web(web, Method::PATCH, "/visits/:id", &format!("/visits/{v2}"), &form)
        .await;
    p.check(
        "/visits/:id",
        expect("visit", Some(v2), "update", "admin", &["visit_date", "headcount"]),
    )
    .await;
    let (_, v) = app.get(&format!("/api/v1/visits/{v2}")).await;
    let path = format!("/visits/{v2}?version={}", v["version"]);
    p.web(web, Method::DELETE, "/visits/:id", &path, &[]).await;
    p.check("DELETE /visits/:id", expect("visit", Some(v2), "delete", "admin", &[]))
        .await;
    let form = [("kind", "forum"), ("city", "杭州"), ("start_date", "2024-05-01")];
    p.web(web, Method::POST, "/outreach", "/outreach", &form).await;
    let e = p
        .check("/outreach", expect("outreach", None, "create", "admin", &["city"]))
        .await;
    let o2 = e.entity_id.unwrap();
    let (_, o) = app.get(&format!("/api/v1/outreach/{o2}")).await;
    let version = o["version"].to_string();
    let form = [
        ("version", version.as_str()),
        ("kind", "forum"),
        ("city", "宁波"),
        ("start_date", "2024-05-01"),
    ];
    p.web(web, Method::PATCH, "/outreach/:id", &format!("/outreach/{o2}"), &form)
        .await;
    p.check(
        "/outreach/:id",
        expect("outreach", Some(o2), "update", "admin", &["city"]),
    )
    .await;
    p.web(
        web,
        Method::POST,
        "/partners",
        "/partners",
        &[("name", "无锡协会"), ("kind", "agency")],
    )
    .await;
    let e = p
        .check("/partners", expect("partner", None, "create", "admin", &["name"]))
        .await;
    let pa2 = e.entity_id.unwrap();
    let (_, pa) = app.get(&format!("/api/v1/partners/{pa2}")).await;
    let version = pa["version"].to_string();
    let form = [("version", version.as_str()), ("name", "无锡协会"), ("kind", "other")];
    p.web(web, Method::PATCH, "/partners/:id", &format!("/partners/{pa2}"), &form)
        .await;
    p.check(
        "/partners/:id",
        expect("partner", Some(pa2), "update", "admin", &["kind"]),
    )
    .await;
    let form = [
        ("company", "网页探针公司"),
        ("cohort_year", "2024"),
        ("occurred_on", "2024-02-01"),
    ];
    p.web(web, Method::POST, "/incubation", "/incubation", &form).await;
    let e = p
        .check(
            "/incubation",
            expect("candidate", None, "create", "admin", &["company_id"]),
        )
        .await;
    let ca2 = e.entity_id.unwrap();
    let form = [("stage", "applied"), ("occurred_on", "2024-06-01")];
    p.web(
        web,
        Method::POST,
        "/incubation/:id/stage-events",
        &format!("/incubation/{ca2}/stage-events"),
        &form,
    )
    .await;
    p.check(
        "/incubation/:id/stage-events",
        expect("candidate", Some(ca2), "stage_move", "admin", &["stage"]),
    )
    .await;
    p.web(
        web,
        Method::POST,
        "/targets",
        "/targets?year=2032",
        &[("value_visit_batches", "20")],
    )
    .await;
    p.check("/targets", expect("target", None, "create", "admin", &["value"]))
        .await;

    // The import through the page, and its undo.
    let a = web
        .upload(
            "/imports/commit",
            &[("dataset", "companies")],
            ("企业名录.csv", DIRECTORY.as_bytes().to_vec()),
        )
        .await;
    assert!(a.status.is_success(), "{}", a.body);
    p.web.insert("post /imports/commit".into());
    let e = p
        .check("/imports/commit", expect("import_batch", None, "import", "admin", &[]))
        .await;
    let batch = e.entity_id.unwrap();
    p.web(
        web,
        Method::POST,
        "/imports/:id/undo",
        &format!("/imports/{batch}/undo"),
        &[],
    )
    .await;
    p.check(
        "/imports/:id/undo",
        expect("import_batch", Some(batch), "import_undo", "admin", &[]),
    )
    .await;
    // A preview writes nothing, and says so: no entry, and nothing for the edge to record either.
    let a = web
        .upload(
            "/imports/preview",
            &[("dataset", "companies")],
            ("企业名录.csv", DIRECTORY.as_bytes().to_vec()),
        )
        .await;
    assert!(a.status.is_success(), "{}", a.body);
    p.web.insert("post /imports/preview".into());

    // Attachments through the page: an upload, a deletion and a restore.
    let holder = p.app.company("网页附件企业").await;
    let a = web
        .upload(
            &format!("/companies/{holder}/attachments"),
            &[("category", "证照")],
            ("营业执照.pdf", PDF.to_vec()),
        )
        .await;
    assert!(a.status.is_success(), "{}", a.body);
    p.web.insert("post /:kind/:id/attachments".into());
    let e = p
        .check(
            "/:kind/:id/attachments",
            expect("attachment", None, "create", "admin", &["name", "category"]),
        )
        .await;
    let att = e.entity_id.unwrap();
    let path = format!("/attachments/{att}");
    p.web(
        web,
        Method::PATCH,
        "/attachments/:id",
        &path,
        &[("name", "营业执照(副本).pdf")],
    )
    .await;
    p.check(
        "patch /attachments/:id",
        expect("attachment", Some(att), "update", "admin", &["name"]),
    )
    .await;
    p.web(web, Method::DELETE, "/attachments/:id", &path, &[]).await;
    p.check(
        "/attachments/:id",
        expect("attachment", Some(att), "delete", "admin", &["deleted_at"]),
    )
    .await;
    let path = format!("/attachments/{att}/restore");
    p.web(web, Method::POST, "/attachments/:id/restore", &path, &[]).await;
    p.check(
        "/attachments/:id/restore",
        expect("attachment", Some(att), "update", "admin", &["deleted_at"]),
    )
    .await;

    // 消息推送: a channel registered, changed, tested and deleted through the page.
    let form = [
        ("name", "网页群"),
        ("kind", "wecom_robot"),
        ("endpoint", hook),
        ("sends", "alerts"),
        ("enabled", "on"),
    ];
    p.web(web, Method::POST, "/admin/channels", "/admin/channels", &form)
        .await;
    let e = p
        .check(
            "/admin/channels",
            expect("channel", None, "create", "admin", &["name", "endpoint"]),
        )
        .await;
    let ch = e.entity_id.unwrap();
    let form = [
        ("version", "1"),
        ("name", "网页群"),
        ("sends", "alerts"),
        ("sends", "weekly"),
        ("enabled", "on"),
    ];
    let path = format!("/admin/channels/{ch}");
    p.web(web, Method::POST, "/admin/channels/:id", &path, &form).await;
    p.check(
        "/admin/channels/:id",
        expect("channel", Some(ch), "update", "admin", &["sends"]),
    )
    .await;
    let path = format!("/admin/channels/{ch}/test");
    p.web(web, Method::POST, "/admin/channels/:id/test", &path, &[]).await;
    p.check(
        "/admin/channels/:id/test",
        expect("channel", Some(ch), "channel_test", "admin", &[]),
    )
    .await;
    let path = format!("/admin/channels/{ch}/delete");
    p.web(
        web,
        Method::POST,
        "/admin/channels/:id/delete",
        &path,
        &[("version", "2")],
    )
    .await;
    p.check(
        "/admin/channels/:id/delete",
        expect("channel", Some(ch), "delete", "admin", &["name"]),
    )
    .await;

    // Administration.
    let form = [
        ("username", "probe3"),
        ("display_name", "探针丙"),
        ("role", "viewer"),
        ("password", PASSWORD),
    ];
    p.web(web, Method::POST, "/admin/users", "/admin/users", &form).await;
    let e = p
        .check(
            "/admin/users",
            expect("user", None, "create", "admin", &["username", "password"]),
        )
        .await;
    let probe3 = e.entity_id.unwrap();
    let (_, u3) = app.get(&format!("/api/v1/users/{probe3}")).await;
    let version = u3["version"].to_string();
    let form = [
        ("version", version.as_str()),
        ("display_name", "探针丙"),
        ("role", "leader"),
    ];
    p.web(
        web,
        Method::PATCH,
        "/admin/users/:id",
        &format!("/admin/users/{probe3}"),
        &form,
    )
    .await;
    p.check(
        "/admin/users/:id",
        expect("user", Some(probe3), "update", "admin", &["role"]),
    )
    .await;
    p.web(
        web,
        Method::POST,
        "/admin/departments",
        "/admin/departments",
        &[("name", "网页部门")],
    )
    .await;
    p.check(
        "/admin/departments",
        expect("department", None, "create", "admin", &["name"]),
    )
    .await;
    let until = (chrono::Utc::now().date_naive() + chrono::Duration::days(60)).to_string();
    let user = probe3.to_string();
    let form = [
        ("user_id", user.as_str()),
        ("name", "网页令牌"),
        ("scopes", "read"),
        ("expires_on", until.as_str()),
    ];
    p.web(web, Method::POST, "/system/tokens", "/system/tokens", &form)
        .await;
    let e = p
        .check("/system/tokens", expect("token", None, "create", "admin", &["name"]))
        .await;
    let t2 = e.entity_id.unwrap();
    p.web(
        web,
        Method::POST,
        "/system/tokens/:id/revoke",
        &format!("/system/tokens/{t2}/revoke"),
        &[],
    )
    .await;
    p.check(
        "/system/tokens/:id/revoke",
        expect("token", Some(t2), "token_revoke", "admin", &[]),
    )
    .await;
    let failed = entity::outbox::Entity::find()
        .filter(entity::outbox::Column::IdempotencyKey.eq("probe-failed"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    entity::outbox::Entity::update_many()
        .col_expr(
            entity::outbox::Column::Status,
            sea_orm::sea_query::Expr::value(OutboxStatus::Failed),
        )
        .filter(entity::outbox::Column::Id.eq(failed.id))
        .exec(&app.db)
        .await
        .unwrap();
    p.web(
        web,
        Method::POST,
        "/system/outbox/:id/resend",
        &format!("/system/outbox/{}/resend", failed.id),
        &[],
    )
    .await;
    p.check(
        "/system/outbox/:id/resend",
        expect("message", Some(failed.id), "resend", "admin", &[]),
    )
    .await;
    // The outbox job runs after the resend: it cannot be sending the message the resend needs failed.
    p.web(
        web,
        Method::POST,
        "/system/jobs/:name/run",
        "/system/jobs/outbox/run",
        &[],
    )
    .await;
    p.check("/system/jobs/:name/run", expect("job", None, "job_run", "admin", &[]))
        .await;
    p.web(web, Method::POST, "/system/audit/verify", "/system/audit/verify", &[])
        .await;
    p.check("/system/audit/verify", expect("", None, "audit_verify", "admin", &[]))
        .await;
}
