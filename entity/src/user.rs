//! A person who signs in: staff, leader, admin or viewer.

use sea_orm::entity::prelude::*;

use crate::enums::{DataScope, Role};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    /// Argon2id PHC string; never leaves the service.
    pub password_hash: String,
    pub disabled: bool,
    pub failed_logins: i32,
    pub locked_until: Option<DateTimeUtc>,
    /// Receives the weekly report (leaders with an e-mail address).
    pub weekly_report: bool,
    /// The department (部门) the user belongs to.
    pub department_id: Option<i64>,
    /// The records the user may see; none is the role's default.
    pub data_scope: Option<DataScope>,
    /// Receives the daily reminder digest.
    pub reminders: bool,
    /// The user's id in the bureau's work chat (企业微信/钉钉), for personal messages.
    pub chat_user_id: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
