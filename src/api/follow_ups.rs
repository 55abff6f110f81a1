//! 跟进记录: dated notes on a project, with the next step and its date.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{enums::FollowUpKind, follow_up, project};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::{
    ApiTags, Created, Deleted, Page, Paging,
    companies::{changed, set_if},
    delete_versioned, find, update_versioned,
};
use crate::{
    auth::{Auth, Need},
    error::{AppError, AppResult},
    validate,
};

/// A follow-up on a project (跟进记录).
#[derive(Object)]
pub struct FollowUp {
    /// Id.
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
    pub next_step: Option<String>,
    /// When the next step is due.
    pub next_date: Option<NaiveDate>,
    /// Who recorded it.
    pub recorded_by: Option<String>,
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
    pub occurred_on: NaiveDate,
    /// Kind.
    pub kind: FollowUpKind,
    /// What happened, 1–2000 characters.
    pub note: String,
    /// The next step, up to 500 characters.
    pub next_step: Option<String>,
    /// When the next step is due; not before the follow-up.
    pub next_date: Option<NaiveDate>,
}

/// Changes to a follow-up: left out keeps; `null` clears.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct FollowUpChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Date.
    pub occurred_on: Option<NaiveDate>,
    /// Kind.
    pub kind: Option<FollowUpKind>,
    /// What happened.
    pub note: Option<String>,
    /// The next step.
    pub next_step: MaybeUndefined<String>,
    /// When the next step is due.
    pub next_date: MaybeUndefined<NaiveDate>,
}

fn next_after(occurred_on: NaiveDate, next: Option<NaiveDate>) -> crate::error::AppResult<()> {
    if next.is_some_and(|n| n < occurred_on) {
        return Err(AppError::invalid(
            "next_date",
            "next_date must not be before the follow-up",
            "下一步日期不能早于跟进日期",
        ));
    }
    Ok(())
}

/// Follow-up endpoints.
pub struct FollowUpsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::FollowUps")]
impl FollowUpsApi {
    /// Record a follow-up on a project.
    #[oai(path = "/projects/:id/follow-ups", method = "post")]
    async fn create(&self, auth: Auth, id: Path<i64>, body: Json<NewFollowUp>) -> AppResult<Created<FollowUp>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let occurred_on = validate::date("occurred_on", b.occurred_on)?;
        let next_date = validate::opt_date("next_date", b.next_date)?;
        next_after(occurred_on, next_date)?;
        let m = follow_up::ActiveModel {
            project_id: Set(id.0),
            occurred_on: Set(occurred_on),
            kind: Set(b.kind),
            note: Set(validate::text("note", &b.note, 2000)?),
            next_step: Set(validate::opt_text("next_step", b.next_step.as_deref(), 500)?),
            next_date: Set(next_date),
            recorded_by: Set(Some(auth.0.username.clone())),
            version: Set(1),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        find::<project::Entity, _>(&self.db, id.0, "project").await?;
        let m = follow_up::Entity::insert(m).exec_with_returning(&self.db).await?;
        Ok(Created::Created(Json(m.into())))
    }

    /// The follow-ups of a project, newest first.
    #[oai(path = "/projects/:id/follow-ups", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<Page<FollowUp>>> {
        auth.0.require(Need::Read)?;
        find::<project::Entity, _>(&self.db, id.0, "project").await?;
        let s = follow_up::Entity::find()
            .filter(follow_up::Column::ProjectId.eq(id.0))
            .order_by_desc(follow_up::Column::OccurredOn)
            .order_by_desc(follow_up::Column::Id);
        let page = Paging::new(page.0, per_page.0)
            .fetch(&self.db, s, async |rows| {
                Ok(rows.into_iter().map(FollowUp::from).collect())
            })
            .await?;
        Ok(Json(page))
    }

    /// Change a follow-up; a stale `version` answers 409.
    #[oai(path = "/follow-ups/:id", method = "patch")]
    async fn update(&self, auth: Auth, id: Path<i64>, body: Json<FollowUpChanges>) -> AppResult<Json<FollowUp>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let old = find::<follow_up::Entity, _>(&self.db, id.0, "follow-up").await?;
        let mut m = follow_up::ActiveModel::default();
        let occurred_on = b.occurred_on.map(|d| validate::date("occurred_on", d)).transpose()?;
        let next_date = changed(b.next_date, |d| validate::date("next_date", *d).map(Some))?;
        next_after(
            occurred_on.unwrap_or(old.occurred_on),
            next_date.unwrap_or(old.next_date),
        )?;
        set_if(&mut m.occurred_on, occurred_on);
        set_if(&mut m.next_date, next_date);
        if let Some(k) = b.kind {
            m.kind = Set(k);
        }
        if let Some(n) = &b.note {
            m.note = Set(validate::text("note", n, 2000)?);
        }
        set_if(
            &mut m.next_step,
            changed(b.next_step, |v| validate::opt_text("next_step", Some(v), 500))?,
        );
        let m = update_versioned::<follow_up::Entity, _>(&self.db, id.0, "follow-up", b.version, m).await?;
        Ok(Json(m.into()))
    }

    /// Delete a follow-up.
    #[oai(path = "/follow-ups/:id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        delete_versioned::<follow_up::Entity, _>(&self.db, id.0, "follow-up", version.0).await
    }
}
