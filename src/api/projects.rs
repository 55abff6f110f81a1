//! 招商项目 and their stage history (阶段记录). The history is the truth: a project's stage, the stage it dropped
//! from and the reach date of every stage are derived from its events (entity::pipeline).

use entity::{
    enums::{CapitalOrigin, ProjectSource, ProjectStage},
    stage_event,
};
use rust_decimal::Decimal;

use super::prelude::*;
use crate::service::{
    history::StageMove,
    input::{Day, Money, Name, Note, Short, non_negative},
    projects::{self as svc, Origin, ProjectFilter, ProjectView, Unit},
    scope::{self, Of},
};

/// The date each stage was reached (docs/DEFINITIONS.md): the earliest date of an event at that stage or a later one.
/// Stages not reached are absent.
#[derive(Object, Default)]
pub struct ReachDates {
    /// 线索.
    #[oai(nullable)]
    pub lead: Option<NaiveDate>,
    /// 洽谈.
    #[oai(nullable)]
    pub negotiating: Option<NaiveDate>,
    /// 签约.
    #[oai(nullable)]
    pub signed: Option<NaiveDate>,
    /// 落地(注册).
    #[oai(nullable)]
    pub landed: Option<NaiveDate>,
    /// 开工.
    #[oai(nullable)]
    pub started: Option<NaiveDate>,
    /// 竣工投产.
    #[oai(nullable)]
    pub producing: Option<NaiveDate>,
}

impl ReachDates {
    /// The reach dates the project keeps (written with its stage events).
    fn of(p: &entity::project::Model) -> ReachDates {
        ReachDates {
            lead: p.reached_lead_on,
            negotiating: p.reached_negotiating_on,
            signed: p.reached_signed_on,
            landed: p.reached_landed_on,
            started: p.reached_started_on,
            producing: p.reached_producing_on,
        }
    }
}

/// An investment project (招商项目).
#[derive(Object)]
pub struct Project {
    /// The project's id, at `/projects/{id}`.
    pub id: i64,
    /// Name (项目名称).
    pub name: String,
    /// The investing company.
    pub company_id: i64,
    /// The company's name.
    pub company_name: String,
    /// Industry (行业).
    #[oai(nullable)]
    pub industry: Option<String>,
    /// Where the project came from (项目来源).
    pub source: ProjectSource,
    /// The visit it came from (source `visit`).
    #[oai(nullable)]
    pub source_visit_id: Option<i64>,
    /// The outreach activity it came from (source `outreach`).
    #[oai(nullable)]
    pub source_outreach_id: Option<i64>,
    /// The partner it came through (source `partner`, 委托招商).
    #[oai(nullable)]
    pub source_partner_id: Option<i64>,
    /// Agreed investment (协议投资额), in 万元.
    #[oai(nullable)]
    pub agreed_investment: Option<Decimal>,
    /// Funds arrived (到位资金) so far, the sum of the project's fund arrivals, in 万元.
    pub funds_arrived: Decimal,
    /// Land need (用地需求), in 亩.
    #[oai(nullable)]
    pub land_mu: Option<f64>,
    /// Major project (重大项目).
    pub is_major: bool,
    /// Origin of the capital (资本来源).
    pub capital_origin: CapitalOrigin,
    /// Contact leader (联系领导): the linked leader's display name, or the name as written where it names no one
    /// user.
    #[oai(nullable)]
    pub contact_leader: Option<String>,
    /// Contact leader: the user (leader role).
    #[oai(nullable)]
    pub contact_leader_id: Option<i64>,
    /// Owner (负责人): the user; through them the project belongs to a department.
    #[oai(nullable)]
    pub owner_id: Option<i64>,
    /// The owner's display name.
    #[oai(nullable)]
    pub owner_name: Option<String>,
    /// The members of its team (专班): users.
    pub team_member_ids: Vec<i64>,
    /// Responsible unit (责任单位).
    #[oai(nullable)]
    pub responsible_unit: Option<String>,
    /// Team (专班).
    #[oai(nullable)]
    pub team: Option<String>,
    /// Notes.
    #[oai(nullable)]
    pub notes: Option<String>,
    /// Current stage: the stage of the latest event of the history.
    pub stage: ProjectStage,
    /// When dropped: the stage it dropped from.
    #[oai(nullable)]
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
    /// Name (项目名称).
    pub name: Name,
    /// The investing company.
    pub company_id: i64,
    /// Initial stage (any but `dropped`).
    pub stage: ProjectStage,
    /// Date of the initial stage.
    pub occurred_on: Day,
    /// Note on the initial stage event.
    #[oai(nullable)]
    pub note: Option<Note>,
    /// Industry; defaults to the company's.
    #[oai(nullable)]
    pub industry: Option<Short>,
    /// Source; defaults to the kind of the source record named, else `other`.
    #[oai(nullable)]
    pub source: Option<ProjectSource>,
    /// The visit it came from.
    #[oai(nullable)]
    pub source_visit_id: Option<i64>,
    /// The outreach activity it came from.
    #[oai(nullable)]
    pub source_outreach_id: Option<i64>,
    /// The partner it came through.
    #[oai(nullable)]
    pub source_partner_id: Option<i64>,
    /// Agreed investment (协议投资额) in 万元, whole yuan (at most 4 decimals).
    #[oai(nullable)]
    pub agreed_investment: Option<Money>,
    /// Land need in 亩, ≥ 0.
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "10000000")))]
    pub land_mu: Option<f64>,
    /// Major project; defaults to false.
    #[oai(nullable)]
    pub is_major: Option<bool>,
    /// Origin of the capital; defaults to `domestic` (内资).
    #[oai(nullable)]
    pub capital_origin: Option<CapitalOrigin>,
    /// Contact leader by name: linked to the one user of that display name, else kept as written.
    #[oai(nullable)]
    pub contact_leader: Option<Short>,
    /// Contact leader: a user with the leader role (wins over `contact_leader`).
    #[oai(nullable)]
    pub contact_leader_id: Option<i64>,
    /// Owner (负责人): a user; defaults to the caller.
    #[oai(nullable)]
    pub owner_id: Option<i64>,
    /// Team (专班) members: users, at most 50.
    #[oai(nullable, validator(max_items = 50))]
    pub team_member_ids: Option<Vec<i64>>,
    /// Responsible unit (责任单位).
    #[oai(nullable)]
    pub responsible_unit: Option<Unit>,
    /// Team (专班).
    #[oai(nullable)]
    pub team: Option<Unit>,
    /// Notes.
    #[oai(nullable)]
    pub notes: Option<Note>,
}

