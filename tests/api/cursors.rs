//! Keyset cursors: every list of the API walks with `after`/`next` to the same records in the same order as its
//! numbered pages, and a walk taken while others insert and delete sees every record that stayed exactly once.

use std::collections::{BTreeSet, HashSet};
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::support::{TestApp, assert_error};

db_test!(
    every_list_walks_by_cursor,
    a_walk_under_inserts_and_deletes_sees_each_record_once,
    short_searches_find_every_name_that_holds_them
);

/// The records of `path` (a list, with or without a query) walked page by page: with `after` when `cursor`, else by
/// page number; answers each record's key (its id, or the whole record where it has none) in order.
async fn walk(app: &TestApp, path: &str, per_page: u64, cursor: bool) -> Vec<String> {
    let join = if path.contains('?') { '&' } else { '?' };
    let mut keys = Vec::new();
    let mut after = String::new();
    for page in 1.. {
        let url = match cursor {
            true => format!("{path}{join}per_page={per_page}&after={after}"),
            false => format!("{path}{join}per_page={per_page}&page={page}"),
        };
        let (s, answer) = app.get(&url).await;
        assert_eq!(s, StatusCode::OK, "{url}: {answer}");
        // The job runs come as `runs` beside the schedule.
        let body = answer.get("runs").unwrap_or(&answer);
        let items = body["items"].as_array().unwrap_or_else(|| panic!("{url}: {answer}"));
        keys.extend(items.iter().map(|i| match &i["id"] {
            Value::Null => i.to_string(),
            id => id.to_string(),
        }));
        assert!(items.len() as u64 <= per_page, "{url}");
        if cursor {
            assert!(
                body.get("total").is_none_or(Value::is_null),
                "{url}: a cursor page counts nothing"
            );
            match body["next"].as_str() {
                Some(n) => {
                    assert_eq!(items.len() as u64, per_page, "{url}: only a full page has a next one");
                    after = n.to_owned();
                }
                None => break,
            }
        } else {
            let total = body["total"].as_u64().unwrap();
            assert_eq!(
                body["next"].is_string(),
                page * per_page < total,
                "{url}: next iff more follow"
            );
            if page * per_page >= total {
                break;
            }
        }
    }
    keys
}

/// Every list operation of the spec: its path, with each `{id}` replaced by the parent record whose list is
/// longest (so that the walk crosses pages).
async fn lists(app: &TestApp) -> Vec<String> {
    let (_, spec) = app.get("/openapi.json").await;
    let mut paths = Vec::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        let Some(get) = ops.get("get") else { continue };
        let params: Vec<&str> = get["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        if !params.contains(&"page") {
            continue;
        }
        assert!(params.contains(&"after"), "{path} pages by number but takes no cursor");
        paths.push(format!("/api/v1{path}"));
    }
    let mut out = Vec::new();
    for path in paths {
        let Some((parent, _)) = path.split_once("/{id}") else {
            out.push(path);
            continue;
        };
        let (_, parents) = app.get(&format!("{parent}?per_page=200")).await;
        let mut best = (0, String::new());
        for p in parents["items"].as_array().expect(parent) {
            let child = path.replace("{id}", &p["id"].to_string());
            let (_, list) = app.get(&format!("{child}?per_page=1")).await;
            let total = list["total"].as_u64().unwrap_or(0);
            if total > best.0 || best.1.is_empty() {
                best = (total, child);
            }
        }
        out.push(best.1);
    }
    out
}

