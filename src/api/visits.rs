//! 来访接待: one visit record is one batch (批); its headcount is the person-times (人次) it brings.

use super::prelude::*;
use crate::service::{
    input::Day,
    scope::{self, Of},
    visits::{self as svc, VisitFilter, VisitView, list_of},
};

/// A visit (来访接待): one batch of visitors.
#[derive(Object)]
pub struct Visit {
    /// The visit's id, at `/visits/{id}`; projects name it as `source_visit_id`.
    pub id: i64,
    /// Date of the visit.
    pub visit_date: NaiveDate,
    /// Number of visitors (人次), ≥ 1.
    pub headcount: i32,
    /// The visiting companies.
    pub company_ids: Vec<i64>,
    /// Projects the visit is linked to.
    pub project_ids: Vec<i64>,
    /// Receiving leaders (接待领导).
    pub receiving_leaders: Vec<String>,
    /// Accompanying staff (陪同人员).
    pub staff: Vec<String>,
    /// Purpose (来访事由).
    #[oai(nullable)]
    pub purpose: Option<String>,
    /// Summary (洽谈情况).
    #[oai(nullable)]
    pub summary: Option<String>,
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

/// A page of visits, with the batches and person-times of everything the filters match.
#[derive(Object)]
pub struct VisitPage {
    /// The visits of this page.
    pub items: Vec<Visit>,
    /// Visits matching the filters: the number of batches (批); absent on a cursor page (`after`).
    #[oai(skip_serializing_if_is_none)]
    pub total: Option<u64>,
    /// Sum of the headcounts of the visits matching the filters (人次); absent on a cursor page.
    #[oai(skip_serializing_if_is_none)]
    pub person_times: Option<i64>,
    /// The page number, from 1.
    pub page: u64,
    /// Records per page.
    pub per_page: u64,
    /// The `after` of the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next: Option<String>,
}

/// A new visit.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewVisit {
    /// Date of the visit.
    pub visit_date: Day,
    /// Number of visitors, 1–10000.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub headcount: i64,
    /// The visiting companies: at least one.
    pub company_ids: Vec<i64>,
    /// Projects the visit is linked to.
    #[oai(nullable)]
    pub project_ids: Option<Vec<i64>>,
    /// Receiving leaders.
    #[oai(nullable)]
    pub receiving_leaders: Option<Vec<String>>,
    /// Accompanying staff.
    #[oai(nullable)]
    pub staff: Option<Vec<String>>,
    /// Purpose, up to 500 characters.
    #[oai(nullable)]
    pub purpose: Option<Text<500>>,
    /// Summary, up to 4000 characters.
    #[oai(nullable)]
    pub summary: Option<Text<4000>>,
    /// Owner (负责人): a user; defaults to the caller.
    #[oai(nullable)]
    pub owner_id: Option<i64>,
}

/// Changes to a visit: left out keeps; lists given replace the stored ones; `null` clears a text.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct VisitChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// Date.
    #[oai(nullable)]
    pub visit_date: Option<Day>,
    /// Number of visitors.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "10000")))]
    pub headcount: Option<i64>,
    /// The visiting companies (replaces the list).
    #[oai(nullable)]
    pub company_ids: Option<Vec<i64>>,
    /// Linked projects (replaces the list).
    #[oai(nullable)]
    pub project_ids: Option<Vec<i64>>,
    /// Receiving leaders (replaces the list).
    #[oai(nullable)]
    pub receiving_leaders: Option<Vec<String>>,
    /// Accompanying staff (replaces the list).
    #[oai(nullable)]
    pub staff: Option<Vec<String>>,
    /// Purpose.
    #[oai(nullable)]
    pub purpose: MaybeUndefined<Text<500>>,
    /// Summary.
    #[oai(nullable)]
    pub summary: MaybeUndefined<Text<4000>>,
    /// Owner (负责人).
    #[oai(nullable)]
    pub owner_id: MaybeUndefined<i64>,
}

