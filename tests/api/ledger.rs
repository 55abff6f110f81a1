//! The rest of the ledger: visits, outreach, partners, blockers, incubation, targets and labels.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    db_test,
    support::{TestApp, assert_error},
};

db_test!(
    visits_count_batches_and_person_times,
    visit_day_totals_follow_every_write,
    kept_counts_follow_every_write,
    visits_are_validated_and_versioned,
    outreach_and_partners_are_project_sources,
    blockers_resolve_reopen_and_filter,
    incubation_follows_the_pipeline_rules,
    targets_are_unique_per_year_and_metric,
    labels_name_every_enum_value,
);

async fn visits_count_batches_and_person_times(app: TestApp) {
    let a = app.company("深圳某科技").await;
    let b = app.company("东莞某制造").await;
    let visits = [
        ("2023-12-31", 9, vec![a]),
        ("2024-01-01", 5, vec![a, b]),
        ("2024-03-15", 12, vec![b]),
        ("2024-06-30", 3, vec![a]),
        ("2024-07-01", 7, vec![b]),
    ];
    for (date, headcount, companies) in visits {
        let (s, v) = app
            .post(
                "/api/v1/visits",
                json!({"visit_date": date, "headcount": headcount, "company_ids": companies,
                       "receiving_leaders": ["王主任", " "], "purpose": "考察投资环境"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["receiving_leaders"], json!(["王主任"]), "blank names are dropped");
    }
    let (s, p) = app.get("/api/v1/visits?from=2024-01-01&to=2024-06-30").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["total"], 3, "batches: both ends inclusive");
    assert_eq!(p["person_times"], 20);
    let (_, p) = app.get("/api/v1/visits?from=2024-01-01&to=2024-06-30&per_page=1").await;
    assert_eq!(p["person_times"], 20, "person-times cover every page");
    assert_eq!(p["items"].as_array().unwrap().len(), 1);
    let (_, p) = app.get(&format!("/api/v1/visits?company_id={a}")).await;
    assert_eq!((p["total"].as_u64(), p["person_times"].as_i64()), (Some(3), Some(17)));
    let (_, p) = app.get("/api/v1/visits?from=2025-01-01").await;
    assert_eq!((p["total"].as_u64(), p["person_times"].as_i64()), (Some(0), Some(0)));
}

/// What the database keeps for the figures follows every write: the projects' reach days (a project created, moved
/// on and back, given an investment and the 重大 flag, deleted), their spells off to the side (dropped, reopened,
/// dropped again, no longer 重大), the blockers' days (raised, given a due date,
/// resolved after it, recategorised, reopened, deleted) and the candidates' reach days (created, moved, deleted).
async fn kept_counts_follow_every_write(app: TestApp) {
    let none = Vec::<String>::new;
    let rows = |table: &'static str| {
        let app = &app;
        async move { app.count_of(format!("SELECT COUNT(*) AS n FROM {table}")).await }
    };
    let p = app.project("甲", "lead", "2024-01-05").await;
    let id = p["id"].as_i64().unwrap();
    assert_eq!(app.kept_astray().await, none());
    for (stage, on, reason) in [
        ("signed", "2024-03-01", None),
        ("negotiating", "2024-04-01", Some("企业调整投资计划")),
        ("landed", "2024-05-01", None),
    ] {
        let (s, e) = app
            .move_to(id, json!({"stage": stage, "occurred_on": on, "reason": reason}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        assert_eq!(app.kept_astray().await, none(), "after the move to {stage}");
    }
    let (_, p) = app.get(&format!("/api/v1/projects/{id}")).await;
    let body = json!({"version": p["version"], "agreed_investment": "1200", "is_major": true});
    let (s, p) = app.patch(&format!("/api/v1/projects/{id}"), body).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(app.kept_astray().await, none());
    let majors = "SELECT COUNT(*) AS n FROM project_reach_days WHERE major = TRUE AND yuan > 0";
    assert_eq!(
        app.count_of(majors.into()).await,
        4,
        "lead to landed, as 重大 with its investment"
    );
    // Off to the side and back, then off again: two spells, the first ended, the second counted per day dropped.
    for (stage, on, reason) in [
        ("dropped", "2024-06-01", Some("企业资金链断裂")),
        ("landed", "2024-07-01", None),
        ("dropped", "2024-08-01", Some("企业撤资")),
    ] {
        let (s, e) = app
            .move_to(id, json!({"stage": stage, "occurred_on": on, "reason": reason}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        assert_eq!(app.kept_astray().await, none(), "after the move to {stage} on {on}");
    }
    assert_eq!((rows("drop_spans").await, rows("drop_days").await), (2, 1));
    let (_, p) = app.get(&format!("/api/v1/projects/{id}")).await;
    let body = json!({"version": p["version"], "is_major": false});
    let (s, p) = app.patch(&format!("/api/v1/projects/{id}"), body).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(app.kept_astray().await, none());
    assert_eq!(rows("drop_days").await, 0, "no longer 重大");

    let base = format!("/api/v1/projects/{id}/blockers");
    let body =
        json!({"title": "用电增容", "category": "facilities", "opened_on": "2024-03-01", "due_date": "2024-03-10"});
    let (s, b) = app.post(&base, body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let bid = b["id"].as_i64().unwrap();
    assert_eq!(app.kept_astray().await, none());
    // The list's total is read from the kept counts when the filter is by category (or days raised) only.
    let total = |q: String| {
        let app = &app;
        async move {
            let (s, p) = app.get(&format!("/api/v1/blockers?{q}")).await;
            assert_eq!(s, StatusCode::OK, "{p}");
            p["total"].as_i64().unwrap()
        }
    };
    for (q, n) in [
        ("", 1),
        ("category=facilities", 1),
        ("category=land", 0),
        ("status=open", 1),
    ] {
        assert_eq!(total(q.into()).await, n, "{q}");
    }
    let edits = [
        json!({"status": "resolved", "resolution": "已协调供电局", "resolved_on": "2024-03-20"}),
        json!({"category": "land", "due_date": "2024-03-18"}),
        json!({"status": "open"}),
        json!({"due_date": null}),
    ];
    for edit in edits {
        let (_, b) = app.get(&format!("/api/v1/blockers/{bid}")).await;
        let mut body = edit.clone();
        body["version"] = b["version"].clone();
        let (s, b) = app.patch(&format!("/api/v1/blockers/{bid}"), body).await;
        assert_eq!(s, StatusCode::OK, "{edit}: {b}");
        assert_eq!(app.kept_astray().await, none(), "after {edit}");
    }
    assert!(rows("blocker_days").await > 0);
    assert_eq!(total("category=land".into()).await, 1);
    assert_eq!(total("category=facilities".into()).await, 0);
    let (_, b) = app.get(&format!("/api/v1/blockers/{bid}")).await;
    let (s, _) = app
        .delete(&format!("/api/v1/blockers/{bid}?version={}", b["version"]))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(app.kept_astray().await, none());
    assert_eq!(rows("blocker_days").await, 0, "a day with nothing left keeps no row");

    let c = app.company("精诚科技").await;
    let body = json!({"company_id": c, "cohort_year": 2024, "occurred_on": "2024-03-01"});
    let (s, cand) = app.post("/api/v1/incubation", body).await;
    assert_eq!(s, StatusCode::CREATED, "{cand}");
    let cid = cand["id"].as_i64().unwrap();
    let (s, e) = app
        .post(
            &format!("/api/v1/incubation/{cid}/stage-events"),
            json!({"stage": "approved", "occurred_on": "2024-06-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    assert_eq!(app.kept_astray().await, none());
    assert_eq!(
        rows("candidate_reach_days").await,
        3,
        "cultivating on 03-01, applied and approved on 06-01"
    );
    let (_, cand) = app.get(&format!("/api/v1/incubation/{cid}")).await;
    let (s, _) = app
        .delete(&format!("/api/v1/incubation/{cid}?version={}", cand["version"]))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(app.kept_astray().await, none());
    assert_eq!(rows("candidate_reach_days").await, 0);

    let (_, p) = app.get(&format!("/api/v1/projects/{id}")).await;
    let (s, _) = app
        .delete(&format!("/api/v1/projects/{id}?version={}", p["version"]))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(app.kept_astray().await, none());
    assert_eq!(rows("project_reach_days").await, 0);
    assert_eq!(rows("drop_spans").await, 0);
}

/// The visits' day totals the database keeps (`visit_days`) follow every write — a visit created, moved to another
/// day, given another headcount or owner, deleted — and the list's totals, read from them, follow too; a filter by
/// company still counts the visits themselves.
async fn visit_day_totals_follow_every_write(app: TestApp) {
    let a = app.company("某公司").await;
    let mut ids = Vec::new();
    for (date, headcount) in [("2024-05-01", 4), ("2024-05-01", 6), ("2024-05-02", 1)] {
        let body = json!({"visit_date": date, "headcount": headcount, "company_ids": [a]});
        let (s, v) = app.post("/api/v1/visits", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["id"].as_i64().unwrap());
    }
    let totals = |q: &'static str| {
        let app = &app;
        async move {
            let (s, p) = app.get(&format!("/api/v1/visits?{q}")).await;
            assert_eq!(s, StatusCode::OK, "{p}");
            (p["total"].as_u64().unwrap(), p["person_times"].as_i64().unwrap())
        }
    };
    let (may_1, may_2) = ("from=2024-05-01&to=2024-05-01", "from=2024-05-02&to=2024-05-02");
    assert_eq!(app.kept_astray().await, Vec::<String>::new());
    assert_eq!((totals(may_1).await, totals(may_2).await), ((2, 10), (1, 1)));

    let (s, v) = app
        .patch(
            &format!("/api/v1/visits/{}", ids[0]),
            json!({"version": 1, "visit_date": "2024-05-02", "headcount": 5}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(app.kept_astray().await, Vec::<String>::new());
    assert_eq!((totals(may_1).await, totals(may_2).await), ((1, 6), (2, 6)));

    let other = app.user_ids["staff"];
    let (s, v) = app
        .patch(
            &format!("/api/v1/visits/{}", ids[2]),
            json!({"version": 1, "owner_id": other}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(app.kept_astray().await, Vec::<String>::new());
    assert_eq!(totals(may_2).await, (2, 6), "a day's visits of two owners add up");

    let (s, _) = app.delete(&format!("/api/v1/visits/{}?version=1", ids[1])).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        app.kept_astray().await,
        Vec::<String>::new(),
        "a day with no visit left keeps no row"
    );
    assert_eq!((totals(may_1).await, totals("from=2024-01-01").await), ((0, 0), (2, 6)));
    let b = app.company("另一家").await;
    let (s, _) = app
        .post(
            "/api/v1/visits",
            json!({"visit_date": "2024-05-02", "headcount": 9, "company_ids": [b]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(totals(may_2).await, (3, 15));
    let (_, p) = app.get(&format!("/api/v1/visits?company_id={a}&{may_2}")).await;
    assert_eq!((p["total"].as_u64(), p["person_times"].as_i64()), (Some(2), Some(6)));
}

async fn visits_are_validated_and_versioned(app: TestApp) {
    let c = app.company("来访企业").await;
    let p = app.project("来访项目", "lead", "2024-01-02").await;
    let pid = p["id"].as_i64().unwrap();
    let ok = json!({"visit_date": "2024-01-05", "headcount": 6, "company_ids": [c, c], "project_ids": [pid]});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let cases = [
        (
            with("headcount", json!(0)),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("headcount"),
        ),
        (
            with("headcount", json!(-3)),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("headcount"),
        ),
        (
            with("company_ids", json!([])),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("company_ids"),
        ),
        (
            with("company_ids", json!([c, 999999])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_company",
            Some("company_ids"),
        ),
        (
            with("project_ids", json!([888888])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_project",
            Some("project_ids"),
        ),
        (
            with("visit_date", json!("1989-06-01")),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("visit_date"),
        ),
        (
            with("purpose", json!("x".repeat(501))),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("purpose"),
        ),
    ];
    for (body, status, code, field) in cases {
        assert_error(&app.post("/api/v1/visits", body).await, status, code, field);
    }
    let (_, list) = app.get("/api/v1/visits").await;
    assert_eq!(list["total"], 0, "nothing half-written");

    let (s, v) = app.post("/api/v1/visits", ok).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["company_ids"], json!([c]), "duplicates collapse");
    assert_eq!(v["project_ids"], json!([pid]));
    let id = v["id"].as_i64().unwrap();
    let path = format!("/api/v1/visits/{id}");
    let c2 = app.company("第二家").await;
    let (s, u) = app
        .patch(
            &path,
            json!({"version": 1, "company_ids": [c2], "headcount": 8, "summary": "达成初步意向"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["company_ids"], json!([c2]));
    assert_eq!(u["project_ids"], json!([pid]), "lists left out stay");
    assert_error(
        &app.patch(&path, json!({"version": 1, "headcount": 9})).await,
        StatusCode::CONFLICT,
        "stale_version",
        None,
    );
    let (_, got) = app.get(&path).await;
    assert_eq!(got["headcount"], 8);

    // A project that came from this visit loses the reference when the visit goes.
    let (s, p2) = app
        .post(
            "/api/v1/projects",
            json!({"name": "来访转化项目", "company_id": c2, "stage": "lead", "occurred_on": "2024-01-06", "source_visit_id": id}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p2}");
    assert_eq!(p2["source"], "visit", "the source kind follows the record named");
    let (s, _) = app.delete(&format!("{path}?version=2")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, p2) = app.get(&format!("/api/v1/projects/{}", p2["id"])).await;
    assert_eq!(p2["source"], "visit");
    assert_eq!(p2["source_visit_id"], Value::Null);
    assert_eq!(p2["version"], 2);
}

async fn outreach_and_partners_are_project_sources(app: TestApp) {
    let c = app.company("被拜访企业").await;
    let (s, o) = app
        .post(
            "/api/v1/outreach",
            json!({"kind": "trip", "city": "深圳", "start_date": "2024-03-04", "end_date": "2024-03-06",
                   "leading_official": "管委会主任", "participants": ["招商一局"], "company_ids": [c]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let oid = o["id"].as_i64().unwrap();
    assert_error(
        &app.post(
            "/api/v1/outreach",
            json!({"kind": "forum", "city": "北京", "start_date": "2024-03-04", "end_date": "2024-03-03"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("end_date"),
    );
    assert_error(
        &app.post(
            "/api/v1/outreach",
            json!({"kind": "roadshow", "city": "北京", "start_date": "2024-03-04"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
        None,
    );
    let (s, o2) = app
        .post(
            "/api/v1/outreach",
            json!({"kind": "promotion_event", "city": "南京", "start_date": "2024-05-10"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(o2["end_date"], "2024-05-10", "one-day events end the day they start");
    let (_, l) = app
        .get("/api/v1/outreach?kind=trip&from=2024-01-01&to=2024-06-30")
        .await;
    assert_eq!(l["total"], 1);

    let (s, pa) = app
        .post(
            "/api/v1/partners",
            json!({"name": "深圳市低碳产业投资商会", "kind": "chamber_of_commerce", "agreement_date": "2024-04-18"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{pa}");
    let paid = pa["id"].as_i64().unwrap();

    let project = |extra: Value| {
        let mut b = json!({"name": "来源项目", "company_id": c, "stage": "lead", "occurred_on": "2024-03-06"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let (s, p) = app
        .post("/api/v1/projects", project(json!({"source_outreach_id": oid})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["source"], "outreach");
    let (_, o) = app.get(&format!("/api/v1/outreach/{oid}")).await;
    assert_eq!(
        o["project_ids"],
        json!([p["id"]]),
        "an outreach lists the projects it produced"
    );

    let cases = [
        (
            json!({"source": "visit", "source_outreach_id": oid}),
            "source_mismatch",
            "source_outreach_id",
        ),
        (
            json!({"source_outreach_id": oid, "source_partner_id": paid}),
            "source_mismatch",
            "source_outreach_id",
        ),
        (
            json!({"source_partner_id": 123456}),
            "unknown_source",
            "source_partner_id",
        ),
    ];
    for (extra, code, field) in cases {
        assert_error(
            &app.post("/api/v1/projects", project(extra)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            Some(field),
        );
    }
    // Switching a project to 委托招商 through the partner.
    let path = format!("/api/v1/projects/{}", p["id"]);
    let (s, u) = app
        .patch(
            &path,
            json!({"version": 1, "source_outreach_id": null, "source_partner_id": paid}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(
        (u["source"].as_str(), u["source_partner_id"].as_i64()),
        (Some("partner"), Some(paid))
    );
    assert_error(
        &app.patch(&path, json!({"version": 2, "source": "referral"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "source_mismatch",
        Some("source_partner_id"),
    );
    let (s, _) = app.delete(&format!("/api/v1/partners/{paid}?version=1")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, u) = app.get(&path).await;
    assert_eq!(u["source_partner_id"], Value::Null);
}

async fn blockers_resolve_reopen_and_filter(app: TestApp) {
    let p = app.project("万维无人机", "signed", "2024-01-02").await;
    let pid = p["id"].as_i64().unwrap();
    let base = format!("/api/v1/projects/{pid}/blockers");
    let (s, b) = app
        .post(
            &base,
            json!({"title": "厂房用地指标未落实", "category": "land", "owner_unit": "自然资源局", "assigned_leader": "李副主任",
                   "opened_on": "2024-01-10", "due_date": "2024-02-10"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["status"], "open");
    assert_eq!(b["overdue"], true, "open and past its due date");
    let id = b["id"].as_i64().unwrap();
    let (s, b2) = app
        .post(
            &base,
            json!({"title": "招工难", "category": "recruitment", "opened_on": "2024-01-12", "due_date": "2099-01-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "due dates follow the date bounds: {b2}");
    let (s, _) = app
        .post(
            &base,
            json!({"title": "招工难", "category": "recruitment", "opened_on": "2024-01-12"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_error(
        &app.post(
            &base,
            json!({"title": "x", "category": "funds", "opened_on": "2024-03-01", "due_date": "2024-02-01"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("due_date"),
    );
    assert_error(
        &app.post(&base, json!({"title": "x", "category": "weather"})).await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
        None,
    );

    let path = format!("/api/v1/blockers/{id}");
    let (s, u) = app.patch(&path, json!({"version": 1, "status": "in_progress"})).await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_error(
        &app.patch(&path, json!({"version": 2, "status": "resolved"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "resolution_required",
        Some("resolution"),
    );
    assert_error(
        &app.patch(
            &path,
            json!({"version": 2, "status": "resolved", "resolution": "调剂用地指标"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "resolution_required",
        Some("resolved_on"),
    );
    assert_error(
        &app.patch(
            &path,
            json!({"version": 2, "status": "resolved", "resolution": "调剂", "resolved_on": "2024-01-01"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("resolved_on"),
    );
    let (s, u) = app
        .patch(
            &path,
            json!({"version": 2, "status": "resolved", "resolution": "调剂用地指标", "resolved_on": "2024-02-20"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["overdue"], false, "resolved is never overdue");
    assert_eq!(u["project_name"], "万维无人机");

    let total = async |q: &str| {
        let (s, b) = app.get(&format!("/api/v1/blockers?{q}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["total"].as_u64().unwrap()
    };
    assert_eq!(total("").await, 2);
    assert_eq!(total("status=resolved").await, 1);
    assert_eq!(total("category=recruitment").await, 1);
    assert_eq!(total("assigned_leader=李副主任").await, 1);
    assert_eq!(total("overdue=true").await, 0);
    assert_eq!(total("overdue=false").await, 2);
    assert_eq!(total(&format!("project_id={pid}&status=open")).await, 1);

    // Reopening clears the resolution.
    let (s, u) = app.patch(&path, json!({"version": 3, "status": "open"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (u["resolution"].clone(), u["resolved_on"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(u["overdue"], true);
    assert_eq!(total("overdue=true").await, 1);
    assert_eq!(total("overdue=false").await, 1, "no due date is never overdue");
}

async fn incubation_follows_the_pipeline_rules(app: TestApp) {
    let c = app.company("某高新技术企业").await;
    let (s, cand) = app
        .post(
            "/api/v1/incubation",
            json!({"company_id": c, "cohort_year": 2024, "occurred_on": "2024-02-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cand}");
    assert_eq!(cand["stage"], "cultivating");
    assert_eq!(cand["reach_dates"]["cultivating"], "2024-02-01");
    let id = cand["id"].as_i64().unwrap();
    assert_error(
        &app.post(
            "/api/v1/incubation",
            json!({"company_id": c, "cohort_year": 2024, "occurred_on": "2024-02-02"}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_candidate",
        Some("cohort_year"),
    );
    assert_error(
        &app.post(
            "/api/v1/incubation",
            json!({"company_id": c, "cohort_year": 2025, "stage": "failed", "occurred_on": "2024-02-02"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "illegal_initial_stage",
        Some("stage"),
    );
    assert_error(
        &app.post(
            "/api/v1/incubation",
            json!({"company_id": c, "cohort_year": 1900, "occurred_on": "2024-02-02"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("cohort_year"),
    );
    let ev = format!("/api/v1/incubation/{id}/stage-events");
    let (s, _) = app
        .post(&ev, json!({"stage": "approved", "occurred_on": "2024-05-01"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let cases = [
        (
            json!({"stage": "approved", "occurred_on": "2024-05-02"}),
            "stage_unchanged",
            "stage",
        ),
        (
            json!({"stage": "filed", "occurred_on": "2024-04-30"}),
            "event_before_latest",
            "occurred_on",
        ),
        (
            json!({"stage": "applied", "occurred_on": "2024-05-02"}),
            "reason_required",
            "reason",
        ),
        (
            json!({"stage": "failed", "occurred_on": "2024-05-02"}),
            "reason_required",
            "reason",
        ),
    ];
    for (body, code, field) in cases {
        assert_error(
            &app.post(&ev, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            Some(field),
        );
    }
    let (s, _) = app
        .post(
            &ev,
            json!({"stage": "failed", "occurred_on": "2024-06-01", "reason": "研发投入比例不达标"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, got) = app.get(&format!("/api/v1/incubation/{id}")).await;
    assert_eq!(got["stage"], "failed");
    assert_eq!(got["failed_from"], "approved");
    assert_eq!(
        got["reach_dates"]["applied"], "2024-05-01",
        "skipped stages are reached the same day"
    );
    assert_eq!(got["reach_dates"]["filed"], Value::Null);
    assert_eq!(got["version"], 3);
    let (_, h) = app.get(&ev).await;
    assert_eq!(h.as_array().unwrap().len(), 3);
    let (_, l) = app.get("/api/v1/incubation?cohort_year=2024&stage=failed").await;
    assert_eq!(l["total"], 1);
}

async fn targets_are_unique_per_year_and_metric(app: TestApp) {
    let (s, t) = app
        .post(
            "/api/v1/targets",
            json!({"year": 2024, "metric": "projects_signed", "value": 30}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["value"], "30");
    let (s, m) = app
        .post(
            "/api/v1/targets",
            json!({"year": 2024, "metric": "signed_investment", "value": "500000.5"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    assert_eq!(m["value"], "500000.5", "money targets in 万元");
    assert_error(
        &app.post(
            "/api/v1/targets",
            json!({"year": 2024, "metric": "projects_signed", "value": 31}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_target",
        Some("metric"),
    );
    for (body, field) in [
        (
            json!({"year": 2024, "metric": "visit_batches", "value": "2.5"}),
            "value",
        ),
        (json!({"year": 2024, "metric": "visit_batches", "value": -1}), "value"),
        (json!({"year": 1800, "metric": "visit_batches", "value": 1}), "year"),
    ] {
        assert_error(
            &app.post("/api/v1/targets", body).await,
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some(field),
        );
    }
    let (s, _) = app
        .post(
            "/api/v1/targets",
            json!({"year": 2025, "metric": "projects_signed", "value": 35}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, l) = app.get("/api/v1/targets?year=2024").await;
    assert_eq!(l["total"], 2);
    let path = format!("/api/v1/targets/{}", t["id"]);
    let (s, u) = app.patch(&path, json!({"version": 1, "value": 32})).await;
    assert_eq!((s, u["value"].as_str()), (StatusCode::OK, Some("32")));
    assert_error(
        &app.patch(&path, json!({"version": 1, "value": 33})).await,
        StatusCode::CONFLICT,
        "stale_version",
        None,
    );
}

async fn labels_name_every_enum_value(app: TestApp) {
    let (s, l) = app.get("/api/v1/labels").await;
    assert_eq!(s, StatusCode::OK);
    let stages: Vec<(&str, &str)> = l["project_stage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["value"].as_str().unwrap(), x["label"].as_str().unwrap()))
        .collect();
    assert_eq!(
        stages,
        [
            ("lead", "线索"),
            ("negotiating", "洽谈"),
            ("signed", "签约"),
            ("landed", "落地"),
            ("started", "开工"),
            ("producing", "竣工投产"),
            ("dropped", "终止")
        ]
    );
    assert_eq!(l["blocker_category"].as_array().unwrap().len(), 6);
    assert_eq!(l["outreach_kind"][0]["label"], "外出招商");
    assert_eq!(l["incubation_stage"][3], json!({"value": "filed", "label": "备案"}));
    assert_eq!(l["target_metric"].as_array().unwrap().len(), 11);
    for list in l.as_object().unwrap().values() {
        for item in list.as_array().unwrap() {
            assert!(!item["label"].as_str().unwrap().is_empty());
        }
    }
}
