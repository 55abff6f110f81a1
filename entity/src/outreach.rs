//! 招商活动: trips, promotion events, forums, resident campaigns.

use sea_orm::entity::prelude::*;

use crate::enums::OutreachKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outreach")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: OutreachKind,
    pub city: String,
    pub start_date: Date,
    pub end_date: Date,
    pub leading_official: Option<String>,
    /// JSON list of names.
    pub participants: Json,
    pub notes: Option<String>,
    /// The owner (负责人), a user; through them the record belongs to a department.
    pub owner_id: Option<i64>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
