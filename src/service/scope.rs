//! 数据权限: which records a user sees. An admin sets a user's scope; without one it is the role's: admins, leaders
//! and viewers see all, staff their department and the departments below it. A record of a department is one its
//! owner belongs to; a record without an owner (recorded before owners were kept, until an admin assigns one:
//! `invest-crm migrate report-unlinked`) belongs to the whole bureau and is seen with the `department` scope too. A
//! user in no department has nothing to be limited to: the `department` scope sees all until an admin puts them in
//! one. `own` is the records the user owns, is the contact leader of, or is on the team (专班) of. A record out of
//! scope does not exist for the user (404). An API token sees what its user sees; the system (the command line) sees
//! all.

use entity::{
    enums::{DataScope, Role},
    project, project_team, user,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::SelectStatement,
};

use super::{Actor, AppError, AppResult, actor::Via, departments};

/// The records a user sees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Visible {
    /// Every record.
    #[default]
    All,
    /// The records owned by these users (a department and those below it), and those owned by no one.
    Owners(Vec<i64>),
    /// The records of this user: owned, led or worked on in a team.
    Own(i64),
}

/// A user's scope: as an admin set it, else the role's default.
pub fn scope_of(u: &user::Model) -> DataScope {
    u.data_scope.unwrap_or(match u.role {
        Role::Staff => DataScope::Department,
        Role::Admin | Role::Leader | Role::Viewer => DataScope::All,
    })
}

impl Visible {
    /// What the actor sees.
    pub async fn of(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Visible> {
        if actor.via == Via::System {
            return Ok(Visible::All);
        }
        let u = user::Entity::find_by_id(actor.user_id)
            .one(db)
            .await?
            .ok_or(AppError::not_found("user"))?;
        Ok(match (scope_of(&u), u.department_id) {
            (DataScope::All, _) | (DataScope::Department, None) => Visible::All,
            (DataScope::Own, _) => Visible::Own(u.id),
            (DataScope::Department, Some(d)) => {
                let depts = departments::with_descendants(db, d).await?;
                let users = user::Entity::find()
                    .select_only()
                    .column(user::Column::Id)
                    .filter(user::Column::DepartmentId.is_in(depts))
                    .into_tuple::<i64>()
                    .all(db)
                    .await?;
                Visible::Owners(users)
            }
        })
    }

    /// The projects seen, as a condition on projects (none: all).
    pub fn projects(&self) -> Option<Condition> {
        match self {
            Visible::All => None,
            Visible::Owners(ids) => Some(
                Condition::any()
                    .add(project::Column::OwnerId.is_in(ids.clone()))
                    .add(project::Column::OwnerId.is_null()),
            ),
            Visible::Own(me) => {
                let teams = project_team::Entity::find()
                    .select_only()
                    .column(project_team::Column::ProjectId)
                    .filter(project_team::Column::UserId.eq(*me))
                    .into_query();
                Some(
                    Condition::any()
                        .add(project::Column::OwnerId.eq(*me))
                        .add(project::Column::ContactLeaderId.eq(*me))
                        .add(project::Column::Id.in_subquery(teams)),
                )
            }
        }
    }

    /// The ids of the projects seen, as a subquery (none: all).
    pub fn project_ids(&self) -> Option<SelectStatement> {
        self.projects().map(|c| {
            project::Entity::find()
                .select_only()
                .column(project::Column::Id)
                .filter(c)
                .into_query()
        })
    }

    /// A condition on a record of the project in `column`: its project is seen (none: all).
    pub fn via_project(&self, column: impl ColumnTrait) -> Option<Condition> {
        self.project_ids().map(|q| Condition::all().add(column.in_subquery(q)))
    }

    /// A condition on a record with an owner in `column` (visits, outreach, candidates): its owner is seen (none: all).
    pub fn owned(&self, column: impl ColumnTrait + Copy) -> Option<Condition> {
        match self {
            Visible::All => None,
            Visible::Owners(ids) => Some(Condition::any().add(column.is_in(ids.clone())).add(column.is_null())),
            Visible::Own(me) => Some(Condition::all().add(column.eq(*me))),
        }
    }

    /// The project exists for the actor: seen, else not found.
    pub async fn project(&self, db: &impl ConnectionTrait, id: i64) -> AppResult<()> {
        let mut q = project::Entity::find_by_id(id);
        if let Some(c) = self.projects() {
            q = q.filter(c);
        }
        match q
            .select_only()
            .column(project::Column::Id)
            .into_tuple::<i64>()
            .one(db)
            .await?
        {
            Some(_) => Ok(()),
            None => Err(AppError::not_found("project")),
        }
    }
}

/// A record named in a request, to be checked against what the caller sees.
#[derive(Debug, Clone, Copy)]
pub enum Of {
    /// A project.
    Project(i64),
    /// A follow-up (seen with its project).
    FollowUp(i64),
    /// A fund arrival (seen with its project).
    FundArrival(i64),
    /// A blocker (seen with its project).
    Blocker(i64),
    /// A visit (seen by its owner).
    Visit(i64),
    /// An outreach activity (seen by its owner).
    Outreach(i64),
    /// An incubation candidate (seen by its owner).
    Candidate(i64),
}

/// The record exists for the actor, else not found (a record out of scope is answered as one that does not exist).
/// A record that does not exist at all is left to the operation to answer.
pub async fn guard(db: &impl ConnectionTrait, actor: &Actor, of: Of) -> AppResult<()> {
    use entity::{blocker, follow_up, fund_arrival, incubation_candidate, outreach, visit};
    let visible = Visible::of(db, actor).await?;
    if visible == Visible::All {
        return Ok(());
    }
    let project_of = async |found: Option<i64>, what: &'static str| match found {
        Some(p) => visible.project(db, p).await.map_err(|_| AppError::not_found(what)),
        None => Ok(()),
    };
    let owned = |owner: Option<Option<i64>>, what: &'static str| match owner {
        Some(o) if !visible.sees_owner(o) => Err(AppError::not_found(what)),
        _ => Ok(()),
    };
    match of {
        Of::Project(id) => project_of(Some(id), "project").await,
        Of::FollowUp(id) => {
            let p = follow_up::Entity::find_by_id(id).one(db).await?.map(|f| f.project_id);
            project_of(p, "follow-up").await
        }
        Of::FundArrival(id) => {
            let p = fund_arrival::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|f| f.project_id);
            project_of(p, "fund arrival").await
        }
        Of::Blocker(id) => {
            let p = blocker::Entity::find_by_id(id).one(db).await?.map(|b| b.project_id);
            project_of(p, "blocker").await
        }
        Of::Visit(id) => owned(
            visit::Entity::find_by_id(id).one(db).await?.map(|v| v.owner_id),
            "visit",
        ),
        Of::Outreach(id) => owned(
            outreach::Entity::find_by_id(id).one(db).await?.map(|o| o.owner_id),
            "outreach activity",
        ),
        Of::Candidate(id) => owned(
            incubation_candidate::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|c| c.owner_id),
            "incubation candidate",
        ),
    }
}

impl Visible {
    /// Whether a record owned by `owner` is seen.
    pub fn sees_owner(&self, owner: Option<i64>) -> bool {
        match (self, owner) {
            (Visible::All, _) | (Visible::Owners(_), None) => true,
            (Visible::Owners(ids), Some(o)) => ids.contains(&o),
            (Visible::Own(me), o) => o == Some(*me),
        }
    }
}
