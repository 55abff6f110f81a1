//! Bad input gets a JSON error with a machine code, never a 500; health, readiness and the API docs.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{
    db_test,
    support::{TestApp, assert_error},
};

db_test!(
    malformed_requests_get_json_errors,
    messages_follow_accept_language,
    health_readiness_and_docs,
);

async fn malformed_requests_get_json_errors(app: TestApp) {
    let json_ct = [("content-type", "application/json")];
    for body in ["{\"name\":", "[]", "\"x\"", "{\"name\": {\"a\": 1}}", ""] {
        let got = app
            .call_with(Method::POST, "/api/v1/companies", &json_ct, Some(body))
            .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "malformed_request", None);
    }
    assert_error(
        &app.post("/api/v1/companies", json!({"name": "x", "nmae": "typo"}))
            .await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
        Some("nmae"),
    );
    assert_error(
        &app.call_with(
            Method::POST,
            "/api/v1/companies",
            &[("content-type", "text/plain")],
            Some("name=x"),
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        None,
    );
    assert_error(
        &app.post("/api/v1/companies", json!({"name": "企".repeat(201)})).await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("name"),
    );
    assert_error(
        &app.get("/api/v1/companies/abc").await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
        None,
    );
    assert_error(
        &app.get("/api/v1/companies/99999999999999999999").await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
        None,
    );
    assert_error(
        &app.get("/api/v1/no-such-thing").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &app.get("/api/v1/projects/0").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &app.call(Method::PUT, "/api/v1/projects/1", Some(json!({}))).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        None,
    );
    assert_error(
        &app.delete("/api/v1/projects/1").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        Some("version"),
    );
    assert_error(
        &app.post(
            "/api/v1/projects",
            json!({"name": "x", "company_id": "one", "stage": "lead", "occurred_on": "2024-01-01"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
        None,
    );
    assert_error(
        &app.post(
            "/api/v1/projects",
            json!({"name": "x", "company_id": 1, "stage": "lead", "occurred_on": "2024-02-30"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
        None,
    );
}

async fn messages_follow_accept_language(app: TestApp) {
    let zh = app
        .call_with(
            Method::GET,
            "/api/v1/projects/5",
            &[("accept-language", "zh-CN,zh;q=0.9,en;q=0.8")],
            None,
        )
        .await;
    assert_error(&zh, StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(zh.1["message"], "未找到该项目");
    let en = app
        .call_with(
            Method::GET,
            "/api/v1/projects/5",
            &[("accept-language", "fr-FR, en;q=0.5")],
            None,
        )
        .await;
    assert_eq!(en.1["message"], "project not found");
    let default = app.get("/api/v1/projects/5").await;
    assert_eq!(default.1["message"], "project not found", "English by default");
}

async fn health_readiness_and_docs(app: TestApp) {
    let (s, b) = app.get("/healthz").await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, b) = app.get("/readyz").await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("ready")));
    let (s, spec) = app.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    for path in [
        "/projects/{id}/stage-events",
        "/companies",
        "/projects/{id}/fund-arrivals",
        "/follow-ups/{id}",
    ] {
        assert!(spec["paths"][path].is_object(), "spec lacks {path}");
    }
    let post = &spec["paths"]["/projects/{id}/stage-events"]["post"];
    assert!(post["responses"]["422"].is_object(), "the 422 answer is documented");
    assert!(post["description"].is_string() || post["summary"].is_string());
    let (s, _) = app.get("/docs/").await;
    assert_eq!(s, StatusCode::OK);

    // With the database gone the process is alive but not ready.
    app.db.close_by_ref().await.unwrap();
    let (s, b) = app.get("/readyz").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    let (s, _) = app.get("/healthz").await;
    assert_eq!(s, StatusCode::OK);
}
