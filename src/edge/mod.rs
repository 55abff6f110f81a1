//! The HTTP edge that the API (`src/api/`) and the staff UI (`src/web/`) share: the one mapping of errors to HTTP
//! ([`error`]), the audited write transaction ([`audit`]), the client's address and the body limit.

pub mod audit;
pub mod error;
pub mod metrics;
pub mod upload;

use poem::http::Method;

/// How the HTTP edge treats requests: whose forwarding headers it believes, how large a body it reads, which
/// methods each path takes.
#[derive(Clone)]
pub struct Edge {
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The largest body read, in bytes.
    pub body_limit: usize,
    /// The largest ledger upload read (`/api/v1/imports/…`), in bytes.
    pub import_limit: usize,
    /// The largest attachment, in bytes (`files.max_bytes`): an upload streams past the body limit, each file
    /// counted against this one.
    pub file_limit: u64,
    /// The paths of the API (segments; `None` for a parameter) and the methods each takes, from its document.
    pub routes: std::sync::Arc<Vec<(Vec<Option<String>>, String)>>,
}

impl Edge {
    /// The API route (segments, methods) of the path `path` (under `/api/v1`).
    fn route_of(&self, path: &str) -> Option<&(Vec<Option<String>>, String)> {
        let segments: Vec<&str> = path.trim_start_matches("/api/v1").split('/').collect();
        self.routes.iter().find(|(template, _)| {
            template.len() == segments.len()
                && template
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t.as_deref().is_none_or(|t| t == *s))
        })
    }

    /// The methods the API path `path` (under `/api/v1`) takes, for an `Allow` header.
    pub fn allowed(&self, path: &str) -> Option<String> {
        self.route_of(path).map(|(_, methods)| methods.clone())
    }

    /// The API path `path` as its template, each parameter `{}`: `/api/v1/projects/{}/stage`.
    pub fn template(&self, path: &str) -> Option<String> {
        let (segments, _) = self.route_of(path)?;
        let parts: Vec<&str> = segments.iter().map(|s| s.as_deref().unwrap_or("{}")).collect();
        Some(format!("/api/v1{}", parts.join("/")))
    }
}

/// The id of a request: `X-Request-Id` as a trusted proxy sent it (up to 64 letters, digits, `-`, `_`, `.`), else
/// 32 random hex digits. It is echoed in the answer, carried by every log line of the request (the `request` span)
/// and written into its audit entries.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl RequestId {
    fn of(req: &poem::Request) -> RequestId {
        let from_proxy = req
            .remote_addr()
            .as_socket_addr()
            .is_some_and(|a| req.data::<Edge>().is_some_and(|e| e.trusted_proxies.contains(&a.ip())));
        let sent = req.header("x-request-id").filter(|_| from_proxy).filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
        RequestId(sent.map_or_else(
            || {
                let mut bytes = [0u8; 16];
                getrandom::fill(&mut bytes).expect("the system's random source");
                hex::encode(bytes)
            },
            str::to_owned,
        ))
    }
}

/// Middleware giving every request its id, a `request` span for its log lines and one line when it is answered
/// (method, path without its query, status, milliseconds): never a header, a body or a query string, where
/// passwords, tokens and contact details travel.
pub async fn request_id<E: poem::Endpoint>(ep: E, mut req: poem::Request) -> poem::Result<poem::Response> {
    use poem::IntoResponse;
    use tracing::Instrument;
    let id = RequestId::of(&req);
    let span = tracing::info_span!("request", id = %id.0);
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    req.extensions_mut().insert(id.clone());
    let started = std::time::Instant::now();
    async move {
        let mut answer = match ep.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let ms = started.elapsed().as_millis() as u64;
        tracing::info!(%method, %path, status = answer.status().as_u16(), ms, "answered");
        if let Ok(v) = poem::http::HeaderValue::from_str(&id.0) {
            answer.headers_mut().insert("x-request-id", v);
        }
        Ok(answer)
    }
    .instrument(span)
    .await
}

/// The client's address: the socket's peer, or, when that peer is a trusted proxy, the nearest address before it in
/// `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_addr(req: &poem::Request) -> Option<String> {
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip())?;
    let trusted = req
        .data::<Edge>()
        .map(|e| e.trusted_proxies.as_slice())
        .unwrap_or_default();
    if !trusted.contains(&peer) {
        return Some(peer.to_string());
    }
    let forwarded = req.header("x-forwarded-for").unwrap_or_default();
    let nearest = forwarded
        .rsplit(',')
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .find(|a| !trusted.contains(a));
    Some(nearest.unwrap_or(peer).to_string())
}

/// The request's body, refused with 413 when it is larger than the edge's limit: a declared length is checked before
/// anything is read, an undeclared one is read only up to the limit.
pub(crate) async fn limited_body(req: &mut poem::Request) -> poem::Result<Vec<u8>> {
    let path = req.uri().path();
    let upload = path.starts_with("/api/v1/imports/") || path.starts_with("/imports/");
    let limit = req
        .data::<Edge>()
        .map_or(usize::MAX, |e| if upload { e.import_limit } else { e.body_limit });
    let too_large = || poem::Error::from_status(poem::http::StatusCode::PAYLOAD_TOO_LARGE);
    let declared = req
        .header(poem::http::header::CONTENT_LENGTH)
        .and_then(|l| l.parse::<usize>().ok());
    if declared.is_some_and(|l| l > limit) {
        return Err(too_large());
    }
    let body = req.take_body().into_bytes_limit(limit).await;
    body.map(|b| b.to_vec()).map_err(|_| too_large())
}

/// Reads the body of a request within the edge's limit ([`limited_body`]), except an upload of attachments
/// ([`upload::streams`]): it is left to stream, refused at once only when its declared length could not be files
/// within the limits.
pub(crate) async fn bound_body(req: &mut poem::Request) -> poem::Result<()> {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return Ok(());
    }
    if upload::streams(req) {
        let most = req.data::<Edge>().map_or(u64::MAX, |e| {
            e.file_limit
                .saturating_mul(upload::MAX_FILES as u64)
                .saturating_add(1024 * 1024)
        });
        let declared = req
            .header(poem::http::header::CONTENT_LENGTH)
            .and_then(|l| l.parse::<u64>().ok());
        if declared.is_some_and(|l| l > most) {
            return Err(poem::Error::from_status(poem::http::StatusCode::PAYLOAD_TOO_LARGE));
        }
        return Ok(());
    }
    let body = limited_body(req).await?;
    req.set_body(body);
    Ok(())
}

/// Middleware around the UI's pages: a request body larger than the edge's limit (the import limit for a ledger
/// upload) is refused with 413 before anything reads it.
pub async fn limit_body<E: poem::Endpoint>(ep: E, mut req: poem::Request) -> poem::Result<poem::Response> {
    use poem::IntoResponse;
    bound_body(&mut req).await?;
    ep.call(req).await.map(IntoResponse::into_response)
}
