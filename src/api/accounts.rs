//! Sign-in, sessions, users, API tokens and the audit log.

use entity::{
    api_token, audit_entry,
    enums::{DataScope, Role, TokenScope},
    user,
};

use super::prelude::*;
use crate::service::{
    accounts::{self, Password, Username},
    actor::Via,
    audit,
    input::{Email, Patch, Short},
    sessions::{self, AuthConfig},
    tokens,
};

/// Credentials to sign in with.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct Login {
    /// Username.
    pub username: String,
    /// Password.
    #[oai(write_only)]
    pub password: String,
}

/// A new session.
#[derive(Object)]
pub struct SessionToken {
    /// The session token: send it as `Authorization: Bearer <token>`. Shown only here.
    pub token: String,
    /// When the session ends at the latest (it also ends after a spell of inactivity).
    pub expires_at: DateTime<Utc>,
}

/// A user account.
#[derive(Object)]
pub struct User {
    /// The user's id, at `/users/{id}`; records name it as their owner, contact leader or team member.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// E-mail address (for the weekly report).
    #[oai(nullable)]
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// Disabled accounts cannot sign in and their tokens stop working.
    pub disabled: bool,
    /// Receives the weekly report.
    pub weekly_report: bool,
    /// Receives the daily reminder digest.
    pub reminders: bool,
    /// The department (部门) the user belongs to.
    #[oai(nullable)]
    pub department_id: Option<i64>,
    /// The records the user may see, as an admin set it; none is the role's default (`all` for admins, leaders
    /// and viewers, `department` for staff).
    #[oai(nullable)]
    pub data_scope: Option<DataScope>,
    /// Locked after repeated failed sign-ins until this time.
    #[oai(nullable)]
    pub locked_until: Option<DateTime<Utc>>,
    /// Version for optimistic locking.
    pub version: i32,
    /// When the account was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the account was last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<user::Model> for User {
    fn from(m: user::Model) -> Self {
        User {
            id: m.id,
            username: m.username,
            display_name: m.display_name,
            email: m.email,
            role: m.role,
            disabled: m.disabled,
            weekly_report: m.weekly_report,
            reminders: m.reminders,
            department_id: m.department_id,
            data_scope: m.data_scope,
            locked_until: m.locked_until.filter(|t| *t > Utc::now()),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// The caller: their account and how they authenticated.
#[derive(Object)]
pub struct Me {
    /// The account.
    pub user: User,
    /// `session` or `token`.
    pub via: String,
    /// The token's scopes (tokens only).
    pub scopes: Vec<TokenScope>,
}

/// A new user.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewUser {
    /// Username: letters, digits, '.', '_', '-'; unique.
    pub username: Username,
    /// Name shown to others.
    pub display_name: Short,
    /// E-mail address.
    #[oai(nullable)]
    pub email: Option<Email>,
    /// Role.
    pub role: Role,
    /// Password, 12 to 256 characters.
    #[oai(write_only)]
    pub password: Password,
    /// The department (部门) the user belongs to.
    #[oai(nullable)]
    pub department_id: Option<i64>,
    /// The records the user may see; left out, the role's default.
    #[oai(nullable)]
    pub data_scope: Option<DataScope>,
}

/// Changes to a user: left out keeps; `null` clears the e-mail. A new password ends the user's sessions.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct UserChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// Name shown to others.
    #[oai(nullable)]
    pub display_name: Option<Short>,
    /// E-mail address.
    #[oai(nullable)]
    pub email: MaybeUndefined<Email>,
    /// Role.
    #[oai(nullable)]
    pub role: Option<Role>,
    /// Disable (true) or enable (false) the account; disabling ends its sessions.
    #[oai(nullable)]
    pub disabled: Option<bool>,
    /// New password (reset by an admin); also lifts a lockout.
    #[oai(write_only)]
    #[oai(nullable)]
    pub password: Option<Password>,
    /// The department.
    #[oai(nullable)]
    pub department_id: MaybeUndefined<i64>,
    /// The data scope; `null` returns to the role's default.
    #[oai(nullable)]
    pub data_scope: MaybeUndefined<DataScope>,
    /// Receive the daily reminder digest.
    #[oai(nullable)]
    pub reminders: Option<bool>,
    /// Receive the weekly report (sent to leaders with an e-mail address).
    #[oai(nullable)]
    pub weekly_report: Option<bool>,
}

/// The caller's mail subscriptions.
#[derive(Object)]
pub struct Subscription {
    /// Receive the weekly report (leaders with an e-mail address).
    pub weekly_report: bool,
    /// Receive the daily reminder digest (follow-ups due, blockers due, stale projects).
    pub reminders: bool,
    /// The caller's id in the bureau's work chat (企业微信/钉钉 UserID), for the messages of an application.
    #[oai(nullable)]
    pub chat_user_id: Option<String>,
}

/// Changes to the caller's mail subscriptions: left out keeps.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct SubscriptionChanges {
    /// Receive the weekly report.
    #[oai(nullable)]
    pub weekly_report: Option<bool>,
    /// Receive the daily reminder digest.
    #[oai(nullable)]
    pub reminders: Option<bool>,
    /// The caller's 企业微信/钉钉 UserID (1–64 characters); `null` unlinks it.
    #[oai(nullable)]
    pub chat_user_id: MaybeUndefined<String>,
}

