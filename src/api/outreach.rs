//! 招商活动: outreach trips (外出招商), promotion events (推介会), forums (论坛) and resident campaigns (驻点招商).

use entity::enums::OutreachKind;

use super::prelude::*;
use crate::service::{
    input::{Place, Short},
    outreach::{self as svc, OutreachFilter, OutreachView},
    scope::{self, Of},
    visits::list_of,
};

/// An outreach activity (招商活动).
#[derive(Object)]
pub struct Outreach {
    /// The activity's id: it is read, changed and deleted at `/outreach/{id}`.
    pub id: i64,
    /// Kind.
    pub kind: OutreachKind,
    /// City visited or where the event took place.
    pub city: String,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day (≥ start_date).
    pub end_date: NaiveDate,
    /// Leading official (带队领导).
    #[oai(nullable)]
    pub leading_official: Option<String>,
    /// Participants.
    pub participants: Vec<String>,
    /// Companies met.
    pub company_ids: Vec<i64>,
    /// Projects that came from this activity (those naming it as their source).
    pub project_ids: Vec<i64>,
    /// Notes.
    #[oai(nullable)]
    pub notes: Option<String>,
    /// Owner (负责人): the user; through them the record belongs to a department.
    #[oai(nullable)]
    pub owner_id: Option<i64>,
    /// Version for optimistic locking.
    pub version: i32,
    /// When the record was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record was last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

/// A new outreach activity.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewOutreach {
    /// Kind.
    pub kind: OutreachKind,
    /// City, 1–50 characters.
    pub city: Place,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day; defaults to the first.
    #[oai(nullable)]
    pub end_date: Option<NaiveDate>,
    /// Leading official.
    #[oai(nullable)]
    pub leading_official: Option<Short>,
    /// Participants.
    #[oai(nullable)]
    pub participants: Option<Vec<String>>,
    /// Companies met.
    #[oai(nullable)]
    pub company_ids: Option<Vec<i64>>,
    /// Notes, up to 4000 characters.
    #[oai(nullable)]
    pub notes: Option<Text<4000>>,
    /// Owner (负责人): a user; defaults to the caller.
    #[oai(nullable)]
    pub owner_id: Option<i64>,
}

/// Changes to an outreach activity: left out keeps; lists replace; `null` clears a text.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct OutreachChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// Kind.
    #[oai(nullable)]
    pub kind: Option<OutreachKind>,
    /// City.
    #[oai(nullable)]
    pub city: Option<Place>,
    /// First day.
    #[oai(nullable)]
    pub start_date: Option<NaiveDate>,
    /// Last day.
    #[oai(nullable)]
    pub end_date: Option<NaiveDate>,
    /// Leading official.
    #[oai(nullable)]
    pub leading_official: MaybeUndefined<Short>,
    /// Participants (replaces the list).
    #[oai(nullable)]
    pub participants: Option<Vec<String>>,
    /// Companies met (replaces the list).
    #[oai(nullable)]
    pub company_ids: Option<Vec<i64>>,
    /// Notes.
    #[oai(nullable)]
    pub notes: MaybeUndefined<Text<4000>>,
    /// Owner (负责人).
    #[oai(nullable)]
    pub owner_id: MaybeUndefined<i64>,
}

impl From<OutreachView> for Outreach {
    fn from(v: OutreachView) -> Self {
        let o = v.outreach;
        Outreach {
            id: o.id,
            kind: o.kind,
            city: o.city,
            start_date: o.start_date,
            end_date: o.end_date,
            leading_official: o.leading_official,
            participants: list_of(&o.participants),
            company_ids: v.company_ids,
            project_ids: v.project_ids,
            notes: o.notes,
            owner_id: o.owner_id,
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

impl NewOutreach {
    fn parse(self) -> AppResult<svc::NewOutreach> {
        Ok(svc::NewOutreach {
            kind: self.kind,
            city: self.city,
            start_date: self.start_date,
            end_date: self.end_date,
            leading_official: self.leading_official,
            participants: self.participants,
            company_ids: self.company_ids.unwrap_or_default(),
            notes: self.notes,
            owner_id: self.owner_id,
        })
    }
}

impl OutreachChanges {
    fn parse(self) -> AppResult<svc::OutreachChanges> {
        Ok(svc::OutreachChanges {
            version: self.version,
            kind: self.kind,
            city: self.city,
            start_date: self.start_date,
            end_date: self.end_date,
            leading_official: self.leading_official.into(),
            participants: self.participants,
            company_ids: self.company_ids,
            notes: self.notes.into(),
            owner_id: self.owner_id.into(),
        })
    }
}

/// Outreach endpoints.
pub struct OutreachApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Outreach")]
impl OutreachApi {
    /// Record an outreach activity.
    #[oai(path = "/outreach", method = "post", operation_id = "createOutreachActivity")]
    async fn create(&self, auth: Auth, tx: WriteTx, body: JsonBody<NewOutreach>) -> AppResult<Created<Outreach>> {
        auth.0.require(Need::Edit)?;
        Ok(Created::Created(Json(
            svc::create(tx.get().await?, &auth.0, body.0.parse()?).await?.into(),
        )))
    }

    /// List outreach activities, newest first; `from`/`to` select by start date (inclusive).
    #[oai(path = "/outreach", method = "get", operation_id = "listOutreachActivities")]
    async fn list(
        &self,
        auth: Auth,
        /// Kind.
        kind: Query<Option<OutreachKind>>,
        /// City, exactly.
        city: Query<Option<String>>,
        /// Earliest start date, inclusive.
        from: Query<Option<NaiveDate>>,
        /// Latest start date, inclusive.
        to: Query<Option<NaiveDate>>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<Outreach>>> {
        auth.0.require(Need::Read)?;
        let f = OutreachFilter {
            visible: scope::visible(&self.db, &auth.0).await?,
            kind: kind.0,
            city: city.0,
            from: from.0,
            to: to.0,
        };
        let rows = svc::list(&self.db, f, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(Outreach::from).into()))
    }

    /// Read an outreach activity.
    #[oai(path = "/outreach/:id", method = "get", operation_id = "getOutreachActivity")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Outreach>> {
        scope::permit(&self.db, &auth.0, Need::Read, Of::Outreach(id.0)).await?;
        Ok(Json(svc::get(&self.db, id.0).await?.into()))
    }

    /// Change an outreach activity; a stale `version` answers 409.
    #[oai(path = "/outreach/:id", method = "patch", operation_id = "updateOutreachActivity")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<OutreachChanges>,
    ) -> AppResult<Json<Outreach>> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::Outreach(id.0)).await?;
        Ok(Json(svc::update(tx.get().await?, id.0, body.0.parse()?).await?.into()))
    }

    /// Delete an outreach activity; projects that came from it lose the reference (not their source kind).
    #[oai(path = "/outreach/:id", method = "delete", operation_id = "deleteOutreachActivity")]
    async fn delete(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::Outreach(id.0)).await?;
        svc::delete(tx.get().await?, id.0, version.0).await?;
        Ok(Deleted::Deleted)
    }
}
