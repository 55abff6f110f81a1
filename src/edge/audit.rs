//! The audit trail at the HTTP edge, for the API and the UI alike: each request runs in an audit context (door,
//! caller, address) so that the entries the service layer writes say who acted and from where; a write request runs
//! in one transaction ([`WriteTx`]) committed with its entries, so a crash cannot keep the one without the other. A
//! write the service layer recorded nothing for still leaves one entry, and a refusal (403) of a signed-in caller
//! one too.

use std::sync::Arc;

use poem::{
    Body, Endpoint, FromRequest, IntoResponse, Request, RequestBody, Response,
    http::{Method, StatusCode},
};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use tokio::sync::OnceCell;

use crate::service::{
    AppError, AppResult,
    audit::{self, Context, Door, Entry, FieldChange, write},
};

/// The caller of a request, filled by the authentication of the API and of the UI.
pub use crate::service::audit::Caller as CallerSlot;

/// The transaction of a write request. A handler that writes takes it as a parameter and runs its service calls
/// in it; the transaction begins at the first use (after authentication, which reads and writes on its own
/// connection) and the audit middleware commits it together with the request's audit row, or drops it (a
/// rollback) when the request fails.
#[derive(Clone)]
pub struct WriteTx {
    db: DatabaseConnection,
    txn: Arc<OnceCell<DatabaseTransaction>>,
}

impl WriteTx {
    fn new(db: DatabaseConnection) -> WriteTx {
        WriteTx {
            db,
            txn: Arc::default(),
        }
    }

    /// The request's transaction, begun on first use.
    pub async fn get(&self) -> AppResult<&DatabaseTransaction> {
        Ok(self.txn.get_or_try_init(|| crate::service::begin(&self.db)).await?)
    }

    /// The transaction, if it was begun, once every other holder of the request is gone.
    fn finish(self) -> AppResult<Option<DatabaseTransaction>> {
        Arc::try_unwrap(self.txn)
            .map(OnceCell::into_inner)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the request's transaction outlived the request")))
    }
}

impl<'a> FromRequest<'a> for WriteTx {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        req.extensions()
            .get::<WriteTx>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a write outside the audit middleware")).into())
    }
}

/// The kind of record and its id from a path (`/api/v1/projects/12`, `/projects/12/edit`): the last word that is
/// not a number or a verb of the UI, in the singular, and the number after it if any.
fn target(path: &str) -> (Option<String>, Option<i64>) {
    let segments: Vec<&str> = path
        .trim_start_matches("/api/v1")
        .split('/')
        .filter(|s| !s.is_empty() && !matches!(*s, "edit" | "new" | "move" | "delete" | "resend" | "run"))
        .collect();
    let (word, id) = match segments.as_slice() {
        [.., word, id] if id.parse::<i64>().is_ok() => (*word, id.parse().ok()),
        [.., word] => (*word, None),
        [] => return (None, None),
    };
    (Some(singular(word)), id)
}

/// A path's word as the audit log names the kind: `follow-ups` → `follow_up`, `companies` → `company`.
fn singular(word: &str) -> String {
    let w = word.replace('-', "_");
    if let Some(stem) = w.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = w.strip_suffix('s').filter(|_| !w.ends_with("ss")) {
        stem.to_owned()
    } else {
        w
    }
}

fn action(method: &Method, entity: Option<&str>) -> &'static str {
    match (method, entity) {
        (&Method::POST, Some("logout")) => "logout",
        (&Method::POST, Some("password")) => "password_change",
        (&Method::POST, Some("token")) => "token_create",
        (&Method::DELETE, Some("token")) => "token_revoke",
        (&Method::DELETE, Some("session")) => "session_end",
        (&Method::POST, _) => "create",
        (&Method::DELETE, _) => "delete",
        _ => "update",
    }
}

