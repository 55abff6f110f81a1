//! Signing in and sessions (docs/ARCHITECTURE.md, "Security"): the same answer for every failure, a lockout after
//! repeated failures, idle and absolute expiry, and who a bearer token stands for.

use chrono::{DateTime, Duration, Utc};
use entity::{api_token, session, sign_in_gate, sign_in_strike, user};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionSession,
    sea_query::{Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};

use super::{
    Actor, AppError, AppResult, Code, Db, Kind, Msg,
    accounts::{Password, end_sessions, get_user},
    actor::Via,
    audit::{self, Entry},
    secrets::{DUMMY_HASH, SESSION_PREFIX, TOKEN_PREFIX, new_session_token, token_hash, verify_password},
};

/// Sign-in policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: i64,
    /// A session ends this many hours after sign-in, whatever happens.
    pub session_absolute_hours: i64,
    /// Failed sign-ins in a row from one client address that lock the account for that address.
    pub lockout_attempts: i32,
    /// Failed sign-ins in a row from any addresses that lock the account for everyone (guessing spread over many
    /// addresses); an operator lifts it with `invest-crm user unlock`.
    pub account_lockout_attempts: i32,
    /// How long a lock lasts.
    pub lockout_minutes: i64,
    /// Whether the administrators' duties are separated: `audit.separation_of_duties`, copied here by
    /// [`crate::config::Config::auth`] so that every caller resolved carries it.
    #[serde(skip)]
    pub separation_of_duties: bool,
    /// Sign-in attempts one client address may make a minute (a burst of as many, then one every
    /// 60/n seconds).
    pub sign_ins_per_minute: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_idle_minutes: 120,
            session_absolute_hours: 24,
            lockout_attempts: 5,
            account_lockout_attempts: 50,
            lockout_minutes: 15,
            separation_of_duties: false,
            sign_ins_per_minute: 20,
        }
    }
}

