//! The HTTP API under `/api/v1` (docs/ARCHITECTURE.md): one `#[OpenApi]` struct per resource, all sharing the types here.

mod accounts;
mod agenda;
mod analytics;
pub mod attachments;
pub mod auth;
mod blockers;
mod body;
mod channels;
mod companies;
mod departments;
mod document;
mod exports;
mod follow_ups;
mod funds;
mod imports;
mod incubation;
mod labels;
mod outreach;
mod partners;
mod prelude;
mod projects;
mod support_funds;
mod targets;
pub mod types;
mod visits;

use poem::{
    EndpointExt, Route, get, handler,
    http::{Method, StatusCode, header},
    middleware::{Cors, SetHeader},
    web::{Data, Json as PoemJson},
};
use poem_openapi::{
    ApiResponse, OpenApiService, Tags,
    param::Query,
    payload::Json,
    registry::{MetaSchema, MetaSchemaRef},
    types::{MaybeUndefined, ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use sea_orm::DatabaseConnection;
use std::{borrow::Cow, sync::Arc};

use crate::files::{FileStore, FilesConfig};
use crate::service::Code;
use crate::{
    config::Config,
    edge::{Edge, audit, error},
    service::{self, AppResult, input::Patch, sessions::SignInGate},
};
use auth::AuthState;

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
    /// 扶持资金: support funds secured for companies.
    SupportFunds,
    /// Reference data: labels of enum values.
    Reference,
    /// Sign-in, sessions, users, API tokens and the audit log.
    Accounts,
    /// Funnels, KPIs, snapshots and job runs (docs/DEFINITIONS.md, docs/ARCHITECTURE.md).
    Analytics,
    /// Exports for the leading group: CSV, XLSX, JSON.
    Exports,
    /// 台账导入: Excel and CSV ledgers, previewed, committed as batches, undone.
    Imports,
    /// 附件: files on projects, companies, visits, outreach activities, blockers and incubation candidates.
    Attachments,
    /// 消息推送: work-chat channels (企业微信, 钉钉, 飞书) for the weekly summary, reminders and alerts.
    Channels,
}

/// A page of a list.
#[derive(poem_openapi::Object)]
pub struct Page<T: ParseFromJSON + ToJSON> {
    /// The records of this page.
    pub items: Vec<T>,
    /// The number of records matching the filters, over all pages; absent on a cursor page (`after`), which does not
    /// count them.
    #[oai(skip_serializing_if_is_none)]
    pub total: Option<u64>,
    /// The page number, from 1 (1 on a cursor page).
    pub page: u64,
    /// Records per page (at most 200).
    pub per_page: u64,
    /// The `after` of the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next: Option<String>,
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

impl<T: ParseFromJSON + ToJSON> From<service::Page<T>> for Page<T> {
    fn from(p: service::Page<T>) -> Self {
        Page {
            items: p.items,
            total: p.total,
            page: p.page,
            per_page: p.per_page,
            next: p.next,
        }
    }
}

/// The `page` parameter of lists: a page number from 1.
#[derive(Debug, Clone, Copy)]
pub struct PageNo(u64);

/// The `per_page` parameter of lists: 1 to 200 records.
#[derive(Debug, Clone, Copy)]
pub struct PerPage(u64);

/// An integer query parameter with bounds in its schema, so every list documents and checks them alike.
macro_rules! bounded_param {
    ($ty:ident, $min:expr, $max:expr) => {
        impl Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = u64;
            type RawElementValueType = u64;

            fn name() -> Cow<'static, str> {
                "integer_uint64".into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    minimum: Some($min as f64),
                    maximum: $max.map(|m: u64| m as f64),
                    ..MetaSchema::new_with_format("integer", "uint64")
                }))
            }

            fn as_raw_value(&self) -> Option<&u64> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a u64> + 'a> {
                Box::new(std::iter::once(&self.0))
            }
        }

        impl ParseFromParameter for $ty {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                let v: u64 = value.parse().map_err(ParseError::custom)?;
                if v < $min || $max.is_some_and(|m: u64| v > m) {
                    return Err(ParseError::custom(match $max {
                        Some(m) => format!("must lie between {} and {m}", $min),
                        None => format!("must be at least {}", $min),
                    }));
                }
                Ok($ty(v))
            }
        }
    };
}

