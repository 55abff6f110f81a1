//! 跟进记录: dated notes on a project, with the next step and its date (never before the follow-up).

use chrono::{NaiveDate, Utc};
use entity::{enums::FollowUpKind, follow_up, project};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{
    Actor, AppError, AppResult, Dir, Kind, Order, Page, Paging, delete_versioned, find,
    input::{Day, Note, Patch, Text, opt_string, set_some},
    insert_one, update_versioned,
};

/// The next step agreed: up to 500 characters.
pub type NextStep = Text<500>;

/// A new follow-up.
pub struct NewFollowUp {
    /// Date of the follow-up.
    pub occurred_on: Day,
    /// Kind.
    pub kind: FollowUpKind,
    /// What happened.
    pub note: Note,
    /// The next step.
    pub next_step: Option<NextStep>,
    /// When the next step is due.
    pub next_date: Option<Day>,
}

/// Changes to a follow-up.
pub struct FollowUpChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Date.
    pub occurred_on: Option<Day>,
    /// Kind.
    pub kind: Option<FollowUpKind>,
    /// What happened.
    pub note: Option<Note>,
    /// The next step.
    pub next_step: Patch<NextStep>,
    /// When the next step is due.
    pub next_date: Patch<Day>,
}

const WHAT: Kind = Kind::FollowUp;

fn next_after(occurred_on: NaiveDate, next: Option<NaiveDate>) -> AppResult<()> {
    if next.is_some_and(|n| n < occurred_on) {
        return Err(AppError::invalid(
            "next_date",
            "next_date must not be before the follow-up",
            "下一步日期不能早于跟进日期",
        ));
    }
    Ok(())
}

/// Records a follow-up on a project.
pub async fn create(
    db: &impl ConnectionTrait,
    actor: &Actor,
    project_id: i64,
    n: NewFollowUp,
) -> AppResult<follow_up::Model> {
    next_after(n.occurred_on.date(), n.next_date.map(Day::date))?;
    let p = find::<project::Entity, _>(db, project_id, Kind::Project).await?;
    let now = Utc::now();
    let m = follow_up::ActiveModel {
        // Recorded by the system (the demo park), a follow-up is its project owner's.
        owner_id: Set(super::people::owner_or_actor(None, actor).or(p.owner_id)),
        project_id: Set(project_id),
        occurred_on: Set(n.occurred_on.into()),
        kind: Set(n.kind),
        note: Set(n.note.into()),
        next_step: Set(opt_string(n.next_step)),
        next_date: Set(n.next_date.map(Day::date)),
        recorded_by: Set(Some(actor.username.clone())),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    insert_one(db, Kind::FollowUp, m).await
}

/// A page of a project's follow-ups, newest first.
pub async fn list(db: &impl ConnectionTrait, project_id: i64, paging: Paging) -> AppResult<Page<follow_up::Model>> {
    find::<project::Entity, _>(db, project_id, Kind::Project).await?;
    let s = follow_up::Entity::find().filter(follow_up::Column::ProjectId.eq(project_id));
    paging
        .rows(
            db,
            s,
            Order(&[
                (follow_up::Column::OccurredOn, Dir::Desc),
                (follow_up::Column::Id, Dir::Desc),
            ]),
        )
        .await
}

/// The first `limit` follow-ups of any of `projects` on or after `from`, oldest first (what came of a visit).
pub async fn since(
    db: &impl ConnectionTrait,
    projects: &[i64],
    from: NaiveDate,
    limit: u64,
) -> AppResult<Vec<follow_up::Model>> {
    Ok(follow_up::Entity::find()
        .filter(follow_up::Column::ProjectId.is_in(projects.iter().copied()))
        .filter(follow_up::Column::OccurredOn.gte(from))
        .order_by_asc(follow_up::Column::OccurredOn)
        .order_by_asc(follow_up::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Changes a follow-up; its next date stays on or after its date.
pub async fn update(db: &impl ConnectionTrait, id: i64, c: FollowUpChanges) -> AppResult<follow_up::Model> {
    let old = find::<follow_up::Entity, _>(db, id, WHAT).await?;
    let next_date = c.next_date.into_change().map(|d| d.map(Day::date));
    next_after(
        c.occurred_on.map_or(old.occurred_on, Day::date),
        next_date.unwrap_or(old.next_date),
    )?;
    let mut m = follow_up::ActiveModel::default();
    set_some(&mut m.occurred_on, c.occurred_on);
    if let Some(d) = next_date {
        m.next_date = Set(d);
    }
    set_some(&mut m.kind, c.kind);
    set_some(&mut m.note, c.note);
    c.next_step.apply(&mut m.next_step);
    update_versioned::<follow_up::Entity, _>(db, id, WHAT, c.version, m).await
}

/// Deletes a follow-up.
pub async fn delete(db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
    delete_versioned::<follow_up::Entity, _>(db, id, WHAT, version).await
}
