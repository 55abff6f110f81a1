//! 招商项目 and their stage history (阶段记录). The history is the truth: a project's stage, the stage it dropped
//! from and the reach date of every stage are derived from its events (entity::pipeline).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    company,
    enums::{ProjectSource, ProjectStage},
    fund_arrival,
    pipeline::{self, Event, Stage},
    project, stage_event,
};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
    sea_query::{Alias, Expr, ExprTrait, Func, Query as SqlQuery},
};

use super::{
    ApiTags, Created, Deleted, Page, Paging,
    companies::{changed, set_if},
    delete_versioned, find,
    history::{self, Step, Tracked},
    name_contains, update_versioned,
};
use crate::{
    auth::{Auth, Need},
    error::{AppError, AppResult, Msg},
    validate,
};

/// The date each stage was reached (DESIGN §3): the earliest date of an event at that stage or a later one.
/// Stages not reached are absent.
#[derive(Object, Default)]
pub struct ReachDates {
    /// 线索.
    pub lead: Option<NaiveDate>,
    /// 洽谈.
    pub negotiating: Option<NaiveDate>,
    /// 签约.
    pub signed: Option<NaiveDate>,
    /// 落地(注册).
    pub landed: Option<NaiveDate>,
    /// 开工.
    pub started: Option<NaiveDate>,
    /// 竣工投产.
    pub producing: Option<NaiveDate>,
}

impl ReachDates {
    fn of(history: &[Event<ProjectStage>]) -> ReachDates {
        let mut r = ReachDates::default();
        for (stage, date) in pipeline::reach_dates(history, None) {
            let slot = match stage {
                ProjectStage::Lead => &mut r.lead,
                ProjectStage::Negotiating => &mut r.negotiating,
                ProjectStage::Signed => &mut r.signed,
                ProjectStage::Landed => &mut r.landed,
                ProjectStage::Started => &mut r.started,
                ProjectStage::Producing => &mut r.producing,
                ProjectStage::Dropped => continue,
            };
            *slot = Some(date);
        }
        r
    }
}

/// An investment project (招商项目).
#[derive(Object)]
pub struct Project {
    /// Id.
    pub id: i64,
    /// Name (项目名称).
    pub name: String,
    /// The investing company.
    pub company_id: i64,
    /// The company's name.
    pub company_name: String,
    /// Industry (行业).
    pub industry: Option<String>,
    /// Where the project came from (项目来源).
    pub source: ProjectSource,
    /// The visit it came from (source `visit`).
    pub source_visit_id: Option<i64>,
    /// The outreach activity it came from (source `outreach`).
    pub source_outreach_id: Option<i64>,
    /// The partner it came through (source `partner`, 委托招商).
    pub source_partner_id: Option<i64>,
    /// Agreed investment (协议投资额), in 万元.
    pub agreed_investment: Option<Decimal>,
    /// Funds arrived (到位资金) so far, the sum of the project's fund arrivals, in 万元.
    pub funds_arrived: Decimal,
    /// Land need (用地需求), in 亩.
    pub land_mu: Option<f64>,
    /// Major project (重大项目).
    pub is_major: bool,
    /// Contact leader (联系领导).
    pub contact_leader: Option<String>,
    /// Responsible unit (责任单位).
    pub responsible_unit: Option<String>,
    /// Team (专班).
    pub team: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Current stage: the stage of the latest event of the history.
    pub stage: ProjectStage,
    /// When dropped: the stage it dropped from.
    pub dropped_from: Option<ProjectStage>,
    /// Reach date of every stage reached.
    pub reach_dates: ReachDates,
    /// Version for optimistic locking; send it back with updates (a stage move changes it too).
    pub version: i32,
    /// When the record was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record was last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

/// A new project, created at its initial stage.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewProject {
    /// Name, 1–200 characters.
    pub name: String,
    /// The investing company.
    pub company_id: i64,
    /// Initial stage (any but `dropped`).
    pub stage: ProjectStage,
    /// Date of the initial stage.
    pub occurred_on: NaiveDate,
    /// Note on the initial stage event.
    pub note: Option<String>,
    /// Industry; defaults to the company's.
    pub industry: Option<String>,
    /// Source; defaults to the kind of the source record named, else `other`.
    pub source: Option<ProjectSource>,
    /// The visit it came from.
    pub source_visit_id: Option<i64>,
    /// The outreach activity it came from.
    pub source_outreach_id: Option<i64>,
    /// The partner it came through.
    pub source_partner_id: Option<i64>,
    /// Agreed investment in 万元, ≥ 0, at most 4 decimals.
    pub agreed_investment: Option<Decimal>,
    /// Land need in 亩, ≥ 0.
    pub land_mu: Option<f64>,
    /// Major project; defaults to false.
    pub is_major: Option<bool>,
    /// Contact leader.
    pub contact_leader: Option<String>,
    /// Responsible unit.
    pub responsible_unit: Option<String>,
    /// Team (专班).
    pub team: Option<String>,
    /// Notes, up to 2000 characters.
    pub notes: Option<String>,
}

