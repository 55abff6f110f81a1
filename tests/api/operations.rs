//! What an operator sees: `/metrics` scraped by a real Prometheus server (Debian's `prometheus`, started here with a
//! scrape config) and read back through its HTTP API; who may scrape; the separate metrics address; JSON log lines
//! with request ids and without secrets or contact details. (The recorder is one per process: the tests of this
//! binary add to the same series, so they assert lower bounds.)

use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{db_test, mail::free_port, support::TestApp};

db_test!(prometheus_scrapes_the_service);

const PROMETHEUS: &str = "/usr/bin/prometheus";

/// A Prometheus server scraping one target every second, stopped when dropped.
struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (host:port) with the bearer token; skips without it (fails under CI).
    async fn start(target: &str, token: &str) -> Option<Prometheus> {
        if !std::path::Path::new(PROMETHEUS).exists() {
            return crate::support::skip("prometheus is not installed (apt install prometheus)");
        }
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: invest-crm\n    metrics_path: /metrics\n    \
             authorization:\n      type: Bearer\n      credentials: {token}\n    static_configs:\n      - targets: ['{target}']\n"
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let port = free_port();
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        Some(Prometheus { child, port, _dir: dir })
    }

    /// The result of an instant query once it has one (within 30 s), else empty.
    async fn query(&self, q: &str) -> Vec<Value> {
        let url = format!("http://127.0.0.1:{}/api/v1/query", self.port);
        for _ in 0..60 {
            if let Ok(r) = reqwest::Client::new().get(&url).query(&[("query", q)]).send().await
                && let Ok(v) = r.json::<Value>().await
                && let Some(found) = v["data"]["result"].as_array().filter(|a| !a.is_empty())
            {
                return found.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        Vec::new()
    }
}

/// The value of a sample of an instant query's result.
fn value(sample: &Value) -> f64 {
    sample["value"][1].as_str().unwrap().parse().unwrap()
}

async fn token(app: &TestApp, scopes: &[&str]) -> String {
    let until = (chrono::Utc::now().date_naive() + chrono::Duration::days(10)).to_string();
    let body = json!({"user_id": app.user_ids["admin"], "name": "监控", "scopes": scopes, "expires_on": until});
    let (status, t) = app.post("/api/v1/tokens", body).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    t["token"].as_str().unwrap().to_owned()
}

async fn prometheus_scrapes_the_service(app: TestApp) {
    // Who may scrape: a token of the `metrics` scope; not a stranger, not a token that reads records.
    let base = app.base_url().to_owned();
    let metrics = token(&app, &["metrics"]).await;
    let reader = token(&app, &["read"]).await;
    let http = reqwest::Client::new();
    let scrape = async |token: Option<&str>| {
        let mut r = http.get(format!("{base}/metrics"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(scrape(None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(scrape(Some(&reader)).await.0, StatusCode::FORBIDDEN);
    let (status, text) = scrape(Some(&metrics)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("invest_crm_build_info{version=\""), "{text}");
    // The metrics token reads nothing else.
    let (status, _) = app.with_token(&metrics).get("/api/v1/projects").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Some traffic: reads of a project (an id in the path), a failed sign-in, a queued e-mail, a job run.
    let p = app.project("监控项目", "lead", "2024-03-01").await;
    let id = p["id"].as_i64().unwrap();
    for _ in 0..3 {
        assert_eq!(app.get(&format!("/api/v1/projects/{id}")).await.0, StatusCode::OK);
    }
    assert_eq!(
        app.login("staff", "wrong-password-0000").await.0,
        StatusCode::UNAUTHORIZED
    );
    jobs::outbox::alert_admins(&app.db, "metrics-test", "【测试】监控", "测试")
        .await
        .unwrap();
    let (status, _) = app.post("/api/v1/jobs/audit_verify/run", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let mut text = String::new();
    for _ in 0..50 {
        text = scrape(Some(&metrics)).await.1;
        if text.contains("invest_crm_job_runs_total{name=\"audit_verify\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        text.contains("invest_crm_job_runs_total{name=\"audit_verify\""),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    invest_crm::backup::backup(&app.db, &app.url, dir.path()).await.unwrap();

    let target = base.trim_start_matches("http://");
    let Some(prom) = Prometheus::start(target, &metrics).await else {
        return;
    };
    let up = prom.query("up{job=\"invest-crm\"} == 1").await;
    assert_eq!(up.len(), 1, "Prometheus scrapes the service: {up:?}");
    let reads = prom
        .query("invest_crm_http_requests_total{route=\"/api/v1/projects/{}\",method=\"GET\",status=\"200\"}")
        .await;
    assert_eq!(
        reads.len(),
        1,
        "one series for every project read, its id left out: {reads:?}"
    );
    assert!(value(&reads[0]) >= 3.0);
    let latency = prom
        .query(
            "invest_crm_http_request_duration_seconds_bucket{route=\"/api/v1/projects/{}\",method=\"GET\",le=\"+Inf\"}",
        )
        .await;
    assert!(!latency.is_empty() && value(&latency[0]) >= 3.0, "{latency:?}");
    let failures = prom
        .query("invest_crm_sign_in_failures_total{reason=\"wrong_password\"}")
        .await;
    assert!(!failures.is_empty() && value(&failures[0]) >= 1.0, "{failures:?}");
    let pending = prom.query("invest_crm_outbox_messages{status=\"pending\"} > 0").await;
    assert!(!pending.is_empty(), "the queued alert shows as pending");
    assert!(
        !prom
            .query("invest_crm_outbox_oldest_pending_age_seconds")
            .await
            .is_empty()
    );
    let runs = prom.query("invest_crm_job_runs_total{name=\"audit_verify\"}").await;
    assert!(!runs.is_empty(), "the job run is counted");
    let backup = prom.query("invest_crm_backup_last_size_bytes > 0").await;
    assert_eq!(backup.len(), 1, "the backup's size: {backup:?}");
    assert!(!prom.query("invest_crm_backup_age_seconds").await.is_empty());
    let pool = prom.query("invest_crm_db_pool_max_connections > 0").await;
    assert_eq!(pool.len(), 1, "{pool:?}");
    let build = prom.query("invest_crm_build_info").await;
    assert_eq!(build[0]["metric"]["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_address_answers_without_a_token_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_invest-crm"))
        .arg("serve")
        .env("INVEST_CRM_DATA_DIR", dir.path())
        .env("INVEST_CRM_LISTEN", format!("127.0.0.1:{port}"))
        .env("INVEST_CRM_METRICS_LISTEN", format!("127.0.0.1:{metrics_port}"))
        .env("INVEST_CRM_JOBS__ENABLED", "false")
        .env("INVEST_CRM_ADMIN_PASSWORD", "admin-password-123")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let mut answer = None;
    for _ in 0..100 {
        if http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_err()
        {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        }
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .send()
            .await
        {
            answer = Some((r.status(), r.text().await.unwrap()));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, text) = answer.expect("the metrics address answers");
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("invest_crm_db_pool_connections"), "{text}");
    let other = http
        .get(format!("http://127.0.0.1:{metrics_port}/api/v1/projects"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND, "only /metrics there");
    let main = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        main.status(),
        StatusCode::UNAUTHORIZED,
        "the main address still asks for a token"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_carry_the_request_id_and_no_secret_or_contact() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let admin_password = "Adm1n-Passw0rd-For-Logs";
    let log = std::fs::File::create(dir.path().join("log.jsonl")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_invest-crm"))
        .arg("serve")
        .env("INVEST_CRM_DATA_DIR", dir.path())
        .env("INVEST_CRM_LISTEN", format!("127.0.0.1:{port}"))
        .env("INVEST_CRM_LOG_FORMAT", "json")
        .env(
            "INVEST_CRM_LOG",
            "debug,sqlx=warn,hyper=info,h2=info,rustls=info,reqwest=info",
        )
        .env("INVEST_CRM_TRUSTED_PROXIES", "[\"127.0.0.1\"]")
        .env("INVEST_CRM_JOBS__ENABLED", "false")
        .env("INVEST_CRM_ADMIN_PASSWORD", admin_password)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let (base, http) = (format!("http://127.0.0.1:{port}"), reqwest::Client::new());
    for _ in 0..100 {
        if http.get(format!("{base}/readyz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A wrong password, then the right one; a company with a contact's phone and e-mail; a token issued.
    let wrong = "Wr0ng-Guess-Secret-77";
    let login = |password: &str| {
        http.post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": password}))
            .send()
    };
    assert_eq!(login(wrong).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let session: Value = login(admin_password).await.unwrap().json().await.unwrap();
    let session = session["token"].as_str().unwrap().to_owned();
    let sent_id = "trial-req-0001";
    let made = http
        .post(format!("{base}/api/v1/companies"))
        .bearer_auth(&session)
        .header("x-request-id", sent_id)
        .json(&json!({"name": "日志检查企业"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    assert_eq!(
        made.headers()["x-request-id"],
        sent_id,
        "a trusted proxy's id is kept and echoed"
    );
    let company: Value = made.json().await.unwrap();
    let (phone, email) = ("13912345678", "zhang.san@example.cn");
    let contact = http
        .post(format!("{base}/api/v1/companies/{}/contacts", company["id"]))
        .bearer_auth(&session)
        .json(&json!({"name": "张三", "phone": phone, "email": email}))
        .send()
        .await
        .unwrap();
    assert_eq!(contact.status(), StatusCode::CREATED);
    let made_id = contact.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made_id.len(), 32, "an id is made when none is sent: {made_id}");
    let bad = http
        .get(format!("{base}/healthz"))
        .header("x-request-id", "not an id; <script>")
        .send()
        .await
        .unwrap();
    assert_ne!(bad.headers()["x-request-id"], "not an id; <script>");
    let until = (chrono::Utc::now().date_naive() + chrono::Duration::days(3)).to_string();
    let issued: Value = http
        .post(format!("{base}/api/v1/tokens"))
        .bearer_auth(&session)
        .json(&json!({"user_id": 1, "name": "日志", "scopes": ["read"], "expires_on": until}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = issued["token"].as_str().expect("a token").to_owned();
    // The audit entry of the write carries the request's id.
    let audit: Value = http
        .get(format!("{base}/api/v1/audit?action=create&entity=company"))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"][0]["request_id"], sent_id, "{audit}");

    // Stopped, its log read: every line is JSON; the write's lines carry its id; no secret and no contact detail.
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(dir.path().join("log.jsonl")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let of_write: Vec<&Value> = lines.iter().filter(|l| l["span"]["id"] == sent_id).collect();
    assert!(
        of_write
            .iter()
            .any(|l| l["fields"]["path"] == "/api/v1/companies" && l["fields"]["status"] == 201),
        "the write's answer is logged with its id: {of_write:?}"
    );
    assert!(lines.len() > 10, "{text}");
    for needle in [admin_password, wrong, &session, &secret, phone, email] {
        assert!(!text.contains(needle), "the log holds {needle:?}:\n{text}");
    }
}
