//! The outbox against a real SMTP server process (aiosmtpd, tests/smtp_sink.py): delivery with every part, a server
//! that is down and comes back, a permanent rejection that stops and alerts the admins.

use std::{path::PathBuf, process::Child};

use chrono::Utc;
use entity::{enums::OutboxStatus, outbox};
use jobs::outbox::{Attachment, Dispatched, Dispatcher, Mail, MailConfig, enqueue};
use mail_parser::{MessageParser, MimeHeaders};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};

use crate::{db_test, support::TestApp};

db_test!(
    queued_mail_is_delivered_once_with_every_part,
    mail_waits_while_the_server_is_down_and_goes_once_it_is_back,
    a_permanent_rejection_stops_and_alerts_the_admins,
    the_outbox_and_subscriptions_through_the_api,
    the_weekly_report_reaches_each_subscribed_leader_once,
    a_leader_s_weekly_report_counts_what_they_see,
    reminders_reach_each_person_with_something_due_once_a_day,
    without_smtp_mail_is_written_to_files,
);

/// The SMTP server process of a test; killed when dropped.
pub struct Sink {
    child: Child,
    dir: tempfile::TempDir,
    /// The port it listens on.
    pub port: u16,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Sink {
    /// Starts the sink on `port`; without python3 and aiosmtpd it skips the test (and fails it under CI=true).
    pub fn start(port: u16) -> Option<Sink> {
        Sink::slow(port, 0)
    }

    /// A sink that waits `delay_ms` before accepting each recipient.
    pub fn slow(port: u16, delay_ms: u64) -> Option<Sink> {
        let dir = tempfile::tempdir().unwrap();
        let args = [port.to_string(), dir.path().display().to_string(), delay_ms.to_string()];
        let what = "the SMTP sink (is aiosmtpd installed? pip install aiosmtpd)";
        let child = crate::support::python_server("smtp_sink.py", &args, what)?;
        Some(Sink { child, dir, port })
    }

    /// The messages received so far, in order.
    pub fn messages(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        v.sort();
        v
    }
}

fn config(port: u16, max_attempts: i32) -> MailConfig {
    MailConfig {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        max_attempts,
        timeout_seconds: 5,
        ..MailConfig::default()
    }
}

fn report_mail(key: &str, to: &str) -> Mail {
    Mail {
        key: key.into(),
        kind: "weekly_report".into(),
        to: to.into(),
        subject: "【招商周报】2024年第21周(5月20日—5月26日)".into(),
        html: "<p>本周新签约项目 <b>2</b> 个</p><img src=\"cid:funnel\">".into(),
        text: "本周新签约项目 2 个".into(),
        attachments: vec![
            Attachment {
                filename: "funnel.png".into(),
                content_type: "image/png".into(),
                content_id: Some("funnel".into()),
                data: b"\x89PNG\r\n\x1a\nnot really".to_vec(),
            },
            Attachment {
                filename: "招商周报.xlsx".into(),
                content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
                content_id: None,
                data: b"PK\x03\x04 workbook bytes".to_vec(),
            },
        ],
    }
}

/// Makes every queued row due now (as if its backoff had passed).
async fn due_now(app: &TestApp) {
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::NextAttemptAt,
            Expr::value(Utc::now() - chrono::Duration::seconds(1)),
        )
        .exec(&app.db)
        .await
        .unwrap();
}

