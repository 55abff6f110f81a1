//! 到位资金: a dated arrival of funds for a project.

use sea_orm::entity::prelude::*;

use crate::enums::CapitalOrigin;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "fund_arrivals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub arrived_on: Date,
    /// Amount in whole yuan, > 0; for foreign capital, the dollars at the recorded rate.
    pub amount_yuan: i64,
    /// 资本来源.
    pub capital_origin: CapitalOrigin,
    /// Foreign capital: the amount in US cents, exact (none for 内资).
    pub amount_usd_cents: Option<i64>,
    /// Foreign capital: the rate it was converted at, yuan per dollar in ten-thousandths (none for 内资).
    pub usd_rate_e4: Option<i64>,
    pub note: Option<String>,
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