/// Changes to a project (not its stage: stages move by stage events). Left out keeps; `null` clears.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct ProjectChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Name.
    pub name: Option<String>,
    /// The investing company.
    pub company_id: Option<i64>,
    /// Industry.
    pub industry: MaybeUndefined<String>,
    /// Source.
    pub source: Option<ProjectSource>,
    /// The visit it came from.
    pub source_visit_id: MaybeUndefined<i64>,
    /// The outreach activity it came from.
    pub source_outreach_id: MaybeUndefined<i64>,
    /// The partner it came through.
    pub source_partner_id: MaybeUndefined<i64>,
    /// Agreed investment in 万元.
    pub agreed_investment: MaybeUndefined<Decimal>,
    /// Land need in 亩.
    pub land_mu: MaybeUndefined<f64>,
    /// Major project.
    pub is_major: Option<bool>,
    /// Contact leader.
    pub contact_leader: MaybeUndefined<String>,
    /// Responsible unit.
    pub responsible_unit: MaybeUndefined<String>,
    /// Team.
    pub team: MaybeUndefined<String>,
    /// Notes.
    pub notes: MaybeUndefined<String>,
}

/// A stage move to record.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewStageEvent {
    /// The stage moved to. Forward may skip stages; backward needs a reason; `dropped` needs a reason; from
    /// `dropped` any stage reopens the project.
    pub stage: ProjectStage,
    /// The date of the move; not before the project's latest event.
    pub occurred_on: NaiveDate,
    /// Note.
    pub note: Option<String>,
    /// Reason: required to move backward or to drop.
    pub reason: Option<String>,
    /// The project version the move was decided on; when given, a stale one answers 409.
    pub version: Option<i32>,
}

/// One event of a project's stage history.
#[derive(Object)]
pub struct StageEvent {
    /// Id.
    pub id: i64,
    /// The project.
    pub project_id: i64,
    /// The stage moved to.
    pub stage: ProjectStage,
    /// The stage before (none for the first event).
    pub from_stage: Option<ProjectStage>,
    /// Date of the move.
    pub occurred_on: NaiveDate,
    /// Note.
    pub note: Option<String>,
    /// Reason (backward moves, drops).
    pub reason: Option<String>,
    /// Who recorded it.
    pub recorded_by: Option<String>,
    /// When it was recorded (UTC).
    pub created_at: DateTime<Utc>,
}

impl From<stage_event::Model> for StageEvent {
    fn from(m: stage_event::Model) -> Self {
        StageEvent {
            id: m.id,
            project_id: m.project_id,
            stage: m.stage,
            from_stage: m.from_stage,
            occurred_on: m.occurred_on,
            note: m.note,
            reason: m.reason,
            recorded_by: m.recorded_by,
            created_at: m.created_at,
        }
    }
}

/// Projects as records with a stage history.
pub(super) struct ProjectHistory;

impl Tracked for ProjectHistory {
    type Stage = ProjectStage;
    type Owner = project::Entity;
    type Event = stage_event::Entity;
    const WHAT: &'static str = "project";
    const WHAT_ZH: &'static str = "项目";
    const OWNER_COLUMN: &'static str = "project_id";

