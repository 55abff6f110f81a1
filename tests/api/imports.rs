//! 台账导入: messy ledgers built here with rust_xlsxwriter (title rows, a two-row header with merged cells, blank,
//! total and note rows, dates and amounts in every form, planted errors) and a GB18030 CSV file, imported through
//! the API: preview, commit, idempotent re-import, update by a corrected file, undo, and the funnel they make.

use reqwest::StatusCode;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};
use serde_json::{Value, json};

use crate::{db_test, support::TestApp, web::Web};

db_test!(
    a_messy_project_ledger_is_read_as_written,
    reimport_correction_and_undo,
    ledgers_of_two_years_make_the_funnel_and_its_yoy,
    the_import_page_previews_commits_and_undoes,
    a_company_list_with_contacts,
    a_visit_register,
    a_fund_sheet_on_imported_projects,
    foreign_capital_arrives_in_dollars_from_a_fund_sheet,
    every_template_imports_as_its_example_says,
    a_blocker_ledger_and_its_progress,
    an_outreach_ledger,
    an_incubation_ledger,
    a_sheet_finds_only_the_projects_its_importer_sees,
);

/// POSTs a project ledger to the import and answers status and report.
async fn upload(app: &TestApp, token: &str, query: &str, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    upload_to(app, token, "projects", query, name, bytes).await
}

/// POSTs a file to the import of a dataset and answers status and report.
async fn upload_to(
    app: &TestApp,
    token: &str,
    dataset: &str,
    query: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/imports/{dataset}?{query}", app.base_url()))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// One data row of the ledger: 序号 … 备注, as cells to write (a `D:` prefix writes a real date).
type Row<'a> = [&'a str; 15];

const CODE: &str = "91320594MA1MWJTQ42";

fn write(ws: &mut Worksheet, r: u32, c: u16, v: &str) {
    if let Some(d) = v.strip_prefix("D:") {
        let fmt = Format::new().set_num_format("yyyy-mm-dd");
        ws.write_datetime_with_format(r, c, ExcelDateTime::parse_from_str(d).unwrap(), &fmt)
            .unwrap();
    } else if let Some(n) = v.strip_prefix("N:") {
        ws.write_number(r, c, n.parse::<f64>().unwrap()).unwrap();
    } else if !v.is_empty() {
        ws.write_string(r, c, v).unwrap();
    }
}

/// A 2024 ledger as a bureau keeps it: a notes sheet first, then the table under three title rows, with a two-row
/// header (时间节点 over five dates; the other headers merged down both rows), the given data rows from row 6,
/// then a total row and a merged note.
fn ledger(rows: &[Row]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let notes = wb.add_worksheet().set_name("填表说明").unwrap();
    notes.write_string(0, 0, "请按时填报,数据截至每月25日。").unwrap();
    let ws = wb.add_worksheet().set_name("2024年台账").unwrap();
    let plain = Format::new();
    ws.merge_range(0, 0, 0, 14, "2024年重点招商项目台账", &plain).unwrap();
    ws.write_string(1, 0, "填报单位:招商局(盖章)").unwrap();
    ws.write_string(2, 0, "单位:万元").unwrap();
    let heads = [
        "序号",
        "项目名称",
        "投资方",
        "统一社会信用代码",
        "所属行业",
        "计划总投资\n(亿元)",
        "联系领导",
        "是否重大项目",
        "项目状态",
    ];
    for (c, h) in heads.iter().enumerate() {
        ws.merge_range(3, c as u16, 4, c as u16, h, &plain).unwrap();
    }
    ws.merge_range(3, 9, 3, 13, "时间节点", &plain).unwrap();
    for (c, h) in ["洽谈时间", "签约时间", "落地时间", "开工时间", "投产时间"]
        .iter()
        .enumerate()
    {
        ws.write_string(4, 9 + c as u16, *h).unwrap();
    }
    ws.merge_range(3, 14, 4, 14, "备注", &plain).unwrap();
    let mut r = 5;
    for row in rows {
        for (c, v) in row.iter().enumerate() {
            write(ws, r, c as u16, v);
        }
        r += 1;
    }
    ws.write_string(r, 0, "合计").unwrap();
    ws.write_number(r, 5, 9.9).unwrap();
    ws.merge_range(r + 1, 0, r + 1, 14, "注:本表数据截至2024年6月30日。", &plain)
        .unwrap();
    wb.save_to_buffer().unwrap()
}

fn good_rows() -> Vec<Row<'static>> {
    vec![
        [
            "1",
            "新能源汽车零部件项目",
            "精诚科技有限公司  ",
            CODE,
            "新能源",
            "N:2.5",
            "王局长",
            "是",
            "已签约",
            "D:2024-02-20",
            "2024/3/15",
            "",
            "",
            "",
            "由来访转化",
        ],
        [
            "2",
            "智能装备项目",
            "精诚科技（有限公司）",
            "",
            "智能制造",
            "1.2亿",
            "李主任",
            "√",
            "洽谈中",
            "2024.1.5",
            "",
            "",
            "",
            "",
            "",
        ],
        ["", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        [
            "3",
            "数据中心项目",
            "中燃公司",
            "",
            "数字经济",
            "３０００万元",
            "",
            "否",
            "已开工",
            "2024年1月",
            "2024-03-01",
            "2024年4月1日",
            "2024-05-10",
            "",
            "",
        ],
    ]
}

