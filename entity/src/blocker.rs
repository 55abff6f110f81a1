//! 难题/问题台账: what stands in a project's way, who owns it, and how it was resolved.

use sea_orm::entity::prelude::*;

use crate::enums::{BlockerCategory, BlockerStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "blockers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub title: String,
    pub category: BlockerCategory,
    pub owner_unit: Option<String>,
    pub assigned_leader: Option<String>,
    pub opened_on: Date,
    pub due_date: Option<Date>,
    pub status: BlockerStatus,
    pub resolution: Option<String>,
    pub resolved_on: Option<Date>,
    /// The owner (负责人), a user; through them the record belongs to a department.
    pub owner_id: Option<i64>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
