//! 招商项目 and their stage history (阶段记录). The history is the truth: a project's stage, the stage it dropped
//! from and the reach date of every stage are derived from its events (entity::pipeline).

use std::collections::HashMap;

use chrono::Utc;
use entity::{
    company,
    enums::{CapitalOrigin, ProjectSource, ProjectStage},
    fund_arrival, project, stage_event,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, TransactionSession,
    sea_query::{Alias, Expr, ExprTrait, Func},
};

use super::{
    Actor, AppError, AppResult, Code, Db, Kind, Msg, delete_versioned, find,
    history::{self, History, StageMove, Step},
    input::{Day, Money, Name, Note, Patch, Short, Text, opt_string, set_some},
    insert_one, names, people, update_versioned,
};

mod list;

pub use list::{
    Brought, ProjectFilter, SourceRecord, after, brought_by, events_after, list, source_label, source_records,
};

crate::tracked!(
    /// Projects as records with a stage history.
    ProjectHistory: ProjectStage, project, stage_event.project_id, Project, keep = super::reach::keep
);

/// A project with what is derived from other records: its company's name, its funds arrived and its history.
pub struct ProjectView {
    /// The stored record.
    pub project: project::Model,
    /// The investing company's name.
    pub company_name: String,
    /// The sum of its fund arrivals.
    pub funds_arrived: Money,
    /// Its stage history, oldest first.
    pub history: History<ProjectStage>,
    /// The contact leader's name: the linked user's display name as it is now, else the text kept.
    pub contact_leader: Option<String>,
    /// The owner's display name.
    pub owner_name: Option<String>,
    /// The members of its team (专班), users.
    pub team_members: Vec<i64>,
}

/// Projects with their history, funds arrived and company names, loaded in one query each.
pub async fn views(db: &impl ConnectionTrait, rows: Vec<project::Model>) -> AppResult<Vec<ProjectView>> {
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
    let names = names::<company::Entity>(db, rows.iter().map(|p| p.company_id)).await?;
    let person_ids: Vec<i64> = rows
        .iter()
        .flat_map(|p| [p.contact_leader_id, p.owner_id])
        .flatten()
        .collect();
    let people = people::display_names(db, person_ids).await?;
    let person = |id: Option<i64>| id.and_then(|i| people.get(&i).cloned());
    let mut teams = super::links::of::<entity::project_team::Entity>(db, rows.iter().map(|p| p.id).collect()).await?;
    Ok(rows
        .into_iter()
        .map(|p| ProjectView {
            company_name: names.get(&p.company_id).cloned().unwrap_or_default(),
            contact_leader: person(p.contact_leader_id).or_else(|| p.contact_leader.clone()),
            owner_name: person(p.owner_id),
            team_members: teams.remove(&p.id).unwrap_or_default(),
            funds_arrived: Money::yuan(funds.get(&p.id).copied().unwrap_or(0)),
            history: events.remove(&p.id).unwrap_or_default(),
            project: p,
        })
        .collect())
}

async fn view(db: &impl ConnectionTrait, p: project::Model) -> AppResult<ProjectView> {
    Ok(views(db, vec![p]).await?.pop().expect("one row in, one view out"))
}

/// A contact leader's, responsible unit's or team's name.
pub type Unit = Text<200>;

/// A new project, at its initial stage.
pub struct NewProject {
    /// Name.
    pub name: Name,
    /// The investing company.
    pub company_id: i64,
    /// Initial stage (any but `dropped`).
    pub stage: ProjectStage,
    /// Date of the initial stage.
    pub occurred_on: Day,
    /// Note on the initial stage event.
    pub note: Option<Note>,
    /// Industry; defaults to the company's.
    pub industry: Option<Short>,
    /// Where it came from.
    pub origin: Origin,
    /// Agreed investment.
    pub agreed_investment: Option<Money>,
    /// Land need in 亩, ≥ 0.
    pub land_mu: Option<f64>,
    /// Major project.
    pub is_major: bool,
    /// Origin of the capital.
    pub capital_origin: CapitalOrigin,
    /// Contact leader by name: linked to the one user of that display name, else kept as text.
    pub contact_leader: Option<Short>,
    /// Contact leader: a user with the leader role (wins over the name).
    pub contact_leader_id: Option<i64>,
    /// Owner (负责人); none: the user creating it.
    pub owner_id: Option<i64>,
    /// Team (专班) members: users.
    pub team_members: Vec<i64>,
    /// Responsible unit.
    pub responsible_unit: Option<Unit>,
    /// Team (专班).
    pub team: Option<Unit>,
    /// Notes.
    pub notes: Option<Note>,
}

