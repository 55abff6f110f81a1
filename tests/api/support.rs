//! The test harness: the real app on a fresh database per test, reached over HTTP on a port the OS picks.
//!
//! SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set (a fresh database per test, dropped afterwards).
//! Without it the PostgreSQL variant prints why it skips, and fails under `CI=true`.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicU32, Ordering},
};

use poem::{
    Server,
    listener::{Acceptor, Listener, TcpListener},
};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;

/// Runs a test body on SQLite and, where configured, on PostgreSQL: `db_test!(name)` for `async fn name(app: TestApp)`.
#[macro_export]
macro_rules! db_test {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::TestApp::sqlite().await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::support::TestApp::postgres().await {
                    super::$name(app).await
                }
            }
        }
    )+};
}

/// The password of every test user.
pub const PASSWORD: &str = "test-password-1234";

/// The roles of the test users; each test app has one user per role, named after it, signed in.
pub const ROLES: [&str; 4] = ["admin", "leader", "staff", "viewer"];

/// A running app and a client for it; requests go as the `admin` user unless sent through [`TestApp::as_user`].
pub struct TestApp {
    base: String,
    client: reqwest::Client,
    /// The app's database, for tests that must look underneath the API.
    pub db: DatabaseConnection,
    /// Its URL, for tests that start the binary as processes on the same database.
    pub url: String,
    tokens: HashMap<&'static str, String>,
    /// The ids of the test users, by role.
    pub user_ids: HashMap<&'static str, i64>,
    /// The app's settings (its data folder, where attachments are kept, is a temporary one).
    pub cfg: invest_crm::config::Config,
    _data: tempfile::TempDir,
    _store: Store,
}

/// Requests as one caller (a signed-in test user, a token, or nobody).
pub struct As<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

enum Store {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Store::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime, which cannot block on itself: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A test that needs a service it cannot start: skipped with the reason printed, or failed under `CI=true`.
pub fn skip<T>(why: &str) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {why}");
    }
    eprintln!("skipping: {why}");
    None
}

