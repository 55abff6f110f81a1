//! The 重点招商项目台账: one row per project, with its company, its figures and the dates of its stages
//! (洽谈 / 签约 / 落地 / 开工 / 投产). A row's dates become the project's stage history; a project already recorded
//! gains the later stages the ledger adds, in order.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{
    company,
    enums::{CapitalOrigin, Label, ProjectSource, ProjectStage},
    pipeline::Stage,
    project,
};
use sea_orm::DatabaseExecutor;

use super::{
    Issue, Outcome, RowReader, Target,
    layout::fields,
    stages::{self, Dated},
    value::{Status, name_key},
};
use crate::service::{
    Actor, AppResult,
    imports::{self, CompanyBefore, ProjectBefore, Touched},
    input::{CreditCode, Day, Money, Name, Note, Patch, Short},
    people,
    projects::{self, NewProject, Origin, ProjectChanges, ProjectWithHistory, Unit as UnitName},
    scope,
};

mod compare;

use compare::compare;

fields! {
    /// A column of a project ledger.
    Col;
    Name name "项目名称" Text required "年产10万套新能源汽车零部件项目" ["项目名称", "项目", "项目名", "招商项目", "project", "project name"];
    Company company "企业名称" Text required "精诚科技有限公司" ["企业名称", "投资方", "投资主体", "投资企业", "投资单位", "客商单位", "签约企业", "企业", "公司名称", "单位名称", "company", "investor"];
    CreditCode credit_code "统一社会信用代码" Text optional "91320594MA1MWJTQ42" ["统一社会信用代码", "信用代码", "社会信用代码", "credit code"];
    Industry industry "所属行业" Text optional "新能源" ["所属行业", "行业", "产业类别", "所属产业", "产业", "行业类别", "industry"];
    Investment investment "协议投资额(万元)" Amount optional "50000" ["协议投资额", "计划总投资", "总投资", "投资额", "投资总额", "协议总投资", "计划投资", "agreed investment", "investment"];
    LandMu land_mu "用地需求(亩)" Number optional "120" ["用地需求", "用地", "用地面积", "用地规模", "占地面积", "land"];
    ContactLeader contact_leader "联系领导" Text optional "王局长" ["联系领导", "包联领导", "包抓领导", "责任领导", "分管领导", "contact leader"];
    ResponsibleUnit responsible_unit "责任单位" Text optional "招商一局" ["责任单位", "承办单位", "牵头单位", "负责单位", "responsible unit"];
    Team team "工作专班" Text optional "新能源专班" ["工作专班", "专班", "team"];
    IsMajor is_major "是否重大项目" YesNo optional "是" ["是否重大项目", "重大项目", "是否重大", "major"];
    CapitalOrigin capital_origin "资本来源" Word optional "内资" ["资本来源", "内外资", "投资来源", "资金性质", "capital origin"];
    Source source "项目来源" Word optional "来访接待" ["项目来源", "来源", "信息来源", "source"];
    Status status "项目状态" Word optional "已签约" ["项目状态", "状态", "当前阶段", "项目阶段", "进展阶段", "推进状态", "status", "stage"];
    LeadOn lead_on "线索时间" Date optional "2024-01-08" ["线索时间", "首次接触时间", "接触时间", "获取时间", "信息获取时间", "lead date"];
    NegotiatingOn negotiating_on "洽谈时间" Date optional "2024-02-20" ["洽谈时间", "洽谈日期", "首次洽谈时间", "开始洽谈时间", "negotiation date"];
    SignedOn signed_on "签约时间" Date optional "2024-03-15" ["签约时间", "签约日期", "signing date"];
    LandedOn landed_on "落地时间" Date optional "" ["落地时间", "落地日期", "注册时间", "注册日期", "落地注册时间", "landing date"];
    StartedOn started_on "开工时间" Date optional "" ["开工时间", "开工日期", "start date"];
    ProducingOn producing_on "投产时间" Date optional "" ["投产时间", "投产日期", "竣工投产时间", "竣工时间", "production date"];
    DroppedOn dropped_on "终止时间" Date optional "" ["终止时间", "终止日期", "drop date"];
    DropReason drop_reason "终止原因" Text optional "" ["终止原因", "drop reason"];
    Notes notes "备注" Text optional "由来访接待转化" ["备注", "情况说明", "notes", "remarks"];
}

