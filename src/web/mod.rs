//! The staff web UI at `/` (docs/ARCHITECTURE.md): server-rendered minijinja pages over the service layer, htmx for
//! partial updates, the embedded assets of [`assets`]. Same accounts, rules and audit as the API: handlers check
//! the permission, parse the form, call one service function and render.

mod admin;
mod analytics;
mod assets;
mod attachments;
mod blockers;
mod changes;
mod channels;
mod companies;
mod exports;
mod form;
mod home;
mod imports;
mod incubation;
mod outreach;
mod partners;
mod period;
mod projects;
mod records;
mod reports;
mod session;
mod settings;
mod system;
mod targets;
mod visits;

use std::sync::{Arc, LazyLock};

use entity::enums::{
    BlockerCategory, BlockerStatus, CapitalOrigin, DataScope, FollowUpKind, IncubationStage, Label, OutreachKind,
    PartnerKind, ProjectSource, ProjectStage, Role, SupportLevel,
};
use minijinja::{Environment, Value, context};
use poem::{
    Endpoint, EndpointExt, IntoResponse, Request, Response, Route, delete, get,
    http::{StatusCode, header},
    middleware::SetHeader,
    patch, post,
    web::Html,
};
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;

use crate::{
    config::Config,
    edge::{audit, error::Lang},
    service::{
        AppError, AppResult, Need, Paging,
        sessions::{AuthConfig, SignInGate},
    },
};
pub use session::Staff;

/// What the UI's handlers share.
#[derive(Clone)]
pub struct WebState {
    /// The database.
    pub db: DatabaseConnection,
    /// What the funnels, KPIs and 工作台's figures read through ([`crate::db::readers`]).
    pub reads: DatabaseConnection,
    /// The sign-in policy.
    pub auth: AuthConfig,
    /// The bound on sign-in attempts per client address, shared with the API.
    pub gate: Arc<SignInGate>,
    /// Whether the session cookie is `Secure` (behind TLS).
    pub secure_cookies: bool,
    /// Days without a follow-up after which a project counts as stale.
    pub stale_days: i64,
    /// The jobs (the 系统日志 page shows their schedules and backups, and runs a job now).
    pub jobs: crate::service::jobs::Setup,
    /// The attachments' store.
    pub files: Arc<crate::files::FileStore>,
    /// The attachments' categories.
    pub categories: Vec<String>,
}

/// The Content-Security-Policy of every page: nothing but this site's own files, no inline script, no eval.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
                   frame-ancestors 'none'";

/// The UI's routes: the pages (never cached, under the CSP) and the embedded assets (cached for a year).
pub fn routes(
    (db, reads): (DatabaseConnection, DatabaseConnection),
    cfg: &Config,
    gate: Arc<SignInGate>,
    files: Arc<crate::files::FileStore>,
) -> Route {
    let state = WebState {
        files,
        categories: cfg.files.categories.clone(),
        db,
        reads,
        auth: cfg.auth(),
        gate,
        secure_cookies: cfg.secure_cookies,
        stale_days: cfg.jobs.stale_days,
        jobs: crate::service::jobs::Setup::of(cfg),
    };
    let pages = pages()
        .around(audit::record)
        .around(crate::edge::limit_body)
        .data(state.db.clone())
        .around(session::csrf)
        .around(html_errors)
        .around(page_csp)
        .with(SetHeader::new().overriding(header::CACHE_CONTROL, "no-store"))
        .data(state);
    Route::new().at("/assets/:name", get(assets::serve)).nest("/", pages)
}

/// Middleware: every answer of the UI runs under [`CSP`], but for a file that brings its own, stricter one (an
/// attachment, sandboxed).
async fn page_csp<E: poem::Endpoint>(ep: E, req: poem::Request) -> poem::Result<poem::Response> {
    let mut answer = ep.call(req).await?.into_response();
    answer
        .headers_mut()
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(header::HeaderValue::from_static(CSP));
    Ok(answer)
}

