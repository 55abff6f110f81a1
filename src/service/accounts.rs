//! Accounts (DESIGN §7): users, passwords, sign-in with lockout, sessions and API tokens.
//!
//! Session and API tokens are 256 random bits, handed out once and stored only as their SHA-256. Passwords are
//! argon2id PHC strings with the crate's defaults (19 MiB, t=2, p=1).

use argon2::{Argon2, PasswordHasher, PasswordVerifier, password_hash::phc::PasswordHash};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use entity::{api_token, enums::Role, session, user};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionSession,
    sea_query::{Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    Actor, AppError, AppResult, Db, Msg, Page, Paging,
    actor::Via,
    audit::{self, Entry},
    find,
    input::{Patch, Short, Text, set_some},
    update_versioned,
};

/// Sign-in policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: i64,
    /// A session ends this many hours after sign-in, whatever happens.
    pub session_absolute_hours: i64,
    /// Failed sign-ins in a row that lock an account.
    pub lockout_attempts: i32,
    /// How long a locked account stays locked.
    pub lockout_minutes: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_idle_minutes: 120,
            session_absolute_hours: 24,
            lockout_attempts: 5,
            lockout_minutes: 15,
        }
    }
}

const SESSION_PREFIX: &str = "ics_";
const TOKEN_PREFIX: &str = "ict_";

/// The caller a bearer token stands for; 401 for anything unknown, expired, revoked or disabled.
pub async fn resolve(db: &impl Db, cfg: &AuthConfig, token: &str) -> AppResult<Actor> {
    let now = Utc::now();
    let hash = token_hash(token);
    let (user_id, via) = if token.starts_with(SESSION_PREFIX) {
        let s = session::Entity::find()
            .filter(session::Column::TokenHash.eq(hash))
            .one(db)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let idle_limit = s.last_seen_at + Duration::minutes(cfg.session_idle_minutes);
        if s.revoked_at.is_some() || now >= s.expires_at || now >= idle_limit {
            return Err(AppError::Unauthorized);
        }
        // Keep the session alive, but write at most once a minute.
        if now - s.last_seen_at > Duration::minutes(1) {
            session::Entity::update_many()
                .col_expr(session::Column::LastSeenAt, Expr::value(now))
                .filter(session::Column::Id.eq(s.id))
                .exec(db)
                .await?;
        }
        (s.user_id, Via::Session(s.id))
    } else if token.starts_with(TOKEN_PREFIX) {
        let t = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash))
            .one(db)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if t.revoked_at.is_some() || now >= t.expires_at {
            return Err(AppError::Unauthorized);
        }
        if t.last_used_at.is_none_or(|u| now - u > Duration::minutes(1)) {
            api_token::Entity::update_many()
                .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
                .filter(api_token::Column::Id.eq(t.id))
                .exec(db)
                .await?;
        }
        let scopes = super::tokens::scopes(&t.scopes);
        (t.user_id, Via::Token(t.id, scopes))
    } else {
        return Err(AppError::Unauthorized);
    };
    let u = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if u.disabled {
        return Err(AppError::Unauthorized);
    }
    Ok(Actor {
        user_id: u.id,
        username: u.username,
        role: u.role,
        via,
    })
}

/// A new random token with the given prefix: 256 bits, base64url.
fn new_token(prefix: &str) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random session token.
pub fn new_session_token() -> AppResult<String> {
    new_token(SESSION_PREFIX)
}

/// A new random API token.
pub fn new_api_token() -> AppResult<String> {
    new_token(TOKEN_PREFIX)
}

/// A random password for the first admin: 24 base64url characters (144 bits).
pub fn random_password() -> AppResult<String> {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Checks the password policy: at least 12 characters, at most 256, no composition rules.
pub fn check_password(field: &str, password: &str) -> AppResult<()> {
    let n = password.chars().count();
    if !(12..=256).contains(&n) {
        return Err(AppError::invalid(
            field,
            "a password has 12 to 256 characters",
            "密码长度须为 12 至 256 个字符",
        ));
    }
    Ok(())
}

/// The argon2id PHC string of a password. Hashing is slow on purpose: run it off the async threads.
pub async fn hash_password(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h: PasswordHash| h.to_string())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
}