/// Changes to a project (not its stage: stages move by stage events). Left out keeps; `null` clears.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct ProjectChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// Name.
    #[oai(nullable)]
    pub name: Option<Name>,
    /// The investing company.
    #[oai(nullable)]
    pub company_id: Option<i64>,
    /// Industry.
    #[oai(nullable)]
    pub industry: MaybeUndefined<Short>,
    /// Source.
    #[oai(nullable)]
    pub source: Option<ProjectSource>,
    /// The visit it came from.
    #[oai(nullable)]
    pub source_visit_id: MaybeUndefined<i64>,
    /// The outreach activity it came from.
    #[oai(nullable)]
    pub source_outreach_id: MaybeUndefined<i64>,
    /// The partner it came through.
    #[oai(nullable)]
    pub source_partner_id: MaybeUndefined<i64>,
    /// Agreed investment (协议投资额) in 万元.
    #[oai(nullable)]
    pub agreed_investment: MaybeUndefined<Money>,
    /// Land need in 亩.
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "10000000")))]
    pub land_mu: MaybeUndefined<f64>,
    /// Major project.
    #[oai(nullable)]
    pub is_major: Option<bool>,
    /// Origin of the capital.
    #[oai(nullable)]
    pub capital_origin: Option<CapitalOrigin>,
    /// Contact leader by name (linked as on creation).
    #[oai(nullable)]
    pub contact_leader: MaybeUndefined<Short>,
    /// Contact leader: a user with the leader role.
    #[oai(nullable)]
    pub contact_leader_id: MaybeUndefined<i64>,
    /// Owner (负责人).
    #[oai(nullable)]
    pub owner_id: MaybeUndefined<i64>,
    /// Team (专班) members: users, at most 50; given, they replace the team.
    #[oai(nullable, validator(max_items = 50))]
    pub team_member_ids: Option<Vec<i64>>,
    /// Responsible unit.
    #[oai(nullable)]
    pub responsible_unit: MaybeUndefined<Unit>,
    /// Team.
    #[oai(nullable)]
    pub team: MaybeUndefined<Unit>,
    /// Notes.
    #[oai(nullable)]
    pub notes: MaybeUndefined<Note>,
}

