//! The companies met on an outreach activity.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outreach_companies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub outreach_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub company_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