/// Declares the UI's routes once: the router, and the table of each path with its methods that the tests enumerate
/// (every write route must leave its audit entry).
macro_rules! routes {
    ($($path:literal => $m:ident($h:path) $(.$more:ident($h2:path))*,)*) => {
        fn pages() -> Route {
            Route::new() $(.at($path, $m($h) $(.$more($h2))*))*
        }

        /// Every page route of the UI with its methods (`get`, `post`, `patch`, `delete`).
        pub const ROUTES: &[(&str, &[&str])] = &[$(($path, &[stringify!($m) $(, stringify!($more))*])),*];
    };
}

routes! {
    "/" => get(home::page),
    "/login" => get(session::login_page).post(session::login),
    "/logout" => post(session::logout),
    "/password" => get(session::password_page).post(session::change_password),
    "/settings" => get(settings::page),
    "/settings/subscription" => post(settings::subscribe),
    "/settings/sessions/:id" => delete(settings::end_session),
    "/projects" => get(projects::list).post(projects::create),
    "/projects/new" => get(projects::new_page),
    "/projects/board" => get(projects::board),
    "/projects/source-search" => get(projects::source_search),
    "/projects/:id" => get(projects::show).patch(projects::update),
    "/projects/:id/edit" => get(projects::edit_page),
    "/projects/:id/move" => get(projects::move_dialog),
    "/projects/:id/stage-events" => post(projects::move_stage),
    "/projects/:id/follow-ups/new" => get(records::follow_up_dialog),
    "/projects/:id/follow-ups" => post(records::add_follow_up),
    "/projects/:id/fund-arrivals/new" => get(records::fund_dialog),
    "/projects/:id/fund-arrivals" => post(records::add_fund),
    "/projects/:id/blockers/new" => get(blockers::new_dialog),
    "/projects/:id/blockers" => post(blockers::create),
    "/companies" => get(companies::list).post(companies::create),
    "/companies/new" => get(companies::new_page),
    "/companies/options" => get(companies::options),
    "/companies/:id" => get(companies::show).patch(companies::update),
    "/companies/:id/edit" => get(companies::edit_page),
    "/companies/:id/contacts/new" => get(companies::contact_dialog),
    "/companies/:id/contacts" => post(companies::add_contact),
    "/companies/:id/support-funds/new" => get(companies::support_fund_dialog),
    "/companies/:id/support-funds" => post(companies::add_support_fund),
    "/:kind/:id/attachments" => get(attachments::section).post(attachments::add),
    "/attachments/:id" => get(attachments::download).patch(attachments::rename).delete(attachments::delete),
    "/attachments/:id/preview" => get(attachments::preview),
    "/attachments/:id/restore" => post(attachments::restore),
    "/visits" => get(visits::list).post(visits::create),
    "/visits/:id" => get(visits::show).patch(visits::update).delete(visits::delete),
    "/visits/:id/edit" => get(visits::edit_page),
    "/visits/company-search" => get(visits::company_search),
    "/visits/company-chip" => get(visits::company_chip),
    "/visits/new-company-chip" => get(visits::new_company_chip),
    "/visits/project-search" => get(visits::project_search),
    "/visits/project-chip" => get(visits::project_chip),
    "/visits/new-project-chip" => get(visits::new_project_chip),
    "/outreach" => get(outreach::list).post(outreach::create),
    "/outreach/new" => get(outreach::new_dialog),
    "/outreach/:id" => patch(outreach::update),
    "/outreach/:id/edit" => get(outreach::edit_dialog),
    "/partners" => get(partners::list).post(partners::create),
    "/partners/new" => get(partners::new_dialog),
    "/partners/:id" => patch(partners::update),
    "/partners/:id/edit" => get(partners::edit_dialog),
    "/incubation" => get(incubation::board).post(incubation::create),
    "/incubation/new" => get(incubation::new_dialog),
    "/incubation/:id" => get(incubation::show),
    "/incubation/:id/move" => get(incubation::move_dialog),
    "/incubation/:id/stage-events" => post(incubation::move_stage),
    "/blockers" => get(blockers::list),
    "/blockers/:id" => get(blockers::show).patch(blockers::update),
    "/blockers/:id/edit" => get(blockers::edit_dialog),
    "/imports" => get(imports::page),
    "/imports/batches" => get(imports::batches),
    "/imports/preview" => post(imports::preview),
    "/imports/commit" => post(imports::commit),
    "/imports/:id/undo" => post(imports::undo),
    "/imports/template/:dataset" => get(imports::template),
    "/analytics" => get(analytics::page),
    "/analytics/snapshot" => get(analytics::snapshot_file),
    "/targets" => get(targets::page).post(targets::update),
    "/reports/summary" => get(reports::page),
    "/exports" => get(exports::page),
    "/system" => get(system::page),
    "/system/audit/verify" => post(system::verify_audit),
    "/system/outbox/:id/resend" => post(system::resend),
    "/system/jobs/:name/run" => post(system::run_job),
    "/system/tokens" => post(system::issue_token),
    "/system/tokens/new" => get(system::new_token_dialog),
    "/system/tokens/:id/revoke" => post(system::revoke_token),
    "/admin/users" => get(admin::users).post(admin::create_user),
    "/admin/users/new" => get(admin::new_user_dialog),
    "/admin/users/:id" => patch(admin::update_user),
    "/admin/users/:id/edit" => get(admin::edit_user_dialog),
    "/admin/departments" => post(admin::create_department),
    "/admin/departments/new" => get(admin::new_department_dialog),
    "/admin/channels" => get(channels::page).post(channels::create),
    "/admin/channels/new" => get(channels::new_dialog),
    "/admin/channels/:id" => post(channels::update),
    "/admin/channels/:id/edit" => get(channels::edit_dialog),
    "/admin/channels/:id/delete" => post(channels::delete),
    "/admin/channels/:id/test" => post(channels::test),
    "/exports/file" => get(exports::download),
    "/reports/summary/file" => get(reports::download),
}