fn bad_rows() -> Vec<Row<'static>> {
    vec![
        [
            "4",
            "坏日期项目",
            "某公司",
            "",
            "",
            "",
            "",
            "",
            "",
            "2024-02-30",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "5",
            "倒序项目",
            "某公司",
            "",
            "",
            "",
            "",
            "",
            "",
            "2024-05-01",
            "2024-03-01",
            "",
            "",
            "",
            "",
        ],
        [
            "6",
            "未知状态项目",
            "某公司",
            "",
            "",
            "",
            "",
            "",
            "很好",
            "2024-01-01",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "7",
            "坏代码项目",
            "新公司",
            "123",
            "",
            "",
            "",
            "",
            "",
            "2024-01-02",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "8",
            "",
            "某公司",
            "",
            "",
            "",
            "",
            "",
            "",
            "2024-01-03",
            "",
            "",
            "",
            "",
            "",
        ],
    ]
}

fn errors(report: &Value) -> Vec<(i64, String, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().unwrap(),
                e["column"].as_str().unwrap_or("").to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn counts(r: &Value) -> [i64; 5] {
    ["rows", "created", "updated", "unchanged", "skipped"].map(|k| r[k].as_i64().unwrap())
}

async fn project_named(app: &TestApp, name: &str) -> Value {
    let (s, page) = app.get(&format!("/api/v1/projects?q={}", urlencode(name))).await;
    assert_eq!(s, StatusCode::OK);
    let items = page["items"].as_array().unwrap();
    items.iter().find(|p| p["name"] == name).cloned().unwrap_or(Value::Null)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn history(app: &TestApp, id: i64) -> Vec<(String, String)> {
    let (s, h) = app.get(&format!("/api/v1/projects/{id}/stage-events")).await;
    assert_eq!(s, StatusCode::OK, "{h}");
    h.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["stage"].as_str().unwrap().to_owned(),
                e["occurred_on"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn a_messy_project_ledger_is_read_as_written(app: TestApp) {
    let mut rows = good_rows();
    rows.extend(bad_rows());
    let file = ledger(&rows);
    let admin = app.token("admin").to_owned();

    // Preview: the table is found under the titles, with its two-row header; nothing is written. A viewer may not
    // preview (it matches the rows against records); staff may.
    let (s, _) = upload(&app, app.token("viewer"), "", "2024台账.xlsx", file.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, r) = upload(&app, app.token("staff"), "", "2024台账.xlsx", file.clone()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["committed"], false);
    assert_eq!(r["sheet"], "2024年台账");
    assert_eq!(r["header_rows"], json!([4, 5]));
    let mapped: Vec<(String, String)> = r["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["column"].as_str().unwrap().to_owned(),
                c["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(mapped.contains(&("C".into(), "company".into())), "{mapped:?}");
    assert!(mapped.contains(&("F".into(), "investment".into())));
    assert!(mapped.contains(&("K".into(), "signed_on".into())));
    assert!(mapped.contains(&("O".into(), "notes".into())));
    // Rows 6–14 are data (one blank), then the total and the note: 11 rows, 3 skipped.
    assert_eq!(counts(&r), [11, 3, 0, 0, 3], "{r}");
    assert_eq!(
        r["companies_created"], 2,
        "精诚科技 twice (full-width brackets, trailing spaces) and 中燃公司"
    );
    assert_eq!(
        errors(&r),
        [
            (10, "J".into(), "invalid_date".into()),
            (11, "K".into(), "dates_out_of_order".into()),
            (12, "I".into(), "unknown_stage".into()),
            (13, "D".into(), "invalid_value".into()),
            (14, "B".into(), "missing_value".into()),
        ],
        "{r}"
    );
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("2024-02-30"));
    let warnings = r["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w["row"] == 9 && w["column"] == "J" && w["code"] == "month_only"),
        "{r}"
    );
    assert_eq!(app.get("/api/v1/projects").await.1["total"], 0);

    // A viewer may preview but not commit; a commit with errors writes nothing (422 with the same report).
    let (s, _) = upload(&app, app.token("viewer"), "mode=commit", "2024台账.xlsx", file.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, r) = upload(&app, &admin, "mode=commit", "2024台账.xlsx", file.clone()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert_eq!(
        (r["committed"].clone(), r["errors"].as_array().unwrap().len()),
        (json!(false), 5)
    );
    assert_eq!(app.get("/api/v1/projects").await.1["total"], 0);
    assert_eq!(app.get("/api/v1/companies").await.1["total"], 0);

    // on_error=skip commits the good rows.
    let (s, r) = upload(&app, &admin, "mode=commit&on_error=skip", "2024台账.xlsx", file).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!((r["committed"].clone(), r["created"].clone()), (json!(true), json!(3)));
    assert!(r["batch_id"].as_i64().is_some());
    assert_eq!(app.get("/api/v1/companies").await.1["total"], 2);

    let p = project_named(&app, "新能源汽车零部件项目").await;
    assert_eq!(p["stage"], "signed");
    assert_eq!(p["agreed_investment"], "25000", "2.5 in a column headed 亿元");
    assert_eq!(
        (p["is_major"].clone(), p["contact_leader"].clone()),
        (json!(true), json!("王局长"))
    );
    assert_eq!(p["company_name"], "精诚科技有限公司");
    assert_eq!(
        history(&app, p["id"].as_i64().unwrap()).await,
        [
            ("negotiating".into(), "2024-02-20".into()),
            ("signed".into(), "2024-03-15".into())
        ]
    );
    let q = project_named(&app, "智能装备项目").await;
    assert_eq!(
        (q["company_id"].clone(), q["agreed_investment"].clone()),
        (p["company_id"].clone(), json!("12000"))
    );
    let d = project_named(&app, "数据中心项目").await;
    assert_eq!(
        (
            d["stage"].clone(),
            d["agreed_investment"].clone(),
            d["is_major"].clone()
        ),
        (json!("started"), json!("3000"), json!(false))
    );
    assert_eq!(
        history(&app, d["id"].as_i64().unwrap()).await,
        [
            ("negotiating".into(), "2024-01-01".into()),
            ("signed".into(), "2024-03-01".into()),
            ("landed".into(), "2024-04-01".into()),
            ("started".into(), "2024-05-10".into()),
        ]
    );

    // The commit is a batch in the list and in the audit log, with the file's hash.
    let (_, batches) = app.get("/api/v1/imports").await;
    assert_eq!(batches["items"][0]["file_name"], "2024台账.xlsx");
    assert_eq!(batches["items"][0]["counts"]["created"], 3);
    let (_, audit) = app.get("/api/v1/audit?action=import").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit["items"][0]["entity_id"], r["batch_id"]);
}

async fn reimport_correction_and_undo(app: TestApp) {
    let admin = app.token("admin").to_owned();
    let file = ledger(&good_rows());
    let (s, first) = upload(&app, &admin, "mode=commit", "台账.xlsx", file.clone()).await;
    assert_eq!((s, first["created"].clone()), (StatusCode::OK, json!(3)), "{first}");

    // The same file again changes nothing.
    let (s, again) = upload(&app, &admin, "mode=commit", "台账.xlsx", file).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(counts(&again), [6, 0, 0, 3, 3]);
    assert_eq!(app.get("/api/v1/companies").await.1["total"], 2);

    // Meanwhile 新能源 was moved to 落地 on 05-01 in the system. A corrected ledger: 智能装备 is now signed (a later
    // stage: a new event) with a new investment; but 新能源's 开工 is dated before its latest event on record: an
    // error naming that cell, and nothing is written.
    let p = project_named(&app, "新能源汽车零部件项目").await;
    let (s, _) = app
        .move_to(
            p["id"].as_i64().unwrap(),
            json!({"stage": "landed", "occurred_on": "2024-05-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut rows = good_rows();
    rows[1][8] = "已签约";
    rows[1][10] = "2024-04-01";
    rows[1][5] = "N:1.5";
    rows[0][12] = "2024-04-20";
    let (s, r) = upload(&app, &admin, "mode=commit", "台账-更正.xlsx", ledger(&rows)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert_eq!(errors(&r), [(6, "M".into(), "event_before_latest".into())]);
    rows[0][12] = "2024-05-20";
    let (s, r) = upload(&app, &admin, "mode=commit", "台账-更正.xlsx", ledger(&rows)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(counts(&r), [6, 0, 2, 1, 3], "{r}");
    assert_eq!(project_named(&app, "新能源汽车零部件项目").await["stage"], "started");
    let q = project_named(&app, "智能装备项目").await;
    let q_id = q["id"].as_i64().unwrap();
    assert_eq!(
        (q["stage"].clone(), q["agreed_investment"].clone()),
        (json!("signed"), json!("15000"))
    );
    assert_eq!(
        history(&app, q_id).await,
        [
            ("negotiating".into(), "2024-01-05".into()),
            ("signed".into(), "2024-04-01".into())
        ]
    );
    let signed_in_april = "/api/v1/projects?reached=signed&reached_from=2024-04-01&reached_to=2024-04-30";
    assert_eq!(
        app.get(signed_in_april).await.1["items"][0]["id"],
        q_id,
        "the reach date came with the import"
    );
    // Undo the correction: both projects are as the first import left them, at a new version.
    let batch = r["batch_id"].as_i64().unwrap();
    let (s, undone) = app.delete(&format!("/api/v1/imports/batches/{batch}")).await;
    assert_eq!(s, StatusCode::OK, "{undone}");
    assert!(undone["undone_at"].is_string());
    let q2 = project_named(&app, "智能装备项目").await;
    assert_eq!(
        (q2["stage"].clone(), q2["agreed_investment"].clone()),
        (json!("negotiating"), json!("12000"))
    );
    assert!(q2["version"].as_i64() > q["version"].as_i64());
    assert_eq!(history(&app, q_id).await, [("negotiating".into(), "2024-01-05".into())]);
    assert_eq!(app.get(signed_in_april).await.1["total"], 0, "and went with the undo");
    assert_eq!(
        project_named(&app, "新能源汽车零部件项目").await["stage"],
        "landed",
        "the move made in the system stays"
    );
    let (s, _) = app.delete(&format!("/api/v1/imports/batches/{batch}")).await;
    assert_eq!(s, StatusCode::CONFLICT, "undone already");

    // A record edited since the first import keeps that batch from being undone, and the answer names it.
    let d = project_named(&app, "数据中心项目").await;
    let (s, _) = app
        .patch(
            &format!("/api/v1/projects/{}", d["id"]),
            json!({"version": d["version"], "notes": "已核实"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let first_batch = first["batch_id"].as_i64().unwrap();
    let (s, e) = app.delete(&format!("/api/v1/imports/batches/{first_batch}")).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["code"], "changed_since_import");
    assert!(e["message"].as_str().unwrap().contains(&d["id"].to_string()), "{e}");

    // The same-file re-import made a batch of nothing: undoing it changes nothing and is allowed.
    let (s, _) = app
        .delete(&format!("/api/v1/imports/batches/{}", again["batch_id"]))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.get("/api/v1/projects").await.1["total"], 3);
}

/// A 2023 ledger as a GB18030 CSV file (what Excel writes on a Chinese Windows).
fn csv_2023() -> Vec<u8> {
    let text = "2023年招商项目台账,,,,\n项目名称,企业名称,洽谈时间,签约时间,落地时间\n\
                甲项目,甲公司,2023-02-01,2023-03-01,\n乙项目,乙公司,2023-02-10,,\n\
                丙项目,丙公司,2023-08-01,2023-09-01,2023-10-01\n合计,,,,\n";
    encoding_rs::GB18030.encode(text).0.into_owned()
}

async fn ledgers_of_two_years_make_the_funnel_and_its_yoy(app: TestApp) {
    let admin = app.token("admin").to_owned();
    let (s, r) = upload(&app, &admin, "mode=commit", "2023台账.csv", csv_2023()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(counts(&r), [4, 3, 0, 0, 1]);
    let (s, r) = upload(&app, &admin, "mode=commit", "2024台账.xlsx", ledger(&good_rows())).await;
    assert_eq!((s, r["created"].clone()), (StatusCode::OK, json!(3)), "{r}");

    // 2024 H1 flow, by the rows: negotiating 3 (02-20, 01-05, 01-01), signed 2 (03-15, 03-01), landed 1, started 1.
    // The same half of 2023: negotiating 2 (甲, 乙), signed 1 (甲); 丙 came in the second half.
    let (s, f) = app
        .get("/api/v1/analytics/funnel?period=2024-H1&as_of=2024-06-30")
        .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    let col = |k: &str| -> Vec<Value> { f["stages"].as_array().unwrap().iter().map(|s| s[k].clone()).collect() };
    assert_eq!(
        col("count"),
        [json!(3), json!(3), json!(2), json!(1), json!(1), json!(0)]
    );
    assert_eq!(
        col("previous_year_count"),
        [json!(2), json!(2), json!(1), json!(0), json!(0), json!(0)]
    );
    assert_eq!(col("growth_pct")[0], json!(50.0));
    // The whole year 2024 against 2023, where 丙 adds a negotiation, a signing and a landing in the second half.
    let (s, y) = app.get("/api/v1/analytics/funnel?period=2024&as_of=2024-12-31").await;
    assert_eq!(s, StatusCode::OK, "{y}");
    let year = |k: &str| -> Vec<Value> { y["stages"].as_array().unwrap().iter().map(|s| s[k].clone()).collect() };
    assert_eq!(
        year("count"),
        [json!(3), json!(3), json!(2), json!(1), json!(1), json!(0)]
    );
    assert_eq!(
        year("previous_year_count"),
        [json!(3), json!(3), json!(2), json!(1), json!(0), json!(0)]
    );
    assert_eq!(
        year("growth_pct")[..4],
        [json!(0.0), json!(0.0), json!(0.0), json!(0.0)]
    );

    // Undoing the 2023 batch takes its projects and companies away again.
    let (_, batches) = app.get("/api/v1/imports").await;
    let csv_batch = batches["items"][1]["id"].as_i64().unwrap();
    let (s, _) = app.delete(&format!("/api/v1/imports/batches/{csv_batch}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.get("/api/v1/projects").await.1["total"], 3);
    assert_eq!(app.get("/api/v1/companies").await.1["total"], 2);
}

async fn the_import_page_previews_commits_and_undoes(app: TestApp) {
    let mut rows = good_rows();
    rows.extend(bad_rows());
    let staff = Web::sign_in(&app, "staff").await;
    let page = staff.get("/imports").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("下载导入模板") && page.body.contains("确认导入"));

    // The preview names every bad cell beside its value; nothing is written.
    let file = ("台账.xlsx", ledger(&rows));
    let p = staff
        .upload("/imports/preview", &[("dataset", "projects")], file.clone())
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("预览:尚未写入任何数据"), "{}", p.body);
    assert_eq!(p.body.matches("class=\"cell-error\"").count(), 5, "{}", p.body);
    assert!(p.body.contains("无法识别的日期“2024-02-30”"));
    assert_eq!(app.get("/api/v1/projects").await.1["total"], 0);

    // A commit with errors writes nothing; skipping them writes the rest and reloads the batches.
    let c = staff
        .upload("/imports/commit", &[("dataset", "projects")], file.clone())
        .await;
    assert_eq!(c.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(c.body.contains("未导入任何数据"));
    let c = staff
        .upload(
            "/imports/commit",
            &[("dataset", "projects"), ("on_error", "skip")],
            file.clone(),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    // The batches list reloads on `imported`; the page confirms the import (导入完成, escaped for the header).
    let trigger: serde_json::Value = serde_json::from_str(c.trigger.as_deref().unwrap()).unwrap();
    assert_eq!(trigger["imported"], serde_json::Value::Null);
    assert_eq!(trigger["toast"]["message"], "导入完成");
    assert!(c.body.contains("已导入(批次 #"));
    assert_eq!(app.get("/api/v1/projects").await.1["total"], 3);
    let batches = staff.get("/imports/batches").await;
    assert!(
        batches.body.contains("台账.xlsx") && batches.body.contains("撤销"),
        "{}",
        batches.body
    );

    // A viewer may neither preview nor commit or undo; staff undo the batch.
    let viewer = Web::sign_in(&app, "viewer").await;
    assert_eq!(
        viewer.upload("/imports/preview", &[], file.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        viewer.upload("/imports/commit", &[], file).await.status,
        StatusCode::FORBIDDEN
    );
    let (_, list) = app.get("/api/v1/imports").await;
    let id = list["items"][0]["id"].as_i64().unwrap();
    assert_eq!(
        viewer.post(&format!("/imports/{id}/undo"), &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let u = staff.post(&format!("/imports/{id}/undo"), &[]).await;
    assert_eq!((u.status, u.hx.as_deref()), (StatusCode::OK, Some("true")));
    assert_eq!(app.get("/api/v1/projects").await.1["total"], 0);
    let t = staff.get("/imports/template/projects").await;
    assert_eq!(t.status, StatusCode::OK);
}

async fn a_company_list_with_contacts(app: TestApp) {
    let stored = app.company("中燃公司").await;
    let text = "企业名录\n企业名称,统一社会信用代码,所属行业,省份,联系人,职务,联系电话,规上时间\n\
                精诚科技有限公司,91320594MA1MWJTQ42,新能源,江苏,张伟,董事长,13800000000,\n\
                精诚科技（有限公司）,,,,李娜,总经理,13900000000,\n\
                中燃公司,91440300MA5FUTUR1A,能源,广东,赵六,,,2024年6月28日\n\
                坏电话公司,,,,王五,,abc,\n";
    let post = |q: &'static str| {
        upload_to(
            &app,
            app.token("admin"),
            "companies",
            q,
            "企业名录.csv",
            text.as_bytes().to_vec(),
        )
    };
    let r = post("mode=commit&on_error=skip").await.1;
    assert_eq!(r["committed"], true, "{r}");
    // 精诚 is new (two rows: its contacts); 中燃 was recorded: it gets its credit code, industry and a contact.
    assert_eq!(counts(&r), [4, 1, 2, 0, 0], "{r}");
    assert_eq!(errors(&r), [(6, "G".into(), "invalid_value".into())]);
    let (_, c) = app.get(&format!("/api/v1/companies/{stored}")).await;
    assert_eq!(
        (
            c["credit_code"].clone(),
            c["industry"].clone(),
            c["above_size_since"].clone()
        ),
        (json!("91440300MA5FUTUR1A"), json!("能源"), json!("2024-06-28"))
    );
    let (_, list) = app.get("/api/v1/companies?q=精诚").await;
    let jc = list["items"][0]["id"].as_i64().unwrap();
    let (_, contacts) = app.get(&format!("/api/v1/companies/{jc}/contacts")).await;
    let names: Vec<&str> = contacts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["张伟", "李娜"]);

    // Again: nothing changes. Undo the first batch: 精诚 and its contacts go, 中燃 is as it was (at a new version).
    let again = post("mode=commit&on_error=skip").await.1;
    assert_eq!(counts(&again), [4, 0, 0, 3, 0], "{again}");
    let (s, e) = app.delete(&format!("/api/v1/imports/batches/{}", r["batch_id"])).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(app.get("/api/v1/companies").await.1["total"], 1);
    let (_, c) = app.get(&format!("/api/v1/companies/{stored}")).await;
    assert_eq!(
        (
            c["credit_code"].clone(),
            c["industry"].clone(),
            c["above_size_since"].clone()
        ),
        (Value::Null, Value::Null, Value::Null)
    );
    assert_eq!(
        app.get(&format!("/api/v1/companies/{stored}/contacts")).await.1["total"],
        0
    );
}

async fn a_visit_register(app: TestApp) {
    let text = "来访接待登记表\n序号,来访日期,来访单位,来访人数,接待领导,来访事由\n\
                1,2024-03-15,\"精诚科技有限公司、中燃公司\",5,王局长、李主任,考察选址\n\
                2,2024/3/20,精诚科技(有限公司),3人,,\n\
                3,2024-04-01,新公司,0,,\n\
                4,2024-04-02,,2,,\n\
                5,2024-03-15,\"中燃公司,精诚科技有限公司\",5,,\n";
    let post = |q: &'static str| {
        upload_to(
            &app,
            app.token("admin"),
            "visits",
            q,
            "来访.csv",
            text.as_bytes().to_vec(),
        )
    };
    let r = post("").await.1;
    assert_eq!(counts(&r), [5, 2, 0, 0, 0], "{r}");
    assert_eq!(r["companies_created"], 2);
    assert_eq!(
        errors(&r),
        [
            (5, "D".into(), "invalid_value".into()),
            (6, "C".into(), "missing_value".into()),
            (7, "".into(), "duplicate_row".into()),
        ]
    );
    let r = post("mode=commit&on_error=skip").await.1;
    assert_eq!(r["committed"], true, "{r}");
    let (_, v) = app.get("/api/v1/visits?from=2024-03-01&to=2024-03-31").await;
    assert_eq!(
        (v["total"].clone(), v["person_times"].clone()),
        (json!(2), json!(8)),
        "{v}"
    );
    let first = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["visit_date"] == "2024-03-15")
        .unwrap()
        .clone();
    assert_eq!(first["company_ids"].as_array().unwrap().len(), 2);
    assert_eq!(first["receiving_leaders"], json!(["王局长", "李主任"]));

    assert_eq!(
        app.kept_astray().await,
        Vec::<String>::new(),
        "the imported visits' day totals are kept"
    );
    let again = post("mode=commit&on_error=skip").await.1;
    assert_eq!(counts(&again), [5, 0, 0, 2, 0], "{again}");
    let (s, _) = app.delete(&format!("/api/v1/imports/batches/{}", r["batch_id"])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.get("/api/v1/visits").await.1["total"], 0);
    assert_eq!(
        app.kept_astray().await,
        Vec::<String>::new(),
        "an undone import takes its day totals back"
    );
    assert_eq!(app.get("/api/v1/companies").await.1["total"], 0);
}

async fn a_fund_sheet_on_imported_projects(app: TestApp) {
    let admin = app.token("admin").to_owned();
    let (_, ledger_batch) = upload(&app, &admin, "mode=commit", "台账.xlsx", ledger(&good_rows())).await;
    let text = "到位资金台账\n单位:万元\n项目名称,企业名称,到位时间,到位资金\n\
                新能源汽车零部件项目,,2024-04-30,\"3,000\"\n\
                智能装备项目,精诚科技有限公司,2024年5月10日,0.5亿\n\
                不存在的项目,,2024-05-01,100\n\
                数据中心项目,,2024-05-01,0\n";
    let post = |q: &'static str| {
        upload_to(
            &app,
            app.token("admin"),
            "fund-arrivals",
            q,
            "到位资金.csv",
            text.as_bytes().to_vec(),
        )
    };
    let r = post("mode=commit&on_error=skip").await.1;
    assert_eq!(counts(&r), [4, 2, 0, 0, 0], "{r}");
    assert_eq!(
        errors(&r),
        [
            (6, "A".into(), "unknown_project".into()),
            (7, "D".into(), "invalid_value".into())
        ]
    );
    assert_eq!(
        project_named(&app, "新能源汽车零部件项目").await["funds_arrived"],
        "3000"
    );
    assert_eq!(project_named(&app, "智能装备项目").await["funds_arrived"], "5000");
    let again = post("mode=commit&on_error=skip").await.1;
    assert_eq!(counts(&again), [4, 0, 0, 2, 0], "{again}");

    // The projects' batch cannot be undone while the funds hang on its projects; the funds' batch can.
    let (s, e) = app
        .delete(&format!("/api/v1/imports/batches/{}", ledger_batch["batch_id"]))
        .await;
    assert_eq!(
        (s, e["code"].clone()),
        (StatusCode::CONFLICT, json!("changed_since_import")),
        "{e}"
    );
    let (s, _) = app.delete(&format!("/api/v1/imports/batches/{}", r["batch_id"])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(project_named(&app, "新能源汽车零部件项目").await["funds_arrived"], "0");
    let (s, e) = app
        .delete(&format!("/api/v1/imports/batches/{}", ledger_batch["batch_id"]))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(app.get("/api/v1/projects").await.1["total"], 0);
}

async fn foreign_capital_arrives_in_dollars_from_a_fund_sheet(app: TestApp) {
    let admin = app.token("admin").to_owned();
    upload(&app, &admin, "mode=commit", "台账.xlsx", ledger(&good_rows())).await;
    let text = "项目名称,到位时间,资本来源,到位资金(万元),到位外资(万美元),汇率\n\
                新能源汽车零部件项目,2024-04-30,外资,,12.5,7.1\n\
                智能装备项目,2024-05-10,港澳台资,8.89,\"1.234567万美元\",7.2034\n\
                新能源汽车零部件项目,2024-05-01,内资,100,,\n\
                数据中心项目,2024-05-01,,,10,\n\
                数据中心项目,2024-05-02,内资,,10,7\n\
                数据中心项目,2024-05-03,外资,50,,\n\
                数据中心项目,2024-05-04,侨资,50,,\n";
    let r = upload_to(
        &app,
        &admin,
        "fund-arrivals",
        "mode=commit&on_error=skip",
        "到位资金.csv",
        text.as_bytes().to_vec(),
    )
    .await
    .1;
    assert_eq!(
        errors(&r),
        [
            (5, "F".into(), "missing_value".into()),
            (6, "E".into(), "dollars_on_domestic".into()),
            (7, "E".into(), "invalid_value".into()),
            (8, "C".into(), "unknown_capital_origin".into()),
        ],
        "{r}"
    );
    assert_eq!(counts(&r)[1], 3, "{r}");
    // 12.5 万美元 at 7.1 = 88.75 万元 beside 100 万元 of 内资; 1.234567 万美元 at 7.2034 = 8.8931 万元.
    assert_eq!(
        project_named(&app, "新能源汽车零部件项目").await["funds_arrived"],
        "188.75"
    );
    let p = project_named(&app, "智能装备项目").await;
    assert_eq!(p["funds_arrived"], "8.8931");
    let (_, f) = app.get(&format!("/api/v1/projects/{}/fund-arrivals", p["id"])).await;
    assert_eq!(
        (
            &f["items"][0]["capital_origin"],
            &f["items"][0]["amount_usd"],
            &f["items"][0]["usd_rate"]
        ),
        (&json!("hong_kong_macao_taiwan"), &json!("1.234567"), &json!("7.2034"))
    );
}

async fn every_template_imports_as_its_example_says(app: TestApp) {
    let admin = app.token("admin").to_owned();
    let mut companies_batch = None;
    for dataset in [
        "projects",
        "companies",
        "visits",
        "fund-arrivals",
        "blockers",
        "outreach",
    ] {
        let resp = reqwest::Client::new()
            .get(format!("{}/api/v1/imports/templates/{dataset}", app.base_url()))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let bytes = resp.bytes().await.unwrap().to_vec();
        let (_, r) = upload_to(&app, &admin, dataset, "mode=commit", &format!("{dataset}.xlsx"), bytes).await;
        if dataset == "companies" {
            companies_batch = r["batch_id"].as_i64();
        }
        // The example row imports without an error or warning; the companies list then finds the company the
        // projects template created (so it updates it with the example's province, city and contact).
        assert_eq!(
            (r["errors"].clone(), r["warnings"].clone()),
            (json!([]), json!([])),
            "{dataset}: {r}"
        );
        assert_eq!(r["rows"], 1, "{dataset}: {r}");
        let expected = if dataset == "companies" { [0, 1] } else { [1, 0] };
        assert_eq!(
            [r["created"].as_i64().unwrap(), r["updated"].as_i64().unwrap()],
            expected,
            "{dataset}: {r}"
        );
    }
    let p = project_named(&app, "年产10万套新能源汽车零部件项目").await;
    assert_eq!(
        (p["stage"].clone(), p["funds_arrived"].clone()),
        (json!("signed"), json!("3000"))
    );
    // The project keeps its company's province, which the companies' import set and its undo takes back.
    assert_eq!((app.projects_in("江苏").await, app.provinces_astray().await), (1, 0));
    let batch = companies_batch.unwrap();
    let (s, undone) = app.delete(&format!("/api/v1/imports/batches/{batch}")).await;
    assert_eq!(s, StatusCode::OK, "{undone}");
    assert_eq!((app.projects_in("江苏").await, app.provinces_astray().await), (0, 0));
}

async fn a_blocker_ledger_and_its_progress(app: TestApp) {
    let admin = app.token("admin").to_owned();
    upload(&app, &admin, "mode=commit", "台账.xlsx", ledger(&good_rows())).await;
    let sheet = |first_status: &str, resolution: &str, resolved_on: &str| {
        format!(
            "问题台账\n项目名称,存在问题,问题类别,责任单位,协调领导,提出时间,办结时限,办理状态,解决情况,解决时间\n\
             新能源汽车零部件项目,用电增容审批未完成,审批,发改局,王局长,2024-04-01,2024-05-31,{first_status},{resolution},{resolved_on}\n\
             智能装备项目,招工难,招工,人社局,,2024-04-10,,待解决,,\n\
             数据中心项目,用地指标不足,用地,,,2024-03-01,2024-02-01,,,\n\
             数据中心项目,资金缺口,很多,,,2024-03-01,,,,\n"
        )
        .into_bytes()
    };
    let send = |token: String, q: &'static str, body: Vec<u8>| {
        let app = &app;
        async move { upload_to(app, &token, "blockers", q, "问题台账.csv", body).await }
    };
    let staff = app.token("staff").to_owned();
    let r = send(staff.clone(), "mode=commit&on_error=skip", sheet("推进中", "", ""))
        .await
        .1;
    assert_eq!(counts(&r), [4, 2, 0, 0, 0], "{r}");
    assert_eq!(
        errors(&r),
        [
            (5, "G".into(), "invalid_value".into()),
            (6, "C".into(), "unknown_category".into())
        ]
    );
    let (_, list) = app.get("/api/v1/blockers?status=in_progress").await;
    assert_eq!(list["total"], 1);
    assert_eq!(
        (
            list["items"][0]["category"].clone(),
            list["items"][0]["due_date"].clone()
        ),
        (json!("approvals"), json!("2024-05-31"))
    );

    // Resolving needs its resolution and date, and a leader or an admin: staff get the rule on that row.
    let resolved = sheet("已解决", "已完成增容", "2024-05-20");
    let r = send(staff.clone(), "", sheet("已解决", "", "")).await.1;
    assert_eq!(errors(&r)[0], (3, "I".into(), "resolution_required".into()), "{r}");
    let r = send(staff, "", resolved.clone()).await.1;
    assert_eq!(errors(&r)[0], (3, "".into(), "forbidden".into()), "{r}");
    let r = send(admin.clone(), "mode=commit&on_error=skip", resolved).await.1;
    assert_eq!(counts(&r), [4, 0, 1, 1, 0], "{r}");
    let (_, list) = app.get("/api/v1/blockers?status=resolved").await;
    assert_eq!(
        (list["total"].clone(), list["items"][0]["resolved_on"].clone()),
        (json!(1), json!("2024-05-20"))
    );

    // Undoing the correction puts the blocker back in progress.
    let (s, _) = app.delete(&format!("/api/v1/imports/batches/{}", r["batch_id"])).await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = app.get("/api/v1/blockers?status=in_progress").await;
    assert_eq!(
        (list["total"].clone(), list["items"][0]["resolution"].clone()),
        (json!(1), Value::Null)
    );
}

async fn an_outreach_ledger(app: TestApp) {
    let text = "2024年外出招商活动台账\n序号,活动类型,城市,开始日期,结束日期,带队领导,参加人员,拜访企业,活动成效\n\
                1,外出招商,深圳,2024-04-08,2024-04-10,王局长,张科员、李科员,\"精诚科技有限公司、中燃公司\",意向2个\n\
                2,推介会,上海,2024/5/20,,李主任,,,\n\
                3,茶话会,杭州,2024-06-01,,,,,\n\
                4,外出招商,广州,2024-06-10,2024-06-08,,,,\n";
    let send = |q: &'static str| {
        upload_to(
            &app,
            app.token("admin"),
            "outreach",
            q,
            "活动.csv",
            text.as_bytes().to_vec(),
        )
    };
    let r = send("mode=commit&on_error=skip").await.1;
    assert_eq!(counts(&r), [4, 2, 0, 0, 0], "{r}");
    assert_eq!(r["companies_created"], 2);
    assert_eq!(
        errors(&r),
        [
            (5, "B".into(), "unknown_kind".into()),
            (6, "E".into(), "invalid_value".into())
        ]
    );
    let (_, list) = app.get("/api/v1/outreach").await;
    assert_eq!(list["total"], 2, "{list}");
    let trip = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["city"] == "深圳")
        .unwrap()
        .clone();
    assert_eq!(
        (trip["kind"].clone(), trip["end_date"].clone()),
        (json!("trip"), json!("2024-04-10"))
    );
    assert_eq!(trip["company_ids"].as_array().unwrap().len(), 2);
    assert_eq!(trip["participants"], json!(["张科员", "李科员"]));

    let again = send("mode=commit&on_error=skip").await.1;
    assert_eq!(counts(&again), [4, 0, 0, 2, 0], "{again}");
    let (s, _) = app.delete(&format!("/api/v1/imports/batches/{}", r["batch_id"])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.get("/api/v1/outreach").await.1["total"], 0);
    assert_eq!(app.get("/api/v1/companies").await.1["total"], 0);
}

async fn an_incubation_ledger(app: TestApp) {
    let sheet = |approved: &str| {
        format!(
            "高企培育台账\n企业名称,培育年度,纳入培育时间,申报时间,评审通过时间,备案时间,未通过时间,未通过原因\n\
             精诚科技有限公司,2024,2024-03-01,2024-06-15,{approved},,,\n\
             中燃公司,,2024-04-01,,,,2024-09-01,研发投入不足\n\
             新材料公司,2024,2024-05-01,2024-04-01,,,,\n\
             坏年度公司,24,2024-05-01,,,,,\n"
        )
        .into_bytes()
    };
    let send =
        |q: &'static str, body: Vec<u8>| upload_to(&app, app.token("admin"), "incubation", q, "高企培育.csv", body);
    let r = send("mode=commit&on_error=skip", sheet("")).await.1;
    assert_eq!(counts(&r), [4, 2, 0, 0, 0], "{r}");
    assert_eq!(
        errors(&r),
        [
            (5, "D".into(), "dates_out_of_order".into()),
            (6, "B".into(), "invalid_value".into())
        ]
    );
    let (_, list) = app.get("/api/v1/incubation?cohort_year=2024").await;
    let stage_of = |list: &Value, name: &str| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["company_name"] == name)
            .map(|c| c["stage"].clone())
    };
    assert_eq!(list["total"], 2, "{list}");
    assert_eq!(stage_of(&list, "精诚科技有限公司"), Some(json!("applied")));
    assert_eq!(
        stage_of(&list, "中燃公司"),
        Some(json!("failed")),
        "the cohort year is the first date's"
    );

    // The same file changes nothing; approval added later moves the candidate on, and undoing that moves it back.
    let again = send("mode=commit&on_error=skip", sheet("")).await.1;
    assert_eq!(counts(&again), [4, 0, 0, 2, 0], "{again}");
    let later = send("mode=commit&on_error=skip", sheet("2024-10-20")).await.1;
    assert_eq!(counts(&later), [4, 0, 1, 1, 0], "{later}");
    assert_eq!(
        stage_of(&app.get("/api/v1/incubation").await.1, "精诚科技有限公司"),
        Some(json!("approved"))
    );
    let (s, _) = app
        .delete(&format!("/api/v1/imports/batches/{}", later["batch_id"]))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        stage_of(&app.get("/api/v1/incubation").await.1, "精诚科技有限公司"),
        Some(json!("applied"))
    );
    let (s, e) = app.delete(&format!("/api/v1/imports/batches/{}", r["batch_id"])).await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "the candidate moved since the first import (the undo bumped it): {e}"
    );
}

/// A staffer of 招商一局 importing a sheet that names 招商二局's project: the fund sheet does not find it, the project
/// ledger neither changes it nor records a second one; nothing of theirs is written.
async fn a_sheet_finds_only_the_projects_its_importer_sees(app: TestApp) {
    let mut tokens = Vec::new();
    for (login, dept) in [("a1", "招商一局"), ("b1", "招商二局")] {
        let (_, d) = app.post("/api/v1/departments", json!({"name": dept})).await;
        let (s, u) = app
            .post(
                "/api/v1/users",
                json!({"username": login, "display_name": login, "role": "staff", "password": "a-long-password-123", "department_id": d["id"]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        tokens.push(
            app.login(login, "a-long-password-123").await.1["token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let company = app.company("精诚科技有限公司").await;
    let (s, p) = app
        .with_token(&tokens[1])
        .post(
            "/api/v1/projects",
            json!({"name": "二局项目", "company_id": company, "stage": "lead", "occurred_on": "2024-03-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let funds = "项目名称,到位时间,到位资金(万元)\n二局项目,2024-05-01,10\n";
    let (s, r) = upload_to(
        &app,
        &tokens[0],
        "fund-arrivals",
        "mode=commit",
        "到位资金.csv",
        funds.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert_eq!(errors(&r), [(2, "A".into(), "unknown_project".into())], "{r}");
    let ledger = "项目名称,企业名称,洽谈时间\n二局项目,精诚科技有限公司,2024-04-01\n";
    let (_, r) = upload(&app, &tokens[0], "mode=commit", "台账.csv", ledger.as_bytes().to_vec()).await;
    assert_eq!(errors(&r), [(2, "A".into(), "out_of_scope".into())], "{r}");
    let stored = project_named(&app, "二局项目").await;
    assert_eq!(
        (stored["funds_arrived"].clone(), stored["stage"].clone()),
        (json!("0"), json!("lead")),
        "{stored}"
    );
    assert_eq!(app.get("/api/v1/projects").await.1["total"], 1);
    // The staffer who owns it imports both.
    let (_, r) = upload_to(
        &app,
        &tokens[1],
        "fund-arrivals",
        "mode=commit",
        "到位资金.csv",
        funds.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(counts(&r)[1], 1, "{r}");
    let (_, r) = upload(&app, &tokens[1], "mode=commit", "台账.csv", ledger.as_bytes().to_vec()).await;
    assert_eq!((errors(&r), counts(&r)[2]), (vec![], 1), "{r}");
}
