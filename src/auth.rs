//! Who is calling and what they may do (DESIGN §7): passwords, sessions, API tokens, roles and masking.
//!
//! Session and API tokens are 256 random bits, handed out once and stored only as their SHA-256. Passwords are
//! argon2id PHC strings with the crate's defaults (19 MiB, t=2, p=1).

use std::sync::{Arc, Mutex};

use argon2::{Argon2, PasswordHasher, PasswordVerifier, password_hash::phc::PasswordHash};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use entity::{
    api_token,
    enums::{Role, TokenScope},
    session, user,
};
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult, Msg};

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

/// What the auth checker needs from the app.
#[derive(Clone)]
pub struct AuthState {
    /// The database.
    pub db: DatabaseConnection,
    /// The sign-in policy.
    pub config: AuthConfig,
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A signed-in session.
    Session(i64),
    /// An API token and its scopes.
    Token(i64, Vec<TokenScope>),
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user_id: i64,
    /// Their username.
    pub username: String,
    /// Their role.
    pub role: Role,
    /// How they authenticated.
    pub via: Via,
}

/// What an endpoint needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Read records: every role; tokens with the `read` scope.
    Read,
    /// Pull exports: every role; tokens with the `export` scope.
    Export,
    /// Create, change and delete CRM records: staff and admins.
    Edit,
    /// Record stage moves and work on blockers: staff, leaders and admins.
    Pipeline,
    /// Resolve blockers and move stages backward: leaders and admins.
    Lead,
    /// Manage users and tokens, read the audit log: admins.
    Admin,
}

impl Caller {
    /// Whether the caller may do what `need` names.
    pub fn can(&self, need: Need) -> bool {
        use Role::*;
        match (&self.via, need) {
            (Via::Token(_, scopes), Need::Read) => scopes.contains(&TokenScope::Read),
            (Via::Token(_, scopes), Need::Export) => scopes.contains(&TokenScope::Export),
            (Via::Token(..), _) => false,
            (Via::Session(_), Need::Read | Need::Export) => true,
            (Via::Session(_), Need::Edit) => matches!(self.role, Staff | Admin),
            (Via::Session(_), Need::Pipeline) => matches!(self.role, Staff | Leader | Admin),
            (Via::Session(_), Need::Lead) => matches!(self.role, Leader | Admin),
            (Via::Session(_), Need::Admin) => self.role == Admin,
        }
    }

    /// 403 unless the caller may do what `need` names.
    pub fn require(&self, need: Need) -> AppResult<()> {
        if self.can(need) {
            return Ok(());
        }
        let (en, zh) = match (&self.via, need) {
            (Via::Token(..), Need::Read | Need::Export) => (
                "this API token lacks the scope for this request",
                "该 API 令牌没有此操作的权限范围",
            ),
            (Via::Token(..), _) => ("API tokens may only read and export", "API 令牌只能读取和导出"),
            (_, Need::Admin) => ("only an admin may do this", "只有管理员可以执行此操作"),
            (_, Need::Lead) => (
                "only a leader or an admin may do this",
                "只有领导或管理员可以执行此操作",
            ),
            _ => ("your role may not change records", "您的角色无权修改记录"),
        };
        Err(AppError::Forbidden {
            code: "forbidden",
            msg: Msg::new(en, zh),
        })
    }

    /// Whether contact phone numbers and e-mail addresses are shown unmasked.
    pub fn sees_contact_details(&self) -> bool {
        match &self.via {
            Via::Token(_, scopes) => scopes.contains(&TokenScope::ContactDetails),
            Via::Session(_) => matches!(self.role, Role::Staff | Role::Leader | Role::Admin),
        }
    }
}

/// A slot the auth checker fills, so that middleware around the API (the audit log) knows the caller.
#[derive(Clone, Default)]
pub struct CallerSlot(Arc<Mutex<Option<Caller>>>);

impl CallerSlot {
    /// The caller, once authenticated.
    pub fn get(&self) -> Option<Caller> {
        self.0.lock().ok().and_then(|c| c.clone())
    }

    fn set(&self, caller: &Caller) {
        if let Ok(mut c) = self.0.lock() {
            *c = Some(caller.clone());
        }
    }
}

/// A session token or an API token, sent as `Authorization: Bearer <token>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "authenticate")]
pub struct Auth(pub Caller);

const SESSION_PREFIX: &str = "ics_";
const TOKEN_PREFIX: &str = "ict_";

async fn authenticate(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let state = req
        .data::<AuthState>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("auth state missing")))?;
    let caller = resolve(&state.db, &state.config, &bearer.token).await?;
    if let Some(slot) = req.extensions().get::<CallerSlot>() {
        slot.set(&caller);
    }
    Ok(caller)
}

/// The caller a bearer token stands for; 401 for anything unknown, expired, revoked or disabled.
pub async fn resolve(db: &DatabaseConnection, cfg: &AuthConfig, token: &str) -> AppResult<Caller> {
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
        let scopes: Vec<TokenScope> = serde_json::from_value(t.scopes).unwrap_or_default();
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
    Ok(Caller {
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

/// `138****5678` for a phone number, `z***@example.com` for an e-mail address.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() < 8 {
        return "****".into();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// Masks an e-mail address, keeping its first character and domain.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// Creates a user with a hashed password (the CLI and the users API share it).
pub async fn create_user(
    db: &impl ConnectionTrait,
    username: &str,
    display_name: &str,
    email: Option<String>,
    role: Role,
    password: &str,
) -> AppResult<user::Model> {
    let username = crate::validate::text("username", username, 64)?;
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(AppError::invalid(
            "username",
            "a username uses letters, digits, '.', '_' and '-'",
            "用户名只能包含字母、数字、“.”、“_”和“-”",
        ));
    }
    check_password("password", password)?;
    if user::Entity::find()
        .filter(user::Column::Username.eq(username.as_str()))
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
        username: Set(username),
        display_name: Set(crate::validate::text("display_name", display_name, 100)?),
        email: Set(crate::validate::email("email", email.as_deref())?),
        role: Set(role),
        password_hash: Set(hash_password(password).await?),
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
pub async fn bootstrap_admin(db: &DatabaseConnection) -> anyhow::Result<Option<String>> {
    use sea_orm::PaginatorTrait;
    if user::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match std::env::var("INVEST_CRM_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (random_password()?, true),
    };
    create_user(db, "admin", "Administrator", None, Role::Admin, &password)
        .await
        .map_err(|e| anyhow::anyhow!("creating the first admin: {e}"))?;
    Ok(generated.then_some(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("138-1234-5678"), "138****5678");
        assert_eq!(mask_phone("12345"), "****");
        assert_eq!(mask_email("zhang@example.com"), "z***@example.com");
    }

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
