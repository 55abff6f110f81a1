//! The stage history of an incubation candidate, append-only.

use sea_orm::entity::prelude::*;

use crate::enums::IncubationStage;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incubation_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub candidate_id: i64,
    pub stage: IncubationStage,
    pub from_stage: Option<IncubationStage>,
    pub occurred_on: Date,
    pub note: Option<String>,
    pub reason: Option<String>,
    pub recorded_by: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
