//! 阶段记录: the history of a project's stages, append-only.

use sea_orm::entity::prelude::*;

use crate::enums::ProjectStage;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stage_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub stage: ProjectStage,
    /// The stage before this event (none for the first event).
    pub from_stage: Option<ProjectStage>,
    pub occurred_on: Date,
    pub note: Option<String>,
    pub reason: Option<String>,
    pub recorded_by: Option<String>,
    pub created_at: DateTimeUtc,
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