async fn every_list_walks_by_cursor(app: TestApp) {
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let admin = app.as_user("admin");
    let lists = lists(&app).await;
    assert!(lists.len() >= 18, "{lists:?}");
    let mut crossed = Vec::new();
    for path in &lists {
        let numbered = walk(&app, path, 200, false).await;
        let by_cursor = walk(&app, path, 3, true).await;
        assert_eq!(
            by_cursor, numbered,
            "{path}: the cursor walk differs from the numbered pages"
        );
        if by_cursor.len() > 3 {
            crossed.push(path.as_str());
        }
    }
    // The demo park fills most lists past one page of three; those are where a cursor is exercised.
    assert!(crossed.len() >= 12, "lists walked across pages: {crossed:?}");
    for mixed in ["/api/v1/targets", "/api/v1/visits", "/api/v1/projects"] {
        assert!(crossed.contains(&mixed), "{mixed} was walked across pages: {crossed:?}");
    }

    // The same walk on a filtered list.
    let filtered = "/api/v1/projects?reached_from=2024-01-01&reached_to=2024-06-30";
    assert_eq!(
        walk(&app, filtered, 2, true).await,
        walk(&app, filtered, 200, false).await
    );

    // A cursor and a page number together, a cursor that is not one, and one of another list are refused.
    let (_, first) = admin.get("/api/v1/visits?per_page=2&after=").await;
    let next = first["next"].as_str().unwrap().to_owned();
    assert!(first["person_times"].is_null(), "{first}");
    assert_error(
        &admin.get(&format!("/api/v1/visits?page=2&after={next}")).await,
        StatusCode::BAD_REQUEST,
        "invalid_value",
        Some("after"),
    );
    for bad in ["not-a-cursor", "W10", "WyJ4Il0", &next] {
        let path = match bad == next {
            true => format!("/api/v1/projects?after={bad}"),
            false => format!("/api/v1/visits?after={bad}"),
        };
        assert_error(
            &admin.get(&path).await,
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some("after"),
        );
    }
    // The staff pages go forward by cursor: 下一页 of the project list carries one and shows the next 20.
    let web = crate::web::Web::sign_in(&app, "admin").await;
    let first = web.get("/projects").await;
    assert_eq!(first.status, StatusCode::OK);
    let link = first
        .body
        .split("href=\"")
        .filter_map(|h| h.split('"').next())
        .find(|h| h.contains("after="))
        .expect("下一页 with a cursor")
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    let second = web.get(&link).await;
    assert_eq!(second.status, StatusCode::OK, "{link}");
    assert!(second.body.contains("第 2 /"), "{link}");
    let ids = |h: &str| -> BTreeSet<String> {
        h.split("href=\"/projects/")
            .skip(1)
            .filter_map(|r| r.split(['"', '/']).next())
            .filter(|id| id.chars().all(|c| c.is_ascii_digit()))
            .map(str::to_owned)
            .collect()
    };
    let page2 = web.get("/projects?page=2").await;
    assert!(!ids(&second.body).is_empty());
    assert_eq!(
        ids(&second.body),
        ids(&page2.body),
        "the cursor's page 2 is the numbered page 2"
    );
}

