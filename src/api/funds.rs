//! 到位资金: dated fund arrivals of a project. Their sum is the project's funds arrived; it is a different number
//! from the agreed investment (协议投资额).

use chrono::{DateTime, NaiveDate, Utc};
use entity::{fund_arrival, project};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use rust_decimal::Decimal;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::{
    ApiTags, Created, Deleted, Page, Paging,
    companies::{changed, set_if},
    delete_versioned, find, update_versioned,
};
use crate::{
    auth::{Auth, Need},
    error::AppResult,
    validate,
};

/// A fund arrival (到位资金记录).
#[derive(Object)]
pub struct FundArrival {
    /// Id.
    pub id: i64,
    /// The project.
    pub project_id: i64,
    /// Date the funds arrived.
    pub arrived_on: NaiveDate,
    /// Amount in 万元.
    pub amount: Decimal,
    /// Note.
    pub note: Option<String>,
    /// Version for optimistic locking.
    pub version: i32,
    /// When the record was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record was last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<fund_arrival::Model> for FundArrival {
    fn from(m: fund_arrival::Model) -> Self {
        FundArrival {
            id: m.id,
            project_id: m.project_id,
            arrived_on: m.arrived_on,
            amount: validate::yuan_to_wan(m.amount_yuan),
            note: m.note,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new fund arrival.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewFundArrival {
    /// Date the funds arrived.
    pub arrived_on: NaiveDate,
    /// Amount in 万元, > 0, at most 4 decimals.
    pub amount: Decimal,
    /// Note, up to 2000 characters.
    pub note: Option<String>,
}

/// Changes to a fund arrival: left out keeps; `null` clears the note.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct FundArrivalChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Date the funds arrived.
    pub arrived_on: Option<NaiveDate>,
    /// Amount in 万元.
    pub amount: Option<Decimal>,
    /// Note.
    pub note: MaybeUndefined<String>,
}

/// Fund-arrival endpoints.
pub struct FundsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::FundArrivals")]
impl FundsApi {
    /// Record funds arrived for a project.
    #[oai(path = "/projects/:id/fund-arrivals", method = "post")]
    async fn create(&self, auth: Auth, id: Path<i64>, body: Json<NewFundArrival>) -> AppResult<Created<FundArrival>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let m = fund_arrival::ActiveModel {
            project_id: Set(id.0),
            arrived_on: Set(validate::date("arrived_on", b.arrived_on)?),
            amount_yuan: Set(validate::wan_to_yuan("amount", b.amount, true)?),
            note: Set(validate::opt_text("note", b.note.as_deref(), 2000)?),
            version: Set(1),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        find::<project::Entity, _>(&self.db, id.0, "project").await?;
        let m = fund_arrival::Entity::insert(m).exec_with_returning(&self.db).await?;
        Ok(Created::Created(Json(m.into())))
    }

    /// The fund arrivals of a project, newest first.
    #[oai(path = "/projects/:id/fund-arrivals", method = "get")]
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
    ) -> AppResult<Json<Page<FundArrival>>> {
        auth.0.require(Need::Read)?;
        find::<project::Entity, _>(&self.db, id.0, "project").await?;
        let s = fund_arrival::Entity::find()
            .filter(fund_arrival::Column::ProjectId.eq(id.0))
            .order_by_desc(fund_arrival::Column::ArrivedOn)
            .order_by_desc(fund_arrival::Column::Id);
        let page = Paging::new(page.0, per_page.0)
            .fetch(&self.db, s, async |rows| {
                Ok(rows.into_iter().map(FundArrival::from).collect())
            })
            .await?;
        Ok(Json(page))
    }

    /// Change a fund arrival; a stale `version` answers 409.
    #[oai(path = "/fund-arrivals/:id", method = "patch")]
    async fn update(&self, auth: Auth, id: Path<i64>, body: Json<FundArrivalChanges>) -> AppResult<Json<FundArrival>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let mut m = fund_arrival::ActiveModel::default();
        if let Some(d) = b.arrived_on {
            m.arrived_on = Set(validate::date("arrived_on", d)?);
        }
        if let Some(a) = b.amount {
            m.amount_yuan = Set(validate::wan_to_yuan("amount", a, true)?);
        }
        set_if(
            &mut m.note,
            changed(b.note, |v| validate::opt_text("note", Some(v), 2000))?,
        );
        let m = update_versioned::<fund_arrival::Entity, _>(&self.db, id.0, "fund arrival", b.version, m).await?;
        Ok(Json(m.into()))
    }

    /// Delete a fund arrival.
    #[oai(path = "/fund-arrivals/:id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        delete_versioned::<fund_arrival::Entity, _>(&self.db, id.0, "fund arrival", version.0).await
    }
}
