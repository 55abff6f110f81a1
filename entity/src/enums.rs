//! Domain enums, stored as short snake_case strings so every database reads them the same way.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::pipeline::Stage;

/// Stage of an investment project (招商项目阶段).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "snake_case")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "snake_case")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "snake_case")]
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

/// Kind of an outreach activity (招商活动类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))", rename_all = "snake_case")]
pub enum OutreachKind {
    /// 外出招商
    Trip,
    /// 推介会
    PromotionEvent,
    /// 论坛
    Forum,
    /// 驻点招商
    ResidentCampaign,
}

/// Kind of a partner organisation (合作机构类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))", rename_all = "snake_case")]
pub enum PartnerKind {
    /// 商会
    ChamberOfCommerce,
    /// 中介机构(委托招商)
    Agency,
    /// 其他
    Other,
}

/// Level of a support programme (扶持资金级别).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "snake_case")]
pub enum SupportLevel {
    /// 国家级
    National,
    /// 省级
    Provincial,
    /// 市级
    City,
    /// 区级
    District,
}

/// Origin of the capital behind a project or a fund arrival (资本来源). 外资 and 港澳台资 together are 实际利用外资 in
/// the statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))", rename_all = "snake_case")]
pub enum CapitalOrigin {
    /// 内资
    #[default]
    Domestic,
    /// 外资
    Foreign,
    /// 港澳台资
    HongKongMacaoTaiwan,
}

impl CapitalOrigin {
    /// Whether the capital counts as 实际利用外资 (kept in 美元).
    pub fn is_foreign(self) -> bool {
        self != Self::Domestic
    }
}

/// The records a user may see (数据权限).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "snake_case")]
pub enum DataScope {
    /// 全部
    All,
    /// 本部门及下级部门
    Department,
    /// 本人负责、联系或参与的
    Own,
}

/// Category of a blocker (难题类别).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "snake_case")]
pub enum BlockerCategory {
    /// 资金
    Funds,
    /// 用地
    Land,
    /// 招工
    Recruitment,
    /// 配套
    Facilities,
    /// 审批
    Approvals,
    /// 其他
    Other,
}

/// Status of a blocker (难题状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "snake_case")]
pub enum BlockerStatus {
    /// 待解决
    Open,
    /// 推进中
    InProgress,
    /// 已解决
    Resolved,
}

/// Stage of a high-tech incubation candidate (高企培育阶段).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "snake_case")]
pub enum IncubationStage {
    /// 纳入培育
    Cultivating,
    /// 申报
    Applied,
    /// 评审通过
    Approved,
    /// 备案
    Filed,
    /// 未通过/退出
    Failed,
}

impl Stage for IncubationStage {
    const ORDER: &'static [Self] = &[Self::Cultivating, Self::Applied, Self::Approved, Self::Filed];
    const OFF: Self = Self::Failed;
}

/// A metric with a yearly target (年度目标指标), docs/DEFINITIONS.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))", rename_all = "snake_case")]
pub enum TargetMetric {
    /// 接待客商批次
    VisitBatches,
    /// 接待客商人次
    PersonTimes,
    /// 洽谈项目数
    ProjectsNegotiating,
    /// 签约项目数
    ProjectsSigned,
    /// 落地项目数
    ProjectsLanded,
    /// 开工项目数
    ProjectsStarted,
    /// 竣工投产项目数
    ProjectsProducing,
    /// 签约投资额(万元)
    SignedInvestment,
    /// 到位资金(万元)
    FundsArrived,
    /// 高企申报数
    IncubationApplied,
    /// 高企评审通过数
    IncubationApproved,
}

impl TargetMetric {
    /// Whether the metric is an amount of money (its value is in 万元 in the API, yuan in storage).
    pub fn is_money(self) -> bool {
        matches!(self, Self::SignedInvestment | Self::FundsArrived)
    }
}

