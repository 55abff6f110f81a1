//! Work chat against a local server that plays 企业微信, 钉钉 and 飞书 (tests/chat_platforms.py): it checks each
//! platform's signature, message shape and size limit, issues and expires applications' tokens, rate-limits robots
//! and answers with the platforms' codes.

use std::{process::Child, time::Duration};

use chrono::Utc;
use entity::{channel, enums::OutboxStatus, outbox};
use jobs::outbox::{Dispatcher, MailConfig};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    db_test,
    mail::free_port,
    support::{TestApp, assert_error},
};

db_test!(
    the_weekly_summary_reaches_each_kind_of_channel,
    a_department_s_digest_and_a_failed_job_s_alert,
    a_rate_limited_robot_catches_up_and_twenty_a_minute_are_kept,
    a_bad_secret_fails_once_with_the_platform_s_message,
    a_send_cut_off_midway_is_neither_lost_nor_repeated,
    the_channels_page_is_the_admins_and_the_chat_id_is_one_s_own,
);

/// The robots' keys and secrets, and the applications' credentials, the platform server knows.
pub const WECOM_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";
const DINGTALK_TOKEN: &str = "e9a8118c8a3dc0e2df9e3f7e7d57adbc";
const DINGTALK_SECRET: &str = "SEC10d6e79b42bd94be0d0d6038436";
const FEISHU_HOOK: &str = "2a5b4c1e-8f3d-4e6a-9b7c-1d2e3f4a5b6c";
const FEISHU_SECRET: &str = "qYHX7cxNzjb0lFSt";
const WECOM_CORP: &str = "ww1234567890abcdef";
const WECOM_SECRET: &str = "wecom-app-secret-0123456789";
const DING_KEY: &str = "dingappkey0123";
const DING_SECRET: &str = "dingtalk-app-secret-0123456789";

