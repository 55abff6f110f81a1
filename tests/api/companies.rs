//! Companies and contacts: create, read, list, search, update with versions, delete.

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    db_test,
    support::{TestApp, assert_error},
};

db_test!(
    company_lifecycle,
    credit_codes_are_checked_and_unique,
    company_lists_paginate_filter_and_search,
    stale_company_updates_change_nothing,
    company_in_use_is_not_deleted,
    contacts_are_validated_and_versioned,
    a_projects_province_is_its_companys,
);

/// Each project keeps its company's province (the breakdowns by province read it there): as it is created, when
/// its company's province changes or is cleared, and when it moves to another company; the funnel by province
/// follows.
async fn a_projects_province_is_its_companys(app: TestApp) {
    let company = |name: &str, province: &str| {
        let app = &app;
        let body = json!({"name": name, "province": province});
        async move {
            let (s, c) = app.post("/api/v1/companies", body).await;
            assert_eq!(s, StatusCode::CREATED, "{c}");
            c["id"].as_i64().unwrap()
        }
    };
    let (a, b) = (company("甲公司", "江苏").await, company("乙公司", "广东").await);
    let mut ids = Vec::new();
    for name in ["甲一项目", "甲二项目"] {
        let body = json!({"name": name, "company_id": a, "stage": "lead", "occurred_on": "2024-03-01"});
        let (s, p) = app.post("/api/v1/projects", body).await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        ids.push(p["id"].as_i64().unwrap());
    }
    let listed = |province: &'static str| app.projects_in(province);
    let by_province = || {
        let app = &app;
        async move {
            let (s, f) = app
                .get("/api/v1/analytics/funnel?period=2024&as_of=2024-12-31&by=province")
                .await;
            assert_eq!(s, StatusCode::OK, "{f}");
            f["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| {
                    (
                        g["key"].as_str().unwrap().to_owned(),
                        g["stages"][0]["count"].as_i64().unwrap(),
                    )
                })
                .collect::<std::collections::BTreeSet<_>>()
        }
    };
    assert_eq!((listed("江苏").await, app.provinces_astray().await), (2, 0));
    assert_eq!(by_province().await, [("江苏".to_owned(), 2)].into());

    let (s, c) = app
        .patch(
            &format!("/api/v1/companies/{a}"),
            json!({"version": 1, "province": "浙江"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(
        (listed("江苏").await, listed("浙江").await, app.provinces_astray().await),
        (0, 2, 0)
    );
    assert_eq!(by_province().await, [("浙江".to_owned(), 2)].into());

    let (s, p) = app
        .patch(
            &format!("/api/v1/projects/{}", ids[1]),
            json!({"version": 1, "company_id": b}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(
        (listed("浙江").await, listed("广东").await, app.provinces_astray().await),
        (1, 1, 0)
    );
    assert_eq!(
        by_province().await,
        [("广东".to_owned(), 1), ("浙江".to_owned(), 1)].into()
    );

    let (s, c) = app
        .patch(
            &format!("/api/v1/companies/{b}"),
            json!({"version": 1, "province": null}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!((listed("广东").await, app.provinces_astray().await), (0, 0));
    assert_eq!(
        by_province().await,
        [("(未填)".to_owned(), 1), ("浙江".to_owned(), 1)].into()
    );
}

async fn company_lifecycle(app: TestApp) {
    let (s, c) = app
        .post(
            "/api/v1/companies",
            json!({"name": " 万维无人机科技有限公司 ", "industry": "低空经济", "province": "广东", "city": "深圳"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["name"], "万维无人机科技有限公司", "names are trimmed");
    assert_eq!(c["version"], 1);
    let id = c["id"].as_i64().unwrap();

    let (s, got) = app.get(&format!("/api/v1/companies/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got["province"], "广东");

    let (s, upd) = app
        .patch(
            &format!("/api/v1/companies/{id}"),
            json!({"version": 1, "city": null, "notes": "重点客商"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{upd}");
    assert_eq!(upd["version"], 2);
    assert_eq!(upd["city"], serde_json::Value::Null, "null clears");
    assert_eq!(upd["province"], "广东", "left out keeps");
    assert_eq!(upd["notes"], "重点客商");

    assert_error(
        &app.delete(&format!("/api/v1/companies/{id}?version=1")).await,
        StatusCode::CONFLICT,
        "stale_version",
        Some("version"),
    );
    let (s, _) = app.delete(&format!("/api/v1/companies/{id}?version=2")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_error(
        &app.get(&format!("/api/v1/companies/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &app.delete(&format!("/api/v1/companies/{id}?version=2")).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
}

async fn credit_codes_are_checked_and_unique(app: TestApp) {
    let (s, c) = app
        .post(
            "/api/v1/companies",
            json!({"name": "甲", "credit_code": "91350100m000100y43"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["credit_code"], "91350100M000100Y43", "stored upper case");

    for bad in [
        "91350100M000100Y44",
        "91350100M000100Y4",
        "91350100M000100YZ3",
        "913501OOM000100Y43",
    ] {
        assert_error(
            &app.post("/api/v1/companies", json!({"name": "乙", "credit_code": bad}))
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("credit_code"),
        );
    }
    assert_error(
        &app.post(
            "/api/v1/companies",
            json!({"name": "丙", "credit_code": "91350100M000100Y43"}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_credit_code",
        Some("credit_code"),
    );
    // Another valid code, then an update that tries to take the first company's code.
    let (s, d) = app
        .post(
            "/api/v1/companies",
            json!({"name": "丁", "credit_code": "91110000802100433B"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let id = d["id"].as_i64().unwrap();
    assert_error(
        &app.patch(
            &format!("/api/v1/companies/{id}"),
            json!({"version": 1, "credit_code": "91350100M000100Y43"}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_credit_code",
        Some("credit_code"),
    );
    // Keeping its own code is no conflict; companies without a code never collide.
    let (s, _) = app
        .patch(
            &format!("/api/v1/companies/{id}"),
            json!({"version": 1, "credit_code": "91110000802100433B"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    app.company("无代码一").await;
    app.company("无代码二").await;
}

async fn company_lists_paginate_filter_and_search(app: TestApp) {
    for i in 0..25 {
        let industry = if i % 5 == 0 { "新材料" } else { "智能制造" };
        let (s, _) = app
            .post(
                "/api/v1/companies",
                json!({"name": format!("企业{i:02}"), "industry": industry}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    app.company("百分之百_科技").await;

    let (s, p) = app.get("/api/v1/companies?per_page=10&page=3").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["total"], 26);
    assert_eq!(p["page"], 3);
    assert_eq!(p["per_page"], 10);
    assert_eq!(p["items"].as_array().unwrap().len(), 6);

    let (_, p) = app.get("/api/v1/companies").await;
    assert_eq!(p["per_page"], 20, "default page size");
    assert_eq!(p["items"][0]["name"], "百分之百_科技", "newest first");

    let (_, p) = app.get("/api/v1/companies?industry=新材料").await;
    assert_eq!(p["total"], 5);

    let (_, p) = app.get("/api/v1/companies?q=企业1").await;
    assert_eq!(p["total"], 10);
    // Searches of one or two characters, which no trigram index narrows on PostgreSQL (a plain `LIKE` there).
    for (q, total) in [("1", 12), ("业2", 5), ("企", 25), ("百_", 1), ("9", 2)] {
        let (_, p) = app.get(&format!("/api/v1/companies?q={q}")).await;
        assert_eq!(p["total"], total, "{q}: {p}");
    }

    // LIKE wildcards in the query are taken literally.
    let (_, p) = app.get("/api/v1/companies?q=%25").await;
    assert_eq!(p["total"], 0);
    let (_, p) = app.get("/api/v1/companies?q=_").await;
    assert_eq!(p["total"], 1);
    // Latin letters match whatever their case, on both databases.
    app.company("ABB Robotics 上海").await;
    for q in ["abb", "aB", "上海", "ABB%20robotics", "Robotics%20上海"] {
        let (_, p) = app.get(&format!("/api/v1/companies?q={q}")).await;
        assert_eq!(p["total"], 1, "{q}");
    }

    assert_error(
        &app.get("/api/v1/companies?per_page=201").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        Some("per_page"),
    );
    assert_error(
        &app.get("/api/v1/companies?per_page=0").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        Some("per_page"),
    );
    assert_error(
        &app.get("/api/v1/companies?page=0").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        Some("page"),
    );
    let (s, p) = app.get("/api/v1/companies?per_page=200").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["items"].as_array().unwrap().len(), 27);
}

async fn stale_company_updates_change_nothing(app: TestApp) {
    let id = app.company("原名").await;
    let path = format!("/api/v1/companies/{id}");
    let (s, _) = app.patch(&path, json!({"version": 1, "name": "第一次修改"})).await;
    assert_eq!(s, StatusCode::OK);
    // A second staffer still holding version 1.
    assert_error(
        &app.patch(&path, json!({"version": 1, "name": "第二次修改", "industry": "新能源"}))
            .await,
        StatusCode::CONFLICT,
        "stale_version",
        Some("version"),
    );
    let (_, c) = app.get(&path).await;
    assert_eq!(c["name"], "第一次修改");
    assert_eq!(c["industry"], serde_json::Value::Null);
    assert_eq!(c["version"], 2);
    assert_error(
        &app.patch("/api/v1/companies/999999", json!({"version": 1, "name": "x"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
}

async fn company_in_use_is_not_deleted(app: TestApp) {
    let p = app.project("福美新材料生产基地", "lead", "2024-01-02").await;
    let company = p["company_id"].as_i64().unwrap();
    assert_error(
        &app.delete(&format!("/api/v1/companies/{company}?version=1")).await,
        StatusCode::CONFLICT,
        "company_in_use",
        None,
    );
    let (s, _) = app.get(&format!("/api/v1/companies/{company}")).await;
    assert_eq!(s, StatusCode::OK);
}

async fn contacts_are_validated_and_versioned(app: TestApp) {
    let company = app.company("恒丰厨具").await;
    let base = format!("/api/v1/companies/{company}/contacts");
    let (s, c) = app
        .post(
            &base,
            json!({"name": "张经理", "title": "总经理", "phone": "138-0013-8000", "email": "zhang@example.com"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = c["id"].as_i64().unwrap();

    assert_error(
        &app.post(&base, json!({"name": "李", "email": "not-an-email"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("email"),
    );
    assert_error(
        &app.post(&base, json!({"name": "李", "phone": "call me"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("phone"),
    );
    assert_error(
        &app.post(&base, json!({"name": ""})).await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("name"),
    );
    assert_error(
        &app.post("/api/v1/companies/424242/contacts", json!({"name": "王"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    let (_, list) = app.get(&base).await;
    assert_eq!(list["total"], 1);

    let path = format!("/api/v1/contacts/{id}");
    let (s, u) = app
        .patch(&path, json!({"version": 1, "phone": null, "title": "董事长"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["phone"], serde_json::Value::Null);
    assert_eq!(u["title"], "董事长");
    assert_error(
        &app.patch(&path, json!({"version": 1, "title": "x"})).await,
        StatusCode::CONFLICT,
        "stale_version",
        None,
    );
    let (s, _) = app.delete(&format!("{path}?version=2")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, list) = app.get(&base).await;
    assert_eq!(list["total"], 0);
}
