//! 年度目标: one target value per year and metric; money metrics in 万元.

use chrono::{DateTime, Utc};
use entity::{enums::TargetMetric, target};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use rust_decimal::Decimal;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::{ApiTags, Created, Deleted, Page, Paging, delete_versioned, update_versioned};
use crate::{
    auth::{Auth, Need},
    error::{AppError, AppResult, Msg},
    validate,
};

/// A yearly target (年度目标).
#[derive(Object)]
pub struct Target {
    /// Id.
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
            value: if m.metric.is_money() {
                validate::yuan_to_wan(m.value)
            } else {
                Decimal::from(m.value)
            },
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
    pub year: i64,
    /// Metric.
    pub metric: TargetMetric,
    /// Value ≥ 0: a whole count, or 万元 (at most 4 decimals) for money metrics.
    pub value: Decimal,
}

/// A changed target value.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct TargetChanges {
    /// The version the change was made against.
    pub version: i32,
    /// New value.
    pub value: Decimal,
}

/// The stored value of a target: yuan for money metrics, the count otherwise.
fn stored(metric: TargetMetric, value: Decimal) -> AppResult<i64> {
    if metric.is_money() {
        return validate::wan_to_yuan("value", value, false);
    }
    if !value.fract().is_zero() {
        return Err(AppError::invalid(
            "value",
            "a count target is a whole number",
            "数量目标须为整数",
        ));
    }
    let n = i64::try_from(value).map_err(|_| AppError::invalid("value", "value is out of range", "目标值超出范围"))?;
    validate::int_in("value", n, 0..=1_000_000_000)
}

/// Target endpoints.
pub struct TargetsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Targets")]
impl TargetsApi {
    /// Set a yearly target; a second one for the same year and metric answers 409.
    #[oai(path = "/targets", method = "post")]
    async fn create(&self, auth: Auth, body: Json<NewTarget>) -> AppResult<Created<Target>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let year = validate::int_in("year", b.year, 1990..=2100)? as i32;
        let value = stored(b.metric, b.value)?;
        let taken = target::Entity::find()
            .filter(target::Column::Year.eq(year))
            .filter(target::Column::Metric.eq(b.metric))
            .one(&self.db)
            .await?;
        if taken.is_some() {
            return Err(AppError::Conflict {
                code: "duplicate_target",
                msg: Msg::new(
                    "this year already has a target for this metric; change it instead",
                    "该年度已设置此项目标,请修改原目标",
                ),
                field: Some("metric".into()),
            });
        }
        let now = Utc::now();
        let m = target::ActiveModel {
            year: Set(year),
            metric: Set(b.metric),
            value: Set(value),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        Ok(Created::Created(Json(
            target::Entity::insert(m).exec_with_returning(&self.db).await?.into(),
        )))
    }

    /// List targets by year (newest first) and metric.
    #[oai(path = "/targets", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        /// Year.
        year: Query<Option<i32>>,
        /// Metric.
        metric: Query<Option<TargetMetric>>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<Page<Target>>> {
        auth.0.require(Need::Read)?;
        let mut s = target::Entity::find()
            .order_by_desc(target::Column::Year)
            .order_by_asc(target::Column::Id);
        if let Some(y) = year.0 {
            s = s.filter(target::Column::Year.eq(y));
        }
        if let Some(m) = metric.0 {
            s = s.filter(target::Column::Metric.eq(m));
        }
        Ok(Json(
            Paging::new(page.0, per_page.0)
                .fetch(&self.db, s, async |rows| {
                    Ok(rows.into_iter().map(Target::from).collect())
                })
                .await?,
        ))
    }

    /// Change a target's value; a stale `version` answers 409.
    #[oai(path = "/targets/:id", method = "patch")]
    async fn update(&self, auth: Auth, id: Path<i64>, body: Json<TargetChanges>) -> AppResult<Json<Target>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let old = super::find::<target::Entity, _>(&self.db, id.0, "target").await?;
        let m = target::ActiveModel {
            value: Set(stored(old.metric, b.value)?),
            ..Default::default()
        };
        Ok(Json(
            update_versioned::<target::Entity, _>(&self.db, id.0, "target", b.version, m)
                .await?
                .into(),
        ))
    }

    /// Delete a target.
    #[oai(path = "/targets/:id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        delete_versioned::<target::Entity, _>(&self.db, id.0, "target", version.0).await
    }
}
