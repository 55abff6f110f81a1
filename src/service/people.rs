//! The people records point at: owners (负责人) and contact leaders (联系领导) are accounts, not names. A renamed
//! leader keeps their projects; two people of one name are two people.

use std::collections::HashMap;

use entity::{enums::Role, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::{
    Actor, AppError, AppResult, Code, Msg,
    actor::Via,
    input::{Patch, Short},
};

/// The owner of a new record: the one named, else the user creating it (the system, at the command line, owns
/// nothing).
pub fn owner_or_actor(given: Option<i64>, actor: &Actor) -> Option<i64> {
    given.or((actor.via != Via::System && actor.user_id > 0).then_some(actor.user_id))
}

/// The owner of a new record, checked: the user named (who must be enabled), else the actor.
pub async fn owner_for(db: &impl ConnectionTrait, actor: &Actor, given: Option<i64>) -> AppResult<Option<i64>> {
    if let Some(o) = given {
        check_user(db, "owner_id", o, false).await?;
    }
    Ok(owner_or_actor(given, actor))
}

/// A change of owner, checked, onto a record's column.
pub async fn change_owner(
    db: &impl ConnectionTrait,
    column: &mut sea_orm::ActiveValue<Option<i64>>,
    change: Patch<i64>,
) -> AppResult<()> {
    if let Patch::Set(o) = change {
        check_user(db, "owner_id", o, false).await?;
    }
    change.apply(column);
    Ok(())
}

/// A user named as `field` must exist and be enabled; with `leader`, must also have the leader role.
pub async fn check_user(db: &impl ConnectionTrait, field: &str, id: i64, leader: bool) -> AppResult<()> {
    let u = user::Entity::find_by_id(id).one(db).await?;
    match u {
        Some(u) if !u.disabled && (!leader || u.role == Role::Leader) => Ok(()),
        Some(u) if !u.disabled => Err(AppError::rule(
            Code::NotALeader,
            Some(field),
            Msg::new(
                "the contact leader must have the leader role",
                "联系领导须为领导角色的用户",
            ),
        )),
        _ => Err(AppError::rule(
            Code::UnknownUser,
            Some(field),
            Msg::new("no enabled user has this id", "该用户不存在或已停用"),
        )),
    }
}

/// A contact leader as given in text: the one user of that display name, if there is exactly one; otherwise the
/// text is kept as it is (and listed by `invest-crm migrate report-unlinked`).
pub async fn leader_named(db: &impl ConnectionTrait, name: Option<Short>) -> AppResult<(Option<i64>, Option<String>)> {
    let Some(name) = name else { return Ok((None, None)) };
    let ids: Vec<i64> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::DisplayName.eq(name.as_str()))
        .limit(2)
        .into_tuple()
        .all(db)
        .await?;
    Ok(match ids[..] {
        [id] => (Some(id), None),
        _ => (None, Some(name.into())),
    })
}

/// A contact leader as an edit form sends it back: the linked user's id beside the name in the text box. The
/// link is kept while the box holds that user's display name (resolving the name again would unlink a leader who
/// shares it with someone); a name typed anew is resolved as on creation, and an empty box clears.
pub async fn leader_edited(
    db: &impl ConnectionTrait,
    linked: Option<i64>,
    typed: Option<Short>,
) -> AppResult<Patch<Short>> {
    if let (Some(id), Some(name)) = (linked, &typed)
        && display_names(db, [id])
            .await?
            .get(&id)
            .is_some_and(|n| n == name.as_str())
    {
        return Ok(Patch::Keep);
    }
    Ok(Patch::from_opt(typed))
}

/// The display names of the users with the given logins (what stage events and follow-ups record as who
/// recorded them); a login that names no user is left out.
pub async fn display_names_by_login(
    db: &impl ConnectionTrait,
    logins: impl IntoIterator<Item = String>,
) -> AppResult<HashMap<String, String>> {
    let mut logins: Vec<String> = logins.into_iter().collect();
    logins.sort_unstable();
    logins.dedup();
    if logins.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .select_only()
        .columns([user::Column::Username, user::Column::DisplayName])
        .filter(user::Column::Username.is_in(logins))
        .into_tuple::<(String, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The display name of each of the users among `ids`.
pub async fn display_names(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> AppResult<HashMap<i64, String>> {
    let ids: Vec<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .select_only()
        .columns([user::Column::Id, user::Column::DisplayName])
        .filter(user::Column::Id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// What names no account: projects whose contact leader is text only (id, name, the text), and the number of records
/// without an owner in each table that has owners.
pub struct Unlinked {
    /// Projects whose contact leader links no user.
    pub leaders: Vec<(i64, String, String)>,
    /// Records without an owner, by table.
    pub unowned: Vec<(&'static str, u64)>,
}

/// What names no account, for an admin to fix (`invest-crm migrate report-unlinked`).
pub async fn unlinked(db: &impl ConnectionTrait) -> AppResult<Unlinked> {
    use entity::{blocker, follow_up, incubation_candidate, outreach, project, visit};
    use sea_orm::{PaginatorTrait, QueryOrder};
    let leaders = project::Entity::find()
        .select_only()
        .columns([
            project::Column::Id,
            project::Column::Name,
            project::Column::ContactLeader,
        ])
        .filter(project::Column::ContactLeaderId.is_null())
        .filter(project::Column::ContactLeader.is_not_null())
        .order_by_asc(project::Column::Id)
        .into_tuple::<(i64, String, String)>()
        .all(db)
        .await?;
    let unowned = vec![
        (
            "projects",
            project::Entity::find()
                .filter(project::Column::OwnerId.is_null())
                .count(db)
                .await?,
        ),
        (
            "blockers",
            blocker::Entity::find()
                .filter(blocker::Column::OwnerId.is_null())
                .count(db)
                .await?,
        ),
        (
            "visits",
            visit::Entity::find()
                .filter(visit::Column::OwnerId.is_null())
                .count(db)
                .await?,
        ),
        (
            "outreach",
            outreach::Entity::find()
                .filter(outreach::Column::OwnerId.is_null())
                .count(db)
                .await?,
        ),
        (
            "follow_ups",
            follow_up::Entity::find()
                .filter(follow_up::Column::OwnerId.is_null())
                .count(db)
                .await?,
        ),
        (
            "incubation_candidates",
            incubation_candidate::Entity::find()
                .filter(incubation_candidate::Column::OwnerId.is_null())
                .count(db)
                .await?,
        ),
    ];
    Ok(Unlinked { leaders, unowned })
}

/// What is due for the actor on `as_of` (today when none): their follow-ups, blockers and quiet projects.
pub async fn agenda(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    as_of: Option<chrono::NaiveDate>,
    stale_days: i64,
) -> AppResult<jobs::reminders::Agenda> {
    let as_of = as_of.unwrap_or_else(super::input::today);
    jobs::reminders::agenda(db, actor.user_id, as_of, stale_days)
        .await
        .map_err(AppError::Internal)
}

/// The members of a team as given, each an enabled user, each once.
pub async fn check_members(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<Vec<i64>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for id in &ids {
        check_user(db, "team_member_ids", *id, false).await?;
    }
    Ok(ids)
}