impl NewProject {
    /// A project known so far by its name and company, at `stage` from `on`; everything else left to be filled in
    /// (the industry then is the company's).
    pub fn named(name: Name, company_id: i64, stage: ProjectStage, on: Day) -> NewProject {
        NewProject {
            name,
            company_id,
            stage,
            occurred_on: on,
            note: None,
            industry: None,
            origin: Origin::default(),
            agreed_investment: None,
            land_mu: None,
            is_major: false,
            capital_origin: CapitalOrigin::default(),
            contact_leader: None,
            contact_leader_id: None,
            owner_id: None,
            team_members: Vec::new(),
            responsible_unit: None,
            team: None,
            notes: None,
        }
    }
}

/// Changes to a project (not its stage: stages move by stage events).
pub struct ProjectChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Name.
    pub name: Option<Name>,
    /// The investing company.
    pub company_id: Option<i64>,
    /// Industry.
    pub industry: Patch<Short>,
    /// Source kind.
    pub source: Option<ProjectSource>,
    /// The visit it came from.
    pub source_visit_id: Patch<i64>,
    /// The outreach activity it came from.
    pub source_outreach_id: Patch<i64>,
    /// The partner it came through.
    pub source_partner_id: Patch<i64>,
    /// Agreed investment.
    pub agreed_investment: Patch<Money>,
    /// Land need in 亩.
    pub land_mu: Patch<f64>,
    /// Major project.
    pub is_major: Option<bool>,
    /// Origin of the capital.
    pub capital_origin: Option<CapitalOrigin>,
    /// Contact leader by name (linked as on creation).
    pub contact_leader: Patch<Short>,
    /// Contact leader: a user with the leader role.
    pub contact_leader_id: Patch<i64>,
    /// Owner (负责人).
    pub owner_id: Patch<i64>,
    /// Team (专班) members: replaced when given.
    pub team_members: Option<Vec<i64>>,
    /// Responsible unit.
    pub responsible_unit: Patch<Unit>,
    /// Team.
    pub team: Patch<Unit>,
    /// Notes.
    pub notes: Patch<Note>,
}

/// A company named in a request must exist (a broken rule otherwise); answers its industry.
async fn company_industry(db: &impl ConnectionTrait, id: i64) -> AppResult<Option<String>> {
    match company::Entity::find_by_id(id).one(db).await? {
        Some(c) => Ok(c.industry),
        None => Err(super::companies::unknown_company("company_id", id)),
    }
}

/// Where a project came from: its source kind and the record of that kind, if named.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin {
    /// The source kind; implied by the record when none is given.
    pub source: Option<ProjectSource>,
    /// The visit it came from.
    pub visit: Option<i64>,
    /// The outreach activity it came from.
    pub outreach: Option<i64>,
    /// The partner it came through.
    pub partner: Option<i64>,
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
                Code::SourceMismatch,
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
                Code::UnknownSource,
                Some(field),
                Msg::new(
                    format!("there is no such source record ({id})"),
                    format!("来源记录 {id} 不存在"),
                ),
            ));
        }
        Ok(kind)
    }

    /// The origin after `c` changes the one stored in `old`: a new source record implies its kind unless the kind
    /// is changed with it.
    fn after(old: &project::Model, c: &mut ProjectChanges) -> Option<Origin> {
        let (v, o, p) = (
            std::mem::take(&mut c.source_visit_id),
            std::mem::take(&mut c.source_outreach_id),
            std::mem::take(&mut c.source_partner_id),
        );
        if c.source.is_none() && !v.changes() && !o.changes() && !p.changes() {
            return None;
        }
        let names_record = [&v, &o, &p].iter().any(|x| matches!(x, Patch::Set(_)));
        Some(Origin {
            source: c.source.or(if names_record { None } else { Some(old.source) }),
            visit: v.after(old.source_visit_id),
            outreach: o.after(old.source_outreach_id),
            partner: p.after(old.source_partner_id),
        })
    }
}

/// Creates a project at its initial stage and records the first stage event with it, in one transaction.
pub async fn create(db: &impl Db, actor: &Actor, n: NewProject) -> AppResult<ProjectView> {
    history::check_start::<ProjectHistory>(n.stage, n.occurred_on.date())?;
    let txn = crate::service::begin(db).await?;
    let company_industry = company_industry(&txn, n.company_id).await?;
    let source = n.origin.check(&txn).await?;
    let first = first_step(actor, &n);
    let people = People::of(&txn, actor, &n, &mut HashMap::new()).await?;
    let members = people::check_members(&txn, &n.team_members).await?;
    let first = [first];
    let p = insert_one(
        &txn,
        Kind::Project,
        row(n, source, company_industry, (first[0].stage, &first), people),
    )
    .await?;
    super::links::replace::<entity::project_team::Entity>(&txn, p.id, members).await?;
    history::start::<ProjectHistory>(&txn, p.id, &first[0]).await?;
    let out = view(&txn, p).await?;
    txn.commit().await?;
    Ok(out)
}

