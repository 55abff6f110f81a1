//! The HTTP API under `/api/v1` (DESIGN §6): one `#[OpenApi]` struct per resource, all sharing the types here.

mod accounts;
mod analytics;
mod audit;
mod blockers;
mod companies;
mod exports;
mod follow_ups;
mod funds;
mod history;
mod incubation;
mod labels;
mod outreach;
mod partners;
pub(crate) mod projects;
mod targets;
mod visits;

use poem::{
    EndpointExt, IntoEndpoint, Route, get, handler,
    http::{Method, StatusCode, header},
    middleware::{Cors, SetHeader},
    web::{Data, Json as PoemJson},
};
use poem_openapi::{
    ApiResponse, OpenApiService, Tags,
    payload::Json,
    types::{ParseFromJSON, ToJSON, Type},
};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    Select,
    sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr},
};

use crate::{
    auth::AuthState,
    config::Config,
    error::{AppError, AppResult},
};

/// The resources of the API, as OpenAPI tags.
#[derive(Tags)]
enum ApiTags {
    /// 企业/客商单位 and their contacts (联系人).
    Companies,
    /// 招商项目 and their stage history (阶段记录).
    Projects,
    /// 跟进记录 on projects.
    FollowUps,
    /// 到位资金: dated fund arrivals of projects.
    FundArrivals,
    /// 来访接待: visits; one visit is one batch (批), its headcount the person-times (人次).
    Visits,
    /// 招商活动: outreach trips, promotion events, forums, resident campaigns.
    Outreach,
    /// 合作机构: chambers of commerce and agencies.
    Partners,
    /// 难题/问题台账: blockers of projects.
    Blockers,
    /// 高企培育: high-tech incubation candidates and their stage history.
    Incubation,
    /// 年度目标: yearly targets.
    Targets,
    /// Reference data: labels of enum values.
    Reference,
    /// Sign-in, sessions, users, API tokens and the audit log.
    Accounts,
    /// Funnels, KPIs, snapshots and job runs (DESIGN §3, §5).
    Analytics,
    /// Exports for the leading group: CSV, XLSX, JSON.
    Exports,
}

/// A page of a list.
#[derive(poem_openapi::Object)]
pub struct Page<T: ParseFromJSON + ToJSON> {
    /// The records of this page.
    pub items: Vec<T>,
    /// The number of records matching the filters, over all pages.
    pub total: u64,
    /// The page number, from 1.
    pub page: u64,
    /// Records per page (at most 200).
    pub per_page: u64,
}

/// Answer to a create: 201 with the new record.
#[derive(ApiResponse)]
pub enum Created<T: ToJSON + Type> {
    /// The record was created.
    #[oai(status = 201)]
    Created(Json<T>),
}

/// Answer to a delete: 204.
#[derive(ApiResponse)]
pub enum Deleted {
    /// The record was deleted.
    #[oai(status = 204)]
    Deleted,
}

/// Page number and size, validated by the parameters' schemas (page ≥ 1, 1 ≤ per_page ≤ 200).
#[derive(Clone, Copy)]
pub struct Paging {
    page: u64,
    per_page: u64,
}

impl Paging {
    fn new(page: Option<u64>, per_page: Option<u64>) -> Paging {
        Paging {
            page: page.unwrap_or(1),
            per_page: per_page.unwrap_or(20),
        }
    }

    /// Runs `select` for this page in the database and wraps the rows with `map`.
    async fn fetch<E, T, C>(
        self,
        db: &C,
        select: Select<E>,
        map: impl AsyncFnOnce(Vec<E::Model>) -> AppResult<Vec<T>>,
    ) -> AppResult<Page<T>>
    where
        E: EntityTrait,
        E::Model: Send + Sync,
        C: ConnectionTrait,
        T: ParseFromJSON + ToJSON,
    {
        let total = select.clone().count(db).await?;
        let rows = select
            .offset((self.page - 1) * self.per_page)
            .limit(self.per_page)
            .all(db)
            .await?;
        Ok(Page {
            items: map(rows).await?,
            total,
            page: self.page,
            per_page: self.per_page,
        })
    }
}

/// Loads a record by id or answers 404.
async fn find<E, C>(db: &C, id: i64, what: &'static str) -> AppResult<E::Model>
where
    E: EntityTrait,
    E::PrimaryKey: sea_orm::PrimaryKeyTrait<ValueType = i64>,
    C: ConnectionTrait,
{
    E::find_by_id(id).one(db).await?.ok_or(AppError::not_found(what))
}

/// Writes `changes` to the record `id` only if it still has version `sent` (so concurrent edits never overwrite each
/// other), bumping the version and `updated_at`; answers the stored record.
async fn update_versioned<E, C>(
    db: &C,
    id: i64,
    what: &'static str,
    sent: i32,
    changes: E::ActiveModel,
) -> AppResult<E::Model>
where
    E: EntityTrait,
    E::PrimaryKey: sea_orm::PrimaryKeyTrait<ValueType = i64>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    C: ConnectionTrait,
{
    let res = E::update_many()
        .set(changes)
        .col_expr(Alias::new("version"), Expr::value(sent + 1))
        .col_expr(Alias::new("updated_at"), Expr::value(chrono::Utc::now()))
        .filter(Expr::col(Alias::new("id")).eq(id))
        .filter(Expr::col(Alias::new("version")).eq(sent))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(stale_or_missing::<E, C>(db, id, what).await);
    }
    find::<E, _>(db, id, what).await
}