/// A password change by the user.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    #[oai(write_only)]
    pub current_password: String,
    /// The new password, 12 to 256 characters.
    #[oai(write_only)]
    pub new_password: Password,
}

/// A signed-in session of the caller.
#[derive(Object)]
pub struct SessionInfo {
    /// The session's id: `DELETE /auth/sessions/{id}` ends it.
    pub id: i64,
    /// When it started (UTC).
    pub created_at: DateTime<Utc>,
    /// Its latest request (UTC).
    pub last_seen_at: DateTime<Utc>,
    /// When it ends at the latest (UTC).
    pub expires_at: DateTime<Utc>,
    /// The address it signed in from.
    #[oai(nullable)]
    pub client_addr: Option<String>,
    /// The client it signed in with.
    #[oai(nullable)]
    pub user_agent: Option<String>,
    /// Whether this is the session of the current request.
    pub current: bool,
}

/// A new API token.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewToken {
    /// The user the token acts for.
    pub user_id: i64,
    /// What the token is for, e.g. "领导小组周报表".
    pub name: Short,
    /// Scopes: `read`, `export`, `contact_details`.
    pub scopes: Vec<TokenScope>,
    /// Last day the token works (inclusive, Asia/Shanghai); at most two years ahead.
    pub expires_on: NaiveDate,
}

/// An API token (without its secret).
#[derive(Object)]
pub struct Token {
    /// The token's id: `DELETE /tokens/{id}` revokes it.
    pub id: i64,
    /// The user it acts for.
    pub user_id: i64,
    /// What it is for.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<TokenScope>,
    /// When it stops working (UTC).
    pub expires_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    #[oai(nullable)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Its latest use (to the minute).
    #[oai(nullable)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was created (UTC).
    pub created_at: DateTime<Utc>,
}

impl From<api_token::Model> for Token {
    fn from(m: api_token::Model) -> Self {
        Token {
            id: m.id,
            user_id: m.user_id,
            name: m.name,
            scopes: tokens::scopes(&m.scopes),
            expires_at: m.expires_at,
            revoked_at: m.revoked_at,
            last_used_at: m.last_used_at,
            created_at: m.created_at,
        }
    }
}

/// A new API token with its secret, shown only once.
#[derive(Object)]
pub struct IssuedToken {
    /// The token: send it as `Authorization: Bearer <token>`. Store it now: it is never shown again.
    pub token: String,
    /// The token's record.
    pub info: Token,
}

