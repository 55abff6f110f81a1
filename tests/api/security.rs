//! Accounts, roles, sessions, API tokens, masking and the audit trail (docs/ARCHITECTURE.md).

use chrono::{Duration, Utc};
use entity::{api_token, session, sign_in_strike};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    db_test,
    support::{PASSWORD, ROLES, TestApp, assert_error},
};

db_test!(
    requests_without_valid_credentials_get_401,
    each_role_may_do_its_own_work_only,
    login_logout_sessions_and_password_change,
    lockout_after_failed_logins_and_its_expiry,
    sessions_expire_when_idle_and_at_the_absolute_limit,
    api_tokens_are_scoped_shown_once_and_expire,
    contact_details_are_masked,
    the_audit_log_records_every_kind_of_event_and_no_secret,
    admins_manage_users,
    answers_carry_security_headers,
);

async fn requests_without_valid_credentials_get_401(app: TestApp) {
    for (method, path) in [
        (Method::GET, "/api/v1/projects"),
        (Method::POST, "/api/v1/companies"),
        (Method::GET, "/api/v1/labels"),
        (Method::GET, "/api/v1/audit"),
        (Method::GET, "/api/v1/auth/me"),
    ] {
        let body = (method == Method::POST).then(|| json!({"name": "x"}));
        assert_error(
            &app.anonymous().call(method.clone(), path, body.clone()).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            None,
        );
        for bogus in ["ics_not-a-real-token", "ict_nope", "hello"] {
            assert_error(
                &app.with_token(bogus).call(method.clone(), path, body.clone()).await,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                None,
            );
        }
    }
    let (_, companies) = app.get("/api/v1/companies").await;
    assert_eq!(companies["total"], 0, "the refused create wrote nothing");
    for open in ["/healthz", "/readyz", "/openapi.json", "/docs/"] {
        assert_eq!(
            app.anonymous().get(open).await.0,
            StatusCode::OK,
            "{open} needs no credentials"
        );
    }
    let (_, spec) = app.anonymous().get("/openapi.json").await;
    assert_eq!(spec["components"]["securitySchemes"]["Auth"]["scheme"], "bearer");
    assert!(
        spec["paths"]["/projects"]["get"]["security"].is_array(),
        "endpoints declare the scheme"
    );
}