/// Deletes the record `id` only if it still has version `sent`.
async fn delete_versioned<E, C>(db: &C, id: i64, what: &'static str, sent: i32) -> AppResult<Deleted>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let res = E::delete_many()
        .filter(Expr::col(Alias::new("id")).eq(id))
        .filter(Expr::col(Alias::new("version")).eq(sent))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(stale_or_missing::<E, C>(db, id, what).await);
    }
    Ok(Deleted::Deleted)
}

/// Why a versioned write touched no row: the record is gone (404) or has another version (409).
async fn stale_or_missing<E: EntityTrait, C: ConnectionTrait>(db: &C, id: i64, what: &'static str) -> AppError {
    match current_version::<E>(db, id).await {
        Ok(Some(v)) => AppError::stale(v),
        Ok(None) => AppError::not_found(what),
        Err(e) => e,
    }
}

/// The `name` of each record of `E` (companies, projects …) among `ids`, in one query.
pub(crate) async fn names<E: EntityTrait>(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> AppResult<std::collections::HashMap<i64, String>> {
    Ok(E::find()
        .select_only()
        .column_as(Expr::col(Alias::new("id")), "id")
        .column_as(Expr::col(Alias::new("name")), "name")
        .filter(Expr::col(Alias::new("id")).is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The stored version of record `id`, if it exists.
async fn current_version<E: EntityTrait>(db: &impl ConnectionTrait, id: i64) -> AppResult<Option<i32>> {
    Ok(E::find()
        .select_only()
        .column_as(Expr::col(Alias::new("version")), "version")
        .filter(Expr::col(Alias::new("id")).eq(id))
        .into_tuple::<i32>()
        .one(db)
        .await?)
}

/// A case-insensitive "name contains `q`" condition; `%`, `_` and `\` in `q` are taken literally.
fn name_contains(col: impl sea_orm::ColumnTrait, q: &str) -> sea_orm::sea_query::SimpleExpr {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    Expr::expr(Func::lower(Expr::col(col.as_column_ref()))).like(LikeExpr::new(p).escape('\\'))
}

#[handler]
fn healthz() -> PoemJson<serde_json::Value> {
    PoemJson(serde_json::json!({"status": "ok"}))
}

#[handler]
async fn readyz(db: Data<&DatabaseConnection>) -> (StatusCode, PoemJson<serde_json::Value>) {
    match db.ping().await {
        Ok(()) => (StatusCode::OK, PoemJson(serde_json::json!({"status": "ready"}))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                PoemJson(serde_json::json!({"status": "unavailable", "reason": "database unreachable"})),
            )
        }
    }
}

/// The OpenAPI service of every resource.
fn service(db: &DatabaseConnection, cfg: &Config) -> OpenApiService<impl poem_openapi::OpenApi + use<>, ()> {
    OpenApiService::new(
        (
            accounts::AccountsApi {
                db: db.clone(),
                config: cfg.auth.clone(),
            },
            companies::CompaniesApi { db: db.clone() },
            projects::ProjectsApi { db: db.clone() },
            follow_ups::FollowUpsApi { db: db.clone() },
            funds::FundsApi { db: db.clone() },
            visits::VisitsApi { db: db.clone() },
            outreach::OutreachApi { db: db.clone() },
            partners::PartnersApi { db: db.clone() },
            blockers::BlockersApi { db: db.clone() },
            incubation::IncubationApi { db: db.clone() },
            targets::TargetsApi { db: db.clone() },
            labels::LabelsApi,
            exports::ExportsApi { db: db.clone() },
            analytics::AnalyticsApi {
                db: db.clone(),
                schedules: cfg.jobs.clone(),
            },
        ),
        "invest-crm",
        env!("CARGO_PKG_VERSION"),
    )
    .description("招商引资 CRM: companies, projects and their pipeline for a park's investment-promotion bureau.")
    .server("/api/v1")
}

/// The whole HTTP application: the API (audited, never cached), its docs and spec, and the health checks.
pub fn app(db: DatabaseConnection, cfg: &Config) -> impl poem::Endpoint + use<> {
    let api = service(&db, cfg);
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let cors = Cors::new()
        .allow_origins(cfg.cors_origins.iter().map(String::as_str))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers(["authorization", "content-type", "accept-language"]);
    Route::new()
        .nest(
            "/api/v1",
            api.around(audit::record)
                .with(SetHeader::new().overriding(header::CACHE_CONTROL, "no-store")),
        )
        .nest("/docs", docs)
        .at("/openapi.json", spec)
        .at("/healthz", get(healthz))
        .at("/readyz", get(readyz))
        .data(AuthState {
            db: db.clone(),
            config: cfg.auth.clone(),
        })
        .data(db)
        .around(crate::error::localize)
        .with(
            SetHeader::new()
                .overriding(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
                .overriding(header::X_FRAME_OPTIONS, "DENY")
                .overriding(header::REFERRER_POLICY, "no-referrer"),
        )
        .with_if(!cfg.cors_origins.is_empty(), cors)
        .into_endpoint()
}

/// The OpenAPI document, as served at `/openapi.json`.
pub fn spec_json(cfg: &Config) -> String {
    service(&DatabaseConnection::default(), cfg).spec()
}
