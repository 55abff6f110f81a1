//! The staff web UI through HTTP (issue: UI part 1): every page for every role, forms that create and change
//! records (checked through the API), field errors, CSRF, role refusals, the session cookie and the headers.

use reqwest::{Method, StatusCode, redirect::Policy};
use serde_json::json;

use crate::{
    db_test,
    support::{PASSWORD, TestApp},
};

db_test!(
    every_page_renders_for_every_role,
    forms_create_and_change_records,
    field_errors_render_beside_the_field_and_keep_what_was_typed,
    csrf_roles_and_sign_in_are_enforced,
    the_work_summary_reads_on_the_page_and_downloads,
    an_export_downloads_from_the_form,
    an_admin_keeps_users_and_departments,
    the_analytics_page_shows_the_api_s_figures,
    a_year_s_targets_are_kept_in_one_grid,
    the_home_page_shows_a_target_s_actual_as_the_targets_page_does,
    one_s_own_settings_subscriptions_and_sessions,
    the_system_log_shows_audit_outbox_and_jobs_to_admins,
    a_period_without_records_says_so_and_links_the_latest,
    the_staffer_s_day_reads_right,
    the_province_map_is_the_api_s_figures_by_province,
);

/// A signed-in browser without a browser: a cookie jar and the page's CSRF token.
pub struct Web {
    client: reqwest::Client,
    base: String,
    csrf: String,
}

/// An answer: status, the `HX-Redirect` / `HX-Refresh` headers, and the body.
pub struct Answer {
    pub status: StatusCode,
    pub hx: Option<String>,
    /// The htmx events the answer triggers (`HX-Trigger`), as sent.
    pub trigger: Option<String>,
    pub body: String,
}

impl Web {
    /// Signs in `role` through the sign-in form.
    pub async fn sign_in(app: &TestApp, role: &str) -> Web {
        Web::sign_in_as(app, role, PASSWORD).await
    }

    /// Signs in a user through the sign-in form.
    pub async fn sign_in_as(app: &TestApp, username: &str, password: &str) -> Web {
        Web::sign_in_at(app.base_url(), username, password).await
    }

