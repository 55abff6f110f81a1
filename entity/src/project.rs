//! 招商项目. `stage` is a cache of the latest stage event, written in the same transaction as the event.

use sea_orm::entity::prelude::*;

use crate::enums::{CapitalOrigin, ProjectSource, ProjectStage};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub company_id: i64,
    /// The company's province as stored on it now: kept by the database (the triggers of migration
    /// `m20261207_000020_company_province`), never written by the service; the breakdowns by province read it. A model
    /// answered by an insert on SQLite holds none (its trigger writes after the row).
    pub company_province: Option<String>,
    pub industry: Option<String>,
    pub source: ProjectSource,
    /// The visit, outreach activity or partner the project came from, when recorded.
    pub source_visit_id: Option<i64>,
    pub source_outreach_id: Option<i64>,
    pub source_partner_id: Option<i64>,
    /// 协议投资额 in whole yuan.
    pub agreed_investment_yuan: Option<i64>,
    /// 资本来源 of the investor.
    pub capital_origin: CapitalOrigin,
    /// 用地需求 in 亩.
    pub land_mu: Option<f64>,
    pub is_major: bool,
    /// 联系领导 as written before leaders were linked; kept where it names no one user.
    pub contact_leader: Option<String>,
    /// 联系领导: a user with the leader role.
    pub contact_leader_id: Option<i64>,
    pub responsible_unit: Option<String>,
    pub team: Option<String>,
    pub notes: Option<String>,
    pub stage: ProjectStage,
    /// The date each stage of the main line was reached, 线索 to 竣工投产 (none where not reached): derived from the
    /// stage events by the rule of docs/DEFINITIONS.md and written in the same transaction as they are, so lists
    /// filter by them through an index.
    pub reached_lead_on: Option<Date>,
    pub reached_negotiating_on: Option<Date>,
    pub reached_signed_on: Option<Date>,
    pub reached_landed_on: Option<Date>,
    pub reached_started_on: Option<Date>,
    pub reached_producing_on: Option<Date>,
    /// The owner (负责人), a user; through them the record belongs to a department.
    pub owner_id: Option<i64>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::company::Entity",
        from = "Column::CompanyId",
        to = "super::company::Column::Id"
    )]
    Company,
}

impl Related<super::company::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Company.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

/// The reach-date columns, in the order of the main line (ProjectStage::ORDER).
pub const REACHED: [Column; 6] = [
    Column::ReachedLeadOn,
    Column::ReachedNegotiatingOn,
    Column::ReachedSignedOn,
    Column::ReachedLandedOn,
    Column::ReachedStartedOn,
    Column::ReachedProducingOn,
];
