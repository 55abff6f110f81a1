//! What a stranger or a careless client can send (issue: hardening): concurrent wrong passwords, many sign-ins at
//! once, huge page numbers, control characters, dates out of range, forged forwarding headers, huge bodies.

use entity::{audit_entry, user};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::{
    db_test,
    support::{PASSWORD, TestApp, assert_error},
};

db_test!(
    concurrent_wrong_passwords_lock_the_account,
    sign_in_attempts_are_bounded_per_address,
    password_hashing_is_bounded,
    a_huge_page_is_refused_not_a_panic,
    control_characters_are_refused,
    dates_out_of_range_are_not_server_errors,
    forwarding_headers_of_strangers_are_ignored,
    errors_are_not_cached_and_huge_bodies_are_refused,
    absurd_numbers_and_revived_tokens_are_refused,
    json_types_are_not_coerced,
    typed_fields_answer_with_their_type_s_own_error,
    a_write_whose_audit_row_fails_is_not_kept,
    the_spec_states_the_limits_it_enforces,
);

/// A request field holds the service's own type (`Text<N>`, `Day`, `Money`): a bad value gets that type's error,
/// naming the field, before the handler runs; a text of spaces in a field that need not be given counts as not given.
async fn typed_fields_answer_with_their_type_s_own_error(app: TestApp) {
    let company = app.company("类型检查有限公司").await;
    let project = |more: serde_json::Value| {
        let mut body =
            json!({"name": "类型检查项目", "company_id": company, "stage": "lead", "occurred_on": "2024-03-01"});
        body.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
        body
    };
    for (more, code, field) in [
        (
            json!({"agreed_investment": "1.23456"}),
            "invalid_value",
            "agreed_investment",
        ),
        (json!({"agreed_investment": -1}), "invalid_value", "agreed_investment"),
        (json!({"occurred_on": "1989-12-31"}), "invalid_value", "occurred_on"),
        (json!({"occurred_on": "2024-02-30"}), "malformed_request", "occurred_on"),
        (json!({"industry": ""}), "invalid_value", "industry"),
        (json!({"name": "   "}), "invalid_value", "name"),
        (json!({"notes": "备\u{7}注"}), "invalid_text", "notes"),
    ] {
        let got = app.post("/api/v1/projects", project(more.clone())).await;
        assert_error(&got, StatusCode::BAD_REQUEST, code, Some(field));
    }
    let (s, p) = app
        .post(
            "/api/v1/projects",
            project(json!({"notes": "   ", "agreed_investment": 1200.5})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(
        (p["notes"].clone(), p["agreed_investment"].clone()),
        (json!(null), json!("1200.5"))
    );
    // A fund arrival's amount must be more than zero, in whole yuan; the type says so, naming the field.
    for amount in [json!(0), json!("0"), json!("-3"), json!("1.00001")] {
        let got = app
            .post(
                &format!("/api/v1/projects/{}/fund-arrivals", p["id"]),
                json!({"arrived_on": "2024-05-20", "amount": amount}),
            )
            .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_value", Some("amount"));
    }
    // A credit code is checked by its own type (check digit, length), and kept in capitals.
    for code in ["91350100M000100Y44", "91350100M000100Y4", ""] {
        let got = app
            .post(
                "/api/v1/companies",
                json!({"name": "代码检查公司", "credit_code": code}),
            )
            .await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_value", Some("credit_code"));
    }
    let (s, c) = app
        .post(
            "/api/v1/companies",
            json!({"name": "代码检查公司", "credit_code": "91350100m000100y43"}),
        )
        .await;
    assert_eq!(
        (s, c["credit_code"].as_str()),
        (StatusCode::CREATED, Some("91350100M000100Y43"))
    );
    // Spaces in a change keep the field; null clears it.
    let id = p["id"].as_i64().unwrap();
    let (_, p) = app
        .patch(
            &format!("/api/v1/projects/{id}"),
            json!({"version": p["version"], "name": "  ", "notes": "新备注"}),
        )
        .await;
    assert_eq!(
        (p["name"].as_str(), p["notes"].as_str()),
        (Some("类型检查项目"), Some("新备注"))
    );
}

async fn json_types_are_not_coerced(app: TestApp) {
    // poem-openapi alone would store these as the text "false" and "12".
    for (body, field) in [
        (json!({"name": false}), "name"),
        (json!({"name": "星河光电", "industry": 12}), "industry"),
    ] {
        assert_error(
            &app.post("/api/v1/companies", body).await,
            StatusCode::BAD_REQUEST,
            "malformed_request",
            Some(field),
        );
    }
    let body = json!({"kind": "trip", "city": "北京", "start_date": "2024-03-01", "participants": ["张三", 7]});
    assert_error(
        &app.post("/api/v1/outreach", body).await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
        Some("participants[1]"),
    );
    let company = app.company("星河光电科技有限公司").await;
    let (s, got) = app.get(&format!("/api/v1/companies/{company}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_error(
        &app.patch(
            &format!("/api/v1/companies/{company}"),
            json!({"version": got["version"], "notes": true}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
        Some("notes"),
    );
    // A date is written in full, as documented; chrono alone would read 2024-3-1 as 1 March.
    let body = json!({"kind": "trip", "city": "北京", "start_date": "2024-3-1", "participants": []});
    assert_error(
        &app.post("/api/v1/outreach", body).await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
        Some("start_date"),
    );
    // The largest version a client can send is stale, not an overflow.
    let (s, stale) = app
        .patch(
            &format!("/api/v1/companies/{company}"),
            json!({"version": i32::MAX, "notes": "x"}),
        )
        .await;
    assert_eq!(
        (s, stale["code"].as_str()),
        (StatusCode::CONFLICT, Some("stale_version")),
        "{stale}"
    );
    // Nothing of the refused bodies was stored, and a string is still a string.
    let (_, list) = app.get("/api/v1/companies?q=false").await;
    assert_eq!(list["total"], 0, "{list}");
    let (s, _) = app.post("/api/v1/companies", json!({"name": "12"})).await;
    assert_eq!(s, StatusCode::CREATED);
}

async fn absurd_numbers_and_revived_tokens_are_refused(app: TestApp) {
    let company = app.company("万维无人机科技有限公司").await;
    let body = json!({"name": "巨型项目", "company_id": company, "stage": "lead", "occurred_on": "2024-01-10",
                      "land_mu": 1e308});
    assert_error(
        &app.post("/api/v1/projects", body).await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("land_mu"),
    );
    // A token of a user who is disabled ends with the account; enabling it again does not bring it back.
    let staff = app.user_ids["staff"];
    let expires = (invest_crm::service::input::today() + chrono::Duration::days(30)).to_string();
    let (s, issued) = app
        .post(
            "/api/v1/tokens",
            json!({"user_id": staff, "name": "周报", "scopes": ["read"], "expires_on": expires}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{issued}");
    let token = issued["token"].as_str().unwrap().to_owned();
    assert_eq!(app.with_token(&token).get("/api/v1/companies").await.0, StatusCode::OK);
    let version = |u: &serde_json::Value| u["version"].as_i64().unwrap();
    let (_, u) = app.get(&format!("/api/v1/users/{staff}")).await;
    let (_, u) = app
        .patch(
            &format!("/api/v1/users/{staff}"),
            json!({"version": version(&u), "disabled": true}),
        )
        .await;
    app.patch(
        &format!("/api/v1/users/{staff}"),
        json!({"version": version(&u), "disabled": false}),
    )
    .await;
    assert_eq!(
        app.with_token(&token).get("/api/v1/companies").await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn login(app: &TestApp, password: &str) -> StatusCode {
    let body = json!({"username": "staff", "password": password});
    app.anonymous().post("/api/v1/auth/login", body).await.0
}

async fn concurrent_wrong_passwords_lock_the_account(app: TestApp) {
    let tries = (0..30).map(|_| login(&app, "wrong password 123"));
    let answers = futures_util::future::join_all(tries).await;
    // 20 a minute from one address get through (the rest wait, 429).
    let refused = answers.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let limited = answers.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((refused, limited), (20, 10), "{answers:?}");
    // Of those, exactly `lockout_attempts` (5) had their password checked; the address is locked out after them.
    let reasons: Vec<String> = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("login_failure"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.detail.unwrap()["reason"].as_str().unwrap().to_owned())
        .collect();
    let checked = reasons.iter().filter(|r| *r == "wrong password").count();
    let unchecked = reasons.iter().filter(|r| *r == "locked for this address").count();
    assert_eq!((checked, unchecked), (5, 15), "{reasons:?}");
    let u = user::Entity::find()
        .filter(user::Column::Username.eq("staff"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        u.failed_logins, 5,
        "every checked failure counts towards the account-wide lock"
    );
    // Locked for this address (or still waiting at it): either way, no way in.
    let s = login(&app, PASSWORD).await;
    assert!(
        s == StatusCode::UNAUTHORIZED || s == StatusCode::TOO_MANY_REQUESTS,
        "{s}"
    );
}

async fn sign_in_attempts_are_bounded_per_address(app: TestApp) {
    let client = reqwest::Client::new();
    let mut limited = None;
    for _ in 0..25 {
        let r = client
            .post(format!("{}/api/v1/auth/login", app.base_url()))
            .json(&json!({"username": "nobody", "password": "a guess of a stranger"}))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = limited.expect("the 21st attempt within a minute waits");
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "too_many_attempts");
}

async fn password_hashing_is_bounded(_app: TestApp) {
    use invest_crm::service::secrets::{DUMMY_HASH, hashing_capacity, hashing_now, verify_password};
    let watch = tokio::spawn(async {
        let mut most = 0;
        for _ in 0..400 {
            most = most.max(hashing_now());
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        most
    });
    let checks = (0..40).map(|_| verify_password(DUMMY_HASH, "a guess of a stranger"));
    let results = futures_util::future::join_all(checks).await;
    assert!(results.iter().all(|ok| !ok));
    let most = watch.await.unwrap();
    assert!(most >= 1, "the watcher saw hashing");
    assert!(
        most <= hashing_capacity(),
        "{most} hashes at once, at most {}",
        hashing_capacity()
    );
}

async fn a_huge_page_is_refused_not_a_panic(app: TestApp) {
    for page in ["9223372036854775807", "461168601842738792", "18446744073709551615"] {
        let got = app.get(&format!("/api/v1/companies?page={page}")).await;
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "page={page}: {}", got.1);
    }
    assert_error(
        &app.get("/api/v1/companies?page=92233720368547759&per_page=200").await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("page"),
    );
}

async fn control_characters_are_refused(app: TestApp) {
    assert_error(
        &app.post("/api/v1/companies", json!({"name": "a\u{0}b"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_text",
        Some("name"),
    );
    for path in [
        "/api/v1/companies?q=a%00b",
        "/api/v1/audit?entity=%00",
        "/api/v1/projects?industry=%01",
    ] {
        assert_error(&app.get(path).await, StatusCode::BAD_REQUEST, "invalid_text", None);
    }
    let body = json!({"kind": "trip", "city": "北京", "start_date": "2024-03-01", "participants": ["张\u{0}三"]});
    assert_error(
        &app.post("/api/v1/outreach", body).await,
        StatusCode::BAD_REQUEST,
        "invalid_text",
        Some("participants"),
    );
    // Tabs and new lines are text.
    let (s, _) = app
        .post("/api/v1/companies", json!({"name": "甲\t乙", "notes": "一\n二"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
}

async fn dates_out_of_range_are_not_server_errors(app: TestApp) {
    for path in ["/api/v1/visits?from=-9999-01-01", "/api/v1/visits?to=+99999-01-01"] {
        let (s, body) = app.get(path).await;
        assert!(
            s == StatusCode::OK || s == StatusCode::BAD_REQUEST,
            "{path}: {s} {body}"
        );
    }
}

async fn forwarding_headers_of_strangers_are_ignored(app: TestApp) {
    let (s, _) = app
        .call_with(
            Method::POST,
            "/api/v1/companies",
            &[("content-type", "application/json"), ("x-forwarded-for", "203.0.113.9")],
            Some(&json!({"name": "来路不明有限公司"}).to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let row = audit_entry::Entity::find()
        .filter(audit_entry::Column::Entity.eq("company"))
        .order_by_desc(audit_entry::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.client_addr.as_deref(),
        Some("127.0.0.1"),
        "the socket's address, not the header's"
    );
}

async fn errors_are_not_cached_and_huge_bodies_are_refused(app: TestApp) {
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/api/v1/no-such-thing", app.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["cache-control"], "no-store");
    // A method the path does not take: 405 naming those it does.
    let r = client
        .put(format!("{}/api/v1/projects/1", app.base_url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["allow"], "DELETE, GET, PATCH");
    // Oversized headers: 431 in the same JSON as every error.
    let r = client
        .get(format!("{}/api/v1/companies", app.base_url()))
        .header("x-padding", "a".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "headers_too_large");
    // 20 MB declared, without signing in: refused from the headers alone, before a byte of the body is sent.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base_url().trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/companies HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        20 * 1024 * 1024
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut answer))
        .await
        .expect("an answer without the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).to_lowercase();
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(answer.contains("cache-control: no-store"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
}

async fn a_write_whose_audit_row_fails_is_not_kept(app: TestApp) {
    use sea_orm::{ConnectionTrait, PaginatorTrait};
    let companies = || entity::company::Entity::find().count(&app.db);
    let before = companies().await.unwrap();
    // The audit log made unwritable: the write it would record must not be kept either.
    app.db
        .execute_unprepared("ALTER TABLE audit_log RENAME TO audit_log_away")
        .await
        .unwrap();
    let (s, body) = app
        .post("/api/v1/companies", json!({"name": "无审计不落库有限公司"}))
        .await;
    app.db
        .execute_unprepared("ALTER TABLE audit_log_away RENAME TO audit_log")
        .await
        .unwrap();
    assert!(s.is_server_error(), "{s} {body}");
    assert_eq!(
        companies().await.unwrap(),
        before,
        "the company went with its audit row"
    );
    // With the log back, the same write is kept and recorded.
    let (s, created) = app
        .post("/api/v1/companies", json!({"name": "无审计不落库有限公司"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let row = audit_entry::Entity::find()
        .filter(audit_entry::Column::Entity.eq("company"))
        .filter(audit_entry::Column::EntityId.eq(created["id"].as_i64()))
        .one(&app.db)
        .await
        .unwrap();
    assert!(row.is_some_and(|r| r.action == "create"));
}

async fn the_spec_states_the_limits_it_enforces(app: TestApp) {
    let spec: serde_json::Value = reqwest::get(format!("{}/openapi.json", app.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &spec["components"]["schemas"];
    assert_eq!(schemas["NewVisit"]["properties"]["visit_date"]["format"], "date");
    assert!(
        !spec.to_string().contains("naive-date"),
        "dates are the standard format: date"
    );
    let name = &schemas["NewCompany"]["properties"]["name"];
    assert_eq!(
        (name["minLength"].as_u64(), name["maxLength"].as_u64()),
        (Some(1), Some(200))
    );
    assert_eq!(schemas["NewCompany"]["properties"]["notes"]["nullable"], true);
    let headcount = &schemas["NewVisit"]["properties"]["headcount"];
    assert_eq!(
        (headcount["minimum"].as_f64(), headcount["maximum"].as_f64()),
        (Some(1.0), Some(10000.0))
    );
    let export = &spec["paths"]["/exports/{dataset}"]["get"]["responses"]["200"]["content"];
    assert_eq!(export["application/json; charset=utf-8"]["schema"]["type"], "array");
    assert_eq!(export["text/csv; charset=utf-8"]["schema"]["format"], "binary");
    // What the document says is what is enforced, with the service's own error naming the field.
    let (s, _) = app.post("/api/v1/companies", json!({"name": "企".repeat(200)})).await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "200 characters (600 bytes) are within the limit"
    );
    let too_long = app.post("/api/v1/companies", json!({"name": "企".repeat(201)})).await;
    assert_error(&too_long, StatusCode::BAD_REQUEST, "invalid_value", Some("name"));
    let (_, company) = app.post("/api/v1/companies", json!({"name": "访客单位"})).await;
    let visit = json!({"visit_date": "2024-03-01", "headcount": 10001, "company_ids": [company["id"]]});
    let too_many = app.post("/api/v1/visits", visit).await;
    assert_error(&too_many, StatusCode::BAD_REQUEST, "invalid_value", Some("headcount"));
}
