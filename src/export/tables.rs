//! What each dataset exports: its records, read a chunk at a time through the services, and its columns, each
//! written beside the cell it takes from a record so the two never drift apart.

use std::future::Future;

use chrono::NaiveDate;
use entity::{
    contact,
    enums::{BlockerStatus, IncubationStage, Label, ProjectStage},
    stage_event,
};
use sea_orm::{ActiveEnum, DatabaseConnection};

use super::{CHUNK, Cell, Column, Filters};
use crate::service::{
    AppError, AppResult,
    attachments::{self, Holder},
    blockers, companies,
    incubation::{self, CandidateView},
    outreach::{self, OutreachView},
    projects::{self, ProjectView},
    support_funds,
    visits::{VisitLine, list_of},
};

/// A column of an export and the cell it takes from a record.
pub struct Field<R> {
    /// The column.
    pub column: Column,
    /// The record's cell in that column.
    pub cell: fn(&R) -> Cell,
}

const fn f<R>(key: &'static str, header: &'static str, width: f64, cell: fn(&R) -> Cell) -> Field<R> {
    Field {
        column: Column { key, header, width },
        cell,
    }
}

/// A record of a dataset as a row.
pub trait Record: Sized + Send + 'static {
    /// The columns and their cells.
    const FIELDS: &'static [Field<Self>];

    /// The record as a row.
    fn row(&self) -> Vec<Cell> {
        Self::FIELDS.iter().map(|f| (f.cell)(self)).collect()
    }
}

/// The records of a dataset read a chunk at a time.
pub trait Table: Record {
    /// The record's id (exports read in id order).
    fn id(&self) -> i64;

    /// The next chunk of records after the id `after` that the filters keep.
    fn read(
        db: &DatabaseConnection,
        f: &Filters,
        after: i64,
        open_contacts: bool,
    ) -> impl Future<Output = AppResult<Vec<Self>>> + Send;
}

fn text(s: &Option<String>) -> Cell {
    s.clone().map_or(Cell::Null, Cell::Text)
}

fn date(d: Option<NaiveDate>) -> Cell {
    d.map_or(Cell::Null, Cell::Date)
}

/// A label cell: the API value (JSON) and the Chinese label (CSV, XLSX).
pub fn label<T: Label>(v: T) -> Cell {
    Cell::Enum(v.to_value(), v.label())
}

/// A filter value that must be one of an enum's values (400 otherwise).
fn one_of<T: ActiveEnum<Value = String>>(field: &str, v: Option<&str>) -> AppResult<Option<T>> {
    v.map(|s| {
        T::try_from_value(&s.to_owned()).map_err(|_| {
            AppError::invalid(
                field,
                format!("unknown {field} {s:?}"),
                format!("{field} 的取值无效:{s}"),
            )
        })
    })
    .transpose()
}

impl Filters {
    /// Checks the filter values the dataset reads (an unknown stage or status is a 400, not an empty file).
    pub fn check(&self, set: super::Dataset) -> AppResult<()> {
        use super::Dataset as D;
        match set {
            D::Projects => one_of::<ProjectStage>("stage", self.stage.as_deref()).map(drop),
            D::Incubation => one_of::<IncubationStage>("stage", self.stage.as_deref()).map(drop),
            D::Blockers => one_of::<BlockerStatus>("status", self.status.as_deref()).map(drop),
            _ => Ok(()),
        }
    }

    fn range(&self) -> (Option<NaiveDate>, Option<NaiveDate>) {
        (self.from, self.to)
    }
}

/// A project with its current stage and the names of its attachments.
pub struct ProjectRow {
    view: ProjectView,
    stage: ProjectStage,
    files: Vec<String>,
}