impl From<VisitView> for Visit {
    fn from(v: VisitView) -> Self {
        let m = v.visit;
        Visit {
            id: m.id,
            visit_date: m.visit_date,
            headcount: m.headcount,
            company_ids: v.company_ids,
            project_ids: v.project_ids,
            receiving_leaders: list_of(&m.receiving_leaders),
            staff: list_of(&m.staff),
            purpose: m.purpose,
            summary: m.summary,
            owner_id: m.owner_id,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl NewVisit {
    fn parse(self) -> AppResult<svc::NewVisit> {
        Ok(svc::NewVisit {
            visit_date: self.visit_date,
            headcount: self.headcount,
            company_ids: self.company_ids,
            project_ids: self.project_ids.unwrap_or_default(),
            receiving_leaders: self.receiving_leaders,
            staff: self.staff,
            purpose: self.purpose,
            summary: self.summary,
            owner_id: self.owner_id,
        })
    }
}

impl VisitChanges {
    fn parse(self) -> AppResult<svc::VisitChanges> {
        Ok(svc::VisitChanges {
            version: self.version,
            visit_date: self.visit_date,
            headcount: self.headcount,
            company_ids: self.company_ids,
            project_ids: self.project_ids,
            receiving_leaders: self.receiving_leaders,
            staff: self.staff,
            purpose: self.purpose.into(),
            summary: self.summary.into(),
            owner_id: self.owner_id.into(),
        })
    }
}

/// Visit endpoints.
pub struct VisitsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Visits")]
impl VisitsApi {
    /// Record a visit.
    #[oai(path = "/visits", method = "post", operation_id = "createVisit")]
    async fn create(&self, auth: Auth, tx: WriteTx, body: JsonBody<NewVisit>) -> AppResult<Created<Visit>> {
        auth.0.require(Need::Edit)?;
        Ok(Created::Created(Json(
            svc::create(tx.get().await?, &auth.0, body.0.parse()?).await?.into(),
        )))
    }

    /// List visits, newest first. `total` is the number of batches and `person_times` the sum of headcounts of all
    /// the visits the filters match (not only this page).
    #[oai(path = "/visits", method = "get", operation_id = "listVisits")]
    async fn list(
        &self,
        auth: Auth,
        /// Earliest visit date, inclusive.
        from: Query<Option<NaiveDate>>,
        /// Latest visit date, inclusive.
        to: Query<Option<NaiveDate>>,
        /// Visits of this company.
        company_id: Query<Option<i64>>,
        /// Visits linked to this project.
        project_id: Query<Option<i64>>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<VisitPage>> {
        auth.0.require(Need::Read)?;
        let f = VisitFilter {
            visible: scope::visible(&self.db, &auth.0).await?,
            from: from.0,
            to: to.0,
            company_id: company_id.0,
            project_id: project_id.0,
        };
        let (page, person_times) = svc::list(&self.db, f, paging(page, per_page, after)?).await?;
        Ok(Json(VisitPage {
            items: page.items.into_iter().map(Visit::from).collect(),
            total: page.total,
            person_times,
            page: page.page,
            per_page: page.per_page,
            next: page.next,
        }))
    }

    /// Read a visit.
    #[oai(path = "/visits/:id", method = "get", operation_id = "getVisit")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Visit>> {
        scope::permit(&self.db, &auth.0, Need::Read, Of::Visit(id.0)).await?;
        Ok(Json(svc::get(&self.db, id.0).await?.into()))
    }

    /// Change a visit; a stale `version` answers 409 and changes nothing.
    #[oai(path = "/visits/:id", method = "patch", operation_id = "updateVisit")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<VisitChanges>,
    ) -> AppResult<Json<Visit>> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::Visit(id.0)).await?;
        Ok(Json(svc::update(tx.get().await?, id.0, body.0.parse()?).await?.into()))
    }

    /// Delete a visit; projects that named it as their source keep their source kind but lose the reference.
    #[oai(path = "/visits/:id", method = "delete", operation_id = "deleteVisit")]
    async fn delete(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::Visit(id.0)).await?;
        svc::delete(tx.get().await?, id.0, version.0).await?;
        Ok(Deleted::Deleted)
    }
}