bounded_param!(PageNo, 1u64, None::<u64>);
bounded_param!(PerPage, 1u64, Some(service::Paging::MAX_PER_PAGE));

/// The page a list request asks for: numbered, or after a cursor.
fn paging(
    page: Query<Option<PageNo>>,
    per_page: Query<Option<PerPage>>,
    after: Query<Option<String>>,
) -> AppResult<service::Paging> {
    let paging = service::Paging::new(page.0.map(|p| p.0), per_page.0.map(|p| p.0))?;
    match after.0 {
        Some(cursor) => paging.after(&cursor),
        None => Ok(paging),
    }
}

/// A change to an optional field as a request sends it: left out keeps, `null` clears, a value is parsed (and may
/// still clear, for a blank text).
fn patch<R, T>(v: MaybeUndefined<R>, parse: impl FnOnce(R) -> AppResult<Option<T>>) -> AppResult<Patch<T>> {
    Ok(match v {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(x) => Patch::from_opt(parse(x)?),
    })
}

/// Each path of an OpenAPI document as segments (`None` for a parameter) with its methods, e.g. `GET, PATCH`.
fn routes_of(spec: &str) -> Vec<(Vec<Option<String>>, String)> {
    let doc: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
    let Some(paths) = doc["paths"].as_object() else {
        return Vec::new();
    };
    paths
        .iter()
        .map(|(path, ops)| {
            let template = path
                .split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                .collect();
            let methods: Vec<String> = ops
                .as_object()
                .map(|o| o.keys().map(|m| m.to_uppercase()).collect())
                .unwrap_or_default();
            (template, methods.join(", "))
        })
        .collect()
}

/// The most header bytes (names and values) a request to the API may carry. The HTTP server itself refuses far
/// larger ones (about 400 KiB, or more than 100 headers) with a bare 431 before any of this code runs.
const HEADER_LIMIT: usize = 16 * 1024;

