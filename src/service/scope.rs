//! 数据权限: which records a user sees. An admin sets a user's scope; without one it is the role's: admins, leaders
//! and viewers see all, staff their department and the departments below it. A record of a department is one its
//! owner belongs to; a record without an owner (recorded before owners were kept, until an admin assigns one:
//! `invest-crm migrate report-unlinked`) belongs to the whole bureau and is seen with the `department` scope too. A
//! user in no department has nothing to be limited to: the `department` scope sees all until an admin puts them in
//! one. `own` is the records the user owns, is the contact leader of, or is on the team (专班) of. A record out of
//! scope does not exist for the user (404). An API token sees what its user sees; the system (the command line) sees
//! all.

use entity::user;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

pub use entity::visible::{Visible, scope_of};

use super::{Actor, AppError, AppResult, Kind, Need, actor::Via};

/// What the actor sees.
pub async fn visible(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Visible> {
    Ok(seen(db, actor).await?.visible)
}

/// What a user sees, and how a figure computed over it says so.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The records.
    pub visible: Visible,
    /// None when every record is seen; else which records, in Chinese (`招商一局及其下属部门负责的记录…`).
    pub within: Option<String>,
}

/// What the actor sees, described.
pub async fn seen(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Seen> {
    if actor.via == Via::System {
        return Ok(Seen::default());
    }
    let u = user::Entity::find_by_id(actor.user_id)
        .one(db)
        .await?
        .ok_or(AppError::not_found(Kind::User))?;
    let visible = Visible::of_user(db, &u).await?;
    let within = visible.describe(db, &u).await?;
    Ok(Seen { visible, within })
}

/// The project exists for a caller who sees `visible`: seen, else not found.
pub async fn project(db: &impl ConnectionTrait, visible: &Visible, id: i64) -> AppResult<()> {
    use entity::project;
    match project::Entity::find_by_id(id)
        .apply_if(visible.projects(), QueryFilter::filter)
        .select_only()
        .column(project::Column::Id)
        .into_tuple::<i64>()
        .one(db)
        .await?
    {
        Some(_) => Ok(()),
        None => Err(AppError::not_found(Kind::Project)),
    }
}

/// Those of the projects `ids` that a caller who sees `visible` does not see.
pub async fn unseen_among(
    db: &impl ConnectionTrait,
    visible: &Visible,
    ids: impl IntoIterator<Item = i64>,
) -> AppResult<std::collections::HashSet<i64>> {
    use entity::project;
    let mut ids: std::collections::HashSet<i64> = ids.into_iter().collect();
    let Some(c) = visible.projects() else {
        return Ok(Default::default());
    };
    let list: Vec<i64> = ids.iter().copied().collect();
    for chunk in list.chunks(5000) {
        let seen: Vec<i64> = project::Entity::find()
            .select_only()
            .column(project::Column::Id)
            .filter(project::Column::Id.is_in(chunk.iter().copied()))
            .filter(c.clone())
            .into_tuple()
            .all(db)
            .await?;
        for id in seen {
            ids.remove(&id);
        }
    }
    Ok(ids)
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

/// The actor may do what `need` names (else forbidden) to this record, which exists for them (else not found: a
/// record out of scope is answered as one that does not exist). A record that does not exist at all is left to the
/// operation to answer.
pub async fn permit(db: &impl ConnectionTrait, actor: &Actor, need: Need, of: Of) -> AppResult<()> {
    use entity::{blocker, follow_up, fund_arrival, incubation_candidate, outreach, visit};
    actor.require(need)?;
    let visible = visible(db, actor).await?;
    if visible == Visible::All {
        return Ok(());
    }
    let project_of = async |found: Option<i64>, what: Kind| match found {
        Some(p) => project(db, &visible, p).await.map_err(|_| AppError::not_found(what)),
        None => Ok(()),
    };
    let owned = |owner: Option<Option<i64>>, what: Kind| match owner {
        Some(o) if !visible.sees_owner(o) => Err(AppError::not_found(what)),
        _ => Ok(()),
    };
    let answer = match of {
        Of::Project(id) => project_of(Some(id), Kind::Project).await,
        Of::FollowUp(id) => {
            let p = follow_up::Entity::find_by_id(id).one(db).await?.map(|f| f.project_id);
            project_of(p, Kind::FollowUp).await
        }
        Of::FundArrival(id) => {
            let p = fund_arrival::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|f| f.project_id);
            project_of(p, Kind::FundArrival).await
        }
        Of::Blocker(id) => {
            let p = blocker::Entity::find_by_id(id).one(db).await?.map(|b| b.project_id);
            project_of(p, Kind::Blocker).await
        }
        Of::Visit(id) => owned(
            visit::Entity::find_by_id(id).one(db).await?.map(|v| v.owner_id),
            Kind::Visit,
        ),
        Of::Outreach(id) => owned(
            outreach::Entity::find_by_id(id).one(db).await?.map(|o| o.owner_id),
            Kind::Outreach,
        ),
        Of::Candidate(id) => owned(
            incubation_candidate::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|c| c.owner_id),
            Kind::Candidate,
        ),
    };
    // Only a record that exists is hidden (the others are found by `project_of` and `owned` before they refuse).
    if let Err(AppError::NotFound { what }) = &answer {
        let exists = match of {
            Of::Project(id) => entity::project::Entity::find_by_id(id).one(db).await?.is_some(),
            _ => true,
        };
        if exists {
            super::audit::hide(*what, of.id());
        }
    }
    answer
}

impl Of {
    /// The id of the record named.
    fn id(self) -> i64 {
        match self {
            Of::Project(id)
            | Of::FollowUp(id)
            | Of::FundArrival(id)
            | Of::Blocker(id)
            | Of::Visit(id)
            | Of::Outreach(id)
            | Of::Candidate(id) => id,
        }
    }
}
