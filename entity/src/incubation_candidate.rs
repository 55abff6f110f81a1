//! 高企培育对象. `stage` is a cache of the latest incubation event, written with it.

use sea_orm::entity::prelude::*;

use crate::enums::IncubationStage;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incubation_candidates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub company_id: i64,
    pub cohort_year: i32,
    pub stage: IncubationStage,
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