/// Starts `python3 tests/<script> <args…>`, a server of the tests that prints `ready` once it listens; `None` (a
/// skip, a failure under CI) when python3 or the server cannot start. The caller kills the child when done.
pub fn python_server(script: &str, args: &[String], what: &str) -> Option<std::process::Child> {
    use std::io::BufRead;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(script);
    let spawned = std::process::Command::new("python3")
        .arg(&path)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return skip(&format!("cannot run python3: {e}")),
    };
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .ok();
    if line.trim() != "ready" {
        let _ = child.kill();
        return skip(&format!("{what} did not start"));
    }
    Some(child)
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "icrm_test_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestApp {
    /// The `n` a counting statement answers.
    pub async fn count_of(&self, sql: String) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }

    /// How many projects keep a province other than their company's as stored (the database keeps it on each
    /// project for the breakdowns by province: always none).
    pub async fn provinces_astray(&self) -> i64 {
        self.count_of(
            "SELECT COUNT(*) AS n FROM projects p JOIN companies c ON c.id = p.company_id \
             WHERE COALESCE(p.company_province, '') <> COALESCE(c.province, '')"
                .to_owned(),
        )
        .await
    }

    /// What the database keeps by its triggers ([`migration::keepers`]: the visits' day totals, the projects' and
    /// candidates' reach days, the blockers' days) that differs from the records, either way: each table astray with
    /// how many rows; none when the database kept everything right.
    pub async fn kept_astray(&self) -> Vec<String> {
        let mut astray = Vec::new();
        for k in migration::keepers(self.db.get_database_backend()) {
            let (kept, derived) = &k.kept_and_derived;
            let mut n = 0;
            for (one, other) in [(kept, derived), (derived, kept)] {
                n += self
                    .count_of(format!("SELECT COUNT(*) AS n FROM ({one} EXCEPT {other}) x"))
                    .await;
            }
            if n > 0 {
                astray.push(format!(
                    "{} from {}: {n} rows",
                    k.table.unwrap_or("reach days"),
                    k.source
                ));
            }
        }
        astray
    }

    /// How many projects keep `province` as their company's.
    pub async fn projects_in(&self, province: &str) -> i64 {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        entity::project::Entity::find()
            .filter(entity::project::Column::CompanyProvince.eq(province))
            .count(&self.db)
            .await
            .unwrap() as i64
    }

    /// Fills the database with the benchmark's synthetic projects (histories that skip stages, move back, drop,
    /// reopen and run past the as-of date) and a few other records.
    pub async fn synthetic_projects(&self, projects: usize) {
        let size = invest_crm::bench::Size {
            projects,
            visits: 10,
            blockers: 10,
            candidates: 10,
        };
        invest_crm::bench::generate(&self.db, size).await.unwrap();
    }

    /// The app on a new SQLite file.
    pub async fn sqlite() -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        TestApp::start(&url, Store::Sqlite(dir)).await
    }

    /// The app on a new PostgreSQL database, or `None` (with the reason printed) when none is configured.
    pub async fn postgres() -> Option<TestApp> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL tests cannot run");
            }
            eprintln!("skipping the PostgreSQL variant: TEST_DATABASE_URL is not set");
            return None;
        };
        let admin = match Database::connect(&admin_url).await {
            Ok(db) => db,
            Err(e) => panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"),
        };
        let name = unique_name();
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create the test database");
        admin.close().await.ok();
        let (head, query) = match admin_url.split_once('?') {
            Some((h, q)) => (h, format!("?{q}")),
            None => (admin_url.as_str(), String::new()),
        };
        let base = head.rsplit_once('/').map_or(head, |(b, _)| b);
        let url = format!("{base}/{name}{query}");
        Some(TestApp::start(&url, Store::Postgres { admin_url, name }).await)
    }

    async fn start(url: &str, store: Store) -> TestApp {
        let db = invest_crm::db::connect(url).await.expect("connect");
        invest_crm::db::migrate(&db).await.expect("migrate");
        let (tokens, user_ids) = sign_in_users(&db).await;
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind");
        let addr = acceptor.local_addr()[0]
            .as_socket_addr()
            .copied()
            .expect("a TCP address");
        let data = tempfile::tempdir().expect("temp dir");
        let cfg = invest_crm::config::Config {
            data_dir: data.path().to_owned(),
            ..Default::default()
        };
        let reads = invest_crm::db::readers(&db, url).await.expect("the readers");
        let app = invest_crm::app(db.clone(), reads, &cfg).expect("the app");
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            db,
            url: url.to_owned(),
            tokens,
            user_ids,
            cfg,
            _data: data,
            _store: store,
        }
    }

    /// Serves the app once more, on the same database with `cfg`; answers its address.
    pub async fn also_serve(&self, cfg: &invest_crm::config::Config) -> String {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind");
        let addr = acceptor.local_addr()[0]
            .as_socket_addr()
            .copied()
            .expect("a TCP address");
        let reads = invest_crm::db::readers(&self.db, &self.url).await.expect("the readers");
        let app = invest_crm::app(self.db.clone(), reads, cfg).expect("the app");
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        format!("http://{addr}")
    }

    /// The address the app listens on.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Requests as the test user of `role`.
    pub fn as_user(&self, role: &str) -> As<'_> {
        As {
            app: self,
            token: Some(self.tokens[role].clone()),
        }
    }

    /// Requests with the given bearer token.
    pub fn with_token(&self, token: &str) -> As<'_> {
        As {
            app: self,
            token: Some(token.to_owned()),
        }
    }

    /// Requests without credentials.
    pub fn anonymous(&self) -> As<'_> {
        As { app: self, token: None }
    }

    /// The session token of the test user of `role`.
    pub fn token(&self, role: &str) -> &str {
        &self.tokens[role]
    }

    /// Signs in through the API.
    pub async fn login(&self, username: &str, password: &str) -> (StatusCode, Value) {
        self.anonymous()
            .post(
                "/api/v1/auth/login",
                serde_json::json!({"username": username, "password": password}),
            )
            .await
    }

    /// Sends a request as `admin`; see [`As::call`].
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.as_user("admin").call(method, path, body).await
    }

    /// Sends a request as `admin` with extra headers and a raw body.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        self.as_user("admin").call_with(method, path, headers, body).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a company and answers its id.
    pub async fn company(&self, name: &str) -> i64 {
        let (s, b) = self.post("/api/v1/companies", serde_json::json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["id"].as_i64().unwrap()
    }

    /// Creates a project at `stage` on `date` for a new company and answers the project.
    pub async fn project(&self, name: &str, stage: &str, date: &str) -> Value {
        let company = self.company(&format!("{name}公司")).await;
        let (s, b) = self
            .post(
                "/api/v1/projects",
                serde_json::json!({"name": name, "company_id": company, "stage": stage, "occurred_on": date}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b
    }

    /// Records a stage move and answers status and body.
    pub async fn move_to(&self, id: i64, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/api/v1/projects/{id}/stage-events"), body).await
    }
}

impl As<'_> {
    /// Sends a request with an optional JSON body; answers the status and the JSON body (null when empty).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.send(
            self.app.client.request(method, format!("{}{path}", self.app.base)),
            body,
        )
        .await
    }

    /// Like [`As::call`] with extra headers and a raw body.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.app.client.request(method, format!("{}{path}", self.app.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b.to_owned());
        }
        self.send(req, None).await
    }

    async fn send(&self, mut req: reqwest::RequestBuilder, body: Option<Value>) -> (StatusCode, Value) {
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body read");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }
}

/// Creates one user per role through the account service, each signed in with a session of its own.
async fn sign_in_users(db: &DatabaseConnection) -> (HashMap<&'static str, String>, HashMap<&'static str, i64>) {
    use entity::enums::Role;
    use invest_crm::service::{
        accounts::{self, NewUser, Password, Username},
        input::Short,
        sessions::{self, AuthConfig},
    };
    let (mut tokens, mut ids) = (HashMap::new(), HashMap::new());
    for (name, role) in ROLES
        .into_iter()
        .zip([Role::Admin, Role::Leader, Role::Staff, Role::Viewer])
    {
        let new = NewUser {
            username: Username::parse("username", name).unwrap(),
            display_name: Short::parse("display_name", &format!("测试{name}")).unwrap(),
            email: Some(format!("{name}@example.com")),
            role,
            password: Password::parse("password", PASSWORD).unwrap(),
            department_id: None,
            data_scope: None,
        };
        let u = accounts::create_user(db, new).await.unwrap();
        let (_, session) = sessions::open_session(db, &AuthConfig::default(), u.id, None, None)
            .await
            .unwrap();
        tokens.insert(name, session.token);
        ids.insert(name, u.id);
    }
    (tokens, ids)
}

/// Asserts an error answer: its status, its machine code and (when given) its field.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["code"], code, "{}", got.1);
    assert!(got.1["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", got.1);
    if let Some(f) = field {
        assert_eq!(got.1["field"], f, "{}", got.1);
    }
}
