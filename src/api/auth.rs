//! Authentication at the HTTP edge: the bearer security scheme of the API, resolved by the account service.

use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use sea_orm::DatabaseConnection;

use crate::{
    edge::audit::CallerSlot,
    service::{
        Actor, AppError,
        sessions::{self, AuthConfig},
    },
};

/// What the auth checker needs from the app.
#[derive(Clone)]
pub struct AuthState {
    /// The database.
    pub db: DatabaseConnection,
    /// The sign-in policy.
    pub config: AuthConfig,
}

/// A session token or an API token, sent as `Authorization: Bearer <token>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "authenticate")]
pub struct Auth(pub Actor);

async fn authenticate(req: &Request, bearer: Bearer) -> poem::Result<Actor> {
    let state = req
        .data::<AuthState>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("auth state missing")))?;
    let caller = sessions::resolve(&state.db, &state.config, &bearer.token).await?;
    if let Some(slot) = req.extensions().get::<CallerSlot>() {
        slot.set(&caller);
    }
    Ok(caller)
}
