//! Exports (CSV, XLSX, JSON) and the work summary.

use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    db_test,
    support::{TestApp, assert_error},
};

db_test!(
    csv_exports_are_excel_ready_and_safe,
    xlsx_exports_have_typed_cells,
    json_exports_and_formats_by_accept,
    exports_mask_contacts_check_scopes_and_are_audited,
    the_summary_writes_the_half_year_in_the_bureaus_words,
    the_visits_export_is_what_the_api_says,
    the_command_line_exports_what_the_api_does,
);

/// `invest-crm export` on the test's database: its status and standard error.
fn export_command(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_invest-crm"))
        .arg("export")
        .args(args)
        .env("DATABASE_URL", &app.url)
        .env("INVEST_CRM_LOG", "error")
        .output()
        .expect("the binary runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `invest-crm export` writes the file the API answers, byte for byte; a dataset it does not know is refused with the
/// names of those it does, a period table without `--period` with what to give.
async fn the_command_line_exports_what_the_api_does(app: TestApp) {
    sample(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("projects.csv");
    let (ok, err) = export_command(&app, &["projects", "--out", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.starts_with("3 rows to "), "{err}");
    let (_, _, api) = fetch(&app, app.token("viewer"), "/api/v1/exports/projects?format=csv", None).await;
    assert_eq!(std::fs::read(&file).unwrap(), api);

    let (ok, err) = export_command(&app, &["bogus", "--out", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("unknown dataset bogus")
            && err.contains("stage-events")
            && err.contains("support-funds")
            && err.contains("kpis"),
        "{err}"
    );
    let (ok, err) = export_command(&app, &["kpis", "--out", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("give --period"), "{err}");
}

/// GET with the raw body: status, headers, bytes.
async fn fetch(
    app: &TestApp,
    token: &str,
    path: &str,
    accept: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = reqwest::Client::new()
        .get(format!("{}{path}", app.base_url()))
        .bearer_auth(token);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

async fn sample(app: &TestApp) {
    let c = app.company("=cmd|' /C calc'!A0").await;
    let (s, p) = app
        .post(
            "/api/v1/projects",
            json!({"name": "@SUM(A1:A9)", "company_id": c, "stage": "lead", "occurred_on": "2024-01-08", "agreed_investment": "12345.6789", "industry": "新材料"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    app.move_to(
        p["id"].as_i64().unwrap(),
        json!({"stage": "signed", "occurred_on": "2024-03-01"}),
    )
    .await;
    app.project("万维无人机研发生产基地", "negotiating", "2024-02-01").await;
    app.project("去年的项目", "lead", "2023-05-01").await;
}

async fn csv_exports_are_excel_ready_and_safe(app: TestApp) {
    sample(&app).await;
    let (s, h, body) = fetch(&app, app.token("viewer"), "/api/v1/exports/projects?format=csv", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "text/csv; charset=utf-8");
    let cd = h["content-disposition"].to_str().unwrap();
    assert!(
        cd.starts_with("attachment; filename=\"projects-") && cd.ends_with(".csv"),
        "{cd}"
    );
    assert!(
        cd.contains("filename*=UTF-8''%E6%8B%9B%E5%95%86%E9%A1%B9%E7%9B%AE-"),
        "招商项目 in the RFC 6266 name: {cd}"
    );
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM for Excel");
    let mut r = csv::Reader::from_reader(&body[3..]);
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(&headers[..3], ["编号", "项目名称", "企业"]);
    assert!(headers.contains(&"协议投资额(万元)".to_owned()) && headers.contains(&"签约日期".to_owned()));
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    let first = &rows[0];
    assert_eq!(&first[1], "'@SUM(A1:A9)", "formula neutralised");
    assert_eq!(&first[2], "'=cmd|' /C calc'!A0");
    assert_eq!(&first[5], "签约", "enum values carry their Chinese labels");
    assert_eq!(&first[7], "内资", "records before capital origins were kept are 内资");
    assert_eq!(&first[8], "12345.6789", "money in 万元, exact");
    assert_eq!(
        (&first[12], &first[13], &first[14]),
        ("2024-01-08", "2024-03-01", "2024-03-01")
    );

    // Filters: the lead date in 2024.
    let (_, _, body) = fetch(
        &app,
        app.token("viewer"),
        "/api/v1/exports/projects?from=2024-01-01&to=2024-12-31",
        None,
    )
    .await;
    assert_eq!(csv::Reader::from_reader(&body[3..]).records().count(), 2);
}

async fn xlsx_exports_have_typed_cells(app: TestApp) {
    sample(&app).await;
    let (s, h, body) = fetch(&app, app.token("staff"), "/api/v1/exports/projects?format=xlsx", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(body)).unwrap();
    let sheet = book.worksheet_range("招商项目").unwrap();
    assert_eq!(sheet.get((0, 1)), Some(&Data::String("项目名称".into())));
    assert_eq!(sheet.get((1, 1)), Some(&Data::String("'@SUM(A1:A9)".into())));
    assert_eq!(sheet.get((1, 0)), Some(&Data::Float(1.0)), "ids are numbers");
    assert_eq!(
        sheet.get((1, 8)),
        Some(&Data::Float(12345.6789)),
        "money as a number in 万元"
    );
    match sheet.get((1, 12)) {
        // Excel's serial day of 2024-01-08 (1900 date system).
        Some(Data::DateTime(d)) => assert_eq!(d.as_f64(), 45299.0),
        other => panic!("dates are dates: {other:?}"),
    }
    assert_eq!(sheet.height(), 4);
}

async fn json_exports_and_formats_by_accept(app: TestApp) {
    sample(&app).await;
    let (s, h, body) = fetch(
        &app,
        app.token("viewer"),
        "/api/v1/exports/stage-events",
        Some("application/json"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(h["content-type"], "application/json; charset=utf-8");
    let v: Value = serde_json::from_slice(&body).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1]["stage"], "signed", "English keys and values in JSON");
    assert_eq!(rows[1]["from_stage"], "lead");
    assert_eq!(rows[1]["occurred_on"], "2024-03-01");
    let (_, h, _) = fetch(
        &app,
        app.token("viewer"),
        "/api/v1/exports/visits",
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )
    .await;
    assert_eq!(
        h["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let (_, _, empty) = fetch(&app, app.token("viewer"), "/api/v1/exports/visits?format=json", None).await;
    assert_eq!(empty, b"[]");
    assert_error(
        &app.get("/api/v1/exports/secrets").await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
        None,
    );
    assert_error(
        &app.get("/api/v1/exports/visits?format=pdf").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        Some("format"),
    );
}

async fn exports_mask_contacts_check_scopes_and_are_audited(app: TestApp) {
    let c = app.company("联系人企业").await;
    app.post(
        &format!("/api/v1/companies/{c}/contacts"),
        json!({"name": "王总", "phone": "13812345678", "email": "wang@example.com"}),
    )
    .await;
    let viewer = app.user_ids["viewer"];
    let in_a_year = (invest_crm::service::input::today() + chrono::Duration::days(365)).to_string();
    let token = async |scopes: Value| -> String {
        let (_, t) = app
            .post(
                "/api/v1/tokens",
                json!({"user_id": viewer, "name": "t", "scopes": scopes, "expires_on": in_a_year}),
            )
            .await;
        t["token"].as_str().unwrap().to_owned()
    };
    let read_only = token(json!(["read"])).await;
    let exporter = token(json!(["export"])).await;
    let full = token(json!(["export", "contact_details"])).await;
    assert_error(
        &app.with_token(&read_only).get("/api/v1/exports/contacts").await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let (s, _, masked) = fetch(&app, &exporter, "/api/v1/exports/contacts?format=json", None).await;
    assert_eq!(s, StatusCode::OK);
    let masked: Value = serde_json::from_slice(&masked).unwrap();
    assert_eq!(
        (masked[0]["phone"].as_str(), masked[0]["email"].as_str()),
        (Some("138****5678"), Some("w***@example.com"))
    );
    let (_, _, open) = fetch(&app, &full, "/api/v1/exports/contacts?format=json", None).await;
    let open: Value = serde_json::from_slice(&open).unwrap();
    assert_eq!(open[0]["phone"], "13812345678");
    let (_, _, viewer_csv) = fetch(&app, app.token("viewer"), "/api/v1/exports/contacts", None).await;
    assert!(
        String::from_utf8(viewer_csv).unwrap().contains("138****5678"),
        "viewers' sessions see masked numbers"
    );

    // The work summary is totals only: a token with either scope may pull it, one with neither may not.
    let neither = token(json!(["contact_details"])).await;
    for (t, want) in [
        (&read_only, StatusCode::OK),
        (&exporter, StatusCode::OK),
        (&neither, StatusCode::FORBIDDEN),
    ] {
        let (s, _, _) = fetch(&app, t, "/api/v1/reports/summary?period=2024-H1", None).await;
        assert_eq!(s, want);
    }

    let (_, log) = app.get("/api/v1/audit?action=export").await;
    assert_eq!(log["total"], 3, "every export, and not the refused one");
    let last = &log["items"][0];
    assert_eq!(last["entity"], "contacts");
    assert_eq!(last["detail"]["rows"], 1);
    assert_eq!(last["detail"]["format"], "csv");
    assert_eq!(last["username"], "viewer");
    let (_, _, _) = fetch(
        &app,
        app.token("viewer"),
        "/api/v1/exports/visits?from=2024-01-01&to=2024-06-30",
        None,
    )
    .await;
    let (_, log) = app.get("/api/v1/audit?action=export&entity=visits").await;
    assert_eq!(log["items"][0]["detail"]["filters"]["from"], "2024-01-01");
    assert_eq!(log["items"][0]["detail"]["rows"], 0);
}

async fn the_summary_writes_the_half_year_in_the_bureaus_words(app: TestApp) {
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let (s, h, body) = fetch(
        &app,
        app.token("viewer"),
        "/api/v1/reports/summary?period=2024-H1&as_of=2024-06-30",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "text/plain; charset=utf-8");
    let text = String::from_utf8(body).unwrap();
    for part in [
        "2024年上半年",
        "组织外出招商15次",
        "接待前来考察、洽谈的各地客商42批278人次",
        "具体洽谈项目25个",
        "已签约项目9个",
        "已落地项目5个（万维无人机",
        "已开工项目5个（福美新材料生产基地",
        "竣工投产项目3个（华元通智能终端产业园、恒丰厨具生产线项目",
        "深圳市低碳产业投资商会",
        "难题206个",
        "新纳入高新技术企业培育5家，申报3家，评审通过并备案3家",
        "同比增长20.3%",
        "实施重大项目建设58个，总投资额达到98亿元",
        "为企业争取扶持资金7590万元",
        "到位资金3.41亿元，其中内资到位2.84亿元（同比增长5.9%），实际利用外资796.12万美元（同比增长61.2%）",
        "新增规模以上工业企业2家（精诚科技公司、中燃公司）",
    ] {
        assert!(text.contains(part), "the summary lacks {part:?}:\n{text}");
    }
    // Asked without `as_of` long after the half-year ended, it is measured on 30 June: the same text, targets and
    // time progress included; and the KPIs of the period likewise.
    let (_, _, default) = fetch(
        &app,
        app.token("viewer"),
        "/api/v1/reports/summary?period=2024-H1",
        None,
    )
    .await;
    assert_eq!(String::from_utf8(default).unwrap(), text);
    assert!(text.contains("时间进度49.7%"), "targets measured on 30 June:\n{text}");
    let (_, k) = app.as_user("viewer").get("/api/v1/analytics/kpis?period=2024-H1").await;
    assert_eq!(k["as_of"], "2024-06-30");
    let (_, _, md) = fetch(
        &app,
        app.token("viewer"),
        "/api/v1/reports/summary?period=2024-H1&format=markdown&as_of=2024-06-30",
        None,
    )
    .await;
    let md = String::from_utf8(md).unwrap();
    assert!(md.starts_with("# 2024年上半年招商引资工作总结"), "{md}");
    assert!(
        md.contains("## 三、年度目标完成情况") && md.contains("- 签约项目：年度目标18个，完成9个，完成率50.0%"),
        "{md}"
    );
    // The targets in the units of the rest of the text (docs/DEFINITIONS.md, "The work summary").
    assert!(
        md.contains("- 到位资金：年度目标30.00亿元，完成3.41亿元，完成率11.4%，时间进度49.7%。"),
        "{md}"
    );
    assert!(
        md.contains("## 一、招商引资工作情况") && md.contains("## 二、项目服务与高企培育"),
        "{md}"
    );
    let (s, h, docx) = fetch(
        &app,
        app.token("viewer"),
        "/api/v1/reports/summary?period=2024-H1&format=docx&as_of=2024-06-30",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .contains("summary-2024-H1.docx")
    );
    let mut zip = zip::ZipArchive::new(Cursor::new(docx)).unwrap();
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    assert!(xml.contains("42批278人次"), "the Word document carries the text");
    assert!(
        xml.contains("二、项目服务与高企培育") && xml.contains("三、年度目标完成情况") && !xml.contains("## "),
        "the Word document keeps the headings, without Markdown's marks"
    );
    // A quiet period leaves its zero items out instead of printing them.
    let (_, _, quiet) = fetch(
        &app,
        app.token("viewer"),
        "/api/v1/reports/summary?period=2023-01",
        None,
    )
    .await;
    let quiet = String::from_utf8(quiet).unwrap();
    let (body, targets) = quiet.split_once("三、年度目标完成情况").unwrap();
    assert!(
        !body.contains("已签约项目") && !body.contains("高新技术企业"),
        "{quiet}"
    );
    assert!(
        targets.contains("签约项目：年度目标15个，完成0个"),
        "a target met by none says so: {quiet}"
    );
    assert_error(
        &app.get("/api/v1/reports/summary?period=2024-H9").await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("period"),
    );
}

/// The visits export gives every visit the caller sees, in id order, with its companies' names in company order
/// and its receiving leaders: the same as the API's visits and companies say, on the whole demo park and within a
/// date range.
async fn the_visits_export_is_what_the_api_says(app: TestApp) {
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let (_, companies) = app.get("/api/v1/companies?per_page=200").await;
    let name_of: std::collections::HashMap<i64, String> = companies["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c["name"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(companies["total"], name_of.len(), "one page holds every company");
    let (mut expected, mut page) = (Vec::new(), 1);
    loop {
        let (_, visits) = app.get(&format!("/api/v1/visits?per_page=200&page={page}")).await;
        let items = visits["items"].as_array().unwrap();
        for v in items {
            let names: Vec<&str> = v["company_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| name_of[&id.as_i64().unwrap()].as_str())
                .collect();
            let leaders: Vec<&str> = v["receiving_leaders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect();
            expected.push(json!({
                "id": v["id"], "visit_date": v["visit_date"], "headcount": v["headcount"],
                "companies": names.join("、"), "receiving_leaders": leaders.join("、"),
                "purpose": v["purpose"], "summary": v["summary"],
            }));
        }
        if items.len() < 200 {
            break;
        }
        page += 1;
    }
    expected.sort_by_key(|v| v["id"].as_i64());
    assert!(expected.len() > 40, "{} visits", expected.len());
    assert!(
        expected.iter().any(|v| v["companies"].as_str().unwrap().contains('、')),
        "some visit has more than one company"
    );
    let (s, _, body) = fetch(&app, app.token("viewer"), "/api/v1/exports/visits?format=json", None).await;
    assert_eq!(s, StatusCode::OK);
    let got: Vec<Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(got, expected);

    let in_march = |v: &&Value| v["visit_date"].as_str().unwrap().starts_with("2024-03");
    let march: Vec<Value> = expected.iter().filter(in_march).cloned().collect();
    assert!(!march.is_empty());
    let q = "/api/v1/exports/visits?format=json&from=2024-03-01&to=2024-03-31";
    let (_, _, body) = fetch(&app, app.token("viewer"), q, None).await;
    assert_eq!(serde_json::from_slice::<Vec<Value>>(&body).unwrap(), march);
    let (_, _, csv) = fetch(&app, app.token("viewer"), "/api/v1/exports/visits?format=csv", None).await;
    let text = String::from_utf8(csv).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(
        reader.records().count(),
        expected.len(),
        "a record per visit after the header"
    );
}
