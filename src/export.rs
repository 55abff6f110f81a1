//! Exports for the leading group (DESIGN §6): the records as CSV (UTF-8 with BOM), XLSX or JSON, streamed from the
//! database in id order a chunk at a time so that a million rows never sit in memory at once.
//!
//! Every text cell that a spreadsheet could run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a CR) is
//! neutralised with a leading apostrophe in CSV and XLSX.

use std::pin::Pin;

use chrono::NaiveDate;
use entity::{
    blocker, company, contact,
    enums::{BlockerStatus, Label, ProjectStage},
    incubation_candidate, money, outreach, project, stage_event, visit, visit_company,
};
use futures_util::{Stream, TryStreamExt, stream};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::service::{companies::masked, input::today, names, projects};

/// One cell of an export.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing.
    Null,
    /// Text.
    Text(String),
    /// An enum: its API value (JSON) and its Chinese label (CSV, XLSX).
    Enum(String, &'static str),
    /// A whole number.
    Int(i64),
    /// A calendar date.
    Date(NaiveDate),
    /// Money in whole yuan, shown in 万元.
    Money(i64),
    /// A rate or a number of days.
    Float(f64),
    /// Yes or no.
    Bool(bool),
}

/// A column: its JSON key, its Chinese header and its width in characters.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// JSON key.
    pub key: &'static str,
    /// Header in CSV and XLSX.
    pub header: &'static str,
    /// Width in XLSX.
    pub width: f64,
}

const fn c(key: &'static str, header: &'static str, width: f64) -> Column {
    Column { key, header, width }
}

/// A stream of rows.
pub type Rows = Pin<Box<dyn Stream<Item = anyhow::Result<Vec<Cell>>> + Send>>;

/// What can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "kebab-case")]
pub enum Dataset {
    /// 招商项目: with the reach date of every stage, funds arrived and the contact leader.
    Projects,
    /// 阶段记录: every stage event.
    StageEvents,
    /// 来访接待.
    Visits,
    /// 招商活动.
    Outreach,
    /// 难题台账.
    Blockers,
    /// 高企培育.
    Incubation,
    /// 联系人 (phone and e-mail masked without the contact_details scope).
    Contacts,
    /// 项目漏斗: flow and cohort funnels of `period`, with conversion, days and year on year.
    Funnel,
    /// 主要指标: the KPIs of `period` beside the same period a year earlier.
    Kpis,
}

impl Dataset {
    /// The dataset named by its file stem (`stage-events`) or API value (`stage_events`).
    pub fn from_name(name: &str) -> Option<Dataset> {
        use poem_openapi::types::ParseFromParameter;
        Dataset::parse_from_parameter(&name.replace('_', "-")).ok()
    }

