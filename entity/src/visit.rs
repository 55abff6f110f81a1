//! 来访接待: one record is one batch (批); its headcount is the person-times (人次).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "visits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub visit_date: Date,
    pub headcount: i32,
    pub purpose: Option<String>,
    pub summary: Option<String>,
    /// JSON list of names (接待领导).
    pub receiving_leaders: Json,
    /// JSON list of names (陪同人员).
    pub staff: Json,
    /// The owner (负责人), a user; through them the record belongs to a department.
    pub owner_id: Option<i64>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
