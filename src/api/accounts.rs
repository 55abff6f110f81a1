//! Sign-in, sessions, users, API tokens and the audit log.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{
    api_token, audit_entry,
    enums::{Role, TokenScope},
    session, user,
};
use poem::web::RealIp;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};

use super::{
    ApiTags, Created, Deleted, Page, Paging,
    audit::{self, Entry},
    companies::{changed, set_if},
    find, update_versioned,
};
use crate::{
    auth::{self, Auth, AuthConfig, Need, Via},
    error::{AppError, AppResult, Msg},
    validate,
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
    /// Id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// E-mail address (for the weekly report).
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// Disabled accounts cannot sign in and their tokens stop working.
    pub disabled: bool,
    /// Receives the weekly report.
    pub weekly_report: bool,
    /// Locked after repeated failed sign-ins until this time.
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
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// Password, at least 12 characters.
    #[oai(write_only)]
    pub password: String,
}

/// Changes to a user: left out keeps; `null` clears the e-mail. A new password ends the user's sessions.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct UserChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Name shown to others.
    pub display_name: Option<String>,
    /// E-mail address.
    pub email: MaybeUndefined<String>,
    /// Role.
    pub role: Option<Role>,
    /// Disable (true) or enable (false) the account; disabling ends its sessions.
    pub disabled: Option<bool>,
    /// New password (reset by an admin); also lifts a lockout.
    #[oai(write_only)]
    pub password: Option<String>,
}

/// The caller's mail subscriptions.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct Subscription {
    /// Receive the weekly report (leaders with an e-mail address).
    pub weekly_report: bool,
}

/// A password change by the user.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    #[oai(write_only)]
    pub current_password: String,
    /// The new password, at least 12 characters.
    #[oai(write_only)]
    pub new_password: String,
}

/// A signed-in session of the caller.
#[derive(Object)]
pub struct SessionInfo {
    /// Id.
    pub id: i64,
    /// When it started (UTC).
    pub created_at: DateTime<Utc>,
    /// Its latest request (UTC).
    pub last_seen_at: DateTime<Utc>,
    /// When it ends at the latest (UTC).
    pub expires_at: DateTime<Utc>,
    /// The address it signed in from.
    pub client_addr: Option<String>,
    /// The client it signed in with.
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
    pub name: String,
    /// Scopes: `read`, `export`, `contact_details`.
    pub scopes: Vec<TokenScope>,
    /// Last day the token works (inclusive, Asia/Shanghai); at most two years ahead.
    pub expires_on: NaiveDate,
}

/// An API token (without its secret).
#[derive(Object)]
pub struct Token {
    /// Id.
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
    pub revoked_at: Option<DateTime<Utc>>,
    /// Its latest use (to the minute).
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
            scopes: serde_json::from_value(m.scopes).unwrap_or_default(),
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
    /// Id.
    pub id: i64,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Who (none for failed sign-ins of unknown users).
    pub user_id: Option<i64>,
    /// Their username (or the one tried, for failed sign-ins).
    pub username: Option<String>,
    /// What: `create`, `update`, `delete`, `login_success`, `login_failure`, `logout`, `export`, …
    pub action: String,
    /// The kind of record, e.g. `projects`, `stage-events`, `tokens`.
    pub entity: Option<String>,
    /// The record's id.
    pub entity_id: Option<i64>,
    /// The request path.
    pub path: String,
    /// Names of the fields the request sent (never their values).
    pub fields: Vec<String>,
    /// The client's address.
    pub client_addr: Option<String>,
    /// Further detail (filters of an export, row counts …).
    pub detail: Option<serde_json::Value>,
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
            fields: serde_json::from_value(m.fields).unwrap_or_default(),
            client_addr: m.client_addr,
            detail: m.detail,
        }
    }
}

fn invalid_credentials() -> AppError {
    AppError::Unauthorized
}

/// Account endpoints.
pub struct AccountsApi {
    pub db: DatabaseConnection,
    pub config: AuthConfig,
}