    /// Signs in a user through the sign-in form of the app at `base`.
    pub async fn sign_in_at(base: &str, username: &str, password: &str) -> Web {
        let role = username;
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap();
        let base = base.to_owned();
        let r = client
            .post(format!("{base}/login"))
            .form(&[("username", role), ("password", password), ("next", "/projects")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/projects");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        let page = client
            .get(format!("{base}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = page
            .split("\"X-CSRF-Token\": \"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("the page carries its CSRF token")
            .to_owned();
        Web { client, base, csrf }
    }

    /// GETs a file: status, headers and bytes.
    pub async fn file(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let r = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        (r.status(), r.headers().clone(), r.bytes().await.unwrap().to_vec())
    }

    /// GETs a page.
    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, &[], true).await
    }

    /// Sends a form as htmx does, with (or without) the CSRF header.
    pub async fn send(&self, method: Method, path: &str, form: &[(&str, &str)], csrf: bool) -> Answer {
        let mut r = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .header("hx-request", "true");
        if method != Method::GET {
            r = r
                .body(serde_html_form::to_string(form).unwrap())
                .header("content-type", "application/x-www-form-urlencoded");
        }
        if csrf {
            r = r.header("x-csrf-token", &self.csrf);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let hx = ["hx-redirect", "hx-refresh"]
            .iter()
            .find_map(|h| r.headers().get(*h))
            .map(|v| v.to_str().unwrap().to_owned());
        let trigger = r.headers().get("hx-trigger").map(|v| v.to_str().unwrap().to_owned());
        Answer {
            status,
            hx,
            trigger,
            body: r.text().await.unwrap(),
        }
    }

    /// POSTs a file upload (multipart, as htmx sends a form with a file) with the CSRF header.
    pub async fn upload(&self, path: &str, fields: &[(&str, &str)], file: (&str, Vec<u8>)) -> Answer {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(file.1).file_name(file.0.to_owned()),
        );
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("hx-request", "true")
            .header("x-csrf-token", &self.csrf)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let trigger = r.headers().get("hx-trigger").map(|v| v.to_str().unwrap().to_owned());
        Answer {
            status,
            hx: None,
            trigger,
            body: r.text().await.unwrap(),
        }
    }

    /// POSTs a form with the CSRF header.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.send(Method::POST, path, form, true).await
    }
}

async fn every_page_renders_for_every_role(app: TestApp) {
    let project = app.project("展示项目", "negotiating", "2024-03-01").await;
    let id = project["id"].as_i64().unwrap();
    let company = project["company_id"].as_i64().unwrap();
    let (s, _) = app
        .post(
            &format!("/api/v1/companies/{company}/contacts"),
            json!({"name": "赵经理", "phone": "13800138000"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let pages = [
        "/".to_owned(),
        "/?period=2024".to_owned(),
        "/?period=2024&as_of=2024-06-30".to_owned(),
        "/companies".to_owned(),
        format!("/companies/{company}"),
        "/projects".to_owned(),
        "/projects?stage=negotiating&reached=negotiating&reached_from=2024-01-01".to_owned(),
        "/projects/board".to_owned(),
        format!("/projects/{id}"),
        "/visits".to_owned(),
        "/blockers?overdue=true".to_owned(),
        "/password".to_owned(),
        "/analytics?period=2024-Q1&by=source".to_owned(),
        "/reports/summary?period=2024-H1".to_owned(),
        "/exports".to_owned(),
        "/targets?year=2024".to_owned(),
        "/settings".to_owned(),
        "/outreach?kind=trip&from=2024-01-01".to_owned(),
        "/partners?q=商会".to_owned(),
        "/incubation?cohort_year=2024".to_owned(),
    ];
    for role in ["admin", "leader", "staff", "viewer"] {
        let web = Web::sign_in(&app, role).await;
        for page in &pages {
            let a = web.get(page).await;
            assert_eq!(a.status, StatusCode::OK, "{role} {page}: {}", a.body);
            assert!(a.body.contains("招商引资管理系统"), "{role} {page}");
        }
        let list = web.get("/projects").await.body;
        assert!(list.contains("展示项目"));
        // The buttons follow the role; the server checks the actions anyway (below and in csrf_roles…).
        let can_edit = matches!(role, "admin" | "staff");
        assert_eq!(list.contains("新建项目"), can_edit, "{role}");
        let board = web.get("/projects/board").await.body;
        assert_eq!(board.contains("draggable=\"true\""), role != "viewer", "{role}");
        // Contact details are personal data: a viewer sees them masked.
        let company_page = web.get(&format!("/companies/{company}")).await.body;
        assert!(company_page.contains("赵经理"));
        assert_eq!(company_page.contains("13800138000"), role != "viewer", "{role}");
        let new_page = web.get("/projects/new").await;
        let expected = if can_edit {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(new_page.status, expected, "{role}");
    }
}

async fn forms_create_and_change_records(app: TestApp) {
    let web = Web::sign_in(&app, "staff").await;
    let a = web
        .post(
            "/companies",
            &[
                ("name", "网页新建科技有限公司"),
                ("industry", "电子信息"),
                ("above_size_since", "2024-03-31"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let company: i64 = a.hx.unwrap().trim_start_matches("/companies/").parse().unwrap();
    let (_, c) = app.as_user("viewer").get(&format!("/api/v1/companies/{company}")).await;
    assert_eq!(
        (c["industry"].clone(), c["above_size_since"].clone()),
        (json!("电子信息"), json!("2024-03-31"))
    );
    assert!(
        web.get(&format!("/companies/{company}"))
            .await
            .body
            .contains("2024-03-31 起")
    );
    // 扶持资金 on the company page: the form keeps what was typed beside an error, then records the fund.
    let dialog = web.get(&format!("/companies/{company}/support-funds/new")).await;
    assert!(
        dialog.body.contains("登记扶持资金") && dialog.body.contains("区级"),
        "{}",
        dialog.body
    );
    let form = [
        ("programme", "技术改造专项资金"),
        ("level", "provincial"),
        ("amount", "0"),
        ("approved_on", "2024-04-02"),
    ];
    let bad = web.post(&format!("/companies/{company}/support-funds"), &form).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("value=\"技术改造专项资金\""), "{}", bad.body);
    let mut form = form;
    form[2].1 = "1,200.5";
    let ok = web.post(&format!("/companies/{company}/support-funds"), &form).await;
    assert_eq!(
        (ok.status, ok.hx.as_deref()),
        (StatusCode::OK, Some("true")),
        "{}",
        ok.body
    );
    let (_, funds) = app.get(&format!("/api/v1/support-funds?company_id={company}")).await;
    assert_eq!(
        (
            funds["total"].clone(),
            funds["items"][0]["amount"].clone(),
            funds["items"][0]["level"].clone()
        ),
        (json!(1), json!("1200.5"), json!("provincial"))
    );
    assert!(
        web.get(&format!("/companies/{company}"))
            .await
            .body
            .contains("技术改造专项资金(省级)· 1,200.50 万元")
    );
    let bad_phone = web
        .post(
            &format!("/companies/{company}/contacts"),
            &[("name", "钱经理"), ("phone", "call me")],
        )
        .await;
    assert_eq!(bad_phone.status, StatusCode::BAD_REQUEST);
    assert!(bad_phone.body.contains("电话号码格式无效") && bad_phone.body.contains("value=\"钱经理\""));
    let contact = web
        .post(
            &format!("/companies/{company}/contacts"),
            &[("name", "钱经理"), ("phone", "0551-6512 3456")],
        )
        .await;
    assert_eq!(contact.hx.as_deref(), Some("true"), "{}", contact.body);
    let (_, contacts) = app
        .as_user("staff")
        .get(&format!("/api/v1/companies/{company}/contacts"))
        .await;
    assert_eq!(contacts["items"][0]["phone"], "0551-6512 3456");

    let a = web
        .post(
            "/projects",
            &[
                ("name", "网页新建项目"),
                ("company", "网页新建科技有限公司"),
                ("stage", "negotiating"),
                ("occurred_on", "2024-05-06"),
                ("agreed_investment", "12,000.5"),
                ("is_major", "on"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let id: i64 = a.hx.unwrap().trim_start_matches("/projects/").parse().unwrap();
    let (_, p) = app.as_user("viewer").get(&format!("/api/v1/projects/{id}")).await;
    assert_eq!(
        (p["stage"].as_str(), p["is_major"].as_bool()),
        (Some("negotiating"), Some(true))
    );
    assert_eq!(p["agreed_investment"], "12000.5");

    let moved = web
        .post(
            &format!("/projects/{id}/stage-events"),
            &[("stage", "signed"), ("occurred_on", "2024-06-01")],
        )
        .await;
    assert_eq!(
        (moved.status, moved.hx.as_deref()),
        (StatusCode::OK, Some("true")),
        "{}",
        moved.body
    );
    let (_, p) = app.as_user("viewer").get(&format!("/api/v1/projects/{id}")).await;
    assert_eq!(p["stage"], "signed");
    let page = web.get(&format!("/projects/{id}")).await.body;
    assert!(page.contains("洽谈 → 签约"), "the timeline shows the move");

    let company = company.to_string();
    let project = id.to_string();
    let visit = [
        ("visit_date", "2024-06-03"),
        ("headcount", "4"),
        ("company_ids", company.as_str()),
        ("project_ids", project.as_str()),
        ("receiving_leaders", "王建国、李明"),
        ("purpose", "考察园区"),
    ];
    let a = web.post("/visits", &visit).await;
    assert_eq!(
        (a.status, a.hx.as_deref()),
        (StatusCode::OK, Some("true")),
        "{}",
        a.body
    );
    let (_, v) = app
        .as_user("viewer")
        .get("/api/v1/visits?from=2024-06-03&to=2024-06-03")
        .await;
    assert_eq!(v["items"][0]["headcount"], 4);
    assert_eq!(v["items"][0]["receiving_leaders"], json!(["王建国", "李明"]));
    assert_eq!(v["items"][0]["project_ids"], json!([id]));
    let list = web.get("/visits?from=2024-06-01&to=2024-06-30").await.body;
    assert!(
        list.contains("<strong>1</strong> 批次,<strong>4</strong> 人次"),
        "{list}"
    );

    // A company typed in the visit form comes back as its chip and is not written until the visit is saved.
    let chip = web.get("/visits/new-company-chip?name=现场新建企业").await;
    assert!(chip.body.contains("value=\"new:现场新建企业\""), "{}", chip.body);
    let (_, found) = app.as_user("viewer").get("/api/v1/companies?q=现场新建企业").await;
    assert_eq!(found["total"], 0);
    // A refused visit (no headcount) with a new company and project writes neither.
    let refused = web
        .post(
            "/visits",
            &[
                ("visit_date", "2024-06-04"),
                ("company_ids", "new:现场新建企业"),
                ("project_ids", "new:现场新建项目"),
                ("new_project_company", ""),
                ("new_project_industry", "新材料"),
                ("new_project_investment", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.body.contains("value=\"new:现场新建项目\""),
        "what was typed stays: {}",
        refused.body
    );
    assert!(refused.body.contains("value=\"新材料\""), "{}", refused.body);
    let (_, found) = app.as_user("viewer").get("/api/v1/companies?q=现场新建企业").await;
    assert_eq!(found["total"], 0);

    let blocker = web
        .post(
            &format!("/projects/{id}/blockers"),
            &[("title", "用地指标未落实"), ("category", "land")],
        )
        .await;
    assert_eq!(blocker.status, StatusCode::OK, "{}", blocker.body);
    let (_, b) = app
        .as_user("viewer")
        .get(&format!("/api/v1/blockers?project_id={id}"))
        .await;
    assert_eq!(b["items"][0]["status"], "open");
}

async fn field_errors_render_beside_the_field_and_keep_what_was_typed(app: TestApp) {
    let web = Web::sign_in(&app, "staff").await;
    let a = web
        .post(
            "/companies",
            &[("name", "校验码错误公司"), ("credit_code", "91350100M000100Y42")],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("has-error"), "{}", a.body);
    assert!(a.body.contains("统一社会信用代码无效"), "{}", a.body);
    assert!(a.body.contains("value=\"校验码错误公司\""), "what was typed stays");

    let no_company = web
        .post(
            "/visits",
            &[("visit_date", "2024-06-03"), ("headcount", "3"), ("purpose", "路过")],
        )
        .await;
    assert_eq!(no_company.status, StatusCode::BAD_REQUEST);
    assert!(
        no_company.body.contains("来访记录须至少填写一家企业"),
        "{}",
        no_company.body
    );
    assert!(no_company.body.contains("value=\"路过\""), "what was typed stays");

    let p = app.project("并发修改项目", "lead", "2024-01-05").await;
    let id = p["id"].as_i64().unwrap();
    let (s, _) = app
        .as_user("staff")
        .patch(
            &format!("/api/v1/projects/{id}"),
            json!({"version": p["version"], "notes": "别人先改了"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let company = app
        .as_user("viewer")
        .get(&format!("/api/v1/companies/{}", p["company_id"]))
        .await
        .1;
    let stale = web
        .send(
            Method::PATCH,
            &format!("/projects/{id}"),
            &[
                ("version", &p["version"].to_string()),
                ("name", "并发修改项目"),
                ("company", company["name"].as_str().unwrap()),
                ("notes", "我写的备注"),
            ],
            true,
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("重新加载"), "{}", stale.body);
    assert!(stale.body.contains("我写的备注"), "nothing typed is lost");

    let bad_move = web
        .post(
            &format!("/projects/{id}/stage-events"),
            &[("stage", "producing"), ("occurred_on", "2023-01-01")],
        )
        .await;
    assert!(
        bad_move.status.is_client_error(),
        "{} {}",
        bad_move.status,
        bad_move.body
    );
    assert!(bad_move.body.contains("class=\"alert\"") || bad_move.body.contains("has-error"));
}

async fn csrf_roles_and_sign_in_are_enforced(app: TestApp) {
    let anonymous = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let r = anonymous
        .get(format!("{}/projects", app.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=%2Fprojects");
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"), "{csp}");

    let wrong = anonymous
        .post(format!("{}/login", app.base_url()))
        .form(&[("username", "staff"), ("password", "not the password")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("用户名或密码错误"));

    let web = Web::sign_in(&app, "staff").await;
    let forged = web
        .send(Method::POST, "/companies", &[("name", "跨站伪造公司")], false)
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let (_, found) = app.as_user("viewer").get("/api/v1/companies?q=跨站伪造公司").await;
    assert_eq!(found["total"], 0, "nothing was written");

    let viewer = Web::sign_in(&app, "viewer").await;
    let refused = viewer.post("/companies", &[("name", "查看者不能建的公司")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Signing out ends the session: the old cookie no longer opens a page.
    let out = web.post("/logout", &[]).await;
    assert_eq!(out.hx.as_deref(), Some("/login"));
    let after = web.get("/projects").await;
    assert!(
        after.hx.is_some_and(|to| to.starts_with("/login")),
        "an htmx request is sent to sign in"
    );

    // The embedded assets: content-hashed names, compressed, cached for a year.
    let page = Web::sign_in(&app, "staff").await.get("/").await.body;
    let css = page
        .split("href=\"/assets/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let r = reqwest::Client::new()
        .get(format!("{}/assets/{css}", app.base_url()))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert!(
        r.text().await.unwrap().contains(".sidemenu"),
        "decompressed by the client"
    );
}

/// 工作总结: the page shows the summary of the period picked (the demo park's 2024 half-year, as the API writes
/// it), and downloads it as a Word document and as Markdown; a part of the year that is none is an error on its
/// field.
async fn the_work_summary_reads_on_the_page_and_downloads(app: TestApp) {
    use std::io::Read;
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let web = Web::sign_in(&app, "viewer").await;
    // The picker's fields move to the address with the period named, so the address is a link to the figures.
    let picked = web.file("/reports/summary?year=2024&span=-H1").await;
    assert_eq!(picked.0, StatusCode::SEE_OTHER);
    assert_eq!(picked.1["location"], "/reports/summary?period=2024-H1");
    let page = web.get("/reports/summary?period=2024-H1").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<option value=\"-H1\" selected>"),
        "the picker shows the period of the address"
    );
    for part in [
        "2024年上半年招商引资工作总结",
        "42批278人次",
        "下载 Word",
        "数据截至 2024-06-30",
    ] {
        assert!(page.body.contains(part), "the page lacks {part}");
    }
    let (s, h, docx) = web.file("/reports/summary/file?year=2024&span=-H1&format=docx").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .contains("summary-2024-H1.docx")
    );
    let mut xml = String::new();
    zip::ZipArchive::new(std::io::Cursor::new(docx))
        .unwrap()
        .by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    assert!(xml.contains("42批278人次"), "the Word document carries the figures");
    let (_, h, md) = web
        .file("/reports/summary/file?year=2024&span=-H1&format=markdown")
        .await;
    assert!(h["content-type"].to_str().unwrap().starts_with("text/markdown"));
    assert!(
        String::from_utf8(md)
            .unwrap()
            .starts_with("# 2024年上半年招商引资工作总结")
    );
    let bad = web.get("/reports/summary?year=2024&span=-H9").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("has-error") && bad.body.contains("请选择列表中的一项"),
        "{}",
        bad.body
    );
}

/// 数据导出: the form downloads a workbook that opens with the dataset's header, audited like the API's; a funnel
/// without a period answers the form again with the error beside the period.
async fn an_export_downloads_from_the_form(app: TestApp) {
    use calamine::{Data, Reader, Xlsx};
    app.project("导出项目", "negotiating", "2024-03-01").await;
    let web = Web::sign_in(&app, "staff").await;
    let page = web.get("/exports").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("数据导出") && page.body.contains("项目漏斗"));
    let (s, h, xlsx) = web
        .file("/exports/file?dataset=projects&format=xlsx&stage=negotiating&from=&to=")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(h["content-disposition"].to_str().unwrap().contains(".xlsx"));
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(sheet.get((0, 1)), Some(&Data::String("项目名称".into())));
    assert_eq!(sheet.get((1, 1)), Some(&Data::String("导出项目".into())));
    let (_, log) = app.get("/api/v1/audit?action=export").await;
    assert_eq!(log["items"][0]["path"], "/exports/projects", "{log}");
    assert_eq!(log["items"][0]["detail"]["rows"], 1, "{log}");
    let bad = web.get("/exports/file?dataset=funnel&format=csv&period=").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("has-error") && bad.body.contains("请给出期间"),
        "{}",
        bad.body
    );
}

/// 用户与部门: an admin creates a department and a user in it with a data scope, changes and clears them, and is
/// told beside the field what is wrong; nobody else sees the menu or may post the forms.
async fn an_admin_keeps_users_and_departments(app: TestApp) {
    let admin = Web::sign_in(&app, "admin").await;
    let page = admin.get("/admin/users").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("新建用户") && page.body.contains("尚未设立部门"));
    assert!(
        page.body.contains("<title>用户与部门 · 招商引资管理系统</title>"),
        "{}",
        page.body
    );
    // A contact leader written as a name no account has is listed for the admin to fix.
    let company = app.company("关联测试有限公司").await;
    let (s, p) = app
        .post(
            "/api/v1/projects",
            json!({"name": "待关联项目", "company_id": company, "stage": "lead", "occurred_on": "2024-03-01", "contact_leader": "无名氏"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let page = admin.get("/admin/users").await.body;
    assert!(page.contains("待关联项目</a>:无名氏"), "{page}");
    let ok = admin
        .send(
            Method::POST,
            "/admin/departments",
            &[("name", "招商一局"), ("parent_id", "")],
            true,
        )
        .await;
    assert_eq!(
        (ok.status, ok.hx.as_deref()),
        (StatusCode::OK, Some("true")),
        "{}",
        ok.body
    );
    let (_, d) = app.get("/api/v1/departments").await;
    let dept = d[0]["id"].as_i64().unwrap().to_string();
    let user = [
        ("username", "zhangsan"),
        ("display_name", "张三"),
        ("email", "zhangsan@example.com"),
        ("role", "staff"),
        ("department_id", dept.as_str()),
        ("data_scope", "own"),
        ("password", "short"),
        ("reminders", "on"),
    ];
    let bad = admin.send(Method::POST, "/admin/users", &user, true).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("has-error") && bad.body.contains("zhangsan"),
        "what was typed stays: {}",
        bad.body
    );
    let mut user = user.to_vec();
    user[6].1 = "a-long-password-123";
    let ok = admin.send(Method::POST, "/admin/users", &user, true).await;
    assert_eq!(ok.hx.as_deref(), Some("true"), "{}", ok.body);
    let (_, users) = app.get("/api/v1/users").await;
    let u = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "zhangsan")
        .unwrap()
        .clone();
    assert_eq!(
        (
            u["department_id"].to_string(),
            u["data_scope"].clone(),
            u["reminders"].clone()
        ),
        (dept.clone(), json!("own"), json!(true)),
        "{u}"
    );
    assert!(admin.get("/admin/users").await.body.contains("本人相关"));
    // Cleared department and scope, reminders off: what an unticked box and a blank select mean.
    let id = u["id"].as_i64().unwrap();
    let version = u["version"].to_string();
    let edit = [
        ("version", version.as_str()),
        ("username", "zhangsan"),
        ("display_name", "张三丰"),
        ("email", ""),
        ("role", "staff"),
        ("department_id", ""),
        ("data_scope", ""),
        ("password", ""),
    ];
    let ok = admin
        .send(Method::PATCH, &format!("/admin/users/{id}"), &edit, true)
        .await;
    assert_eq!(ok.hx.as_deref(), Some("true"), "{}", ok.body);
    let (_, u) = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(
        (
            u["display_name"].clone(),
            u["department_id"].clone(),
            u["data_scope"].clone(),
            u["reminders"].clone()
        ),
        (json!("张三丰"), json!(null), json!(null), json!(false)),
        "{u}"
    );
    // Stale: the form was read before that change.
    let stale = admin
        .send(Method::PATCH, &format!("/admin/users/{id}"), &edit, true)
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(
        stale.body.contains("重新加载") && stale.body.contains("编辑用户:zhangsan") && stale.body.contains("张三丰"),
        "{}",
        stale.body
    );
    // Nobody else may.
    for role in ["leader", "staff", "viewer"] {
        let web = Web::sign_in(&app, role).await;
        assert!(!web.get("/").await.body.contains("用户与部门"), "{role}");
        assert_eq!(web.get("/admin/users").await.status, StatusCode::FORBIDDEN, "{role}");
        let posted = web.send(Method::POST, "/admin/users", &user, true).await;
        assert_eq!(posted.status, StatusCode::FORBIDDEN, "{role}");
    }
}

/// The counts in the funnel table of a page.
fn funnel_counts(page: &str) -> Vec<i64> {
    let table = page
        .split("id=\"funnel-table\"")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    table
        .split("<tr><td>")
        .skip(1)
        .map(|row| {
            let cell = row.split("<td class=\"num\">").nth(1).unwrap();
            cell.split('<').next().unwrap().parse().unwrap()
        })
        .collect()
}

/// 统计分析: for a half-year, a custom range, a week and the incubation cohorts, the page shows the API's counts;
/// a breakdown shows its groups; a picker that names no period answers with the error beside the field.
async fn the_analytics_page_shows_the_api_s_figures(app: TestApp) {
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let web = Web::sign_in(&app, "staff").await;
    for (picked, page, api) in [
        ("year=2024&span=-H1", "period=2024-H1", "period=2024-H1"),
        (
            "year=2024&span=custom&from=2024-02-10&to=2024-08-31",
            "period=2024-02-10%2F2024-08-31",
            "from=2024-02-10&to=2024-08-31",
        ),
        ("year=2024&span=week&week=21", "period=2024-W21", "period=2024-W21"),
        (
            "year=2024&span=&kind=cohort",
            "period=2024&kind=cohort",
            "period=2024&kind=cohort",
        ),
        (
            "year=2024&span=&pipeline=incubation&by=cohort_year",
            "period=2024&pipeline=incubation&by=cohort_year",
            "period=2024&pipeline=incubation&by=cohort_year",
        ),
    ] {
        let (status, headers, _) = web.file(&format!("/analytics?{picked}")).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{picked}");
        assert_eq!(headers["location"], format!("/analytics?{page}").as_str(), "{picked}");
        let a = web.get(&format!("/analytics?{page}")).await;
        assert_eq!(a.status, StatusCode::OK, "{page}: {}", a.body);
        let (_, f) = app.get(&format!("/api/v1/analytics/funnel?{api}")).await;
        let want: Vec<i64> = f["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["count"].as_i64().unwrap())
            .collect();
        assert_eq!(funnel_counts(&a.body), want, "{page}");
        assert!(a.body.contains("主要指标"), "{page}");
    }
    let by = web.get("/analytics?period=2024-H1&by=industry").await.body;
    assert!(by.contains("分组") && by.contains("新能源"), "{by}");
    for (page, message) in [
        ("year=2024&span=week&week=", "请填写 1—53 之间的周次"),
        ("year=2024&span=custom&from=2024-05-01", "请填写截止日期"),
        ("period=2024-H1&by=cohort_year", "cohort_year"),
        ("period=2024-H7", "期间无法识别"),
    ] {
        let a = web.get(&format!("/analytics?{page}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{page}");
        assert!(
            a.body.contains("has-error") || a.body.contains(message),
            "{page}: {}",
            a.body
        );
        assert!(a.body.contains(message), "{page}: {}", a.body);
    }
}

/// The targets of 2024 as metric → value (as the API writes them).
async fn targets_of_2024(app: &TestApp) -> Vec<(String, String)> {
    let (_, t) = app.get("/api/v1/targets?year=2024").await;
    let mut out: Vec<(String, String)> = t["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["metric"].as_str().unwrap().to_owned(),
                t["value"].to_string().replace('"', ""),
            )
        })
        .collect();
    out.sort();
    out
}

/// 工作台's target table and the 年度目标 grid show an actual in 万元 to the cent of a 万元 with separated thousands
/// (the API keeps it exact): the demo park's funds arrived in 2024 are 39022.909 万元.
async fn the_home_page_shows_a_target_s_actual_as_the_targets_page_does(app: TestApp) {
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let (_, kpis) = app.get("/api/v1/analytics/kpis?period=2024").await;
    let funds = kpis["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metric"] == "funds_arrived");
    assert_eq!(funds.unwrap()["actual"], "39022.909", "{kpis}");
    let web = Web::sign_in(&app, "viewer").await;
    for page in ["/?period=2024", "/targets?year=2024"] {
        let body = web.get(page).await.body;
        assert!(body.contains(">39,022.91</td>"), "{page}: {body}");
        assert!(!body.contains("39,022.909"), "{page}");
    }
}

/// 年度目标: the grid sets targets, shows their completion, clears one by emptying it, and saves all or nothing (a bad
/// value is shown beside its field, nothing of the grid is written); a viewer can only read it.
async fn a_year_s_targets_are_kept_in_one_grid(app: TestApp) {
    let web = Web::sign_in(&app, "staff").await;
    let page = web.get("/targets?year=2024").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("接待客商批次") && page.body.contains("name=\"value_visit_batches\""));
    let ok = web
        .send(
            Method::POST,
            "/targets?year=2024",
            &[
                ("value_visit_batches", "40"),
                ("value_signed_investment", "5,000"),
                ("value_projects_signed", ""),
            ],
            true,
        )
        .await;
    assert_eq!(ok.hx.as_deref(), Some("true"), "{}", ok.body);
    let set = vec![
        ("signed_investment".to_owned(), "5000".to_owned()),
        ("visit_batches".to_owned(), "40".to_owned()),
    ];
    assert_eq!(targets_of_2024(&app).await, set);
    let page = web.get("/targets?year=2024").await.body;
    assert!(
        page.contains("value=\"40\"") && page.contains("时间进度") && page.contains("0.0%"),
        "{page}"
    );
    // One bad value: the error beside it, what was typed kept, nothing of the grid written.
    let bad = web
        .send(
            Method::POST,
            "/targets?year=2024",
            &[
                ("value_visit_batches", ""),
                ("version_visit_batches", "1"),
                ("value_signed_investment", "6000"),
                ("version_signed_investment", "1"),
                ("value_projects_signed", "1.5"),
            ],
            true,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(
        bad.body.contains("数量目标须为整数") && bad.body.contains("value=\"6000\""),
        "{}",
        bad.body
    );
    assert_eq!(targets_of_2024(&app).await, set, "all or nothing");
    let ok = web
        .send(
            Method::POST,
            "/targets?year=2024",
            &[
                ("value_visit_batches", ""),
                ("version_visit_batches", "1"),
                ("value_signed_investment", "6000"),
                ("version_signed_investment", "1"),
            ],
            true,
        )
        .await;
    assert_eq!(ok.hx.as_deref(), Some("true"), "{}", ok.body);
    assert_eq!(
        targets_of_2024(&app).await,
        [("signed_investment".to_owned(), "6000".to_owned())]
    );
    let viewer = Web::sign_in(&app, "viewer").await;
    assert!(!viewer.get("/targets?year=2024").await.body.contains("target-input"));
    let refused = viewer
        .send(
            Method::POST,
            "/targets?year=2024",
            &[("value_visit_batches", "1")],
            true,
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

/// 个人设置: the subscriptions change as the boxes say; another session of one's own can be ended (it is signed out),
/// a session that is not one's own cannot.
async fn one_s_own_settings_subscriptions_and_sessions(app: TestApp) {
    let web = Web::sign_in(&app, "staff").await;
    let page = web.get("/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("个人设置") && page.body.contains("当前会话") && !page.body.contains("weekly_report"));
    let ids = |page: &str| -> Vec<String> {
        page.split("hx-delete=\"/settings/sessions/")
            .skip(1)
            .filter_map(|s| s.split('"').next().map(str::to_owned))
            .collect()
    };
    let before = ids(&page.body);
    // A staffer is not offered the weekly report (leaders get it): a box sent by hand does not change it.
    let saved = web
        .send(Method::POST, "/settings/subscription", &[("weekly_report", "on")], true)
        .await;
    assert!(saved.body.contains("已保存"), "{}", saved.body);
    let (_, users) = app.get("/api/v1/users").await;
    let me = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "staff")
        .unwrap()
        .clone();
    assert_eq!(
        (me["weekly_report"].clone(), me["reminders"].clone()),
        (json!(true), json!(false)),
        "{me}"
    );
    let other = Web::sign_in(&app, "staff").await;
    assert_eq!(other.get("/").await.status, StatusCode::OK);
    let after = ids(&web.get("/settings").await.body);
    let id = after
        .iter()
        .find(|i| !before.contains(i))
        .expect("the new session can be ended")
        .clone();
    let ended = web
        .send(Method::DELETE, &format!("/settings/sessions/{id}"), &[], true)
        .await;
    assert_eq!(ended.hx.as_deref(), Some("true"));
    let gone = other.get("/").await;
    assert_eq!(
        gone.hx.as_deref(),
        Some("/login?next=%2F"),
        "the ended session is sent to sign in"
    );
    let still = web.get("/").await;
    assert_eq!((still.status, still.hx), (StatusCode::OK, None), "this one is not");
    let foreign = web.send(Method::DELETE, "/settings/sessions/999999", &[], true).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

/// 系统日志: the audit log filtered by user and action, the outbox and the jobs with their schedule, for admins only.
async fn the_system_log_shows_audit_outbox_and_jobs_to_admins(app: TestApp) {
    let admin = Web::sign_in(&app, "admin").await;
    let audit = admin.get("/system?tab=audit&username=admin&action=login_success").await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    assert!(
        audit.body.contains(">登录</span>") && !audit.body.contains("<td>测试staff</td>"),
        "{}",
        audit.body
    );
    let none = admin
        .get("/system?tab=audit&action=login_success&from=2001-01-01&to=2001-01-02")
        .await;
    assert!(none.body.contains("没有符合条件的记录"), "a day range is applied");
    let outbox = admin.get("/system?tab=outbox&status=failed").await;
    assert!(outbox.body.contains("发件箱是空的"), "{}", outbox.body);
    let jobs = admin.get("/system?tab=jobs").await;
    for job in ["analytics", "weekly_report", "reminders"] {
        assert!(jobs.body.contains(&format!("<td>{job}</td>")), "{job}: {}", jobs.body);
    }
    for role in ["leader", "staff", "viewer"] {
        let web = Web::sign_in(&app, role).await;
        assert_eq!(web.get("/system").await.status, StatusCode::FORBIDDEN, "{role}");
        assert!(!web.get("/").await.body.contains("系统日志"), "{role}");
    }
}

/// The demo park's records end in 2024: this year's 工作台, 统计分析 and 工作总结 say that their period holds nothing
/// and link the latest period of the same kind that does; a period with records says nothing of the kind.
async fn a_period_without_records_says_so_and_links_the_latest(app: TestApp) {
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let (_, visits) = app.get("/api/v1/visits?per_page=1").await;
    let last = visits["items"][0]["visit_date"].as_str().unwrap().to_owned();
    let half = if last[5..7] <= *"06" { "H1" } else { "H2" };
    let web = Web::sign_in(&app, "viewer").await;
    for (page, link) in [
        ("/", format!("<a href=\"/?period={}\">查看 ", &last[..4])),
        (
            "/analytics",
            format!("<a href=\"/analytics?period={}-{half}\">查看 ", &last[..4]),
        ),
        (
            "/reports/summary",
            format!("<a href=\"/reports/summary?period={}-{half}\">查看 ", &last[..4]),
        ),
    ] {
        let body = web.get(page).await.body;
        assert!(
            body.contains("所选期间暂无记录") && body.contains(&link),
            "{page} lacks {link}: {body}"
        );
    }
    for page in [
        "/?period=2024",
        "/analytics?period=2024-H1",
        "/reports/summary?period=2024-H1",
    ] {
        assert!(!web.get(page).await.body.contains("所选期间暂无记录"), "{page}");
    }
}

/// What a staffer meets in the day: a flow funnel where a later stage exceeds an earlier one is drawn as bars with
/// its note (the cohort funnel never is); stock figures say so; the project timeline names people by their names
/// and gives a blocker's due date; the home page puts a staffer's to-dos first and a leader's figures first; a
/// viewer has no 数据导入.
async fn the_staffer_s_day_reads_right(app: TestApp) {
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let web = Web::sign_in(&app, "staff").await;
    let (_, f) = app.get("/api/v1/analytics/funnel?period=2023-H1").await;
    let counts: Vec<i64> = f["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["count"].as_i64().unwrap())
        .collect();
    assert!(
        counts[1] > counts[0],
        "the demo park's 2023-H1 negotiates more than it leads: {counts:?}"
    );
    let flow = web.get("/analytics?period=2023-H1").await.body;
    assert!(
        flow.contains("故以柱状图显示") && flow.contains("&quot;bars&quot;:true") || flow.contains("\"bars\":true"),
        "{flow}"
    );
    let cohort = web.get("/analytics?period=2023-H1&kind=cohort").await.body;
    assert!(
        !cohort.contains("故以柱状图显示") && cohort.contains("\"bars\":false"),
        "{cohort}"
    );
    assert!(flow.contains("在建在谈重大项目个数(存量)"));

    // A move and a blocker recorded by the staffer: the timeline says 测试staff, not the login, and the due date.
    let (_, p) = app.get("/api/v1/projects?per_page=1&stage=negotiating").await;
    let id = p["items"][0]["id"].as_i64().unwrap();
    let b = web
        .post(
            &format!("/projects/{id}/blockers"),
            &[
                ("title", "供电容量不足"),
                ("category", "facilities"),
                ("due_date", "2027-01-31"),
            ],
        )
        .await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.body);
    // "难题已登记", its non-ASCII letters escaped for the header.
    let toast = b.trigger.unwrap_or_default();
    assert!(
        toast.contains("\\u96be\\u9898\\u5df2\\u767b\\u8bb0"),
        "a save answers with its confirmation: {toast}"
    );
    let (_, v) = app.get(&format!("/api/v1/projects/{id}")).await;
    let version = v["version"].to_string();
    let moved = web
        .post(
            &format!("/projects/{id}/stage-events"),
            &[
                ("stage", "signed"),
                ("occurred_on", "2025-01-06"),
                ("version", version.as_str()),
            ],
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let page = web.get(&format!("/projects/{id}")).await.body;
    assert!(page.contains("<small>测试staff</small>"), "the mover by name: {page}");
    assert!(!page.contains("<small>staff</small>"), "{page}");
    assert!(page.contains("期限 2027-01-31"), "{page}");

    // Home: a staffer's to-dos come before the figures, six of which show before 更多; a leader's figures first.
    let home = web.get("/?period=2024").await.body;
    let todo = home.find("class=\"card todo\"").unwrap();
    let kpis = home.find("class=\"kpis\"").unwrap();
    assert!(todo < kpis, "to-dos first for staff");
    assert!(home.contains("更多指标"), "{home}");
    let leader = Web::sign_in(&app, "leader").await.get("/?period=2024").await.body;
    assert!(leader.find("class=\"kpis\"").unwrap() < leader.find("class=\"card todo\"").unwrap());
    assert!(!leader.contains("更多指标"));

    // A viewer neither sees 数据导入 nor may preview a ledger.
    let viewer = Web::sign_in(&app, "viewer").await;
    assert!(!viewer.get("/").await.body.contains("href=\"/imports\""));
    assert_eq!(viewer.get("/imports").await.status, StatusCode::FORBIDDEN);
}

/// 客商来源地图 on 统计分析: every province's visits and person-times are those of the API's visits of the period
/// by their companies' provinces, its projects those of the API's funnel broken down by province; a province's
/// link lists the projects of its investors.
async fn the_province_map_is_the_api_s_figures_by_province(app: TestApp) {
    use std::collections::{BTreeMap, BTreeSet};
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let web = Web::sign_in(&app, "viewer").await;
    let page = web.get("/analytics?period=2024-H1").await.body;
    let island = page
        .split("<script type=\"application/json\" id=\"map-data\">")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .expect("the map's data");
    let map: serde_json::Value = serde_json::from_str(island).unwrap();
    let on_map: BTreeMap<String, (i64, i64, i64, i64)> = map["provinces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_i64().unwrap();
            (
                p["name"].as_str().unwrap().to_owned(),
                (n("value"), n("person_times"), n("projects"), n("signed")),
            )
        })
        .collect();

    let (_, companies) = app.get("/api/v1/companies?per_page=200").await;
    let province: BTreeMap<i64, String> = companies["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| Some((c["id"].as_i64()?, c["province"].as_str()?.to_owned())))
        .collect();
    let (_, visits) = app
        .get("/api/v1/visits?from=2024-01-01&to=2024-06-30&per_page=200")
        .await;
    let mut want: BTreeMap<String, (i64, i64, i64, i64)> = BTreeMap::new();
    for v in visits["items"].as_array().unwrap() {
        let of: BTreeSet<&String> = v["company_ids"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| province.get(&c.as_i64().unwrap()))
            .collect();
        for p in of {
            let e = want.entry(p.clone()).or_default();
            e.0 += 1;
            e.1 += v["headcount"].as_i64().unwrap();
        }
    }
    let (_, f) = app.get("/api/v1/analytics/funnel?period=2024-H1&by=province").await;
    for g in f["groups"].as_array().unwrap() {
        let key = g["key"].as_str().unwrap();
        if key == "(未填)" {
            continue;
        }
        let count = |i: usize| g["stages"][i]["count"].as_i64().unwrap();
        let e = want.entry(key.to_owned()).or_default();
        (e.2, e.3) = (count(0), count(2));
    }
    want.retain(|_, v| *v != (0, 0, 0, 0));
    let on_map: BTreeMap<_, _> = on_map.into_iter().filter(|(_, v)| *v != (0, 0, 0, 0)).collect();
    assert!(
        want.len() > 5,
        "the demo park's investors come from many provinces: {want:?}"
    );
    assert_eq!(on_map, want);

    // 广东's link lists the projects of 广东's companies, and only those.
    assert!(
        page.contains("href=\"/projects?province=%E5%B9%BF%E4%B8%9C\""),
        "the table's link"
    );
    let listed = web.get("/projects?province=%E5%B9%BF%E4%B8%9C").await.body;
    let mut expected = 0;
    for (id, p) in &province {
        if p == "广东" {
            let (_, ps) = app.get(&format!("/api/v1/projects?company_id={id}")).await;
            expected += ps["total"].as_i64().unwrap();
        }
    }
    assert!(expected > 0);
    assert!(
        listed.contains(&format!("共 {expected} 条")),
        "{expected} projects of 广东: {listed}"
    );
}