/// A project to create with the rest of its history (a batch: the ledger import, the benchmarks).
pub struct ProjectWithHistory {
    /// The project at its initial stage.
    pub project: NewProject,
    /// The moves after the initial stage, oldest first.
    pub moves: Vec<StageMove<ProjectStage>>,
}

/// Creates many projects with their histories inside the caller's transaction, each checked by the rules a stage
/// move is checked by one at a time; answers their ids in order.
pub async fn create_many(
    db: &impl ConnectionTrait,
    actor: &Actor,
    list: Vec<ProjectWithHistory>,
) -> AppResult<Vec<i64>> {
    let company_ids: Vec<i64> = list.iter().map(|p| p.project.company_id).collect();
    let industries = industries(db, &company_ids).await?;
    let (mut rows, mut histories) = (Vec::with_capacity(list.len()), Vec::with_capacity(list.len()));
    let (mut leaders, mut teams) = (HashMap::new(), Vec::with_capacity(list.len()));
    for ProjectWithHistory { project, moves } in list {
        let people = People::of(db, actor, &project, &mut leaders).await?;
        teams.push(people::check_members(db, &project.team_members).await?);
        let mut steps = vec![first_step(actor, &project)];
        steps.extend(moves.into_iter().map(|m| m.step(actor)));
        let stage = history::check_history::<ProjectHistory>(&steps, actor.can(super::Need::Lead))?;
        let source = project.origin.check(db).await?;
        let industry = industries.get(&project.company_id).cloned().flatten();
        rows.push(row(project, source, industry, (stage, &steps), people));
        histories.push(steps);
    }
    let ids = super::insert_all(db, rows, 1000).await?;
    let members = ids
        .iter()
        .zip(teams)
        .flat_map(|(id, team)| team.into_iter().map(move |u| (*id, u)));
    super::links::add_many::<entity::project_team::Entity>(db, members.collect()).await?;
    let events = ids
        .iter()
        .zip(&histories)
        .flat_map(|(id, steps)| history::event_rows::<ProjectHistory>(*id, steps))
        .collect();
    super::insert_all(db, events, 3000).await?;
    Ok(ids)
}

/// The people of a new project: its owner and its contact leader (linked, or as text).
struct People {
    owner: Option<i64>,
    leader_id: Option<i64>,
    leader_text: Option<String>,
}

impl People {
    /// Checks the people a new project names; `leaders` remembers the names already looked up.
    async fn of(
        db: &impl ConnectionTrait,
        actor: &Actor,
        n: &NewProject,
        leaders: &mut HashMap<String, (Option<i64>, Option<String>)>,
    ) -> AppResult<People> {
        let (leader_id, leader_text) = match (n.contact_leader_id, &n.contact_leader) {
            (Some(id), _) => {
                people::check_user(db, "contact_leader_id", id, true).await?;
                (Some(id), None)
            }
            (None, Some(name)) => match leaders.get(name.as_str()) {
                Some(found) => found.clone(),
                None => {
                    let found = people::leader_named(db, Some(name.clone())).await?;
                    leaders.insert(name.as_str().to_owned(), found.clone());
                    found
                }
            },
            (None, None) => (None, None),
        };
        Ok(People {
            owner: people::owner_for(db, actor, n.owner_id).await?,
            leader_id,
            leader_text,
        })
    }
}

