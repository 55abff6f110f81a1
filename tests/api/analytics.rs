//! Analytics on hand-made data, with every expected number worked out by hand from docs/DEFINITIONS.md in the comments.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    db_test,
    support::{TestApp, assert_error},
};

db_test!(
    funnels_follow_the_definitions,
    kpis_compare_years_and_track_targets,
    incubation_funnels_by_cohort_year,
    the_demo_park_half_year_is_reproduced,
    analytics_rejects_bad_questions,
    major_projects_are_those_worked_on_in_the_period,
    support_funds_are_summed_by_approval_date,
    above_size_companies_count_when_they_became_so,
    foreign_capital_is_kept_in_dollars_and_counted_apart,
    the_engine_agrees_with_one_sql_query_on_histories_that_use_every_rule,
    kpis_and_funnels_from_their_own_reads_equal_those_from_everything,
    the_figures_read_beside_the_writer,
);

/// What the on-demand figures read through (`db::readers`) sees every committed write; on SQLite it is a pool of
/// read-only connections of its own: a write through it is refused, several of its reads are open at once, and a
/// read held open does not hold up a write through the API (WAL), nor see it until it ends.
async fn the_figures_read_beside_the_writer(app: TestApp) {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
    let reads = invest_crm::db::readers(&app.db, &app.url).await.unwrap();
    let backend = reads.get_database_backend();
    async fn count(db: &impl ConnectionTrait) -> i64 {
        let sql = Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) AS n FROM companies");
        db.query_one_raw(sql)
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap()
    }
    let company = |name: &'static str| {
        let app = &app;
        async move {
            let (s, c) = app.post("/api/v1/companies", json!({ "name": name })).await;
            assert_eq!(s, StatusCode::CREATED, "{c}");
        }
    };
    company("甲公司").await;
    assert_eq!(count(&reads).await, 1, "a committed write is seen");
    if backend != sea_orm::DatabaseBackend::Sqlite {
        return;
    }
    let refused = reads.execute_unprepared("CREATE TABLE scratch (a INTEGER)").await;
    assert!(refused.is_err(), "the readers are read-only");
    let (one, two) = (reads.begin().await.unwrap(), reads.begin().await.unwrap());
    assert_eq!((count(&one).await, count(&two).await), (1, 1), "two reads open at once");
    company("乙公司").await;
    assert_eq!(
        count(&one).await,
        1,
        "a read open before the write sees what was there when it began"
    );
    one.commit().await.unwrap();
    two.commit().await.unwrap();
    assert_eq!(count(&reads).await, 2);
}

