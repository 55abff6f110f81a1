//! The one mapping of the service layer's [`AppError`] to HTTP (docs/ARCHITECTURE.md): status, JSON body,
//! language. poem's own errors (malformed JSON, bad parameters, unknown routes) are turned into an [`AppError`] by
//! [`localize`], which also picks the language of the message from `Accept-Language`.

use poem::{
    Endpoint, IntoResponse, Request, Response,
    error::ResponseError,
    http::{StatusCode, header},
};
use poem_openapi::{
    ApiResponse, Object,
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::{ToJSON, Type},
};

use crate::service::{AppError, Code, Kind, Msg};

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Rule { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unsupported { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The error body (code, message, field) in the given language.
    pub fn body(&self, lang: Lang) -> ErrorBody {
        let pick = |m: &Msg| match lang {
            Lang::En => m.en().to_owned(),
            Lang::Zh => m.zh().to_owned(),
        };
        let fixed = |en: &str, zh: &str| match lang {
            Lang::En => en.to_owned(),
            Lang::Zh => zh.to_owned(),
        };
        let (message, field) = match self {
            AppError::BadRequest { msg, field, .. }
            | AppError::Conflict { msg, field, .. }
            | AppError::Rule { msg, field, .. } => (pick(msg), field.clone()),
            AppError::Forbidden { msg, .. } => (pick(msg), None),
            AppError::TooLarge { msg } | AppError::Unsupported { msg } => (pick(msg), Some("file".to_owned())),
            AppError::Unauthorized => (fixed("authentication required", "需要登录或有效的令牌"), None),
            AppError::NotFound { what } => (
                fixed(&format!("{} not found", what.en()), &format!("未找到该{}", what.zh())),
                None,
            ),
            AppError::TooMany { retry_after } => (
                fixed(
                    &format!("too many attempts; try again in {retry_after} s"),
                    &format!("尝试次数过多,请 {retry_after} 秒后再试"),
                ),
                None,
            ),
            AppError::Internal(_) => (fixed("internal server error", "服务器内部错误"), None),
            AppError::Unavailable { retry_after, .. } => (
                fixed(
                    &format!(
                        "the database is unavailable for a moment; nothing was saved; try again in {retry_after} s"
                    ),
                    &format!("数据库暂时不可用,本次操作未保存,请 {retry_after} 秒后重试"),
                ),
                None,
            ),
        };
        ErrorBody {
            code: self.code(),
            message,
            field,
        }
    }

    /// The HTTP answer in the given language; internal errors are logged here, once.
    pub fn to_response(&self, lang: Lang) -> Response {
        match self {
            AppError::Internal(e) => tracing::error!(error = ?e, "internal error"),
            AppError::Unavailable { detail, .. } => tracing::warn!(error = %detail, "database unavailable"),
            _ => {}
        }
        let body = self.body(lang).to_json_string();
        let mut answer = Response::builder()
            .status(self.status())
            .content_type("application/json; charset=utf-8");
        if let AppError::TooMany { retry_after } | AppError::Unavailable { retry_after, .. } = self {
            answer = answer.header(header::RETRY_AFTER, retry_after.to_string());
        }
        answer.body(body)
    }

    /// Turns one of poem's own errors (a request it could not parse, a route it does not have) into ours.
    fn from_poem(err: poem::Error) -> AppError {
        let status = err.status();
        let detail = err.to_string();
        if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
            return AppError::BadRequest {
                code: Code::InvalidParameter,
                msg: Msg::new(detail.clone(), format!("参数 {} 无效:{}", e.name, e.reason)),
                field: Some(e.name.to_owned()),
            };
        }
        if let Some(e) = err.downcast_ref::<poem_openapi::error::ParsePathError>() {
            // poem-openapi names path segments by position (`param0`), which means nothing to a client.
            return AppError::BadRequest {
                code: Code::InvalidPath,
                msg: Msg::new(
                    format!("invalid path parameter: {}", e.reason),
                    format!("路径中的参数无效:{}", e.reason),
                ),
                field: None,
            };
        }
        match status {
            StatusCode::NOT_FOUND => AppError::NotFound { what: Kind::Route },
            StatusCode::UNAUTHORIZED => AppError::Unauthorized,
            s if s.is_client_error() => AppError::BadRequest {
                code: Code::MalformedRequest,
                field: field_of(&detail),
                msg: Msg::new(detail.clone(), format!("请求格式错误:{detail}")),
            },
            _ => AppError::Internal(anyhow::anyhow!("{detail}")),
        }
    }
}

/// poem-openapi names the field in the messages of its validators ("field `name` verification failed").
fn field_of(detail: &str) -> Option<String> {
    let start = detail.find("field `")? + "field `".len();
    let len = detail[start..].find('`')?;
    Some(detail[start..start + len].to_owned())
}