/// The date column of each stage, in the order of the pipeline, then 终止.
const STAGE_DATES: [(ProjectStage, Col); 7] = [
    (ProjectStage::Lead, Col::LeadOn),
    (ProjectStage::Negotiating, Col::NegotiatingOn),
    (ProjectStage::Signed, Col::SignedOn),
    (ProjectStage::Landed, Col::LandedOn),
    (ProjectStage::Started, Col::StartedOn),
    (ProjectStage::Producing, Col::ProducingOn),
    (ProjectStage::Dropped, Col::DroppedOn),
];

/// A project row, read and checked.
pub struct Row {
    line: usize,
    name: Name,
    company: Name,
    credit_code: Option<CreditCode>,
    industry: Option<Short>,
    investment: Option<Money>,
    land_mu: Option<f64>,
    contact_leader: Option<Short>,
    responsible_unit: Option<UnitName>,
    team: Option<UnitName>,
    is_major: Option<bool>,
    capital_origin: Option<CapitalOrigin>,
    source: Option<ProjectSource>,
    notes: Option<Note>,
    /// The stages with their dates, in stage order (终止 last) and never going back in time.
    dates: Dated<ProjectStage>,
    drop_reason: Option<Note>,
}

super::ledger!(
    /// 重点招商项目台账.
    Projects
);

/// Reads one row; answers `None` when it has errors (recorded in `out`).
fn read(r: &mut RowReader<'_>) -> Option<Row> {
    let name = r.required(Col::Name, |v| Name::parse("name", v));
    let company = r.required(Col::Company, |v| Name::parse("company", v));
    let credit_code = r.text(Col::CreditCode, |v| CreditCode::parse("credit_code", v).map(Some));
    let industry = r.text(Col::Industry, |v| Short::parse_opt("industry", Some(v)));
    let investment = r.amount(Col::Investment);
    let land_mu = r.quantity(Col::LandMu);
    let contact_leader = r.text(Col::ContactLeader, |v| Short::parse_opt("contact_leader", Some(v)));
    let responsible_unit = r.text(Col::ResponsibleUnit, |v| {
        UnitName::parse_opt("responsible_unit", Some(v))
    });
    let team = r.text(Col::Team, |v| UnitName::parse_opt("team", Some(v)));
    let is_major = r.yes_no(Col::IsMajor);
    let capital_origin = r.word(Col::CapitalOrigin, super::value::capital_origin);
    let source = r.word(Col::Source, super::value::source);
    let status = r.word(Col::Status, super::value::status);
    let notes = r.text(Col::Notes, |v| Note::parse_opt("notes", Some(v)));
    let drop_reason = r.text(Col::DropReason, |v| Note::parse_opt("drop_reason", Some(v)));
    let dates = stages::read(r, &STAGE_DATES);
    let dates = with_status(r, dates, status);
    if r.failed() {
        return None;
    }
    Some(Row {
        line: r.line(),
        name: name?,
        company: company?,
        credit_code,
        industry,
        investment,
        land_mu,
        contact_leader,
        responsible_unit,
        team,
        is_major,
        capital_origin,
        source,
        notes,
        drop_reason: drop_reason.or_else(|| Note::parse_opt("drop_reason", Some("台账标注为终止")).ok().flatten()),
        dates: dates?,
    })
}

