//! 招商活动: outreach trips (外出招商), promotion events (推介会), forums (论坛) and resident campaigns (驻点招商).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{enums::OutreachKind, outreach, outreach_company, project};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

use super::{
    ApiTags, Created, Deleted, Page, Paging,
    companies::{changed, known_companies, set_if},
    delete_versioned, find,
    projects::forget_source,
    update_versioned,
};
use crate::{
    auth::{Auth, Need},
    error::{AppError, AppResult},
    validate,
};

/// An outreach activity (招商活动).
#[derive(Object)]
pub struct Outreach {
    /// Id.
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
    pub leading_official: Option<String>,
    /// Participants.
    pub participants: Vec<String>,
    /// Companies met.
    pub company_ids: Vec<i64>,
    /// Projects that came from this activity (those naming it as their source).
    pub project_ids: Vec<i64>,
    /// Notes.
    pub notes: Option<String>,
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
    pub city: String,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day; defaults to the first.
    pub end_date: Option<NaiveDate>,
    /// Leading official.
    pub leading_official: Option<String>,
    /// Participants.
    pub participants: Option<Vec<String>>,
    /// Companies met.
    pub company_ids: Option<Vec<i64>>,
    /// Notes, up to 4000 characters.
    pub notes: Option<String>,
}

/// Changes to an outreach activity: left out keeps; lists replace; `null` clears a text.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct OutreachChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Kind.
    pub kind: Option<OutreachKind>,
    /// City.
    pub city: Option<String>,
    /// First day.
    pub start_date: Option<NaiveDate>,
    /// Last day.
    pub end_date: Option<NaiveDate>,
    /// Leading official.
    pub leading_official: MaybeUndefined<String>,
    /// Participants (replaces the list).
    pub participants: Option<Vec<String>>,
    /// Companies met (replaces the list).
    pub company_ids: Option<Vec<i64>>,
    /// Notes.
    pub notes: MaybeUndefined<String>,
}

fn dates(start: NaiveDate, end: NaiveDate) -> AppResult<()> {
    validate::date("start_date", start)?;
    validate::date("end_date", end)?;
    if end < start {
        return Err(AppError::invalid(
            "end_date",
            "end_date must not be before start_date",
            "结束日期不能早于开始日期",
        ));
    }
    Ok(())
}

async fn set_companies(db: &impl ConnectionTrait, id: i64, companies: Vec<i64>) -> AppResult<()> {
    outreach_company::Entity::delete_many()
        .filter(outreach_company::Column::OutreachId.eq(id))
        .exec(db)
        .await?;
    if !companies.is_empty() {
        outreach_company::Entity::insert_many(companies.into_iter().map(|c| outreach_company::ActiveModel {
            outreach_id: Set(id),
            company_id: Set(c),
        }))
        .exec(db)
        .await?;
    }
    Ok(())
}