/// Middleware around the API and the UI: every request runs in an audit context (its door, caller and address),
/// so the service layer's entries say who acted and from where; a write runs in one transaction that is committed
/// only with its entries. A write the service layer recorded nothing for still leaves one entry naming its target
/// and the fields sent; a request refused to a signed-in caller (403) leaves one too.
pub async fn record<E: Endpoint>(ep: E, mut req: Request) -> poem::Result<Response> {
    let method = req.method().clone();
    let path = req.original_uri().path().to_owned();
    let door = if path.starts_with("/api/") {
        Door::Api
    } else {
        Door::Web
    };
    let mut ctx = Context::new(door, path.clone(), super::client_addr(&req));
    ctx.request_id = req.data::<super::RequestId>().map(|r| r.0.clone());
    req.extensions_mut().insert(ctx.caller.clone());
    let writes = matches!(method, Method::POST | Method::PATCH | Method::PUT | Method::DELETE);
    let db = req.data::<DatabaseConnection>().cloned();
    // Sign-in and the ledger import write their own entries (an import's names its batch, file and counts; a
    // preview writes nothing).
    let own_rows = path.ends_with("/login") || path.contains("/imports");
    let (Some(db), true, false) = (db.clone(), writes, own_rows) else {
        let answer = audit::within(ctx.clone(), ep.call(req))
            .await
            .map(IntoResponse::into_response);
        return refused(db, ctx, answer).await;
    };
    let tx = WriteTx::new(db.clone());
    req.extensions_mut().insert(tx.clone());
    // An upload streams to the file store (its service entries name what was attached); other bodies are within
    // the body limit, read already.
    let sent = if super::upload::streams(&req) {
        Vec::new()
    } else {
        let body = req.take_body().into_bytes().await?;
        let sent = sent_fields(&body);
        req.set_body(body);
        sent
    };

    let answer = audit::within(ctx.clone(), ep.call(req))
        .await
        .map(IntoResponse::into_response);
    let txn = tx.finish()?;
    let resp = match answer {
        Ok(resp) if resp.status().is_success() => resp,
        other => {
            drop(txn);
            return refused(Some(db), ctx, other).await;
        }
    };
    let (parts, body) = resp.into_parts();
    let bytes = body.into_bytes().await?;
    let fallback = (ctx.written() == 0).then(|| {
        let (entity, mut entity_id) = target(&path);
        if entity_id.is_none()
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
        {
            entity_id = v["id"].as_i64().or_else(|| v["info"]["id"].as_i64());
        }
        Entry {
            action: action(&method, entity.as_deref()).into(),
            entity,
            entity_id,
            changes: sent,
            // Marked, so that the test of every write route finds a write the service layer does not record.
            detail: Some(serde_json::json!({ "recorded_by": "edge" })),
            ..Default::default()
        }
    });
    match txn {
        Some(txn) => {
            if let Some(entry) = fallback {
                audit::within(ctx, write(&txn, entry)).await?;
            }
            txn.commit().await.map_err(AppError::from)?;
        }
        // A write that used no request transaction is committed already: answering 500 now would make the
        // client retry it.
        None => {
            if let Some(entry) = fallback
                && let Err(e) = audit::within(ctx, write(&db, entry)).await
            {
                tracing::error!(error = ?e, "could not append to the audit log");
            }
        }
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// The names of the fields a request body sent (JSON or a form), without `version` and the CSRF token: what a write
/// the service layer did not record is recorded with.
fn sent_fields(body: &[u8]) -> Vec<FieldChange> {
    let mut names: Vec<String> = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect()))
        .unwrap_or_else(|| form_urlencoded_keys(body));
    names.retain(|k| k != "version" && k != "csrf");
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|field| FieldChange {
            secret: field.contains("password"),
            field,
            was: None,
            became: None,
        })
        .collect()
}

/// The keys of a form body.
fn form_urlencoded_keys(body: &[u8]) -> Vec<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .map(|pairs| pairs.into_iter().map(|(k, _)| k).collect())
        .unwrap_or_default()
}

/// A request refused to a signed-in caller is a security event: one entry naming what was refused, for a 403 and for
/// a 404 that hides a record out of the caller's data scope.
async fn refused(
    db: Option<DatabaseConnection>,
    ctx: Context,
    answer: poem::Result<Response>,
) -> poem::Result<Response> {
    let status = match &answer {
        Ok(resp) => resp.status(),
        Err(e) => e.status(),
    };
    let hidden = ctx.hidden().filter(|_| status == StatusCode::NOT_FOUND);
    let refused = status == StatusCode::FORBIDDEN || hidden.is_some();
    let Some(db) = db.filter(|_| refused && ctx.caller.get().is_some()) else {
        return answer;
    };
    let (entity, entity_id) = match hidden {
        Some((kind, id)) => (Some(kind.name().to_owned()), Some(id)),
        None => target(&ctx.path),
    };
    let entry = Entry {
        action: "refused".into(),
        entity,
        entity_id,
        detail: Some(serde_json::json!({"status": status.as_u16()})),
        ..Default::default()
    };
    if let Err(e) = audit::within(ctx, write(&db, entry)).await {
        tracing::error!(error = ?e, "could not append to the audit log");
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(target("/api/v1/projects/12"), (Some("project".into()), Some(12)));
        assert_eq!(
            target("/api/v1/projects/12/stage-events"),
            (Some("stage_event".into()), None)
        );
        assert_eq!(target("/companies"), (Some("company".into()), None));
        assert_eq!(target("/projects/12/edit"), (Some("project".into()), Some(12)));
        assert_eq!(target("/api/v1/incubation/3"), (Some("incubation".into()), Some(3)));
        assert_eq!(action(&Method::POST, Some("token")), "token_create");
        assert_eq!(action(&Method::PATCH, Some("project")), "update");
    }
}