/// The templates, embedded in the binary.
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("layout.html", include_str!("templates/layout.html")),
        ("macros.html", include_str!("templates/macros.html")),
        ("attachments.html", include_str!("templates/attachments.html")),
        ("login.html", include_str!("templates/login.html")),
        ("password.html", include_str!("templates/password.html")),
        ("password_form.html", include_str!("templates/password_form.html")),
        ("error.html", include_str!("templates/error.html")),
        ("home.html", include_str!("templates/home.html")),
        ("projects.html", include_str!("templates/projects.html")),
        ("board.html", include_str!("templates/board.html")),
        ("project.html", include_str!("templates/project.html")),
        ("move_form.html", include_str!("templates/move_form.html")),
        ("project_form.html", include_str!("templates/project_form.html")),
        ("project_new.html", include_str!("templates/project_new.html")),
        ("project_edit.html", include_str!("templates/project_edit.html")),
        ("follow_up_form.html", include_str!("templates/follow_up_form.html")),
        ("fund_form.html", include_str!("templates/fund_form.html")),
        ("blockers.html", include_str!("templates/blockers.html")),
        ("companies.html", include_str!("templates/companies.html")),
        ("company.html", include_str!("templates/company.html")),
        ("company_form.html", include_str!("templates/company_form.html")),
        ("company_edit.html", include_str!("templates/company_edit.html")),
        ("company_options.html", include_str!("templates/company_options.html")),
        ("contact_form.html", include_str!("templates/contact_form.html")),
        (
            "support_fund_form.html",
            include_str!("templates/support_fund_form.html"),
        ),
        ("visits.html", include_str!("templates/visits.html")),
        ("visit_form.html", include_str!("templates/visit_form.html")),
        ("chip.html", include_str!("templates/chip.html")),
        ("project_picks.html", include_str!("templates/project_picks.html")),
        ("source_picks.html", include_str!("templates/source_picks.html")),
        ("company_picks.html", include_str!("templates/company_picks.html")),
        ("blocker_new.html", include_str!("templates/blocker_new.html")),
        ("blocker_edit.html", include_str!("templates/blocker_edit.html")),
        ("imports.html", include_str!("templates/imports.html")),
        ("import_result.html", include_str!("templates/import_result.html")),
        ("import_batches.html", include_str!("templates/import_batches.html")),
        ("summary.html", include_str!("templates/summary.html")),
        ("analytics.html", include_str!("templates/analytics.html")),
        ("targets.html", include_str!("templates/targets.html")),
        ("settings.html", include_str!("templates/settings.html")),
        ("system.html", include_str!("templates/system.html")),
        ("visit.html", include_str!("templates/visit.html")),
        ("visit_edit.html", include_str!("templates/visit_edit.html")),
        ("blocker.html", include_str!("templates/blocker.html")),
        ("audit_verify.html", include_str!("templates/audit_verify.html")),
        (
            "subscription_form.html",
            include_str!("templates/subscription_form.html"),
        ),
        ("targets_grid.html", include_str!("templates/targets_grid.html")),
        ("exports.html", include_str!("templates/exports.html")),
        ("admin_users.html", include_str!("templates/admin_users.html")),
        ("channels.html", include_str!("templates/channels.html")),
        ("channel_form.html", include_str!("templates/channel_form.html")),
        ("user_form.html", include_str!("templates/user_form.html")),
        ("department_form.html", include_str!("templates/department_form.html")),
        ("outreach.html", include_str!("templates/outreach.html")),
        ("token_form.html", include_str!("templates/token_form.html")),
        ("token_issued.html", include_str!("templates/token_issued.html")),
        ("outreach_form.html", include_str!("templates/outreach_form.html")),
        ("partners.html", include_str!("templates/partners.html")),
        ("partner_form.html", include_str!("templates/partner_form.html")),
        ("incubation.html", include_str!("templates/incubation.html")),
        ("candidate.html", include_str!("templates/candidate.html")),
        ("candidate_form.html", include_str!("templates/candidate_form.html")),
    ] {
        env.add_template(name, source).expect("the embedded templates parse");
    }
    // Our own URLs: safe as they are (escaping would write every / as &#x2f;).
    env.add_function("asset", |name: &str| Value::from_safe_string(assets::url(name)));
    env.add_filter("wan", wan);
    env.add_filter("yi", yi);
    env.add_filter("pct", |v: Option<f64>| {
        v.map_or_else(|| "—".to_owned(), |p| format!("{p:+.1}%"))
    });
    env.add_global("labels", Value::from(minijinja::value::Serde(labels())));
    env
});

