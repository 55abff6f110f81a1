//! Bad input gets a JSON error with a machine code, never a 500; health, readiness and the API docs.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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
    // Every kind of record is named in both languages, not only the main ones.
    for (path, en, zh) in [
        ("/api/v1/outreach/5", "outreach activity not found", "未找到该招商活动"),
        (
            "/api/v1/support-funds/5",
            "support fund not found",
            "未找到该扶持资金记录",
        ),
        ("/api/v1/users/999", "user not found", "未找到该用户"),
    ] {
        let zh_answer = app
            .call_with(Method::GET, path, &[("accept-language", "zh-CN")], None)
            .await;
        assert_eq!(zh_answer.1["message"], zh, "{path}");
        assert_eq!(app.get(path).await.1["message"], en, "{path}");
    }
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

/// A schema's own constraints on a value, with `allOf` merged and the description left out.
fn constraints(s: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for part in s["allOf"].as_array().into_iter().flatten() {
        out.extend(constraints(part));
    }
    for key in [
        "type",
        "format",
        "maxLength",
        "minLength",
        "maximum",
        "minimum",
        "maxItems",
        "$ref",
        "items",
        "anyOf",
    ] {
        if let Some(v) = s.get(key) {
            out.push((key.to_owned(), v.clone()));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every resource's create and change schemas describe the same fields with the same limits, and every change
/// field may be left out or null: the two cannot drift apart. A field only a new record takes (its first stage
/// event, its key) is listed here, as is a change that no new record takes.
#[test]
fn create_and_change_schemas_agree() {
    let doc: Value = serde_json::from_str(&invest_crm::api::spec_json(&invest_crm::config::Config::default())).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let create_only = [
        // A channel's kind is what it is; another kind is another channel.
        "kind",
        "stage",
        "occurred_on",
        "note",
        "company_id",
        "metric",
        "year",
        "username",
    ];
    let change_only = ["version", "disabled", "reminders", "weekly_report"];
    let mut pairs = 0;
    for (name, change) in schemas {
        let Some(create) = name
            .strip_suffix("Changes")
            .and_then(|r| schemas.get(&format!("New{r}")))
        else {
            continue;
        };
        pairs += 1;
        let (new_fields, change_fields) = (
            create["properties"].as_object().unwrap(),
            change["properties"].as_object().unwrap(),
        );
        for f in new_fields.keys().filter(|f| !change_fields.contains_key(*f)) {
            assert!(create_only.contains(&f.as_str()), "{name} lacks {f}, which New… has");
        }
        let required: Vec<&str> = change["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for (f, s) in change_fields {
            let Some(n) = new_fields.get(f) else {
                assert!(change_only.contains(&f.as_str()), "{name} has {f}, which New… lacks");
                continue;
            };
            assert_eq!(constraints(n), constraints(s), "{name}.{f} differs from its New… field");
            assert!(
                s["nullable"] == true || required.contains(&f.as_str()),
                "{name}.{f} is neither nullable nor required"
            );
        }
    }
    assert!(pairs >= 14, "only {pairs} pairs of create and change schemas");
}
