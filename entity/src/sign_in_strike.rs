//! Failed sign-ins of one account from one client address, and until when that address is locked out of it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_strikes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    /// The client's address, empty when unknown.
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_addr: String,
    /// Attempts since the last success or lock, counted before the password is checked.
    pub failures: i32,
    /// Until when this address may not sign in to this account.
    pub locked_until: Option<DateTimeUtc>,
    pub last_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