    /// The file name stem (English) and title (Chinese).
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Dataset::Projects => ("projects", "招商项目"),
            Dataset::StageEvents => ("stage-events", "阶段记录"),
            Dataset::Visits => ("visits", "来访接待"),
            Dataset::Outreach => ("outreach", "招商活动"),
            Dataset::Blockers => ("blockers", "难题台账"),
            Dataset::Incubation => ("incubation", "高企培育"),
            Dataset::Contacts => ("contacts", "联系人"),
            Dataset::Funnel => ("funnel", "项目漏斗"),
            Dataset::Kpis => ("kpis", "主要指标"),
        }
    }

    /// The columns.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Dataset::Projects => {
                const C: &[Column] = &[
                    c("id", "编号", 8.0),
                    c("name", "项目名称", 30.0),
                    c("company", "企业", 30.0),
                    c("industry", "行业", 12.0),
                    c("source", "来源", 10.0),
                    c("stage", "当前阶段", 10.0),
                    c("is_major", "重大项目", 9.0),
                    c("agreed_investment", "协议投资额(万元)", 16.0),
                    c("funds_arrived", "到位资金(万元)", 14.0),
                    c("contact_leader", "联系领导", 10.0),
                    c("responsible_unit", "责任单位", 14.0),
                    c("lead_on", "线索日期", 12.0),
                    c("negotiating_on", "洽谈日期", 12.0),
                    c("signed_on", "签约日期", 12.0),
                    c("landed_on", "落地日期", 12.0),
                    c("started_on", "开工日期", 12.0),
                    c("producing_on", "投产日期", 12.0),
                ];
                C
            }
            Dataset::StageEvents => {
                const C: &[Column] = &[
                    c("id", "编号", 8.0),
                    c("project_id", "项目编号", 10.0),
                    c("project", "项目名称", 30.0),
                    c("stage", "阶段", 10.0),
                    c("from_stage", "原阶段", 10.0),
                    c("occurred_on", "日期", 12.0),
                    c("reason", "原因", 24.0),
                    c("note", "备注", 24.0),
                    c("recorded_by", "记录人", 10.0),
                ];
                C
            }
            Dataset::Visits => {
                const C: &[Column] = &[
                    c("id", "编号", 8.0),
                    c("visit_date", "来访日期", 12.0),
                    c("headcount", "人次", 8.0),
                    c("companies", "来访企业", 36.0),
                    c("receiving_leaders", "接待领导", 16.0),
                    c("purpose", "来访事由", 24.0),
                    c("summary", "洽谈情况", 30.0),
                ];
                C
            }
            Dataset::Outreach => {
                const C: &[Column] = &[
                    c("id", "编号", 8.0),
                    c("kind", "类型", 10.0),
                    c("city", "城市", 10.0),
                    c("start_date", "开始日期", 12.0),
                    c("end_date", "结束日期", 12.0),
                    c("leading_official", "带队领导", 12.0),
                    c("notes", "备注", 30.0),
                ];
                C
            }
            Dataset::Blockers => {
                const C: &[Column] = &[
                    c("id", "编号", 8.0),
                    c("project", "项目名称", 30.0),
                    c("title", "问题", 30.0),
                    c("category", "类别", 8.0),
                    c("status", "状态", 8.0),
                    c("owner_unit", "责任单位", 14.0),
                    c("assigned_leader", "包联领导", 10.0),
                    c("opened_on", "提出日期", 12.0),
                    c("due_date", "截止日期", 12.0),
                    c("resolved_on", "办结日期", 12.0),
                    c("overdue", "逾期", 6.0),
                    c("resolution", "解决情况", 30.0),
                ];
                C
            }
            Dataset::Incubation => {
                const C: &[Column] = &[
                    c("id", "编号", 8.0),
                    c("company", "企业", 30.0),
                    c("cohort_year", "培育年度", 10.0),
                    c("stage", "当前阶段", 10.0),
                ];
                C
            }
            Dataset::Funnel => {
                const C: &[Column] = &[
                    c("period", "期间", 10.0),
                    c("kind", "口径", 10.0),
                    c("stage", "阶段", 10.0),
                    c("count", "数量", 8.0),
                    c("conversion", "转化率", 10.0),
                    c("median_days", "中位天数", 10.0),
                    c("p90_days", "P90天数", 10.0),
                    c("previous_year_count", "上年同期", 10.0),
                    c("growth_pct", "同比增长(%)", 12.0),
                ];
                C
            }
            Dataset::Kpis => {
                const C: &[Column] = &[
                    c("period", "期间", 10.0),
                    c("metric", "指标", 18.0),
                    c("value", "本期", 12.0),
                    c("previous", "上年同期", 12.0),
                    c("growth_pct", "同比增长(%)", 12.0),
                ];
                C
            }
            Dataset::Contacts => {
                const C: &[Column] = &[
                    c("id", "编号", 8.0),
                    c("company", "企业", 30.0),
                    c("name", "姓名", 10.0),
                    c("title", "职务", 14.0),
                    c("phone", "电话", 16.0),
                    c("email", "电子邮箱", 26.0),
                ];
                C
            }
        }
    }
}

/// Filters an export accepts (each dataset uses those that apply to it).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Filters {
    /// First day of the dataset's own date (lead date, event date, visit date, start date, raised date).
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: Option<NaiveDate>,
    /// Projects: current stage; incubation: current stage.
    pub stage: Option<String>,
    /// Projects: industry.
    pub industry: Option<String>,
    /// Blockers: status.
    pub status: Option<String>,
    /// Funnel and KPIs: the period (`2024-H1` …).
    pub period: Option<String>,
    /// Funnel and KPIs: ignore records after this date.
    pub as_of: Option<NaiveDate>,
}

