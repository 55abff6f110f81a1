//! The HTTP edge that the API (`src/api/`) and the staff UI (`src/web/`) share: the one mapping of errors to HTTP
//! ([`error`]), the audited write transaction ([`audit`]), the client's address and the body limit.

pub mod audit;
pub mod error;

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
    /// The paths of the API (segments; `None` for a parameter) and the methods each takes, from its document.
    pub routes: std::sync::Arc<Vec<(Vec<Option<String>>, String)>>,
}

impl Edge {
    /// The methods the API path `path` (under `/api/v1`) takes, for an `Allow` header.
    pub fn allowed(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.trim_start_matches("/api/v1").split('/').collect();
        self.routes
            .iter()
            .find(|(template, _)| {
                template.len() == segments.len()
                    && template
                        .iter()
                        .zip(&segments)
                        .all(|(t, s)| t.as_deref().is_none_or(|t| t == *s))
            })
            .map(|(_, methods)| methods.clone())
    }
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

/// Middleware around the UI's pages: a request body larger than the edge's limit (the import limit for a ledger
/// upload) is refused with 413 before anything reads it.
pub async fn limit_body<E: poem::Endpoint>(ep: E, mut req: poem::Request) -> poem::Result<poem::Response> {
    use poem::IntoResponse;
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let body = limited_body(&mut req).await?;
        req.set_body(body);
    }
    ep.call(req).await.map(IntoResponse::into_response)
}
