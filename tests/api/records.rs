//! Follow-ups and fund arrivals under a project.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    db_test,
    support::{TestApp, assert_error},
};

db_test!(
    fund_arrivals_sum_into_the_project,
    follow_ups_are_recorded_and_versioned
);

async fn fund_arrivals_sum_into_the_project(app: TestApp) {
    let p = app.project("福美新材料生产基地", "signed", "2024-01-05").await;
    let id = p["id"].as_i64().unwrap();
    let base = format!("/api/v1/projects/{id}/fund-arrivals");
    let mut ids = vec![];
    for (date, amount) in [
        ("2024-02-01", json!("1200.5")),
        ("2024-03-01", json!(800)),
        ("2024-04-01", json!("0.0001")),
    ] {
        let (s, f) = app.post(&base, json!({"arrived_on": date, "amount": amount})).await;
        assert_eq!(s, StatusCode::CREATED, "{f}");
        ids.push(f["id"].as_i64().unwrap());
    }
    let (_, got) = app.get(&format!("/api/v1/projects/{id}")).await;
    assert_eq!(got["funds_arrived"], "2000.5001", "exact sum in 万元");
    assert_eq!(
        got["agreed_investment"],
        Value::Null,
        "funds arrived is not the agreed investment"
    );

    for (amount, why) in [
        (json!("0"), "zero"),
        (json!("-5"), "negative"),
        (json!("1.00001"), "below a yuan"),
    ] {
        let got = app
            .post(&base, json!({"arrived_on": "2024-05-01", "amount": amount}))
            .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_value", Some("amount"));
        assert!(!why.is_empty());
    }
    assert_error(
        &app.post(&base, json!({"arrived_on": "1980-01-01", "amount": "1"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("arrived_on"),
    );
    assert_error(
        &app.post(
            "/api/v1/projects/777777/fund-arrivals",
            json!({"arrived_on": "2024-05-01", "amount": "1"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    let (_, list) = app.get(&base).await;
    assert_eq!(list["total"], 3);
    assert_eq!(list["items"][0]["arrived_on"], "2024-04-01", "newest first");

    let path = format!("/api/v1/fund-arrivals/{}", ids[1]);
    let (s, f) = app.patch(&path, json!({"version": 1, "amount": "1000"})).await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_error(
        &app.patch(&path, json!({"version": 1, "amount": "5"})).await,
        StatusCode::CONFLICT,
        "stale_version",
        None,
    );
    let (s, _) = app.delete(&format!("/api/v1/fund-arrivals/{}?version=1", ids[0])).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, got) = app.get(&format!("/api/v1/projects/{id}")).await;
    assert_eq!(got["funds_arrived"], "1000.0001");
}

async fn follow_ups_are_recorded_and_versioned(app: TestApp) {
    let p = app.project("华元通", "negotiating", "2024-01-05").await;
    let id = p["id"].as_i64().unwrap();
    let base = format!("/api/v1/projects/{id}/follow-ups");
    let (s, f) = app
        .post(
            &base,
            json!({"occurred_on": "2024-01-10", "kind": "site_visit", "note": "陪同考察厂房",
                   "next_step": "报送供地方案", "next_date": "2024-01-20"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let fid = f["id"].as_i64().unwrap();
    let (s, _) = app
        .post(
            &base,
            json!({"occurred_on": "2024-02-10", "kind": "call", "note": "电话沟通"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    assert_error(
        &app.post(
            &base,
            json!({"occurred_on": "2024-02-10", "kind": "call", "note": "x", "next_date": "2024-02-09"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("next_date"),
    );
    assert_error(
        &app.post(&base, json!({"occurred_on": "2024-02-10", "kind": "call", "note": " "}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("note"),
    );
    assert_error(
        &app.post(
            &base,
            json!({"occurred_on": "2024-02-10", "kind": "email", "note": "x"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
        None,
    );

    let (_, list) = app.get(&base).await;
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["kind"], "call", "newest first");

    let path = format!("/api/v1/follow-ups/{fid}");
    // Moving the date past the next step is refused against the stored next_date.
    assert_error(
        &app.patch(&path, json!({"version": 1, "occurred_on": "2024-01-25"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("next_date"),
    );
    let (s, u) = app
        .patch(
            &path,
            json!({"version": 1, "occurred_on": "2024-01-25", "next_date": null}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["next_date"], Value::Null);
    assert_eq!(u["next_step"], "报送供地方案");
    assert_error(
        &app.patch(&path, json!({"version": 1, "note": "x"})).await,
        StatusCode::CONFLICT,
        "stale_version",
        None,
    );
    let (s, _) = app.delete(&format!("{path}?version=2")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, list) = app.get(&base).await;
    assert_eq!(list["total"], 1);
}
