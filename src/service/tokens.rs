//! API tokens (docs/ARCHITECTURE.md): issued by an admin for a user with scopes and an expiry, shown once, stored hashed,
//! revocable.

use chrono::{Duration, NaiveDate, Utc};
use entity::{api_token, enums::TokenScope, user};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};

use super::{
    Actor, AppError, AppResult, Code, Dir, Kind, Msg, Order, Page, Paging, find,
    input::{LOCAL_TZ, Short, today},
    insert_one,
};

/// A token to issue.
pub struct NewToken {
    /// The user the token acts for.
    pub user_id: i64,
    /// What it is for.
    pub name: Short,
    /// Its scopes, at least one.
    pub scopes: Vec<TokenScope>,
    /// The last day it works (inclusive, Asia/Shanghai).
    pub expires_on: NaiveDate,
}

/// The scopes of a stored token.
pub fn scopes(stored: &serde_json::Value) -> Vec<TokenScope> {
    serde_json::from_value(stored.clone()).unwrap_or_default()
}

/// Issues a token; answers its secret (shown only now) and its record.
pub async fn issue(db: &impl ConnectionTrait, actor: &Actor, t: NewToken) -> AppResult<(String, api_token::Model)> {
    if t.scopes.is_empty() {
        return Err(AppError::invalid(
            "scopes",
            "a token needs at least one scope",
            "令牌至少需要一个权限范围",
        ));
    }
    let today = today();
    if t.expires_on < today || t.expires_on > today + Duration::days(731) {
        return Err(AppError::invalid(
            "expires_on",
            "expires_on lies between today and two years ahead",
            "有效期须在今天至两年之内",
        ));
    }
    find::<user::Entity, _>(db, t.user_id, Kind::User).await.map_err(|_| {
        AppError::rule(
            Code::UnknownUser,
            Some("user_id"),
            Msg::new("there is no such user", "用户不存在"),
        )
    })?;
    let expires_at = (t.expires_on + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_local_timezone(LOCAL_TZ)
        .single()
        .expect("Asia/Shanghai has no gaps")
        .with_timezone(&Utc);
    let mut scopes = t.scopes;
    scopes.sort_by_key(|s| *s as u8);
    scopes.dedup();
    let token = super::secrets::new_api_token()?;
    let row = api_token::ActiveModel {
        user_id: Set(t.user_id),
        name: Set(t.name.into()),
        token_hash: Set(super::secrets::token_hash(&token)),
        scopes: Set(serde_json::json!(scopes)),
        expires_at: Set(expires_at),
        created_by: Set(Some(actor.user_id)),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        last_used_at: Set(None),
        ..Default::default()
    };
    let m = insert_one(db, Kind::Token, row).await?;
    Ok((token, m))
}

/// A page of tokens, newest first, optionally of one user.
pub async fn list(
    db: &impl ConnectionTrait,
    user_id: Option<i64>,
    paging: Paging,
) -> AppResult<Page<api_token::Model>> {
    let mut s = api_token::Entity::find();
    if let Some(u) = user_id {
        s = s.filter(api_token::Column::UserId.eq(u));
    }
    paging.rows(db, s, Order(&[(api_token::Column::Id, Dir::Desc)])).await
}

/// Revokes a token (revoking one twice is no error).
pub async fn revoke(db: &impl ConnectionTrait, id: i64) -> AppResult<()> {
    let res = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(api_token::Column::Id.eq(id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        find::<api_token::Entity, _>(db, id, Kind::Token).await?;
        return Ok(());
    }
    super::audit::event(db, "token_revoke", Some((Kind::Token, id)), None).await
}
