//! 难题/问题台账: blockers under a project, who owns them, when they are due, and how they were resolved.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    blocker,
    enums::{BlockerCategory, BlockerStatus},
    project,
};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

use super::{
    ApiTags, Created, Deleted, Page, Paging,
    companies::{changed, set_if},
    delete_versioned, find, update_versioned,
};
use crate::{
    auth::{Auth, Need},
    error::{AppError, AppResult, Msg},
    validate,
};

/// A blocker (难题).
#[derive(Object)]
pub struct Blocker {
    /// Id.
    pub id: i64,
    /// The project it stands in the way of.
    pub project_id: i64,
    /// The project's name.
    pub project_name: String,
    /// What the problem is.
    pub title: String,
    /// Category.
    pub category: BlockerCategory,
    /// Unit responsible for solving it (责任单位).
    pub owner_unit: Option<String>,
    /// Leader it is assigned to (包联领导).
    pub assigned_leader: Option<String>,
    /// Date it was raised.
    pub opened_on: NaiveDate,
    /// Date it is due.
    pub due_date: Option<NaiveDate>,
    /// Status.
    pub status: BlockerStatus,
    /// How it was resolved (when resolved).
    pub resolution: Option<String>,
    /// Date it was resolved (when resolved).
    pub resolved_on: Option<NaiveDate>,
    /// Not resolved and past its due date (as of today in Asia/Shanghai).
    pub overdue: bool,
    /// Version for optimistic locking.
    pub version: i32,
    /// When the record was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record was last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

/// A new blocker; it starts `open` unless given another status.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewBlocker {
    /// What the problem is, 1–200 characters.
    pub title: String,
    /// Category.
    pub category: BlockerCategory,
    /// Responsible unit.
    pub owner_unit: Option<String>,
    /// Assigned leader.
    pub assigned_leader: Option<String>,
    /// Date it was raised; defaults to today.
    pub opened_on: Option<NaiveDate>,
    /// Due date; not before `opened_on`.
    pub due_date: Option<NaiveDate>,
    /// Status; defaults to `open`.
    pub status: Option<BlockerStatus>,
    /// Resolution: required with status `resolved`.
    pub resolution: Option<String>,
    /// Resolution date: required with status `resolved`.
    pub resolved_on: Option<NaiveDate>,
}

/// Changes to a blocker: left out keeps; `null` clears. Moving to `resolved` needs `resolution` and `resolved_on`;
/// moving away from `resolved` (reopening) clears them.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct BlockerChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// What the problem is.
    pub title: Option<String>,
    /// Category.
    pub category: Option<BlockerCategory>,
    /// Responsible unit.
    pub owner_unit: MaybeUndefined<String>,
    /// Assigned leader.
    pub assigned_leader: MaybeUndefined<String>,
    /// Date it was raised.
    pub opened_on: Option<NaiveDate>,
    /// Due date.
    pub due_date: MaybeUndefined<NaiveDate>,
    /// Status: open → in_progress → resolved; reopening is allowed.
    pub status: Option<BlockerStatus>,
    /// Resolution.
    pub resolution: MaybeUndefined<String>,
    /// Resolution date.
    pub resolved_on: MaybeUndefined<NaiveDate>,
}

/// The dates, status and resolution a blocker ends up with, checked together.
struct Outcome {
    opened_on: NaiveDate,
    due_date: Option<NaiveDate>,
    status: BlockerStatus,
    resolution: Option<String>,
    resolved_on: Option<NaiveDate>,
}

impl Outcome {
    fn check(mut self) -> AppResult<Outcome> {
        validate::date("opened_on", self.opened_on)?;
        validate::opt_date("due_date", self.due_date)?;
        if self.due_date.is_some_and(|d| d < self.opened_on) {
            return Err(AppError::invalid(
                "due_date",
                "due_date must not be before opened_on",
                "截止日期不能早于提出日期",
            ));
        }
        if self.status == BlockerStatus::Resolved {
            if self.resolution.is_none() {
                return Err(AppError::rule(
                    "resolution_required",
                    Some("resolution"),
                    Msg::new("a resolved blocker needs its resolution", "问题办结须填写解决情况"),
                ));
            }
            let Some(on) = self.resolved_on else {
                return Err(AppError::rule(
                    "resolution_required",
                    Some("resolved_on"),
                    Msg::new("a resolved blocker needs its resolution date", "问题办结须填写办结日期"),
                ));
            };
            validate::date("resolved_on", on)?;
            if on < self.opened_on {
                return Err(AppError::invalid(
                    "resolved_on",
                    "resolved_on must not be before opened_on",
                    "办结日期不能早于提出日期",
                ));
            }
        } else {
            self.resolution = None;
            self.resolved_on = None;
        }
        Ok(self)
    }
}

