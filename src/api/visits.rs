//! 来访接待: one visit record is one batch (批); its headcount is the person-times (人次) it brings.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{project, visit, visit_company, visit_project};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
    sea_query::{Alias, Expr, Func},
};

use super::{
    ApiTags, Created, Deleted, Paging,
    companies::{changed, known_companies},
    delete_versioned, find,
    projects::forget_source,
    update_versioned,
};
use crate::{
    auth::{Auth, Need},
    error::{AppError, AppResult, Msg},
    validate,
};

/// A visit (来访接待): one batch of visitors.
#[derive(Object)]
pub struct Visit {
    /// Id.
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
    pub purpose: Option<String>,
    /// Summary (洽谈情况).
    pub summary: Option<String>,
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
    /// Visits matching the filters: the number of batches (批).
    pub total: u64,
    /// Sum of the headcounts of the visits matching the filters (人次).
    pub person_times: i64,
    /// The page number, from 1.
    pub page: u64,
    /// Records per page.
    pub per_page: u64,
}

/// A new visit.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewVisit {
    /// Date of the visit.
    pub visit_date: NaiveDate,
    /// Number of visitors, 1–10000.
    pub headcount: i64,
    /// The visiting companies: at least one.
    pub company_ids: Vec<i64>,
    /// Projects the visit is linked to.
    pub project_ids: Option<Vec<i64>>,
    /// Receiving leaders.
    pub receiving_leaders: Option<Vec<String>>,
    /// Accompanying staff.
    pub staff: Option<Vec<String>>,
    /// Purpose, up to 500 characters.
    pub purpose: Option<String>,
    /// Summary, up to 4000 characters.
    pub summary: Option<String>,
}

/// Changes to a visit: left out keeps; lists given replace the stored ones; `null` clears a text.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct VisitChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Date.
    pub visit_date: Option<NaiveDate>,
    /// Number of visitors.
    pub headcount: Option<i64>,
    /// The visiting companies (replaces the list).
    pub company_ids: Option<Vec<i64>>,
    /// Linked projects (replaces the list).
    pub project_ids: Option<Vec<i64>>,
    /// Receiving leaders (replaces the list).
    pub receiving_leaders: Option<Vec<String>>,
    /// Accompanying staff (replaces the list).
    pub staff: Option<Vec<String>>,
    /// Purpose.
    pub purpose: MaybeUndefined<String>,
    /// Summary.
    pub summary: MaybeUndefined<String>,
}

fn list_of(v: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn headcount(v: i64) -> AppResult<i32> {
    Ok(validate::int_in("headcount", v, 1..=10_000)? as i32)
}

fn company_list(ids: &[i64]) -> AppResult<()> {
    if ids.is_empty() {
        return Err(AppError::invalid(
            "company_ids",
            "a visit names at least one company",
            "来访记录须至少填写一家企业",
        ));
    }
    Ok(())
}

/// The distinct project ids of a request body; each must exist (422 `unknown_project` otherwise).
pub(super) async fn known_projects(db: &impl ConnectionTrait, field: &str, ids: &[i64]) -> AppResult<Vec<i64>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let found: Vec<i64> = project::Entity::find()
        .select_only()
        .column(project::Column::Id)
        .filter(project::Column::Id.is_in(ids.clone()))
        .into_tuple()
        .all(db)
        .await?;
    if let Some(missing) = ids.iter().find(|id| !found.contains(id)) {
        return Err(AppError::rule(
            "unknown_project",
            Some(field),
            Msg::new(
                format!("there is no project {missing}"),
                format!("项目 {missing} 不存在"),
            ),
        ));
    }
    Ok(ids)
}

