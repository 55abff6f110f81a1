//! Signing in to the UI: the same accounts, lockout, rate limit and audit as the API (the sign-in service), a
//! server-side session whose token lives in an `HttpOnly`, `SameSite=Lax` cookie, and a CSRF token derived from
//! it that every state-changing request must send in the `X-CSRF-Token` header (htmx sends it on every request).

use poem::{
    Endpoint, FromRequest, IntoResponse, Request, RequestBody, Response, handler,
    http::{Method, StatusCode, header},
    web::{Data, Form, Html, Query},
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{WebState, page_error, render};
use crate::{
    edge::{audit::WriteTx, client_addr},
    service::{
        Actor, AppError, Code,
        actor::Via,
        secrets::SESSION_PREFIX,
        sessions::{self, SignIn},
    },
};

/// The session cookie.
const COOKIE: &str = "ics_session";

/// A signed-in user of the UI.
#[derive(Clone)]
pub struct Staff {
    /// Who it is and what they may do.
    pub actor: Actor,
    /// The CSRF token of their session.
    pub csrf: String,
}

/// The CSRF token of a session: a digest of its token, so it needs no storage and only the session's holder
/// (whose cookie scripts cannot read) can know it.
fn csrf_of(token: &str) -> String {
    hex::encode(&Sha256::digest(format!("csrf:{token}"))[..16])
}

/// The session token in the request's cookie.
fn cookie_token(req: &Request) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|t| t.starts_with(SESSION_PREFIX))
}

/// Where a request without a valid session is sent: the sign-in page (an htmx request is told to go there).
fn to_sign_in(req: &Request) -> poem::Error {
    let target = if req.method() == Method::GET {
        format!("/login?next={}", urlencode(&req.original_uri().to_string()))
    } else {
        "/login".to_owned()
    };
    let resp = if req.header("hx-request").is_some() {
        Response::builder().header("HX-Redirect", target).finish()
    } else {
        Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(header::LOCATION, target)
            .finish()
    };
    poem::Error::from_response(resp)
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl<'a> FromRequest<'a> for Staff {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let state = req
            .data::<WebState>()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("web state missing")))?;
        let Some(token) = cookie_token(req) else {
            return Err(to_sign_in(req));
        };
        let actor = match sessions::resolve(&state.db, &state.auth, &token).await {
            Ok(a) if matches!(a.via, Via::Session(_)) => a,
            Ok(_) | Err(AppError::Unauthorized) => return Err(to_sign_in(req)),
            Err(e) => return Err(e.into()),
        };
        if let Some(slot) = req.extensions().get::<crate::edge::audit::CallerSlot>() {
            slot.set(&actor);
        }
        Ok(Staff {
            actor,
            csrf: csrf_of(&token),
        })
    }
}

/// Middleware: a state-changing request must carry its session's CSRF token in `X-CSRF-Token` (the sign-in form,
/// which has no session yet, excepted).
pub async fn csrf<E: Endpoint>(ep: E, req: Request) -> poem::Result<Response> {
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if changes && req.uri().path() != "/login" {
        let expected = cookie_token(&req).map(|t| csrf_of(&t));
        let sent = req.header("x-csrf-token");
        if expected.is_none() || sent != expected.as_deref() {
            return Err(AppError::Forbidden {
                code: Code::Csrf,
                msg: crate::service::Msg::new(
                    "this form has expired: reload the page and try again",
                    "页面已过期,请刷新后重试",
                ),
            }
            .into());
        }
    }
    ep.call(req).await.map(IntoResponse::into_response)
}

/// The sign-in page's query.
#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// A page to go back to after signing in: a path of this site only.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/")
}

/// 登录 page.
#[handler]
pub fn login_page(Query(q): Query<Next>) -> poem::Result<Html<String>> {
    let ctx = minijinja::context! { next => safe_next(q.next.as_deref()) };
    render("login.html", ctx)
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
    next: Option<String>,
}

/// Signs in; on success sets the session cookie and goes to the page asked for.
#[handler]
pub async fn login(req: &Request, state: Data<&WebState>, Form(f): Form<Credentials>) -> poem::Result<Response> {
    let addr = client_addr(req);
    let attempt = async {
        let a = SignIn {
            username: &f.username,
            password: &f.password,
            client_addr: addr.clone(),
            user_agent: req.header("user-agent"),
        };
        sessions::sign_in(&state.db, &state.auth, &state.gate, a).await
    };
    let next = safe_next(f.next.as_deref());
    match attempt.await {
        Ok(s) => {
            let secure = if state.secure_cookies { "; Secure" } else { "" };
            let max_age = state.auth.session_absolute_hours * 3600;
            let cookie = format!(
                "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
                s.token
            );
            Ok(Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(header::SET_COOKIE, cookie)
                .header(header::LOCATION, next)
                .finish())
        }
        Err(e) => {
            let (status, message) = match e {
                AppError::TooMany { retry_after } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("尝试过于频繁,请 {retry_after} 秒后再试"),
                ),
                AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "用户名或密码错误,或账号已锁定".to_owned()),
                other => return Err(other.into()),
            };
            let ctx = minijinja::context! { next, username => f.username, error => message };
            let mut resp = render("login.html", ctx)?.into_response();
            resp.set_status(status);
            Ok(resp)
        }
    }
}

/// Signs out: ends the session and clears the cookie.
#[handler]
pub async fn logout(staff: Staff, tx: WriteTx) -> poem::Result<Response> {
    sessions::sign_out(tx.get().await?, &staff.actor).await?;
    Ok(Response::builder()
        .header(
            header::SET_COOKIE,
            format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        )
        .header("HX-Redirect", "/login")
        .finish())
}

/// 修改密码 page.
#[handler]
pub fn password_page(staff: Staff) -> poem::Result<Html<String>> {
    render(
        "password.html",
        minijinja::context! { me => super::me(&staff), menu => "" },
    )
}

/// The password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
}

/// Changes one's own password; the user's other sessions end.
#[handler]
pub async fn change_password(staff: Staff, tx: WriteTx, Form(f): Form<PasswordForm>) -> poem::Result<Response> {
    let done = sessions::change_password(tx.get().await?, &staff.actor, &f.current_password, &f.new_password).await;
    let ctx = match done {
        Ok(()) => minijinja::context! { me => super::me(&staff), done => true },
        Err(e) => return page_error(e, "password_form.html", minijinja::context! { me => super::me(&staff) }),
    };
    Ok(render("password_form.html", ctx)?.into_response())
}
