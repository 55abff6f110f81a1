//! 扶持资金: funds secured for companies from support programmes and policies, with their level and approval date.

use entity::enums::SupportLevel;
use rust_decimal::Decimal;

use super::prelude::*;
use crate::service::{
    input::{Amount, Day, Money, Name, Note},
    support_funds::{self as svc, SupportFundFilter, SupportFundView},
};

/// A support fund (扶持资金) a company secured.
#[derive(Object)]
pub struct SupportFund {
    /// The record's id, at `/support-funds/{id}`.
    pub id: i64,
    /// The company.
    pub company_id: i64,
    /// The company's name.
    pub company_name: String,
    /// The programme or policy (项目/政策名称).
    pub programme: String,
    /// Its level.
    pub level: SupportLevel,
    /// Amount in 万元.
    pub amount: Decimal,
    /// Date approved.
    pub approved_on: NaiveDate,
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

impl From<SupportFundView> for SupportFund {
    fn from(v: SupportFundView) -> Self {
        let m = v.fund;
        SupportFund {
            id: m.id,
            company_id: m.company_id,
            company_name: v.company_name,
            programme: m.programme,
            level: m.level,
            amount: Money::yuan(m.amount_yuan).as_wan(),
            approved_on: m.approved_on,
            note: m.note,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new support fund.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewSupportFund {
    /// The company that secured it.
    pub company_id: i64,
    /// The programme or policy, 1–200 characters.
    pub programme: Name,
    /// Its level.
    pub level: SupportLevel,
    /// Amount in 万元, > 0, at most 4 decimals.
    pub amount: Amount,
    /// Date approved.
    pub approved_on: Day,
    /// Note, up to 2000 characters.
    #[oai(nullable)]
    pub note: Option<Note>,
}

/// Changes to a support fund: left out keeps; `null` clears the note.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct SupportFundChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// The programme or policy.
    #[oai(nullable)]
    pub programme: Option<Name>,
    /// Its level.
    #[oai(nullable)]
    pub level: Option<SupportLevel>,
    /// Amount in 万元.
    #[oai(nullable)]
    pub amount: Option<Amount>,
    /// Date approved.
    #[oai(nullable)]
    pub approved_on: Option<Day>,
    /// Note.
    #[oai(nullable)]
    pub note: MaybeUndefined<Note>,
}

impl NewSupportFund {
    fn parse(self) -> AppResult<svc::NewSupportFund> {
        Ok(svc::NewSupportFund {
            company_id: self.company_id,
            programme: self.programme,
            level: self.level,
            amount: self.amount.money(),
            approved_on: self.approved_on,
            note: self.note,
        })
    }
}

impl SupportFundChanges {
    fn parse(self) -> AppResult<svc::SupportFundChanges> {
        Ok(svc::SupportFundChanges {
            version: self.version,
            programme: self.programme,
            level: self.level,
            amount: self.amount.map(Amount::money),
            approved_on: self.approved_on,
            note: self.note.into(),
        })
    }
}

/// Support-fund endpoints.
pub struct SupportFundsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::SupportFunds")]
impl SupportFundsApi {
    /// Record a support fund a company secured.
    #[oai(path = "/support-funds", method = "post", operation_id = "createSupportFund")]
    async fn create(&self, auth: Auth, tx: WriteTx, body: JsonBody<NewSupportFund>) -> AppResult<Created<SupportFund>> {
        auth.0.require(Need::Edit)?;
        Ok(Created::Created(Json(
            svc::create(tx.get().await?, body.0.parse()?).await?.into(),
        )))
    }

    /// List support funds, latest approved first.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/support-funds", method = "get", operation_id = "listSupportFunds")]
    async fn list(
        &self,
        auth: Auth,
        /// Of this company.
        company_id: Query<Option<i64>>,
        /// Of this level.
        level: Query<Option<SupportLevel>>,
        /// Approved on or after this day.
        from: Query<Option<NaiveDate>>,
        /// Approved on or before this day.
        to: Query<Option<NaiveDate>>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<SupportFund>>> {
        auth.0.require(Need::Read)?;
        let f = SupportFundFilter {
            company_id: company_id.0,
            level: level.0,
            from: from.0,
            to: to.0,
        };
        let rows = svc::list(&self.db, f, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(SupportFund::from).into()))
    }

    /// Read a support fund.
    #[oai(path = "/support-funds/:id", method = "get", operation_id = "getSupportFund")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<SupportFund>> {
        auth.0.require(Need::Read)?;
        Ok(Json(svc::get(&self.db, id.0).await?.into()))
    }

    /// Change a support fund; a stale `version` answers 409.
    #[oai(path = "/support-funds/:id", method = "patch", operation_id = "updateSupportFund")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<SupportFundChanges>,
    ) -> AppResult<Json<SupportFund>> {
        auth.0.require(Need::Edit)?;
        Ok(Json(svc::update(tx.get().await?, id.0, body.0.parse()?).await?.into()))
    }

    /// Delete a support fund.
    #[oai(path = "/support-funds/:id", method = "delete", operation_id = "deleteSupportFund")]
    async fn delete(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        svc::delete(tx.get().await?, id.0, version.0).await?;
        Ok(Deleted::Deleted)
    }
}