/// One row of the audit log.
#[derive(Object)]
pub struct AuditEntry {
    /// The entry's place in the trail: it grows with every entry, so a later entry has a larger id.
    pub id: i64,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Who (none for failed sign-ins of unknown users).
    #[oai(nullable)]
    pub user_id: Option<i64>,
    /// Their username (or the one tried, for failed sign-ins).
    #[oai(nullable)]
    pub username: Option<String>,
    /// What: `create`, `update`, `delete`, `login_success`, `login_failure`, `logout`, `export`, …
    pub action: String,
    /// The kind of record, the same whatever the door: `project`, `follow_up`, `token` …
    #[oai(nullable)]
    pub entity: Option<String>,
    /// The record's id.
    #[oai(nullable)]
    pub entity_id: Option<i64>,
    /// The request path, the command or the job.
    pub path: String,
    /// Where it came from: `api`, `web`, `cli` or `job` (empty in entries older than this field).
    pub door: String,
    /// Names of the fields changed.
    pub fields: Vec<String>,
    /// The changed fields with their values before and after (contact details masked; a secret only as `secret`).
    pub changes: Vec<AuditChange>,
    /// The entry's place in the hash chain (none until sealed, a second after it is written).
    #[oai(nullable)]
    pub seq: Option<i64>,
    /// The client's address.
    #[oai(nullable)]
    pub client_addr: Option<String>,
    /// Further detail (filters of an export, row counts …).
    #[oai(nullable)]
    pub detail: Option<serde_json::Value>,
    /// The request it was written in: the `X-Request-Id` of its answer, also in that request's log lines.
    #[oai(nullable)]
    pub request_id: Option<String>,
}

impl From<audit_entry::Model> for AuditEntry {
    fn from(m: audit_entry::Model) -> Self {
        AuditEntry {
            id: m.id,
            at: m.at,
            user_id: m.user_id,
            username: m.username,
            action: m.action,
            entity: m.entity,
            entity_id: m.entity_id,
            path: m.path,
            door: m.door,
            fields: serde_json::from_value(m.fields).unwrap_or_default(),
            changes: m
                .changes
                .and_then(|c| serde_json::from_value(c).ok())
                .unwrap_or_default(),
            seq: m.seq,
            client_addr: m.client_addr,
            detail: m.detail,
            request_id: m.request_id,
        }
    }
}

/// One changed field of an audit entry.
#[derive(Object, serde::Deserialize)]
pub struct AuditChange {
    /// The field.
    pub field: String,
    /// Its value before (absent for a create, or for a secret).
    #[oai(skip_serializing_if_is_none)]
    pub was: Option<serde_json::Value>,
    /// Its value after (absent for a delete, or for a secret).
    #[oai(skip_serializing_if_is_none)]
    pub became: Option<serde_json::Value>,
    /// A secret (a password): changed, never shown (absent for other fields).
    #[serde(default)]
    #[oai(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// What a verification of the audit trail's hash chain found.
#[derive(Object)]
pub struct AuditVerification {
    /// Whether every sealed entry fits the chain.
    pub ok: bool,
    /// Sealed entries checked.
    pub checked: u64,
    /// The first entry's place in the chain (above 1 once older entries are archived).
    #[oai(nullable)]
    pub first_seq: Option<i64>,
    /// Entries of the last seconds not sealed yet (not a problem).
    pub pending: u64,
    /// The first entry that does not fit, and why.
    #[oai(nullable)]
    pub problem: Option<String>,
}

/// Account endpoints.
pub struct AccountsApi {
    pub db: DatabaseConnection,
    pub config: AuthConfig,
    /// The bound on sign-in attempts per client address.
    pub gate: std::sync::Arc<sessions::SignInGate>,
}

#[OpenApi(tag = "ApiTags::Accounts")]
impl AccountsApi {
    /// Sign in. Wrong credentials, unknown users, disabled and locked accounts all get the same 401.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(&self, body: JsonBody<Login>, req: &poem::Request) -> AppResult<Json<SessionToken>> {
        let client_addr = crate::edge::client_addr(req);
        let attempt = sessions::SignIn {
            username: &body.0.username,
            password: &body.0.password,
            client_addr,
            user_agent: req.header("user-agent"),
        };
        let s = sessions::sign_in(&self.db, &self.config, &self.gate, attempt).await?;
        Ok(Json(SessionToken {
            token: s.token,
            expires_at: s.expires_at,
        }))
    }