/// Role of a user (docs/ARCHITECTURE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "snake_case")]
pub enum Role {
    /// 管理员: users, tokens, settings, audit.
    Admin,
    /// 领导: reads everything, moves stages backward, resolves blockers.
    Leader,
    /// 招商专员: creates and edits CRM records.
    Staff,
    /// 查看者: reads and exports (the leading group's tokens).
    Viewer,
    /// 安全管理员: sets roles, data scopes and lifts lockouts; reads no records (三员分立, docs/SECURITY.md).
    Security,
    /// 审计管理员: reads the audit log and its verification, nothing else (三员分立, docs/SECURITY.md).
    Auditor,
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))", rename_all = "snake_case")]
pub enum TokenScope {
    /// Read records.
    Read,
    /// Pull exports.
    Export,
    /// See contact phone numbers and e-mail addresses unmasked.
    ContactDetails,
    /// Scrape `/metrics` (and nothing else).
    Metrics,
}

/// A stage of either pipeline, as a funnel names it: a project's or an incubation candidate's (their values differ,
/// so the plain value says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnyStage {
    /// A project's stage.
    Project(ProjectStage),
    /// An incubation candidate's stage.
    Incubation(IncubationStage),
}

impl AnyStage {
    /// The Chinese label users see.
    pub fn label(self) -> &'static str {
        match self {
            AnyStage::Project(s) => s.label(),
            AnyStage::Incubation(s) => s.label(),
        }
    }
}

/// In the API a funnel's stage is one string of either stage set.
#[cfg(feature = "openapi")]
mod any_stage_openapi {
    use std::borrow::Cow;

    use poem_openapi::{
        registry::{MetaSchema, MetaSchemaRef},
        types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
    };
    use sea_orm::{ActiveEnum, Iterable};
    use serde_json::Value;

    use super::{AnyStage, IncubationStage, ProjectStage};

    impl Type for AnyStage {
        const IS_REQUIRED: bool = true;
        type RawValueType = Self;
        type RawElementValueType = Self;

        fn name() -> Cow<'static, str> {
            "AnyStage".into()
        }

        fn schema_ref() -> MetaSchemaRef {
            let values = ProjectStage::iter()
                .map(|s| s.to_value())
                .chain(IncubationStage::iter().map(|s| s.to_value()));
            MetaSchemaRef::Inline(Box::new(MetaSchema {
                enum_items: values.map(Value::String).collect(),
                ..MetaSchema::new("string")
            }))
        }

        fn as_raw_value(&self) -> Option<&Self> {
            Some(self)
        }

        fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
            Box::new(std::iter::once(self))
        }
    }

    impl ParseFromJSON for AnyStage {
        fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
            serde_json::from_value(value.unwrap_or_default()).map_err(ParseError::custom)
        }
    }

    impl ToJSON for AnyStage {
        fn to_json(&self) -> Option<Value> {
            serde_json::to_value(self).ok()
        }
    }
}

/// Where a job run stands (`job_runs.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "snake_case")]
pub enum JobStatus {
    /// A runner holds the claim (its lease is renewed while it works).
    Running,
    /// An attempt failed; tried again at `next_attempt_at`.
    Retrying,
    /// Done.
    Succeeded,
    /// No attempt left, or a job that is not retried failed.
    Failed,
    /// Its runners died on every attempt.
    Abandoned,
}

/// How an attempt at a job run ended (`job_attempts.outcome`; none while it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The work was done.
    Succeeded,
    /// The work failed with an error.
    Failed,
    /// Its runner died: the lease passed and another took the slot over.
    LeaseExpired,
}

/// Where a message of the outbox stands (`outbox.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A dispatcher has claimed it and is sending.
    Sending,
    /// Sent.
    Sent,
    /// Given up after the last attempt (an admin may send it again).
    Failed,
}

/// The kind of a work-chat channel (`channels.kind`): a group robot, or an application that messages people one by
/// one (docs/NOTIFICATIONS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))", rename_all = "snake_case")]
pub enum ChannelKind {
    /// 企业微信群机器人 (also 政务微信): the webhook address carries its key.
    WecomRobot,
    /// 钉钉自定义机器人 (also 政务钉钉) with its signing secret (加签).
    DingtalkRobot,
    /// 飞书自定义机器人 with its signing secret (签名校验).
    FeishuRobot,
    /// 企业微信 application messages to people: corp id, agent id, secret.
    WecomApp,
    /// 钉钉 work notices (工作通知) to people: app key, agent id, app secret.
    DingtalkApp,
}