async fn queued_mail_is_delivered_once_with_every_part(app: TestApp) {
    let Some(sink) = Sink::start(free_port()) else { return };
    let mail = report_mail("weekly_report:2024-W21:leader@example.com", "leader@example.com");
    assert_eq!(enqueue(&app.db, vec![mail.clone()]).await.unwrap(), 1);
    assert_eq!(
        enqueue(&app.db, vec![mail]).await.unwrap(),
        0,
        "the same key queues nothing new"
    );
    let d = Dispatcher::new(app.db.clone(), config(sink.port, 3)).unwrap();
    assert_eq!(
        d.dispatch().await.unwrap(),
        Dispatched {
            sent: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        d.dispatch().await.unwrap(),
        Dispatched::default(),
        "sent rows are never sent again"
    );
    let files = sink.messages();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read(&files[0]).unwrap();
    let msg = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(msg.subject(), Some("【招商周报】2024年第21周(5月20日—5月26日)"));
    assert_eq!(msg.to().unwrap().first().unwrap().address(), Some("leader@example.com"));
    assert_eq!(msg.body_text(0).as_deref(), Some("本周新签约项目 2 个"));
    assert!(msg.body_html(0).unwrap().contains("cid:funnel"));
    let row = outbox::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(
        format!("<{}>", msg.message_id().unwrap()),
        row.message_id,
        "the stored, stable Message-ID"
    );
    assert_eq!((row.status, row.attempts), (OutboxStatus::Sent, 1));
    let parts: Vec<_> = msg.attachments().collect();
    assert_eq!(parts.len(), 2);
    let png = parts
        .iter()
        .find(|p| p.content_id() == Some("funnel"))
        .expect("the inline image by Content-ID");
    assert_eq!(png.contents(), b"\x89PNG\r\n\x1a\nnot really");
    let xlsx = parts
        .iter()
        .find(|p| p.attachment_name() == Some("招商周报.xlsx"))
        .expect("the workbook");
    assert_eq!(xlsx.contents(), b"PK\x03\x04 workbook bytes");
}

async fn mail_waits_while_the_server_is_down_and_goes_once_it_is_back(app: TestApp) {
    let port = free_port();
    enqueue(
        &app.db,
        vec![report_mail("k1", "a@example.com"), report_mail("k2", "b@example.com")],
    )
    .await
    .unwrap();
    let d = Dispatcher::new(app.db.clone(), config(port, 6)).unwrap();
    assert_eq!(
        d.dispatch().await.unwrap(),
        Dispatched {
            retrying: 2,
            ..Default::default()
        }
    );
    let rows = outbox::Entity::find().all(&app.db).await.unwrap();
    assert!(
        rows.iter()
            .all(|r| r.status == OutboxStatus::Pending && r.attempts == 1 && r.last_error.is_some())
    );
    assert!(
        rows.iter()
            .all(|r| r.next_attempt_at > Utc::now() + chrono::Duration::seconds(50)),
        "backed off a minute"
    );
    assert_eq!(
        d.dispatch().await.unwrap(),
        Dispatched::default(),
        "nothing is due before its backoff"
    );
    due_now(&app).await;
    assert_eq!(d.dispatch().await.unwrap().retrying, 2);
    let second = outbox::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert!(
        second.next_attempt_at > Utc::now() + chrono::Duration::seconds(110),
        "the delay doubles"
    );

    let Some(sink) = Sink::start(port) else { return };
    due_now(&app).await;
    assert_eq!(
        d.dispatch().await.unwrap(),
        Dispatched {
            sent: 2,
            ..Default::default()
        }
    );
    due_now(&app).await;
    assert_eq!(d.dispatch().await.unwrap(), Dispatched::default());
    assert_eq!(sink.messages().len(), 2, "each message exactly once");
    let sent = outbox::Entity::find()
        .filter(outbox::Column::Status.eq("sent"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(sent, 2);
}

async fn a_permanent_rejection_stops_and_alerts_the_admins(app: TestApp) {
    let Some(sink) = Sink::start(free_port()) else { return };
    enqueue(&app.db, vec![report_mail("r1", "reject-me@example.com")])
        .await
        .unwrap();
    let d = Dispatcher::new(app.db.clone(), config(sink.port, 6)).unwrap();
    assert_eq!(
        d.dispatch().await.unwrap(),
        Dispatched {
            failed: 1,
            ..Default::default()
        },
        "no retry after a 5xx"
    );
    let row = outbox::Entity::find()
        .filter(outbox::Column::IdempotencyKey.eq("r1"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status, row.attempts), (OutboxStatus::Failed, 1));
    assert!(row.last_error.unwrap().contains("550"));
    let alert = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("alert"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alert.recipient, "admin@example.com", "the admins hear of it");
    assert_eq!(
        d.dispatch().await.unwrap(),
        Dispatched {
            sent: 1,
            ..Default::default()
        }
    );
    let files = sink.messages();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read(&files[0]).unwrap();
    let msg = MessageParser::default().parse(&raw).unwrap();
    assert!(msg.subject().unwrap().contains("告警"));
    assert!(msg.body_text(0).unwrap().contains("reject-me@example.com"));

    // Transient failures until the last attempt end the same way.
    enqueue(&app.db, vec![report_mail("t1", "leader@example.com")])
        .await
        .unwrap();
    let down = Dispatcher::new(app.db.clone(), config(free_port(), 2)).unwrap();
    assert_eq!(down.dispatch().await.unwrap().retrying, 1);
    due_now(&app).await;
    assert_eq!(down.dispatch().await.unwrap().failed, 1);
    let alerts = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("alert"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(alerts, 2);
}

async fn the_outbox_and_subscriptions_through_the_api(app: TestApp) {
    enqueue(&app.db, vec![report_mail("api1", "leader@example.com")])
        .await
        .unwrap();
    let d = Dispatcher::new(app.db.clone(), config(free_port(), 6)).unwrap();
    assert_eq!(d.dispatch().await.unwrap().retrying, 1);
    let (s, page) = app.get("/api/v1/outbox?status=pending").await;
    assert_eq!(s, reqwest::StatusCode::OK);
    let item = &page["items"][0];
    assert_eq!(
        (item["recipient"].as_str(), item["attempts"].as_i64()),
        (Some("leader@example.com"), Some(1))
    );
    assert!(item["last_error"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(item.get("html").is_none(), "bodies stay in the database");
    crate::support::assert_error(
        &app.as_user("leader").get("/api/v1/outbox").await,
        reqwest::StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );

    let (s, sub) = app
        .as_user("leader")
        .call(
            reqwest::Method::PUT,
            "/api/v1/auth/subscription",
            Some(serde_json::json!({"weekly_report": false})),
        )
        .await;
    assert_eq!(
        (s, sub["weekly_report"].as_bool()),
        (reqwest::StatusCode::OK, Some(false))
    );
    let (_, users) = app.get("/api/v1/users?role=leader").await;
    assert_eq!(
        users["items"][0]["weekly_report"], false,
        "a leader can turn the weekly report off"
    );
}

async fn the_weekly_report_reaches_each_subscribed_leader_once(app: TestApp) {
    use calamine::{Data, Reader, Xlsx};
    let Some(sink) = Sink::start(free_port()) else { return };
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    // 李明 turned the report off; the test harness's own leader has no contact projects but an address, so gets it.
    entity::user::Entity::update_many()
        .col_expr(entity::user::Column::WeeklyReport, Expr::value(false))
        .filter(entity::user::Column::Username.eq("liming"))
        .exec(&app.db)
        .await
        .unwrap();
    let runner = jobs::runner::Runner::named(
        app.db.clone(),
        chrono_tz::Asia::Shanghai,
        std::time::Duration::from_secs(60),
        "t".into(),
    );
    let spec = jobs::specs(&jobs::Schedules::default(), &MailConfig::default())
        .into_iter()
        .find(|s| s.name == "weekly_report")
        .unwrap();
    let monday = chrono::NaiveDate::from_ymd_opt(2024, 5, 27);
    assert!(matches!(
        runner.run_manual(&spec, monday).await.unwrap(),
        jobs::runner::Outcome::Succeeded(_)
    ));
    assert!(matches!(
        runner.run_manual(&spec, monday).await.unwrap(),
        jobs::runner::Outcome::Succeeded(_)
    ));
    let queued = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("weekly_report"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        queued.len(),
        5,
        "four demo leaders and the test leader, once each although the job ran twice"
    );
    assert!(
        queued
            .iter()
            .all(|q| q.idempotency_key.starts_with("weekly_report:2024-W21:"))
    );
    assert!(!queued.iter().any(|q| q.recipient == "liming@example.com"));

    let d = Dispatcher::new(app.db.clone(), config(sink.port, 3)).unwrap();
    assert_eq!(d.dispatch().await.unwrap().sent, 5);
    let mut found = None;
    for f in sink.messages() {
        let raw = std::fs::read(&f).unwrap();
        let msg = MessageParser::default().parse(&raw).unwrap();
        if msg.to().unwrap().first().unwrap().address() == Some("wangjianguo@example.com") {
            found = Some(raw);
        }
    }
    let raw = found.expect("王建国's report");
    let msg = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(msg.subject(), Some("【招商周报】2024年第21周(5月20日—5月26日)"));
    let text = msg.body_text(0).unwrap();
    assert!(
        text.contains("王建国领导") && text.contains("一、主要指标") && text.contains("逾期未解决的难题"),
        "{text}"
    );
    for line in [
        "重大项目个数",
        "争取扶持资金(万元)",
        "新增规模以上企业数",
        "内资到位资金(万元)",
        "实际利用外资(万美元)",
    ] {
        assert!(text.contains(line), "the weekly KPIs lack {line}:\n{text}");
    }
    let html = msg.body_html(0).unwrap();
    assert!(html.contains("cid:funnel") && html.contains("您联系的项目") && !html.contains("<script"));
    let parts: Vec<_> = msg.attachments().collect();
    let png = parts.iter().find(|p| p.content_id() == Some("funnel")).unwrap();
    assert!(png.contents().starts_with(b"\x89PNG\r\n\x1a\n"), "a real PNG");
    let xlsx = parts
        .iter()
        .find(|p| p.attachment_name().is_some_and(|n| n.ends_with(".xlsx")))
        .unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(xlsx.contents().to_vec())).unwrap();
    assert_eq!(book.sheet_names(), ["项目漏斗", "主要指标", "我的项目", "未解决难题"]);
    let funnel = book.worksheet_range("项目漏斗").unwrap();
    assert_eq!(funnel.get((0, 0)), Some(&Data::String("阶段".into())));
    assert_eq!(funnel.get((2, 0)), Some(&Data::String("洽谈".into())));
    // The workbook's year-to-date count of negotiations equals the analytics for 2024-01-01..2024-05-26.
    let (_, f) = app
        .get("/api/v1/analytics/funnel?from=2024-01-01&to=2024-05-26&as_of=2024-05-26")
        .await;
    assert_eq!(
        funnel.get((2, 1)),
        Some(&Data::Float(f["stages"][1]["count"].as_f64().unwrap()))
    );
    let mine = book.worksheet_range("我的项目").unwrap();
    assert!(mine.height() > 1, "王建国 has contact projects");
    // Each project at the stage it had at the week's end, from its history: some have moved on since.
    let (_, all) = app.get("/api/v1/projects?per_page=200").await;
    let (_, labels) = app.get("/api/v1/labels").await;
    let label_of = |stage: &serde_json::Value| {
        let stages = labels["project_stage"].as_array().unwrap();
        stages.iter().find(|l| l["value"] == *stage).unwrap()["label"].clone()
    };
    let mut moved_since = 0;
    for row in 1..mine.height() {
        let name = mine.get((row, 0)).unwrap().to_string();
        let p = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name.as_str())
            .unwrap();
        let (_, history) = app.get(&format!("/api/v1/projects/{}/stage-events", p["id"])).await;
        let events = history.as_array().unwrap();
        let then = events
            .iter()
            .rfind(|e| e["occurred_on"].as_str().unwrap() <= "2024-05-26")
            .unwrap();
        moved_since += usize::from(events.last() != Some(then));
        let label = label_of(&then["stage"]);
        assert_eq!(
            mine.get((row, 1)).unwrap().to_string(),
            label.as_str().unwrap(),
            "{name}"
        );
    }
    assert!(moved_since > 0, "some of the projects moved after the week");
}

/// A leader an admin limited to 招商一局 gets a report of its records, saying so; the others the whole park's.
async fn a_leader_s_weekly_report_counts_what_they_see(app: TestApp) {
    use entity::{department, user};
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let unit = department::Entity::find()
        .filter(department::Column::Name.eq("招商一局"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    user::Entity::update_many()
        .col_expr(user::Column::DepartmentId, Expr::value(unit.id))
        .col_expr(
            user::Column::DataScope,
            Expr::value(entity::enums::DataScope::Department),
        )
        .filter(user::Column::DisplayName.eq("张华"))
        .exec(&app.db)
        .await
        .unwrap();
    let monday = chrono::NaiveDate::from_ymd_opt(2024, 5, 27).unwrap();
    let mails = jobs::weekly::build(&app.db, monday, (None, None), 30).await.unwrap();
    let text_of = |to: &str| mails.iter().find(|m| m.to.starts_with(to)).unwrap().text.clone();
    assert!(
        !text_of("wangjianguo@").contains("在网页中查看"),
        "no link without the UI's address"
    );
    // With the UI's address, the report links its week's page with the map of the investors' provinces.
    let linked = jobs::weekly::build(
        &app.db,
        monday,
        (Some("王建国"), Some("https://crm.example.gov.cn/")),
        30,
    )
    .await
    .unwrap();
    let link = "https://crm.example.gov.cn/analytics?period=2024-W21#province-map";
    assert!(
        linked[0].text.contains(link) && linked[0].html.contains(&format!("href=\"{link}\"")),
        "{}",
        linked[0].html
    );
    let (part, whole) = (text_of("zhanghua@"), text_of("wangjianguo@"));
    // The year-to-date visits: a part of the park's, and fewer.
    let ytd_visits = |text: &str| -> i64 {
        let line = text.lines().find(|l| l.starts_with("- 接待客商批次:")).unwrap();
        line.split(" / ").nth(2).unwrap().trim().parse().unwrap()
    };
    assert!(part.contains("统计范围:招商一局及其下属部门"), "{part}");
    assert!(!whole.contains("统计范围"), "{whole}");
    let (mine, all) = (ytd_visits(&part), ytd_visits(&whole));
    assert!(0 < mine && mine < all, "招商一局 {mine} of {all}");
    // The bureau's targets are not set against a part of it.
    assert!(whole.contains("完成率") && !part.contains("完成率"), "{part}");
}

async fn without_smtp_mail_is_written_to_files(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = MailConfig {
        outbox_dir: dir.path().join("outbox"),
        ..MailConfig::default()
    };
    enqueue(&app.db, vec![report_mail("file1", "leader@example.com")])
        .await
        .unwrap();
    let d = Dispatcher::new(app.db.clone(), cfg).unwrap();
    assert_eq!(d.dispatch().await.unwrap().sent, 1);
    let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let msg_raw = std::fs::read(&files[0]).unwrap();
    let msg = MessageParser::default().parse(&msg_raw).unwrap();
    assert_eq!(msg.subject(), Some("【招商周报】2024年第21周(5月20日—5月26日)"));
}

async fn reminders_reach_each_person_with_something_due_once_a_day(app: TestApp) {
    let Some(sink) = Sink::start(free_port()) else { return };
    let staff = app.as_user("staff");
    let company = app.company("精诚科技有限公司").await;
    let mut ids = Vec::new();
    for (name, lead) in [
        ("甲项目", "2024-05-01"),
        ("乙项目", "2024-05-01"),
        ("丙项目", "2024-03-01"),
    ] {
        let (s, p) = staff
            .post(
                "/api/v1/projects",
                serde_json::json!({"name": name, "company_id": company, "stage": "lead", "occurred_on": lead}),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::CREATED, "{p}");
        ids.push(p["id"].as_i64().unwrap());
    }
    // 甲's next step was due on 05-10 (due on 05-20); 乙's is on 05-25 (not yet); 丙 never had a follow-up (quiet
    // for over 30 days on 05-20). 甲's blocker is due on 05-22 (within three days); 乙's on 06-30 (not yet).
    for (i, next) in [(0, "2024-05-10"), (1, "2024-05-25")] {
        let (s, f) = staff
            .post(
                &format!("/api/v1/projects/{}/follow-ups", ids[i]),
                serde_json::json!({"occurred_on": "2024-05-02", "kind": "call", "note": "电话沟通", "next_step": "报送用地需求", "next_date": next}),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::CREATED, "{f}");
    }
    for (i, due) in [(0, "2024-05-22"), (1, "2024-06-30")] {
        let (s, b) = staff
            .post(
                &format!("/api/v1/projects/{}/blockers", ids[i]),
                serde_json::json!({"title": "用地指标未落实", "category": "land", "opened_on": "2024-05-03", "due_date": due}),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::CREATED, "{b}");
    }
    let (_, a) = staff.get("/api/v1/me/agenda?as_of=2024-05-20").await;
    let names = |key: &str, field: &str| -> Vec<String> {
        a[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x[field].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("follow_ups", "project"), ["甲项目"], "{a}");
    assert_eq!(names("blockers", "project"), ["甲项目"], "{a}");
    assert_eq!(names("stale", "name"), ["丙项目"], "{a}");
    let (_, none) = app.as_user("leader").get("/api/v1/me/agenda?as_of=2024-05-20").await;
    assert!(none["follow_ups"].as_array().unwrap().is_empty() && none["stale"].as_array().unwrap().is_empty());

    // The job queues one digest for the staffer however often it runs, and none for people with nothing due.
    let runner = jobs::runner::Runner::named(
        app.db.clone(),
        chrono_tz::Asia::Shanghai,
        std::time::Duration::from_secs(60),
        "t".into(),
    );
    let spec = jobs::specs(&jobs::Schedules::default(), &MailConfig::default())
        .into_iter()
        .find(|s| s.name == "reminders")
        .unwrap();
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2024, 5, d);
    for _ in 0..2 {
        assert!(matches!(
            runner.run_manual(&spec, day(20)).await.unwrap(),
            jobs::runner::Outcome::Succeeded(_)
        ));
    }
    let queued = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("reminders"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        queued.iter().map(|q| q.recipient.as_str()).collect::<Vec<_>>(),
        ["staff@example.com"]
    );
    let d = Dispatcher::new(app.db.clone(), config(sink.port, 3)).unwrap();
    assert_eq!(d.dispatch().await.unwrap().sent, 1);
    let files = sink.messages();
    let msg_raw = std::fs::read(&files[0]).unwrap();
    let msg = MessageParser::default().parse(&msg_raw).unwrap();
    assert_eq!(msg.subject(), Some("【招商提醒】2024年5月20日待办事项"));
    let text = msg.body_text(0).unwrap();
    for part in [
        "甲项目:报送用地需求(计划日期 2024-05-10)",
        "甲项目:用地指标未落实(办结时限 2024-05-22)",
        "丙项目:从未跟进",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    assert!(!text.contains("乙项目"), "{text}");

    // Turned off, nothing more comes.
    let (s, sub) = staff
        .call(
            reqwest::Method::PUT,
            "/api/v1/auth/subscription",
            Some(serde_json::json!({"reminders": false})),
        )
        .await;
    assert_eq!(
        (s, sub["reminders"].as_bool(), sub["weekly_report"].as_bool()),
        (reqwest::StatusCode::OK, Some(false), Some(true))
    );
    runner.run_manual(&spec, day(21)).await.unwrap();
    let queued = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("reminders"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
}
