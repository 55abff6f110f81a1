//! The answers of the analytics: funnels, KPIs and their parts, as the API and the reports speak them.

use chrono::NaiveDate;
use entity::enums::{AnyStage, TargetMetric};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::period::Period;

/// Which stage set a funnel is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum Pipeline {
    /// Investment projects: lead … producing.
    Projects,
    /// High-tech incubation: cultivating … filed.
    Incubation,
}

/// Flow or cohort (docs/DEFINITIONS.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum FunnelKind {
    /// For each stage, the records whose reach date of that stage lies in the period.
    Flow,
    /// The records whose first stage was reached in the period, and how many of them reached each stage by the
    /// as-of date.
    Cohort,
}

/// What a funnel is broken down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum Breakdown {
    /// The project's industry.
    Industry,
    /// The project's source.
    Source,
    /// The project's contact leader.
    ContactLeader,
    /// The origin province of the project's company.
    Province,
    /// The incubation candidate's cohort year.
    CohortYear,
}

impl Breakdown {
    /// The breakdowns of the project funnels, in the order the nightly snapshots list them.
    pub const PROJECTS: [Breakdown; 4] = [
        Breakdown::Industry,
        Breakdown::Source,
        Breakdown::ContactLeader,
        Breakdown::Province,
    ];
    /// The breakdowns of the incubation funnels.
    pub const INCUBATION: [Breakdown; 1] = [Breakdown::CohortYear];

    pub(super) fn column(self) -> &'static str {
        match self {
            Breakdown::Industry => "industry",
            Breakdown::Source => "source",
            Breakdown::ContactLeader => "contact_leader",
            Breakdown::Province => "province",
            Breakdown::CohortYear => "cohort_year",
        }
    }
}

/// A period as the answers show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PeriodRange {
    /// How the period was asked for, e.g. `2024-H1`.
    pub label: String,
    /// First day (inclusive).
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
}

impl From<&Period> for PeriodRange {
    fn from(p: &Period) -> Self {
        PeriodRange {
            label: p.label.clone(),
            from: p.from,
            to: p.to,
        }
    }
}

/// One stage of a funnel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct FunnelStage {
    /// The stage.
    pub stage: AnyStage,
    /// Records counted at this stage.
    pub count: i64,
    /// This stage's count over the previous stage's (none for the first stage, or when the previous count is 0).
    /// A true rate in a cohort; in a flow funnel it compares two streams and can exceed 1.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub conversion: Option<f64>,
    /// Median days from the previous stage's reach date to this one's, over the records counted here.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub median_days: Option<f64>,
    /// 90th percentile (nearest rank) of the same days.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub p90_days: Option<i64>,
    /// The count in the same period one year earlier.
    pub previous_year_count: i64,
    /// Year-on-year growth in %, one decimal (none when the previous count is 0).
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub growth_pct: Option<f64>,
}

/// A funnel for one group of a breakdown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct FunnelGroup {
    /// The group's value (`(未填)` when the field is empty).
    pub key: String,
    /// Its stages.
    pub stages: Vec<FunnelStage>,
}

/// A funnel (docs/DEFINITIONS.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Funnel {
    /// The period.
    pub period: PeriodRange,
    /// The same period one year earlier (for the year-on-year figures).
    pub previous_year: PeriodRange,
    /// Events after this date are ignored.
    pub as_of: NaiveDate,
    /// Flow or cohort.
    pub kind: FunnelKind,
    /// Projects or incubation.
    pub pipeline: Pipeline,
    /// The breakdown, if asked for.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub by: Option<Breakdown>,
    /// The stages, in order.
    pub stages: Vec<FunnelStage>,
    /// The same per group of the breakdown (empty without one).
    pub groups: Vec<FunnelGroup>,
    /// 数据权限: none when computed over every record; else which records it was computed over (in Chinese).
    #[cfg_attr(feature = "openapi", oai(nullable))]
    #[serde(default)]
    pub within: Option<String>,
}

