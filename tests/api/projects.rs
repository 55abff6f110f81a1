//! Projects and the stage pipeline of docs/DEFINITIONS.md through the API.

use entity::{
    enums::ProjectStage,
    pipeline::{Event, Stage, reach_dates},
    project, stage_event,
    visible::Visible,
};
use migration::MigratorTrait;
use reqwest::StatusCode;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{Value, json};

use crate::{
    db_test,
    support::{TestApp, assert_error},
};

db_test!(
    walk_lead_to_landed,
    skipped_stages_count_as_reached_the_same_day,
    illegal_moves_answer_422_and_change_nothing,
    backward_moves_need_a_reason_and_keep_reach_dates,
    drop_and_reopen,
    stage_event_with_stale_version_is_refused,
    project_updates_are_versioned,
    project_lists_filter_in_the_database,
    deleting_a_project_removes_its_records,
    project_create_is_validated,
    kept_reach_dates_are_those_of_the_history,
    quiet_projects_are_judged_by_their_stage_on_the_day,
);

/// The quiet projects (no follow-up in `stale_days`, or never) on a day, longest quiet first: judged by their stage
/// on that day, whether they moved since or not; the first few when only those are asked.
async fn quiet_projects_are_judged_by_their_stage_on_the_day(app: TestApp) {
    let mut ids = Vec::new();
    for (name, follow_up) in [
        ("甲", None),
        ("乙", Some("2024-02-01")),
        ("丙", Some("2024-05-15")),
        ("丁", None),
        ("戊", None),
        ("己", None),
    ] {
        let p = app.project(name, "lead", "2024-01-05").await;
        let id = p["id"].as_i64().unwrap();
        if ["甲", "戊"].contains(&name) {
            let body = json!({"version": p["version"], "owner_id": app.user_ids["staff"]});
            let (s, u) = app.patch(&format!("/api/v1/projects/{id}"), body).await;
            assert_eq!(s, StatusCode::OK, "{u}");
        }
        if let Some(on) = follow_up {
            let body = json!({"occurred_on": on, "kind": "call", "note": "电话沟通"});
            let (s, f) = app.post(&format!("/api/v1/projects/{id}/follow-ups"), body).await;
            assert_eq!(s, StatusCode::CREATED, "{f}");
        }
        ids.push(id);
    }
    let moves = [
        (3, "dropped", "2024-03-01"), // 丁: dropped before the day
        (4, "signed", "2024-06-10"),  // 戊: a lead on the day, signed after it
        (5, "dropped", "2024-06-01"), // 己: a lead on the day, dropped after it
    ];
    for (i, stage, on) in moves {
        let body = json!({"stage": stage, "occurred_on": on, "reason": "企业调整投资计划"});
        let (s, e) = app.move_to(ids[i], body).await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
    }
    let day = chrono::NaiveDate::from_ymd_opt(2024, 5, 20).unwrap();
    let quiet_seen = |visible: Visible, most: Option<usize>| {
        let db = app.db.clone();
        async move {
            jobs::weekly::stale_projects(&db, (day, 30), (&visible, most))
                .await
                .unwrap()
                .into_iter()
                .map(|p| (p.name, p.stage, p.days_since_follow_up))
                .collect::<Vec<_>>()
        }
    };
    let quiet = |most: Option<usize>| quiet_seen(Visible::All, most);
    let never = |name: &str| (name.to_owned(), ProjectStage::Lead, None);
    let all = vec![
        never("甲"),
        never("戊"),
        never("己"),
        ("乙".to_owned(), ProjectStage::Lead, Some(109)),
    ];
    assert_eq!(quiet(None).await, all, "丙 followed up 5 days before, 丁 dropped");
    assert_eq!(quiet(Some(2)).await, all[..2]);
    assert_eq!(quiet(Some(4)).await, all);
    // Someone who sees only their own projects is shown only theirs, moved since or not.
    let own = quiet_seen(Visible::Own(app.user_ids["staff"]), None).await;
    assert_eq!(own, [never("甲"), never("戊")]);
}

async fn history(app: &TestApp, id: i64) -> Vec<Value> {
    let (s, h) = app.get(&format!("/api/v1/projects/{id}/stage-events")).await;
    assert_eq!(s, StatusCode::OK);
    h.as_array().unwrap().clone()
}