// Rows per database round trip. Measured on PostgreSQL through sqlx: the 2,000-id IN lists of bigger chunks cost
// ~40 ms a query (1M visits took 24 s); at 500 the same export takes 3.4 s.
const CHUNK: u64 = 500;

impl Filters {
    /// Keeps the rows whose date `col` lies in `from`..=`to`.
    fn dated<E: EntityTrait>(&self, mut q: sea_orm::Select<E>, col: impl ColumnTrait) -> sea_orm::Select<E> {
        if let Some(d) = self.from {
            q = q.filter(col.gte(d));
        }
        if let Some(d) = self.to {
            q = q.filter(col.lte(d));
        }
        q
    }
}

fn text(s: Option<String>) -> Cell {
    s.map_or(Cell::Null, Cell::Text)
}

fn label<T: Label>(v: T) -> Cell {
    Cell::Enum(v.to_value(), v.label())
}

/// One chunk of rows after `after` (an id), and the last id it covered.
async fn chunk(
    db: &DatabaseConnection,
    set: Dataset,
    f: &Filters,
    after: i64,
    open_contacts: bool,
) -> anyhow::Result<(Vec<Vec<Cell>>, Option<i64>)> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let today = today();
    match set {
        Dataset::Projects => {
            let mut q = project::Entity::find()
                .filter(project::Column::Id.gt(after))
                .order_by_asc(project::Column::Id)
                .limit(CHUNK);
            if let Some(s) = &f.stage {
                q = q.filter(project::Column::Stage.eq(s.as_str()));
            }
            if let Some(s) = &f.industry {
                q = q.filter(project::Column::Industry.eq(s.as_str()));
            }
            if f.from.is_some() || f.to.is_some() {
                let mut sub = Query::select();
                sub.column(stage_event::Column::ProjectId)
                    .from(stage_event::Entity)
                    .group_by_col(stage_event::Column::ProjectId);
                if let Some(d) = f.from {
                    sub.and_having(Expr::col(stage_event::Column::OccurredOn).min().gte(d));
                }
                if let Some(d) = f.to {
                    sub.and_having(Expr::col(stage_event::Column::OccurredOn).min().lte(d));
                }
                q = q.filter(project::Column::Id.in_subquery(sub));
            }
            let models = q.all(db).await?;
            let last = models.last().map(|m| m.id);
            let views = projects::views(db, models).await?;
            let rows = views
                .into_iter()
                .map(|v| {
                    let reached: std::collections::HashMap<_, _> = v.reach_dates().into_iter().collect();
                    let date = |s: ProjectStage| reached.get(&s).map_or(Cell::Null, |d| Cell::Date(*d));
                    let stage = v.stage();
                    let p = &v.project;
                    vec![
                        Cell::Int(p.id),
                        Cell::Text(p.name.clone()),
                        Cell::Text(v.company_name.clone()),
                        text(p.industry.clone()),
                        label(p.source),
                        label(stage),
                        Cell::Bool(p.is_major),
                        p.agreed_investment_yuan.map_or(Cell::Null, Cell::Money),
                        Cell::Money(v.funds_arrived.as_yuan()),
                        text(p.contact_leader.clone()),
                        text(p.responsible_unit.clone()),
                        date(ProjectStage::Lead),
                        date(ProjectStage::Negotiating),
                        date(ProjectStage::Signed),
                        date(ProjectStage::Landed),
                        date(ProjectStage::Started),
                        date(ProjectStage::Producing),
                    ]
                })
                .collect();
            Ok((rows, last))
        }
        Dataset::StageEvents => {
            let mut q = stage_event::Entity::find()
                .filter(stage_event::Column::Id.gt(after))
                .order_by_asc(stage_event::Column::Id)
                .limit(CHUNK);
            q = f.dated(q, stage_event::Column::OccurredOn);
            let rows = q.all(db).await?;
            let last = rows.last().map(|m| m.id);
            let names = names::<project::Entity>(db, rows.iter().map(|e| e.project_id)).await?;
            Ok((
                rows.into_iter()
                    .map(|e| {
                        vec![
                            Cell::Int(e.id),
                            Cell::Int(e.project_id),
                            text(names.get(&e.project_id).cloned()),
                            label(e.stage),
                            e.from_stage.map_or(Cell::Null, label),
                            Cell::Date(e.occurred_on),
                            text(e.reason),
                            text(e.note),
                            text(e.recorded_by),
                        ]
                    })
                    .collect(),
                last,
            ))
        }
        Dataset::Visits => {
            let mut q = visit::Entity::find()
                .filter(visit::Column::Id.gt(after))
                .order_by_asc(visit::Column::Id)
                .limit(CHUNK);
            q = f.dated(q, visit::Column::VisitDate);
            let rows = q.all(db).await?;
            let last = rows.last().map(|m| m.id);
            let links: Vec<(i64, i64)> = visit_company::Entity::find()
                .select_only()
                .columns([visit_company::Column::VisitId, visit_company::Column::CompanyId])
                .filter(visit_company::Column::VisitId.is_in(rows.iter().map(|v| v.id)))
                .into_tuple()
                .all(db)
                .await?;
            let names = names::<company::Entity>(db, links.iter().map(|l| l.1)).await?;
            let mut of: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
            for (v, c) in links {
                of.entry(v)
                    .or_default()
                    .push(names.get(&c).cloned().unwrap_or_default());
            }
            let list = |j: &serde_json::Value| {
                serde_json::from_value::<Vec<String>>(j.clone())
                    .unwrap_or_default()
                    .join("、")
            };
            Ok((
                rows.into_iter()
                    .map(|v| {
                        vec![
                            Cell::Int(v.id),
                            Cell::Date(v.visit_date),
                            Cell::Int(v.headcount.into()),
                            Cell::Text(of.remove(&v.id).unwrap_or_default().join("、")),
                            Cell::Text(list(&v.receiving_leaders)),
                            text(v.purpose),
                            text(v.summary),
                        ]
                    })
                    .collect(),
                last,
            ))
        }
        Dataset::Outreach => {
            let mut q = outreach::Entity::find()
                .filter(outreach::Column::Id.gt(after))
                .order_by_asc(outreach::Column::Id)
                .limit(CHUNK);
            q = f.dated(q, outreach::Column::StartDate);
            let rows = q.all(db).await?;
            let last = rows.last().map(|m| m.id);
            Ok((
                rows.into_iter()
                    .map(|o| {
                        vec![
                            Cell::Int(o.id),
                            label(o.kind),
                            Cell::Text(o.city),
                            Cell::Date(o.start_date),
                            Cell::Date(o.end_date),
                            text(o.leading_official),
                            text(o.notes),
                        ]
                    })
                    .collect(),
                last,
            ))
        }
        Dataset::Blockers => {
            let mut q = blocker::Entity::find()
                .filter(blocker::Column::Id.gt(after))
                .order_by_asc(blocker::Column::Id)
                .limit(CHUNK);
            q = f.dated(q, blocker::Column::OpenedOn);
            if let Some(s) = &f.status {
                q = q.filter(blocker::Column::Status.eq(s.as_str()));
            }
            let rows = q.all(db).await?;
            let last = rows.last().map(|m| m.id);
            let names = names::<project::Entity>(db, rows.iter().map(|b| b.project_id)).await?;
            Ok((
                rows.into_iter()
                    .map(|b| {
                        let overdue = b.status != BlockerStatus::Resolved && b.due_date.is_some_and(|d| d < today);
                        vec![
                            Cell::Int(b.id),
                            text(names.get(&b.project_id).cloned()),
                            Cell::Text(b.title),
                            label(b.category),
                            label(b.status),
                            text(b.owner_unit),
                            text(b.assigned_leader),
                            Cell::Date(b.opened_on),
                            b.due_date.map_or(Cell::Null, Cell::Date),
                            b.resolved_on.map_or(Cell::Null, Cell::Date),
                            Cell::Bool(overdue),
                            text(b.resolution),
                        ]
                    })
                    .collect(),
                last,
            ))
        }
        Dataset::Incubation => {
            let mut q = incubation_candidate::Entity::find()
                .filter(incubation_candidate::Column::Id.gt(after))
                .order_by_asc(incubation_candidate::Column::Id)
                .limit(CHUNK);
            if let Some(s) = &f.stage {
                q = q.filter(incubation_candidate::Column::Stage.eq(s.as_str()));
            }
            let rows = q.all(db).await?;
            let last = rows.last().map(|m| m.id);
            let names = names::<company::Entity>(db, rows.iter().map(|c| c.company_id)).await?;
            Ok((
                rows.into_iter()
                    .map(|c| {
                        vec![
                            Cell::Int(c.id),
                            text(names.get(&c.company_id).cloned()),
                            Cell::Int(c.cohort_year.into()),
                            label(c.stage),
                        ]
                    })
                    .collect(),
                last,
            ))
        }
        Dataset::Funnel | Dataset::Kpis => Ok((computed(db, set, f).await?, None)),
        Dataset::Contacts => {
            let rows = contact::Entity::find()
                .filter(contact::Column::Id.gt(after))
                .order_by_asc(contact::Column::Id)
                .limit(CHUNK)
                .all(db)
                .await?;
            let last = rows.last().map(|m| m.id);
            let names = names::<company::Entity>(db, rows.iter().map(|c| c.company_id)).await?;
            Ok((
                rows.into_iter()
                    .map(|c| {
                        let c = masked(c, open_contacts);
                        vec![
                            Cell::Int(c.id),
                            text(names.get(&c.company_id).cloned()),
                            Cell::Text(c.name),
                            text(c.title),
                            text(c.phone),
                            text(c.email),
                        ]
                    })
                    .collect(),
                last,
            ))
        }
    }
}