/// The body of every error answer.
#[derive(Debug, Object)]
pub struct ErrorBody {
    /// Stable machine code: what went wrong, for a client to act on.
    pub code: Code,
    /// Human-readable message, in Chinese or English by `Accept-Language` (English by default).
    pub message: String,
    /// The request field the error is about, where it applies.
    #[oai(nullable)]
    pub field: Option<String>,
}

impl ResponseError for AppError {
    fn status(&self) -> StatusCode {
        AppError::status(self)
    }

    fn as_response(&self) -> Response {
        self.to_response(Lang::En)
    }
}

impl ApiResponse for AppError {
    fn meta() -> MetaResponses {
        let described = [
            (400, "Malformed request or a value out of bounds (`field` names it)."),
            (401, "No valid session or token."),
            (403, "The caller's role may not do this."),
            (404, "No such record."),
            (405, "The path does not take this method."),
            (409, "Stale `version` or a duplicate."),
            (413, "The request body is larger than the configured limit."),
            (
                415,
                "The body is not JSON, or an uploaded file's content is not of an accepted type.",
            ),
            (422, "A domain rule is broken, e.g. an illegal stage move."),
            (
                429,
                "Too many sign-in attempts from one address; `Retry-After` says when to try again.",
            ),
            (500, "Internal error (logged; no detail in the answer)."),
            (
                503,
                "The database is unreachable or read-only for a moment (a failover); nothing was saved; \
                 `Retry-After` says when to try again.",
            ),
        ];
        MetaResponses {
            responses: described
                .into_iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: ErrorBody::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

/// The error answers of an operation whose own answer declares status `S` too (a ledger import's refused commit:
/// 422 with its report): [`AppError`]'s answers without `S`, which the operation describes itself, so that the
/// document never holds one status twice.
pub struct ErrorsBesides<const S: u16>(pub AppError);

impl<const S: u16> From<AppError> for ErrorsBesides<S> {
    fn from(e: AppError) -> Self {
        ErrorsBesides(e)
    }
}

impl<const S: u16> From<ErrorsBesides<S>> for poem::Error {
    fn from(e: ErrorsBesides<S>) -> poem::Error {
        e.0.into()
    }
}

impl<const S: u16> ApiResponse for ErrorsBesides<S> {
    fn meta() -> MetaResponses {
        let mut meta = AppError::meta();
        meta.responses.retain(|r| r.status != Some(S));
        meta
    }

    fn register(registry: &mut Registry) {
        AppError::register(registry);
    }
}

/// The language of messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    /// The preferred of our languages in an `Accept-Language` header; English when none matches.
    pub fn from_request(req: &Request) -> Lang {
        req.header(header::ACCEPT_LANGUAGE)
            .and_then(|h| {
                accept_language::parse(h)
                    .into_iter()
                    .find_map(|l| match l.split('-').next() {
                        Some("zh") => Some(Lang::Zh),
                        Some("en") => Some(Lang::En),
                        _ => None,
                    })
            })
            .unwrap_or(Lang::En)
    }
}

/// An error of the HTTP layer itself, answered with its own status: the method (with the methods the path takes),
/// the media type, the body's size.
fn http_error(status: StatusCode, lang: Lang, allow: Option<String>) -> Option<Response> {
    let (code, en, zh) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            Code::MethodNotAllowed,
            "this method is not allowed here",
            "不支持此请求方法",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            Code::UnsupportedMediaType,
            "send JSON (Content-Type: application/json)",
            "请以 JSON 格式提交(Content-Type: application/json)",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (Code::PayloadTooLarge, "the request body is too large", "请求内容过大"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            (Code::HeadersTooLarge, "the request headers are too large", "请求头过大")
        }
        _ => return None,
    };
    let body = ErrorBody {
        code,
        message: if lang == Lang::Zh { zh } else { en }.into(),
        field: None,
    };
    let mut answer = Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8");
    if let Some(methods) = allow.filter(|_| status == StatusCode::METHOD_NOT_ALLOWED) {
        answer = answer.header(header::ALLOW, methods);
    }
    Some(answer.body(body.to_json_string()))
}

/// The answer to a request whose handling panicked: 500 in the same JSON as every error (the panic itself is logged,
/// one line with its location, by the hook `log_panics` sets).
pub fn on_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    AppError::Internal(anyhow::anyhow!("a request handler panicked")).to_response(Lang::En)
}

/// Logs each panic as one error line with its location, instead of a backtrace on stderr per request.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(at, what, "panic");
    }));
}

/// Middleware: every error leaving the app becomes a JSON body in the caller's language.
pub async fn localize<E: Endpoint>(ep: E, req: Request) -> poem::Result<Response> {
    let lang = Lang::from_request(&req);
    let allow = req.data::<super::Edge>().and_then(|e| e.allowed(req.uri().path()));
    match ep.call(req).await {
        Ok(resp) => Ok(resp.into_response()),
        Err(err) => Ok(match err.downcast_ref::<AppError>() {
            Some(app) => app.to_response(lang),
            None => http_error(err.status(), lang, allow).unwrap_or_else(|| AppError::from_poem(err).to_response(lang)),
        }),
    }
}