impl Record for ProjectRow {
    const FIELDS: &'static [Field<Self>] = &[
        f("id", "编号", 8.0, |r| Cell::Int(r.view.project.id)),
        f("name", "项目名称", 30.0, |r| {
            Cell::Text(r.view.project.name.clone())
        }),
        f("company", "企业", 30.0, |r| Cell::Text(r.view.company_name.clone())),
        f("industry", "行业", 12.0, |r| text(&r.view.project.industry)),
        f("source", "来源", 10.0, |r| label(r.view.project.source)),
        f("stage", "当前阶段", 10.0, |r| label(r.stage)),
        f("is_major", "重大项目", 9.0, |r| Cell::Bool(r.view.project.is_major)),
        f("capital_origin", "资本来源", 9.0, |r| {
            label(r.view.project.capital_origin)
        }),
        f("agreed_investment", "协议投资额(万元)", 16.0, |r| {
            r.view.project.agreed_investment_yuan.map_or(Cell::Null, Cell::Money)
        }),
        f("funds_arrived", "到位资金(万元)", 14.0, |r| {
            Cell::Money(r.view.funds_arrived.as_yuan())
        }),
        f("contact_leader", "联系领导", 10.0, |r| text(&r.view.contact_leader)),
        f("responsible_unit", "责任单位", 14.0, |r| {
            text(&r.view.project.responsible_unit)
        }),
        f("lead_on", "线索日期", 12.0, |r| {
            date(r.view.project.reached_lead_on)
        }),
        f("negotiating_on", "洽谈日期", 12.0, |r| {
            date(r.view.project.reached_negotiating_on)
        }),
        f("signed_on", "签约日期", 12.0, |r| {
            date(r.view.project.reached_signed_on)
        }),
        f("landed_on", "落地日期", 12.0, |r| {
            date(r.view.project.reached_landed_on)
        }),
        f("started_on", "开工日期", 12.0, |r| {
            date(r.view.project.reached_started_on)
        }),
        f("producing_on", "投产日期", 12.0, |r| {
            date(r.view.project.reached_producing_on)
        }),
        f("attachments", "附件数", 8.0, |r| Cell::Int(r.files.len() as i64)),
        f("attachment_names", "附件", 40.0, |r| {
            if r.files.is_empty() {
                Cell::Null
            } else {
                Cell::Text(r.files.join("、"))
            }
        }),
    ];
}

impl Table for ProjectRow {
    fn id(&self) -> i64 {
        self.view.project.id
    }

    async fn read(db: &DatabaseConnection, f: &Filters, after: i64, _: bool) -> AppResult<Vec<Self>> {
        let filter = projects::ProjectFilter {
            visible: f.visible.clone(),
            stage: one_of("stage", f.stage.as_deref())?,
            industry: f.industry.clone(),
            reached_from: f.from,
            reached_to: f.to,
            ..Default::default()
        };
        let views = projects::after(db, filter, after, CHUNK).await?;
        let ids: Vec<i64> = views.iter().map(|v| v.project.id).collect();
        let mut files = attachments::names_by_record(db, Holder::Project, &ids).await?;
        Ok(views
            .into_iter()
            .map(|view| ProjectRow {
                stage: view.history.current(view.project.stage),
                files: files.remove(&view.project.id).unwrap_or_default(),
                view,
            })
            .collect())
    }
}

/// A stage event with its project's name.
pub struct EventRow(stage_event::Model, String);

impl Record for EventRow {
    const FIELDS: &'static [Field<Self>] = &[
        f("id", "编号", 8.0, |r| Cell::Int(r.0.id)),
        f("project_id", "项目编号", 10.0, |r| Cell::Int(r.0.project_id)),
        f("project", "项目名称", 30.0, |r| Cell::Text(r.1.clone())),
        f("stage", "阶段", 10.0, |r| label(r.0.stage)),
        f("from_stage", "原阶段", 10.0, |r| {
            r.0.from_stage.map_or(Cell::Null, label)
        }),
        f("occurred_on", "日期", 12.0, |r| Cell::Date(r.0.occurred_on)),
        f("reason", "原因", 24.0, |r| text(&r.0.reason)),
        f("note", "备注", 24.0, |r| text(&r.0.note)),
        f("recorded_by", "记录人", 10.0, |r| text(&r.0.recorded_by)),
    ];
}