/// A count beside the same count one year earlier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Compare {
    /// In the period.
    pub value: i64,
    /// In the same period one year earlier.
    pub previous: i64,
    /// Year-on-year growth in %, one decimal; none when the previous value is 0.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub growth_pct: Option<f64>,
}

/// An amount in 万元 (万美元 where the field says so) beside the same amount one year earlier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct MoneyCompare {
    /// In the period, 万元 (or 万美元).
    pub value: Decimal,
    /// In the same period one year earlier, 万元 (or 万美元).
    pub previous: Decimal,
    /// Year-on-year growth in %, one decimal; none when the previous value is 0.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub growth_pct: Option<f64>,
}

/// Outreach activities of one kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct KindCount {
    /// The kind.
    pub kind: String,
    /// Counts.
    pub count: Compare,
}

/// Blocker figures over a period, for all categories or one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct BlockerStats {
    /// The category (`all` for the total).
    pub category: String,
    /// Raised in the period.
    pub opened: i64,
    /// Resolved in the period.
    pub resolved: i64,
    /// Raised by the end of the period and not resolved by then.
    pub open_at_end: i64,
    /// Of those, the ones past their due date at the end of the period.
    pub overdue: i64,
    /// Median days from raised to resolved, over those resolved in the period.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub median_days_to_resolve: Option<f64>,
}

/// Progress toward a yearly target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TargetProgress {
    /// The metric.
    pub metric: TargetMetric,
    /// The year.
    pub year: i32,
    /// The target (万元 for money metrics).
    pub target: Decimal,
    /// Year to date up to the as-of date (万元 for money metrics).
    pub actual: Decimal,
    /// actual / target (none when the target is 0).
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub progress: Option<f64>,
    /// Days of the year elapsed by the as-of date / days in the year.
    pub time_progress: f64,
}

/// One month's visits and signings (the home page's chart).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonthFigures {
    /// The month, 1–12.
    pub month: u32,
    /// Visits (批).
    pub visit_batches: i64,
    /// Visitors (人次).
    pub person_times: i64,
    /// Projects signed (flow).
    pub signed: i64,
}

/// The KPIs of a period (docs/DEFINITIONS.md), each beside the same period one year earlier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Kpis {
    /// The period.
    pub period: PeriodRange,
    /// The same period one year earlier.
    pub previous_year: PeriodRange,
    /// Records dated after this are ignored.
    pub as_of: NaiveDate,
    /// 数据权限: none when computed over every record; else which records it was computed over (in Chinese). The
    /// targets are the whole bureau's: there are none then.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    #[serde(default)]
    pub within: Option<String>,
    /// Visits (批).
    pub visit_batches: Compare,
    /// Visitors (人次): the sum of the visits' headcounts.
    pub person_times: Compare,
    /// Outreach activities of every kind.
    pub outreach_total: Compare,
    /// Outreach activities by kind.
    pub outreach_by_kind: Vec<KindCount>,
    /// Projects reaching negotiation (flow).
    pub projects_negotiating: Compare,
    /// Projects signed (flow).
    pub projects_signed: Compare,
    /// Projects landed (flow).
    pub projects_landed: Compare,
    /// Projects started (flow).
    pub projects_started: Compare,
    /// Projects producing (flow).
    pub projects_producing: Compare,
    /// 重大项目 worked on during the period: major projects first recorded by its end, not producing before its
    /// start, not dropped all through it.
    pub major_projects: Compare,
    /// The agreed investment of those major projects.
    pub major_investment: MoneyCompare,
    /// Agreed investment of the projects signed in the period.
    pub signed_investment: MoneyCompare,
    /// Fund arrivals dated in the period, every origin of capital (foreign capital at its recorded rate), 万元.
    pub funds_arrived: MoneyCompare,
    /// 内资到位资金: the arrivals of 内资 dated in the period, 万元.
    pub domestic_funds: MoneyCompare,
    /// 实际利用外资: the arrivals of 外资 and 港澳台资 dated in the period, in 万美元 (their own currency).
    pub foreign_funds: MoneyCompare,
    /// Support funds (扶持资金) secured for companies, approved in the period.
    pub support_funds: MoneyCompare,
    /// Companies that became above-size (规模以上) enterprises in the period.
    pub new_above_size: Compare,
    /// Companies taken into high-tech cultivation.
    pub incubation_cultivating: Compare,
    /// Incubation candidates that applied.
    pub incubation_applied: Compare,
    /// Incubation candidates approved.
    pub incubation_approved: Compare,
    /// Incubation candidates filed.
    pub incubation_filed: Compare,
    /// Blockers, all categories.
    pub blockers: BlockerStats,
    /// Blockers by category.
    pub blockers_by_category: Vec<BlockerStats>,
    /// Progress toward the targets of the period's year.
    pub targets: Vec<TargetProgress>,
}

