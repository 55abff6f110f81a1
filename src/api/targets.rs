//! 年度目标: one target value per year and metric; money metrics in 万元.

use entity::{enums::TargetMetric, target};
use rust_decimal::Decimal;

use super::{body::DecimalIn, prelude::*};
use crate::service::targets as svc;

/// A yearly target (年度目标).
#[derive(Object)]
pub struct Target {
    /// The target's id, at `/targets/{id}`.
    pub id: i64,
    /// Year.
    pub year: i32,
    /// Metric.
    pub metric: TargetMetric,
    /// Target value: a count, or 万元 for `signed_investment` and `funds_arrived`.
    pub value: Decimal,
    /// Version for optimistic locking.
    pub version: i32,
    /// When the record was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record was last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<target::Model> for Target {
    fn from(m: target::Model) -> Self {
        Target {
            id: m.id,
            year: m.year,
            metric: m.metric,
            value: svc::spoken(&m),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new target; unique per (year, metric).
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewTarget {
    /// Year, 1990–2100.
    #[oai(validator(minimum(value = "1990"), maximum(value = "2100")))]
    pub year: i64,
    /// Metric.
    pub metric: TargetMetric,
    /// Value ≥ 0: a whole count, or 万元 (at most 4 decimals) for money metrics.
    pub value: DecimalIn,
}

/// A changed target value.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct TargetChanges {
    /// The version the change was made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// New value.
    pub value: DecimalIn,
}

/// Target endpoints.
pub struct TargetsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Targets")]
impl TargetsApi {
    /// Set a yearly target; a second one for the same year and metric answers 409.
    #[oai(path = "/targets", method = "post", operation_id = "createTarget")]
    async fn create(&self, auth: Auth, tx: WriteTx, body: JsonBody<NewTarget>) -> AppResult<Created<Target>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let n = svc::NewTarget {
            year: b.year,
            metric: b.metric,
            value: b.value.0,
        };
        Ok(Created::Created(Json(svc::create(tx.get().await?, n).await?.into())))
    }

    /// List targets by year (newest first) and metric.
    #[oai(path = "/targets", method = "get", operation_id = "listTargets")]
    async fn list(
        &self,
        auth: Auth,
        /// Year.
        year: Query<Option<i32>>,
        /// Metric.
        metric: Query<Option<TargetMetric>>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<Target>>> {
        auth.0.require(Need::Read)?;
        let rows = svc::list(&self.db, year.0, metric.0, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(Target::from).into()))
    }

    /// Change a target's value; a stale `version` answers 409.
    #[oai(path = "/targets/:id", method = "patch", operation_id = "updateTarget")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<TargetChanges>,
    ) -> AppResult<Json<Target>> {
        auth.0.require(Need::Edit)?;
        let m = svc::update(tx.get().await?, id.0, body.0.version, body.0.value.0).await?;
        Ok(Json(m.into()))
    }

    /// Delete a target.
    #[oai(path = "/targets/:id", method = "delete", operation_id = "deleteTarget")]
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