/// The funnel and KPI tables of a period, computed by the analytics.
async fn computed(db: &DatabaseConnection, set: Dataset, f: &Filters) -> anyhow::Result<Vec<Vec<Cell>>> {
    use entity::{
        enums::{ProjectStage, TargetMetric},
        pipeline::Stage,
    };
    use jobs::analytics::{Analytics, Compare, FunnelKind, Pipeline, Scope};
    let p = jobs::period::Period::parse(f.period.as_deref().unwrap_or_default())?;
    let as_of = f.as_of.unwrap_or_else(today);
    let raw = jobs::analytics::load(
        db,
        as_of,
        if set == Dataset::Kpis {
            Scope::All
        } else {
            Scope::Projects
        },
    )
    .await?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Vec<Cell>>> {
        let a = Analytics::build(raw)?;
        let opt = |v: Option<f64>| v.map_or(Cell::Null, Cell::Float);
        if set == Dataset::Funnel {
            let mut out = Vec::new();
            for (kind, zh) in [(FunnelKind::Flow, "流量漏斗"), (FunnelKind::Cohort, "队列漏斗")] {
                let f = a.funnel(Pipeline::Projects, kind, &p, None)?;
                for (s, stage) in f.stages.iter().zip(ProjectStage::ORDER) {
                    out.push(vec![
                        Cell::Text(p.label.clone()),
                        Cell::Enum(format!("{kind:?}").to_lowercase(), zh),
                        label(*stage),
                        Cell::Int(s.count),
                        opt(s.conversion),
                        opt(s.median_days),
                        s.p90_days.map_or(Cell::Null, Cell::Int),
                        Cell::Int(s.previous_year_count),
                        opt(s.growth_pct),
                    ]);
                }
            }
            return Ok(out);
        }
        let k = a.kpis(&p)?;
        let row = |metric: &str, zh: &'static str, c: &Compare| {
            vec![
                Cell::Text(p.label.clone()),
                Cell::Enum(metric.into(), zh),
                Cell::Int(c.value),
                Cell::Int(c.previous),
                opt(c.growth_pct),
            ]
        };
        let money = |metric: TargetMetric, c: &jobs::analytics::MoneyCompare| {
            let yuan = |d: Decimal| Cell::Money(money::yuan(d).unwrap_or(0));
            vec![
                Cell::Text(p.label.clone()),
                label(metric),
                yuan(c.value),
                yuan(c.previous),
                opt(c.growth_pct),
            ]
        };
        Ok(vec![
            row("visit_batches", "接待客商批次", &k.visit_batches),
            row("person_times", "接待客商人次", &k.person_times),
            row("outreach_total", "招商活动次数", &k.outreach_total),
            row("projects_negotiating", "洽谈项目数", &k.projects_negotiating),
            row("projects_signed", "签约项目数", &k.projects_signed),
            row("projects_landed", "落地项目数", &k.projects_landed),
            row("projects_started", "开工项目数", &k.projects_started),
            row("projects_producing", "竣工投产项目数", &k.projects_producing),
            money(TargetMetric::SignedInvestment, &k.signed_investment),
            money(TargetMetric::FundsArrived, &k.funds_arrived),
            row("incubation_cultivating", "新纳入高企培育数", &k.incubation_cultivating),
            row("incubation_applied", "高企申报数", &k.incubation_applied),
            row("incubation_approved", "高企评审通过数", &k.incubation_approved),
            row("incubation_filed", "高企备案数", &k.incubation_filed),
        ])
    })
    .await?
}

