//! The audit log at the HTTP edge: one row for every successful write through the API, by middleware, so no
//! endpoint can forget it. The sign-in and export services write their own rows.

use poem::{Body, Endpoint, IntoResponse, Request, Response, http::Method};
use sea_orm::DatabaseConnection;

use super::auth::CallerSlot;
use crate::service::audit::{Entry, write};

/// The kind of record and its id from a path under `/api/v1`: the last word, and the number after it if any.
fn target(path: &str) -> (Option<String>, Option<i64>) {
    let segments: Vec<&str> = path
        .trim_start_matches("/api/v1")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segments.as_slice() {
        [.., word, id] if id.parse::<i64>().is_ok() => (Some((*word).to_owned()), id.parse().ok()),
        [.., word] => (Some((*word).to_owned()), None),
        [] => (None, None),
    }
}

fn action(method: &Method, entity: Option<&str>) -> &'static str {
    match (method, entity) {
        (&Method::POST, Some("logout")) => "logout",
        (&Method::POST, Some("password")) => "password_change",
        (&Method::POST, Some("tokens")) => "token_create",
        (&Method::DELETE, Some("tokens")) => "token_revoke",
        (&Method::DELETE, Some("sessions")) => "session_end",
        (&Method::POST, _) => "create",
        (&Method::DELETE, _) => "delete",
        _ => "update",
    }
}

/// Middleware around `/api/v1`: records every successful write with its caller, target, field names and address.
pub async fn record<E: Endpoint>(ep: E, mut req: Request) -> poem::Result<Response> {
    let method = req.method().clone();
    let path = req.original_uri().path().to_owned();
    let writes = matches!(method, Method::POST | Method::PATCH | Method::PUT | Method::DELETE);
    let db = req.data::<DatabaseConnection>().cloned();
    let (Some(db), true, false) = (db, writes, path.ends_with("/auth/login")) else {
        return ep.call(req).await.map(IntoResponse::into_response);
    };
    let slot = CallerSlot::default();
    req.extensions_mut().insert(slot.clone());
    let client_addr = super::client_addr(&req);
    let body = req.take_body().into_bytes().await?;
    let mut fields: Vec<String> = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.as_object()
                .map(|o| o.keys().filter(|k| *k != "version").cloned().collect())
        })
        .unwrap_or_default();
    fields.sort();
    req.set_body(body);

    let resp = ep.call(req).await?.into_response();
    if !resp.status().is_success() {
        return Ok(resp);
    }
    let (entity, mut entity_id) = target(&path);
    let (parts, body) = resp.into_parts();
    let bytes = body.into_bytes().await?;
    if entity_id.is_none()
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
    {
        entity_id = v["id"].as_i64().or_else(|| v["info"]["id"].as_i64());
    }
    let caller = slot.get();
    let entry = Entry {
        action: action(&method, entity.as_deref()).into(),
        user_id: caller.as_ref().map(|c| c.user_id),
        username: caller.map(|c| c.username),
        entity,
        entity_id,
        path,
        fields,
        client_addr,
        detail: None,
    };
    if let Err(e) = write(&db, entry).await {
        // The write itself is committed; answering 500 now would make the client retry it.
        tracing::error!(error = ?e, "could not append to the audit log");
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(target("/api/v1/projects/12"), (Some("projects".into()), Some(12)));
        assert_eq!(
            target("/api/v1/projects/12/stage-events"),
            (Some("stage-events".into()), None)
        );
        assert_eq!(target("/api/v1/companies"), (Some("companies".into()), None));
        assert_eq!(action(&Method::POST, Some("tokens")), "token_create");
        assert_eq!(action(&Method::PATCH, Some("projects")), "update");
    }
}