impl Table for EventRow {
    fn id(&self) -> i64 {
        self.0.id
    }

    async fn read(db: &DatabaseConnection, f: &Filters, after: i64, _: bool) -> AppResult<Vec<Self>> {
        let (from, to) = f.range();
        let rows = projects::events_after(db, (from, to, &f.visible), &[], after, CHUNK).await?;
        Ok(rows.into_iter().map(|(e, name)| EventRow(e, name)).collect())
    }
}

/// A visit with its companies' names.
pub struct VisitRow(pub VisitLine);

impl Record for VisitRow {
    const FIELDS: &'static [Field<Self>] = &[
        f("id", "编号", 8.0, |r| Cell::Int(r.0.id)),
        f("visit_date", "来访日期", 12.0, |r| Cell::Date(r.0.visit_date)),
        f("headcount", "人次", 8.0, |r| Cell::Int(r.0.headcount.into())),
        f("companies", "来访企业", 36.0, |r| {
            Cell::Text(r.0.companies.join("、"))
        }),
        f("receiving_leaders", "接待领导", 16.0, |r| {
            Cell::Text(list_of(&r.0.receiving_leaders).join("、"))
        }),
        f("purpose", "来访事由", 24.0, |r| text(&r.0.purpose)),
        f("summary", "洽谈情况", 30.0, |r| text(&r.0.summary)),
    ];
}

impl Record for OutreachView {
    const FIELDS: &'static [Field<Self>] = &[
        f("id", "编号", 8.0, |r| Cell::Int(r.outreach.id)),
        f("kind", "类型", 10.0, |r| label(r.outreach.kind)),
        f("city", "城市", 10.0, |r| Cell::Text(r.outreach.city.clone())),
        f("start_date", "开始日期", 12.0, |r| {
            Cell::Date(r.outreach.start_date)
        }),
        f("end_date", "结束日期", 12.0, |r| Cell::Date(r.outreach.end_date)),
        f("leading_official", "带队领导", 12.0, |r| {
            text(&r.outreach.leading_official)
        }),
        f("notes", "备注", 30.0, |r| text(&r.outreach.notes)),
    ];
}

impl Table for OutreachView {
    fn id(&self) -> i64 {
        self.outreach.id
    }

    async fn read(db: &DatabaseConnection, f: &Filters, after: i64, _: bool) -> AppResult<Vec<Self>> {
        let filter = outreach::OutreachFilter {
            visible: f.visible.clone(),
            from: f.from,
            to: f.to,
            ..Default::default()
        };
        outreach::after(db, filter, after, CHUNK).await
    }
}

impl Record for blockers::BlockerView {
    const FIELDS: &'static [Field<Self>] = &[
        f("id", "编号", 8.0, |r| Cell::Int(r.blocker.id)),
        f("project", "项目名称", 30.0, |r| Cell::Text(r.project_name.clone())),
        f("title", "问题", 30.0, |r| Cell::Text(r.blocker.title.clone())),
        f("category", "类别", 8.0, |r| label(r.blocker.category)),
        f("status", "状态", 8.0, |r| label(r.blocker.status)),
        f("owner_unit", "责任单位", 14.0, |r| text(&r.blocker.owner_unit)),
        f("assigned_leader", "包联领导", 10.0, |r| {
            text(&r.blocker.assigned_leader)
        }),
        f("opened_on", "提出日期", 12.0, |r| Cell::Date(r.blocker.opened_on)),
        f("due_date", "截止日期", 12.0, |r| date(r.blocker.due_date)),
        f("resolved_on", "办结日期", 12.0, |r| date(r.blocker.resolved_on)),
        f("overdue", "逾期", 6.0, |r| Cell::Bool(r.overdue)),
        f("resolution", "解决情况", 30.0, |r| text(&r.blocker.resolution)),
    ];
}