/// Every enum's values and Chinese labels, for templates (`labels.project_stage`).
fn labels() -> serde_json::Value {
    fn of<T: Label>() -> Vec<serde_json::Value> {
        T::labels()
            .into_iter()
            .map(|(value, label)| serde_json::json!({ "value": value, "label": label }))
            .collect()
    }
    serde_json::json!({
        "project_stage": of::<ProjectStage>(),
        "incubation_stage": of::<IncubationStage>(),
        "project_source": of::<ProjectSource>(),
        "follow_up_kind": of::<FollowUpKind>(),
        "blocker_category": of::<BlockerCategory>(),
        "blocker_status": of::<BlockerStatus>(),
        "role": of::<Role>(),
        "data_scope": of::<DataScope>(),
        "support_level": of::<SupportLevel>(),
        "capital_origin": of::<CapitalOrigin>(),
        "outreach_kind": of::<OutreachKind>(),
        "partner_kind": of::<PartnerKind>(),
        "target_metric": of::<entity::enums::TargetMetric>(),
    })
}

/// An amount in whole yuan as 万元 with two decimals (`12,345.67`).
fn wan(yuan: i64) -> String {
    group(&format!("{:.2}", entity::money::wan(yuan).round_dp(2)))
}

/// An amount in 万元 as 亿元 with two decimals.
fn yi(wan: Value) -> String {
    let wan: Decimal = wan.to_string().parse().unwrap_or_default();
    format!("{:.2}", entity::money::yi(wan).round_dp(2))
}

/// A moment as the bureau's clock reads it (Asia/Shanghai): `2024-05-27 08:00:00`.
pub fn local_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&crate::service::input::LOCAL_TZ)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A file to download: its bytes with their content type and `Content-Disposition`.
pub fn attachment(content_type: &str, disposition: String, body: impl Into<poem::Body>) -> Response {
    Response::builder()
        .content_type(content_type)
        .header(header::CONTENT_DISPOSITION, disposition)
        .body(body)
}

