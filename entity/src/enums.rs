//! Domain enums, stored as short snake_case strings so every database reads them the same way.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::pipeline::Stage;

/// Stage of an investment project (招商项目阶段).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
pub enum ProjectStage {
    /// 线索
    Lead,
    /// 洽谈
    Negotiating,
    /// 签约
    Signed,
    /// 落地(注册)
    Landed,
    /// 开工
    Started,
    /// 竣工投产
    Producing,
    /// 终止
    Dropped,
}

impl Stage for ProjectStage {
    const ORDER: &'static [Self] = &[
        Self::Lead,
        Self::Negotiating,
        Self::Signed,
        Self::Landed,
        Self::Started,
        Self::Producing,
    ];
    const OFF: Self = Self::Dropped;
}

/// Where a project came from (项目来源).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
pub enum ProjectSource {
    /// 来访接待
    Visit,
    /// 外出招商
    Outreach,
    /// 合作机构(委托招商)
    Partner,
    /// 以商引商/推荐
    Referral,
    /// 其他
    Other,
}

/// Kind of a follow-up on a project (跟进方式).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
pub enum FollowUpKind {
    /// 会谈
    Meeting,
    /// 电话
    Call,
    /// 实地考察
    SiteVisit,
    /// 其他
    Other,
}