/// The rows of a dataset, fetched a chunk at a time in id order.
pub fn rows(db: DatabaseConnection, set: Dataset, filters: Filters, open_contacts: bool) -> Rows {
    if matches!(set, Dataset::Funnel | Dataset::Kpis) {
        let once = stream::once(async move { computed(&db, set, &filters).await });
        return Box::pin(once.map_ok(|rows| stream::iter(rows.into_iter().map(Ok))).try_flatten());
    }
    let pages = stream::try_unfold(Some(0i64), move |after| {
        let (db, filters) = (db.clone(), filters.clone());
        async move {
            let Some(after) = after else { return Ok(None) };
            let (rows, last) = chunk(&db, set, &filters, after, open_contacts).await?;
            if rows.is_empty() {
                return Ok(None);
            }
            let next = if (rows.len() as u64) < CHUNK { None } else { last };
            Ok::<_, anyhow::Error>(Some((stream::iter(rows.into_iter().map(Ok)), next)))
        }
    });
    Box::pin(pages.try_flatten())
}

/// Writes an export to a file (the command line's `export`); answers the number of rows.
pub async fn to_file(
    db: DatabaseConnection,
    set: Dataset,
    filters: Filters,
    format: &str,
    out: &std::path::Path,
) -> anyhow::Result<u64> {
    use std::io::Write;
    let mut rows = rows(db, set, filters, true);
    let mut n = 0u64;
    match format {
        "xlsx" => {
            let all: Vec<_> = rows.try_collect().await?;
            n = all.len() as u64;
            let bytes = tokio::task::spawn_blocking(move || xlsx(set, all)).await??;
            std::fs::write(out, bytes)?;
        }
        "csv" | "json" => {
            let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
            let json = format == "json";
            w.write_all(if json { b"[" } else { &[] })?;
            if !json {
                w.write_all(&csv_head(set)?)?;
            }
            let mut batch = Vec::with_capacity(500);
            while let Some(r) = rows.try_next().await? {
                if json {
                    if n > 0 {
                        w.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut w, &json_row(set, &r))?;
                } else {
                    batch.push(r);
                    if batch.len() == 500 {
                        w.write_all(&csv_lines(&batch)?)?;
                        batch.clear();
                    }
                }
                n += 1;
            }
            w.write_all(&csv_lines(&batch)?)?;
            if json {
                w.write_all(b"]")?;
            }
            w.flush()?;
        }
        other => anyhow::bail!("unknown format {other} (csv, xlsx or json)"),
    }
    Ok(n)
}