    /// End the current session.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, auth: Auth, tx: WriteTx) -> AppResult<Deleted> {
        sessions::sign_out(tx.get().await?, &auth.0).await?;
        Ok(Deleted::Deleted)
    }

    /// Who the caller is.
    #[oai(path = "/auth/me", method = "get", operation_id = "getCurrentUser")]
    async fn me(&self, auth: Auth) -> AppResult<Json<Me>> {
        let u = accounts::get_user(&self.db, auth.0.user_id).await?;
        let (via, scopes) = match auth.0.via {
            Via::Session(_) | Via::System => ("session", vec![]),
            Via::Token(_, s) => ("token", s),
        };
        Ok(Json(Me {
            user: u.into(),
            via: via.into(),
            scopes,
        }))
    }

    /// The caller's open sessions.
    #[oai(path = "/auth/sessions", method = "get", operation_id = "listSessions")]
    async fn sessions(&self, auth: Auth) -> AppResult<Json<Vec<SessionInfo>>> {
        let rows = sessions::open_sessions(&self.db, &self.config, &auth.0).await?;
        Ok(Json(
            rows.into_iter()
                .map(|(s, current)| SessionInfo {
                    current,
                    id: s.id,
                    created_at: s.created_at,
                    last_seen_at: s.last_seen_at,
                    expires_at: s.expires_at,
                    client_addr: s.client_addr,
                    user_agent: s.user_agent,
                })
                .collect(),
        ))
    }

    /// Turn the caller's weekly report or daily reminders on or off; link or unlink their work-chat id.
    #[oai(path = "/auth/subscription", method = "put", operation_id = "setSubscription")]
    async fn subscription(
        &self,
        auth: Auth,
        tx: WriteTx,
        body: JsonBody<SubscriptionChanges>,
    ) -> AppResult<Json<Subscription>> {
        let b = body.0;
        let choice = (b.weekly_report, b.reminders);
        let u = sessions::set_subscription(tx.get().await?, &auth.0, choice, b.chat_user_id.into()).await?;
        Ok(Json(Subscription {
            weekly_report: u.weekly_report,
            reminders: u.reminders,
            chat_user_id: u.chat_user_id,
        }))
    }

    /// End one of the caller's sessions.
    #[oai(path = "/auth/sessions/:id", method = "delete", operation_id = "endSession")]
    async fn end_session(&self, auth: Auth, tx: WriteTx, id: Path<i64>) -> AppResult<Deleted> {
        sessions::end_session(tx.get().await?, &auth.0, id.0).await?;
        Ok(Deleted::Deleted)
    }

    /// Change one's own password; every other session of the user ends.
    #[oai(path = "/auth/password", method = "post", operation_id = "changePassword")]
    async fn change_password(&self, auth: Auth, tx: WriteTx, body: JsonBody<PasswordChange>) -> AppResult<Deleted> {
        let b = body.0;
        sessions::change_password(tx.get().await?, &auth.0, &b.current_password, b.new_password.as_str()).await?;
        Ok(Deleted::Deleted)
    }

    /// Create a user (admin; with duties separated, administrator roles and data scopes are the security
    /// administrator's to grant).
    #[oai(path = "/users", method = "post", operation_id = "createUser")]
    async fn create_user(&self, auth: Auth, tx: WriteTx, body: JsonBody<NewUser>) -> AppResult<Created<User>> {
        let b = body.0;
        let new = accounts::NewUser {
            username: b.username,
            display_name: b.display_name,
            email: b.email.map(String::from),
            role: b.role,
            password: b.password,
            department_id: b.department_id,
            data_scope: b.data_scope,
        };
        accounts::may_create(&auth.0, &new)?;
        Ok(Created::Created(Json(
            accounts::create_user(tx.get().await?, new).await?.into(),
        )))
    }

    /// List users (admin, security administrator).
    #[oai(path = "/users", method = "get", operation_id = "listUsers")]
    async fn list_users(
        &self,
        auth: Auth,
        /// Role.
        role: Query<Option<Role>>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<User>>> {
        auth.0.require(Need::Users)?;
        let rows = accounts::list_users(&self.db, role.0, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(User::from).into()))
    }

    /// Read a user (admin, security administrator).
    #[oai(path = "/users/:id", method = "get", operation_id = "getUser")]
    async fn get_user(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<User>> {
        auth.0.require(Need::Users)?;
        Ok(Json(accounts::get_user(&self.db, id.0).await?.into()))
    }

    /// Change a user: name, e-mail, department, disable, reset the password (admin); role and data scope (security
    /// administrator, and the admin unless duties are separated).
    #[oai(path = "/users/:id", method = "patch", operation_id = "updateUser")]
    async fn update_user(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<UserChanges>,
    ) -> AppResult<Json<User>> {
        let b = body.0;
        let changes = accounts::UserChanges {
            version: b.version,
            display_name: b.display_name,
            email: Patch::from(b.email).map(String::from),
            role: b.role,
            disabled: b.disabled,
            password: b.password,
            department_id: b.department_id.into(),
            data_scope: b.data_scope.into(),
            reminders: b.reminders,
            weekly_report: b.weekly_report,
        };
        Ok(Json(
            accounts::update_user(tx.get().await?, &auth.0, id.0, changes)
                .await?
                .into(),
        ))
    }

    /// Issue an API token for a user (admin). The token is in this answer only.
    #[oai(path = "/tokens", method = "post", operation_id = "createToken")]
    async fn create_token(&self, auth: Auth, tx: WriteTx, body: JsonBody<NewToken>) -> AppResult<Created<IssuedToken>> {
        auth.0.require(Need::Admin)?;
        let b = body.0;
        let new = tokens::NewToken {
            user_id: b.user_id,
            name: b.name,
            scopes: b.scopes,
            expires_on: b.expires_on,
        };
        let (token, m) = tokens::issue(tx.get().await?, &auth.0, new).await?;
        Ok(Created::Created(Json(IssuedToken { token, info: m.into() })))
    }

    /// List API tokens (admin); secrets are never shown again.
    #[oai(path = "/tokens", method = "get", operation_id = "listTokens")]
    async fn list_tokens(
        &self,
        auth: Auth,
        /// Tokens of this user.
        user_id: Query<Option<i64>>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<Token>>> {
        auth.0.require(Need::Admin)?;
        let rows = tokens::list(&self.db, user_id.0, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(Token::from).into()))
    }

    /// Revoke an API token (admin).
    #[oai(path = "/tokens/:id", method = "delete", operation_id = "revokeToken")]
    async fn revoke_token(&self, auth: Auth, tx: WriteTx, id: Path<i64>) -> AppResult<Deleted> {
        auth.0.require(Need::Admin)?;
        tokens::revoke(tx.get().await?, id.0).await?;
        Ok(Deleted::Deleted)
    }

    /// The audit log, newest first: the auditor's (and the admin's unless duties are separated; then an admin reads
    /// only their own entries, without filters).
    #[oai(path = "/audit", method = "get", operation_id = "listAuditEntries")]
    async fn audit(
        &self,
        auth: Auth,
        /// Rows of this user id.
        user_id: Query<Option<i64>>,
        /// Rows of this username.
        username: Query<Option<String>>,
        /// Kind of record, e.g. `project`, `follow_up`.
        entity: Query<Option<String>>,
        /// The record's id (with `entity`: one record's history).
        entity_id: Query<Option<i64>>,
        /// Action, e.g. `update`, `login_failure`.
        action: Query<Option<String>>,
        /// From this time on (inclusive).
        from: Query<Option<DateTime<Utc>>>,
        /// Up to this time (inclusive).
        to: Query<Option<DateTime<Utc>>>,
        /// How it ended: `done`, or `refused` (failed sign-ins, refused and hidden requests).
        outcome: Query<Option<audit::Outcome>>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<AuditEntry>>> {
        let filter = audit::Filter {
            user_id: user_id.0,
            username: username.0,
            entity: entity.0,
            entity_id: entity_id.0,
            action: action.0,
            from: from.0,
            to: to.0,
            outcome: outcome.0,
        };
        let rows = audit::read(&self.db, &auth.0, filter, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(AuditEntry::from).into()))
    }

    /// Verify the audit trail's hash chain now (auditor; admin unless duties are separated): a changed, deleted or
    /// inserted entry is named. The check is itself recorded.
    #[oai(path = "/audit/verification", method = "get", operation_id = "verifyAuditTrail")]
    async fn verify_audit(&self, auth: Auth) -> AppResult<Json<AuditVerification>> {
        let v = audit::verification(&self.db, &auth.0).await?;
        Ok(Json(AuditVerification {
            ok: v.problem.is_none(),
            checked: v.checked,
            first_seq: v.first_seq,
            pending: v.pending,
            problem: v.problem,
        }))
    }
}
