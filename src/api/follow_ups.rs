//! 跟进记录: dated notes on a project, with the next step and its date.

use entity::{enums::FollowUpKind, follow_up};

use super::prelude::*;
use crate::service::{
    follow_ups::{self as svc},
    input::{Day, Note},
    scope::{self, Of},
};

/// A follow-up on a project (跟进记录).
#[derive(Object)]
pub struct FollowUp {
    /// The follow-up's id, at `/follow-ups/{id}`.
    pub id: i64,
    /// The project.
    pub project_id: i64,
    /// Date of the follow-up.
    pub occurred_on: NaiveDate,
    /// Kind: meeting, call, site visit, other.
    pub kind: FollowUpKind,
    /// What happened.
    pub note: String,
    /// The next step agreed.
    #[oai(nullable)]
    pub next_step: Option<String>,
    /// When the next step is due.
    #[oai(nullable)]
    pub next_date: Option<NaiveDate>,
    /// Who recorded it.
    #[oai(nullable)]
    pub recorded_by: Option<String>,
    /// Owner (负责人): the user who recorded it (for records made by the system, its project's owner).
    #[oai(nullable)]
    pub owner_id: Option<i64>,
    /// Version for optimistic locking.
    pub version: i32,
    /// When the record was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record was last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<follow_up::Model> for FollowUp {
    fn from(m: follow_up::Model) -> Self {
        FollowUp {
            id: m.id,
            project_id: m.project_id,
            occurred_on: m.occurred_on,
            kind: m.kind,
            note: m.note,
            next_step: m.next_step,
            next_date: m.next_date,
            recorded_by: m.recorded_by,
            owner_id: m.owner_id,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new follow-up.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewFollowUp {
    /// Date of the follow-up.
    pub occurred_on: Day,
    /// Kind.
    pub kind: FollowUpKind,
    /// What happened, 1–2000 characters.
    pub note: Note,
    /// The next step, up to 500 characters.
    #[oai(nullable)]
    pub next_step: Option<Text<500>>,
    /// When the next step is due; not before the follow-up.
    #[oai(nullable)]
    pub next_date: Option<Day>,
}

/// Changes to a follow-up: left out keeps; `null` clears.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct FollowUpChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// Date.
    #[oai(nullable)]
    pub occurred_on: Option<Day>,
    /// Kind.
    #[oai(nullable)]
    pub kind: Option<FollowUpKind>,
    /// What happened.
    #[oai(nullable)]
    pub note: Option<Note>,
    /// The next step.
    #[oai(nullable)]
    pub next_step: MaybeUndefined<Text<500>>,
    /// When the next step is due.
    #[oai(nullable)]
    pub next_date: MaybeUndefined<Day>,
}

impl NewFollowUp {
    fn parse(self) -> AppResult<svc::NewFollowUp> {
        Ok(svc::NewFollowUp {
            occurred_on: self.occurred_on,
            next_date: self.next_date,
            kind: self.kind,
            note: self.note,
            next_step: self.next_step,
        })
    }
}

impl FollowUpChanges {
    fn parse(self) -> AppResult<svc::FollowUpChanges> {
        Ok(svc::FollowUpChanges {
            version: self.version,
            occurred_on: self.occurred_on,
            next_date: self.next_date.into(),
            kind: self.kind,
            note: self.note,
            next_step: self.next_step.into(),
        })
    }
}

/// Follow-up endpoints.
pub struct FollowUpsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::FollowUps")]
impl FollowUpsApi {
    /// Record a follow-up on a project.
    #[oai(path = "/projects/:id/follow-ups", method = "post", operation_id = "createFollowUp")]
    async fn create(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<NewFollowUp>,
    ) -> AppResult<Created<FollowUp>> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::Project(id.0)).await?;
        let m = svc::create(tx.get().await?, &auth.0, id.0, body.0.parse()?).await?;
        Ok(Created::Created(Json(m.into())))
    }

    /// The follow-ups of a project, newest first.
    #[oai(path = "/projects/:id/follow-ups", method = "get", operation_id = "listFollowUps")]
    async fn list(
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
    ) -> AppResult<Json<Page<FollowUp>>> {
        scope::permit(&self.db, &auth.0, Need::Read, Of::Project(id.0)).await?;
        let rows = svc::list(&self.db, id.0, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(FollowUp::from).into()))
    }

    /// Change a follow-up; a stale `version` answers 409.
    #[oai(path = "/follow-ups/:id", method = "patch", operation_id = "updateFollowUp")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<FollowUpChanges>,
    ) -> AppResult<Json<FollowUp>> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::FollowUp(id.0)).await?;
        Ok(Json(svc::update(tx.get().await?, id.0, body.0.parse()?).await?.into()))
    }

    /// Delete a follow-up.
    #[oai(path = "/follow-ups/:id", method = "delete", operation_id = "deleteFollowUp")]
    async fn delete(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::FollowUp(id.0)).await?;
        svc::delete(tx.get().await?, id.0, version.0).await?;
        Ok(Deleted::Deleted)
    }
}