    fn new_event(owner: i64, step: &Step<ProjectStage>, from: Option<ProjectStage>) -> stage_event::ActiveModel {
        stage_event::ActiveModel {
            project_id: Set(owner),
            stage: Set(step.stage),
            from_stage: Set(from),
            occurred_on: Set(step.occurred_on),
            note: Set(step.note.clone()),
            reason: Set(step.reason.clone()),
            recorded_by: Set(step.recorded_by.clone()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
    }

    fn event_of(row: &stage_event::Model) -> (i64, Event<ProjectStage>) {
        (
            row.project_id,
            Event {
                stage: row.stage,
                occurred_on: row.occurred_on,
            },
        )
    }
}

/// The API view of projects: their history, funds arrived and company names loaded in one query each.
pub(crate) async fn views(db: &impl ConnectionTrait, rows: Vec<project::Model>) -> AppResult<Vec<Project>> {
    let ids: Vec<i64> = rows.iter().map(|p| p.id).collect();
    let mut events = history::histories::<ProjectHistory>(db, ids.clone()).await?;
    let funds: HashMap<i64, i64> = fund_arrival::Entity::find()
        .select_only()
        .column(fund_arrival::Column::ProjectId)
        .expr(Func::cast_as(
            Func::sum(Expr::col(fund_arrival::Column::AmountYuan)),
            Alias::new("bigint"),
        ))
        .filter(fund_arrival::Column::ProjectId.is_in(ids))
        .group_by(fund_arrival::Column::ProjectId)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let company_ids: Vec<i64> = rows.iter().map(|p| p.company_id).collect();
    let names = super::names::<company::Entity>(db, company_ids).await?;
    Ok(rows
        .into_iter()
        .map(|p| {
            let h = events.remove(&p.id).unwrap_or_default();
            Project {
                id: p.id,
                company_name: names.get(&p.company_id).cloned().unwrap_or_default(),
                name: p.name,
                company_id: p.company_id,
                industry: p.industry,
                source: p.source,
                source_visit_id: p.source_visit_id,
                source_outreach_id: p.source_outreach_id,
                source_partner_id: p.source_partner_id,
                agreed_investment: p.agreed_investment_yuan.map(validate::yuan_to_wan),
                funds_arrived: validate::yuan_to_wan(funds.get(&p.id).copied().unwrap_or(0)),
                land_mu: p.land_mu,
                is_major: p.is_major,
                contact_leader: p.contact_leader,
                responsible_unit: p.responsible_unit,
                team: p.team,
                notes: p.notes,
                stage: pipeline::current(&h).unwrap_or(p.stage),
                dropped_from: pipeline::off_from(&h),
                reach_dates: ReachDates::of(&h),
                version: p.version,
                created_at: p.created_at,
                updated_at: p.updated_at,
            }
        })
        .collect())
}

async fn view(db: &impl ConnectionTrait, p: project::Model) -> AppResult<Project> {
    Ok(views(db, vec![p]).await?.pop().expect("one row in, one view out"))
}

/// A company named in a request body must exist (422 otherwise: the path is fine, the reference is not).
async fn company_industry(db: &impl ConnectionTrait, id: i64) -> AppResult<Option<String>> {
    match company::Entity::find_by_id(id).one(db).await? {
        Some(c) => Ok(c.industry),
        None => Err(AppError::rule(
            "unknown_company",
            Some("company_id"),
            Msg::new(format!("there is no company {id}"), format!("企业 {id} 不存在")),
        )),
    }
}

/// Where a project came from: its source kind and the record of that kind, if named.
struct Origin {
    source: Option<ProjectSource>,
    visit: Option<i64>,
    outreach: Option<i64>,
    partner: Option<i64>,
}

impl Origin {
    /// Checks that at most one source record is named, that it exists and matches the source kind (which it
    /// implies when none is given); answers the source kind.
    async fn check(&self, db: &impl ConnectionTrait) -> AppResult<ProjectSource> {
        let named: Vec<(ProjectSource, i64, &str)> = [
            (ProjectSource::Visit, self.visit, "source_visit_id"),
            (ProjectSource::Outreach, self.outreach, "source_outreach_id"),
            (ProjectSource::Partner, self.partner, "source_partner_id"),
        ]
        .into_iter()
        .filter_map(|(kind, id, field)| id.map(|id| (kind, id, field)))
        .collect();
        let Some(&(kind, id, field)) = named.first() else {
            return Ok(self.source.unwrap_or(ProjectSource::Other));
        };
        if named.len() > 1 || self.source.is_some_and(|s| s != kind) {
            return Err(AppError::rule(
                "source_mismatch",
                Some(field),
                Msg::new(
                    "a project names one source record, of the kind of its source",
                    "项目只能关联一条来源记录,且须与项目来源一致",
                ),
            ));
        }
        let exists = match kind {
            ProjectSource::Visit => entity::visit::Entity::find_by_id(id).one(db).await?.is_some(),
            ProjectSource::Outreach => entity::outreach::Entity::find_by_id(id).one(db).await?.is_some(),
            _ => entity::partner::Entity::find_by_id(id).one(db).await?.is_some(),
        };
        if !exists {
            return Err(AppError::rule(
                "unknown_source",
                Some(field),
                Msg::new(
                    format!("there is no such source record ({id})"),
                    format!("来源记录 {id} 不存在"),
                ),
            ));
        }
        Ok(kind)
    }
}

/// Clears a deleted visit, outreach activity or partner from the projects that named it, bumping their versions
/// (their data changed), inside the caller's transaction.
pub(super) async fn forget_source(db: &impl ConnectionTrait, column: project::Column, id: i64) -> AppResult<()> {
    project::Entity::update_many()
        .col_expr(column, Expr::value(Option::<i64>::None))
        .col_expr(project::Column::Version, Expr::col(project::Column::Version).add(1))
        .col_expr(project::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(column.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Project and stage-history endpoints.
pub struct ProjectsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Projects")]
impl ProjectsApi {
    /// Create a project at its initial stage; the first stage event is recorded with it.
    #[oai(path = "/projects", method = "post")]
    async fn create(&self, auth: Auth, body: Json<NewProject>) -> AppResult<Created<Project>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let name = validate::text("name", &b.name, 200)?;
        let occurred_on = validate::date("occurred_on", b.occurred_on)?;
        history::check_start::<ProjectHistory>(b.stage, occurred_on)?;
        let note = validate::opt_text("note", b.note.as_deref(), 2000)?;
        let industry = validate::opt_text("industry", b.industry.as_deref(), 100)?;
        let agreed = b
            .agreed_investment
            .map(|w| validate::wan_to_yuan("agreed_investment", w, false))
            .transpose()?;
        let land_mu = validate::non_negative("land_mu", b.land_mu)?;
        let contact_leader = validate::opt_text("contact_leader", b.contact_leader.as_deref(), 100)?;
        let responsible_unit = validate::opt_text("responsible_unit", b.responsible_unit.as_deref(), 200)?;
        let team = validate::opt_text("team", b.team.as_deref(), 200)?;
        let notes = validate::opt_text("notes", b.notes.as_deref(), 2000)?;

        let txn = self.db.begin().await?;
        let company_industry = company_industry(&txn, b.company_id).await?;
        let source = Origin {
            source: b.source,
            visit: b.source_visit_id,
            outreach: b.source_outreach_id,
            partner: b.source_partner_id,
        }
        .check(&txn)
        .await?;
        let now = Utc::now();
        let p = project::Entity::insert(project::ActiveModel {
            name: Set(name),
            company_id: Set(b.company_id),
            industry: Set(industry.or(company_industry)),
            source: Set(source),
            source_visit_id: Set(b.source_visit_id),
            source_outreach_id: Set(b.source_outreach_id),
            source_partner_id: Set(b.source_partner_id),
            agreed_investment_yuan: Set(agreed),
            land_mu: Set(land_mu),
            is_major: Set(b.is_major.unwrap_or(false)),
            contact_leader: Set(contact_leader),
            responsible_unit: Set(responsible_unit),
            team: Set(team),
            notes: Set(notes),
            stage: Set(b.stage),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec_with_returning(&txn)
        .await?;
        let first = Step {
            stage: b.stage,
            occurred_on,
            note,
            reason: None,
            recorded_by: Some(auth.0.username.clone()),
        };
        history::start::<ProjectHistory>(&txn, p.id, &first).await?;
        let out = view(&txn, p).await?;
        txn.commit().await?;
        Ok(Created::Created(Json(out)))
    }

    /// List projects, newest first, filtered; `q` searches the name. `reached_from`/`reached_to` keep the projects
    /// whose reach date of stage `reached` (default `lead`) lies in the range, both ends inclusive.
    #[oai(path = "/projects", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        /// Part of the name.
        q: Query<Option<String>>,
        /// Current stage.
        stage: Query<Option<ProjectStage>>,
        /// Industry, exactly.
        industry: Query<Option<String>>,
        /// Source.
        source: Query<Option<ProjectSource>>,
        /// Contact leader, exactly.
        contact_leader: Query<Option<String>>,
        /// The investing company.
        company_id: Query<Option<i64>>,
        /// Major projects only (true) or non-major only (false).
        is_major: Query<Option<bool>>,
        /// The stage whose reach date `reached_from`/`reached_to` filter (default `lead`).
        reached: Query<Option<ProjectStage>>,
        /// Earliest reach date, inclusive.
        reached_from: Query<Option<NaiveDate>>,
        /// Latest reach date, inclusive.
        reached_to: Query<Option<NaiveDate>>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<Page<Project>>> {
        auth.0.require(Need::Read)?;
        let mut s = project::Entity::find().order_by_desc(project::Column::Id);
        if let Some(q) = q.0.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            s = s.filter(name_contains(project::Column::Name, q));
        }
        if let Some(v) = stage.0 {
            s = s.filter(project::Column::Stage.eq(v));
        }
        if let Some(v) = industry.0 {
            s = s.filter(project::Column::Industry.eq(v));
        }
        if let Some(v) = source.0 {
            s = s.filter(project::Column::Source.eq(v));
        }
        if let Some(v) = contact_leader.0 {
            s = s.filter(project::Column::ContactLeader.eq(v));
        }
        if let Some(v) = company_id.0 {
            s = s.filter(project::Column::CompanyId.eq(v));
        }
        if let Some(v) = is_major.0 {
            s = s.filter(project::Column::IsMajor.eq(v));
        }
        if reached_from.0.is_some() || reached_to.0.is_some() {
            let reached = reached.0.unwrap_or(ProjectStage::Lead);
            let Some(rank) = reached.rank() else {
                return Err(AppError::invalid(
                    "reached",
                    "dropped has no reach date",
                    "“终止”没有到达日期",
                ));
            };
            let reach = Expr::col(stage_event::Column::OccurredOn).min();
            let mut sub = SqlQuery::select();
            sub.column(stage_event::Column::ProjectId)
                .from(stage_event::Entity)
                .and_where(stage_event::Column::Stage.is_in(ProjectStage::ORDER[rank..].iter().copied()))
                .group_by_col(stage_event::Column::ProjectId);
            if let Some(from) = reached_from.0 {
                sub.and_having(reach.clone().gte(from));
            }
            if let Some(to) = reached_to.0 {
                sub.and_having(reach.lte(to));
            }
            s = s.filter(project::Column::Id.in_subquery(sub));
        }
        let db = &self.db;
        let page = Paging::new(page.0, per_page.0)
            .fetch(db, s, async |rows| views(db, rows).await)
            .await?;
        Ok(Json(page))
    }

    /// Read a project, with its current stage, reach dates and funds arrived.
    #[oai(path = "/projects/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Project>> {
        auth.0.require(Need::Read)?;
        let p = find::<project::Entity, _>(&self.db, id.0, "project").await?;
        Ok(Json(view(&self.db, p).await?))
    }

    /// Change a project's details; a stale `version` answers 409 and changes nothing.
    #[oai(path = "/projects/:id", method = "patch")]
    async fn update(&self, auth: Auth, id: Path<i64>, body: Json<ProjectChanges>) -> AppResult<Json<Project>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let mut m = project::ActiveModel::default();
        if let Some(name) = &b.name {
            m.name = Set(validate::text("name", name, 200)?);
        }
        if let Some(c) = b.company_id {
            company_industry(&self.db, c).await?;
            m.company_id = Set(c);
        }
        set_if(
            &mut m.industry,
            changed(b.industry, |v| validate::opt_text("industry", Some(v), 100))?,
        );
        let refs = (
            changed(b.source_visit_id, |v| Ok(Some(*v)))?,
            changed(b.source_outreach_id, |v| Ok(Some(*v)))?,
            changed(b.source_partner_id, |v| Ok(Some(*v)))?,
        );
        if b.source.is_some() || refs.0.is_some() || refs.1.is_some() || refs.2.is_some() {
            let old = find::<project::Entity, _>(&self.db, id.0, "project").await?;
            let origin = Origin {
                source: Some(b.source.unwrap_or(old.source)),
                visit: refs.0.unwrap_or(old.source_visit_id),
                outreach: refs.1.unwrap_or(old.source_outreach_id),
                partner: refs.2.unwrap_or(old.source_partner_id),
            };
            // A new source record implies its kind unless the kind is changed with it.
            let origin = Origin {
                source: b.source.or(
                    if refs.0.flatten().is_some() || refs.1.flatten().is_some() || refs.2.flatten().is_some() {
                        None
                    } else {
                        origin.source
                    },
                ),
                ..origin
            };
            m.source = Set(origin.check(&self.db).await?);
            m.source_visit_id = Set(origin.visit);
            m.source_outreach_id = Set(origin.outreach);
            m.source_partner_id = Set(origin.partner);
        }
        set_if(
            &mut m.agreed_investment_yuan,
            changed(b.agreed_investment, |w| {
                validate::wan_to_yuan("agreed_investment", *w, false).map(Some)
            })?,
        );
        set_if(
            &mut m.land_mu,
            changed(b.land_mu, |v| validate::non_negative("land_mu", Some(*v)))?,
        );
        if let Some(v) = b.is_major {
            m.is_major = Set(v);
        }
        set_if(
            &mut m.contact_leader,
            changed(b.contact_leader, |v| validate::opt_text("contact_leader", Some(v), 100))?,
        );
        set_if(
            &mut m.responsible_unit,
            changed(b.responsible_unit, |v| {
                validate::opt_text("responsible_unit", Some(v), 200)
            })?,
        );
        set_if(
            &mut m.team,
            changed(b.team, |v| validate::opt_text("team", Some(v), 200))?,
        );
        set_if(
            &mut m.notes,
            changed(b.notes, |v| validate::opt_text("notes", Some(v), 2000))?,
        );
        let p = update_versioned::<project::Entity, _>(&self.db, id.0, "project", b.version, m).await?;
        Ok(Json(view(&self.db, p).await?))
    }

    /// Delete a project with its history, follow-ups and fund arrivals.
    #[oai(path = "/projects/:id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        delete_versioned::<project::Entity, _>(&self.db, id.0, "project", version.0).await
    }

    /// Record a stage move. Illegal moves answer 422 with a machine code (`stage_unchanged`, `event_before_latest`,
    /// `reason_required`) and change nothing.
    #[oai(path = "/projects/:id/stage-events", method = "post")]
    async fn move_stage(&self, auth: Auth, id: Path<i64>, body: Json<NewStageEvent>) -> AppResult<Created<StageEvent>> {
        auth.0.require(Need::Pipeline)?;
        let b = body.0;
        let occurred_on = validate::date("occurred_on", b.occurred_on)?;
        let note = validate::opt_text("note", b.note.as_deref(), 2000)?;
        let reason = validate::opt_text("reason", b.reason.as_deref(), 2000)?;

        let step = Step {
            stage: b.stage,
            occurred_on,
            note,
            reason,
            recorded_by: Some(auth.0.username.clone()),
        };
        let e = history::record::<ProjectHistory>(&self.db, id.0, step, b.version, auth.0.can(Need::Lead)).await?;
        Ok(Created::Created(Json(e.into())))
    }

    /// The project's stage history, oldest first.
    #[oai(path = "/projects/:id/stage-events", method = "get")]
    async fn stage_history(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Vec<StageEvent>>> {
        auth.0.require(Need::Read)?;
        find::<project::Entity, _>(&self.db, id.0, "project").await?;
        let rows = history::rows::<ProjectHistory>(&self.db, vec![id.0]).await?;
        Ok(Json(rows.into_iter().map(StageEvent::from).collect()))
    }
}