/// The work summary of 2024-H1 as text.
async fn summary_2024_h1(app: &TestApp) -> String {
    reqwest::Client::new()
        .get(format!("{}/api/v1/reports/summary?period=2024-H1", app.base_url()))
        .bearer_auth(app.token("admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Creates a project with its history; answers its id.
async fn project(
    app: &TestApp,
    name: &str,
    industry: &str,
    agreed: Option<&str>,
    history: &[(&str, &str, Option<&str>)],
) -> i64 {
    let c = app.company(&format!("{name}公司")).await;
    let (first, date, _) = history[0];
    let (s, p) = app
        .post(
            "/api/v1/projects",
            json!({"name": name, "company_id": c, "industry": industry, "stage": first, "occurred_on": date, "agreed_investment": agreed}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let id = p["id"].as_i64().unwrap();
    for &(stage, date, reason) in &history[1..] {
        let (s, e) = app
            .move_to(id, json!({"stage": stage, "occurred_on": date, "reason": reason}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{name} → {stage}: {e}");
    }
    id
}

/// The hand-made park:
/// A lead 2024-12-20, signed 2025-01-10 (skipping negotiation), landed 2025-02-15.
/// B lead 2025-01-05, negotiating 01-20, signed 02-01, back to negotiating 02-10, signed again 03-01.
/// C starts at negotiating 2024-11-01, dropped 2025-01-15, reopened 02-20, signed 03-20.
/// F lead 2025-02-01, negotiating 02-05, dropped 02-10.
/// E lead 2024-01-10, negotiating 2024-02-01 (last year's data).
async fn hand_made_park(app: &TestApp) -> [i64; 5] {
    let a = project(
        app,
        "A",
        "新材料",
        Some("1000"),
        &[
            ("lead", "2024-12-20", None),
            ("signed", "2025-01-10", None),
            ("landed", "2025-02-15", None),
        ],
    )
    .await;
    let b = project(
        app,
        "B",
        "新材料",
        Some("2000"),
        &[
            ("lead", "2025-01-05", None),
            ("negotiating", "2025-01-20", None),
            ("signed", "2025-02-01", None),
            ("negotiating", "2025-02-10", Some("协议取消")),
            ("signed", "2025-03-01", None),
        ],
    )
    .await;
    let c = project(
        app,
        "C",
        "智能制造",
        Some("500"),
        &[
            ("negotiating", "2024-11-01", None),
            ("dropped", "2025-01-15", Some("资金未到位")),
            ("negotiating", "2025-02-20", None),
            ("signed", "2025-03-20", None),
        ],
    )
    .await;
    let f = project(
        app,
        "F",
        "智能制造",
        None,
        &[
            ("lead", "2025-02-01", None),
            ("negotiating", "2025-02-05", None),
            ("dropped", "2025-02-10", Some("撤资")),
        ],
    )
    .await;
    let e = project(
        app,
        "E",
        "电子信息",
        None,
        &[("lead", "2024-01-10", None), ("negotiating", "2024-02-01", None)],
    )
    .await;
    [a, b, c, f, e]
}

fn counts(f: &Value) -> Vec<i64> {
    f["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["count"].as_i64().unwrap())
        .collect()
}

/// Each group of a broken-down funnel: its key and its counts per stage.
fn group_counts(f: &Value) -> Vec<(String, Vec<i64>)> {
    f["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap().to_owned(), counts(g)))
        .collect()
}

fn field(f: &Value, k: &str) -> Vec<Value> {
    f["stages"].as_array().unwrap().iter().map(|s| s[k].clone()).collect()
}

async fn funnel(app: &TestApp, q: &str) -> Value {
    let (s, f) = app.get(&format!("/api/v1/analytics/funnel?{q}")).await;
    assert_eq!(s, StatusCode::OK, "{q}: {f}");
    f
}

async fn funnels_follow_the_definitions(app: TestApp) {
    hand_made_park(&app).await;
    // Flow, 2025-Q1. Reach dates: A lead 12-20, negotiating = signed = 01-10 (skipped), landed 02-15;
    // B lead 01-05, negotiating 01-20, signed 02-01 (the first signing; the backward move and re-signing change
    // nothing); C lead = negotiating 2024-11-01 (started there), signed 03-20 (dropped projects keep what they reached);
    // F lead 02-01, negotiating 02-05.
    let f = funnel(&app, "period=2025-Q1&as_of=2025-03-31").await;
    assert_eq!(
        (f["period"]["from"].as_str(), f["period"]["to"].as_str()),
        (Some("2025-01-01"), Some("2025-03-31"))
    );
    assert_eq!(
        counts(&f),
        [2, 3, 3, 1, 0, 0],
        "lead B,F; negotiating A,B,F; signed A,B,C; landed A"
    );
    // Conversion into each stage: 3/2, 3/3, 1/3, 0/1, and none after a zero.
    assert_eq!(
        field(&f, "conversion"),
        [
            json!(null),
            json!(1.5),
            json!(1.0),
            json!(1.0 / 3.0),
            json!(0.0),
            json!(null)
        ]
    );
    // Days lead→negotiating over A (21), B (15), F (4): median 15, p90 (nearest rank of 3) 21.
    // negotiating→signed over A (0), B (12), C (139 = 2024-11-01..2025-03-20): median 12, p90 139.
    // signed→landed over A: 36.
    assert_eq!(
        field(&f, "median_days"),
        [
            json!(null),
            json!(15.0),
            json!(12.0),
            json!(36.0),
            json!(null),
            json!(null)
        ]
    );
    assert_eq!(
        field(&f, "p90_days"),
        [json!(null), json!(21), json!(139), json!(36), json!(null), json!(null)]
    );
    // Year on year against 2024-Q1, where only E reached lead and negotiation: 2 vs 1 = +100%, 3 vs 1 = +200%,
    // signed 3 vs 0 has no growth.
    assert_eq!(
        field(&f, "previous_year_count"),
        [json!(1), json!(1), json!(0), json!(0), json!(0), json!(0)]
    );
    assert_eq!(
        field(&f, "growth_pct"),
        [
            json!(100.0),
            json!(200.0),
            json!(null),
            json!(null),
            json!(null),
            json!(null)
        ]
    );

    // Cohort 2025-Q1: B and F reached lead in the quarter; by the as-of date both negotiated, B signed.
    let c = funnel(&app, "period=2025-Q1&kind=cohort&as_of=2025-03-31").await;
    assert_eq!(counts(&c), [2, 2, 1, 0, 0, 0]);
    assert_eq!(field(&c, "conversion")[1..4], [json!(1.0), json!(0.5), json!(0.0)]);
    // B 15 days and F 4 days: median 9.5, p90 (nearest rank of 2) 15; B signed 12 days after negotiating.
    assert_eq!(field(&c, "median_days")[1..3], [json!(9.5), json!(12.0)]);
    assert_eq!(field(&c, "p90_days")[1..3], [json!(15), json!(12)]);

    // The as-of date hides later events: by 2025-02-28 C had not signed.
    let early = funnel(&app, "period=2025-Q1&as_of=2025-02-28").await;
    assert_eq!(counts(&early), [2, 3, 2, 1, 0, 0]);

    // A period crossing the year: 2024-12-01..2025-01-31 has A's and B's leads, A's and B's negotiation, A's signing.
    let r = funnel(&app, "from=2024-12-01&to=2025-01-31&as_of=2025-03-31").await;
    assert_eq!(counts(&r), [2, 2, 1, 0, 0, 0]);
    // ISO weeks at the year boundary: 2025-W01 is 2024-12-30..2025-01-05 (B's lead); 2024-W51 is 12-16..12-22 (A's).
    let w = funnel(&app, "period=2025-W01&as_of=2025-03-31").await;
    assert_eq!(
        (w["period"]["from"].as_str(), w["period"]["to"].as_str()),
        (Some("2024-12-30"), Some("2025-01-05"))
    );
    assert_eq!(counts(&w), [1, 0, 0, 0, 0, 0]);
    assert_eq!(
        counts(&funnel(&app, "period=2024-W51&as_of=2025-03-31").await),
        [1, 0, 0, 0, 0, 0]
    );
    // Empty period: zeros, and no conversion or days anywhere.
    let empty = funnel(&app, "period=2023-Q1&as_of=2025-03-31").await;
    assert_eq!(counts(&empty), [0; 6]);
    assert!(
        field(&empty, "conversion")
            .iter()
            .chain(field(&empty, "median_days").iter())
            .all(Value::is_null)
    );

    // Broken down by industry: 新材料 = A and B, 智能制造 = C and F.
    let by = funnel(&app, "period=2025-Q1&as_of=2025-03-31&by=industry").await;
    let groups = group_counts(&by);
    assert_eq!(
        groups,
        [
            ("新材料".to_owned(), vec![1, 2, 2, 1, 0, 0]),
            ("智能制造".to_owned(), vec![1, 1, 1, 0, 0, 0]),
            ("电子信息".to_owned(), vec![0, 0, 0, 0, 0, 0]),
        ]
    );
    assert_eq!(counts(&by), [2, 3, 3, 1, 0, 0], "the total stays beside the groups");
    let by_source = funnel(&app, "period=2025-Q1&as_of=2025-03-31&by=source").await;
    assert_eq!(by_source["groups"][0]["key"], "other");
}

async fn kpis_compare_years_and_track_targets(app: TestApp) {
    let [a, ..] = hand_made_park(&app).await;
    let company = app.company("访客企业").await;
    for (date, n) in [
        ("2025-01-02", 5),
        ("2025-03-31", 7),
        ("2025-04-01", 9),
        ("2024-02-01", 4),
    ] {
        let (s, _) = app
            .post(
                "/api/v1/visits",
                json!({"visit_date": date, "headcount": n, "company_ids": [company]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    for (kind, date) in [("trip", "2025-02-10"), ("forum", "2025-03-01"), ("trip", "2024-03-01")] {
        app.post(
            "/api/v1/outreach",
            json!({"kind": kind, "city": "深圳", "start_date": date}),
        )
        .await;
    }
    for (date, amount) in [("2025-02-20", "100"), ("2025-04-01", "50"), ("2024-03-01", "80")] {
        app.post(
            &format!("/api/v1/projects/{a}/fund-arrivals"),
            json!({"arrived_on": date, "amount": amount}),
        )
        .await;
    }
    let blockers = [
        json!({"title": "b1", "category": "land", "opened_on": "2025-01-05", "due_date": "2025-01-20", "status": "resolved", "resolution": "ok", "resolved_on": "2025-01-25"}),
        json!({"title": "b2", "category": "land", "opened_on": "2025-02-01", "due_date": "2025-02-10"}),
        json!({"title": "b3", "category": "funds", "opened_on": "2024-12-01", "status": "resolved", "resolution": "ok", "resolved_on": "2025-01-11"}),
    ];
    for b in blockers {
        let (s, r) = app.post(&format!("/api/v1/projects/{a}/blockers"), b).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
    }
    app.post(
        "/api/v1/targets",
        json!({"year": 2025, "metric": "projects_signed", "value": 10}),
    )
    .await;
    app.post(
        "/api/v1/targets",
        json!({"year": 2025, "metric": "signed_investment", "value": "7000"}),
    )
    .await;

    let (s, k) = app.get("/api/v1/analytics/kpis?period=2025-Q1&as_of=2025-03-31").await;
    assert_eq!(s, StatusCode::OK, "{k}");
    // Visits on 01-02 (5) and 03-31 (7); 2024-Q1 had one visit of 4: +100% batches, +200% person-times.
    assert_eq!(
        k["visit_batches"],
        json!({"value": 2, "previous": 1, "growth_pct": 100.0})
    );
    assert_eq!(
        k["person_times"],
        json!({"value": 12, "previous": 4, "growth_pct": 200.0})
    );
    assert_eq!(
        k["outreach_total"],
        json!({"value": 2, "previous": 1, "growth_pct": 100.0})
    );
    assert_eq!(k["projects_negotiating"]["value"], 3);
    assert_eq!(
        k["projects_signed"],
        json!({"value": 3, "previous": 0, "growth_pct": null}),
        "zero base: no growth"
    );
    // Signed in the quarter: A 1000 + B 2000 + C 500 万元. Funds: 100 in the quarter (50 comes later), 80 a year before.
    assert_eq!(
        k["signed_investment"],
        json!({"value": "3500", "previous": "0", "growth_pct": null})
    );
    assert_eq!(
        k["funds_arrived"],
        json!({"value": "100", "previous": "80", "growth_pct": 25.0})
    );
    // Blockers: b1 and b2 raised in the quarter; b1 (20 days) and b3 (41 days) resolved in it: median 30.5;
    // b2 still open at the end and past its due date.
    assert_eq!(
        k["blockers"],
        json!({"category": "all", "opened": 2, "resolved": 2, "open_at_end": 1, "overdue": 1, "median_days_to_resolve": 30.5})
    );
    let land = k["blockers_by_category"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "land")
        .unwrap();
    assert_eq!(
        (
            land["opened"].as_i64(),
            land["resolved"].as_i64(),
            land["overdue"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
    // Targets of 2025 at 2025-03-31: 3 of 10 signed, 3500 of 7000 万元; 90 of 365 days gone.
    let targets = k["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0]["metric"], "projects_signed");
    assert_eq!(
        (targets[0]["actual"].as_str(), targets[0]["progress"].as_f64()),
        (Some("3"), Some(0.3))
    );
    assert_eq!(
        (targets[1]["actual"].as_str(), targets[1]["progress"].as_f64()),
        (Some("3500"), Some(0.5))
    );
    assert_eq!(targets[0]["time_progress"].as_f64(), Some(90.0 / 365.0));

    // An empty period a year back: zeros and no growth.
    let (_, old) = app.get("/api/v1/analytics/kpis?period=2023&as_of=2025-03-31").await;
    assert_eq!(
        old["visit_batches"],
        json!({"value": 0, "previous": 0, "growth_pct": null})
    );
    assert_eq!(old["targets"], json!([]));
}

async fn incubation_funnels_by_cohort_year(app: TestApp) {
    for (name, year, steps) in [
        ("甲", 2025, vec![("approved", "2025-03-01", None)]),
        (
            "乙",
            2025,
            vec![
                ("applied", "2025-02-01", None),
                ("failed", "2025-02-20", Some("不达标")),
            ],
        ),
        ("丙", 2024, vec![("applied", "2025-01-15", None)]),
    ] {
        let c = app.company(name).await;
        let first = if year == 2025 { "2025-01-10" } else { "2024-03-01" };
        let (s, cand) = app
            .post(
                "/api/v1/incubation",
                json!({"company_id": c, "cohort_year": year, "occurred_on": first}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{cand}");
        for (stage, date, reason) in steps {
            let (s, e) = app
                .post(
                    &format!("/api/v1/incubation/{}/stage-events", cand["id"]),
                    json!({"stage": stage, "occurred_on": date, "reason": reason}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{e}");
        }
    }
    // 2025-Q1 flow: cultivating 甲, 乙 (01-10); applied 甲 (skipped, 03-01), 乙 (02-01), 丙 (01-15); approved 甲.
    let f = funnel(
        &app,
        "period=2025-Q1&pipeline=incubation&as_of=2025-03-31&by=cohort_year",
    )
    .await;
    assert_eq!(counts(&f), [2, 3, 1, 0]);
    let groups: Vec<(String, Vec<i64>)> = f["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap().to_owned(), counts(g)))
        .collect();
    assert_eq!(
        groups,
        [
            ("2024".to_owned(), vec![0, 1, 0, 0]),
            ("2025".to_owned(), vec![2, 2, 1, 0])
        ]
    );
    let c = funnel(&app, "period=2025-Q1&pipeline=incubation&kind=cohort&as_of=2025-03-31").await;
    assert_eq!(
        counts(&c),
        [2, 2, 1, 0],
        "乙 failed after applying and still counts as applied"
    );
}

async fn the_demo_park_half_year_is_reproduced(app: TestApp) {
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let f = funnel(&app, "period=2024-H1&as_of=2024-12-31").await;
    assert_eq!(
        &counts(&f)[1..],
        [25, 9, 5, 5, 3],
        "具体洽谈25个, 签约9个, 落地5个, 开工5个, 投产3个"
    );
    let (s, k) = app.get("/api/v1/analytics/kpis?period=2024-H1&as_of=2024-12-31").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            k["visit_batches"]["value"].as_i64(),
            k["person_times"]["value"].as_i64()
        ),
        (Some(42), Some(278))
    );
    let trips = k["outreach_by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["kind"] == "trip")
        .unwrap();
    assert_eq!(
        (trips["count"]["value"].as_i64(), k["outreach_total"]["value"].as_i64()),
        (Some(15), Some(15))
    );
    assert!(k["blockers"]["resolved"].as_i64().unwrap() > 200);
    let inc: Vec<i64> = [
        "incubation_cultivating",
        "incubation_applied",
        "incubation_approved",
        "incubation_filed",
    ]
    .iter()
    .map(|m| k[*m]["value"].as_i64().unwrap())
    .collect();
    assert_eq!(inc, [5, 3, 3, 3]);
    // 实施重大项目建设58个，总投资额达到98亿元.
    assert_eq!(
        (
            k["major_projects"]["value"].as_i64(),
            k["major_investment"]["value"].as_str()
        ),
        (Some(58), Some("980000"))
    );
    // 为企业争取扶持资金7590万元, against 3800万元 in 2023-H1.
    assert_eq!(
        k["support_funds"],
        json!({"value": "7590", "previous": "3800", "growth_pct": 99.7})
    );
    for m in [
        "projects_negotiating",
        "projects_signed",
        "projects_landed",
        "projects_started",
        "projects_producing",
    ] {
        let i = [
            "",
            "projects_negotiating",
            "projects_signed",
            "projects_landed",
            "projects_started",
            "projects_producing",
        ]
        .iter()
        .position(|x| x == &m)
        .unwrap();
        assert_eq!(
            k[m]["value"].as_i64(),
            Some(counts(&f)[i]),
            "KPIs and funnel agree on {m}"
        );
    }
}

async fn analytics_rejects_bad_questions(app: TestApp) {
    for q in [
        "",
        "period=2024-H3",
        "period=2024&from=2024-01-01&to=2024-02-01",
        "from=2024-03-01&to=2024-02-01",
        "from=2024-03-01",
    ] {
        assert_error(
            &app.get(&format!("/api/v1/analytics/funnel?{q}")).await,
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("period"),
        );
    }
    assert_error(
        &app.get("/api/v1/analytics/funnel?period=2024&by=cohort_year").await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("by"),
    );
    assert_error(
        &app.get("/api/v1/analytics/funnel?period=2024&kind=sideways").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        Some("kind"),
    );
    assert_error(
        &app.get("/api/v1/analytics/kpis?period=x").await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("period"),
    );
    assert_error(
        &app.anonymous().get("/api/v1/analytics/kpis?period=2024").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        None,
    );
    assert_error(
        &app.get("/api/v1/analytics/snapshots/latest").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_eq!(
        app.as_user("viewer").get("/api/v1/analytics/kpis?period=2024").await.0,
        StatusCode::OK
    );
    assert_error(
        &app.as_user("viewer").get("/api/v1/jobs/runs").await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
}

/// A project to make: name, major, agreed investment (万元), history.
type Spec<'a> = (&'a str, bool, &'a str, Vec<(&'a str, &'a str, Option<&'a str>)>);

async fn major_projects_are_those_worked_on_in_the_period(app: TestApp) {
    // All major but G; agreed investment in 万元, powers of two so every sum names its projects.
    // A lead 2023-05-10: worked on in both halves.
    // B lead 2023-05-10, dropped 2023-10-01: dropped all through 2024-H1; in 2023-H1.
    // C like B, reopened 2024-02-01: counts in 2024-H1 (a move in the period) and in 2023-H1.
    // D lead 2022-03-01, producing 2023-12-01: producing before 2024; in 2023-H1.
    // E lead 2022-06-01, producing 2024-03-01: in both.
    // F lead 2024-07-01: first recorded after 2024-H1.  G not major.  H lead 2024-02-01, dropped 2024-05-01: 2024-H1.
    let dropped = |d| ("dropped", d, Some("企业投资计划调整"));
    let specs: [Spec; 8] = [
        ("A", true, "1000", vec![("lead", "2023-05-10", None)]),
        (
            "B",
            true,
            "2000",
            vec![("lead", "2023-05-10", None), dropped("2023-10-01")],
        ),
        (
            "C",
            true,
            "4000",
            vec![
                ("lead", "2023-05-10", None),
                dropped("2023-10-01"),
                ("negotiating", "2024-02-01", Some("重新洽谈")),
            ],
        ),
        (
            "D",
            true,
            "8000",
            vec![("lead", "2022-03-01", None), ("producing", "2023-12-01", None)],
        ),
        (
            "E",
            true,
            "16000",
            vec![("lead", "2022-06-01", None), ("producing", "2024-03-01", None)],
        ),
        ("F", true, "32000", vec![("lead", "2024-07-01", None)]),
        ("G", false, "64000", vec![("lead", "2024-01-10", None)]),
        (
            "H",
            true,
            "128000",
            vec![("lead", "2024-02-01", None), dropped("2024-05-01")],
        ),
    ];
    for (name, major, agreed, history) in &specs {
        let id = project(&app, name, "新材料", Some(agreed), history).await;
        let (s, p) = app.get(&format!("/api/v1/projects/{id}")).await;
        assert_eq!(s, StatusCode::OK);
        let (s, e) = app
            .patch(
                &format!("/api/v1/projects/{id}"),
                json!({"version": p["version"], "is_major": major}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{e}");
    }
    let (s, k) = app.get("/api/v1/analytics/kpis?period=2024-H1&as_of=2024-12-31").await;
    assert_eq!(s, StatusCode::OK, "{k}");
    // 2024-H1: A, C, E, H = 4, 1000 + 4000 + 16000 + 128000 = 149000; 2023-H1: A, B, C, D, E = 5, 31000.
    assert_eq!(
        k["major_projects"],
        json!({"value": 4, "previous": 5, "growth_pct": -20.0})
    );
    assert_eq!(k["major_investment"]["value"], "149000");
    assert_eq!(k["major_investment"]["previous"], "31000");
    // The whole of 2023: B and C were worked on until October, D until December; F and H not yet recorded.
    let (_, y) = app.get("/api/v1/analytics/kpis?period=2023&as_of=2024-12-31").await;
    assert_eq!(y["major_projects"]["value"], 5);
    // The KPI table of the exports carries the new lines.
    let (s, rows) = app
        .get("/api/v1/exports/kpis?period=2024-H1&as_of=2024-12-31&format=json")
        .await;
    assert_eq!(s, StatusCode::OK, "{rows}");
    let row = |m: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["metric"] == m)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        (
            row("major_projects")["value"].clone(),
            row("major_investment")["value"].clone()
        ),
        (json!(4), json!("149000"))
    );
}

async fn support_funds_are_summed_by_approval_date(app: TestApp) {
    let a = app.company("甲公司").await;
    let b = app.company("乙公司").await;
    let fund = |company: i64, level: &str, amount: &str, on: &str| json!({"company_id": company, "programme": "技术改造专项资金", "level": level, "amount": amount, "approved_on": on});
    // 2024-H1: 1000 + 500.5 (the last day counts); 300 on 07-01 is the next half; 2023-H1: 400.
    for body in [
        fund(a, "provincial", "1000", "2024-03-01"),
        fund(b, "district", "500.5", "2024-06-30"),
        fund(a, "city", "300", "2024-07-01"),
        fund(b, "national", "400", "2023-02-01"),
    ] {
        let (s, f) = app.post("/api/v1/support-funds", body).await;
        assert_eq!(s, StatusCode::CREATED, "{f}");
    }
    let (_, k) = app.get("/api/v1/analytics/kpis?period=2024-H1&as_of=2024-12-31").await;
    // (1500.5 - 400) / 400 = +275.1%.
    assert_eq!(
        k["support_funds"],
        json!({"value": "1500.5", "previous": "400", "growth_pct": 275.1})
    );

    // The list filters by company, level and approval date; the record carries its company's name.
    let (_, l) = app
        .get(&format!(
            "/api/v1/support-funds?company_id={a}&from=2024-01-01&to=2024-06-30"
        ))
        .await;
    assert_eq!(l["total"], 1, "{l}");
    assert_eq!(
        (l["items"][0]["company_name"].clone(), l["items"][0]["amount"].clone()),
        (json!("甲公司"), json!("1000"))
    );
    let (_, l) = app.get("/api/v1/support-funds?level=national").await;
    assert_eq!(l["total"], 1);
    // Rules: an amount above zero, a company that exists; a stale version is refused.
    assert_error(
        &app.post("/api/v1/support-funds", fund(a, "city", "0", "2024-01-02"))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("amount"),
    );
    assert_error(
        &app.post("/api/v1/support-funds", fund(999_999, "city", "1", "2024-01-02"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_company",
        Some("company_id"),
    );
    let id = l["items"][0]["id"].as_i64().unwrap();
    let (s, f) = app
        .patch(
            &format!("/api/v1/support-funds/{id}"),
            json!({"version": 1, "amount": "450"}),
        )
        .await;
    assert_eq!((s, f["amount"].clone()), (StatusCode::OK, json!("450")));
    assert_error(
        &app.patch(
            &format!("/api/v1/support-funds/{id}"),
            json!({"version": 1, "amount": "9"}),
        )
        .await,
        StatusCode::CONFLICT,
        "stale_version",
        Some("version"),
    );
    // The summary writes the period's sum in 万元; the export lists the funds.
    let text = summary_2024_h1(&app).await;
    assert!(text.contains("为企业争取扶持资金1500.5万元"), "{text}");
    let (s, rows) = app.get("/api/v1/exports/support-funds?format=json").await;
    assert_eq!((s, rows.as_array().map(Vec::len)), (StatusCode::OK, Some(4)), "{rows}");
    let (s, _) = app.delete(&format!("/api/v1/support-funds/{id}?version=2")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

async fn above_size_companies_count_when_they_became_so(app: TestApp) {
    // 甲 became above-size on 2024-03-01, 乙 on 2024-06-30 (the last day counts), 丙 on 2024-07-01 (the next half),
    // 丁 on 2023-04-01; 戊 never. 2024-H1: 甲, 乙 = 2 against 丁 = 1.
    for (name, since) in [
        ("甲公司", Some("2024-03-01")),
        ("乙公司", Some("2024-06-30")),
        ("丙公司", Some("2024-07-01")),
        ("丁公司", Some("2023-04-01")),
        ("戊公司", None),
    ] {
        let (s, c) = app
            .post("/api/v1/companies", json!({"name": name, "above_size_since": since}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        assert_eq!(c["above_size_since"], json!(since));
    }
    let (_, k) = app.get("/api/v1/analytics/kpis?period=2024-H1&as_of=2024-12-31").await;
    assert_eq!(
        k["new_above_size"],
        json!({"value": 2, "previous": 1, "growth_pct": 100.0})
    );
    // The date is changed or cleared like any field; the summary names the companies of the period.
    let (_, list) = app.get("/api/v1/companies?q=戊").await;
    let wu = &list["items"][0];
    let (s, c) = app
        .patch(
            &format!("/api/v1/companies/{}", wu["id"]),
            json!({"version": wu["version"], "above_size_since": "2024-05-05"}),
        )
        .await;
    assert_eq!(
        (s, c["above_size_since"].clone()),
        (StatusCode::OK, json!("2024-05-05"))
    );
    let text = summary_2024_h1(&app).await;
    assert!(
        text.contains("新增规模以上工业企业3家（甲公司、戊公司、乙公司）"),
        "{text}"
    );
}

async fn foreign_capital_is_kept_in_dollars_and_counted_apart(app: TestApp) {
    // A is 内资, B 外资, C 港澳台资; an arrival takes its project's origin.
    let mut ids = Vec::new();
    for (name, origin) in [
        ("甲项目", "domestic"),
        ("乙项目", "foreign"),
        ("丙项目", "hong_kong_macao_taiwan"),
    ] {
        let c = app.company(&format!("{name}公司")).await;
        let (s, p) = app
            .post(
                "/api/v1/projects",
                json!({"name": name, "company_id": c, "stage": "signed", "occurred_on": "2023-01-05", "capital_origin": origin}),
            )
            .await;
        assert_eq!(
            (s, p["capital_origin"].as_str()),
            (StatusCode::CREATED, Some(origin)),
            "{p}"
        );
        ids.push(p["id"].as_i64().unwrap());
    }
    let arrive = |i: usize, body: Value| {
        let url = format!("/api/v1/projects/{}/fund-arrivals", ids[i]);
        let app = &app;
        async move { app.post(&url, body).await }
    };
    // A: 100 万元 in 2024-H1, 80 in 2023-H1.
    for (on, amount) in [("2024-02-10", "100"), ("2023-03-01", "80")] {
        let (s, f) = arrive(0, json!({"arrived_on": on, "amount": amount})).await;
        assert_eq!(
            (s, f["capital_origin"].as_str()),
            (StatusCode::CREATED, Some("domestic")),
            "{f}"
        );
    }
    // B: 12.5 万美元 at 7.1 = 887 500 yuan = 88.75 万元; 10 万美元 at 6.9 = 69 万元 in 2023-H1.
    let (s, b) = arrive(
        1,
        json!({"arrived_on": "2024-03-05", "amount_usd": "12.5", "usd_rate": "7.1"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(
        (&b["capital_origin"], &b["amount"], &b["amount_usd"], &b["usd_rate"]),
        (&json!("foreign"), &json!("88.75"), &json!("12.5"), &json!("7.1"))
    );
    let (s, _) = arrive(
        1,
        json!({"arrived_on": "2023-04-01", "amount_usd": "10", "usd_rate": "6.9"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // C: 12 345.67 美元 at 7.2034 = 88 930.80 yuan, kept as 88 931; the ledger's rounded 8.89 万元 agrees within 0.5%.
    let (s, c) = arrive(
        2,
        json!({"arrived_on": "2024-05-20", "amount_usd": "1.234567", "usd_rate": "7.2034", "amount": "8.89"}),
    )
    .await;
    assert_eq!(
        (s, &c["amount"], &c["amount_usd"]),
        (StatusCode::CREATED, &json!("8.8931"), &json!("1.234567")),
        "{c}"
    );

    // What is refused, each naming its field.
    let cases = [
        (
            1,
            json!({"arrived_on": "2024-03-06", "amount": "50"}),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            "amount_usd",
        ),
        (
            0,
            json!({"arrived_on": "2024-03-06", "amount_usd": "1"}),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            "usd_rate",
        ),
        (
            0,
            json!({"arrived_on": "2024-03-06", "capital_origin": "domestic", "amount_usd": "1", "usd_rate": "7"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "dollars_on_domestic",
            "amount_usd",
        ),
        (
            1,
            json!({"arrived_on": "2024-03-06", "amount_usd": "1", "usd_rate": "7.12345"}),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            "usd_rate",
        ),
        (
            1,
            json!({"arrived_on": "2024-03-06", "amount_usd": "0.0000001", "usd_rate": "7"}),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            "amount_usd",
        ),
        (
            1,
            json!({"arrived_on": "2024-03-06", "amount_usd": "1", "usd_rate": "7", "amount": "8"}),
            StatusCode::BAD_REQUEST,
            "invalid_value",
            "amount",
        ),
    ];
    for (i, body, status, code, field) in cases {
        assert_error(&arrive(i, body).await, status, code, Some(field));
    }

    // 2024-H1: every origin 100 + 88.75 + 8.8931 = 197.6431 against 80 + 69 = 149 (+32.6%); 内资 100 against 80
    // (+25.0%); 实际利用外资 12.5 + 1.234567 = 13.734567 万美元 against 10 (+37.3%).
    let (_, k) = app.get("/api/v1/analytics/kpis?period=2024-H1&as_of=2024-12-31").await;
    assert_eq!(
        k["funds_arrived"],
        json!({"value": "197.6431", "previous": "149", "growth_pct": 32.6})
    );
    assert_eq!(
        k["domestic_funds"],
        json!({"value": "100", "previous": "80", "growth_pct": 25.0})
    );
    assert_eq!(
        k["foreign_funds"],
        json!({"value": "13.734567", "previous": "10", "growth_pct": 37.3})
    );
    let (s, rows) = app
        .get("/api/v1/exports/kpis?period=2024-H1&as_of=2024-12-31&format=json")
        .await;
    assert_eq!(s, StatusCode::OK, "{rows}");
    let foreign = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == "foreign_funds")
        .cloned();
    assert_eq!(
        foreign.map(|r| (r["value"].clone(), r["previous"].clone())),
        Some((json!("13.734567"), json!("10")))
    );
    let text = summary_2024_h1(&app).await;
    assert!(text.contains("实际利用外资13.73万美元（同比增长37.3%）"), "{text}");
    assert!(text.contains("其中内资到位0.01亿元（同比增长25.0%）"), "{text}");

    // B's arrival turned 内资 keeps its yuan and drops the dollars; the list filters projects by origin.
    let (s, f) = app
        .patch(
            &format!("/api/v1/fund-arrivals/{}", b["id"]),
            json!({"version": 1, "capital_origin": "domestic"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_eq!(
        (&f["amount"], &f["amount_usd"], &f["usd_rate"]),
        (&json!("88.75"), &Value::Null, &Value::Null)
    );
    let (_, l) = app.get("/api/v1/projects?capital_origin=hong_kong_macao_taiwan").await;
    assert_eq!(
        (l["total"].as_i64(), l["items"][0]["name"].as_str()),
        (Some(1), Some("丙项目"))
    );
}

/// The bench park's histories skip stages, move back, drop, reopen and run past the as-of date; on them the API's
/// flow funnel of several periods, in all and by province, equals the one SQL query an analyst would write from
/// DEFINITIONS.md.
async fn the_engine_agrees_with_one_sql_query_on_histories_that_use_every_rule(app: TestApp) {
    app.synthetic_projects(3000).await;
    let as_of = chrono::NaiveDate::from_ymd_opt(2024, 9, 30).unwrap();
    for label in ["2022", "2023-H2", "2024-Q2", "2024-09", "2024-W30"] {
        let period = jobs::period::Period::parse(label).unwrap();
        let (peer, _) = invest_crm::bench::sql_peer_funnel(&app.db, &period, as_of, None)
            .await
            .unwrap();
        let peer = &peer[0].1;
        let (s, f) = app
            .get(&format!("/api/v1/analytics/funnel?period={label}&as_of={as_of}"))
            .await;
        assert_eq!(s, StatusCode::OK, "{f}");
        let ours: Vec<i64> = f["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["count"].as_i64().unwrap())
            .collect();
        assert_eq!(&ours, peer, "{label}");
        assert!(peer[0] > 0, "{label}: the period has leads");
        // Per province, as the analyst would join the projects' companies.
        let (peer, _) =
            invest_crm::bench::sql_peer_funnel(&app.db, &period, as_of, Some(jobs::analytics::Breakdown::Province))
                .await
                .unwrap();
        let (s, f) = app
            .get(&format!(
                "/api/v1/analytics/funnel?period={label}&as_of={as_of}&by=province"
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{f}");
        assert_eq!(group_counts(&f), peer, "{label} by province");
        assert!(peer.len() > 1, "{label}: several provinces");
    }
}

/// The KPIs (the API's, 工作台's, the weekly report's) read only what they use: no attribute a breakdown reads, the
/// stage events of the 重大项目 only, and no visit, outreach, money or blocker that counts in no period from the
/// previous year's on; an on-demand project funnel is counted by the database from the kept reach dates. On the bench
/// park's histories (skips, backward moves, drops, reopens) and on the demo park, both equal those computed from
/// everything the nightly job reads, for periods of every kind, as-of dates inside and after them, every breakdown
/// and a staffer's part of the records.
async fn kpis_and_funnels_from_their_own_reads_equal_those_from_everything(app: TestApp) {
    use entity::visible::Visible;
    use jobs::analytics::{Analytics, Breakdown, FunnelKind, Pipeline, Scope, load, load_kpis, project_funnel};
    use sea_orm::{EntityTrait, QuerySelect};
    let size = invest_crm::bench::Size {
        projects: 1500,
        visits: 2000,
        blockers: 400,
        candidates: 100,
    };
    invest_crm::bench::generate(&app.db, size).await.unwrap();
    let cases = [
        ("2024-H1", "2024-12-31"),
        ("2024", "2024-09-30"),
        ("2023-Q4", "2024-06-30"),
        ("2024-W30", "2024-07-28"),
        ("2024-W01", "2024-01-07"),
        ("2023-02", "2023-02-20"),
    ];
    for park in ["bench", "demo"] {
        if park == "demo" {
            invest_crm::demo::seed(&app.db, true).await.unwrap();
        }
        let (mut majors, mut visits, mut days, mut incubated) = (0, 0, 0, 0);
        for (label, as_of) in cases {
            let period = jobs::period::Period::parse(label).unwrap();
            let as_of: chrono::NaiveDate = as_of.parse().unwrap();
            let mut figures = Vec::new();
            for scope in [Scope::All, Scope::Kpis(period.previous_year().from)] {
                let raw = load(&app.db, as_of, scope, &entity::visible::Visible::All)
                    .await
                    .unwrap();
                let p = period.clone();
                let k = tokio::task::spawn_blocking(move || Analytics::build(raw).unwrap().kpis(&p).unwrap())
                    .await
                    .unwrap();
                figures.push(serde_json::to_value(k).unwrap());
            }
            // Counted by the database: the projects' and blockers' figures of this period only, and the months of the
            // home page of its year.
            let year = chrono::Datelike::year(&period.to);
            let months = jobs::analytics::months_of(year, 12).unwrap();
            let raw = load_kpis(&app.db, as_of, (std::slice::from_ref(&period), &months), &Visible::All)
                .await
                .unwrap();
            let (p, everything) = (period.clone(), load(&app.db, as_of, Scope::All, &Visible::All));
            let everything = Analytics::build(everything.await.unwrap()).unwrap();
            let (k, m) = tokio::task::spawn_blocking(move || {
                let a = Analytics::build(raw).unwrap();
                // A period the database did not count is refused, not answered with zeros.
                let other = p.previous_year().previous_year();
                assert!(a.kpis(&other).is_err(), "the KPIs of {} were not counted", other.label);
                (a.kpis(&p).unwrap(), a.months(year, 12).unwrap())
            })
            .await
            .unwrap();
            figures.push(serde_json::to_value(k).unwrap());
            assert_eq!(
                m,
                everything.months(year, 12).unwrap(),
                "{park} {year}'s months as of {as_of}"
            );
            assert_eq!(figures[0], figures[1], "{park} {label} as of {as_of}");
            assert_eq!(
                figures[0], figures[2],
                "{park} {label} as of {as_of}, counted by the database"
            );
            majors += figures[0]["major_projects"]["value"].as_i64().unwrap();
            visits += figures[0]["visit_batches"]["value"].as_i64().unwrap();
            incubated += ["incubation_cultivating", "incubation_applied", "incubation_filed"]
                .iter()
                .map(|k| figures[0][k]["value"].as_i64().unwrap())
                .sum::<i64>();
            let all = load(&app.db, as_of, Scope::All, &entity::visible::Visible::All)
                .await
                .unwrap();
            let all = Analytics::build(all).unwrap();
            for by in [
                None,
                Some(Breakdown::Industry),
                Some(Breakdown::Source),
                Some(Breakdown::Province),
                Some(Breakdown::ContactLeader),
            ] {
                for kind in [FunnelKind::Flow, FunnelKind::Cohort] {
                    let visible = entity::visible::Visible::All;
                    let (a, b) = (
                        all.funnel(Pipeline::Projects, kind, &period, by).unwrap(),
                        project_funnel(&app.db, as_of, (kind, &period, by), &visible)
                            .await
                            .unwrap(),
                    );
                    assert_eq!(a, b, "{park} {label} as of {as_of} by {by:?} {kind:?}");
                    assert!(by.is_none() || a.stages[0].count == 0 || !a.groups.is_empty());
                    days += a.groups.iter().filter(|g| g.stages[2].median_days.is_some()).count();
                }
            }
        }
        // Part of the records (a department's owners and the unowned; the bench park's projects have no owner): the
        // same figures as the engine's over them.
        if park == "demo" {
            let owners: Vec<i64> = entity::project::Entity::find()
                .select_only()
                .column(entity::project::Column::OwnerId)
                .distinct()
                .into_tuple::<Option<i64>>()
                .all(&app.db)
                .await
                .unwrap()
                .into_iter()
                .flatten()
                .step_by(2)
                .collect();
            assert!(!owners.is_empty(), "{park}: projects have owners");
            let part = entity::visible::Visible::Owners(owners);
            let as_of = chrono::NaiveDate::from_ymd_opt(2024, 9, 30).unwrap();
            let seen = Analytics::build(load(&app.db, as_of, Scope::All, &part).await.unwrap()).unwrap();
            for label in ["2024-H1", "2023"] {
                let period = jobs::period::Period::parse(label).unwrap();
                let raw = load_kpis(&app.db, as_of, (std::slice::from_ref(&period), &[]), &part)
                    .await
                    .unwrap();
                assert_eq!(
                    seen.kpis(&period).unwrap(),
                    Analytics::build(raw).unwrap().kpis(&period).unwrap(),
                    "{park} {label}: KPIs counted by the database, part of the records"
                );
                for kind in [FunnelKind::Flow, FunnelKind::Cohort] {
                    for by in [None, Some(Breakdown::Province), Some(Breakdown::ContactLeader)] {
                        assert_eq!(
                            seen.funnel(Pipeline::Projects, kind, &period, by).unwrap(),
                            project_funnel(&app.db, as_of, (kind, &period, by), &part)
                                .await
                                .unwrap(),
                            "{park} {label} {kind:?} {by:?}, part of the records"
                        );
                    }
                }
            }
        }
        assert!(
            majors > 0 && visits > 0 && days > 0 && incubated > 0,
            "{park}: some 重大项目 were worked on, some visits made, some groups signed with their days, some \
             candidates moved"
        );
        // The nightly job counts every funnel of its periods ahead, several periods in one pass: the same figures.
        let as_of = chrono::NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
        let periods = jobs::nightly::standard_periods(as_of);
        let raw = || load(&app.db, as_of, Scope::All, &entity::visible::Visible::All);
        let (ahead, one_by_one) = (
            Analytics::build(raw().await.unwrap()).unwrap(),
            Analytics::build(raw().await.unwrap()).unwrap(),
        );
        ahead.count_ahead(&periods).unwrap();
        let mut groups = 0;
        for p in &periods {
            assert_eq!(
                ahead.kpis(p).unwrap(),
                one_by_one.kpis(p).unwrap(),
                "{park} {}",
                p.label
            );
            for kind in [FunnelKind::Flow, FunnelKind::Cohort] {
                let projects = Breakdown::PROJECTS.map(|b| (Pipeline::Projects, Some(b)));
                let incubation = Breakdown::INCUBATION.map(|b| (Pipeline::Incubation, Some(b)));
                let all = [(Pipeline::Projects, None), (Pipeline::Incubation, None)];
                for (pipeline, by) in all.into_iter().chain(projects).chain(incubation) {
                    let (a, b) = (
                        ahead.funnel(pipeline, kind, p, by).unwrap(),
                        one_by_one.funnel(pipeline, kind, p, by).unwrap(),
                    );
                    assert_eq!(a, b, "{park} {} {kind:?} {pipeline:?} {by:?}", p.label);
                    groups += a.groups.len();
                }
            }
        }
        assert!(groups > 100, "{park}: the breakdowns have groups ({groups})");
    }
}