async fn set_links(
    db: &impl ConnectionTrait,
    visit: i64,
    companies: Option<Vec<i64>>,
    projects: Option<Vec<i64>>,
) -> AppResult<()> {
    if let Some(companies) = companies {
        visit_company::Entity::delete_many()
            .filter(visit_company::Column::VisitId.eq(visit))
            .exec(db)
            .await?;
        if !companies.is_empty() {
            visit_company::Entity::insert_many(companies.into_iter().map(|c| visit_company::ActiveModel {
                visit_id: Set(visit),
                company_id: Set(c),
            }))
            .exec(db)
            .await?;
        }
    }
    if let Some(projects) = projects {
        visit_project::Entity::delete_many()
            .filter(visit_project::Column::VisitId.eq(visit))
            .exec(db)
            .await?;
        if !projects.is_empty() {
            visit_project::Entity::insert_many(projects.into_iter().map(|p| visit_project::ActiveModel {
                visit_id: Set(visit),
                project_id: Set(p),
            }))
            .exec(db)
            .await?;
        }
    }
    Ok(())
}

async fn views(db: &impl ConnectionTrait, rows: Vec<visit::Model>) -> AppResult<Vec<Visit>> {
    let ids: Vec<i64> = rows.iter().map(|v| v.id).collect();
    let mut companies: HashMap<i64, Vec<i64>> = HashMap::new();
    for l in visit_company::Entity::find()
        .filter(visit_company::Column::VisitId.is_in(ids.clone()))
        .order_by_asc(visit_company::Column::CompanyId)
        .all(db)
        .await?
    {
        companies.entry(l.visit_id).or_default().push(l.company_id);
    }
    let mut projects: HashMap<i64, Vec<i64>> = HashMap::new();
    for l in visit_project::Entity::find()
        .filter(visit_project::Column::VisitId.is_in(ids))
        .order_by_asc(visit_project::Column::ProjectId)
        .all(db)
        .await?
    {
        projects.entry(l.visit_id).or_default().push(l.project_id);
    }
    Ok(rows
        .into_iter()
        .map(|v| Visit {
            id: v.id,
            visit_date: v.visit_date,
            headcount: v.headcount,
            company_ids: companies.remove(&v.id).unwrap_or_default(),
            project_ids: projects.remove(&v.id).unwrap_or_default(),
            receiving_leaders: list_of(&v.receiving_leaders),
            staff: list_of(&v.staff),
            purpose: v.purpose,
            summary: v.summary,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        })
        .collect())
}

/// Visit endpoints.
pub struct VisitsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Visits")]
impl VisitsApi {
    /// Record a visit.
    #[oai(path = "/visits", method = "post")]
    async fn create(&self, auth: Auth, body: Json<NewVisit>) -> AppResult<Created<Visit>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        company_list(&b.company_ids)?;
        let now = Utc::now();
        let m = visit::ActiveModel {
            visit_date: Set(validate::date("visit_date", b.visit_date)?),
            headcount: Set(headcount(b.headcount)?),
            purpose: Set(validate::opt_text("purpose", b.purpose.as_deref(), 500)?),
            summary: Set(validate::opt_text("summary", b.summary.as_deref(), 4000)?),
            receiving_leaders: Set(serde_json::json!(validate::names(
                "receiving_leaders",
                b.receiving_leaders
            )?)),
            staff: Set(serde_json::json!(validate::names("staff", b.staff)?)),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let txn = self.db.begin().await?;
        let companies = known_companies(&txn, "company_ids", &b.company_ids).await?;
        let projects = known_projects(&txn, "project_ids", &b.project_ids.unwrap_or_default()).await?;
        let v = visit::Entity::insert(m).exec_with_returning(&txn).await?;
        set_links(&txn, v.id, Some(companies), Some(projects)).await?;
        let out = views(&txn, vec![v]).await?.pop().expect("one in, one out");
        txn.commit().await?;
        Ok(Created::Created(Json(out)))
    }

