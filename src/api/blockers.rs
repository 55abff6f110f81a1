//! 难题/问题台账: blockers under a project, who owns them, when they are due, and how they were resolved.

use entity::enums::{BlockerCategory, BlockerStatus};

use super::prelude::*;
use crate::service::{
    blockers::{self as svc, BlockerFilter, BlockerView},
    input::{Name, Short},
    scope::{self, Of},
};

/// A blocker (难题).
#[derive(Object)]
pub struct Blocker {
    /// The blocker's id, at `/blockers/{id}`.
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
    #[oai(nullable)]
    pub owner_unit: Option<String>,
    /// Leader it is assigned to (包联领导).
    #[oai(nullable)]
    pub assigned_leader: Option<String>,
    /// Date it was raised.
    pub opened_on: NaiveDate,
    /// Date it is due.
    #[oai(nullable)]
    pub due_date: Option<NaiveDate>,
    /// Status.
    pub status: BlockerStatus,
    /// How it was resolved (when resolved).
    #[oai(nullable)]
    pub resolution: Option<String>,
    /// Date it was resolved (when resolved).
    #[oai(nullable)]
    pub resolved_on: Option<NaiveDate>,
    /// Owner (负责人): the user who recorded it (for records made by the system, its project's owner).
    #[oai(nullable)]
    pub owner_id: Option<i64>,
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
    pub title: Name,
    /// Category.
    pub category: BlockerCategory,
    /// Responsible unit.
    #[oai(nullable)]
    pub owner_unit: Option<Name>,
    /// Assigned leader.
    #[oai(nullable)]
    pub assigned_leader: Option<Short>,
    /// Date it was raised; defaults to today.
    #[oai(nullable)]
    pub opened_on: Option<NaiveDate>,
    /// Due date; not before `opened_on`.
    #[oai(nullable)]
    pub due_date: Option<NaiveDate>,
    /// Status; defaults to `open`.
    #[oai(nullable)]
    pub status: Option<BlockerStatus>,
    /// Resolution: required with status `resolved`.
    #[oai(nullable)]
    pub resolution: Option<Text<4000>>,
    /// Resolution date: required with status `resolved`.
    #[oai(nullable)]
    pub resolved_on: Option<NaiveDate>,
}

/// Changes to a blocker: left out keeps; `null` clears. Moving to `resolved` needs `resolution` and `resolved_on`;
/// moving away from `resolved` (reopening) clears them.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct BlockerChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// What the problem is.
    #[oai(nullable)]
    pub title: Option<Name>,
    /// Category.
    #[oai(nullable)]
    pub category: Option<BlockerCategory>,
    /// Responsible unit.
    #[oai(nullable)]
    pub owner_unit: MaybeUndefined<Name>,
    /// Assigned leader.
    #[oai(nullable)]
    pub assigned_leader: MaybeUndefined<Short>,
    /// Date it was raised.
    #[oai(nullable)]
    pub opened_on: Option<NaiveDate>,
    /// Due date.
    #[oai(nullable)]
    pub due_date: MaybeUndefined<NaiveDate>,
    /// Status: open → in_progress → resolved; reopening is allowed.
    #[oai(nullable)]
    pub status: Option<BlockerStatus>,
    /// Resolution.
    #[oai(nullable)]
    pub resolution: MaybeUndefined<Text<4000>>,
    /// Resolution date.
    #[oai(nullable)]
    pub resolved_on: MaybeUndefined<NaiveDate>,
}

impl From<BlockerView> for Blocker {
    fn from(v: BlockerView) -> Self {
        let b = v.blocker;
        Blocker {
            overdue: v.overdue,
            id: b.id,
            project_name: v.project_name,
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
            owner_id: b.owner_id,
            version: b.version,
            created_at: b.created_at,
            updated_at: b.updated_at,
        }
    }
}

impl NewBlocker {
    fn parse(self) -> AppResult<svc::NewBlocker> {
        Ok(svc::NewBlocker {
            resolution: self.resolution,
            title: self.title,
            category: self.category,
            owner_unit: self.owner_unit,
            assigned_leader: self.assigned_leader,
            opened_on: self.opened_on,
            due_date: self.due_date,
            status: self.status,
            resolved_on: self.resolved_on,
        })
    }
}

impl BlockerChanges {
    fn parse(self) -> AppResult<svc::BlockerChanges> {
        Ok(svc::BlockerChanges {
            version: self.version,
            resolution: self.resolution.into(),
            title: self.title,
            category: self.category,
            owner_unit: self.owner_unit.into(),
            assigned_leader: self.assigned_leader.into(),
            opened_on: self.opened_on,
            due_date: self.due_date.into(),
            status: self.status,
            resolved_on: self.resolved_on.into(),
        })
    }
}

/// Blocker endpoints.
pub struct BlockersApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Blockers")]
impl BlockersApi {
    /// Record a blocker on a project.
    #[oai(path = "/projects/:id/blockers", method = "post", operation_id = "createBlocker")]
    async fn create(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<NewBlocker>,
    ) -> AppResult<Created<Blocker>> {
        scope::permit(&self.db, &auth.0, Need::Pipeline, Of::Project(id.0)).await?;
        let b = svc::create(tx.get().await?, &auth.0, id.0, body.0.parse()?).await?;
        Ok(Created::Created(Json(b.into())))
    }

    /// The blockers of a project, newest first.
    #[oai(
        path = "/projects/:id/blockers",
        method = "get",
        operation_id = "listProjectBlockers"
    )]
    async fn list_for_project(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<Blocker>>> {
        scope::permit(&self.db, &auth.0, Need::Read, Of::Project(id.0)).await?;
        let rows = svc::list_for_project(&self.db, id.0, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(Blocker::from).into()))
    }

    /// Blockers across all projects, newest first, filtered.
    #[oai(path = "/blockers", method = "get", operation_id = "listBlockers")]
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
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<Blocker>>> {
        auth.0.require(Need::Read)?;
        let f = BlockerFilter {
            visible: scope::visible(&self.db, &auth.0).await?,
            status: status.0,
            category: category.0,
            assigned_leader: assigned_leader.0,
            overdue: overdue.0,
            project_id: project_id.0,
            ..Default::default()
        };
        let rows = svc::list(&self.db, f, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(Blocker::from).into()))
    }

    /// Read a blocker.
    #[oai(path = "/blockers/:id", method = "get", operation_id = "getBlocker")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Blocker>> {
        scope::permit(&self.db, &auth.0, Need::Read, Of::Blocker(id.0)).await?;
        Ok(Json(svc::get(&self.db, id.0).await?.into()))
    }

    /// Change a blocker, including its status; a stale `version` answers 409.
    #[oai(path = "/blockers/:id", method = "patch", operation_id = "updateBlocker")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<BlockerChanges>,
    ) -> AppResult<Json<Blocker>> {
        scope::permit(&self.db, &auth.0, Need::Pipeline, Of::Blocker(id.0)).await?;
        let b = svc::update(tx.get().await?, &auth.0, id.0, body.0.parse()?).await?;
        Ok(Json(b.into()))
    }

    /// Delete a blocker.
    #[oai(path = "/blockers/:id", method = "delete", operation_id = "deleteBlocker")]
    async fn delete(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::Blocker(id.0)).await?;
        svc::delete(tx.get().await?, id.0, version.0).await?;
        Ok(Deleted::Deleted)
    }
}
