//! 跟进记录 on a project.

use sea_orm::entity::prelude::*;

use crate::enums::FollowUpKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "follow_ups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub occurred_on: Date,
    pub kind: FollowUpKind,
    pub note: String,
    pub next_step: Option<String>,
    pub next_date: Option<Date>,
    pub recorded_by: Option<String>,
    /// The owner (负责人), a user; through them the record belongs to a department.
    pub owner_id: Option<i64>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::project::Entity",
        from = "Column::ProjectId",
        to = "super::project::Column::Id"
    )]
    Project,
}

impl ActiveModelBehavior for ActiveModel {}
