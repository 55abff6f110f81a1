//! The staff web UI, part 2, through HTTP: 外出招商, 合作机构 and 高企培育 kept from the pages (checked through the
//! API), the API tokens, the outbox's resend and a job run from 系统日志, and the roles that may not.

use reqwest::{Method, StatusCode};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

use crate::{db_test, support::TestApp, web::Web};

db_test!(
    outreach_is_recorded_and_changed_from_its_page,
    partners_are_kept_with_the_projects_they_brought,
    incubation_moves_on_its_board,
    an_admin_issues_and_revokes_tokens_in_the_ui,
    failed_mail_is_sent_again_and_a_job_runs_now,
    an_admin_sets_a_leader_s_weekly_report,
);

async fn api_list(app: &TestApp, path: &str) -> Vec<Value> {
    let (s, b) = app.get(path).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["items"].as_array().unwrap().clone()
}

async fn outreach_is_recorded_and_changed_from_its_page(app: TestApp) {
    let company = app.company("远方科技有限公司").await;
    let web = Web::sign_in(&app, "staff").await;
    let cid = company.to_string();
    let trip = [
        ("kind", "trip"),
        ("city", "深圳"),
        ("start_date", "2024-03-05"),
        ("end_date", "2024-03-07"),
        ("leading_official", "王主任"),
        ("participants", "张三、李四"),
        ("company_ids", cid.as_str()),
        ("notes", "拜访三家企业"),
    ];
    let a = web.post("/outreach", &trip).await;
    assert_eq!(
        (a.status, a.hx.as_deref()),
        (StatusCode::OK, Some("true")),
        "{}",
        a.body
    );
    let rows = api_list(&app, "/api/v1/outreach").await;
    assert_eq!(rows.len(), 1);
    let o = &rows[0];
    assert_eq!(
        (&o["city"], &o["end_date"], &o["company_ids"], &o["participants"]),
        (
            &json!("深圳"),
            &json!("2024-03-07"),
            &json!([company]),
            &json!(["张三", "李四"])
        )
    );
    let id = o["id"].as_i64().unwrap();

    // An end before the start: the message beside the field, what was typed kept.
    let mut bad = trip.to_vec();
    bad[3] = ("end_date", "2024-03-01");
    let a = web.post("/outreach", &bad).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(
        a.body.contains("结束日期不能早于开始日期") && a.body.contains("value=\"深圳\""),
        "{}",
        a.body
    );
    assert!(
        a.body.contains("远方科技有限公司"),
        "the company chip is kept: {}",
        a.body
    );
    assert_eq!(
        api_list(&app, "/api/v1/outreach").await.len(),
        1,
        "nothing half-written"
    );

    // A project the trip produced shows on the list.
    let (s, p) = app
        .post(
            "/api/v1/projects",
            json!({"name": "远方新材料项目", "company_id": company, "stage": "lead", "occurred_on": "2024-03-10",
                   "source": "outreach", "source_outreach_id": id}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let page = web.get("/outreach?kind=trip&from=2024-03-01&to=2024-03-31").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("远方新材料项目") && page.body.contains("2024-03-05 至 2024-03-07"),
        "{}",
        page.body
    );
    assert!(
        web.get("/outreach?from=2024-04-01")
            .await
            .body
            .contains("没有符合条件的活动")
    );

    // Edit: the dialog holds the stored values; the companies met are replaced by the chips sent (none here).
    let dialog = web.get(&format!("/outreach/{id}/edit")).await;
    assert!(dialog.body.contains("value=\"深圳\"") && dialog.body.contains("远方科技有限公司"));
    let edit = [
        ("version", "1"),
        ("kind", "promotion_event"),
        ("city", "广州"),
        ("start_date", "2024-03-05"),
        ("end_date", ""),
    ];
    let a = web.send(Method::PATCH, &format!("/outreach/{id}"), &edit, true).await;
    assert_eq!(
        (a.status, a.hx.as_deref()),
        (StatusCode::OK, Some("true")),
        "{}",
        a.body
    );
    let (_, o) = app.get(&format!("/api/v1/outreach/{id}")).await;
    assert_eq!(
        (
            &o["kind"],
            &o["city"],
            &o["end_date"],
            &o["company_ids"],
            &o["leading_official"]
        ),
        (
            &json!("promotion_event"),
            &json!("广州"),
            &json!("2024-03-05"),
            &json!([]),
            &Value::Null
        )
    );
    // The same form again: its version is stale.
    let a = web.send(Method::PATCH, &format!("/outreach/{id}"), &edit, true).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert!(
        a.body.contains("重新加载") && a.body.contains("value=\"广州\""),
        "{}",
        a.body
    );

    let viewer = Web::sign_in(&app, "viewer").await;
    let list = viewer.get("/outreach").await;
    assert!(list.status == StatusCode::OK && list.body.contains("广州") && !list.body.contains("新建活动"));
    assert_eq!(viewer.post("/outreach", &trip).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        viewer.get(&format!("/outreach/{id}/edit")).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn partners_are_kept_with_the_projects_they_brought(app: TestApp) {
    let web = Web::sign_in(&app, "staff").await;
    let a = web
        .post(
            "/partners",
            &[
                ("name", "深圳湖南商会"),
                ("kind", "chamber_of_commerce"),
                ("agreement_date", "2024-02-01"),
            ],
        )
        .await;
    assert_eq!(
        (a.status, a.hx.as_deref()),
        (StatusCode::OK, Some("true")),
        "{}",
        a.body
    );
    let rows = api_list(&app, "/api/v1/partners").await;
    assert_eq!((rows.len(), &rows[0]["agreement_date"]), (1, &json!("2024-02-01")));
    let id = rows[0]["id"].as_i64().unwrap();
    let company = app.company("湘商实业").await;
    let (s, p) = app
        .post(
            "/api/v1/projects",
            json!({"name": "湘商总部项目", "company_id": company, "stage": "negotiating", "occurred_on": "2024-03-01",
                   "source": "partner", "source_partner_id": id}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let page = web.get("/partners?q=湖南").await;
    assert!(
        page.body.contains("湘商总部项目") && page.body.contains("洽谈"),
        "{}",
        page.body
    );
    assert!(
        web.get("/partners?kind=agency")
            .await
            .body
            .contains("没有符合条件的合作机构")
    );

    // A blank name is refused beside the field; the rest is kept.
    let a = web
        .send(
            Method::PATCH,
            &format!("/partners/{id}"),
            &[
                ("version", "1"),
                ("name", " "),
                ("kind", "agency"),
                ("notes", "委托协议"),
            ],
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(
        a.body.contains("has-error") && a.body.contains("委托协议"),
        "{}",
        a.body
    );
    let a = web
        .send(
            Method::PATCH,
            &format!("/partners/{id}"),
            &[
                ("version", "1"),
                ("name", "深圳湖南商会(总会)"),
                ("kind", "agency"),
                ("notes", "委托协议"),
            ],
            true,
        )
        .await;
    assert_eq!(a.hx.as_deref(), Some("true"), "{}", a.body);
    let (_, p) = app.get(&format!("/api/v1/partners/{id}")).await;
    assert_eq!(
        (&p["name"], &p["kind"], &p["agreement_date"], &p["notes"]),
        (
            &json!("深圳湖南商会(总会)"),
            &json!("agency"),
            &Value::Null,
            &json!("委托协议")
        )
    );
    let viewer = Web::sign_in(&app, "viewer").await;
    assert!(!viewer.get("/partners").await.body.contains("新建合作机构"));
    assert_eq!(
        viewer
            .post("/partners", &[("name", "x"), ("kind", "other")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

async fn incubation_moves_on_its_board(app: TestApp) {
    app.company("星火芯片科技").await;
    let web = Web::sign_in(&app, "staff").await;
    let form = [
        ("company", "星火芯片科技"),
        ("cohort_year", "2024"),
        ("occurred_on", "2024-02-01"),
    ];
    let a = web.post("/incubation", &form).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let rows = api_list(&app, "/api/v1/incubation").await;
    assert_eq!((rows.len(), &rows[0]["stage"]), (1, &json!("cultivating")));
    let id = rows[0]["id"].as_i64().unwrap();
    assert_eq!(a.hx, Some(format!("/incubation/{id}")));
    // The same company twice in one cohort: refused beside the year.
    let a = web.post("/incubation", &form).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert!(a.body.contains("该企业已是本年度的培育对象") && a.body.contains("value=\"星火芯片科技\""));
    let a = web
        .post(
            "/incubation",
            &[("company", "不存在的企业"), ("occurred_on", "2024-02-01")],
        )
        .await;
    assert!(a.body.contains("请选择已登记的企业"), "{}", a.body);

    let board = web.get("/incubation?cohort_year=2024").await.body;
    let column = board.split("data-stage-column=\"cultivating\"").nth(1).unwrap();
    let column = column.split("data-stage-column").next().unwrap();
    assert!(
        column.contains("星火芯片科技") && column.contains("class=\"count\">1<"),
        "{column}"
    );
    assert!(board.contains(&format!("data-move=\"/incubation/{id}/move\"")));
    assert!(
        !web.get("/incubation?cohort_year=2023")
            .await
            .body
            .contains("星火芯片科技")
    );

    let dialog = web.get(&format!("/incubation/{id}/move")).await.body;
    assert!(
        dialog.contains("value=\"applied\" selected"),
        "the next stage is offered: {dialog}"
    );
    let a = web
        .post(
            &format!("/incubation/{id}/stage-events"),
            &[
                ("stage", "applied"),
                ("occurred_on", "2024-05-06"),
                ("note", "已提交申报材料"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(a.hx.as_deref(), Some("true"), "{}", a.body);
    let (_, c) = app.get(&format!("/api/v1/incubation/{id}")).await;
    assert_eq!(c["stage"], "applied");
    // Back to cultivating is a leader's move: refused in the dialog, with what was typed.
    let a = web
        .post(
            &format!("/incubation/{id}/stage-events"),
            &[
                ("stage", "cultivating"),
                ("occurred_on", "2024-05-07"),
                ("reason", "材料退回"),
            ],
        )
        .await;
    assert!(a.status.is_client_error() && a.body.contains("材料退回"), "{}", a.body);
    let page = web.get(&format!("/incubation/{id}")).await.body;
    assert!(
        page.contains("纳入培育 → 申报") && page.contains("已提交申报材料") && page.contains("2024-05-06"),
        "{page}"
    );
    let viewer = Web::sign_in(&app, "viewer").await;
    let board = viewer.get("/incubation").await.body;
    assert!(board.contains("星火芯片科技") && !board.contains("draggable") && !board.contains("纳入培育</button>"));
    assert_eq!(
        viewer
            .post(&format!("/incubation/{id}/stage-events"), &[("stage", "approved")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

async fn an_admin_issues_and_revokes_tokens_in_the_ui(app: TestApp) {
    let admin = Web::sign_in(&app, "admin").await;
    let leader = app.user_ids["leader"].to_string();
    let form = [
        ("user_id", leader.as_str()),
        ("name", "领导小组报表"),
        ("scopes", "read"),
        ("scopes", "export"),
        ("expires_on", "2001-01-01"),
    ];
    let a = admin.post("/system/tokens", &form).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.body.contains("有效期须在今天至两年之内") && a.body.contains("领导小组报表"),
        "{}",
        a.body
    );
    let expires = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
    let mut form = form.to_vec();
    form[4] = ("expires_on", &expires);
    let a = admin.post("/system/tokens", &form).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let secret = a
        .body
        .split("id=\"issued-token\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("the secret is shown once")
        .to_owned();
    // The token works against the API as the leader, with its scopes.
    let (s, me) = app.with_token(&secret).get("/api/v1/auth/me").await;
    assert_eq!((s, &me["user"]["username"]), (StatusCode::OK, &json!("leader")), "{me}");
    let (s, _) = app.with_token(&secret).get("/api/v1/projects").await;
    assert_eq!(s, StatusCode::OK);
    let list = admin.get("/system?tab=tokens").await.body;
    assert!(list.contains("领导小组报表") && list.contains("读取、导出") && !list.contains(&secret));
    assert!(
        list.contains(&format!("<td>{expires}</td>")),
        "the last day it works: {list}"
    );
    let (_, tokens) = app.get("/api/v1/tokens").await;
    let id = tokens["items"][0]["id"].as_i64().unwrap();
    let a = admin.post(&format!("/system/tokens/{id}/revoke"), &[]).await;
    assert_eq!(a.hx.as_deref(), Some("true"));
    let (s, _) = app.with_token(&secret).get("/api/v1/projects").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a revoked token stops working");
    assert!(admin.get("/system?tab=tokens").await.body.contains("已撤销"));
    let staff = Web::sign_in(&app, "staff").await;
    assert_eq!(staff.post("/system/tokens", &form).await.status, StatusCode::FORBIDDEN);
    assert_eq!(staff.get("/system?tab=tokens").await.status, StatusCode::FORBIDDEN);
}

async fn failed_mail_is_sent_again_and_a_job_runs_now(app: TestApp) {
    let now = chrono::Utc::now();
    let failed = entity::outbox::ActiveModel {
        idempotency_key: Set("test:resend".into()),
        kind: Set("weekly_report".into()),
        recipient: Set("leader@example.com".into()),
        subject: Set("【招商周报】测试".into()),
        html: Set("<p>x</p>".into()),
        text: Set("x".into()),
        attachments: Set(json!([])),
        message_id: Set("<resend@test>".into()),
        status: Set(entity::enums::OutboxStatus::Failed),
        attempts: Set(5),
        next_attempt_at: Set(now),
        last_error: Set(Some("550 mailbox unavailable".into())),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let admin = Web::sign_in(&app, "admin").await;
    let page = admin.get("/system?tab=outbox&status=failed").await.body;
    assert!(page.contains(&format!("/system/outbox/{}/resend", failed.id)), "{page}");
    let staff = Web::sign_in(&app, "staff").await;
    let path = format!("/system/outbox/{}/resend", failed.id);
    assert_eq!(staff.post(&path, &[]).await.status, StatusCode::FORBIDDEN);
    let a = admin.post(&path, &[]).await;
    assert_eq!(a.hx.as_deref(), Some("true"), "{}", a.body);
    let m = entity::outbox::Entity::find_by_id(failed.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m.status, m.attempts), (entity::enums::OutboxStatus::Pending, 0));
    // Only a failed message goes back; the second time it is pending and is refused.
    let (s, b) = app
        .post(&format!("/api/v1/outbox/{}/resend", failed.id), json!({}))
        .await;
    assert_eq!(
        (s, &b["code"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("not_failed")),
        "{b}"
    );

    assert_eq!(
        staff.post("/system/jobs/reminders/run", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.post("/system/jobs/nonsense/run", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    let a = admin.post("/system/jobs/reminders/run", &[]).await;
    assert_eq!(a.hx.as_deref(), Some("true"), "{}", a.body);
    let mut status = Value::Null;
    for _ in 0..100 {
        let (_, runs) = app.get("/api/v1/jobs/runs?job=reminders").await;
        status = runs["runs"]["items"][0]["status"].clone();
        if status == "succeeded" {
            assert_eq!(runs["runs"]["items"][0]["trigger"], "manual");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "succeeded", "the manual run is recorded and finishes");

    // The nightly statistics run now too; 统计分析 then offers their snapshot, the API's body as a file.
    let before = admin.get("/analytics").await.body;
    assert!(before.contains("夜间统计尚未运行") && !before.contains("/analytics/snapshot"));
    let a = admin.post("/system/jobs/analytics/run", &[]).await;
    assert_eq!(a.hx.as_deref(), Some("true"), "{}", a.body);
    let mut latest = Value::Null;
    for _ in 0..200 {
        let (s, b) = app.get("/api/v1/analytics/snapshots/latest").await;
        if s == StatusCode::OK {
            latest = b;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        latest["snapshots"].as_array().is_some_and(|s| !s.is_empty()),
        "{latest}"
    );
    assert!(
        admin
            .get("/analytics")
            .await
            .body
            .contains("href=\"/analytics/snapshot\"")
    );
    let (s, h, file) = admin.file("/analytics/snapshot").await;
    assert_eq!(s, StatusCode::OK);
    assert!(h["content-disposition"].to_str().unwrap().contains("snapshot-"));
    let file: Value = serde_json::from_slice(&file).unwrap();
    assert_eq!(
        (&file["job_run_id"], &file["as_of"], &file["snapshots"]),
        (&latest["job_run_id"], &latest["as_of"], &latest["snapshots"])
    );
}

async fn an_admin_sets_a_leader_s_weekly_report(app: TestApp) {
    let id = app.user_ids["leader"];
    let admin = Web::sign_in(&app, "admin").await;
    assert!(admin.get("/admin/users").await.body.contains("每日提醒 · 周报"));
    let dialog = admin.get(&format!("/admin/users/{id}/edit")).await.body;
    assert!(dialog.contains("name=\"weekly_report\" checked"), "{dialog}");
    let (_, u) = app.get(&format!("/api/v1/users/{id}")).await;
    let version = u["version"].to_string();
    // The box left unticked turns the weekly report off; the rest stays.
    let edit = [
        ("version", version.as_str()),
        ("username", "leader"),
        ("display_name", "测试leader"),
        ("email", "leader@example.com"),
        ("role", "leader"),
        ("reminders", "on"),
    ];
    let a = admin
        .send(Method::PATCH, &format!("/admin/users/{id}"), &edit, true)
        .await;
    assert_eq!(a.hx.as_deref(), Some("true"), "{}", a.body);
    let (_, u) = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(
        (&u["weekly_report"], &u["reminders"]),
        (&json!(false), &json!(true)),
        "{u}"
    );
    // And back on through the API.
    let (s, u) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            json!({"version": u["version"], "weekly_report": true}),
        )
        .await;
    assert_eq!((s, &u["weekly_report"]), (StatusCode::OK, &json!(true)), "{u}");
}
