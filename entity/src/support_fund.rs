//! 扶持资金: funds a company secured from a support programme or policy (政策兑现), approved on a date.

use sea_orm::entity::prelude::*;

use crate::enums::SupportLevel;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "support_funds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub company_id: i64,
    /// The programme or policy (项目/政策名称).
    pub programme: String,
    pub level: SupportLevel,
    /// Amount in whole yuan, > 0.
    pub amount_yuan: i64,
    pub approved_on: Date,
    pub note: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