/// The industry of each of the companies named (each must exist).
async fn industries(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, Option<String>>> {
    let ids = super::companies::known_companies(db, "company_id", ids).await?;
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let rows: Vec<(i64, Option<String>)> = company::Entity::find()
            .select_only()
            .columns([company::Column::Id, company::Column::Industry])
            .filter(company::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// The first event of a new project, recorded by the actor.
fn first_step(actor: &Actor, n: &NewProject) -> Step<ProjectStage> {
    Step {
        stage: n.stage,
        occurred_on: n.occurred_on.date(),
        note: n.note.clone().map(String::from),
        reason: None,
        recorded_by: Some(actor.username.clone()),
    }
}

/// The row of a new project whose history, `steps`, ends at `stage`: its version counts the steps, and it keeps
/// the reach dates they give.
fn row(
    n: NewProject,
    source: ProjectSource,
    company_industry: Option<String>,
    (stage, steps): (ProjectStage, &[Step<ProjectStage>]),
    people: People,
) -> project::ActiveModel {
    let now = Utc::now();
    let mut m = project::ActiveModel {
        name: Set(n.name.into()),
        company_id: Set(n.company_id),
        industry: Set(opt_string(n.industry).or(company_industry)),
        source: Set(source),
        source_visit_id: Set(n.origin.visit),
        source_outreach_id: Set(n.origin.outreach),
        source_partner_id: Set(n.origin.partner),
        agreed_investment_yuan: Set(n.agreed_investment.map(Money::as_yuan)),
        land_mu: Set(n.land_mu),
        is_major: Set(n.is_major),
        capital_origin: Set(n.capital_origin),
        contact_leader: Set(people.leader_text),
        contact_leader_id: Set(people.leader_id),
        owner_id: Set(people.owner),
        responsible_unit: Set(opt_string(n.responsible_unit)),
        team: Set(opt_string(n.team)),
        notes: Set(opt_string(n.notes)),
        stage: Set(stage),
        version: Set(steps.len() as i32),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    super::reach::set(&mut m, &history::events(steps));
    m
}

/// A project by id.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<ProjectView> {
    view(db, find::<project::Entity, _>(db, id, Kind::Project).await?).await
}

/// Changes a project's details.
pub async fn update(db: &impl ConnectionTrait, id: i64, mut c: ProjectChanges) -> AppResult<ProjectView> {
    let mut m = project::ActiveModel::default();
    if let Some(company) = c.company_id {
        company_industry(db, company).await?;
        m.company_id = Set(company);
    }
    let old = find::<project::Entity, _>(db, id, Kind::Project).await?;
    if let Some(origin) = Origin::after(&old, &mut c) {
        m.source = Set(origin.check(db).await?);
        m.source_visit_id = Set(origin.visit);
        m.source_outreach_id = Set(origin.outreach);
        m.source_partner_id = Set(origin.partner);
    }
    set_some(&mut m.name, c.name);
    c.industry.apply(&mut m.industry);
    c.agreed_investment.apply(&mut m.agreed_investment_yuan);
    c.land_mu.apply(&mut m.land_mu);
    set_some(&mut m.is_major, c.is_major);
    set_some(&mut m.capital_origin, c.capital_origin);
    match (c.contact_leader_id, c.contact_leader) {
        (Patch::Set(id), _) => {
            people::check_user(db, "contact_leader_id", id, true).await?;
            (m.contact_leader_id, m.contact_leader) = (Set(Some(id)), Set(None));
        }
        (Patch::Clear, _) | (_, Patch::Clear) => (m.contact_leader_id, m.contact_leader) = (Set(None), Set(None)),
        (Patch::Keep, Patch::Set(name)) => {
            let (id, text) = people::leader_named(db, Some(name)).await?;
            (m.contact_leader_id, m.contact_leader) = (Set(id), Set(text));
        }
        (Patch::Keep, Patch::Keep) => {}
    }
    people::change_owner(db, &mut m.owner_id, c.owner_id).await?;
    let team = match c.team_members.take() {
        Some(ids) => Some(people::check_members(db, &ids).await?),
        None => None,
    };
    c.responsible_unit.apply(&mut m.responsible_unit);
    c.team.apply(&mut m.team);
    c.notes.apply(&mut m.notes);
    let p = update_versioned::<project::Entity, _>(db, id, Kind::Project, c.version, m).await?;
    if let Some(members) = team {
        super::links::replace::<entity::project_team::Entity>(db, id, members).await?;
    }
    view(db, p).await
}

/// Deletes a project with its history, follow-ups and fund arrivals.
pub async fn delete(db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
    delete_versioned::<project::Entity, _>(db, id, Kind::Project, version).await
}

/// Records a stage move by the rules of docs/DEFINITIONS.md; moving backward needs a leader or an admin.
pub async fn move_stage(
    db: &impl Db,
    actor: &Actor,
    id: i64,
    m: StageMove<ProjectStage>,
) -> AppResult<stage_event::Model> {
    history::move_by::<ProjectHistory>(db, actor, id, m).await
}

/// A project's stage history, oldest first.
pub async fn stage_history(db: &impl ConnectionTrait, id: i64) -> AppResult<Vec<stage_event::Model>> {
    history::of::<ProjectHistory>(db, id).await
}

/// Clears a deleted visit, outreach activity or partner from the projects that named it, bumping their versions
/// (their data changed), inside the caller's transaction.
pub async fn forget_source(db: &impl ConnectionTrait, column: project::Column, id: i64) -> AppResult<()> {
    project::Entity::update_many()
        .col_expr(column, Expr::value(Option::<i64>::None))
        .col_expr(project::Column::Version, Expr::col(project::Column::Version).add(1))
        .col_expr(project::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(column.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
