//! The audit log at the HTTP edge: one row for every successful write through the API, by middleware, so no
//! endpoint can forget it, committed in the same transaction as the write it records ([`WriteTx`]), so a crash
//! cannot keep the one without the other. The sign-in and export services write their own rows.

use std::sync::{Arc, Mutex};

use poem::{Body, Endpoint, FromRequest, IntoResponse, Request, RequestBody, Response, http::Method};
use sea_orm::{DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, TransactionOptions, TransactionTrait};
use tokio::sync::OnceCell;

use crate::service::{
    Actor, AppError, AppResult,
    audit::{Entry, write},
};

/// A slot the auth checker fills, so that the audit middleware knows the caller.
#[derive(Clone, Default)]
pub struct CallerSlot(Arc<Mutex<Option<Actor>>>);

impl CallerSlot {
    /// The caller, once authenticated.
    pub fn get(&self) -> Option<Actor> {
        self.0.lock().ok().and_then(|c| c.clone())
    }

    /// Records the caller once authenticated.
    pub fn set(&self, caller: &Actor) {
        if let Ok(mut c) = self.0.lock() {
            *c = Some(caller.clone());
        }
    }
}

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
        // SQLite: take the write lock at BEGIN, so that a transaction that reads before it writes waits for
        // another writer instead of failing when it upgrades (PostgreSQL ignores the option).
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        Ok(self.txn.get_or_try_init(|| self.db.begin_with_options(options)).await?)
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

/// Middleware around `/api/v1`: records every successful write with its caller, target, field names and address,
/// in the write's own transaction.
pub async fn record<E: Endpoint>(ep: E, mut req: Request) -> poem::Result<Response> {
    let method = req.method().clone();
    let path = req.original_uri().path().to_owned();
    let writes = matches!(method, Method::POST | Method::PATCH | Method::PUT | Method::DELETE);
    let db = req.data::<DatabaseConnection>().cloned();
    // Sign-in and the ledger import write their own rows (an import's names its batch, file and counts; a preview
    // writes nothing and is not logged as a write).
    let own_rows = path.ends_with("/auth/login") || path.starts_with("/api/v1/imports") || path.starts_with("/imports");
    let (Some(db), true, false) = (db, writes, own_rows) else {
        return ep.call(req).await.map(IntoResponse::into_response);
    };
    let slot = CallerSlot::default();
    let tx = WriteTx::new(db.clone());
    req.extensions_mut().insert(slot.clone());
    req.extensions_mut().insert(tx.clone());
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
    let txn = tx.finish()?;
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
    match txn {
        Some(txn) => {
            write(&txn, entry).await?;
            txn.commit().await.map_err(AppError::from)?;
        }
        // A write that used no request transaction is committed already: answering 500 now would make the
        // client retry it.
        None => {
            if let Err(e) = write(&db, entry).await {
                tracing::error!(error = ?e, "could not append to the audit log");
            }
        }
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