    /// List visits, newest first. `total` is the number of batches and `person_times` the sum of headcounts of all
    /// the visits the filters match (not only this page).
    #[oai(path = "/visits", method = "get")]
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
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<VisitPage>> {
        auth.0.require(Need::Read)?;
        let mut s = visit::Entity::find();
        if let Some(d) = from.0 {
            s = s.filter(visit::Column::VisitDate.gte(d));
        }
        if let Some(d) = to.0 {
            s = s.filter(visit::Column::VisitDate.lte(d));
        }
        if let Some(c) = company_id.0 {
            s = s.filter(
                visit::Column::Id.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(visit_company::Column::VisitId)
                        .from(visit_company::Entity)
                        .and_where(visit_company::Column::CompanyId.eq(c))
                        .to_owned(),
                ),
            );
        }
        if let Some(p) = project_id.0 {
            s = s.filter(
                visit::Column::Id.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(visit_project::Column::VisitId)
                        .from(visit_project::Entity)
                        .and_where(visit_project::Column::ProjectId.eq(p))
                        .to_owned(),
                ),
            );
        }
        let person_times: Option<i64> = s
            .clone()
            .select_only()
            .expr(Func::cast_as(
                Func::sum(Expr::col(visit::Column::Headcount)),
                Alias::new("bigint"),
            ))
            .into_tuple()
            .one(&self.db)
            .await?
            .flatten();
        let s = s
            .order_by_desc(visit::Column::VisitDate)
            .order_by_desc(visit::Column::Id);
        let db = &self.db;
        let page = Paging::new(page.0, per_page.0)
            .fetch(db, s, async |rows| views(db, rows).await)
            .await?;
        Ok(Json(VisitPage {
            items: page.items,
            total: page.total,
            person_times: person_times.unwrap_or(0),
            page: page.page,
            per_page: page.per_page,
        }))
    }

    /// Read a visit.
    #[oai(path = "/visits/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Visit>> {
        auth.0.require(Need::Read)?;
        let v = find::<visit::Entity, _>(&self.db, id.0, "visit").await?;
        Ok(Json(views(&self.db, vec![v]).await?.pop().expect("one in, one out")))
    }

    /// Change a visit; a stale `version` answers 409 and changes nothing.
    #[oai(path = "/visits/:id", method = "patch")]
    async fn update(&self, auth: Auth, id: Path<i64>, body: Json<VisitChanges>) -> AppResult<Json<Visit>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let mut m = visit::ActiveModel::default();
        if let Some(d) = b.visit_date {
            m.visit_date = Set(validate::date("visit_date", d)?);
        }
        if let Some(h) = b.headcount {
            m.headcount = Set(headcount(h)?);
        }
        if let Some(c) = &b.company_ids {
            company_list(c)?;
        }
        if b.receiving_leaders.is_some() {
            m.receiving_leaders = Set(serde_json::json!(validate::names(
                "receiving_leaders",
                b.receiving_leaders
            )?));
        }
        if b.staff.is_some() {
            m.staff = Set(serde_json::json!(validate::names("staff", b.staff)?));
        }
        if let Some(v) = changed(b.purpose, |v| validate::opt_text("purpose", Some(v), 500))? {
            m.purpose = Set(v);
        }
        if let Some(v) = changed(b.summary, |v| validate::opt_text("summary", Some(v), 4000))? {
            m.summary = Set(v);
        }
        let txn = self.db.begin().await?;
        let companies = match &b.company_ids {
            Some(c) => Some(known_companies(&txn, "company_ids", c).await?),
            None => None,
        };
        let projects = match &b.project_ids {
            Some(p) => Some(known_projects(&txn, "project_ids", p).await?),
            None => None,
        };
        let v = update_versioned::<visit::Entity, _>(&txn, id.0, "visit", b.version, m).await?;
        set_links(&txn, v.id, companies, projects).await?;
        let out = views(&txn, vec![v]).await?.pop().expect("one in, one out");
        txn.commit().await?;
        Ok(Json(out))
    }

    /// Delete a visit; projects that named it as their source keep their source kind but lose the reference.
    #[oai(path = "/visits/:id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        let txn = self.db.begin().await?;
        let out = delete_versioned::<visit::Entity, _>(&txn, id.0, "visit", version.0).await?;
        forget_source(&txn, project::Column::SourceVisitId, id.0).await?;
        txn.commit().await?;
        Ok(out)
    }
}