fn is_overdue(b: &blocker::Model, today: NaiveDate) -> bool {
    b.status != BlockerStatus::Resolved && b.due_date.is_some_and(|d| d < today)
}

async fn views(db: &impl ConnectionTrait, rows: Vec<blocker::Model>) -> AppResult<Vec<Blocker>> {
    let ids: Vec<i64> = rows.iter().map(|b| b.project_id).collect();
    let names = super::names::<project::Entity>(db, ids).await?;
    let today = validate::today();
    Ok(rows
        .into_iter()
        .map(|b| Blocker {
            overdue: is_overdue(&b, today),
            id: b.id,
            project_name: names.get(&b.project_id).cloned().unwrap_or_default(),
            project_id: b.project_id,
            title: b.title,
            category: b.category,
            owner_unit: b.owner_unit,
            assigned_leader: b.assigned_leader,
            opened_on: b.opened_on,
            due_date: b.due_date,
            status: b.status,
            resolution: b.resolution,
            resolved_on: b.resolved_on,
            version: b.version,
            created_at: b.created_at,
            updated_at: b.updated_at,
        })
        .collect())
}

/// Blocker endpoints.
pub struct BlockersApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Blockers")]
impl BlockersApi {
    /// Record a blocker on a project.
    #[oai(path = "/projects/:id/blockers", method = "post")]
    async fn create(&self, auth: Auth, id: Path<i64>, body: Json<NewBlocker>) -> AppResult<Created<Blocker>> {
        auth.0.require(Need::Pipeline)?;
        let b = body.0;
        let o = Outcome {
            opened_on: b.opened_on.unwrap_or_else(validate::today),
            due_date: b.due_date,
            status: b.status.unwrap_or(BlockerStatus::Open),
            resolution: validate::opt_text("resolution", b.resolution.as_deref(), 4000)?,
            resolved_on: b.resolved_on,
        }
        .check()?;
        if o.status == BlockerStatus::Resolved {
            auth.0.require(Need::Lead)?;
        }
        let now = Utc::now();
        let m = blocker::ActiveModel {
            project_id: Set(id.0),
            title: Set(validate::text("title", &b.title, 200)?),
            category: Set(b.category),
            owner_unit: Set(validate::opt_text("owner_unit", b.owner_unit.as_deref(), 200)?),
            assigned_leader: Set(validate::opt_text(
                "assigned_leader",
                b.assigned_leader.as_deref(),
                100,
            )?),
            opened_on: Set(o.opened_on),
            due_date: Set(o.due_date),
            status: Set(o.status),
            resolution: Set(o.resolution),
            resolved_on: Set(o.resolved_on),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        find::<project::Entity, _>(&self.db, id.0, "project").await?;
        let m = blocker::Entity::insert(m).exec_with_returning(&self.db).await?;
        Ok(Created::Created(Json(
            views(&self.db, vec![m]).await?.pop().expect("one in, one out"),
        )))
    }

    /// The blockers of a project, newest first.
    #[oai(path = "/projects/:id/blockers", method = "get")]
    async fn list_for_project(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<Page<Blocker>>> {
        auth.0.require(Need::Read)?;
        find::<project::Entity, _>(&self.db, id.0, "project").await?;
        let s = blocker::Entity::find()
            .filter(blocker::Column::ProjectId.eq(id.0))
            .order_by_desc(blocker::Column::OpenedOn)
            .order_by_desc(blocker::Column::Id);
        let db = &self.db;
        Ok(Json(
            Paging::new(page.0, per_page.0)
                .fetch(db, s, async |rows| views(db, rows).await)
                .await?,
        ))
    }

    /// Blockers across all projects, newest first, filtered.
    #[oai(path = "/blockers", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        /// Status.
        status: Query<Option<BlockerStatus>>,
        /// Category.
        category: Query<Option<BlockerCategory>>,
        /// Assigned leader, exactly.
        assigned_leader: Query<Option<String>>,
        /// Only overdue ones (true) or only those not overdue (false).
        overdue: Query<Option<bool>>,
        /// Blockers of this project.
        project_id: Query<Option<i64>>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<Page<Blocker>>> {
        auth.0.require(Need::Read)?;
        let mut s = blocker::Entity::find()
            .order_by_desc(blocker::Column::OpenedOn)
            .order_by_desc(blocker::Column::Id);
        if let Some(v) = status.0 {
            s = s.filter(blocker::Column::Status.eq(v));
        }
        if let Some(v) = category.0 {
            s = s.filter(blocker::Column::Category.eq(v));
        }
        if let Some(v) = assigned_leader.0 {
            s = s.filter(blocker::Column::AssignedLeader.eq(v));
        }
        if let Some(v) = project_id.0 {
            s = s.filter(blocker::Column::ProjectId.eq(v));
        }
        if let Some(v) = overdue.0 {
            // Spelled out with IS NOT NULL so that NOT(...) keeps the blockers without a due date.
            let due = Condition::all()
                .add(blocker::Column::Status.ne(BlockerStatus::Resolved))
                .add(blocker::Column::DueDate.is_not_null())
                .add(blocker::Column::DueDate.lt(validate::today()));
            s = s.filter(if v { due } else { due.not() });
        }
        let db = &self.db;
        Ok(Json(
            Paging::new(page.0, per_page.0)
                .fetch(db, s, async |rows| views(db, rows).await)
                .await?,
        ))
    }

    /// Read a blocker.
    #[oai(path = "/blockers/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Blocker>> {
        auth.0.require(Need::Read)?;
        let b = find::<blocker::Entity, _>(&self.db, id.0, "blocker").await?;
        Ok(Json(views(&self.db, vec![b]).await?.pop().expect("one in, one out")))
    }

    /// Change a blocker, including its status; a stale `version` answers 409.
    #[oai(path = "/blockers/:id", method = "patch")]
    async fn update(&self, auth: Auth, id: Path<i64>, body: Json<BlockerChanges>) -> AppResult<Json<Blocker>> {
        auth.0.require(Need::Pipeline)?;
        let b = body.0;
        let old = find::<blocker::Entity, _>(&self.db, id.0, "blocker").await?;
        let resolution = changed(b.resolution, |v| validate::opt_text("resolution", Some(v), 4000))?;
        let o = Outcome {
            opened_on: b.opened_on.unwrap_or(old.opened_on),
            due_date: changed(b.due_date, |d| Ok(Some(*d)))?.unwrap_or(old.due_date),
            status: b.status.unwrap_or(old.status),
            resolution: resolution.unwrap_or(old.resolution),
            resolved_on: changed(b.resolved_on, |d| Ok(Some(*d)))?.unwrap_or(old.resolved_on),
        }
        .check()?;
        if o.status == BlockerStatus::Resolved && old.status != BlockerStatus::Resolved {
            auth.0.require(Need::Lead)?;
        }
        let mut m = blocker::ActiveModel {
            opened_on: Set(o.opened_on),
            due_date: Set(o.due_date),
            status: Set(o.status),
            resolution: Set(o.resolution),
            resolved_on: Set(o.resolved_on),
            ..Default::default()
        };
        if let Some(t) = &b.title {
            m.title = Set(validate::text("title", t, 200)?);
        }
        set_if(&mut m.category, b.category);
        set_if(
            &mut m.owner_unit,
            changed(b.owner_unit, |v| validate::opt_text("owner_unit", Some(v), 200))?,
        );
        set_if(
            &mut m.assigned_leader,
            changed(b.assigned_leader, |v| {
                validate::opt_text("assigned_leader", Some(v), 100)
            })?,
        );
        let m = update_versioned::<blocker::Entity, _>(&self.db, id.0, "blocker", b.version, m).await?;
        Ok(Json(views(&self.db, vec![m]).await?.pop().expect("one in, one out")))
    }

    /// Delete a blocker.
    #[oai(path = "/blockers/:id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        delete_versioned::<blocker::Entity, _>(&self.db, id.0, "blocker", version.0).await
    }
}