/// Neutralises a text a spreadsheet could run as a formula.
pub fn neutralise(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// A cell as CSV text.
fn csv_text(cell: &Cell) -> String {
    match cell {
        Cell::Null => String::new(),
        Cell::Text(s) => neutralise(s).into_owned(),
        Cell::Enum(_, zh) => (*zh).to_owned(),
        Cell::Int(i) => i.to_string(),
        Cell::Date(d) => d.to_string(),
        Cell::Money(y) => money::wan(*y).to_string(),
        Cell::Float(v) => v.to_string(),
        Cell::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
    }
}

/// A cell as JSON.
fn json_value(cell: &Cell) -> serde_json::Value {
    match cell {
        Cell::Null => serde_json::Value::Null,
        Cell::Text(s) => s.clone().into(),
        Cell::Enum(v, _) => v.clone().into(),
        Cell::Int(i) => (*i).into(),
        Cell::Date(d) => d.to_string().into(),
        Cell::Money(y) => money::wan(*y).to_string().into(),
        Cell::Float(v) => serde_json::Number::from_f64(*v).map_or(serde_json::Value::Null, Into::into),
        Cell::Bool(b) => (*b).into(),
    }
}

/// CSV lines for a batch of rows (RFC 4180 quoting).
pub fn csv_lines(rows: &[Vec<Cell>]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for r in rows {
        w.write_record(r.iter().map(csv_text))?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// The BOM and header line of a CSV export.
pub fn csv_head(set: Dataset) -> anyhow::Result<Vec<u8>> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(set.columns().iter().map(|c| c.header))?;
    out.extend(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?);
    Ok(out)
}

/// One JSON object for a row, keyed by the English column keys.
pub fn json_row(set: Dataset, row: &[Cell]) -> serde_json::Value {
    serde_json::Value::Object(
        set.columns()
            .iter()
            .zip(row)
            .map(|(c, v)| (c.key.to_owned(), json_value(v)))
            .collect(),
    )
}

/// The whole XLSX workbook for rows: typed cells (dates as dates, money as numbers in 万元), a frozen header row,
/// widths that fit. Runs in the blocking pool.
pub fn xlsx(set: Dataset, rows: Vec<Vec<Cell>>) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, FormatAlign, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(set.names().1)?;
    let head = Format::new()
        .set_bold()
        .set_background_color("#DDEBF7")
        .set_align(FormatAlign::Center);
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let money_format = Format::new().set_num_format("#,##0.0000");
    for (i, col) in set.columns().iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, col.header, &head)?;
        sheet.set_column_width(i as u16, col.width)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (i, cell) in row.iter().enumerate() {
            let i = i as u16;
            match cell {
                Cell::Null => {}
                Cell::Text(s) => {
                    sheet.write_string(r, i, neutralise(s))?;
                }
                Cell::Enum(_, zh) => {
                    sheet.write_string(r, i, *zh)?;
                }
                Cell::Int(v) => {
                    sheet.write_number(r, i, *v as f64)?;
                }
                Cell::Date(d) => {
                    sheet.write_date_with_format(r, i, d, &date)?;
                }
                Cell::Money(y) => {
                    // 万元 with four decimals: whole yuan, exact in an f64 far beyond any park's budget.
                    sheet.write_number_with_format(r, i, *y as f64 / 10_000.0, &money_format)?;
                }
                Cell::Bool(b) => {
                    sheet.write_string(r, i, if *b { "是" } else { "否" })?;
                }
                Cell::Float(v) => {
                    sheet.write_number(r, i, *v)?;
                }
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266) for a Chinese file name with an ASCII fallback.
pub fn content_disposition(ascii: &str, chinese: &str) -> String {
    // RFC 5987 attr-chars stay as they are; everything else is percent-encoded.
    const ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(chinese, ENCODE).to_string();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for bad in ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(bad).starts_with('\''), "{bad}");
        }
        assert_eq!(neutralise("万维无人机"), "万维无人机");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn csv_quotes_and_bom() {
        let head = csv_head(Dataset::Outreach).unwrap();
        assert!(head.starts_with(b"\xEF\xBB\xBF\xE7\xBC\x96\xE5\x8F\xB7,"));
        let lines = csv_lines(&[vec![
            Cell::Text("a,\"b\"".into()),
            Cell::Money(12_345),
            Cell::Bool(true),
        ]])
        .unwrap();
        assert_eq!(String::from_utf8(lines).unwrap(), "\"a,\"\"b\"\"\",1.2345,是\r\n");
    }

    #[test]
    fn disposition_has_both_names() {
        assert_eq!(
            content_disposition("visits.csv", "来访接待.csv"),
            "attachment; filename=\"visits.csv\"; filename*=UTF-8''%E6%9D%A5%E8%AE%BF%E6%8E%A5%E5%BE%85.csv"
        );
    }
}