/// The dates checked against the status column: a status beyond the last dated stage has no date to record it
/// by; 暂停 is not a stage (a warning); 终止 needs its date.
fn with_status(
    r: &mut RowReader<'_>,
    dates: Dated<ProjectStage>,
    status: Option<Status>,
) -> Option<Dated<ProjectStage>> {
    let reached = dates
        .iter()
        .filter(|(s, ..)| *s != ProjectStage::Dropped)
        .map(|(s, ..)| *s)
        .max_by_key(|s| s.rank());
    match status {
        Some(Status::Stage(ProjectStage::Dropped)) if !dates.iter().any(|(s, ..)| *s == ProjectStage::Dropped) => {
            r.error_at(Col::Status, "missing_stage_date", "状态为“终止”,但没有终止时间".into());
        }
        Some(Status::Stage(s)) if s != ProjectStage::Dropped && reached.is_none_or(|x| x.rank() < s.rank()) => {
            r.error_at(
                Col::Status,
                "missing_stage_date",
                format!("状态为“{}”,但没有{}时间", s.label(), s.label()),
            );
        }
        Some(Status::Stage(s)) if s != ProjectStage::Dropped && reached.is_some_and(|x| x.rank() > s.rank()) => {
            r.warn_at(
                Col::Status,
                "status_behind_dates",
                format!("状态“{}”落后于已填的时间节点,按时间节点计", s.label()),
            );
        }
        Some(Status::Paused) => {
            r.warn_at(
                Col::Status,
                "paused",
                "“暂停”不是项目阶段,项目保持时间节点所示阶段".into(),
            );
        }
        _ => {}
    }
    if reached.is_none() && !r.failed() {
        r.error_at(
            Col::NegotiatingOn,
            "missing_stage_date",
            "至少需要一个时间节点(如洽谈时间、签约时间)".into(),
        );
    }
    reached?;
    Some(dates)
}

/// Which company a row names: one already recorded, or one the import creates (its index among the new).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum CompanyRef {
    Stored(i64),
    New(usize),
}

/// A company the import creates.
struct NewCompany {
    name: Name,
    credit_code: Option<CreditCode>,
    industry: Option<Short>,
}

/// The companies rows are matched to: by credit code, else by normalised name; stored ones first.
struct Companies {
    stored: HashMap<i64, company::Model>,
    by_code: HashMap<String, CompanyRef>,
    by_key: HashMap<String, CompanyRef>,
    new: Vec<NewCompany>,
    /// Stored companies whose missing credit code a row fills in.
    codes: HashMap<i64, CreditCode>,
}

impl Companies {
    fn new(stored: Vec<company::Model>) -> Self {
        let mut c = Companies {
            stored: HashMap::new(),
            by_code: HashMap::new(),
            by_key: HashMap::new(),
            new: Vec::new(),
            codes: HashMap::new(),
        };
        for m in stored {
            if let Some(code) = &m.credit_code {
                c.by_code.insert(code.clone(), CompanyRef::Stored(m.id));
            }
            c.by_key.entry(name_key(&m.name)).or_insert(CompanyRef::Stored(m.id));
            c.stored.insert(m.id, m);
        }
        c
    }

    fn code_of(&self, r: CompanyRef) -> Option<&str> {
        match r {
            CompanyRef::Stored(id) => self
                .codes
                .get(&id)
                .map(CreditCode::as_str)
                .or(self.stored[&id].credit_code.as_deref()),
            CompanyRef::New(i) => self.new[i].credit_code.as_ref().map(CreditCode::as_str),
        }
    }

    /// The company of a row; a name matching a company with another credit code is an error.
    fn resolve(&mut self, row: &Row, out: &mut Outcome) -> Option<CompanyRef> {
        if let Some(code) = &row.credit_code
            && let Some(r) = self.by_code.get(code.as_str())
        {
            return Some(*r);
        }
        let key = name_key(row.company.as_str());
        let Some(&r) = self.by_key.get(&key) else {
            let r = CompanyRef::New(self.new.len());
            self.new.push(NewCompany {
                name: row.company.clone(),
                credit_code: row.credit_code.clone(),
                industry: row.industry.clone(),
            });
            self.by_key.insert(key, r);
            if let Some(code) = &row.credit_code {
                self.by_code.insert(code.as_str().to_owned(), r);
            }
            return Some(r);
        };
        match (row.credit_code.as_ref(), self.code_of(r)) {
            (Some(code), Some(other)) if code.as_str() != other => {
                out.error(Issue::at(
                    row.line,
                    out.column(Col::CreditCode),
                    Some(code.as_str()),
                    "credit_code_mismatch",
                    format!(
                        "企业“{}”已登记的统一社会信用代码为 {other},与本行不一致",
                        row.company.as_str()
                    ),
                ));
                None
            }
            (Some(code), None) => {
                match r {
                    CompanyRef::Stored(id) => {
                        self.codes.insert(id, code.clone());
                    }
                    CompanyRef::New(i) => self.new[i].credit_code = Some(code.clone()),
                }
                self.by_code.insert(code.as_str().to_owned(), r);
                Some(r)
            }
            _ => Some(r),
        }
    }
}