impl ChannelKind {
    /// Whether it messages people one by one (an application) rather than a group.
    pub fn personal(self) -> bool {
        matches!(self, ChannelKind::WecomApp | ChannelKind::DingtalkApp)
    }
}

/// The Chinese label users see for an enum value (docs/ARCHITECTURE.md: clients and reports never hard-code them).
pub trait Label: Sized + Copy + sea_orm::Iterable + ActiveEnum<Value = String> {
    /// The Chinese label.
    fn label(self) -> &'static str;

    /// Every value with its label, in declaration order.
    fn labels() -> Vec<(String, &'static str)> {
        Self::iter().map(|v| (v.to_value(), v.label())).collect()
    }
}

macro_rules! labels {
    ($ty:ty { $($variant:ident => $zh:literal),+ $(,)? }) => {
        impl Label for $ty {
            fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $zh),+
                }
            }
        }
    };
}

labels!(ProjectStage {
    Lead => "线索", Negotiating => "洽谈", Signed => "签约", Landed => "落地", Started => "开工",
    Producing => "竣工投产", Dropped => "终止",
});
labels!(ProjectSource {
    Visit => "来访接待", Outreach => "外出招商", Partner => "委托招商", Referral => "以商引商", Other => "其他",
});
labels!(FollowUpKind { Meeting => "会谈", Call => "电话", SiteVisit => "实地考察", Other => "其他" });
labels!(OutreachKind {
    Trip => "外出招商", PromotionEvent => "推介会", Forum => "论坛", ResidentCampaign => "驻点招商",
});
labels!(PartnerKind { ChamberOfCommerce => "商会", Agency => "中介机构", Other => "其他" });
labels!(SupportLevel { National => "国家级", Provincial => "省级", City => "市级", District => "区级" });
labels!(CapitalOrigin { Domestic => "内资", Foreign => "外资", HongKongMacaoTaiwan => "港澳台资" });
labels!(ChannelKind {
    WecomRobot => "企业微信群机器人", DingtalkRobot => "钉钉自定义机器人", FeishuRobot => "飞书自定义机器人",
    WecomApp => "企业微信应用消息", DingtalkApp => "钉钉工作通知",
});
labels!(DataScope { All => "全部数据", Department => "本部门及下级", Own => "本人相关" });
labels!(BlockerCategory {
    Funds => "资金", Land => "用地", Recruitment => "招工", Facilities => "配套", Approvals => "审批", Other => "其他",
});
labels!(BlockerStatus { Open => "待解决", InProgress => "推进中", Resolved => "已解决" });
labels!(IncubationStage {
    Cultivating => "纳入培育", Applied => "申报", Approved => "评审通过", Filed => "备案", Failed => "未通过",
});
labels!(Role { Admin => "管理员", Leader => "领导", Staff => "招商专员", Viewer => "查看者", Security => "安全管理员", Auditor => "审计管理员" });
labels!(TokenScope { Read => "读取", Export => "导出", ContactDetails => "联系方式", Metrics => "监控指标" });
labels!(TargetMetric {
    VisitBatches => "接待客商批次", PersonTimes => "接待客商人次", ProjectsNegotiating => "洽谈项目数",
    ProjectsSigned => "签约项目数", ProjectsLanded => "落地项目数", ProjectsStarted => "开工项目数",
    ProjectsProducing => "竣工投产项目数", SignedInvestment => "签约投资额(万元)", FundsArrived => "到位资金(万元)",
    IncubationApplied => "高企申报数", IncubationApproved => "高企评审通过数",
});
labels!(JobStatus {
    Running => "运行中", Retrying => "等待重试", Succeeded => "成功", Failed => "失败", Abandoned => "已放弃",
});
labels!(AttemptOutcome { Succeeded => "成功", Failed => "失败", LeaseExpired => "租约过期" });
labels!(OutboxStatus { Pending => "待发送", Sending => "发送中", Sent => "已发送", Failed => "发送失败" });