async fn project(app: &TestApp, id: i64) -> Value {
    let (s, p) = app.get(&format!("/api/v1/projects/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    p
}

async fn walk_lead_to_landed(app: TestApp) {
    let p = app.project("万维无人机", "lead", "2024-01-08").await;
    let id = p["id"].as_i64().unwrap();
    assert_eq!(p["stage"], "lead");
    assert_eq!(p["reach_dates"]["lead"], "2024-01-08");
    assert_eq!(p["reach_dates"]["negotiating"], Value::Null);
    assert_eq!(p["version"], 1);

    for (stage, date) in [
        ("negotiating", "2024-02-01"),
        ("signed", "2024-03-15"),
        ("landed", "2024-05-20"),
    ] {
        let (s, e) = app
            .move_to(id, json!({"stage": stage, "occurred_on": date, "note": "按计划推进"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        assert_eq!(e["stage"], stage);
        assert_eq!(e["occurred_on"], date);
    }
    let p = project(&app, id).await;
    assert_eq!(p["stage"], "landed");
    assert_eq!(p["version"], 4, "each move changes the project");
    assert_eq!(
        p["reach_dates"],
        json!({"lead": "2024-01-08", "negotiating": "2024-02-01", "signed": "2024-03-15",
               "landed": "2024-05-20", "started": null, "producing": null})
    );
    let h = history(&app, id).await;
    let stages: Vec<_> = h.iter().map(|e| e["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["lead", "negotiating", "signed", "landed"]);
    let from: Vec<_> = h.iter().map(|e| e["from_stage"].clone()).collect();
    assert_eq!(
        from,
        [Value::Null, json!("lead"), json!("negotiating"), json!("signed")]
    );
    assert_eq!(h[1]["note"], "按计划推进");
}

async fn skipped_stages_count_as_reached_the_same_day(app: TestApp) {
    let p = app.project("华元通", "negotiating", "2024-01-10").await;
    let id = p["id"].as_i64().unwrap();
    assert_eq!(
        p["reach_dates"]["lead"], "2024-01-10",
        "starting later reaches the stages before it"
    );
    let (s, _) = app
        .move_to(id, json!({"stage": "started", "occurred_on": "2024-04-01"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let p = project(&app, id).await;
    assert_eq!(p["reach_dates"]["signed"], "2024-04-01");
    assert_eq!(p["reach_dates"]["landed"], "2024-04-01");
    assert_eq!(p["reach_dates"]["started"], "2024-04-01");
    assert_eq!(p["reach_dates"]["producing"], Value::Null);
    // The same day as the latest event is allowed.
    let (s, _) = app
        .move_to(id, json!({"stage": "producing", "occurred_on": "2024-04-01"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
}

async fn illegal_moves_answer_422_and_change_nothing(app: TestApp) {
    let p = app.project("恒丰厨具", "signed", "2024-03-01").await;
    let id = p["id"].as_i64().unwrap();
    let cases = [
        (
            json!({"stage": "signed", "occurred_on": "2024-03-05"}),
            "stage_unchanged",
            "stage",
        ),
        (
            json!({"stage": "landed", "occurred_on": "2024-02-28"}),
            "event_before_latest",
            "occurred_on",
        ),
        (
            json!({"stage": "lead", "occurred_on": "2024-03-05"}),
            "reason_required",
            "reason",
        ),
        (
            json!({"stage": "lead", "occurred_on": "2024-03-05", "reason": "   "}),
            "reason_required",
            "reason",
        ),
        (
            json!({"stage": "dropped", "occurred_on": "2024-03-05"}),
            "reason_required",
            "reason",
        ),
    ];
    for (body, code, field) in cases {
        assert_error(
            &app.move_to(id, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            Some(field),
        );
    }
    let p = project(&app, id).await;
    assert_eq!(p["stage"], "signed");
    assert_eq!(p["version"], 1);
    assert_eq!(history(&app, id).await.len(), 1);
    assert_error(
        &app.move_to(424242, json!({"stage": "landed", "occurred_on": "2024-03-05"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &app.get("/api/v1/projects/424242/stage-events").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
}

async fn backward_moves_need_a_reason_and_keep_reach_dates(app: TestApp) {
    let p = app.project("福美新材料生产基地", "lead", "2024-01-02").await;
    let id = p["id"].as_i64().unwrap();
    app.move_to(id, json!({"stage": "signed", "occurred_on": "2024-02-01"}))
        .await;
    let (s, e) = app
        .move_to(
            id,
            json!({"stage": "negotiating", "occurred_on": "2024-03-01", "reason": "协议取消,重新洽谈"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    assert_eq!(e["reason"], "协议取消,重新洽谈");
    assert_eq!(e["from_stage"], "signed");
    let p = project(&app, id).await;
    assert_eq!(p["stage"], "negotiating");
    assert_eq!(
        p["reach_dates"]["signed"], "2024-02-01",
        "a stage once reached stays reached"
    );
    // Signing again does not move the signed reach date.
    app.move_to(id, json!({"stage": "signed", "occurred_on": "2024-04-01"}))
        .await;
    let p = project(&app, id).await;
    assert_eq!(p["reach_dates"]["signed"], "2024-02-01");
    assert_eq!(p["reach_dates"]["negotiating"], "2024-02-01");
}

async fn drop_and_reopen(app: TestApp) {
    let p = app.project("某新能源项目", "negotiating", "2024-01-02").await;
    let id = p["id"].as_i64().unwrap();
    let (s, _) = app
        .move_to(
            id,
            json!({"stage": "dropped", "occurred_on": "2024-02-01", "reason": "企业资金链断裂"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let p = project(&app, id).await;
    assert_eq!(p["stage"], "dropped");
    assert_eq!(p["dropped_from"], "negotiating");
    assert_eq!(
        p["reach_dates"]["negotiating"], "2024-01-02",
        "dropped projects keep what they reached"
    );
    assert_error(
        &app.move_to(
            id,
            json!({"stage": "dropped", "occurred_on": "2024-02-02", "reason": "x"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "stage_unchanged",
        Some("stage"),
    );
    // Reopening below the stage it dropped from is a backward move.
    assert_error(
        &app.move_to(id, json!({"stage": "lead", "occurred_on": "2024-03-01"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason_required",
        Some("reason"),
    );
    let (s, _) = app
        .move_to(id, json!({"stage": "negotiating", "occurred_on": "2024-03-01"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let p = project(&app, id).await;
    assert_eq!(p["stage"], "negotiating");
    assert_eq!(p["dropped_from"], Value::Null);
    assert_eq!(history(&app, id).await.len(), 3);
}

async fn stage_event_with_stale_version_is_refused(app: TestApp) {
    let p = app.project("版本测试", "lead", "2024-01-02").await;
    let id = p["id"].as_i64().unwrap();
    let (s, _) = app
        .move_to(
            id,
            json!({"stage": "negotiating", "occurred_on": "2024-01-03", "version": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_error(
        &app.move_to(
            id,
            json!({"stage": "signed", "occurred_on": "2024-01-04", "version": 1}),
        )
        .await,
        StatusCode::CONFLICT,
        "stale_version",
        Some("version"),
    );
    assert_eq!(project(&app, id).await["stage"], "negotiating");
    assert_eq!(history(&app, id).await.len(), 2);
}

async fn project_updates_are_versioned(app: TestApp) {
    let p = app.project("原项目名", "lead", "2024-01-02").await;
    let id = p["id"].as_i64().unwrap();
    let path = format!("/api/v1/projects/{id}");
    let (s, u) = app
        .patch(
            &path,
            json!({"version": 1, "agreed_investment": "98000.0001", "is_major": true, "contact_leader": "李副主任",
                   "land_mu": 120.5, "source": "outreach", "team": "新材料专班"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["agreed_investment"], "98000.0001");
    assert_eq!(u["is_major"], true);
    assert_eq!(u["version"], 2);
    assert_eq!(u["stage"], "lead", "details do not move the stage");

    assert_error(
        &app.patch(&path, json!({"version": 1, "name": "覆盖别人的修改"})).await,
        StatusCode::CONFLICT,
        "stale_version",
        Some("version"),
    );
    let p = project(&app, id).await;
    assert_eq!(p["name"], "原项目名");
    assert_eq!(p["version"], 2);

    let (s, u) = app.patch(&path, json!({"version": 2, "agreed_investment": null})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(u["agreed_investment"], Value::Null);
    assert_error(
        &app.patch(&path, json!({"version": 3, "company_id": 999999})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_company",
        Some("company_id"),
    );
    assert_error(
        &app.patch(&path, json!({"version": 3, "stage": "signed"})).await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
        Some("stage"),
    );
}

async fn project_lists_filter_in_the_database(app: TestApp) {
    let company = app.company("多项目集团").await;
    let specs = [
        ("新材料一期", "新材料", "visit", "张主任", true, "lead", "2023-12-20"),
        (
            "新材料二期",
            "新材料",
            "outreach",
            "张主任",
            false,
            "negotiating",
            "2024-01-15",
        ),
        (
            "无人机总装",
            "低空经济",
            "partner",
            "李副主任",
            true,
            "signed",
            "2024-03-01",
        ),
        (
            "智能工厂",
            "智能制造",
            "referral",
            "李副主任",
            false,
            "lead",
            "2024-07-01",
        ),
        ("100%_纯度", "新材料", "other", "王主任", false, "lead", "2024-02-01"),
    ];
    for (name, industry, source, leader, major, stage, date) in specs {
        let (s, b) = app
            .post(
                "/api/v1/projects",
                json!({"name": name, "company_id": company, "industry": industry, "source": source,
                       "contact_leader": leader, "is_major": major, "stage": stage, "occurred_on": date}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let total = async |q: &str| {
        let (s, b) = app.get(&format!("/api/v1/projects?{q}")).await;
        assert_eq!(s, StatusCode::OK, "{q}: {b}");
        b["total"].as_u64().unwrap()
    };
    assert_eq!(total("").await, 5);
    assert_eq!(total("stage=lead").await, 3);
    assert_eq!(total("industry=新材料").await, 3);
    assert_eq!(total("source=partner").await, 1);
    assert_eq!(total("contact_leader=李副主任").await, 2);
    assert_eq!(total("is_major=true").await, 2);
    assert_eq!(total(&format!("company_id={company}")).await, 5);
    assert_eq!(total("q=新材料").await, 2);
    assert_eq!(total("q=%25_").await, 1, "wildcards are literal");
    assert_eq!(total("industry=新材料&stage=lead").await, 2);
    // Reach-date ranges: leads reached in 2024-H1; negotiating reached in 2024 (the signed one skipped over it).
    assert_eq!(total("reached_from=2024-01-01&reached_to=2024-06-30").await, 3);
    assert_eq!(
        total("reached=negotiating&reached_from=2024-01-01&reached_to=2024-12-31").await,
        2
    );
    assert_eq!(total("reached=signed&reached_to=2024-02-29").await, 0);
    assert_eq!(total("reached=signed&reached_from=2024-03-01").await, 1);
    assert_error(
        &app.get("/api/v1/projects?reached=dropped&reached_from=2024-01-01")
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("reached"),
    );
    assert_error(
        &app.get("/api/v1/projects?stage=finished").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        Some("stage"),
    );
    assert_error(
        &app.get("/api/v1/projects?reached_from=2024-13-01").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        Some("reached_from"),
    );

    let (_, page) = app.get("/api/v1/projects?per_page=2&page=2&industry=新材料").await;
    assert_eq!(page["total"], 3);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "新材料一期", "newest first, so the oldest is last");
    assert_eq!(items[0]["company_name"], "多项目集团");
    assert_eq!(items[0]["reach_dates"]["lead"], "2023-12-20");
}

async fn deleting_a_project_removes_its_records(app: TestApp) {
    let p = app.project("待删除项目", "lead", "2024-01-02").await;
    let id = p["id"].as_i64().unwrap();
    app.move_to(id, json!({"stage": "signed", "occurred_on": "2024-01-03"}))
        .await;
    let (s, _) = app
        .post(
            &format!("/api/v1/projects/{id}/fund-arrivals"),
            json!({"arrived_on": "2024-02-01", "amount": "10"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_error(
        &app.delete(&format!("/api/v1/projects/{id}?version=1")).await,
        StatusCode::CONFLICT,
        "stale_version",
        Some("version"),
    );
    let (s, _) = app.delete(&format!("/api/v1/projects/{id}?version=2")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_error(
        &app.get(&format!("/api/v1/projects/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(entity::stage_event::Entity::find().count(&app.db).await.unwrap(), 0);
    assert_eq!(entity::fund_arrival::Entity::find().count(&app.db).await.unwrap(), 0);
}

async fn project_create_is_validated(app: TestApp) {
    let company = app.company("校验企业").await;
    let ok = json!({"name": "合法项目", "company_id": company, "stage": "lead", "occurred_on": "2024-01-02"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let cases = [
        (
            with("name", json!("")),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("name"),
        ),
        (
            with("name", json!("项".repeat(201))),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("name"),
        ),
        (
            with("occurred_on", json!("1989-12-31")),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("occurred_on"),
        ),
        (
            with("occurred_on", json!("2099-01-01")),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("occurred_on"),
        ),
        (
            with("agreed_investment", json!("-1")),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("agreed_investment"),
        ),
        (
            with("agreed_investment", json!("1.00001")),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("agreed_investment"),
        ),
        (
            with("land_mu", json!(-3)),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("land_mu"),
        ),
        (
            with("stage", json!("dropped")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "illegal_initial_stage",
            Some("stage"),
        ),
        (
            with("stage", json!("finished")),
            StatusCode::BAD_REQUEST,
            "malformed_request",
            None,
        ),
        (
            with("company_id", json!(987654)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_company",
            Some("company_id"),
        ),
        (
            with("source", json!("internet")),
            StatusCode::BAD_REQUEST,
            "malformed_request",
            None,
        ),
    ];
    for (body, status, code, field) in cases {
        assert_error(&app.post("/api/v1/projects", body).await, status, code, field);
    }
    let (_, list) = app.get("/api/v1/projects").await;
    assert_eq!(list["total"], 0, "nothing half-written");
    let (s, p) = app.post("/api/v1/projects", ok).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["source"], "other");
    assert_eq!(p["is_major"], false);
    assert_eq!(p["funds_arrived"], "0");
}

type Reach = std::collections::HashMap<(i64, ProjectStage), chrono::NaiveDate>;

/// Every project's reach dates as its stage events give them (docs/DEFINITIONS.md, by the pipeline engine).
async fn reach_of_histories(db: &DatabaseConnection) -> Reach {
    let mut histories: std::collections::HashMap<i64, Vec<Event<ProjectStage>>> = Default::default();
    for e in stage_event::Entity::find().all(db).await.unwrap() {
        let event = Event {
            stage: e.stage,
            occurred_on: e.occurred_on,
        };
        histories.entry(e.project_id).or_default().push(event);
    }
    histories
        .into_iter()
        .flat_map(|(id, h)| reach_dates(&h, None).into_iter().map(move |(s, on)| ((id, s), on)))
        .collect()
}

/// The reach dates stored on the projects for the list filters.
async fn reach_kept(db: &DatabaseConnection) -> Reach {
    let mut kept = Reach::new();
    for p in project::Entity::find().all(db).await.unwrap() {
        let dates = [
            p.reached_lead_on,
            p.reached_negotiating_on,
            p.reached_signed_on,
            p.reached_landed_on,
            p.reached_started_on,
            p.reached_producing_on,
        ];
        for (stage, on) in ProjectStage::ORDER.iter().zip(dates) {
            kept.extend(on.map(|on| ((p.id, *stage), on)));
        }
    }
    kept
}

/// The reach dates kept per project are those its history gives, however the history was written: in a batch with
/// skipped stages, backward moves, drops and reopens (the benchmark's histories), one move at a time through the API,
/// or recomputed from the events by the migration that introduced them; and the list filters count by them.
async fn kept_reach_dates_are_those_of_the_history(app: TestApp) {
    app.synthetic_projects(400).await;
    let (_, list) = app.get("/api/v1/projects?stage=signed&per_page=1").await;
    let id = list["items"][0]["id"].as_i64().unwrap();
    let back = json!({"stage": "lead", "occurred_on": "2025-01-02", "reason": "重新谈"});
    assert_eq!(app.move_to(id, back).await.0, StatusCode::CREATED);
    let forward = json!({"stage": "producing", "occurred_on": "2025-01-03"});
    assert_eq!(app.move_to(id, forward).await.0, StatusCode::CREATED);

    let derived = reach_of_histories(&app.db).await;
    assert!(derived.len() > 1000, "{} reach dates", derived.len());
    assert_eq!(derived[&(id, ProjectStage::Producing)].to_string(), "2025-01-03");
    assert_eq!(reach_kept(&app.db).await, derived);

    migration::Migrator::down(&app.db, Some(1)).await.unwrap();
    migration::Migrator::up(&app.db, None).await.unwrap();
    assert_eq!(
        reach_kept(&app.db).await,
        derived,
        "the migration derives the same from the events"
    );

    let (from, to) = ("2024-01-01".parse().unwrap(), "2024-06-30".parse().unwrap());
    for stage in ProjectStage::ORDER {
        let expected = derived
            .iter()
            .filter(|((_, s), on)| s == stage && (from..=to).contains(*on))
            .count();
        let name = serde_json::to_value(stage).unwrap();
        let q = format!(
            "/api/v1/projects?reached={}&reached_from={from}&reached_to={to}&per_page=1",
            name.as_str().unwrap()
        );
        let (s, page) = app.get(&q).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(page["total"], expected, "{q}");
        assert!(
            expected > 0,
            "{q}: the benchmark's histories reach every stage in 2024-H1"
        );
    }
}