/// Middleware around `/api/v1`: headers larger than [`HEADER_LIMIT`] are refused with 431, a request body larger
/// than the edge's limit with 413, before anything else (authentication, the audit log, parsing) sees them.
async fn bounded<E: poem::Endpoint>(ep: E, mut req: poem::Request) -> poem::Result<poem::Response> {
    use poem::IntoResponse;
    let header_bytes: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
    if header_bytes > HEADER_LIMIT {
        return Err(poem::Error::from_status(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
    }
    if req.uri().query().is_some_and(has_control_characters) {
        return Err(service::AppError::BadRequest {
            code: Code::InvalidText,
            msg: service::Msg::new("a query parameter contains a control character", "查询参数包含控制字符"),
            field: None,
        }
        .into());
    }
    crate::edge::bound_body(&mut req).await?;
    ep.call(req).await.map(IntoResponse::into_response)
}

/// Whether a query string, once decoded, holds a control character other than tab and newline.
fn has_control_characters(query: &str) -> bool {
    percent_encoding::percent_decode_str(query)
        .decode_utf8_lossy()
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
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
fn service(
    (db, reads): (&DatabaseConnection, &DatabaseConnection),
    cfg: &Config,
    gate: Arc<SignInGate>,
    (files, sealer): (Arc<FileStore>, jobs::chat::Sealer),
) -> OpenApiService<impl poem_openapi::OpenApi + use<>, ()> {
    OpenApiService::new(
        (
            (
                accounts::AccountsApi {
                    db: db.clone(),
                    config: cfg.auth(),
                    gate,
                },
                departments::DepartmentsApi { db: db.clone() },
                agenda::AgendaApi {
                    db: db.clone(),
                    stale_days: cfg.jobs.stale_days,
                },
            ),
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
            (
                exports::ExportsApi { db: db.clone() },
                attachments::AttachmentsApi {
                    db: db.clone(),
                    store: files,
                    config: cfg.files.clone(),
                },
            ),
            (
                imports::ImportsApi { db: db.clone() },
                channels::ChannelsApi { db: db.clone(), sealer },
            ),
            support_funds::SupportFundsApi { db: db.clone() },
            analytics::AnalyticsApi {
                db: db.clone(),
                reads: reads.clone(),
                jobs: crate::service::jobs::Setup::of(cfg),
            },
        ),
        "invest-crm",
        env!("CARGO_PKG_VERSION"),
    )
    .description("招商引资 CRM: companies, projects and their pipeline for a park's investment-promotion bureau.")
    .server("/api/v1")
}

/// The paths the API part of the application answers (each with everything below it), `/metrics` among them.
pub const PATHS: [&str; 6] = ["/api", "/docs", "/openapi.json", "/healthz", "/readyz", "/metrics"];

/// The API part of the HTTP application (audited, never cached, errors in JSON): `/api/v1`, its docs and spec,
/// and the health checks; and the edge settings every part needs (trusted proxies, body limit, routes). The
/// on-demand figures read through `reads` ([`crate::db::readers`]).
pub fn app(
    (db, reads): (DatabaseConnection, DatabaseConnection),
    cfg: &Config,
    gate: Arc<SignInGate>,
    stores: (Arc<FileStore>, jobs::chat::Sealer),
) -> (impl poem::Endpoint + use<>, Edge) {
    let api = service((&db, &reads), cfg, gate, stores);
    let edge = Edge {
        trusted_proxies: cfg.trusted_proxies.clone(),
        body_limit: cfg.body_limit,
        import_limit: cfg.import_limit,
        file_limit: cfg.files.max_bytes,
        routes: Arc::new(routes_of(&api.spec())),
    };
    let spec = Document(Arc::new(document::finish(&api.spec())));
    let docs = api.swagger_ui();
    let cors = Cors::new()
        .allow_origins(cfg.cors_origins.iter().map(String::as_str))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers(["authorization", "content-type", "accept-language"]);
    let endpoint = Route::new()
        .nest("/api/v1", api.around(audit::record).around(bounded))
        .nest("/docs", docs)
        .at("/openapi.json", get(served).data(spec))
        .at("/healthz", get(healthz))
        .at("/readyz", get(readyz))
        .at("/metrics", get(crate::edge::metrics::scrape))
        .data(AuthState {
            db: db.clone(),
            config: cfg.auth(),
        })
        .data(db)
        .around(error::localize)
        // Every answer, errors included: nothing of the API belongs in a shared cache.
        .with(SetHeader::new().overriding(header::CACHE_CONTROL, "no-store"))
        .with_if(!cfg.cors_origins.is_empty(), cors);
    (endpoint, edge)
}

/// The OpenAPI document, as served at `/openapi.json`.
pub fn spec_json(cfg: &Config) -> String {
    document::finish(&unserved(cfg).spec())
}

/// The API of `cfg` without a database or a store behind it: for its document.
fn unserved(cfg: &Config) -> OpenApiService<impl poem_openapi::OpenApi + use<>, ()> {
    let gate = Arc::new(SignInGate::new(cfg.auth.sign_ins_per_minute));
    // The document does not touch the store: any folder will do.
    let files = FileStore::new(&FilesConfig::default(), &std::env::temp_dir()).expect("the temporary folder");
    let sealer = jobs::chat::Sealer::new(&[0; 32]);
    let none = DatabaseConnection::default();
    service((&none, &none), cfg, gate, (Arc::new(files), sealer))
}

/// The served OpenAPI document.
#[derive(Clone)]
struct Document(Arc<String>);

#[handler]
fn served(doc: Data<&Document>) -> poem::Response {
    poem::Response::builder()
        .content_type("application/json; charset=utf-8")
        .body(doc.0.0.as_str().to_owned())
}