/// Whether `password` matches the PHC string `hash`; a malformed hash never matches.
pub async fn verify_password(hash: &str, password: &str) -> bool {
    let (hash, password) = (hash.to_owned(), password.to_owned());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A hash no password matches, verified for unknown usernames so they cost as much time as known ones.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$E2WnG8Kx3DvfS5KlSUHFMeaqx5Ne7v0xJgDSHuR9sNo";

/// Ends every open session of a user except `keep`.
pub async fn end_sessions(db: &impl ConnectionTrait, user_id: i64, keep: Option<i64>) -> AppResult<u64> {
    let mut q = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null());
    if let Some(k) = keep {
        q = q.filter(session::Column::Id.ne(k));
    }
    Ok(q.exec(db).await?.rows_affected)
}

/// When a session started now ends at the latest.
pub fn session_expiry(cfg: &AuthConfig, now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::hours(cfg.session_absolute_hours)
}

/// On first start with no users: an `admin` account with the password from `INVEST_CRM_ADMIN_PASSWORD`, or a
/// random one answered here so the caller prints it once.
pub async fn bootstrap_admin(db: &impl Db) -> anyhow::Result<Option<String>> {
    use sea_orm::PaginatorTrait;
    if user::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match std::env::var("INVEST_CRM_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (random_password()?, true),
    };
    let admin = NewUser {
        username: Username::parse("username", "admin")?,
        display_name: Short::parse("display_name", "Administrator")?,
        email: None,
        role: Role::Admin,
        password: Password::parse("password", &password)?,
    };
    create_user(db, admin)
        .await
        .map_err(|e| anyhow::anyhow!("creating the first admin: {e}"))?;
    Ok(generated.then_some(password))
}

/// A new user account.
pub struct NewUser {
    /// Username: letters, digits, '.', '_', '-'.
    pub username: Username,
    /// Name shown to others.
    pub display_name: Short,
    /// E-mail address.
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// Password.
    pub password: Password,
}

/// A username: 1–64 of letters, digits, '.', '_' and '-'.
#[derive(Debug, Clone)]
pub struct Username(String);

impl Username {
    /// The username of `field`.
    pub fn parse(field: &str, v: &str) -> AppResult<Username> {
        let v = Text::<64>::parse(field, v)?;
        if !v
            .as_str()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(AppError::invalid(
                field,
                "a username uses letters, digits, '.', '_' and '-'",
                "用户名只能包含字母、数字、“.”、“_”和“-”",
            ));
        }
        Ok(Username(v.into()))
    }
}

/// A password that meets the policy: 12 to 256 characters, no composition rules.
pub struct Password(String);

impl Password {
    /// The password of `field`.
    pub fn parse(field: &str, password: &str) -> AppResult<Password> {
        check_password(field, password)?;
        Ok(Password(password.to_owned()))
    }
}

/// Creates a user with a hashed password.
pub async fn create_user(db: &impl ConnectionTrait, u: NewUser) -> AppResult<user::Model> {
    if user::Entity::find()
        .filter(user::Column::Username.eq(u.username.0.as_str()))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict {
            code: "duplicate_username",
            msg: Msg::new("this username is taken", "该用户名已被使用"),
            field: Some("username".into()),
        });
    }
    let now = Utc::now();
    let m = user::ActiveModel {
        username: Set(u.username.0),
        display_name: Set(u.display_name.into()),
        email: Set(u.email),
        role: Set(u.role),
        password_hash: Set(hash_password(&u.password.0).await?),
        disabled: Set(false),
        failed_logins: Set(0),
        locked_until: Set(None),
        weekly_report: Set(true),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(user::Entity::insert(m).exec_with_returning(db).await?)
}

