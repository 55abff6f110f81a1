//! People, not names: departments, owners and contact leaders as accounts, and the migration that links today's
//! text to them.

use migration::MigratorTrait;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

use crate::{
    db_test,
    support::{PASSWORD, TestApp, assert_error},
    web::Web,
};

db_test!(
    departments_form_a_tree_that_admins_keep,
    projects_name_people_not_strings,
    an_unchanged_edit_form_keeps_a_leader_who_shares_a_name,
    every_owned_record_has_an_owner,
    staff_of_one_department_never_see_another_s_records,
    figures_are_those_of_the_records_in_scope,
    the_migration_links_leaders_or_reports_them,
    the_people_migration_is_undone_whole_or_not_at_all,
);

async fn departments_form_a_tree_that_admins_keep(app: TestApp) {
    let dept = |name: &str, parent: Option<i64>| json!({"name": name, "parent_id": parent});
    let (s, a) = app.post("/api/v1/departments", dept("局机关", None)).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let a = a["id"].as_i64().unwrap();
    let b = app.post("/api/v1/departments", dept("招商一局", Some(a))).await.1["id"]
        .as_i64()
        .unwrap();
    let c = app.post("/api/v1/departments", dept("一局一组", Some(b))).await.1["id"]
        .as_i64()
        .unwrap();
    assert_error(
        &app.post("/api/v1/departments", dept("招商一局", None)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "duplicate_department",
        Some("name"),
    );
    assert_error(
        &app.post("/api/v1/departments", dept("招商二局", Some(999_999))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_parent",
        Some("parent_id"),
    );
    // No department goes below itself or one of its own.
    for (id, parent) in [(a, c), (b, b)] {
        assert_error(
            &app.patch(
                &format!("/api/v1/departments/{id}"),
                json!({"version": 1, "parent_id": parent}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parent",
            Some("parent_id"),
        );
    }
    // Everyone reads them; only admins change them.
    let (s, list) = app.as_user("staff").get("/api/v1/departments").await;
    assert_eq!((s, list.as_array().map(Vec::len)), (StatusCode::OK, Some(3)));
    let (s, _) = app
        .as_user("staff")
        .post("/api/v1/departments", dept("三局", None))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A user is put in a department with a data scope; an unknown department is refused.
    let staff = app.user_ids["staff"];
    let (_, u) = app.get(&format!("/api/v1/users/{staff}")).await;
    assert_eq!(
        (u["department_id"].clone(), u["data_scope"].clone()),
        (Value::Null, Value::Null)
    );
    let (s, u) = app
        .patch(
            &format!("/api/v1/users/{staff}"),
            json!({"version": u["version"], "department_id": b, "data_scope": "own"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(
        (u["department_id"].as_i64(), u["data_scope"].as_str()),
        (Some(b), Some("own"))
    );
    assert_error(
        &app.patch(
            &format!("/api/v1/users/{staff}"),
            json!({"version": u["version"], "department_id": 999_999}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_department",
        Some("department_id"),
    );
    // A department with users or departments below it stays; an empty one goes.
    let (s, e) = app.delete(&format!("/api/v1/departments/{b}?version=1")).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("department_in_use"))
    );
    let (s, _) = app.delete(&format!("/api/v1/departments/{c}?version=1")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

async fn projects_name_people_not_strings(app: TestApp) {
    let (leader, staff) = (app.user_ids["leader"], app.user_ids["staff"]);
    let company = app.company("精诚科技有限公司").await;
    let new = |name: &str, more: Value| {
        let mut body = json!({"name": name, "company_id": company, "stage": "lead", "occurred_on": "2024-03-01"});
        body.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
        body
    };
    // The creator owns a project; a contact leader named as the one user of that name is linked to them.
    let (s, p) = app
        .as_user("staff")
        .post(
            "/api/v1/projects",
            new("甲项目", json!({"contact_leader": "测试leader"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(
        (
            p["owner_id"].as_i64(),
            p["owner_name"].as_str(),
            p["contact_leader_id"].as_i64()
        ),
        (Some(staff), Some("测试staff"), Some(leader))
    );
    // A name that is no one's stays as written.
    let (_, q) = app
        .post("/api/v1/projects", new("乙项目", json!({"contact_leader": "外区领导"})))
        .await;
    assert_eq!(
        (q["contact_leader_id"].clone(), q["contact_leader"].as_str()),
        (Value::Null, Some("外区领导"))
    );
    assert_eq!(q["owner_id"].as_i64(), Some(app.user_ids["admin"]));
    // A contact leader must have the leader role; an owner must be an enabled user.
    assert_error(
        &app.post("/api/v1/projects", new("丙项目", json!({"contact_leader_id": staff})))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_a_leader",
        Some("contact_leader_id"),
    );
    assert_error(
        &app.post("/api/v1/projects", new("丙项目", json!({"owner_id": 999_999})))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_user",
        Some("owner_id"),
    );
    // A renamed leader keeps their projects: the link holds and shows the new name.
    let (_, u) = app.get(&format!("/api/v1/users/{leader}")).await;
    let (s, _) = app
        .patch(
            &format!("/api/v1/users/{leader}"),
            json!({"version": u["version"], "display_name": "王局长"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, p) = app.get(&format!("/api/v1/projects/{}", p["id"])).await;
    assert_eq!(p["contact_leader"], "王局长");
    for query in [
        "contact_leader=王局长".to_owned(),
        format!("contact_leader_id={leader}"),
        format!("owner_id={staff}"),
    ] {
        let (_, l) = app.get(&format!("/api/v1/projects?{query}")).await;
        assert_eq!(
            (l["total"].as_i64(), l["items"][0]["name"].as_str()),
            (Some(1), Some("甲项目")),
            "{query}"
        );
    }
    // The owner changes hands; the leader is cleared.
    let (s, p) = app
        .patch(
            &format!("/api/v1/projects/{}", p["id"]),
            json!({"version": p["version"], "owner_id": leader, "contact_leader_id": null}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(
        (
            p["owner_id"].as_i64(),
            p["contact_leader_id"].clone(),
            p["contact_leader"].clone()
        ),
        (Some(leader), Value::Null, Value::Null)
    );
}

/// The value of the form input `name` on a page.
fn input_value(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!("name=\"{name}\""))?;
    let tag = &page[page[..at].rfind('<')?..at + page[at..].find('>')?];
    let v = tag.split("value=\"").nth(1)?;
    Some(v[..v.find('"')?].to_owned())
}

async fn an_unchanged_edit_form_keeps_a_leader_who_shares_a_name(app: TestApp) {
    // A second leader with the display name of the first: the name alone no longer names one person.
    let (s, twin) = app
        .post(
            "/api/v1/users",
            json!({"username": "leader2", "display_name": "测试leader", "role": "leader", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{twin}");
    let twin = twin["id"].as_i64().unwrap();
    let company = app.company("同名领导测试公司").await;
    let (_, p) = app
        .post(
            "/api/v1/projects",
            json!({"name": "同名领导项目", "company_id": company, "stage": "lead",
                   "occurred_on": "2024-03-01", "contact_leader_id": twin}),
        )
        .await;
    let id = p["id"].as_i64().unwrap();
    // The edit form carries the link beside the name it shows; saved unchanged, the link holds.
    let web = Web::sign_in(&app, "staff").await;
    let page = web.get(&format!("/projects/{id}/edit")).await.body;
    assert_eq!(
        input_value(&page, "contact_leader_id"),
        Some(twin.to_string()),
        "{page}"
    );
    let fields = ["version", "name", "company", "contact_leader", "contact_leader_id"];
    let mut form: Vec<(&str, String)> = fields
        .iter()
        .map(|f| (*f, input_value(&page, f).unwrap_or_else(|| panic!("the form has {f}"))))
        .collect();
    assert_eq!(form[3].1, "测试leader");
    let save = async |form: &[(&str, String)]| {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let saved = web
            .send(reqwest::Method::PATCH, &format!("/projects/{id}"), &form, true)
            .await;
        assert!(saved.status.is_success(), "{} {}", saved.status, saved.body);
        app.get(&format!("/api/v1/projects/{id}")).await.1
    };
    let after = save(&form).await;
    assert_eq!(
        (after["contact_leader_id"].as_i64(), after["contact_leader"].as_str()),
        (Some(twin), Some("测试leader"))
    );
    assert!(after["version"].as_i64() > p["version"].as_i64(), "the form was saved");
    // A name typed anew is resolved: one that is no one's is kept as written, and the link goes.
    form[0].1 = after["version"].to_string();
    form[3].1 = "外区领导".to_owned();
    let after = save(&form).await;
    assert_eq!(
        (after["contact_leader_id"].clone(), after["contact_leader"].as_str()),
        (Value::Null, Some("外区领导"))
    );
}

async fn every_owned_record_has_an_owner(app: TestApp) {
    let (staff, leader) = (app.user_ids["staff"], app.user_ids["leader"]);
    let as_staff = app.as_user("staff");
    let company = app.company("精诚科技有限公司").await;
    let p = as_staff
        .post(
            "/api/v1/projects",
            json!({"name": "甲项目", "company_id": company, "stage": "lead", "occurred_on": "2024-03-01"}),
        )
        .await
        .1;
    let records = [
        (
            "/api/v1/visits",
            json!({"visit_date": "2024-03-02", "headcount": 3, "company_ids": [company]}),
            "/api/v1/visits",
        ),
        (
            "/api/v1/outreach",
            json!({"kind": "trip", "city": "深圳", "start_date": "2024-03-03", "company_ids": [company]}),
            "/api/v1/outreach",
        ),
        (
            "/api/v1/incubation",
            json!({"company_id": company, "cohort_year": 2024, "occurred_on": "2024-03-04"}),
            "/api/v1/incubation",
        ),
    ];
    // The recorder owns what they record; an owner is changed like any field.
    for (url, body, base) in records {
        let (s, r) = as_staff.post(url, body).await;
        assert_eq!(
            (s, r["owner_id"].as_i64()),
            (StatusCode::CREATED, Some(staff)),
            "{url}: {r}"
        );
        let (s, r) = app
            .patch(
                &format!("{base}/{}", r["id"]),
                json!({"version": r["version"], "owner_id": leader}),
            )
            .await;
        assert_eq!(
            (s, r["owner_id"].as_i64()),
            (StatusCode::OK, Some(leader)),
            "{url}: {r}"
        );
    }
    let (_, b) = as_staff
        .post(
            &format!("/api/v1/projects/{}/blockers", p["id"]),
            json!({"title": "用地指标未落实", "category": "land"}),
        )
        .await;
    let (_, f) = as_staff
        .post(
            &format!("/api/v1/projects/{}/follow-ups", p["id"]),
            json!({"occurred_on": "2024-03-05", "kind": "call", "note": "电话沟通"}),
        )
        .await;
    assert_eq!(
        (b["owner_id"].as_i64(), f["owner_id"].as_i64()),
        (Some(staff), Some(staff)),
        "{b} {f}"
    );
    assert_error(
        &app.patch(
            &format!("/api/v1/visits/{}", 1),
            json!({"version": 2, "owner_id": 999_999}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_user",
        Some("owner_id"),
    );
}

/// Names of the records of a JSON list or page.
fn names_in(v: &Value, key: &str) -> Vec<String> {
    let items = v["items"]
        .as_array()
        .or(v.as_array())
        .unwrap_or_else(|| panic!("a list: {v}"));
    let mut out: Vec<String> = items
        .iter()
        .map(|i| i[key].as_str().unwrap_or_default().to_owned())
        .collect();
    out.sort();
    out
}

/// Staffers a1 and a2 of 招商一局 and b1 of 招商二局, each with a project (lead on 2024-03-01), a follow-up, a
/// blocker, 10 万元 of funds, a visit of 2, a trip and an incubation candidate: their tokens, user ids and projects.
async fn two_departments(app: &TestApp) -> (Vec<String>, Vec<i64>, Vec<i64>) {
    let dept = async |name: &str| app.post("/api/v1/departments", json!({"name": name})).await.1["id"].clone();
    let (a, b) = (dept("招商一局").await, dept("招商二局").await);
    let password = "a-long-password-123";
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for (login, d) in [("a1", &a), ("a2", &a), ("b1", &b)] {
        let (s, u) = app
            .post(
                "/api/v1/users",
                json!({"username": login, "display_name": login, "role": "staff", "password": password, "department_id": d}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        ids.push(u["id"].as_i64().unwrap());
        tokens.push(app.login(login, password).await.1["token"].as_str().unwrap().to_owned());
    }
    let company = app.company("精诚科技有限公司").await;
    // Each staffer records a project with a follow-up, a blocker and funds, a visit, an outreach activity and a
    // candidate, named after themselves.
    let mut projects = Vec::new();
    for (i, who) in ["a1", "a2", "b1"].iter().enumerate() {
        let me = app.with_token(&tokens[i]);
        let (s, p) = me
            .post(
                "/api/v1/projects",
                json!({"name": format!("{who}项目"), "company_id": company, "stage": "lead", "occurred_on": "2024-03-01"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let pid = p["id"].as_i64().unwrap();
        projects.push(pid);
        for (url, body) in [
            (
                format!("/api/v1/projects/{pid}/follow-ups"),
                json!({"occurred_on": "2024-03-02", "kind": "call", "note": who}),
            ),
            (
                format!("/api/v1/projects/{pid}/blockers"),
                json!({"title": format!("{who}难题"), "category": "land", "opened_on": "2024-03-05"}),
            ),
            (
                format!("/api/v1/projects/{pid}/fund-arrivals"),
                json!({"arrived_on": "2024-03-03", "amount": "10"}),
            ),
            (
                "/api/v1/visits".into(),
                json!({"visit_date": "2024-03-02", "headcount": 2, "company_ids": [company], "purpose": who}),
            ),
            (
                "/api/v1/outreach".into(),
                json!({"kind": "trip", "city": who, "start_date": "2024-03-03"}),
            ),
            (
                "/api/v1/incubation".into(),
                json!({"company_id": company, "cohort_year": 2022 + i, "occurred_on": "2024-03-04", "notes": who}),
            ),
        ] {
            let (s, r) = me.post(&url, body).await;
            assert_eq!(s, StatusCode::CREATED, "{url}: {r}");
        }
    }
    (tokens, ids, projects)
}

async fn staff_of_one_department_never_see_another_s_records(app: TestApp) {
    let (tokens, ids, projects) = two_departments(&app).await;
    let a1 = app.with_token(&tokens[0]);
    // Lists and exports: department A's staff see A's records, never B's.
    assert_eq!(
        names_in(&a1.get("/api/v1/projects").await.1, "name"),
        ["a1项目", "a2项目"]
    );
    assert_eq!(
        names_in(&a1.get("/api/v1/blockers").await.1, "title"),
        ["a1难题", "a2难题"]
    );
    assert_eq!(names_in(&a1.get("/api/v1/visits").await.1, "purpose"), ["a1", "a2"]);
    assert_eq!(names_in(&a1.get("/api/v1/outreach").await.1, "city"), ["a1", "a2"]);
    assert_eq!(
        names_in(&a1.get("/api/v1/exports/projects?format=json").await.1, "name"),
        ["a1项目", "a2项目"]
    );
    assert_eq!(
        names_in(&a1.get("/api/v1/exports/blockers?format=json").await.1, "title"),
        ["a1难题", "a2难题"]
    );
    let (_, events) = a1.get("/api/v1/exports/stage-events?format=json").await;
    assert_eq!(events.as_array().map(Vec::len), Some(2), "{events}");
    // B's records do not exist for them, by any route that names one.
    let pb = projects[2];
    let (_, bb) = app.get(&format!("/api/v1/projects/{pb}/blockers")).await;
    let (_, fb) = app.get(&format!("/api/v1/projects/{pb}/follow-ups")).await;
    let (_, vb) = app.get("/api/v1/visits").await;
    let vb = vb["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["purpose"] == "b1")
        .unwrap()["id"]
        .clone();
    for url in [
        format!("/api/v1/projects/{pb}"),
        format!("/api/v1/projects/{pb}/follow-ups"),
        format!("/api/v1/projects/{pb}/blockers"),
        format!("/api/v1/projects/{pb}/fund-arrivals"),
        format!("/api/v1/projects/{pb}/stage-events"),
        format!("/api/v1/blockers/{}", bb["items"][0]["id"]),
        format!("/api/v1/visits/{vb}"),
    ] {
        assert_eq!(a1.get(&url).await.0, StatusCode::NOT_FOUND, "{url}");
    }
    let writes = [
        (
            reqwest::Method::PATCH,
            format!("/api/v1/projects/{pb}"),
            json!({"version": 1, "name": "x"}),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/follow-ups/{}", fb["items"][0]["id"]),
            json!({"version": 1, "note": "x"}),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/projects/{pb}/follow-ups"),
            json!({"occurred_on": "2024-03-02", "kind": "call", "note": "x"}),
        ),
    ];
    for (method, url, body) in writes {
        assert_eq!(
            a1.call(method, &url, Some(body)).await.0,
            StatusCode::NOT_FOUND,
            "{url}"
        );
    }
    every_route_naming_a_record_of_b_is_not_found(&app, &tokens[0], pb).await;
    // An admin sees all; a token sees what its user sees.
    assert_eq!(app.get("/api/v1/projects").await.1["total"], 3);
    let in_a_year = (invest_crm::service::input::today() + chrono::Duration::days(365)).to_string();
    let (_, t) = app
        .post(
            "/api/v1/tokens",
            json!({"user_id": ids[2], "name": "t", "scopes": ["read"], "expires_on": in_a_year}),
        )
        .await;
    let token = t["token"].as_str().unwrap();
    assert_eq!(
        names_in(&app.with_token(token).get("/api/v1/projects").await.1, "name"),
        ["b1项目"]
    );
    // With the `own` scope, a1 sees only their own records.
    let (_, u) = app.get(&format!("/api/v1/users/{}", ids[0])).await;
    app.patch(
        &format!("/api/v1/users/{}", ids[0]),
        json!({"version": u["version"], "data_scope": "own"}),
    )
    .await;
    assert_eq!(names_in(&a1.get("/api/v1/projects").await.1, "name"), ["a1项目"]);
    // On the team (专班) of a2's project, they see it too; an unknown member is refused.
    let pa2 = projects[1];
    let (_, p) = app.get(&format!("/api/v1/projects/{pa2}")).await;
    let (s, p) = app
        .patch(
            &format!("/api/v1/projects/{pa2}"),
            json!({"version": p["version"], "team_member_ids": [ids[0], ids[0]]}),
        )
        .await;
    assert_eq!(
        (s, p["team_member_ids"].clone()),
        (StatusCode::OK, json!([ids[0]])),
        "{p}"
    );
    assert_eq!(
        names_in(&a1.get("/api/v1/projects").await.1, "name"),
        ["a1项目", "a2项目"]
    );
    assert_error(
        &app.patch(
            &format!("/api/v1/projects/{pa2}"),
            json!({"version": p["version"], "team_member_ids": [999_999]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_user",
        Some("team_member_ids"),
    );
}

async fn figures_are_those_of_the_records_in_scope(app: TestApp) {
    let (tokens, _, _) = two_departments(&app).await;
    app.post(
        "/api/v1/targets",
        json!({"year": 2024, "metric": "visit_batches", "value": 10}),
    )
    .await;
    let a1 = app.with_token(&tokens[0]);
    let kpis = "/api/v1/analytics/kpis?period=2024-H1";
    let (s, all) = app.get(kpis).await;
    assert_eq!(s, StatusCode::OK, "{all}");
    let (s, mine) = a1.get(kpis).await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    // The admin counts the three staffers' records; a staffer of 招商一局 those of a1 and a2, and is told so.
    for (k, visits, persons, funds, trips, open, cultivating) in
        [(&all, 3, 6, "30", 3, 3, 3), (&mine, 2, 4, "20", 2, 2, 2)]
    {
        assert_eq!(k["visit_batches"]["value"], visits, "{k}");
        assert_eq!(k["person_times"]["value"], persons);
        assert_eq!(k["funds_arrived"]["value"], funds);
        assert_eq!(k["outreach_total"]["value"], trips);
        assert_eq!(k["blockers"]["open_at_end"], open);
        assert_eq!(k["incubation_cultivating"]["value"], cultivating);
    }
    assert_eq!(all["within"], Value::Null);
    let within = mine["within"].as_str().unwrap_or_default();
    assert!(within.starts_with("招商一局及其下属部门"), "{within}");
    // Targets are the whole bureau's: not set against part of it.
    assert_eq!(all["targets"].as_array().map(Vec::len), Some(1));
    assert_eq!(mine["targets"], json!([]));
    // The funnel, its export and the KPI export likewise.
    let funnel = "/api/v1/analytics/funnel?period=2024&as_of=2024-12-31";
    assert_eq!(app.get(funnel).await.1["stages"][0]["count"], 3);
    let (_, f) = a1.get(funnel).await;
    assert_eq!(
        (f["stages"][0]["count"].clone(), f["within"].is_string()),
        (json!(2), true),
        "{f}"
    );
    let (_, rows) = a1
        .get("/api/v1/exports/funnel?period=2024&as_of=2024-12-31&format=json")
        .await;
    let lead = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "flow" && r["stage"] == "lead")
        .cloned();
    assert_eq!(lead.map(|r| r["count"].clone()), Some(json!(2)), "{rows}");
    let (_, rows) = a1.get("/api/v1/exports/kpis?period=2024-H1&format=json").await;
    let visits = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == "visit_batches")
        .cloned();
    assert_eq!(visits.map(|r| r["value"].clone()), Some(json!(2)), "{rows}");
    // The work summary says whose records it counts.
    let (s, text) = a1.get("/api/v1/reports/summary?period=2024-H1").await;
    assert_eq!(s, StatusCode::OK);
    let text = text.as_str().unwrap_or_default();
    assert!(text.contains("统计范围：招商一局及其下属部门"), "{text}");
    assert!(text.contains("接待前来考察、洽谈的各地客商2批4人次"), "{text}");
    let (_, whole) = app.get("/api/v1/reports/summary?period=2024-H1").await;
    let whole = whole.as_str().unwrap_or_default();
    assert!(!whole.contains("统计范围") && whole.contains("客商3批6人次"), "{whole}");
    // The nightly snapshots are the whole park's: refused to a staffer whose scope is narrower.
    assert_error(
        &a1.get("/api/v1/analytics/snapshots/latest").await,
        StatusCode::FORBIDDEN,
        "whole_park_only",
        None,
    );
}

/// A file the admin attaches to the project `id`; answers the attachment's id.
async fn attachment_of(app: &TestApp, id: i64) -> i64 {
    let part = reqwest::multipart::Part::bytes(crate::every_write::PDF.to_vec()).file_name("协议.pdf");
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/projects/{id}/attachments", app.base_url()))
        .bearer_auth(app.token("admin"))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()[0]["id"].as_i64().unwrap()
}

/// Every route of the OpenAPI document that names a record: either scoped (B's record of that kind is not found
/// for a staffer of department A, read or deleted) or listed here as shared reference data or administration. A new
/// route must be put on one side.
async fn every_route_naming_a_record_of_b_is_not_found(app: &TestApp, token: &str, pb: i64) {
    const SHARED: [&str; 18] = [
        "/auth/sessions/{id}",
        "/channels/{id}",
        "/channels/{id}/test",
        "/users/{id}",
        "/tokens/{id}",
        "/outbox/{id}/resend",
        "/jobs/{name}/run",
        "/departments/{id}",
        "/companies/{id}",
        "/companies/{id}/contacts",
        "/contacts/{id}",
        "/partners/{id}",
        "/targets/{id}",
        "/support-funds/{id}",
        "/exports/{dataset}",
        "/imports/{dataset}",
        "/imports/batches/{batch_id}",
        "/imports/templates/{dataset}",
    ];
    // B's record of each kind, found as the admin.
    let first = async |url: String, key: &str| -> i64 {
        let (_, l) = app.get(&url).await;
        let items = l["items"].as_array().cloned().unwrap_or_default();
        let found = items
            .iter()
            .find(|i| key.is_empty() || i[key].as_str().is_some_and(|v| v.starts_with("b1")));
        found.unwrap_or_else(|| panic!("{url}: {l}"))["id"].as_i64().unwrap()
    };
    let ids: Vec<(&str, i64)> = vec![
        ("/projects/{id}", pb),
        (
            "/follow-ups/{id}",
            first(format!("/api/v1/projects/{pb}/follow-ups"), "").await,
        ),
        (
            "/fund-arrivals/{id}",
            first(format!("/api/v1/projects/{pb}/fund-arrivals"), "").await,
        ),
        ("/blockers/{id}", first("/api/v1/blockers".into(), "title").await),
        ("/visits/{id}", first("/api/v1/visits".into(), "purpose").await),
        ("/outreach/{id}", first("/api/v1/outreach".into(), "city").await),
        ("/incubation/{id}", first("/api/v1/incubation".into(), "notes").await),
        ("/{kind}/{id}/attachments", pb),
        ("/attachments/{id}", attachment_of(app, pb).await),
    ];
    let (_, doc) = app.anonymous().get("/openapi.json").await;
    let me = app.with_token(token);
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !path.contains('{') || SHARED.contains(&path.as_str()) {
            continue;
        }
        let &(_, id) = ids
            .iter()
            .find(|(p, _)| path == p || path.starts_with(&format!("{p}/")))
            .unwrap_or_else(|| panic!("{path}: a new route that names a record: scope it, or list it as shared"));
        let url = format!(
            "/api/v1{}",
            path.replace("{id}", &id.to_string()).replace("{kind}", "projects")
        );
        for method in ops.as_object().unwrap().keys() {
            let got = match method.as_str() {
                "get" => me.get(&url).await,
                "delete" => me.delete(&format!("{url}?version=1")).await,
                _ => continue,
            };
            assert_eq!(got.0, StatusCode::NOT_FOUND, "{method} {url}: {}", got.1);
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} routes checked");
}

/// A database of the schema before people were linked (migrations up to the capital origins), of the app's kind.
async fn previous_schema(app: &TestApp) -> (DatabaseConnection, Option<(String, String)>) {
    let (db, drop) = if app.url.starts_with("postgres") {
        let admin_url = std::env::var("TEST_DATABASE_URL").unwrap();
        let admin = Database::connect(&admin_url).await.unwrap();
        let name = format!("icrm_prev_{}", std::process::id());
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\""))
            .await
            .unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap();
        let base = admin_url
            .split('?')
            .next()
            .unwrap()
            .rsplit_once('/')
            .unwrap()
            .0
            .to_owned();
        (
            Database::connect(format!("{base}/{name}")).await.unwrap(),
            Some((admin_url, name)),
        )
    } else {
        (Database::connect("sqlite::memory:").await.unwrap(), None)
    };
    migration::Migrator::up(&db, Some(11)).await.unwrap();
    (db, drop)
}

/// A project after the migration: id, contact leader as text, linked leader, owner.
type LinkRow = (i64, Option<String>, Option<i64>, Option<i64>);

async fn the_migration_links_leaders_or_reports_them(app: TestApp) {
    let (db, drop) = previous_schema(&app).await;
    let now = "'2024-01-01 00:00:00+00'";
    for sql in [
        // 李局长 is one user; 张局长 is two; 赵局长 is no one.
        format!(
            "INSERT INTO users (id, username, display_name, role, password_hash, disabled, failed_logins, weekly_report, version, created_at, updated_at) VALUES \
             (1, 'li', '李局长', 'leader', 'x', false, 0, true, 1, {now}, {now}), \
             (2, 'zhang1', '张局长', 'leader', 'x', false, 0, true, 1, {now}, {now}), \
             (3, 'zhang2', '张局长', 'leader', 'x', false, 0, true, 1, {now}, {now}), \
             (4, 'zhou', '周敏', 'staff', 'x', false, 0, true, 1, {now}, {now})"
        ),
        format!(
            "INSERT INTO companies (id, name, version, created_at, updated_at) VALUES (1, '精诚科技', 1, {now}, {now})"
        ),
        format!(
            "INSERT INTO projects (id, name, company_id, source, is_major, contact_leader, stage, version, created_at, updated_at) VALUES \
             (1, '甲', 1, 'visit', false, '李局长', 'lead', 1, {now}, {now}), \
             (2, '乙', 1, 'visit', false, '张局长', 'lead', 1, {now}, {now}), \
             (3, '丙', 1, 'visit', false, '赵局长', 'lead', 1, {now}, {now}), \
             (4, '丁', 1, 'visit', false, NULL, 'lead', 1, {now}, {now})"
        ),
        format!(
            "INSERT INTO stage_events (project_id, stage, occurred_on, recorded_by, created_at) VALUES \
             (1, 'lead', '2024-01-01', 'zhou', {now}), (2, 'lead', '2024-01-01', 'nobody', {now})"
        ),
    ] {
        db.execute_unprepared(&sql).await.unwrap();
    }
    migration::Migrator::up(&db, None).await.unwrap();
    let rows: Vec<LinkRow> = {
        use entity::project;
        use sea_orm::{EntityTrait, QueryOrder, QuerySelect};
        project::Entity::find()
            .select_only()
            .columns([
                project::Column::Id,
                project::Column::ContactLeader,
                project::Column::ContactLeaderId,
                project::Column::OwnerId,
            ])
            .order_by_asc(project::Column::Id)
            .into_tuple()
            .all(&db)
            .await
            .unwrap()
    };
    // 李局长 is linked; 张局长 (two users) and 赵局长 (none) keep their text; no text is lost. 甲's owner is the
    // recorder of its first event.
    assert_eq!(
        rows,
        [
            (1, Some("李局长".into()), Some(1), Some(4)),
            (2, Some("张局长".into()), None, None),
            (3, Some("赵局长".into()), None, None),
            (4, None, None, None),
        ]
    );
    let u = invest_crm::service::people::unlinked(&db).await.unwrap();
    assert_eq!(
        u.leaders,
        [(2, "乙".into(), "张局长".into()), (3, "丙".into(), "赵局长".into())]
    );
    assert_eq!(u.unowned[0], ("projects", 3));
    // Every user already there is in the first department.
    let (n,): (i64,) = {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        (entity::user::Entity::find()
            .filter(entity::user::Column::DepartmentId.is_null())
            .count(&db)
            .await
            .unwrap() as i64,)
    };
    assert_eq!(n, 0);
    db.close().await.ok();
    if let Some((admin_url, name)) = drop {
        let admin = Database::connect(&admin_url).await.unwrap();
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
            .ok();
    }
}

/// `migrate down` of the people migration: on PostgreSQL it goes and comes back; on SQLite (which cannot drop the
/// owner columns) it is refused before anything changes.
async fn the_people_migration_is_undone_whole_or_not_at_all(app: TestApp) {
    app.post("/api/v1/departments", json!({"name": "招商一局"})).await;
    // The migrations after it are undone first.
    let all = migration::Migrator::migrations();
    let people = all.iter().position(|m| m.name() == "m20261205_000012_people").unwrap();
    let later = (all.len() - people - 1) as u32;
    if later > 0 {
        migration::Migrator::down(&app.db, Some(later)).await.unwrap();
    }
    let undone = migration::Migrator::down(&app.db, Some(1)).await;
    if app.db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        let e = undone.expect_err("refused on SQLite").to_string();
        assert!(e.contains("restore the database file"), "{e}");
    } else {
        undone.unwrap();
        let pending = migration::Migrator::get_pending_migrations(&app.db).await.unwrap();
        assert_eq!(pending.len(), later as usize + 1);
    }
    migration::Migrator::up(&app.db, None).await.unwrap();
    // Either way the schema is whole: departments, owners and teams are there to use.
    let (s, d) = app.get("/api/v1/departments").await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let company = app.company("精诚科技有限公司").await;
    let (s, p) = app
        .post(
            "/api/v1/projects",
            json!({"name": "回滚后项目", "company_id": company, "stage": "lead", "occurred_on": "2024-03-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
}