async fn each_role_may_do_its_own_work_only(app: TestApp) {
    let project = app.project("权限测试项目", "lead", "2024-01-02").await;
    let pid = project["id"].as_i64().unwrap();
    let forbidden = |got: &(StatusCode, Value)| assert_error(got, StatusCode::FORBIDDEN, "forbidden", None);

    // Reading: everyone.
    for role in ROLES {
        for path in [
            "/api/v1/companies",
            "/api/v1/projects",
            &format!("/api/v1/projects/{pid}/stage-events"),
            "/api/v1/labels",
        ] {
            assert_eq!(
                app.as_user(role).get(path).await.0,
                StatusCode::OK,
                "{role} reads {path}"
            );
        }
    }
    // Creating and editing records: staff and admin.
    for (role, allowed) in [("admin", true), ("staff", true), ("leader", false), ("viewer", false)] {
        let got = app
            .as_user(role)
            .post("/api/v1/companies", json!({"name": format!("{role}的企业")}))
            .await;
        if allowed {
            assert_eq!(got.0, StatusCode::CREATED, "{role}: {}", got.1);
        } else {
            forbidden(&got);
        }
        let got = app
            .as_user(role)
            .patch(
                &format!("/api/v1/projects/{pid}"),
                json!({"version": 999, "notes": "x"}),
            )
            .await;
        if allowed {
            assert_eq!(got.0, StatusCode::CONFLICT, "{role} gets past the role check");
        } else {
            forbidden(&got);
        }
    }
    // Stage moves: staff, leaders, admins; backward only leaders and admins.
    forbidden(
        &app.as_user("viewer")
            .post(
                &format!("/api/v1/projects/{pid}/stage-events"),
                json!({"stage": "negotiating", "occurred_on": "2024-01-03"}),
            )
            .await,
    );
    let (s, _) = app
        .as_user("staff")
        .post(
            &format!("/api/v1/projects/{pid}/stage-events"),
            json!({"stage": "signed", "occurred_on": "2024-01-03"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let back = json!({"stage": "negotiating", "occurred_on": "2024-01-04", "reason": "协议取消"});
    assert_error(
        &app.as_user("staff")
            .post(&format!("/api/v1/projects/{pid}/stage-events"), back.clone())
            .await,
        StatusCode::FORBIDDEN,
        "backward_move_forbidden",
        None,
    );
    let (s, e) = app
        .as_user("leader")
        .post(&format!("/api/v1/projects/{pid}/stage-events"), back)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    assert_eq!(e["recorded_by"], "leader", "events name who recorded them");

    // Blockers: staff and leaders work on them; only leaders (and admins) resolve them.
    let (s, b) = app
        .as_user("staff")
        .post(
            &format!("/api/v1/projects/{pid}/blockers"),
            json!({"title": "用地", "category": "land", "opened_on": "2024-01-05"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    forbidden(
        &app.as_user("viewer")
            .post(
                &format!("/api/v1/projects/{pid}/blockers"),
                json!({"title": "x", "category": "land"}),
            )
            .await,
    );
    let resolve = json!({"version": 1, "status": "resolved", "resolution": "已调剂", "resolved_on": "2024-02-01"});
    let path = format!("/api/v1/blockers/{}", b["id"]);
    forbidden(&app.as_user("staff").patch(&path, resolve.clone()).await);
    let (s, _) = app
        .as_user("staff")
        .patch(&path, json!({"version": 1, "status": "in_progress"}))
        .await;
    assert_eq!(s, StatusCode::OK, "staff move blockers along");
    let mut resolve = resolve;
    resolve["version"] = json!(2);
    let (s, r) = app.as_user("leader").patch(&path, resolve).await;
    assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("resolved")));

    // Administration: admins only.
    for role in ["leader", "staff", "viewer"] {
        forbidden(&app.as_user(role).get("/api/v1/users").await);
        forbidden(&app.as_user(role).get("/api/v1/audit").await);
        forbidden(&app.as_user(role).get("/api/v1/tokens").await);
        forbidden(
            &app.as_user(role)
                .post(
                    "/api/v1/users",
                    json!({"username": "x", "display_name": "x", "role": "admin", "password": "long enough password"}),
                )
                .await,
        );
        forbidden(
            &app.as_user(role)
                .post(
                    "/api/v1/tokens",
                    json!({"user_id": 1, "name": "x", "scopes": ["read"], "expires_on": "2099-01-01"}),
                )
                .await,
        );
    }
    for path in ["/api/v1/users", "/api/v1/audit", "/api/v1/tokens"] {
        assert_eq!(app.as_user("admin").get(path).await.0, StatusCode::OK);
    }
}

async fn login_logout_sessions_and_password_change(app: TestApp) {
    let (s, a) = app.login("staff", PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let token_a = a["token"].as_str().unwrap().to_owned();
    assert!(token_a.len() >= 40, "at least 128 random bits");
    assert!(a["expires_at"].as_str().is_some());
    let (_, me) = app.with_token(&token_a).get("/api/v1/auth/me").await;
    assert_eq!(
        (
            me["user"]["username"].as_str(),
            me["user"]["role"].as_str(),
            me["via"].as_str()
        ),
        (Some("staff"), Some("staff"), Some("session"))
    );
    assert!(me["user"].get("password_hash").is_none());

    let wrong = app.login("staff", "not the password at all").await;
    let unknown = app.login("nobody-here", "not the password at all").await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "unauthorized", None);
    assert_eq!(wrong.1, unknown.1, "the answer never tells whether the user exists");

    let (_, b) = app.login("staff", PASSWORD).await;
    let token_b = b["token"].as_str().unwrap().to_owned();
    let (_, sessions) = app.with_token(&token_a).get("/api/v1/auth/sessions").await;
    let list = sessions.as_array().unwrap();
    assert_eq!(list.len(), 3, "the harness session and two sign-ins: {sessions}");
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(
        list.iter()
            .all(|s| s.get("token").is_none() && s.get("token_hash").is_none())
    );

    // Too short a new password, a wrong current one.
    assert_error(
        &app.with_token(&token_a)
            .post(
                "/api/v1/auth/password",
                json!({"current_password": PASSWORD, "new_password": "short"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("new_password"),
    );
    assert_error(
        &app.with_token(&token_a)
            .post(
                "/api/v1/auth/password",
                json!({"current_password": "wrong wrong wrong", "new_password": "a brand new passphrase"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "wrong_password",
        Some("current_password"),
    );
    let (s, _) = app
        .with_token(&token_a)
        .post(
            "/api/v1/auth/password",
            json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        app.with_token(&token_b).get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED,
        "other sessions end"
    );
    assert_eq!(
        app.as_user("staff").get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.with_token(&token_a).get("/api/v1/auth/me").await.0,
        StatusCode::OK,
        "the changing session stays"
    );
    assert_eq!(app.login("staff", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.login("staff", "a brand new passphrase").await.0, StatusCode::OK);

    // Ending a session by id, then logging out.
    let (_, c) = app.login("staff", "a brand new passphrase").await;
    let token_c = c["token"].as_str().unwrap().to_owned();
    let (_, sessions) = app.with_token(&token_c).get("/api/v1/auth/sessions").await;
    let other = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.with_token(&token_c)
            .delete(&format!("/api/v1/auth/sessions/{other}"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let leader_session = app.with_token(app.token("leader")).get("/api/v1/auth/sessions").await.1[0]["id"]
        .as_i64()
        .unwrap();
    assert_error(
        &app.with_token(&token_c)
            .delete(&format!("/api/v1/auth/sessions/{leader_session}"))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_eq!(
        app.with_token(&token_c).post("/api/v1/auth/logout", json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.with_token(&token_c).get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.as_user("leader").get("/api/v1/auth/me").await.0,
        StatusCode::OK,
        "other users are untouched"
    );
}

async fn lockout_after_failed_logins_and_its_expiry(app: TestApp) {
    for _ in 0..5 {
        assert_eq!(
            app.login("viewer", "wrong password!!").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = app.login("viewer", PASSWORD).await;
    assert_error(&locked, StatusCode::UNAUTHORIZED, "unauthorized", None);
    // Locked for the address the guesses came from, for 15 minutes.
    let strike = sign_in_strike::Entity::find()
        .filter(sign_in_strike::Column::UserId.eq(app.user_ids["viewer"]))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(strike.client_addr, "127.0.0.1");
    let left = strike.locked_until.unwrap() - Utc::now();
    assert!(
        left > Duration::minutes(14) && left <= Duration::minutes(15),
        "locked for 15 minutes: {left}"
    );

    // Fifteen minutes later (moved back in the database rather than waited for).
    sign_in_strike::Entity::update_many()
        .col_expr(
            sign_in_strike::Column::LockedUntil,
            Expr::value(Some(Utc::now() - Duration::seconds(1))),
        )
        .filter(sign_in_strike::Column::UserId.eq(app.user_ids["viewer"]))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(app.login("viewer", PASSWORD).await.0, StatusCode::OK);
    // A success clears the count: four more failures do not lock.
    for _ in 0..4 {
        app.login("viewer", "wrong password!!").await;
    }
    assert_eq!(app.login("viewer", PASSWORD).await.0, StatusCode::OK);
}

async fn sessions_expire_when_idle_and_at_the_absolute_limit(app: TestApp) {
    let (_, a) = app.login("staff", PASSWORD).await;
    let token = a["token"].as_str().unwrap().to_owned();
    assert_eq!(app.with_token(&token).get("/api/v1/auth/me").await.0, StatusCode::OK);
    let hash = invest_crm::service::secrets::token_hash(&token);
    let set = async |col: session::Column, at: chrono::DateTime<Utc>| {
        session::Entity::update_many()
            .col_expr(col, Expr::value(at))
            .filter(session::Column::TokenHash.eq(hash.clone()))
            .exec(&app.db)
            .await
            .unwrap();
    };
    set(session::Column::LastSeenAt, Utc::now() - Duration::minutes(119)).await;
    assert_eq!(
        app.with_token(&token).get("/api/v1/auth/me").await.0,
        StatusCode::OK,
        "within the idle limit; renews"
    );
    set(session::Column::LastSeenAt, Utc::now() - Duration::minutes(121)).await;
    assert_eq!(
        app.with_token(&token).get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED,
        "idle too long"
    );

    let (_, b) = app.login("staff", PASSWORD).await;
    let token = b["token"].as_str().unwrap().to_owned();
    let hash = invest_crm::service::secrets::token_hash(&token);
    session::Entity::update_many()
        .col_expr(
            session::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::seconds(1)),
        )
        .filter(session::Column::TokenHash.eq(hash))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(
        app.with_token(&token).get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED,
        "past the absolute limit"
    );
}

async fn api_tokens_are_scoped_shown_once_and_expire(app: TestApp) {
    let company = app.company("令牌测试企业").await;
    app.post(
        &format!("/api/v1/companies/{company}/contacts"),
        json!({"name": "王总", "phone": "13812345678", "email": "wang@example.com"}),
    )
    .await;
    let viewer = app.user_ids["viewer"];
    // More than two years ahead is refused.
    assert_error(
        &app.post(
            "/api/v1/tokens",
            json!({"user_id": viewer, "name": "太久", "scopes": ["read"], "expires_on": "2099-01-01"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("expires_on"),
    );
    let in_a_year = (invest_crm::service::input::today() + Duration::days(365)).to_string();
    let (s, t) = app
        .post(
            "/api/v1/tokens",
            json!({"user_id": viewer, "name": "只读", "scopes": ["read"], "expires_on": in_a_year}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let read_only = t["token"].as_str().unwrap().to_owned();
    assert!(read_only.starts_with("ict_"));
    let (_, all) = app
        .post("/api/v1/tokens", json!({"user_id": viewer, "name": "全部", "scopes": ["read", "export", "contact_details"], "expires_on": in_a_year}))
        .await;
    let full = all["token"].as_str().unwrap().to_owned();
    assert_error(
        &app.post(
            "/api/v1/tokens",
            json!({"user_id": viewer, "name": "x", "scopes": [], "expires_on": in_a_year}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("scopes"),
    );
    assert_error(
        &app.post(
            "/api/v1/tokens",
            json!({"user_id": 99999, "name": "x", "scopes": ["read"], "expires_on": in_a_year}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_user",
        Some("user_id"),
    );

    let contacts = format!("/api/v1/companies/{company}/contacts");
    let (s, c) = app.with_token(&read_only).get(&contacts).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        c["items"][0]["phone"], "138****5678",
        "no contact_details scope: masked"
    );
    assert_eq!(c["items"][0]["email"], "w***@example.com");
    let (_, c) = app.with_token(&full).get(&contacts).await;
    assert_eq!(c["items"][0]["phone"], "13812345678");
    assert_error(
        &app.with_token(&full)
            .post("/api/v1/companies", json!({"name": "x"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let (_, me) = app.with_token(&read_only).get("/api/v1/auth/me").await;
    assert_eq!(
        (me["via"].as_str(), me["scopes"].clone()),
        (Some("token"), json!(["read"]))
    );

    let (_, list) = app.get("/api/v1/tokens").await;
    let text = list.to_string();
    assert!(
        !text.contains(&read_only) && !text.contains(&full),
        "secrets are shown only once"
    );
    assert_eq!(list["total"], 2);

    // Revoked and expired tokens stop working; so do the tokens of a disabled user.
    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{}", t["info"]["id"])).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.with_token(&read_only).get(&contacts).await.0,
        StatusCode::UNAUTHORIZED
    );
    api_token::Entity::update_many()
        .col_expr(
            api_token::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::seconds(1)),
        )
        .filter(api_token::Column::Id.eq(all["info"]["id"].as_i64().unwrap()))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(app.with_token(&full).get(&contacts).await.0, StatusCode::UNAUTHORIZED);
    let (_, t3) = app
        .post(
            "/api/v1/tokens",
            json!({"user_id": viewer, "name": "第三个", "scopes": ["read"], "expires_on": in_a_year}),
        )
        .await;
    let third = t3["token"].as_str().unwrap().to_owned();
    assert_eq!(app.with_token(&third).get(&contacts).await.0, StatusCode::OK);
    let (_, u) = app.get(&format!("/api/v1/users/{viewer}")).await;
    app.patch(
        &format!("/api/v1/users/{viewer}"),
        json!({"version": u["version"], "disabled": true}),
    )
    .await;
    assert_eq!(app.with_token(&third).get(&contacts).await.0, StatusCode::UNAUTHORIZED);
}

async fn contact_details_are_masked(app: TestApp) {
    let company = app.company("脱敏企业").await;
    let (_, c) = app
        .as_user("staff")
        .post(
            &format!("/api/v1/companies/{company}/contacts"),
            json!({"name": "李总", "phone": "139 8765 4321", "email": "li@example.com"}),
        )
        .await;
    assert_eq!(c["phone"], "139 8765 4321", "staff see what they typed");
    for role in ["staff", "leader", "admin"] {
        let (_, got) = app.as_user(role).get(&format!("/api/v1/contacts/{}", c["id"])).await;
        assert_eq!(got["phone"], "139 8765 4321", "{role}");
    }
    let (_, got) = app
        .as_user("viewer")
        .get(&format!("/api/v1/contacts/{}", c["id"]))
        .await;
    assert_eq!(
        (got["phone"].as_str(), got["email"].as_str()),
        (Some("139****4321"), Some("l***@example.com"))
    );
}

async fn the_audit_log_records_every_kind_of_event_and_no_secret(app: TestApp) {
    let company = app
        .as_user("staff")
        .post("/api/v1/companies", json!({"name": "审计企业"}))
        .await
        .1;
    let cid = company["id"].as_i64().unwrap();
    app.as_user("staff")
        .patch(
            &format!("/api/v1/companies/{cid}"),
            json!({"version": 1, "name": "审计企业(改)", "city": "深圳"}),
        )
        .await;
    let project = app
        .as_user("staff")
        .post(
            "/api/v1/projects",
            json!({"name": "审计项目", "company_id": cid, "stage": "lead", "occurred_on": "2024-01-02"}),
        )
        .await
        .1;
    let pid = project["id"].as_i64().unwrap();
    let event = app
        .as_user("staff")
        .post(
            &format!("/api/v1/projects/{pid}/stage-events"),
            json!({"stage": "signed", "occurred_on": "2024-02-02"}),
        )
        .await
        .1;
    app.as_user("staff")
        .delete(&format!("/api/v1/projects/{pid}?version=2"))
        .await;
    let (_, login) = app.login("leader", PASSWORD).await;
    let session_token = login["token"].as_str().unwrap().to_owned();
    app.login("leader", "definitely wrong pw").await;
    app.login("ghost", "definitely wrong pw").await;
    let (_, issued) = app
        .post("/api/v1/tokens", json!({"user_id": app.user_ids["viewer"], "name": "审计", "scopes": ["read"], "expires_on": (invest_crm::service::input::today() + Duration::days(30)).to_string()}))
        .await;
    let api_token = issued["token"].as_str().unwrap().to_owned();
    app.delete(&format!("/api/v1/tokens/{}", issued["info"]["id"])).await;
    app.post(
        "/api/v1/users",
        json!({"username": "newbie", "display_name": "新人", "role": "staff", "password": "newbie password 1"}),
    )
    .await;
    app.with_token(&session_token)
        .post(
            "/api/v1/auth/password",
            json!({"current_password": PASSWORD, "new_password": "leader password 2"}),
        )
        .await;
    // A refused write is not a write.
    app.as_user("viewer")
        .post("/api/v1/companies", json!({"name": "不应出现"}))
        .await;

    let (s, log) = app.get("/api/v1/audit?per_page=200").await;
    assert_eq!(s, StatusCode::OK);
    let rows = log["items"].as_array().unwrap();
    let find = |action: &str, entity: &str| -> Vec<&Value> {
        rows.iter()
            .filter(|r| r["action"] == action && r["entity"] == entity)
            .collect()
    };
    // One name per kind of record whatever the door, the record's id for creates too, the values before and after.
    let created = find("create", "company");
    assert_eq!(created.len(), 1);
    assert_eq!(
        (created[0]["username"].as_str(), created[0]["entity_id"].as_i64()),
        (Some("staff"), Some(cid))
    );
    assert_eq!(created[0]["client_addr"], "127.0.0.1");
    assert_eq!(created[0]["door"], "api");
    assert_eq!(created[0]["changes"], json!([{"field": "name", "became": "审计企业"}]));
    let updated = find("update", "company");
    assert_eq!(
        updated[0]["fields"],
        json!(["name", "city"]),
        "the fields changed, without the version"
    );
    assert_eq!(
        updated[0]["changes"],
        json!([
            {"field": "name", "was": "审计企业", "became": "审计企业(改)"},
            {"field": "city", "became": "深圳"},
        ])
    );
    // A stage move is the project's, with its event.
    let moved = find("stage_move", "project");
    assert_eq!(moved[0]["entity_id"].as_i64(), Some(pid));
    assert_eq!(
        moved[0]["changes"],
        json!([{"field": "stage", "was": "lead", "became": "signed"}])
    );
    assert_eq!(moved[0]["detail"]["event_id"], event["id"]);
    assert_eq!(find("delete", "project")[0]["entity_id"].as_i64(), Some(pid));
    assert_eq!(find("delete", "project")[0]["changes"][0]["was"], "审计项目");
    assert_eq!(find("login_success", "session")[0]["username"], "leader");
    let failures = find("login_failure", "session");
    assert_eq!(failures.len(), 2);
    assert!(
        failures
            .iter()
            .any(|r| r["username"] == "ghost" && r["user_id"].is_null())
    );
    assert_eq!(find("create", "token").len(), 1);
    assert_eq!(find("token_revoke", "token").len(), 1);
    // A password is recorded as changed, never with its hash.
    let user = &find("create", "user")[0]["changes"];
    assert!(
        user.as_array()
            .unwrap()
            .contains(&json!({"field": "password", "secret": true})),
        "{user}"
    );
    assert!(
        user.as_array()
            .unwrap()
            .contains(&json!({"field": "username", "became": "newbie"})),
        "{user}"
    );
    // One's own password change is an update of one's account: the fact, never the value.
    let own = find("update", "user");
    assert!(
        own.iter()
            .any(|r| r["username"] == "leader" && r["changes"] == json!([{"field": "password", "secret": true}])),
        "{log}"
    );
    // A refused write is not a write, but it is a security event.
    assert!(!rows.iter().any(|r| r.to_string().contains("不应出现")));
    let refused = find("refused", "company");
    assert_eq!(refused.len(), 1, "{log}");
    assert_eq!(
        (refused[0]["username"].as_str(), refused[0]["detail"]["status"].as_i64()),
        (Some("viewer"), Some(403))
    );

    let text = log.to_string();
    for secret in [
        PASSWORD,
        "newbie password 1",
        "leader password 2",
        "definitely wrong pw",
        &session_token,
        &api_token,
    ] {
        assert!(!text.contains(secret), "the audit log holds a secret: {secret}");
    }
    let hash = invest_crm::service::secrets::token_hash(&session_token);
    assert!(!text.contains(&hash), "nor a token's hash");

    let (_, f) = app.get("/api/v1/audit?action=login_failure").await;
    assert_eq!(f["total"], 2);
    let (_, f) = app.get("/api/v1/audit?entity=company&username=staff").await;
    assert_eq!(f["total"], 2);
    let (_, f) = app
        .get(&format!(
            "/api/v1/audit?user_id={}&action=create",
            app.user_ids["staff"]
        ))
        .await;
    assert_eq!(f["total"], 2, "company and project (the stage move is a stage_move)");
    let (_, f) = app.get("/api/v1/audit?from=2999-01-01T00:00:00Z").await;
    assert_eq!(f["total"], 0);
}

async fn admins_manage_users(app: TestApp) {
    let new = json!({"username": "zhang.san", "display_name": "张三", "email": "zhangsan@example.com", "role": "staff", "password": "twelve chars!"});
    let (s, u) = app.post("/api/v1/users", new.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    assert!(u.get("password").is_none() && u.get("password_hash").is_none());
    assert_error(
        &app.post("/api/v1/users", new.clone()).await,
        StatusCode::CONFLICT,
        "duplicate_username",
        Some("username"),
    );
    let mut short = new.clone();
    short["username"] = json!("li.si");
    short["password"] = json!("eleven char");
    assert_error(
        &app.post("/api/v1/users", short).await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("password"),
    );
    let mut odd = new.clone();
    odd["username"] = json!("张三");
    assert_error(
        &app.post("/api/v1/users", odd).await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("username"),
    );
    let mut bad_role = new.clone();
    bad_role["username"] = json!("wang.wu");
    bad_role["role"] = json!("superuser");
    assert_error(
        &app.post("/api/v1/users", bad_role).await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
        None,
    );

    let (s, login) = app.login("zhang.san", "twelve chars!").await;
    assert_eq!(s, StatusCode::OK);
    let token = login["token"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/users/{}", u["id"]);
    let (s, up) = app.patch(&path, json!({"version": 1, "role": "leader"})).await;
    assert_eq!((s, up["role"].as_str()), (StatusCode::OK, Some("leader")));
    let (_, me) = app.with_token(&token).get("/api/v1/auth/me").await;
    assert_eq!(me["user"]["role"], "leader", "the new role applies at once");
    let (s, _) = app
        .patch(&path, json!({"version": 2, "password": "reset by the admin"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        app.with_token(&token).get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED,
        "a reset ends sessions"
    );
    let (_, login) = app.login("zhang.san", "reset by the admin").await;
    let token = login["token"].as_str().unwrap().to_owned();
    app.patch(&path, json!({"version": 3, "disabled": true})).await;
    assert_eq!(
        app.with_token(&token).get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("zhang.san", "reset by the admin").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_error(
        &app.patch(
            &format!("/api/v1/users/{}", app.user_ids["admin"]),
            json!({"version": 1, "role": "viewer"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "cannot_demote_self",
        Some("role"),
    );
}

async fn answers_carry_security_headers(app: TestApp) {
    let client = reqwest::Client::new();
    let base = app.base_url();
    let resp = client
        .get(format!("{base}/api/v1/projects"))
        .bearer_auth(app.token("viewer"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    let h = resp.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h.get("access-control-allow-origin").is_none(),
        "CORS is off unless configured"
    );
    let resp = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let resp = client.get(format!("{base}/api/v1/nope")).send().await.unwrap();
    assert_eq!(resp.headers()["x-frame-options"], "DENY", "errors carry them too");
}