/// Changes to a user account.
#[derive(Default)]
pub struct UserChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Name shown to others.
    pub display_name: Option<Short>,
    /// E-mail address.
    pub email: Patch<String>,
    /// Role.
    pub role: Option<Role>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// A new password; also lifts a lockout.
    pub password: Option<Password>,
}

/// Changes a user (an admin's work): admins cannot disable or demote themselves; a new password or disabling ends
/// the user's sessions.
pub async fn update_user(db: &impl Db, actor: &Actor, id: i64, c: UserChanges) -> AppResult<user::Model> {
    if id == actor.user_id && (c.disabled == Some(true) || c.role.is_some_and(|r| r != Role::Admin)) {
        return Err(AppError::rule(
            "cannot_demote_self",
            Some(if c.disabled == Some(true) { "disabled" } else { "role" }),
            Msg::new(
                "admins cannot disable or demote themselves",
                "管理员不能停用自己或降低自己的角色",
            ),
        ));
    }
    write_user(db, id, c).await
}

/// Writes changes to a user; a new password or disabling ends the user's sessions.
async fn write_user(db: &impl Db, id: i64, c: UserChanges) -> AppResult<user::Model> {
    let mut m = user::ActiveModel::default();
    set_some(&mut m.display_name, c.display_name);
    c.email.apply(&mut m.email);
    set_some(&mut m.role, c.role);
    set_some(&mut m.disabled, c.disabled);
    let ends_sessions = c.password.is_some() || c.disabled == Some(true);
    if let Some(p) = c.password {
        m.password_hash = Set(hash_password(&p.0).await?);
        m.failed_logins = Set(0);
        m.locked_until = Set(None);
    }
    let txn = db.begin().await?;
    let u = update_versioned::<user::Entity, _>(&txn, id, "user", c.version, m).await?;
    if ends_sessions {
        end_sessions(&txn, u.id, None).await?;
    }
    txn.commit().await?;
    Ok(u)
}

/// A user by username.
pub async fn find_user(db: &impl ConnectionTrait, username: &str) -> AppResult<user::Model> {
    user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await?
        .ok_or(AppError::not_found("user"))
}

/// A page of users, optionally of one role, oldest first.
pub async fn list_users(db: &impl ConnectionTrait, role: Option<Role>, paging: Paging) -> AppResult<Page<user::Model>> {
    let mut s = user::Entity::find().order_by_asc(user::Column::Id);
    if let Some(r) = role {
        s = s.filter(user::Column::Role.eq(r));
    }
    paging.rows(db, s).await
}

/// Every user, oldest first.
pub async fn all_users(db: &impl ConnectionTrait) -> AppResult<Vec<user::Model>> {
    Ok(user::Entity::find().order_by_asc(user::Column::Id).all(db).await?)
}

/// Disables or enables a user (an operator's work); disabling ends their sessions.
pub async fn set_disabled(db: &impl Db, id: i64, disabled: bool) -> AppResult<user::Model> {
    let u = get_user(db, id).await?;
    let changes = UserChanges {
        version: u.version,
        disabled: Some(disabled),
        ..Default::default()
    };
    write_user(db, id, changes).await
}

/// Sets a new password (an operator's work): lifts a lockout and ends the user's sessions.
pub async fn reset_password(db: &impl Db, id: i64, password: Password) -> AppResult<user::Model> {
    let u = get_user(db, id).await?;
    let changes = UserChanges {
        version: u.version,
        password: Some(password),
        ..Default::default()
    };
    write_user(db, id, changes).await
}

/// A user by id.
pub async fn get_user(db: &impl ConnectionTrait, id: i64) -> AppResult<user::Model> {
    find::<user::Entity, _>(db, id, "user").await
}

/// A sign-in attempt and where it came from.
pub struct SignIn<'a> {
    /// The username typed.
    pub username: &'a str,
    /// The password typed.
    pub password: &'a str,
    /// The client's address.
    pub client_addr: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<&'a str>,
}

