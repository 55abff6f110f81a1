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
    /// The day it reached 纳入培育 (docs/DEFINITIONS.md), kept by the database from its events.
    pub reached_cultivating_on: Option<Date>,
    /// The day it reached 申报, kept by the database from its events.
    pub reached_applied_on: Option<Date>,
    /// The day it reached 评审通过, kept by the database from its events.
    pub reached_approved_on: Option<Date>,
    /// The day it reached 备案, kept by the database from its events.
    pub reached_filed_on: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The reach-day columns, in the order of the incubation pipeline (IncubationStage::ORDER).
pub const REACHED: [Column; 4] = [
    Column::ReachedCultivatingOn,
    Column::ReachedAppliedOn,
    Column::ReachedApprovedOn,
    Column::ReachedFiledOn,
];