/// A stage move to record.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewStageEvent {
    /// The stage moved to. Forward may skip stages; backward needs a reason; `dropped` needs a reason; from
    /// `dropped` any stage reopens the project.
    pub stage: ProjectStage,
    /// The date of the move; not before the project's latest event.
    pub occurred_on: Day,
    /// Note.
    #[oai(nullable)]
    pub note: Option<Note>,
    /// Reason: required to move backward or to drop.
    #[oai(nullable)]
    pub reason: Option<Note>,
    /// The project version the move was decided on; when given, a stale one answers 409.
    #[oai(nullable, validator(minimum(value = "0")))]
    pub version: Option<i32>,
}

/// One event of a project's stage history.
#[derive(Object)]
pub struct StageEvent {
    /// The event's id. Events are never changed: a correction is a new event.
    pub id: i64,
    /// The project.
    pub project_id: i64,
    /// The stage moved to.
    pub stage: ProjectStage,
    /// The stage before (none for the first event).
    #[oai(nullable)]
    pub from_stage: Option<ProjectStage>,
    /// Date of the move.
    pub occurred_on: NaiveDate,
    /// Note.
    #[oai(nullable)]
    pub note: Option<String>,
    /// Reason (backward moves, drops).
    #[oai(nullable)]
    pub reason: Option<String>,
    /// Who recorded it.
    #[oai(nullable)]
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

impl From<ProjectView> for Project {
    fn from(v: ProjectView) -> Self {
        let h = &v.history;
        let (stage, dropped_from, reach_dates) = (h.current(v.project.stage), h.off_from(), ReachDates::of(&v.project));
        let p = v.project;
        Project {
            id: p.id,
            company_name: v.company_name,
            name: p.name,
            company_id: p.company_id,
            industry: p.industry,
            source: p.source,
            source_visit_id: p.source_visit_id,
            source_outreach_id: p.source_outreach_id,
            source_partner_id: p.source_partner_id,
            agreed_investment: p.agreed_investment_yuan.map(|y| Money::yuan(y).as_wan()),
            funds_arrived: v.funds_arrived.as_wan(),
            land_mu: p.land_mu,
            is_major: p.is_major,
            capital_origin: p.capital_origin,
            contact_leader: v.contact_leader,
            contact_leader_id: p.contact_leader_id,
            owner_id: p.owner_id,
            owner_name: v.owner_name,
            team_member_ids: v.team_members,
            responsible_unit: p.responsible_unit,
            team: p.team,
            notes: p.notes,
            stage,
            dropped_from,
            reach_dates,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl NewProject {
    fn parse(self) -> AppResult<svc::NewProject> {
        Ok(svc::NewProject {
            name: self.name,
            company_id: self.company_id,
            stage: self.stage,
            occurred_on: self.occurred_on,
            note: self.note,
            industry: self.industry,
            origin: Origin {
                source: self.source,
                visit: self.source_visit_id,
                outreach: self.source_outreach_id,
                partner: self.source_partner_id,
            },
            agreed_investment: self.agreed_investment,
            land_mu: non_negative("land_mu", self.land_mu)?,
            is_major: self.is_major.unwrap_or(false),
            capital_origin: self.capital_origin.unwrap_or_default(),
            contact_leader: self.contact_leader,
            contact_leader_id: self.contact_leader_id,
            owner_id: self.owner_id,
            team_members: self.team_member_ids.unwrap_or_default(),
            responsible_unit: self.responsible_unit,
            team: self.team,
            notes: self.notes,
        })
    }
}

impl ProjectChanges {
    fn parse(self) -> AppResult<svc::ProjectChanges> {
        Ok(svc::ProjectChanges {
            version: self.version,
            name: self.name,
            company_id: self.company_id,
            industry: self.industry.into(),
            source: self.source,
            source_visit_id: self.source_visit_id.into(),
            source_outreach_id: self.source_outreach_id.into(),
            source_partner_id: self.source_partner_id.into(),
            agreed_investment: self.agreed_investment.into(),
            land_mu: patch(self.land_mu, |v| non_negative("land_mu", Some(v)))?,
            is_major: self.is_major,
            capital_origin: self.capital_origin,
            contact_leader: self.contact_leader.into(),
            contact_leader_id: self.contact_leader_id.into(),
            owner_id: self.owner_id.into(),
            team_members: self.team_member_ids,
            responsible_unit: self.responsible_unit.into(),
            team: self.team.into(),
            notes: self.notes.into(),
        })
    }
}

/// Project and stage-history endpoints.
pub struct ProjectsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Projects")]
impl ProjectsApi {
    /// Create a project at its initial stage; the first stage event is recorded with it.
    #[oai(path = "/projects", method = "post", operation_id = "createProject")]
    async fn create(&self, auth: Auth, tx: WriteTx, body: JsonBody<NewProject>) -> AppResult<Created<Project>> {
        auth.0.require(Need::Edit)?;
        let p = svc::create(tx.get().await?, &auth.0, body.0.parse()?).await?;
        Ok(Created::Created(Json(p.into())))
    }

    /// List projects, newest first, filtered; `q` searches the name. `reached_from`/`reached_to` keep the projects
    /// whose reach date of stage `reached` (default `lead`) lies in the range, both ends inclusive.
    #[oai(path = "/projects", method = "get", operation_id = "listProjects")]
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
        /// Contact leader by name, exactly.
        contact_leader: Query<Option<String>>,
        /// Contact leader by user.
        contact_leader_id: Query<Option<i64>>,
        /// Owner.
        owner_id: Query<Option<i64>>,
        /// The investing company.
        company_id: Query<Option<i64>>,
        /// Major projects only (true) or non-major only (false).
        is_major: Query<Option<bool>>,
        /// Origin of the capital.
        capital_origin: Query<Option<CapitalOrigin>>,
        /// The stage whose reach date `reached_from`/`reached_to` filter (default `lead`).
        reached: Query<Option<ProjectStage>>,
        /// Earliest reach date, inclusive.
        reached_from: Query<Option<NaiveDate>>,
        /// Latest reach date, inclusive.
        reached_to: Query<Option<NaiveDate>>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<Project>>> {
        auth.0.require(Need::Read)?;
        let f = ProjectFilter {
            visible: scope::visible(&self.db, &auth.0).await?,
            q: q.0,
            stage: stage.0,
            industry: industry.0,
            source: source.0,
            contact_leader: contact_leader.0,
            contact_leader_id: contact_leader_id.0,
            owner_id: owner_id.0,
            company_id: company_id.0,
            province: None,
            is_major: is_major.0,
            capital_origin: capital_origin.0,
            reached: reached.0,
            reached_from: reached_from.0,
            reached_to: reached_to.0,
        };
        let rows = svc::list(&self.db, f, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(Project::from).into()))
    }

    /// Read a project, with its current stage, reach dates and funds arrived.
    #[oai(path = "/projects/:id", method = "get", operation_id = "getProject")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Project>> {
        scope::permit(&self.db, &auth.0, Need::Read, Of::Project(id.0)).await?;
        Ok(Json(svc::get(&self.db, id.0).await?.into()))
    }

    /// Change a project's details; a stale `version` answers 409 and changes nothing.
    #[oai(path = "/projects/:id", method = "patch", operation_id = "updateProject")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<ProjectChanges>,
    ) -> AppResult<Json<Project>> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::Project(id.0)).await?;
        Ok(Json(svc::update(tx.get().await?, id.0, body.0.parse()?).await?.into()))
    }

    /// Delete a project with its history, follow-ups and fund arrivals.
    #[oai(path = "/projects/:id", method = "delete", operation_id = "deleteProject")]
    async fn delete(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::Project(id.0)).await?;
        svc::delete(tx.get().await?, id.0, version.0).await?;
        Ok(Deleted::Deleted)
    }

    /// Record a stage move. Illegal moves answer 422 with a machine code (`stage_unchanged`, `event_before_latest`,
    /// `reason_required`) and change nothing.
    #[oai(
        path = "/projects/:id/stage-events",
        method = "post",
        operation_id = "moveProjectStage"
    )]
    async fn move_stage(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<NewStageEvent>,
    ) -> AppResult<Created<StageEvent>> {
        scope::permit(&self.db, &auth.0, Need::Pipeline, Of::Project(id.0)).await?;
        let b = body.0;
        let m = StageMove {
            stage: b.stage,
            occurred_on: b.occurred_on,
            note: b.note,
            reason: b.reason,
            version: b.version,
        };
        let e = svc::move_stage(tx.get().await?, &auth.0, id.0, m).await?;
        Ok(Created::Created(Json(e.into())))
    }

    /// The project's stage history, oldest first.
    #[oai(
        path = "/projects/:id/stage-events",
        method = "get",
        operation_id = "listProjectStageEvents"
    )]
    async fn stage_history(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Vec<StageEvent>>> {
        scope::permit(&self.db, &auth.0, Need::Read, Of::Project(id.0)).await?;
        let rows = svc::stage_history(&self.db, id.0).await?;
        Ok(Json(rows.into_iter().map(StageEvent::from).collect()))
    }
}