/// Fails if `text` holds any of the keys or secrets the channels were registered with.
fn assert_no_secret(text: &str) {
    for secret in [
        WECOM_KEY,
        DINGTALK_TOKEN,
        DINGTALK_SECRET,
        FEISHU_HOOK,
        FEISHU_SECRET,
        WECOM_SECRET,
        DING_SECRET,
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

/// The platform server process of a test; killed when dropped.
pub struct Platforms {
    child: Child,
    port: u16,
    http: reqwest::Client,
}

impl Drop for Platforms {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Platforms {
    /// Starts the server with robots limited to `per_window` messages per `window` seconds; without python3 it
    /// skips the test (fails it under CI=true).
    pub fn start(per_window: u32, window: u32) -> Option<Platforms> {
        let port = free_port();
        let cfg = json!({
            "robots": {
                WECOM_KEY: {"platform": "wecom", "per_window": per_window, "window": window},
                DINGTALK_TOKEN: {"platform": "dingtalk", "secret": DINGTALK_SECRET, "per_window": per_window, "window": window},
                FEISHU_HOOK: {"platform": "feishu", "secret": FEISHU_SECRET, "per_window": per_window, "window": window},
            },
            "apps": {
                "wecom": {"corpid": WECOM_CORP, "secret": WECOM_SECRET, "agentid": 1_000_002},
                "dingtalk": {"appkey": DING_KEY, "appsecret": DING_SECRET, "agent_id": 2_000_001},
            },
            "token_ttl": 7200,
        });
        let file = std::env::temp_dir().join(format!("chat-platforms-{port}.json"));
        std::fs::write(&file, cfg.to_string()).unwrap();
        let args = [port.to_string(), file.display().to_string()];
        let child = crate::support::python_server("chat_platforms.py", &args, "the chat platform server")?;
        Some(Platforms {
            child,
            port,
            http: reqwest::Client::new(),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn read(&self, what: &str) -> Vec<Value> {
        let v: Value = self
            .http
            .get(self.url(what))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v.as_array().unwrap().clone()
    }

    /// Every message delivered, in order.
    pub async fn received(&self) -> Vec<Value> {
        self.read("/_received").await
    }

    /// Every request with the code answered.
    pub async fn log(&self) -> Vec<Value> {
        self.read("/_log").await
    }

    pub async fn control(&self, what: &str) {
        self.http.post(self.url(what)).send().await.unwrap();
    }
}

/// The channels of every kind on `p`, registered through the API: answers their ids by kind.
pub async fn register(app: &TestApp, p: &Platforms, sends: [Value; 5]) -> Vec<i64> {
    let channels = [
        json!({"name": "领导群", "kind": "wecom_robot", "endpoint": p.url(&format!("/cgi-bin/webhook/send?key={WECOM_KEY}"))}),
        json!({"name": "招商一局群", "kind": "dingtalk_robot", "endpoint": p.url(&format!("/robot/send?access_token={DINGTALK_TOKEN}")), "secret": DINGTALK_SECRET}),
        json!({"name": "飞书群", "kind": "feishu_robot", "endpoint": p.url(&format!("/open-apis/bot/v2/hook/{FEISHU_HOOK}")), "secret": FEISHU_SECRET}),
        json!({"name": "政务微信", "kind": "wecom_app", "endpoint": p.url(""), "corp_id": WECOM_CORP, "agent_id": "1000002", "secret": WECOM_SECRET}),
        json!({"name": "政务钉钉", "kind": "dingtalk_app", "endpoint": p.url(""), "corp_id": DING_KEY, "agent_id": "2000001", "secret": DING_SECRET}),
    ];
    let mut ids = Vec::new();
    for (mut c, sends) in channels.into_iter().zip(sends) {
        c["sends"] = sends;
        let (s, b) = app.post("/api/v1/channels", c.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        // Written, never read back: the keys masked, the secrets only as their presence.
        assert_no_secret(&b.to_string());
        assert_eq!(b["has_secret"], json!(c.get("secret").is_some()));
        ids.push(b["id"].as_i64().unwrap());
    }
    ids
}

fn dispatcher(app: &TestApp, claim_seconds: i64) -> Dispatcher {
    let cfg = MailConfig {
        outbox_dir: app.cfg.data_dir.join("outbox"),
        sealer: Some(app.cfg.sealer().unwrap()),
        backoff_seconds: 1,
        max_attempts: 10,
        claim_seconds,
        timeout_seconds: 10,
        ..MailConfig::default()
    };
    Dispatcher::new(app.db.clone(), cfg).unwrap()
}

fn runner(app: &TestApp) -> jobs::runner::Runner {
    jobs::runner::Runner::named(
        app.db.clone(),
        chrono_tz::Asia::Shanghai,
        Duration::from_secs(60),
        "t".into(),
    )
}

async fn run_job(app: &TestApp, name: &str, on: (i32, u32, u32)) {
    let spec = jobs::specs(&jobs::Schedules::default(), &MailConfig::default())
        .into_iter()
        .find(|s| s.name == name)
        .unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(on.0, on.1, on.2);
    let outcome = runner(app).run_manual(&spec, day).await.unwrap();
    assert!(matches!(outcome, jobs::runner::Outcome::Succeeded(_)), "{outcome:?}");
}

async fn chat_rows(app: &TestApp) -> Vec<outbox::Model> {
    outbox::Entity::find()
        .filter(outbox::Column::ChannelId.is_not_null())
        .all(&app.db)
        .await
        .unwrap()
}

/// Makes every queued row due now (as if its backoff had passed).
async fn due_now(app: &TestApp) {
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::NextAttemptAt,
            Expr::value(Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(outbox::Column::Status.eq(OutboxStatus::Pending))
        .exec(&app.db)
        .await
        .unwrap();
}

async fn the_weekly_summary_reaches_each_kind_of_channel(app: TestApp) {
    let Some(p) = Platforms::start(20, 60) else { return };
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let leader = app.user_ids["leader"];
    // The test leader links their 企业微信/钉钉 id through the API; it is theirs alone to set.
    let (s, b) = app
        .as_user("leader")
        .call(
            reqwest::Method::PUT,
            "/api/v1/auth/subscription",
            Some(json!({"chat_user_id": "LiuJu"})),
        )
        .await;
    assert_eq!((s, &b["chat_user_id"]), (StatusCode::OK, &json!("LiuJu")), "{b}");
    let (s, b) = app
        .as_user("leader")
        .call(
            reqwest::Method::PUT,
            "/api/v1/auth/subscription",
            Some(json!({"chat_user_id": "刘 局"})),
        )
        .await;
    assert_error(&(s, b), StatusCode::BAD_REQUEST, "invalid_value", Some("chat_user_id"));
    let ids = register(
        &app,
        &p,
        [
            json!(["weekly", "alerts"]),
            json!([format!("weekly:{leader}")]),
            json!(["weekly"]),
            json!(["weekly"]),
            json!(["weekly"]),
        ],
    )
    .await;
    // Sealed at rest: nothing of the key or secrets in the row, and the audit entry has the fact alone.
    let row = channel::Entity::find_by_id(ids[1]).one(&app.db).await.unwrap().unwrap();
    assert!(row.endpoint.starts_with("v1:") && !row.endpoint.contains(DINGTALK_TOKEN));
    assert!(
        row.secret
            .as_deref()
            .is_some_and(|s| s.starts_with("v1:") && !s.contains(DINGTALK_SECRET))
    );
    let (_, audit) = app
        .get(&format!("/api/v1/audit?entity=channel&entity_id={}", ids[1]))
        .await;
    assert!(
        !audit.to_string().contains(DINGTALK_SECRET) && !audit.to_string().contains("v1:"),
        "{audit}"
    );

    run_job(&app, "weekly_report", (2024, 5, 27)).await;
    run_job(&app, "weekly_report", (2024, 5, 27)).await;
    let rows = chat_rows(&app).await;
    // 企业微信 group, 钉钉 group (the leader's), 飞书 group; each application to the leader who linked an id (in
    // numbered parts where a message is longer than an application's 2,048 bytes and no web page is configured).
    let mut messages: Vec<&str> = rows
        .iter()
        .map(|r| r.idempotency_key.split(":weekly:").next().unwrap())
        .collect();
    messages.dedup();
    assert_eq!(messages.len(), 5, "once each although the job ran twice: {rows:?}");
    dispatcher(&app, 600).dispatch().await.unwrap();
    let rows = chat_rows(&app).await;
    assert!(rows.iter().all(|r| r.status == OutboxStatus::Sent), "{rows:?}");
    let got = p.received().await;
    assert_eq!(got.len(), rows.len(), "{got:?}");
    let by = |platform: &str, app_msg: bool| -> Value {
        got.iter()
            .find(|m| m["platform"] == platform && (m["where"] == "app") == app_msg)
            .cloned()
            .unwrap_or_else(|| panic!("no {platform} message in {got:?}"))
    };

    // The figures are the e-mail's: each row of its table, this week's value and the year's with its growth.
    let mails = jobs::weekly::build(
        &app.db,
        chrono::NaiveDate::from_ymd_opt(2024, 5, 27).unwrap(),
        (None, None),
        30,
    )
    .await
    .unwrap();
    let mail = mails
        .iter()
        .find(|m| m.to == "leader@example.com")
        .unwrap_or_else(|| panic!("{:?}", mails.iter().map(|m| &m.to).collect::<Vec<_>>()));
    let park = by("wecom", false)["content"].as_str().unwrap().to_owned();
    assert!(
        park.starts_with("# 【招商周报】2024年第21周(5月20日—5月26日)"),
        "{park}"
    );
    let mut rows_checked = 0;
    for line in mail.text.lines().filter(|l| l.starts_with("- ") && l.contains(" / ")) {
        let (label, figures) = line.trim_start_matches("- ").split_once(':').unwrap();
        let f: Vec<&str> = figures.split(" / ").collect();
        // A row that is 0 this week and the week before is summed up in one line; one that is 0 this year is left out.
        let week = park.contains(&format!("> {label}:{}(较上周", f[0]));
        assert!(
            week || (f[0] == "0" && !park.contains(&format!("> {label}:0(较上周"))),
            "{label} {f:?} in {park}"
        );
        let year = park.contains(&format!("> {label}:{}(同比 {})", f[2], f[3]));
        assert!(year || f[2] == "0", "{label} {f:?} in {park}");
        rows_checked += usize::from(week) + usize::from(year);
    }
    assert!(rows_checked >= 20, "{}\n{park}", mail.text);
    assert!(park.len() <= 4096);
    assert!(park.contains("**逾期未解决的难题("), "{park}");
    // The leader's summary in 钉钉, signed; 飞书's card, signed; the applications to the linked id.
    let ding = by("dingtalk", false);
    assert!(ding["title"].as_str().unwrap().ends_with("·测试leader"), "{ding}");
    assert!(
        ding["content"].as_str().unwrap().contains("#### 您联系的项目("),
        "{ding}"
    );
    let feishu = by("feishu", false);
    assert_eq!(feishu["title"], "【招商周报】2024年第21周(5月20日—5月26日)");
    assert!(
        feishu["content"].as_str().unwrap().contains("**本周主要指标**\n• "),
        "{feishu}"
    );
    for platform in ["wecom", "dingtalk"] {
        let m = by(platform, true);
        assert_eq!(m["to"], json!(["LiuJu"]), "{m}");
        assert!(m["content"].as_str().unwrap().len() <= 2048);
    }
    // An application's token expires: it is fetched again and the message goes.
    p.control("/_expire_tokens").await;
    let c = channel::Entity::find_by_id(ids[3]).one(&app.db).await.unwrap().unwrap();
    let (s, b) = app.post(&format!("/api/v1/channels/{}/test", c.id), json!({})).await;
    assert_error(&(s, b), StatusCode::BAD_REQUEST, "invalid_value", Some("chat_user_id"));
    let (s, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/auth/subscription",
            Some(json!({"chat_user_id": "admin01"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = app.post(&format!("/api/v1/channels/{}/test", c.id), json!({})).await;
    assert_eq!((s, &b["sent"]), (StatusCode::OK, &json!(true)), "{b}");
    let codes: Vec<i64> = p
        .log()
        .await
        .iter()
        .filter(|l| l["app"] == true && l["platform"] == "wecom")
        .map(|l| l["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes.last(), Some(&0), "{codes:?}");
    assert!(
        codes.contains(&42001),
        "the expired token was refused once, then a new one used: {codes:?}"
    );
    // Only admins manage channels.
    let (s, _) = app.as_user("staff").get("/api/v1/channels").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, list) = app.get("/api/v1/channels").await;
    assert_eq!(list.as_array().unwrap().len(), 5);
    assert!(list.to_string().contains("key=***"), "{list}");
}

async fn a_department_s_digest_and_a_failed_job_s_alert(app: TestApp) {
    let Some(p) = Platforms::start(20, 60) else { return };
    let (s, d) = app.post("/api/v1/departments", json!({"name": "招商一局"})).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let dept = d["id"].as_i64().unwrap();
    let staff_id = app.user_ids["staff"];
    let (_, u) = app.get(&format!("/api/v1/users/{staff_id}")).await;
    let (s, u) = app
        .patch(
            &format!("/api/v1/users/{staff_id}"),
            json!({"version": u["version"], "department_id": dept}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let staff = app.as_user("staff");
    let company = app.company("精诚科技有限公司").await;
    let (s, pr) = staff
        .post(
            "/api/v1/projects",
            json!({"name": "*星*光伏组件项目", "company_id": company, "stage": "lead", "occurred_on": "2024-05-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{pr}");
    let pid = pr["id"].as_i64().unwrap();
    let (s, f) = staff
        .post(
            &format!("/api/v1/projects/{pid}/follow-ups"),
            json!({"occurred_on": "2024-05-02", "kind": "call", "note": "电话沟通", "next_step": "报送用地需求", "next_date": "2024-05-10"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let (s, b) = app
        .post(
            "/api/v1/channels",
            json!({"name": "错的", "kind": "dingtalk_robot", "endpoint": p.url("/robot/send"), "sends": ["reminders"]}),
        )
        .await;
    assert_error(&(s, b), StatusCode::BAD_REQUEST, "invalid_value", Some("sends"));
    let (s, b) = app.post("/api/v1/channels", json!({"name": "错的", "kind": "dingtalk_robot", "endpoint": p.url("/robot/send"), "sends": ["reminders:999999"]})).await;
    assert_error(&(s, b), StatusCode::BAD_REQUEST, "invalid_value", Some("sends"));
    let (s, b) = app
        .post(
            "/api/v1/channels",
            json!({"name": "错的", "kind": "wecom_app", "endpoint": p.url(""), "sends": ["alerts"]}),
        )
        .await;
    assert_error(&(s, b), StatusCode::BAD_REQUEST, "invalid_value", Some("corp_id"));
    register(
        &app,
        &p,
        [
            json!(["alerts"]),
            json!([format!("reminders:{dept}")]),
            json!([]),
            json!([]),
            json!([]),
        ],
    )
    .await;

    run_job(&app, "reminders", (2024, 5, 20)).await;
    let digest: Vec<_> = chat_rows(&app).await;
    assert_eq!(digest.len(), 1, "{digest:?}");
    // A job that fails for good alerts the admins by mail and on the channel that carries alerts.
    let failing = jobs::runner::JobSpec {
        name: "analytics",
        cron: "0 0 1 * * *".into(),
        run: std::sync::Arc::new(|_| Box::pin(async { anyhow::bail!("磁盘已满") })),
        retryable: true,
    };
    let retry = jobs::runner::Retry {
        max_attempts: 1,
        backoff: chrono::Duration::seconds(1),
    };
    let outcome = runner(&app).with_retry(retry).run_manual(&failing, None).await.unwrap();
    assert!(!matches!(outcome, jobs::runner::Outcome::Succeeded(_)), "{outcome:?}");
    let done = dispatcher(&app, 600).dispatch().await.unwrap();
    assert_eq!(done.failed, 0, "{:?}", chat_rows(&app).await);
    let got = p.received().await;
    assert_eq!(got.len(), 2, "{got:?}");
    let ding = got.iter().find(|m| m["platform"] == "dingtalk").unwrap();
    let text = ding["content"].as_str().unwrap();
    assert!(ding["title"].as_str().unwrap().contains("招商一局"), "{ding}");
    assert!(text.contains("#### 测试staff"), "{text}");
    // Markup in a name is shown as written; without the UI's address there is no link.
    assert!(
        text.contains("- 跟进 \\*星\\*光伏组件项目:报送用地需求(计划 2024-05-10)"),
        "{text}"
    );
    let alert = got.iter().find(|m| m["platform"] == "wecom").unwrap();
    let text = alert["content"].as_str().unwrap();
    assert!(text.starts_with("# 【招商CRM告警】定时任务失败:analytics"), "{text}");
    assert!(text.contains("磁盘已满"), "{text}");
    let mails = outbox::Entity::find()
        .filter(outbox::Column::ChannelId.is_null())
        .filter(outbox::Column::Kind.eq("alert"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(mails.len(), 1, "the admin's e-mail too");
}

async fn a_rate_limited_robot_catches_up_and_twenty_a_minute_are_kept(app: TestApp) {
    // The platform lets a robot send 2 messages every 3 seconds: 5 alerts catch up within a few passes.
    let Some(p) = Platforms::start(2, 3) else { return };
    let ids = register(
        &app,
        &p,
        [json!(["alerts"]), json!([]), json!([]), json!([]), json!([])],
    )
    .await;
    for i in 0..5 {
        jobs::outbox::alert_admins(&app.db, &format!("t{i}"), &format!("告警{i}"), "正文")
            .await
            .unwrap();
    }
    let d = dispatcher(&app, 600);
    let start = std::time::Instant::now();
    while chat_rows(&app).await.iter().any(|r| r.status != OutboxStatus::Sent) {
        assert!(start.elapsed() < Duration::from_secs(30), "{:?}", chat_rows(&app).await);
        d.dispatch().await.unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
        due_now(&app).await;
    }
    let got = p.received().await;
    let mut titles: Vec<String> = got
        .iter()
        .map(|m| m["content"].as_str().unwrap().lines().next().unwrap().to_owned())
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        (0..5).map(|i| format!("# 告警{i}")).collect::<Vec<_>>(),
        "each once"
    );
    let limited = p.log().await.iter().filter(|l| l["code"] == 45009).count();
    assert!(limited > 0, "the platform's rate limit was met and waited out");
    let rows = chat_rows(&app).await;
    assert!(
        rows.iter().all(|r| r.attempts == 1 && r.last_error.is_none()),
        "a wait is no failed attempt: {rows:?}"
    );

    // Twenty a minute: the 21st and 22nd wait for the minute to pass instead of being refused.
    let Some(p) = Platforms::start(20, 60) else { return };
    let c = channel::Entity::find_by_id(ids[0]).one(&app.db).await.unwrap().unwrap();
    let (s, b) = app
        .patch(
            &format!("/api/v1/channels/{}", c.id),
            json!({"version": c.version, "endpoint": p.url(&format!("/cgi-bin/webhook/send?key={WECOM_KEY}"))}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    outbox::Entity::delete_many().exec(&app.db).await.unwrap();
    for i in 0..22 {
        jobs::outbox::alert_admins(&app.db, &format!("m{i}"), &format!("告警{i}"), "正文")
            .await
            .unwrap();
    }
    d.dispatch().await.unwrap();
    assert_eq!(p.received().await.len(), 20);
    assert!(p.log().await.iter().all(|l| l["code"] == 0), "never refused");
    let waiting: Vec<_> = chat_rows(&app)
        .await
        .into_iter()
        .filter(|r| r.status == OutboxStatus::Pending)
        .collect();
    assert_eq!(waiting.len(), 2);
    assert!(
        waiting
            .iter()
            .all(|r| r.attempts == 0 && r.next_attempt_at > Utc::now() + chrono::Duration::seconds(30))
    );
}

async fn a_bad_secret_fails_once_with_the_platform_s_message(app: TestApp) {
    let Some(p) = Platforms::start(20, 60) else { return };
    let ids = register(
        &app,
        &p,
        [json!([]), json!(["alerts"]), json!([]), json!([]), json!([])],
    )
    .await;
    let c = channel::Entity::find_by_id(ids[1]).one(&app.db).await.unwrap().unwrap();
    let (s, b) = app
        .patch(
            &format!("/api/v1/channels/{}", c.id),
            json!({"version": c.version, "secret": "SECwrong"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // The test button says what the platform said.
    let (s, b) = app.post(&format!("/api/v1/channels/{}/test", c.id), json!({})).await;
    assert_error(
        &(s, b.clone()),
        StatusCode::UNPROCESSABLE_ENTITY,
        "channel_refused",
        None,
    );
    assert!(b["message"].as_str().unwrap().contains("310000"), "{b}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_invest-crm"))
        .args(["channel", "test", "招商一局群"])
        .env("INVEST_CRM_DATA_DIR", &app.cfg.data_dir)
        .env("DATABASE_URL", &app.url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sign not match"),
        "{out:?}"
    );
    let before = p.log().await.len();
    for i in 0..3 {
        jobs::outbox::alert_admins(&app.db, &format!("b{i}"), &format!("告警{i}"), "正文")
            .await
            .unwrap();
    }
    let done = dispatcher(&app, 600).dispatch().await.unwrap();
    assert_eq!(done.failed, 3, "failed at once, not retried");
    assert_eq!(p.log().await.len(), before + 3, "one request each");
    for r in chat_rows(&app).await {
        assert_eq!((r.status, r.attempts), (OutboxStatus::Failed, 1));
        assert!(
            r.last_error.as_deref().unwrap().contains("钉钉 310000:sign not match"),
            "{r:?}"
        );
    }
    // Three in a row: the admins hear of it by e-mail, once.
    let c = channel::Entity::find_by_id(ids[1]).one(&app.db).await.unwrap().unwrap();
    assert_eq!(c.failures_in_row, 3);
    let alerts = outbox::Entity::find()
        .filter(outbox::Column::ChannelId.is_null())
        .filter(outbox::Column::Subject.contains("消息推送失败:招商一局群"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].text.contains("310000"));
    // Fixed and sent again from 系统日志: it goes, and the streak ends.
    let (s, _) = app
        .patch(
            &format!("/api/v1/channels/{}", c.id),
            json!({"version": c.version, "secret": DINGTALK_SECRET}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let first = chat_rows(&app).await[0].id;
    let (s, b) = app.post(&format!("/api/v1/outbox/{first}/resend"), json!({})).await;
    assert!(s.is_success(), "{b}");
    dispatcher(&app, 600).dispatch().await.unwrap();
    assert_eq!(p.received().await.len(), 1);
    let c = channel::Entity::find_by_id(ids[1]).one(&app.db).await.unwrap().unwrap();
    assert_eq!((c.failures_in_row, c.last_error), (0, None));
}

async fn a_send_cut_off_midway_is_neither_lost_nor_repeated(app: TestApp) {
    let Some(p) = Platforms::start(20, 60) else { return };
    for (user, id) in [("admin", "admin01"), ("leader", "LiuJu")] {
        entity::user::Entity::update_many()
            .col_expr(entity::user::Column::ChatUserId, Expr::value(id))
            .col_expr(entity::user::Column::Role, Expr::value("admin"))
            .filter(entity::user::Column::Username.eq(user))
            .exec(&app.db)
            .await
            .unwrap();
    }
    register(
        &app,
        &p,
        [json!([]), json!([]), json!([]), json!(["alerts"]), json!([])],
    )
    .await;
    for i in 0..3 {
        jobs::outbox::alert_admins(&app.db, &format!("r{i}"), &format!("告警{i}"), "正文")
            .await
            .unwrap();
    }
    // The platform answers each message after 1.5 s: the dispatcher is stopped while the first is on its way (it
    // was delivered; its row still says sending).
    p.control("/_slow?ms=1500").await;
    let d = dispatcher(&app, 1);
    let pass = tokio::spawn(async move { d.dispatch().await });
    let start = std::time::Instant::now();
    while p.received().await.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pass.abort();
    let stopped = pass.await;
    assert!(
        stopped.as_ref().is_err_and(tokio::task::JoinError::is_cancelled),
        "{stopped:?}"
    );
    let rows = chat_rows(&app).await;
    assert_eq!(
        rows.iter().filter(|r| r.status == OutboxStatus::Sending).count(),
        1,
        "{rows:?}"
    );
    p.control("/_slow?ms=0").await;
    // A new dispatcher takes the abandoned message once its claim has run out, and the rest.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    dispatcher(&app, 1).dispatch().await.unwrap();
    let rows = chat_rows(&app).await;
    assert!(rows.iter().all(|r| r.status == OutboxStatus::Sent), "{rows:?}");
    let got = p.received().await;
    let mut titles: Vec<String> = got
        .iter()
        .map(|m| m["content"].as_str().unwrap().lines().next().unwrap().to_owned())
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        vec!["# 告警0", "# 告警1", "# 告警2"],
        "each delivered once: {got:?}"
    );
    assert!(
        got.iter()
            .all(|m| m["to"] == json!(["admin01", "LiuJu"]) || m["to"] == json!(["LiuJu", "admin01"])),
        "{got:?}"
    );
    let log = p.log().await;
    assert!(
        log.iter().any(|l| l["duplicate"] == true),
        "the one sent again was recognised as sent: {log:?} {got:?}"
    );
}

async fn the_channels_page_is_the_admins_and_the_chat_id_is_one_s_own(app: TestApp) {
    use crate::web::Web;
    let Some(p) = Platforms::start(20, 60) else { return };
    let ids = register(
        &app,
        &p,
        [
            json!(["weekly", "alerts"]),
            json!([]),
            json!([]),
            json!(["alerts"]),
            json!([]),
        ],
    )
    .await;
    let admin = Web::sign_in(&app, "admin").await;
    let page = admin.get("/admin/channels").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for shown in [
        "领导群",
        "企业微信群机器人",
        "key=***",
        "招商周报",
        "管理员告警",
        "已设置密钥",
        "发送测试",
    ] {
        assert!(page.body.contains(shown), "{shown}");
    }
    assert_no_secret(&page.body);
    assert!(
        admin.get("/").await.body.contains("/admin/channels"),
        "the menu links it"
    );
    assert!(admin.get("/admin/channels/new").await.body.contains("推送内容"));
    let edit = admin.get(&format!("/admin/channels/{}/edit", ids[1])).await.body;
    assert!(
        edit.contains("已设置;留空则不变") && !edit.contains(DINGTALK_SECRET),
        "{edit}"
    );
    let form = [
        ("name", "坏的"),
        ("kind", "wecom_robot"),
        ("endpoint", "ftp://example.com/x"),
    ];
    let bad = admin.send(reqwest::Method::POST, "/admin/channels", &form, true).await;
    assert!(bad.body.contains("须为 http 或 https 地址"), "{}", bad.body);
    for role in ["leader", "staff", "viewer"] {
        let web = Web::sign_in(&app, role).await;
        assert_eq!(web.get("/admin/channels").await.status, StatusCode::FORBIDDEN, "{role}");
        assert!(!web.get("/").await.body.contains("/admin/channels"), "{role}");
    }
    // One's own chat id in 个人设置: checked, saved, shown.
    let staff = Web::sign_in(&app, "staff").await;
    let form = [("reminders", "on"), ("chat_user_id", "zhang san")];
    let a = staff
        .send(reqwest::Method::POST, "/settings/subscription", &form, true)
        .await;
    assert!(
        a.body.contains("不含空格") && a.body.contains("zhang san"),
        "{}",
        a.body
    );
    let form = [("reminders", "on"), ("chat_user_id", "ZhangSan")];
    let a = staff
        .send(reqwest::Method::POST, "/settings/subscription", &form, true)
        .await;
    assert!(a.body.contains("已保存") && a.body.contains("ZhangSan"), "{}", a.body);
    let u = entity::user::Entity::find_by_id(app.user_ids["staff"])
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.chat_user_id.as_deref(), Some("ZhangSan"));
}