/// What a row does to a stored project.
struct Update {
    before: project::Model,
    last_event_id: i64,
    changes: ProjectChanges,
    moves: Vec<(ProjectStage, NaiveDate)>,
}

/// What a row does.
enum Plan {
    Create(CompanyRef),
    Update(Box<Update>),
    Unchanged,
}

/// Reports a row naming a project the importer does not see.
fn refuse_unseen(row: &Row, out: &mut Outcome) {
    out.error(Issue::at(
        row.line,
        out.column(Col::Name),
        Some(row.name.as_str()),
        "out_of_scope",
        "该企业的同名项目由其他部门负责,不在您的数据权限内,不能导入或修改".into(),
    ));
}

/// Matches the rows to what is stored and, when `commit`, writes them through the services in the caller's
/// transaction. A row whose plan breaks a rule is reported and left out.
async fn import(to: Target<'_>, rows: Vec<Row>, out: &mut Outcome) -> AppResult<Vec<Touched>> {
    let Target { db, actor, commit } = to;
    let mut companies = Companies::new(imports::companies(db).await?);
    let refs: Vec<Option<CompanyRef>> = rows.iter().map(|row| companies.resolve(row, out)).collect();
    let stored_ids: Vec<i64> = refs
        .iter()
        .filter_map(|r| match r {
            Some(CompanyRef::Stored(id)) => Some(*id),
            _ => None,
        })
        .collect();
    let existing = imports::projects_of(db, &stored_ids).await?;
    let visible = scope::visible(db, actor).await?;
    let out_of_scope = scope::unseen_among(db, &visible, existing.iter().map(|p| p.id)).await?;
    let mut events = imports::events_of(db, &existing.iter().map(|p| p.id).collect::<Vec<_>>()).await?;
    let leader_ids: Vec<i64> = existing.iter().filter_map(|p| p.contact_leader_id).collect();
    let leaders = people::display_names(db, leader_ids).await?;
    let mut by_key: HashMap<(i64, String), project::Model> = existing
        .into_iter()
        .map(|p| ((p.company_id, name_key(&p.name)), p))
        .collect();
    let mut seen: HashMap<(CompanyRef, String), usize> = HashMap::new();
    let mut plans: Vec<(usize, Plan)> = Vec::with_capacity(rows.len());
    for (i, (row, cref)) in rows.iter().zip(refs).enumerate() {
        let Some(cref) = cref else { continue };
        let key = name_key(row.name.as_str());
        if let Some(first) = seen.insert((cref, key.clone()), row.line) {
            out.error(Issue::at(
                row.line,
                out.column(Col::Name),
                Some(row.name.as_str()),
                "duplicate_row",
                format!("与第 {first} 行是同一项目"),
            ));
            continue;
        }
        let stored = match cref {
            CompanyRef::Stored(cid) => by_key.remove(&(cid, key)),
            CompanyRef::New(_) => None,
        };
        let plan = match stored {
            None => Plan::Create(cref),
            // The project is another department's: neither a second one nor a change to theirs.
            Some(p) if out_of_scope.contains(&p.id) => {
                refuse_unseen(row, out);
                continue;
            }
            Some(p) => {
                let history = events.remove(&p.id).unwrap_or_default();
                let leader = p.contact_leader_id.and_then(|id| leaders.get(&id).cloned());
                match compare(row, (p, leader), &history, out) {
                    Some(plan) => plan,
                    None => continue,
                }
            }
        };
        match plan {
            Plan::Create(_) => out.created += 1,
            Plan::Update(_) => out.updated += 1,
            Plan::Unchanged => out.unchanged += 1,
        }
        plans.push((i, plan));
    }
    let mut new_used: Vec<usize> = plans
        .iter()
        .filter_map(|(_, p)| match p {
            Plan::Create(CompanyRef::New(i)) => Some(*i),
            _ => None,
        })
        .collect();
    new_used.sort_unstable();
    new_used.dedup();
    out.companies_created = new_used.len();
    if !commit || !out.may_write() {
        return Ok(Vec::new());
    }
    write(db, actor, rows, plans, companies, new_used).await
}