async fn views(db: &impl ConnectionTrait, rows: Vec<outreach::Model>) -> AppResult<Vec<Outreach>> {
    let ids: Vec<i64> = rows.iter().map(|o| o.id).collect();
    let mut companies: HashMap<i64, Vec<i64>> = HashMap::new();
    for l in outreach_company::Entity::find()
        .filter(outreach_company::Column::OutreachId.is_in(ids.clone()))
        .order_by_asc(outreach_company::Column::CompanyId)
        .all(db)
        .await?
    {
        companies.entry(l.outreach_id).or_default().push(l.company_id);
    }
    let mut projects: HashMap<i64, Vec<i64>> = HashMap::new();
    let produced: Vec<(i64, Option<i64>)> = project::Entity::find()
        .select_only()
        .columns([project::Column::Id, project::Column::SourceOutreachId])
        .filter(project::Column::SourceOutreachId.is_in(ids))
        .order_by_asc(project::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    for (p, o) in produced {
        if let Some(o) = o {
            projects.entry(o).or_default().push(p);
        }
    }
    Ok(rows
        .into_iter()
        .map(|o| Outreach {
            id: o.id,
            kind: o.kind,
            city: o.city,
            start_date: o.start_date,
            end_date: o.end_date,
            leading_official: o.leading_official,
            participants: serde_json::from_value(o.participants).unwrap_or_default(),
            company_ids: companies.remove(&o.id).unwrap_or_default(),
            project_ids: projects.remove(&o.id).unwrap_or_default(),
            notes: o.notes,
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
        })
        .collect())
}

/// Outreach endpoints.
pub struct OutreachApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Outreach")]
impl OutreachApi {
    /// Record an outreach activity.
    #[oai(path = "/outreach", method = "post")]
    async fn create(&self, auth: Auth, body: Json<NewOutreach>) -> AppResult<Created<Outreach>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let end = b.end_date.unwrap_or(b.start_date);
        dates(b.start_date, end)?;
        let now = Utc::now();
        let m = outreach::ActiveModel {
            kind: Set(b.kind),
            city: Set(validate::text("city", &b.city, 50)?),
            start_date: Set(b.start_date),
            end_date: Set(end),
            leading_official: Set(validate::opt_text(
                "leading_official",
                b.leading_official.as_deref(),
                100,
            )?),
            participants: Set(serde_json::json!(validate::names("participants", b.participants)?)),
            notes: Set(validate::opt_text("notes", b.notes.as_deref(), 4000)?),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let txn = self.db.begin().await?;
        let companies = known_companies(&txn, "company_ids", &b.company_ids.unwrap_or_default()).await?;
        let o = outreach::Entity::insert(m).exec_with_returning(&txn).await?;
        set_companies(&txn, o.id, companies).await?;
        let out = views(&txn, vec![o]).await?.pop().expect("one in, one out");
        txn.commit().await?;
        Ok(Created::Created(Json(out)))
    }

    /// List outreach activities, newest first; `from`/`to` select by start date (inclusive).
    #[oai(path = "/outreach", method = "get")]
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
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<Page<Outreach>>> {
        auth.0.require(Need::Read)?;
        let mut s = outreach::Entity::find()
            .order_by_desc(outreach::Column::StartDate)
            .order_by_desc(outreach::Column::Id);
        if let Some(k) = kind.0 {
            s = s.filter(outreach::Column::Kind.eq(k));
        }
        if let Some(c) = city.0 {
            s = s.filter(outreach::Column::City.eq(c));
        }
        if let Some(d) = from.0 {
            s = s.filter(outreach::Column::StartDate.gte(d));
        }
        if let Some(d) = to.0 {
            s = s.filter(outreach::Column::StartDate.lte(d));
        }
        let db = &self.db;
        Ok(Json(
            Paging::new(page.0, per_page.0)
                .fetch(db, s, async |rows| views(db, rows).await)
                .await?,
        ))
    }

    /// Read an outreach activity.
    #[oai(path = "/outreach/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Outreach>> {
        auth.0.require(Need::Read)?;
        let o = find::<outreach::Entity, _>(&self.db, id.0, "outreach").await?;
        Ok(Json(views(&self.db, vec![o]).await?.pop().expect("one in, one out")))
    }

    /// Change an outreach activity; a stale `version` answers 409.
    #[oai(path = "/outreach/:id", method = "patch")]
    async fn update(&self, auth: Auth, id: Path<i64>, body: Json<OutreachChanges>) -> AppResult<Json<Outreach>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let old = find::<outreach::Entity, _>(&self.db, id.0, "outreach").await?;
        dates(
            b.start_date.unwrap_or(old.start_date),
            b.end_date.unwrap_or(old.end_date),
        )?;
        let mut m = outreach::ActiveModel::default();
        set_if(&mut m.start_date, b.start_date);
        set_if(&mut m.end_date, b.end_date);
        set_if(&mut m.kind, b.kind);
        if let Some(c) = &b.city {
            m.city = Set(validate::text("city", c, 50)?);
        }
        set_if(
            &mut m.leading_official,
            changed(b.leading_official, |v| {
                validate::opt_text("leading_official", Some(v), 100)
            })?,
        );
        if b.participants.is_some() {
            m.participants = Set(serde_json::json!(validate::names("participants", b.participants)?));
        }
        set_if(
            &mut m.notes,
            changed(b.notes, |v| validate::opt_text("notes", Some(v), 4000))?,
        );
        let txn = self.db.begin().await?;
        let companies = match &b.company_ids {
            Some(c) => Some(known_companies(&txn, "company_ids", c).await?),
            None => None,
        };
        let o = update_versioned::<outreach::Entity, _>(&txn, id.0, "outreach", b.version, m).await?;
        if let Some(c) = companies {
            set_companies(&txn, o.id, c).await?;
        }
        let out = views(&txn, vec![o]).await?.pop().expect("one in, one out");
        txn.commit().await?;
        Ok(Json(out))
    }

    /// Delete an outreach activity; projects that came from it lose the reference (not their source kind).
    #[oai(path = "/outreach/:id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        let txn = self.db.begin().await?;
        let out = delete_versioned::<outreach::Entity, _>(&txn, id.0, "outreach", version.0).await?;
        forget_source(&txn, project::Column::SourceOutreachId, id.0).await?;
        txn.commit().await?;
        Ok(out)
    }
}