#[OpenApi(tag = "ApiTags::Accounts")]
impl AccountsApi {
    /// Sign in. Wrong credentials, unknown users, disabled and locked accounts all get the same 401.
    #[oai(path = "/auth/login", method = "post")]
    async fn login(&self, body: Json<Login>, ip: RealIp, req: &poem::Request) -> AppResult<Json<SessionToken>> {
        let b = body.0;
        let now = Utc::now();
        let addr = ip.0.map(|a| a.to_string());
        let found = user::Entity::find()
            .filter(user::Column::Username.eq(b.username.trim()))
            .one(&self.db)
            .await?;
        let entry = |action: &str, user: Option<&user::Model>, why: Option<&str>| Entry {
            action: action.into(),
            user_id: user.map(|u| u.id),
            username: Some(user.map_or_else(|| b.username.chars().take(64).collect(), |u| u.username.clone())),
            entity: Some("sessions".into()),
            path: "/api/v1/auth/login".into(),
            client_addr: addr.clone(),
            detail: why.map(|w| serde_json::json!({ "reason": w })),
            ..Default::default()
        };
        let Some(u) = found else {
            // Spend the time a real check takes, so response times do not tell which usernames exist.
            auth::verify_password(auth::DUMMY_HASH, &b.password).await;
            audit::write(&self.db, entry("login_failure", None, Some("unknown user"))).await?;
            return Err(invalid_credentials());
        };
        let locked = u.locked_until.is_some_and(|t| t > now);
        let matches = auth::verify_password(&u.password_hash, &b.password).await;
        if u.disabled || locked || !matches {
            let why = if u.disabled {
                "disabled"
            } else if locked {
                "locked"
            } else {
                "wrong password"
            };
            if !matches && !locked {
                let failed = u.failed_logins + 1;
                let lock = failed >= self.config.lockout_attempts;
                user::Entity::update_many()
                    .col_expr(user::Column::FailedLogins, Expr::value(if lock { 0 } else { failed }))
                    .col_expr(
                        user::Column::LockedUntil,
                        Expr::value(
                            lock.then(|| now + Duration::minutes(self.config.lockout_minutes))
                                .or(u.locked_until),
                        ),
                    )
                    .filter(user::Column::Id.eq(u.id))
                    .exec(&self.db)
                    .await?;
            }
            audit::write(&self.db, entry("login_failure", Some(&u), Some(why))).await?;
            return Err(invalid_credentials());
        }
        let token = auth::new_session_token()?;
        let expires_at = auth::session_expiry(&self.config, now);
        let txn = self.db.begin().await?;
        user::Entity::update_many()
            .col_expr(user::Column::FailedLogins, Expr::value(0))
            .col_expr(user::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(user::Column::Id.eq(u.id))
            .exec(&txn)
            .await?;
        let s = session::Entity::insert(session::ActiveModel {
            user_id: Set(u.id),
            token_hash: Set(auth::token_hash(&token)),
            created_at: Set(now),
            last_seen_at: Set(now),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
            client_addr: Set(addr.clone()),
            user_agent: Set(req.header("user-agent").map(|a| a.chars().take(300).collect())),
            ..Default::default()
        })
        .exec_with_returning(&txn)
        .await?;
        audit::write(
            &txn,
            Entry {
                entity_id: Some(s.id),
                ..entry("login_success", Some(&u), None)
            },
        )
        .await?;
        txn.commit().await?;
        Ok(Json(SessionToken { token, expires_at }))
    }

    /// End the current session.
    #[oai(path = "/auth/logout", method = "post")]
    async fn logout(&self, auth: Auth) -> AppResult<Deleted> {
        let Via::Session(id) = auth.0.via else {
            return Err(AppError::BadRequest {
                code: "not_a_session",
                msg: Msg::new(
                    "API tokens are revoked by an admin, not logged out",
                    "API 令牌须由管理员吊销",
                ),
                field: None,
            });
        };
        session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(Some(Utc::now())))
            .filter(session::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(Deleted::Deleted)
    }

    /// Who the caller is.
    #[oai(path = "/auth/me", method = "get")]
    async fn me(&self, auth: Auth) -> AppResult<Json<Me>> {
        let u = find::<user::Entity, _>(&self.db, auth.0.user_id, "user").await?;
        let (via, scopes) = match auth.0.via {
            Via::Session(_) => ("session", vec![]),
            Via::Token(_, s) => ("token", s),
        };
        Ok(Json(Me {
            user: u.into(),
            via: via.into(),
            scopes,
        }))
    }

    /// The caller's open sessions.
    #[oai(path = "/auth/sessions", method = "get")]
    async fn sessions(&self, auth: Auth) -> AppResult<Json<Vec<SessionInfo>>> {
        let current = match auth.0.via {
            Via::Session(id) => Some(id),
            Via::Token(..) => None,
        };
        let now = Utc::now();
        let idle = Duration::minutes(self.config.session_idle_minutes);
        let rows = session::Entity::find()
            .filter(session::Column::UserId.eq(auth.0.user_id))
            .filter(session::Column::RevokedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(now))
            .order_by_desc(session::Column::LastSeenAt)
            .all(&self.db)
            .await?;
        Ok(Json(
            rows.into_iter()
                .filter(|s| s.last_seen_at + idle > now)
                .map(|s| SessionInfo {
                    current: Some(s.id) == current,
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

    /// Turn the caller's weekly report on or off.
    #[oai(path = "/auth/subscription", method = "put")]
    async fn subscription(&self, auth: Auth, body: Json<Subscription>) -> AppResult<Json<Subscription>> {
        if !matches!(auth.0.via, Via::Session(_)) {
            return Err(AppError::Forbidden {
                code: "forbidden",
                msg: Msg::new("API tokens cannot change subscriptions", "API 令牌不能修改订阅"),
            });
        }
        user::Entity::update_many()
            .col_expr(user::Column::WeeklyReport, Expr::value(body.0.weekly_report))
            .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
            .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(user::Column::Id.eq(auth.0.user_id))
            .exec(&self.db)
            .await?;
        let u = find::<user::Entity, _>(&self.db, auth.0.user_id, "user").await?;
        Ok(Json(Subscription {
            weekly_report: u.weekly_report,
        }))
    }

    /// End one of the caller's sessions.
    #[oai(path = "/auth/sessions/:id", method = "delete")]
    async fn end_session(&self, auth: Auth, id: Path<i64>) -> AppResult<Deleted> {
        let res = session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(Some(Utc::now())))
            .filter(session::Column::Id.eq(id.0))
            .filter(session::Column::UserId.eq(auth.0.user_id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::not_found("session"));
        }
        Ok(Deleted::Deleted)
    }

    /// Change one's own password; every other session of the user ends.
    #[oai(path = "/auth/password", method = "post")]
    async fn change_password(&self, auth: Auth, body: Json<PasswordChange>) -> AppResult<Deleted> {
        let Via::Session(current) = auth.0.via else {
            return Err(AppError::Forbidden {
                code: "forbidden",
                msg: Msg::new("API tokens cannot change passwords", "API 令牌不能修改密码"),
            });
        };
        let u = find::<user::Entity, _>(&self.db, auth.0.user_id, "user").await?;
        if !auth::verify_password(&u.password_hash, &body.0.current_password).await {
            return Err(AppError::rule(
                "wrong_password",
                Some("current_password"),
                Msg::new("the current password is not right", "当前密码不正确"),
            ));
        }
        auth::check_password("new_password", &body.0.new_password)?;
        let hash = auth::hash_password(&body.0.new_password).await?;
        let txn = self.db.begin().await?;
        user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash))
            .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
            .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(user::Column::Id.eq(u.id))
            .exec(&txn)
            .await?;
        auth::end_sessions(&txn, u.id, Some(current)).await?;
        txn.commit().await?;
        Ok(Deleted::Deleted)
    }

    /// Create a user (admin).
    #[oai(path = "/users", method = "post")]
    async fn create_user(&self, auth: Auth, body: Json<NewUser>) -> AppResult<Created<User>> {
        auth.0.require(Need::Admin)?;
        let b = body.0;
        let u = auth::create_user(&self.db, &b.username, &b.display_name, b.email, b.role, &b.password).await?;
        Ok(Created::Created(Json(u.into())))
    }

    /// List users (admin).
    #[oai(path = "/users", method = "get")]
    async fn list_users(
        &self,
        auth: Auth,
        /// Role.
        role: Query<Option<Role>>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<Page<User>>> {
        auth.0.require(Need::Admin)?;
        let mut s = user::Entity::find().order_by_asc(user::Column::Id);
        if let Some(r) = role.0 {
            s = s.filter(user::Column::Role.eq(r));
        }
        Ok(Json(
            Paging::new(page.0, per_page.0)
                .fetch(&self.db, s, async |rows| Ok(rows.into_iter().map(User::from).collect()))
                .await?,
        ))
    }

    /// Read a user (admin).
    #[oai(path = "/users/:id", method = "get")]
    async fn get_user(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<User>> {
        auth.0.require(Need::Admin)?;
        Ok(Json(find::<user::Entity, _>(&self.db, id.0, "user").await?.into()))
    }

    /// Change a user (admin): role, name, e-mail, disable, reset the password.
    #[oai(path = "/users/:id", method = "patch")]
    async fn update_user(&self, auth: Auth, id: Path<i64>, body: Json<UserChanges>) -> AppResult<Json<User>> {
        auth.0.require(Need::Admin)?;
        let b = body.0;
        let mut m = user::ActiveModel::default();
        if let Some(n) = &b.display_name {
            m.display_name = Set(validate::text("display_name", n, 100)?);
        }
        set_if(&mut m.email, changed(b.email, |v| validate::email("email", Some(v)))?);
        set_if(&mut m.role, b.role);
        set_if(&mut m.disabled, b.disabled);
        if let Some(p) = &b.password {
            auth::check_password("password", p)?;
            m.password_hash = Set(auth::hash_password(p).await?);
            m.failed_logins = Set(0);
            m.locked_until = Set(None);
        }
        if id.0 == auth.0.user_id && (b.disabled == Some(true) || b.role.is_some_and(|r| r != Role::Admin)) {
            return Err(AppError::rule(
                "cannot_demote_self",
                Some(if b.disabled == Some(true) { "disabled" } else { "role" }),
                Msg::new(
                    "admins cannot disable or demote themselves",
                    "管理员不能停用自己或降低自己的角色",
                ),
            ));
        }
        let txn = self.db.begin().await?;
        let u = update_versioned::<user::Entity, _>(&txn, id.0, "user", b.version, m).await?;
        if b.password.is_some() || b.disabled == Some(true) {
            auth::end_sessions(&txn, u.id, None).await?;
        }
        txn.commit().await?;
        Ok(Json(u.into()))
    }

    /// Issue an API token for a user (admin). The token is in this answer only.
    #[oai(path = "/tokens", method = "post")]
    async fn create_token(&self, auth: Auth, body: Json<NewToken>) -> AppResult<Created<IssuedToken>> {
        auth.0.require(Need::Admin)?;
        let b = body.0;
        let name = validate::text("name", &b.name, 100)?;
        if b.scopes.is_empty() {
            return Err(AppError::invalid(
                "scopes",
                "a token needs at least one scope",
                "令牌至少需要一个权限范围",
            ));
        }
        let today = validate::today();
        if b.expires_on < today || b.expires_on > today + Duration::days(731) {
            return Err(AppError::invalid(
                "expires_on",
                "expires_on lies between today and two years ahead",
                "有效期须在今天至两年之内",
            ));
        }
        find::<user::Entity, _>(&self.db, b.user_id, "user")
            .await
            .map_err(|_| {
                AppError::rule(
                    "unknown_user",
                    Some("user_id"),
                    Msg::new("there is no such user", "用户不存在"),
                )
            })?;
        let expires_at = (b.expires_on + Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_local_timezone(validate::LOCAL_TZ)
            .single()
            .expect("Asia/Shanghai has no gaps")
            .with_timezone(&Utc);
        let mut scopes = b.scopes;
        scopes.sort_by_key(|s| *s as u8);
        scopes.dedup();
        let token = auth::new_api_token()?;
        let m = api_token::Entity::insert(api_token::ActiveModel {
            user_id: Set(b.user_id),
            name: Set(name),
            token_hash: Set(auth::token_hash(&token)),
            scopes: Set(serde_json::json!(scopes)),
            expires_at: Set(expires_at),
            created_by: Set(Some(auth.0.user_id)),
            created_at: Set(Utc::now()),
            revoked_at: Set(None),
            last_used_at: Set(None),
            ..Default::default()
        })
        .exec_with_returning(&self.db)
        .await?;
        Ok(Created::Created(Json(IssuedToken { token, info: m.into() })))
    }

    /// List API tokens (admin); secrets are never shown again.
    #[oai(path = "/tokens", method = "get")]
    async fn list_tokens(
        &self,
        auth: Auth,
        /// Tokens of this user.
        user_id: Query<Option<i64>>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<Page<Token>>> {
        auth.0.require(Need::Admin)?;
        let mut s = api_token::Entity::find().order_by_desc(api_token::Column::Id);
        if let Some(u) = user_id.0 {
            s = s.filter(api_token::Column::UserId.eq(u));
        }
        Ok(Json(
            Paging::new(page.0, per_page.0)
                .fetch(&self.db, s, async |rows| {
                    Ok(rows.into_iter().map(Token::from).collect())
                })
                .await?,
        ))
    }

    /// Revoke an API token (admin).
    #[oai(path = "/tokens/:id", method = "delete")]
    async fn revoke_token(&self, auth: Auth, id: Path<i64>) -> AppResult<Deleted> {
        auth.0.require(Need::Admin)?;
        let res = api_token::Entity::update_many()
            .col_expr(api_token::Column::RevokedAt, Expr::value(Some(Utc::now())))
            .filter(api_token::Column::Id.eq(id.0))
            .filter(api_token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            find::<api_token::Entity, _>(&self.db, id.0, "token").await?;
        }
        Ok(Deleted::Deleted)
    }

    /// The audit log (admin), newest first.
    #[oai(path = "/audit", method = "get")]
    async fn audit(
        &self,
        auth: Auth,
        /// Rows of this user id.
        user_id: Query<Option<i64>>,
        /// Rows of this username.
        username: Query<Option<String>>,
        /// Kind of record, e.g. `projects`.
        entity: Query<Option<String>>,
        /// Action, e.g. `update`, `login_failure`.
        action: Query<Option<String>>,
        /// From this time on (inclusive).
        from: Query<Option<DateTime<Utc>>>,
        /// Up to this time (inclusive).
        to: Query<Option<DateTime<Utc>>>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<Page<AuditEntry>>> {
        auth.0.require(Need::Admin)?;
        let mut s = audit_entry::Entity::find().order_by_desc(audit_entry::Column::Id);
        if let Some(v) = user_id.0 {
            s = s.filter(audit_entry::Column::UserId.eq(v));
        }
        if let Some(v) = username.0 {
            s = s.filter(audit_entry::Column::Username.eq(v));
        }
        if let Some(v) = entity.0 {
            s = s.filter(audit_entry::Column::Entity.eq(v));
        }
        if let Some(v) = action.0 {
            s = s.filter(audit_entry::Column::Action.eq(v));
        }
        if let Some(v) = from.0 {
            s = s.filter(audit_entry::Column::At.gte(v));
        }
        if let Some(v) = to.0 {
            s = s.filter(audit_entry::Column::At.lte(v));
        }
        Ok(Json(
            Paging::new(page.0, per_page.0)
                .fetch(&self.db, s, async |rows| {
                    Ok(rows.into_iter().map(AuditEntry::from).collect())
                })
                .await?,
        ))
    }
}
