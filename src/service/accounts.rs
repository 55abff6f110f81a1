//! User accounts (docs/ARCHITECTURE.md, "Security"): roles, passwords that meet the policy, the first admin, and
//! what admins change. Signing in and sessions are in `sessions`; secrets in `secrets`.

use chrono::Utc;
use entity::{
    enums::{DataScope, Role},
    session, sign_in_strike, user,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionSession,
    sea_query::Expr,
};

use super::{
    Actor, AppError, AppResult, Code, Db, Dir, Kind, Msg, Need, Order, Page, Paging, find,
    input::{Patch, Short, Text, set_some},
    insert_one,
    secrets::{check_password, hash_password, random_password},
    update_versioned,
};

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
        department_id: None,
        data_scope: None,
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
    /// The department (部门) the user belongs to.
    pub department_id: Option<i64>,
    /// The records the user may see; none takes the role's default.
    pub data_scope: Option<DataScope>,
}

/// A department named for a user must exist.
async fn check_department(db: &impl ConnectionTrait, id: Option<i64>) -> AppResult<()> {
    let Some(id) = id else { return Ok(()) };
    if entity::department::Entity::find_by_id(id).one(db).await?.is_none() {
        return Err(AppError::rule(
            Code::UnknownDepartment,
            Some("department_id"),
            Msg::new("the department does not exist", "部门不存在"),
        ));
    }
    Ok(())
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

    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the policy: 12 to 256 characters, no composition rules.
pub struct Password(String);

impl Password {
    /// The password's argon2id hash (slow on purpose).
    pub async fn hash(&self) -> AppResult<String> {
        hash_password(&self.0).await
    }

    /// The password as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The password of `field`.
    pub fn parse(field: &str, password: &str) -> AppResult<Password> {
        check_password(field, password)?;
        Ok(Password(password.to_owned()))
    }
}

fn username_taken() -> AppError {
    AppError::Conflict {
        code: Code::DuplicateUsername,
        msg: Msg::new("this username is taken", "该用户名已被使用"),
        field: Some("username".into()),
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
        return Err(username_taken());
    }
    check_department(db, u.department_id).await?;
    let now = Utc::now();
    let m = user::ActiveModel {
        username: Set(u.username.0),
        display_name: Set(u.display_name.into()),
        email: Set(u.email),
        role: Set(u.role),
        password_hash: Set(u.password.hash().await?),
        disabled: Set(false),
        failed_logins: Set(0),
        locked_until: Set(None),
        weekly_report: Set(true),
        department_id: Set(u.department_id),
        data_scope: Set(u.data_scope),
        reminders: Set(true),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    insert_one(db, Kind::User, m)
        .await
        .map_err(|e| e.if_duplicate(username_taken))
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
    /// The department.
    pub department_id: Patch<i64>,
    /// The data scope; cleared, the role's default.
    pub data_scope: Patch<DataScope>,
    /// Receive the daily reminder digest.
    pub reminders: Option<bool>,
    /// Receive the weekly report (sent to leaders only).
    pub weekly_report: Option<bool>,
}

/// Changes a user: the role and the data scope are the security administrator's to set (and an admin's unless duties
/// are separated), the rest an admin's. Nobody disables themselves or changes their own role; a new password or
/// disabling ends the user's sessions.
pub async fn update_user(db: &impl Db, actor: &Actor, id: i64, c: UserChanges) -> AppResult<user::Model> {
    let grants = c.role.is_some() || !matches!(c.data_scope, Patch::Keep);
    let manages = c.display_name.is_some()
        || !matches!(c.email, Patch::Keep)
        || c.disabled.is_some()
        || c.password.is_some()
        || !matches!(c.department_id, Patch::Keep)
        || c.reminders.is_some()
        || c.weekly_report.is_some();
    if grants {
        actor.require(Need::Security)?;
    }
    if manages || !grants {
        actor.require(Need::Admin)?;
    }
    if id == actor.user_id && (c.disabled == Some(true) || c.role.is_some_and(|r| r != actor.role)) {
        return Err(AppError::rule(
            Code::CannotDemoteSelf,
            Some(if c.disabled == Some(true) { "disabled" } else { "role" }),
            Msg::new(
                "nobody disables themselves or changes their own role",
                "不能停用自己或更改自己的角色",
            ),
        ));
    }
    write_user(db, id, c).await
}

/// Whether `actor` may create the user `n`: an admin's work; when duties are separated the admin gives only the roles
/// of the CRM's work (staff, leader, viewer) and the role's data scope, and the security administrator the rest.
pub fn may_create(actor: &Actor, n: &NewUser) -> AppResult<()> {
    actor.require(Need::Admin)?;
    let grants = matches!(n.role, Role::Admin | Role::Security | Role::Auditor) || n.data_scope.is_some();
    if grants && !actor.can(Need::Security) {
        return Err(AppError::Forbidden {
            code: Code::Forbidden,
            msg: Msg::new(
                "with duties separated, the security administrator grants administrator roles and data scopes",
                "三员分立下,管理员角色和数据范围由安全管理员授予",
            ),
        });
    }
    Ok(())
}

/// Writes changes to a user; a new password or disabling ends the user's sessions.
async fn write_user(db: &impl Db, id: i64, c: UserChanges) -> AppResult<user::Model> {
    let mut m = user::ActiveModel::default();
    set_some(&mut m.display_name, c.display_name);
    c.email.apply(&mut m.email);
    set_some(&mut m.role, c.role);
    set_some(&mut m.disabled, c.disabled);
    set_some(&mut m.reminders, c.reminders);
    set_some(&mut m.weekly_report, c.weekly_report);
    if let Patch::Set(d) = c.department_id {
        check_department(db, Some(d)).await?;
    }
    c.department_id.apply(&mut m.department_id);
    c.data_scope.apply(&mut m.data_scope);
    let ends_sessions = c.password.is_some() || c.disabled == Some(true);
    let new_password = c.password.is_some();
    if let Some(p) = c.password {
        m.password_hash = Set(p.hash().await?);
        m.failed_logins = Set(0);
        m.locked_until = Set(None);
    }
    let txn = crate::service::begin(db).await?;
    let u = update_versioned::<user::Entity, _>(&txn, id, Kind::User, c.version, m).await?;
    if ends_sessions {
        end_sessions(&txn, u.id, None).await?;
    }
    if new_password {
        lift_address_locks(&txn, u.id).await?;
    }
    if c.disabled == Some(true) {
        // A disabled user's API tokens end with the account: enabling it again does not bring them back.
        entity::api_token::Entity::update_many()
            .col_expr(entity::api_token::Column::RevokedAt, Expr::value(Some(Utc::now())))
            .filter(entity::api_token::Column::UserId.eq(u.id))
            .filter(entity::api_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
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
        .ok_or(AppError::not_found(Kind::User))
}

/// A page of users, optionally of one role, oldest first.
pub async fn list_users(db: &impl ConnectionTrait, role: Option<Role>, paging: Paging) -> AppResult<Page<user::Model>> {
    let mut s = user::Entity::find();
    if let Some(r) = role {
        s = s.filter(user::Column::Role.eq(r));
    }
    paging.rows(db, s, Order(&[(user::Column::Id, Dir::Asc)])).await
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

/// Lifts a lockout after failed sign-ins (an operator's work).
pub async fn unlock(db: &impl ConnectionTrait, id: i64) -> AppResult<()> {
    let u = get_user(db, id).await?;
    let detail = serde_json::json!({ "was_locked_until": u.locked_until, "failed_logins": u.failed_logins });
    super::audit::event(db, "unlock", Some((Kind::User, id)), Some(detail)).await?;
    user::Entity::update_many()
        .col_expr(user::Column::FailedLogins, Expr::value(0))
        .col_expr(
            user::Column::LockedUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    lift_address_locks(db, id).await
}

/// Forgets the failed sign-ins of a user counted per client address, and the locks they set.
async fn lift_address_locks(db: &impl ConnectionTrait, id: i64) -> AppResult<()> {
    sign_in_strike::Entity::delete_many()
        .filter(sign_in_strike::Column::UserId.eq(id))
        .exec(db)
        .await?;
    Ok(())
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
    find::<user::Entity, _>(db, id, Kind::User).await
}
