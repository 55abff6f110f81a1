//! `/metrics` in the Prometheus text format (`metrics` + `metrics-exporter-prometheus`): every request by route
//! template, method and status with its latency; the sign-in failures, lockouts and rate-limited attempts as they
//! happen; and, read from the database at each scrape (so that every replica tells the same story), the connection
//! pool, the job runs (labelled `name`: Prometheus keeps `job` for its own scrape job), the outbox and the latest
//! backup. Reachable with a token of the `metrics` scope (or an admin's session), or without one on the separate
//! `metrics_listen` address.

use std::{sync::OnceLock, time::Instant};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::{
    Endpoint, IntoResponse, Request, Response, handler,
    http::{StatusCode, header},
    web::Data,
};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

use crate::service::{AppError, Need, sessions};

const REQUESTS: &str = "invest_crm_http_requests_total";
const LATENCY: &str = "invest_crm_http_request_duration_seconds";

/// The process's recorder, installed on first use.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(LATENCY.into()), &buckets)
            .expect("fixed buckets")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics shows the database's figures only");
        }
        metrics::gauge!("invest_crm_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        handle
    })
}

/// The route a path belongs to, without its ids: `/api/v1/projects/{id}/stage`. The API's paths are matched
/// against its document; anything else has its numeric segments replaced, and an answer of 404 counts as
/// `unmatched`, so that no client can make the series grow without bound.
fn route(edge: Option<&super::Edge>, path: &str, status: StatusCode) -> String {
    if status == StatusCode::NOT_FOUND {
        return "unmatched".into();
    }
    if path.starts_with("/api/v1/") {
        return edge
            .and_then(|e| e.template(path))
            .unwrap_or_else(|| "unmatched".into());
    }
    if path.starts_with("/assets/") {
        return "/assets/{file}".into();
    }
    path.split('/')
        .map(|s| if s.parse::<i64>().is_ok() { "{id}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// Middleware counting every request with its route, method, status and latency.
pub async fn measure<E: Endpoint>(ep: E, req: Request) -> poem::Result<Response> {
    handle();
    let started = Instant::now();
    let (method, path) = (req.method().to_string(), req.uri().path().to_owned());
    let edge = req.data::<super::Edge>().cloned();
    let answer = ep.call(req).await.map(IntoResponse::into_response);
    let status = match &answer {
        Ok(r) => r.status(),
        Err(e) => e.status(),
    };
    let route = route(edge.as_ref(), &path, status);
    let labels = [
        ("route", route),
        ("method", method),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!(REQUESTS, &labels).increment(1);
    metrics::histogram!(LATENCY, &labels[..2]).record(started.elapsed().as_secs_f64());
    answer
}

/// A sign-in refused: `reason` is `rate_limited`, `unknown_user`, `wrong_password`, `locked` or `disabled`.
pub fn sign_in_failed(reason: &'static str) {
    metrics::counter!("invest_crm_sign_in_failures_total", "reason" => reason).increment(1);
    if reason == "rate_limited" {
        metrics::counter!("invest_crm_rate_limited_total", "limit" => "sign_in").increment(1);
    }
}

/// An account locked (`scope`: `address` or `account`).
pub fn locked_out(scope: &'static str) {
    metrics::counter!("invest_crm_lockouts_total", "scope" => scope).increment(1);
}

/// `GET /metrics` on the service's own address: a token of the `metrics` scope, or an admin's session.
#[handler]
pub async fn scrape(req: &Request, auth: Data<&crate::api::auth::AuthState>) -> poem::Result<Response> {
    let token = req
        .header(header::AUTHORIZATION)
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthorized)?;
    let actor = sessions::resolve(&auth.db, &auth.config, token.trim()).await?;
    actor.require(Need::Metrics)?;
    Ok(render(&auth.db).await)
}

/// `GET /metrics` on `metrics_listen`: the same figures without a token.
#[handler]
pub async fn scrape_open(db: Data<&DatabaseConnection>) -> Response {
    render(&db).await
}

async fn render(db: &DatabaseConnection) -> Response {
    let handle = handle();
    if let Err(e) = from_database(db).await {
        tracing::warn!(error = %format!("{e:#}"), "metrics: reading the database's figures failed");
        metrics::gauge!("invest_crm_metrics_database_up").set(0.0);
    } else {
        metrics::gauge!("invest_crm_metrics_database_up").set(1.0);
    }
    handle.run_upkeep();
    Response::builder()
        .status(StatusCode::OK)
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}

async fn rows(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<sea_orm::QueryResult>> {
    Ok(db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?)
}

fn seconds(t: chrono::DateTime<chrono::Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// The figures every replica reads alike from the database.
async fn from_database(db: &DatabaseConnection) -> anyhow::Result<()> {
    use entity::{audit_entry, enums::JobStatus, enums::OutboxStatus, job_run, outbox};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

    let (size, idle, max) = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            (p.size(), p.num_idle(), p.options().get_max_connections())
        }
        _ => {
            let p = db.get_sqlite_connection_pool();
            (p.size(), p.num_idle(), p.options().get_max_connections())
        }
    };
    metrics::gauge!("invest_crm_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("invest_crm_db_pool_connections", "state" => "in_use").set(f64::from(size) - idle as f64);
    metrics::gauge!("invest_crm_db_pool_max_connections").set(f64::from(max));

    for r in rows(
        db,
        "SELECT job, status, COUNT(*) AS n FROM job_runs GROUP BY job, status",
    )
    .await?
    {
        let (job, status): (String, String) = (r.try_get("", "job")?, r.try_get("", "status")?);
        let n: i64 = r.try_get("", "n")?;
        metrics::counter!("invest_crm_job_runs_total", "name" => job, "status" => status).absolute(n as u64);
    }
    let latest = job_run::Entity::find()
        .select_only()
        .column(job_run::Column::Job)
        .column_as(job_run::Column::Id.max(), "id")
        .filter(job_run::Column::Status.eq(JobStatus::Succeeded))
        .group_by(job_run::Column::Job)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?;
    let ids = latest.into_iter().map(|(_, id)| id);
    for r in job_run::Entity::find()
        .filter(job_run::Column::Id.is_in(ids))
        .all(db)
        .await?
    {
        let took = r
            .finished_at
            .map_or(0.0, |f| (f - r.started_at).num_milliseconds() as f64 / 1000.0);
        let at = r.finished_at.map_or(0.0, seconds);
        metrics::gauge!("invest_crm_job_last_success_timestamp_seconds", "name" => r.job.clone()).set(at);
        metrics::gauge!("invest_crm_job_last_success_duration_seconds", "name" => r.job).set(took);
    }

    for status in ["pending", "sending", "sent", "failed"] {
        metrics::gauge!("invest_crm_outbox_messages", "status" => status).set(0.0);
    }
    for r in rows(db, "SELECT status, COUNT(*) AS n FROM outbox GROUP BY status").await? {
        let (status, n): (String, i64) = (r.try_get("", "status")?, r.try_get("", "n")?);
        metrics::gauge!("invest_crm_outbox_messages", "status" => status).set(n as f64);
    }
    let now = seconds(chrono::Utc::now());
    let oldest = outbox::Entity::find()
        .filter(outbox::Column::Status.eq(OutboxStatus::Pending))
        .order_by_asc(outbox::Column::Id)
        .one(db)
        .await?;
    let age = oldest.map_or(0.0, |m| (now - seconds(m.created_at)).max(0.0));
    metrics::gauge!("invest_crm_outbox_oldest_pending_age_seconds").set(age);

    let backup = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("backup"))
        .order_by_desc(audit_entry::Column::Id)
        .one(db)
        .await?;
    if let Some(b) = backup {
        let bytes = b.detail.as_ref().and_then(|d| d["bytes"].as_f64()).unwrap_or(0.0);
        metrics::gauge!("invest_crm_backup_last_timestamp_seconds").set(seconds(b.at));
        metrics::gauge!("invest_crm_backup_age_seconds").set((now - seconds(b.at)).max(0.0));
        metrics::gauge!("invest_crm_backup_last_size_bytes").set(bytes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;

    #[test]
    fn a_route_is_its_template() {
        let r = |p: &str, s: StatusCode| super::route(None, p, s);
        assert_eq!(r("/projects/42/edit", StatusCode::OK), "/projects/{id}/edit");
        assert_eq!(r("/assets/app.3f2a.js", StatusCode::OK), "/assets/{file}");
        assert_eq!(r("/no/such/page", StatusCode::NOT_FOUND), "unmatched");
        assert_eq!(
            r("/api/v1/projects/7", StatusCode::OK),
            "unmatched",
            "without the document, unmatched"
        );
    }
}