impl Table for blockers::BlockerView {
    fn id(&self) -> i64 {
        self.blocker.id
    }

    async fn read(db: &DatabaseConnection, f: &Filters, after: i64, _: bool) -> AppResult<Vec<Self>> {
        let filter = blockers::BlockerFilter {
            visible: f.visible.clone(),
            status: one_of("status", f.status.as_deref())?,
            opened_from: f.from,
            opened_to: f.to,
            ..Default::default()
        };
        blockers::after(db, filter, after, CHUNK).await
    }
}

impl Record for support_funds::SupportFundView {
    const FIELDS: &'static [Field<Self>] = &[
        f("id", "编号", 8.0, |r| Cell::Int(r.fund.id)),
        f("company", "企业名称", 30.0, |r| Cell::Text(r.company_name.clone())),
        f("programme", "项目/政策名称", 30.0, |r| {
            Cell::Text(r.fund.programme.clone())
        }),
        f("level", "级别", 8.0, |r| label(r.fund.level)),
        f("amount", "金额(万元)", 14.0, |r| Cell::Money(r.fund.amount_yuan)),
        f("approved_on", "批准日期", 12.0, |r| Cell::Date(r.fund.approved_on)),
        f("note", "备注", 30.0, |r| text(&r.fund.note)),
    ];
}

impl Table for support_funds::SupportFundView {
    fn id(&self) -> i64 {
        self.fund.id
    }

    async fn read(db: &DatabaseConnection, f: &Filters, after: i64, _: bool) -> AppResult<Vec<Self>> {
        let filter = support_funds::SupportFundFilter {
            from: f.from,
            to: f.to,
            ..Default::default()
        };
        support_funds::after(db, filter, after, CHUNK).await
    }
}

impl Record for CandidateView {
    const FIELDS: &'static [Field<Self>] = &[
        f("id", "编号", 8.0, |r| Cell::Int(r.candidate.id)),
        f("company", "企业", 30.0, |r| Cell::Text(r.company_name.clone())),
        f("cohort_year", "培育年度", 10.0, |r| {
            Cell::Int(r.candidate.cohort_year.into())
        }),
        f("stage", "当前阶段", 10.0, |r| label(r.candidate.stage)),
    ];
}

impl Table for CandidateView {
    fn id(&self) -> i64 {
        self.candidate.id
    }

    async fn read(db: &DatabaseConnection, f: &Filters, after: i64, _: bool) -> AppResult<Vec<Self>> {
        let filter = incubation::CandidateFilter {
            visible: f.visible.clone(),
            stage: one_of("stage", f.stage.as_deref())?,
            ..Default::default()
        };
        incubation::after(db, filter, after, CHUNK).await
    }
}

/// A contact with its company's name, masked unless the caller may see contact details.
pub struct ContactRow(contact::Model, String);

impl Record for ContactRow {
    const FIELDS: &'static [Field<Self>] = &[
        f("id", "编号", 8.0, |r| Cell::Int(r.0.id)),
        f("company", "企业", 30.0, |r| Cell::Text(r.1.clone())),
        f("name", "姓名", 10.0, |r| Cell::Text(r.0.name.clone())),
        f("title", "职务", 14.0, |r| text(&r.0.title)),
        f("phone", "电话", 16.0, |r| text(&r.0.phone)),
        f("email", "电子邮箱", 26.0, |r| text(&r.0.email)),
    ];
}

impl Table for ContactRow {
    fn id(&self) -> i64 {
        self.0.id
    }

    async fn read(db: &DatabaseConnection, _: &Filters, after: i64, open: bool) -> AppResult<Vec<Self>> {
        let rows = companies::contacts_after(db, open, after, CHUNK).await?;
        Ok(rows.into_iter().map(|(c, name)| ContactRow(c, name)).collect())
    }
}

/// The columns of a table.
pub fn columns<T: Record>() -> Vec<Column> {
    T::FIELDS.iter().map(|f| f.column).collect()
}