/// Writes the plans through the services: new companies, filled-in credit codes, new projects with their
/// histories, then the changes and later stages of stored projects.
async fn write(
    db: &DatabaseExecutor<'_>,
    actor: &Actor,
    rows: Vec<Row>,
    plans: Vec<(usize, Plan)>,
    companies: Companies,
    used_new: Vec<usize>,
) -> AppResult<Vec<Touched>> {
    let mut touched = Vec::new();
    let new_ids = write_companies(db, companies, used_new, &mut touched).await?;
    let mut rows: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    for (i, plan) in plans {
        match plan {
            Plan::Create(cref) => {
                let company_id = match cref {
                    CompanyRef::Stored(id) => id,
                    CompanyRef::New(n) => new_ids[&n],
                };
                if let Some(row) = rows[i].take() {
                    creates.push(new_project(row, company_id)?);
                }
            }
            Plan::Update(u) => updates.push((rows[i].take(), u)),
            Plan::Unchanged => {}
        }
    }
    let ids = projects::create_many(db, actor, creates).await?;
    touched.extend(ids.into_iter().map(Touched::NewProject));
    for (row, u) in updates {
        let Update {
            before,
            last_event_id,
            changes,
            moves,
        } = *u;
        let id = before.id;
        touched.push(Touched::Project(id, ProjectBefore::of(&before, last_event_id)));
        projects::update(db, id, changes).await?;
        let reason = row.and_then(|r| r.drop_reason);
        for m in stages::moves(moves, reason.as_ref())? {
            projects::move_stage(db, actor, id, m).await?;
        }
    }
    Ok(touched)
}

/// Fills in the credit codes of stored companies and creates the new companies the rows use; answers the new
/// companies' ids by their index among the new.
async fn write_companies(
    db: &DatabaseExecutor<'_>,
    companies: Companies,
    used_new: Vec<usize>,
    touched: &mut Vec<Touched>,
) -> AppResult<HashMap<usize, i64>> {
    let Companies { stored, new, codes, .. } = companies;
    for (id, code) in codes {
        let before = CompanyBefore::of(&stored[&id]);
        let version = stored[&id].version;
        crate::service::companies::update(
            db,
            id,
            crate::service::companies::CompanyChanges {
                version,
                name: None,
                credit_code: Patch::Set(code),
                industry: Patch::Keep,
                province: Patch::Keep,
                city: Patch::Keep,
                notes: Patch::Keep,
                above_size_since: Patch::Keep,
            },
        )
        .await?;
        touched.push(Touched::Company(id, before));
    }
    let mut new = new.into_iter().map(Some).collect::<Vec<_>>();
    let drafts: Vec<crate::service::companies::NewCompany> = used_new
        .iter()
        .filter_map(|&i| new[i].take())
        .map(|c| crate::service::companies::NewCompany {
            name: c.name,
            credit_code: c.credit_code,
            industry: c.industry,
            province: None,
            city: None,
            notes: None,
            above_size_since: None,
        })
        .collect();
    let ids = crate::service::companies::create_many(db, drafts).await?;
    touched.extend(ids.iter().map(|id| Touched::NewCompany(*id)));
    Ok(used_new.into_iter().zip(ids).collect())
}

/// A new project with its history from a row.
fn new_project(row: Row, company_id: i64) -> AppResult<ProjectWithHistory> {
    let mut dates = row.dates.into_iter().map(|(stage, on, _)| (stage, on));
    let (stage, first) = dates.next().expect("a read row has a dated stage");
    let moves = stages::moves(dates, row.drop_reason.as_ref())?;
    let note = Note::parse_opt("note", Some("台账导入"))?;
    Ok(ProjectWithHistory {
        project: NewProject {
            name: row.name,
            company_id,
            stage,
            occurred_on: Day::parse("occurred_on", first)?,
            note,
            industry: row.industry,
            origin: Origin {
                source: row.source,
                ..Origin::default()
            },
            agreed_investment: row.investment,
            land_mu: row.land_mu,
            is_major: row.is_major.unwrap_or(false),
            capital_origin: row.capital_origin.unwrap_or_default(),
            contact_leader: row.contact_leader,
            contact_leader_id: None,
            owner_id: None,
            team_members: Vec::new(),
            responsible_unit: row.responsible_unit,
            team: row.team,
            notes: row.notes,
        },
        moves,
    })
}
