//! 到位资金: dated fund arrivals of a project. Their sum is the project's funds arrived; it is a different number
//! from the agreed investment (协议投资额).

use entity::{enums::CapitalOrigin, fund_arrival};
use rust_decimal::Decimal;

use super::{body::DecimalIn, prelude::*};
use crate::service::{
    funds as svc,
    input::{Amount, Day, Dollars, Money, Note},
    scope::{self, Of},
};

/// A fund arrival (到位资金记录).
#[derive(Object)]
pub struct FundArrival {
    /// The record's id, at `/fund-arrivals/{id}`.
    pub id: i64,
    /// The project.
    pub project_id: i64,
    /// Date the funds arrived.
    pub arrived_on: NaiveDate,
    /// Amount in 万元 (for foreign capital, the dollars at the recorded rate).
    pub amount: Decimal,
    /// Origin of the capital (资本来源).
    pub capital_origin: CapitalOrigin,
    /// Foreign capital: the amount in 万美元, exact to the cent.
    #[oai(nullable)]
    pub amount_usd: Option<Decimal>,
    /// Foreign capital: the rate it is counted at, yuan per US dollar.
    #[oai(nullable)]
    pub usd_rate: Option<Decimal>,
    /// Note.
    #[oai(nullable)]
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
            amount: Money::yuan(m.amount_yuan).as_wan(),
            capital_origin: m.capital_origin,
            amount_usd: m.amount_usd_cents.map(entity::money::wan_usd),
            usd_rate: m.usd_rate_e4.map(entity::money::rate),
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
    pub arrived_on: Day,
    /// Origin of the capital; defaults to the project's (`foreign` when `amount_usd` is given for a 内资 project).
    #[oai(nullable)]
    pub capital_origin: Option<CapitalOrigin>,
    /// Amount in 万元, > 0, at most 4 decimals: required for 内资; for 外资 and 港澳台资 it is worked out from
    /// `amount_usd` at `usd_rate` (when given as well, it must agree with them to within 0.5%).
    #[oai(nullable)]
    pub amount: Option<Amount>,
    /// 外资 and 港澳台资 only, and required for them: the amount in 万美元 (> 0, whole cents).
    #[oai(nullable)]
    pub amount_usd: Option<DecimalIn>,
    /// With `amount_usd`: yuan per US dollar (> 0, at most 4 decimals), e.g. 7.1268.
    #[oai(nullable)]
    pub usd_rate: Option<DecimalIn>,
    /// Note, up to 2000 characters.
    #[oai(nullable)]
    pub note: Option<Note>,
}

/// Changes to a fund arrival: left out keeps; `null` clears the note.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct FundArrivalChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// Date the funds arrived.
    #[oai(nullable)]
    pub arrived_on: Option<Day>,
    /// Origin of the capital; a change to `domestic` keeps the amount in 万元 and drops the dollars.
    #[oai(nullable)]
    pub capital_origin: Option<CapitalOrigin>,
    /// Amount in 万元 (内资; for foreign capital it must agree with the dollars).
    #[oai(nullable)]
    pub amount: Option<Amount>,
    /// Foreign capital: the amount in 万美元, changed together with `usd_rate`.
    #[oai(nullable)]
    pub amount_usd: Option<DecimalIn>,
    /// Foreign capital: yuan per US dollar, changed together with `amount_usd`.
    #[oai(nullable)]
    pub usd_rate: Option<DecimalIn>,
    /// Note.
    #[oai(nullable)]
    pub note: MaybeUndefined<Note>,
}

impl NewFundArrival {
    fn parse(self) -> AppResult<svc::NewFundArrival> {
        Ok(svc::NewFundArrival {
            arrived_on: self.arrived_on,
            capital_origin: self.capital_origin,
            amount: self.amount.map(Amount::money),
            dollars: Dollars::parse_opt(self.amount_usd.map(|d| d.0), self.usd_rate.map(|d| d.0))?,
            note: self.note,
        })
    }
}

impl FundArrivalChanges {
    fn parse(self) -> AppResult<svc::FundArrivalChanges> {
        Ok(svc::FundArrivalChanges {
            version: self.version,
            arrived_on: self.arrived_on,
            capital_origin: self.capital_origin,
            amount: self.amount.map(Amount::money),
            dollars: Dollars::parse_opt(self.amount_usd.map(|d| d.0), self.usd_rate.map(|d| d.0))?,
            note: self.note.into(),
        })
    }
}

/// Fund-arrival endpoints.
pub struct FundsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::FundArrivals")]
impl FundsApi {
    /// Record funds arrived for a project.
    #[oai(
        path = "/projects/:id/fund-arrivals",
        method = "post",
        operation_id = "createFundArrival"
    )]
    async fn create(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<NewFundArrival>,
    ) -> AppResult<Created<FundArrival>> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::Project(id.0)).await?;
        let m = svc::create(tx.get().await?, id.0, body.0.parse()?).await?;
        Ok(Created::Created(Json(m.into())))
    }

    /// The fund arrivals of a project, newest first.
    #[oai(
        path = "/projects/:id/fund-arrivals",
        method = "get",
        operation_id = "listFundArrivals"
    )]
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
    ) -> AppResult<Json<Page<FundArrival>>> {
        scope::permit(&self.db, &auth.0, Need::Read, Of::Project(id.0)).await?;
        let rows = svc::list(&self.db, id.0, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(FundArrival::from).into()))
    }

    /// Change a fund arrival; a stale `version` answers 409.
    #[oai(path = "/fund-arrivals/:id", method = "patch", operation_id = "updateFundArrival")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<FundArrivalChanges>,
    ) -> AppResult<Json<FundArrival>> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::FundArrival(id.0)).await?;
        Ok(Json(svc::update(tx.get().await?, id.0, body.0.parse()?).await?.into()))
    }

    /// Delete a fund arrival.
    #[oai(path = "/fund-arrivals/:id", method = "delete", operation_id = "deleteFundArrival")]
    async fn delete(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::FundArrival(id.0)).await?;
        svc::delete(tx.get().await?, id.0, version.0).await?;
        Ok(Deleted::Deleted)
    }
}