/// The caller a bearer token stands for; 401 for anything unknown, expired, revoked or disabled.
pub async fn resolve(db: &impl Db, cfg: &AuthConfig, token: &str) -> AppResult<Actor> {
    let now = Utc::now();
    let hash = token_hash(token);
    let mut first_use = None;
    let (user_id, via) = if token.starts_with(SESSION_PREFIX) {
        let s = session::Entity::find()
            .filter(session::Column::TokenHash.eq(hash))
            .one(db)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let idle_limit = s.last_seen_at + Duration::minutes(cfg.session_idle_minutes);
        if s.revoked_at.is_some() {
            return Err(AppError::Unauthorized);
        }
        if now >= s.expires_at || now >= idle_limit {
            expire(db, &s, if now >= s.expires_at { "lifetime" } else { "idle" }).await?;
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
        if t.last_used_at.is_none() {
            first_use = Some(t.id);
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
    if let Some(id) = first_use {
        let e = Entry {
            action: "token_first_use".into(),
            user_id: Some(u.id),
            username: Some(u.username.clone()),
            entity: Some(Kind::Token.name().into()),
            entity_id: Some(id),
            ..Default::default()
        };
        audit::write(db, e).await?;
    }
    Ok(Actor {
        user_id: u.id,
        username: u.username,
        display_name: u.display_name,
        role: u.role,
        via,
        separated: cfg.separation_of_duties,
    })
}

/// Ends a session found past its idle or absolute limit, once: the first request after the limit records it.
async fn expire(db: &impl ConnectionTrait, s: &session::Model, reason: &str) -> AppResult<()> {
    let res = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(session::Column::Id.eq(s.id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Ok(());
    }
    let username = user::Entity::find_by_id(s.user_id).one(db).await?.map(|u| u.username);
    let e = Entry {
        action: "session_expired".into(),
        user_id: Some(s.user_id),
        username,
        entity: Some(Kind::Session.name().into()),
        entity_id: Some(s.id),
        detail: Some(serde_json::json!({ "reason": reason })),
        ..Default::default()
    };
    audit::write(db, e).await
}

/// When a session started now ends at the latest.
pub fn session_expiry(cfg: &AuthConfig, now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::hours(cfg.session_absolute_hours)
}

/// A bound on sign-in attempts per client address, shared by every replica of the service through the database
/// (docs/DEPLOYMENT.md): a GCRA bucket per address — `per_minute` attempts at once, then one every 60/`per_minute`
/// seconds — kept as the one row of that address, updated in one atomic upsert.
pub struct SignInGate {
    per_minute: u32,
}

impl SignInGate {
    /// A gate of `per_minute` attempts a minute for each address.
    pub fn new(per_minute: u32) -> SignInGate {
        SignInGate {
            per_minute: Ord::max(per_minute, 1),
        }
    }

    /// Lets an attempt from `addr` through, or answers how long it must wait.
    pub async fn admit(&self, db: &impl ConnectionTrait, addr: &str) -> AppResult<()> {
        use sea_orm::sea_query::{CaseStatement, OnConflict};
        const PERIOD_MS: i64 = 60_000;
        let step = PERIOD_MS / i64::from(self.per_minute);
        let now = Utc::now().timestamp_millis();
        let addr: String = addr.chars().take(64).collect();
        // The bucket's next theoretical arrival time: from now, or from its own if that is later.
        let tat = Expr::col((sign_in_gate::Entity, sign_in_gate::Column::TatMs));
        let from: Expr = CaseStatement::new().case(tat.clone().gt(now), tat).finally(now).into();
        let next = from.add(step);
        let admitted = sign_in_gate::Entity::insert(sign_in_gate::ActiveModel {
            client_addr: Set(addr.clone()),
            tat_ms: Set(now + step),
        })
        .on_conflict(
            OnConflict::column(sign_in_gate::Column::ClientAddr)
                .value(sign_in_gate::Column::TatMs, next.clone())
                .action_and_where(next.sub(now).lte(PERIOD_MS))
                .to_owned(),
        )
        .exec_with_returning_many(db)
        .await?;
        if !admitted.is_empty() {
            return Ok(());
        }
        let tat = sign_in_gate::Entity::find_by_id(addr)
            .one(db)
            .await?
            .map_or(now, |g| g.tat_ms);
        let wait_ms = u64::try_from(tat + step - PERIOD_MS - now).unwrap_or(0);
        Err(AppError::TooMany {
            retry_after: Ord::max(wait_ms.div_ceil(1000), 1),
        })
    }

    /// Forgets the buckets that have filled up again (a row in the past says nothing a missing row does not).
    pub async fn sweep(db: &impl ConnectionTrait) -> AppResult<u64> {
        let res = sign_in_gate::Entity::delete_many()
            .filter(sign_in_gate::Column::TatMs.lt(Utc::now().timestamp_millis()))
            .exec(db)
            .await?;
        Ok(res.rows_affected)
    }
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
/// wrong password, disabled or locked account — is the same `Unauthorized` and costs the same time, and every
/// attempt is audited.
///
/// Two locks, so that a stranger cannot lock a named account out for its owner: `lockout_attempts` failures from
/// one client address lock the account for that address only (each attempt is counted before the password is
/// checked, so concurrent guesses get no more tries); `account_lockout_attempts` failures from anywhere lock it
/// for everyone.
pub async fn sign_in(db: &impl Db, cfg: &AuthConfig, gate: &SignInGate, a: SignIn<'_>) -> AppResult<NewSession> {
    let now = Utc::now();
    let entry = |action: &str, user: Option<&user::Model>, why: Option<&str>| Entry {
        action: action.into(),
        user_id: user.map(|u| u.id),
        username: Some(user.map_or_else(|| a.username.chars().take(64).collect(), |u| u.username.clone())),
        entity: Some(Kind::Session.name().into()),
        client_addr: a.client_addr.clone(),
        detail: why.map(|w| serde_json::json!({ "reason": w })),
        ..Default::default()
    };
    if let Err(e) = gate.admit(db, a.client_addr.as_deref().unwrap_or_default()).await {
        crate::edge::metrics::sign_in_failed("rate_limited");
        audit::write(db, entry("login_failure", None, Some("rate limited"))).await?;
        return Err(e);
    }
    let found = user::Entity::find()
        .filter(user::Column::Username.eq(a.username.trim()))
        .one(db)
        .await?;
    let Some(u) = found else {
        // Spend the time a real check takes, so response times do not tell which usernames exist.
        verify_password(DUMMY_HASH, a.password).await;
        crate::edge::metrics::sign_in_failed("unknown_user");
        audit::write(db, entry("login_failure", None, Some("unknown user"))).await?;
        return Err(AppError::Unauthorized);
    };
    let addr = a.client_addr.as_deref().unwrap_or_default();
    let strike = strike(db, cfg, u.id, addr, now).await?;
    let locked = u.locked_until.is_some_and(|t| t > now);
    let matches = match strike {
        Strike::Counted(_) => verify_password(&u.password_hash, a.password).await,
        Strike::LockedOut => {
            verify_password(DUMMY_HASH, a.password).await;
            false
        }
    };
    if u.disabled || locked || !matches {
        let (why, reason) = if u.disabled {
            ("disabled", "disabled")
        } else if locked {
            ("locked", "locked")
        } else if strike == Strike::LockedOut {
            ("locked for this address", "locked")
        } else {
            ("wrong password", "wrong_password")
        };
        crate::edge::metrics::sign_in_failed(reason);
        if let Strike::Counted(n) = strike
            && !matches
        {
            count_failure(db, cfg, &u, addr, n, now).await?;
        }
        audit::write(db, entry("login_failure", Some(&u), Some(why))).await?;
        return Err(AppError::Unauthorized);
    }
    let txn = crate::service::begin(db).await?;
    user::Entity::update_many()
        .col_expr(user::Column::FailedLogins, Expr::value(0))
        .col_expr(user::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(user::Column::Id.eq(u.id))
        .exec(&txn)
        .await?;
    sign_in_strike::Entity::delete_many()
        .filter(sign_in_strike::Column::UserId.eq(u.id))
        .filter(sign_in_strike::Column::ClientAddr.eq(addr))
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

/// What an attempt from one address at one account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strike {
    /// Checked; it is the n-th attempt in a row from this address.
    Counted(i32),
    /// Refused unchecked: the address is locked out of the account, or its other attempts used every try.
    LockedOut,
}

/// Counts an attempt from `addr` at the account before its password is checked: one atomic upsert, so that
/// concurrent attempts each get their own number and no more than `lockout_attempts` are ever checked. Attempts
/// while the address is locked out are not counted, so the count starts afresh when the lock ends.
async fn strike(
    db: &impl ConnectionTrait,
    cfg: &AuthConfig,
    user_id: i64,
    addr: &str,
    now: DateTime<Utc>,
) -> AppResult<Strike> {
    use sea_orm::sea_query::{CaseStatement, OnConflict};
    let failures = Expr::col((sign_in_strike::Entity, sign_in_strike::Column::Failures));
    let locked = Expr::col((sign_in_strike::Entity, sign_in_strike::Column::LockedUntil)).gt(now);
    let row = sign_in_strike::Entity::insert(sign_in_strike::ActiveModel {
        user_id: Set(user_id),
        client_addr: Set(addr.chars().take(64).collect()),
        failures: Set(1),
        locked_until: Set(None),
        last_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([sign_in_strike::Column::UserId, sign_in_strike::Column::ClientAddr])
            .value(
                sign_in_strike::Column::Failures,
                CaseStatement::new()
                    .case(locked, failures.clone())
                    .finally(failures.add(1)),
            )
            .value(sign_in_strike::Column::LastAt, Expr::value(now))
            .to_owned(),
    )
    .exec_with_returning(db)
    .await?;
    let locked_out = row.locked_until.is_some_and(|t| t > now) || row.failures > cfg.lockout_attempts;
    Ok(if locked_out {
        Strike::LockedOut
    } else {
        Strike::Counted(row.failures)
    })
}

/// Counts a failed sign-in: the `lockout_attempts`-th from one address locks the account for that address, the
/// `account_lockout_attempts`-th from anywhere locks it for everyone.
async fn count_failure(
    db: &impl Db,
    cfg: &AuthConfig,
    u: &user::Model,
    addr: &str,
    nth: i32,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let until = Some(now + Duration::minutes(cfg.lockout_minutes));
    let lockout = |scope: &str| Entry {
        action: "lockout".into(),
        user_id: Some(u.id),
        username: Some(u.username.clone()),
        entity: Some(Kind::User.name().into()),
        entity_id: Some(u.id),
        client_addr: Some(addr.to_owned()),
        detail: Some(serde_json::json!({ "scope": scope, "until": until, "failures": nth })),
        ..Default::default()
    };
    if nth >= cfg.lockout_attempts {
        sign_in_strike::Entity::update_many()
            .col_expr(sign_in_strike::Column::Failures, Expr::value(0))
            .col_expr(sign_in_strike::Column::LockedUntil, Expr::value(until))
            .filter(sign_in_strike::Column::UserId.eq(u.id))
            .filter(sign_in_strike::Column::ClientAddr.eq(addr.chars().take(64).collect::<String>()))
            .exec(db)
            .await?;
        crate::edge::metrics::locked_out("address");
        audit::write(db, lockout("address")).await?;
        alert_lockout(db, u, Some(addr), now, cfg.lockout_minutes).await?;
    }
    // Two statements, each atomic in the database, so that concurrent failures are all counted: one adds this
    // failure, the other locks the account once the count has reached the limit.
    user::Entity::update_many()
        .col_expr(user::Column::FailedLogins, Expr::col(user::Column::FailedLogins).add(1))
        .filter(user::Column::Id.eq(u.id))
        .exec(db)
        .await?;
    let res = user::Entity::update_many()
        .col_expr(user::Column::FailedLogins, Expr::value(0))
        .col_expr(user::Column::LockedUntil, Expr::value(until))
        .filter(user::Column::Id.eq(u.id))
        .filter(user::Column::FailedLogins.gte(cfg.account_lockout_attempts))
        .exec(db)
        .await?;
    if res.rows_affected > 0 {
        crate::edge::metrics::locked_out("account");
        audit::write(db, lockout("account")).await?;
        alert_lockout(db, u, None, now, cfg.lockout_minutes).await?;
    }
    Ok(())
}

/// Tells the admins (by mail and on the channels that carry alerts) that an account was locked: for one address,
/// or (`addr` none) for everyone.
async fn alert_lockout(
    db: &impl ConnectionTrait,
    u: &user::Model,
    addr: Option<&str>,
    now: DateTime<Utc>,
    minutes: i64,
) -> AppResult<()> {
    let whom = addr.map_or("所有地址".to_owned(), |a| format!("地址 {a}"));
    let text = format!(
        "账号 {}({})因连续登录失败被锁定 {minutes} 分钟,锁定范围:{whom}。\n如非本人误操作,请在“系统日志”中查看登录记录;账号锁定可由安全管理员解除。\n",
        u.username, u.display_name
    );
    let key = format!("lockout:{}:{}:{}", u.id, addr.unwrap_or("all"), now.timestamp());
    let subject = format!("【招商CRM告警】账号被锁定:{}", u.username);
    jobs::outbox::alert_admins(db, &key, &subject, &text)
        .await
        .map_err(AppError::Internal)
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

/// The session an actor acts through, or `BadRequest` for API tokens (they are revoked, not logged out).
fn session_of(actor: &Actor) -> AppResult<i64> {
    match actor.via {
        Via::Session(id) => Ok(id),
        Via::Token(..) | Via::System => Err(AppError::BadRequest {
            code: Code::NotASession,
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
            code: Code::Forbidden,
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
    audit::event(db, "logout", Some((Kind::Session, id)), None).await
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
        return Err(AppError::not_found(Kind::Session));
    }
    audit::event(db, "session_end", Some((Kind::Session, id)), None).await
}

/// Turns the actor's weekly report or daily reminders on or off (left out keeps); answers the stored account.
pub async fn set_subscription(
    db: &impl ConnectionTrait,
    actor: &Actor,
    (weekly_report, reminders): (Option<bool>, Option<bool>),
    chat_user_id: super::input::Patch<String>,
) -> AppResult<user::Model> {
    use super::input::Patch;
    person_only(actor, "API tokens cannot change subscriptions", "API 令牌不能修改订阅")?;
    let before = get_user(db, actor.user_id).await?;
    let mut q = user::Entity::update_many();
    match chat_user_id {
        Patch::Keep => {}
        Patch::Clear => q = q.col_expr(user::Column::ChatUserId, Expr::value(Option::<String>::None)),
        Patch::Set(id) => {
            let id = id.trim().to_owned();
            let ok = (1..=64).contains(&id.chars().count())
                && !id
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '|' || c == ',');
            if !ok {
                return Err(AppError::invalid(
                    "chat_user_id",
                    "a chat user id is 1 to 64 characters without spaces, | or ,",
                    "企业微信/钉钉账号为 1 至 64 个字符,不含空格、| 和逗号",
                ));
            }
            q = q.col_expr(user::Column::ChatUserId, Expr::value(Some(id)));
        }
    }
    if let Some(on) = weekly_report {
        q = q.col_expr(user::Column::WeeklyReport, Expr::value(on));
    }
    if let Some(on) = reminders {
        q = q.col_expr(user::Column::Reminders, Expr::value(on));
    }
    q.col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(actor.user_id))
        .exec(db)
        .await?;
    let after = get_user(db, actor.user_id).await?;
    let update = audit::Action::Update;
    audit::changed(db, Kind::User, after.id, update, Some(&before), Some(&after), None).await?;
    Ok(after)
}

/// Changes the actor's own password after checking the current one; their other sessions end.
pub async fn change_password(db: &impl Db, actor: &Actor, current_password: &str, new_password: &str) -> AppResult<()> {
    let current = person_only(actor, "API tokens cannot change passwords", "API 令牌不能修改密码")?;
    let u = get_user(db, actor.user_id).await?;
    if !verify_password(&u.password_hash, current_password).await {
        return Err(AppError::rule(
            Code::WrongPassword,
            Some("current_password"),
            Msg::new("the current password is not right", "当前密码不正确"),
        ));
    }
    let new_password = Password::parse("new_password", new_password)?;
    let hash = new_password.hash().await?;
    let txn = crate::service::begin(db).await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(u.id))
        .exec(&txn)
        .await?;
    end_sessions(&txn, u.id, Some(current)).await?;
    let after = get_user(&txn, u.id).await?;
    audit::changed(
        &txn,
        Kind::User,
        u.id,
        audit::Action::Update,
        Some(&u),
        Some(&after),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