async fn a_walk_under_inserts_and_deletes_sees_each_record_once(app: TestApp) {
    let admin = app.as_user("admin");
    let company = app.company("游标测试公司").await;
    let day = |i: u64| format!("2024-{:02}-{:02}", 1 + i % 12, 1 + (i * 7) % 28);
    let mut start = BTreeSet::new();
    for i in 0..120 {
        let (s, v) = admin
            .post(
                "/api/v1/visits",
                json!({"visit_date": day(i), "headcount": 1, "company_ids": [company]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        start.insert(v["id"].as_i64().unwrap());
    }
    // A writer inserts visits on days all over the range (some land ahead of the walk, some behind it) and deletes
    // every third of the visits there at the start, while a reader walks 7 at a time.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, base, token) = (stop.clone(), app.base_url().to_owned(), app.token("admin").to_owned());
        let doomed: Vec<i64> = start.iter().copied().step_by(3).collect();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let (mut inserted, mut deleted) = (HashSet::new(), HashSet::new());
            for i in 0.. {
                if stop.load(Ordering::Relaxed) && i > 20 {
                    break;
                }
                let body = json!({"visit_date": day(1000 + i * 5), "headcount": 2, "company_ids": [company]});
                let r = client
                    .post(format!("{base}/api/v1/visits"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                inserted.insert(r.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
                if let Some(id) = doomed.get(i as usize) {
                    let r = client
                        .delete(format!("{base}/api/v1/visits/{id}?version=1"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), StatusCode::NO_CONTENT);
                    deleted.insert(*id);
                }
            }
            (inserted, deleted)
        })
    };
    let mut seen = Vec::new();
    let mut keys = Vec::new();
    let mut after = String::new();
    loop {
        let (s, body) = admin.get(&format!("/api/v1/visits?per_page=7&after={after}")).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        for v in body["items"].as_array().unwrap() {
            seen.push(v["id"].as_i64().unwrap());
            keys.push((v["visit_date"].as_str().unwrap().to_owned(), v["id"].as_i64().unwrap()));
        }
        match body["next"].as_str() {
            Some(n) => after = n.to_owned(),
            None => break,
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let (inserted, deleted) = writer.await.unwrap();
    assert!(
        inserted.len() > 20 && deleted.len() > 20,
        "{} inserted, {} deleted",
        inserted.len(),
        deleted.len()
    );

    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a record was shown twice");
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "the walk kept its order (newest first)"
    );
    for id in start.iter().filter(|id| !deleted.contains(id)) {
        assert!(
            unique.contains(id),
            "visit {id} was there all along and the walk missed it"
        );
    }
    for id in &unique {
        assert!(
            start.contains(id) || inserted.contains(id),
            "visit {id} came from nowhere"
        );
    }
    let late: Vec<_> = unique.iter().filter(|id| inserted.contains(id)).collect();
    let gone: Vec<_> = unique.iter().filter(|id| deleted.contains(id)).collect();
    eprintln!(
        "walked {} visits: {} of them inserted during the walk, {} deleted after they were shown",
        seen.len(),
        late.len(),
        gone.len()
    );
}

/// Every record of `E` with its name, as the database holds them.
async fn every_name<E: sea_orm::EntityTrait>(app: &TestApp) -> Vec<(i64, String)> {
    use sea_orm::{QuerySelect, sea_query::Expr};
    E::find()
        .select_only()
        .column_as(Expr::col("id"), "id")
        .column_as(Expr::col("name"), "name")
        .into_tuple()
        .all(&app.db)
        .await
        .unwrap()
}

/// The ids (as [`walk`] gives them) of the records among `names` whose name holds `q`, whatever the case.
fn holding(names: &[(i64, String)], q: &str) -> BTreeSet<String> {
    let q = q.to_lowercase();
    names
        .iter()
        .filter(|(_, n)| n.to_lowercase().contains(&q))
        .map(|(id, _)| id.to_string())
        .collect()
}

/// Searches of one or two letters, which PostgreSQL narrows through the letters and letter pairs it keeps of each
/// name when few names hold them, and answers by reading every name when many do: each finds exactly the projects
/// and companies whose names hold it — counted, by number and by cursor — as names are written, changed and deleted.
async fn short_searches_find_every_name_that_holds_them(app: TestApp) {
    use entity::{company, project};
    use sea_orm::ConnectionTrait;

    // 300 projects 基准项目000000 … and their companies 基准企业…: `7` is in 57 of the projects' names, `77` in three.
    app.synthetic_projects(300).await;
    let chip = app.project("芯片Ab二期", "lead", "2024-03-01").await;
    let queries = [
        "7", "77", "基准", "项目", "芯片", "ab", "AB", "b", "二期", "_", "%", "x",
    ];
    let check = async |when: &str| {
        let projects = every_name::<project::Entity>(&app).await;
        let companies = every_name::<company::Entity>(&app).await;
        for (path, names) in [("/api/v1/projects", &projects), ("/api/v1/companies", &companies)] {
            for q in queries {
                let want = holding(names, q);
                let url = format!("{path}?q={}", q.replace('%', "%25"));
                let (s, page) = app.get(&url).await;
                assert_eq!(s, StatusCode::OK, "{when} {url}: {page}");
                assert_eq!(page["total"].as_u64(), Some(want.len() as u64), "{when} {url}");
                for cursor in [true, false] {
                    let got = walk(&app, &url, 5, cursor).await;
                    assert_eq!(got.len(), want.len(), "{when} {url} cursor {cursor}: each record once");
                    assert_eq!(
                        got.into_iter().collect::<BTreeSet<_>>(),
                        want,
                        "{when} {url} cursor {cursor}"
                    );
                }
            }
        }
        if app.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            for t in ["projects", "companies"] {
                let astray = app
                    .count_of(format!(
                        "SELECT count(*) AS n FROM {t} WHERE name_grams <> name_grams(name)"
                    ))
                    .await;
                assert_eq!(astray, 0, "{when}: {t} keep the letter pairs of their names");
            }
        }
    };
    check("as generated").await;
    // Once PostgreSQL has statistics of the pairs, those most names hold (`基准`, `项目`) are read in order instead.
    if app.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        app.db
            .execute_unprepared("ANALYZE projects; ANALYZE companies")
            .await
            .unwrap();
        check("with statistics").await;
    }

    // A name changed, another deleted, a company renamed: the searches follow.
    let id = chip["id"].as_i64().unwrap();
    let (s, p) = app
        .patch(
            &format!("/api/v1/projects/{id}"),
            json!({"version": chip["version"], "name": "光伏XB项目77"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let (_, gone) = app.get("/api/v1/projects?q=000277").await;
    let gone = &gone["items"][0];
    let (s, _) = app
        .delete(&format!("/api/v1/projects/{}?version={}", gone["id"], gone["version"]))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let company = chip["company_id"].as_i64().unwrap();
    let (_, c) = app.get(&format!("/api/v1/companies/{company}")).await;
    let (s, c) = app
        .patch(
            &format!("/api/v1/companies/{company}"),
            json!({"version": c["version"], "name": "芯X材料"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    check("after the changes").await;
}