/// A new session: its token (shown once) and when it ends at the latest.
pub struct NewSession {
    /// The bearer token.
    pub token: String,
    /// Its absolute expiry.
    pub expires_at: DateTime<Utc>,
}

/// Signs in: a new session for the right password of an enabled, unlocked account. Every failure — unknown user,
/// wrong password, disabled or locked account — is the same `Unauthorized` and costs the same time; failures count
/// towards the lockout, and every attempt is audited.
pub async fn sign_in(db: &impl Db, cfg: &AuthConfig, a: SignIn<'_>) -> AppResult<NewSession> {
    let now = Utc::now();
    let found = user::Entity::find()
        .filter(user::Column::Username.eq(a.username.trim()))
        .one(db)
        .await?;
    let entry = |action: &str, user: Option<&user::Model>, why: Option<&str>| Entry {
        action: action.into(),
        user_id: user.map(|u| u.id),
        username: Some(user.map_or_else(|| a.username.chars().take(64).collect(), |u| u.username.clone())),
        entity: Some("sessions".into()),
        path: "/api/v1/auth/login".into(),
        client_addr: a.client_addr.clone(),
        detail: why.map(|w| serde_json::json!({ "reason": w })),
        ..Default::default()
    };
    let Some(u) = found else {
        // Spend the time a real check takes, so response times do not tell which usernames exist.
        verify_password(DUMMY_HASH, a.password).await;
        audit::write(db, entry("login_failure", None, Some("unknown user"))).await?;
        return Err(AppError::Unauthorized);
    };
    let locked = u.locked_until.is_some_and(|t| t > now);
    let matches = verify_password(&u.password_hash, a.password).await;
    if u.disabled || locked || !matches {
        let why = if u.disabled {
            "disabled"
        } else if locked {
            "locked"
        } else {
            "wrong password"
        };
        if !matches && !locked {
            count_failure(db, cfg, &u, now).await?;
        }
        audit::write(db, entry("login_failure", Some(&u), Some(why))).await?;
        return Err(AppError::Unauthorized);
    }
    let txn = db.begin().await?;
    user::Entity::update_many()
        .col_expr(user::Column::FailedLogins, Expr::value(0))
        .col_expr(user::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(user::Column::Id.eq(u.id))
        .exec(&txn)
        .await?;
    let (id, session) = open_session(&txn, cfg, u.id, a.client_addr.clone(), a.user_agent).await?;
    let success = Entry {
        entity_id: Some(id),
        ..entry("login_success", Some(&u), None)
    };
    audit::write(&txn, success).await?;
    txn.commit().await?;
    Ok(session)
}

/// Opens a session for a user whose credentials were checked; answers its id and its token (shown once).
pub async fn open_session(
    db: &impl ConnectionTrait,
    cfg: &AuthConfig,
    user_id: i64,
    client_addr: Option<String>,
    user_agent: Option<&str>,
) -> AppResult<(i64, NewSession)> {
    let now = Utc::now();
    let token = new_session_token()?;
    let expires_at = session_expiry(cfg, now);
    let s = session::Entity::insert(session::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(token_hash(&token)),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        client_addr: Set(client_addr),
        user_agent: Set(user_agent.map(|ua| ua.chars().take(300).collect())),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await?;
    Ok((s.id, NewSession { token, expires_at }))
}

/// Counts a failed sign-in; the attempt that reaches the limit locks the account.
async fn count_failure(db: &impl Db, cfg: &AuthConfig, u: &user::Model, now: DateTime<Utc>) -> AppResult<()> {
    let failed = u.failed_logins + 1;
    let lock = failed >= cfg.lockout_attempts;
    user::Entity::update_many()
        .col_expr(user::Column::FailedLogins, Expr::value(if lock { 0 } else { failed }))
        .col_expr(
            user::Column::LockedUntil,
            Expr::value(
                lock.then(|| now + Duration::minutes(cfg.lockout_minutes))
                    .or(u.locked_until),
            ),
        )
        .filter(user::Column::Id.eq(u.id))
        .exec(db)
        .await?;
    Ok(())
}

/// The session an actor acts through, or `BadRequest` for API tokens (they are revoked, not logged out).
fn session_of(actor: &Actor) -> AppResult<i64> {
    match actor.via {
        Via::Session(id) => Ok(id),
        Via::Token(..) | Via::System => Err(AppError::BadRequest {
            code: "not_a_session",
            msg: Msg::new(
                "API tokens are revoked by an admin, not logged out",
                "API 令牌须由管理员吊销",
            ),
            field: None,
        }),
    }
}

/// Only a signed-in person may change their own account, never an API token.
fn person_only(actor: &Actor, en: &'static str, zh: &'static str) -> AppResult<i64> {
    match actor.via {
        Via::Session(id) => Ok(id),
        Via::Token(..) | Via::System => Err(AppError::Forbidden {
            code: "forbidden",
            msg: Msg::new(en, zh),
        }),
    }
}

/// Ends the actor's current session.
pub async fn sign_out(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<()> {
    let id = session_of(actor)?;
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(session::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The actor's open sessions, most recently used first, each with whether it is the current one.
pub async fn open_sessions(
    db: &impl ConnectionTrait,
    cfg: &AuthConfig,
    actor: &Actor,
) -> AppResult<Vec<(session::Model, bool)>> {
    let current = session_of(actor).ok();
    let now = Utc::now();
    let idle = Duration::minutes(cfg.session_idle_minutes);
    let rows = session::Entity::find()
        .filter(session::Column::UserId.eq(actor.user_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .order_by_desc(session::Column::LastSeenAt)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|s| s.last_seen_at + idle > now)
        .map(|s| {
            let is_current = Some(s.id) == current;
            (s, is_current)
        })
        .collect())
}

/// Ends one of the actor's own open sessions.
pub async fn end_session(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<()> {
    let res = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::UserId.eq(actor.user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::not_found("session"));
    }
    Ok(())
}

/// Turns the actor's weekly report on or off; answers the stored setting.
pub async fn set_weekly_report(db: &impl ConnectionTrait, actor: &Actor, on: bool) -> AppResult<bool> {
    person_only(actor, "API tokens cannot change subscriptions", "API 令牌不能修改订阅")?;
    user::Entity::update_many()
        .col_expr(user::Column::WeeklyReport, Expr::value(on))
        .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(actor.user_id))
        .exec(db)
        .await?;
    Ok(get_user(db, actor.user_id).await?.weekly_report)
}

/// Changes the actor's own password after checking the current one; their other sessions end.
pub async fn change_password(db: &impl Db, actor: &Actor, current_password: &str, new_password: &str) -> AppResult<()> {
    let current = person_only(actor, "API tokens cannot change passwords", "API 令牌不能修改密码")?;
    let u = get_user(db, actor.user_id).await?;
    if !verify_password(&u.password_hash, current_password).await {
        return Err(AppError::rule(
            "wrong_password",
            Some("current_password"),
            Msg::new("the current password is not right", "当前密码不正确"),
        ));
    }
    let new_password = Password::parse("new_password", new_password)?;
    let hash = hash_password(&new_password.0).await?;
    let txn = db.begin().await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(u.id))
        .exec(&txn)
        .await?;
    end_sessions(&txn, u.id, Some(current)).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&h, "correct horse battery").await);
        assert!(!verify_password(&h, "wrong horse battery").await);
        assert!(!verify_password(DUMMY_HASH, "anything at all").await);
        // The dummy must parse, or unknown users would be answered faster than known ones.
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("not a hash", "anything at all").await);
    }

    #[test]
    fn tokens_are_long_and_hashed() {
        let t = new_session_token().unwrap();
        assert!(t.starts_with("ics_") && t.len() >= 4 + 43);
        assert_ne!(t, new_session_token().unwrap());
        assert_eq!(token_hash(&t).len(), 64);
    }
}