/// Thousands separators in the whole part of a decimal number.
pub fn group(n: &str) -> String {
    let (int, frac) = n.split_once('.').map_or((n, None), |(i, f)| (i, Some(f)));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// A target or its actual (a count, or an amount in 万元) as 年度目标 shows it: at most two decimals, separated
/// thousands.
pub fn target_figure(d: Decimal) -> String {
    group(&d.round_dp(2).normalize().to_string())
}

/// A value as JSON to put inside `<script type="application/json">`: `<` escaped, so no text in it can close the
/// element.
pub fn script_json(v: &serde_json::Value) -> String {
    v.to_string().replace('<', "\\u003c")
}

/// Any serializable value as a template value.
pub fn val<T: serde::Serialize>(v: &T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

/// An enum value from a select (its API name); empty is none.
pub fn choice<T: Label>(field: &str, v: &Option<String>) -> AppResult<Option<T>> {
    form::opt(v)
        .map(|s| {
            T::iter()
                .find(|t| t.to_value() == s)
                .ok_or_else(|| AppError::invalid(field, format!("{field}: unknown value"), "请选择列表中的一项"))
        })
        .transpose()
}

/// The answer to a dialog's form that succeeded: the page reloads to show the change.
pub fn refresh() -> Response {
    Response::builder().header("HX-Refresh", "true").finish()
}

/// The answer to a form that succeeded: htmx goes to `path`.
pub fn redirect(path: &str) -> Response {
    Response::builder().header("HX-Redirect", path).finish()
}

/// A write's answer with a short confirmation the page shows as a toast: an htmx `HX-Trigger` event `toast` (app.js
/// shows it, or, when the answer reloads or leaves the page, keeps it for the next page). Non-ASCII text travels
/// as JSON `\u` escapes, since header values are bytes.
pub fn saved(mut resp: Response, message: &str) -> Response {
    let carry = resp.headers().contains_key("HX-Refresh") || resp.headers().contains_key("HX-Redirect");
    let mut events = serde_json::Map::new();
    // An event the answer triggers already (a plain name) is kept beside the toast.
    if let Some(name) = resp.headers().get("HX-Trigger").and_then(|v| v.to_str().ok()) {
        events.insert(name.to_owned(), serde_json::Value::Null);
    }
    events.insert(
        "toast".into(),
        serde_json::json!({ "message": message, "carry": carry }),
    );
    let json = serde_json::Value::Object(events).to_string();
    let mut ascii = String::with_capacity(json.len() * 2);
    for c in json.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                ascii.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    if let Ok(v) = header::HeaderValue::from_str(&ascii) {
        resp.headers_mut().insert("HX-Trigger", v);
    }
    resp
}

/// An amount in whole yuan as 万元 for a form field (`1234.5`, no separators).
pub fn wan_plain(yuan: i64) -> String {
    entity::money::wan(yuan).to_string()
}

/// Renders a template.
pub fn render(name: &str, ctx: Value) -> poem::Result<Html<String>> {
    let t = TEMPLATES
        .get_template(name)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template {name}: {e}")))?;
    t.render(ctx)
        .map(Html)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering {name}: {e:#}")).into())
}

/// The signed-in user as templates see them: name, role and what the menus and buttons may offer.
pub fn me(s: &Staff) -> Value {
    context! {
        name => s.actor.display_name.clone(),
        username => s.actor.username.clone(),
        role => s.actor.role.label(),
        csrf => s.csrf.clone(),
        can_edit => s.actor.can(Need::Edit),
        can_pipeline => s.actor.can(Need::Pipeline),
        can_lead => s.actor.can(Need::Lead),
        is_admin => s.actor.can(Need::Admin),
        can_export => s.actor.can(Need::Export),
        can_read => s.actor.can(Need::Read),
        can_users => s.actor.can(Need::Users),
        can_grant => s.actor.can(Need::Security),
        can_audit => s.actor.can(Need::Audit),
    }
}

/// The answer to a submitted form: what `ok` makes of the service's result, or the form again (`template` with the
/// context `ctx` reads) with the error beside its field and what was typed.
pub async fn answer<T>(
    done: AppResult<T>,
    ok: impl FnOnce(T) -> Response,
    template: &str,
    ctx: impl AsyncFnOnce() -> AppResult<Value>,
) -> poem::Result<Response> {
    match done {
        Ok(v) => Ok(ok(v)),
        Err(e) => page_error(e, template, ctx().await?),
    }
}

/// A list's query string without its page or cursor, ready for the pager to append `page=N`: `?a=1&` (or `?`).
pub fn pager_base<T: serde::Serialize>(q: &T) -> String {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&serde_urlencoded::to_string(q).unwrap_or_default()).unwrap_or_default();
    let kept: Vec<_> = pairs.into_iter().filter(|(k, _)| k != "page" && k != "after").collect();
    match serde_urlencoded::to_string(kept).unwrap_or_default() {
        q if q.is_empty() => "?".to_owned(),
        q => format!("?{q}&"),
    }
}

/// The page a staff list shows, counted (the pager shows 共 N 条): numbered, or after the cursor of the page before
/// (下一页, which costs what the first page costs at any depth); answers the page's number with it.
pub fn list_page(page: Option<u64>, after: Option<&str>, per_page: u64) -> AppResult<(u64, Paging)> {
    let page = page.unwrap_or(1).max(1);
    Ok(match after.filter(|a| !a.is_empty()) {
        Some(cursor) => (page, Paging::new(None, Some(per_page))?.after(cursor)?.counted()),
        None => (page, Paging::new(Some(page), Some(per_page))?),
    })
}

/// A form answered again with the error of the service (beside its field when it names one) and what was typed:
/// nothing is lost. Internal errors go to the error page instead.
pub fn page_error(e: AppError, template: &str, ctx: Value) -> poem::Result<Response> {
    if matches!(e, AppError::Internal(_) | AppError::Unauthorized) {
        return Err(e.into());
    }
    let body = e.body(Lang::Zh);
    let stale = e.is_stale();
    // Shown beside its field's Chinese label, a message reads better without the field's API name before it
    // ("note 不能为空" → "不能为空").
    let message = match &body.field {
        Some(f) => body
            .message
            .strip_prefix(&format!("{f} "))
            .unwrap_or(&body.message)
            .to_owned(),
        None => body.message,
    };
    let error = context! { field => body.field, message, stale };
    let mut resp = render(template, context! { error, ..ctx })?.into_response();
    resp.set_status(e.status());
    Ok(resp)
}

/// Middleware: an error leaving a page becomes an HTML answer in Chinese (a whole page, or for htmx a message
/// the page shows), with its status.
async fn html_errors<E: Endpoint>(ep: E, req: Request) -> poem::Result<Response> {
    let htmx = req.header("hx-request").is_some();
    let err = match ep.call(req).await {
        Ok(r) => return Ok(r.into_response()),
        Err(err) => err,
    };
    let (status, message) = match err.downcast_ref::<AppError>() {
        Some(app) => {
            if let AppError::Internal(e) = app {
                tracing::error!(error = ?e, "internal error");
            }
            (app.status(), app.body(Lang::Zh).message)
        }
        // A redirect (to the sign-in page, say) passes as it is.
        None if !(err.status().is_client_error() || err.status().is_server_error()) => {
            return Ok(err.into_response());
        }
        None => (err.status(), default_message(err.status()).to_owned()),
    };
    let ctx = context! { status => status.as_u16(), message, fragment => htmx };
    let mut resp = render("error.html", ctx)?.into_response();
    resp.set_status(status);
    Ok(resp)
}

fn default_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "页面不存在",
        StatusCode::METHOD_NOT_ALLOWED => "不支持此操作",
        StatusCode::BAD_REQUEST => "提交的内容无法识别",
        StatusCode::PAYLOAD_TOO_LARGE => "提交的内容过大",
        _ => "出错了,请稍后再试",
    }
}