/// The figures of one KPI line.
pub enum Figures<'a> {
    /// A count.
    Count(&'a Compare),
    /// Money in 万元.
    Money(&'a MoneyCompare),
    /// Money in 万美元.
    Dollars(&'a MoneyCompare),
}

/// One KPI of a period as the tables people read show it (exports, the weekly e-mail): its key (the API's field
/// name), its Chinese label and its figures. The labels of the metrics that have targets are those of
/// [`TargetMetric`]; this is the one place the others are named.
pub struct KpiLine<'a> {
    /// The API's field name, e.g. `visit_batches`.
    pub key: &'static str,
    /// The Chinese label, e.g. `接待客商批次`.
    pub label: &'static str,
    /// The period's figures beside the year before.
    pub figures: Figures<'a>,
}

impl Kpis {
    /// The KPI lines of the period, in the order the tables show them.
    pub fn lines(&self) -> Vec<KpiLine<'_>> {
        use TargetMetric as T;
        let count = |key, label, c| KpiLine {
            key,
            label,
            figures: Figures::Count(c),
        };
        let target = |key, m: T, c| count(key, entity::enums::Label::label(m), c);
        vec![
            target("visit_batches", T::VisitBatches, &self.visit_batches),
            target("person_times", T::PersonTimes, &self.person_times),
            count("outreach_total", "招商活动次数", &self.outreach_total),
            target(
                "projects_negotiating",
                T::ProjectsNegotiating,
                &self.projects_negotiating,
            ),
            target("projects_signed", T::ProjectsSigned, &self.projects_signed),
            target("projects_landed", T::ProjectsLanded, &self.projects_landed),
            target("projects_started", T::ProjectsStarted, &self.projects_started),
            target("projects_producing", T::ProjectsProducing, &self.projects_producing),
            count("major_projects", "在建在谈重大项目个数(存量)", &self.major_projects),
            KpiLine {
                key: "major_investment",
                label: "在建在谈重大项目总投资额(万元,存量)",
                figures: Figures::Money(&self.major_investment),
            },
            KpiLine {
                key: "signed_investment",
                label: entity::enums::Label::label(T::SignedInvestment),
                figures: Figures::Money(&self.signed_investment),
            },
            KpiLine {
                key: "funds_arrived",
                label: entity::enums::Label::label(T::FundsArrived),
                figures: Figures::Money(&self.funds_arrived),
            },
            KpiLine {
                key: "domestic_funds",
                label: "内资到位资金(万元)",
                figures: Figures::Money(&self.domestic_funds),
            },
            KpiLine {
                key: "foreign_funds",
                label: "实际利用外资(万美元)",
                figures: Figures::Dollars(&self.foreign_funds),
            },
            count("new_above_size", "新增规模以上企业数", &self.new_above_size),
            KpiLine {
                key: "support_funds",
                label: "争取扶持资金(万元)",
                figures: Figures::Money(&self.support_funds),
            },
            count(
                "incubation_cultivating",
                "新纳入高企培育数",
                &self.incubation_cultivating,
            ),
            target("incubation_applied", T::IncubationApplied, &self.incubation_applied),
            target("incubation_approved", T::IncubationApproved, &self.incubation_approved),
            count("incubation_filed", "高企备案数", &self.incubation_filed),
        ]
    }
}
