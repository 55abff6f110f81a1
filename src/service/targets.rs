//! 年度目标: one target value per year and metric; money metrics held in yuan, spoken in 万元.

use chrono::Utc;
use entity::{enums::TargetMetric, target};
use rust_decimal::Decimal;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{
    AppError, AppResult, Code, Dir, Kind, Msg, Order, Page, Paging, delete_versioned, find,
    input::{Money, int_in},
    insert_one, update_versioned,
};

/// A new target.
pub struct NewTarget {
    /// Year, 1990–2100.
    pub year: i64,
    /// Metric.
    pub metric: TargetMetric,
    /// Value: a whole count, or 万元 for money metrics (checked against the metric).
    pub value: Decimal,
}

const WHAT: Kind = Kind::Target;

/// The stored value of a target: yuan for money metrics, the count otherwise.
fn stored(metric: TargetMetric, value: Decimal) -> AppResult<i64> {
    if metric.is_money() {
        return Money::from_wan("value", value).map(Money::as_yuan);
    }
    if !value.fract().is_zero() {
        return Err(AppError::invalid(
            "value",
            "a count target is a whole number",
            "数量目标须为整数",
        ));
    }
    let n = i64::try_from(value).map_err(|_| AppError::invalid("value", "value is out of range", "目标值超出范围"))?;
    int_in("value", n, 0..=1_000_000_000)
}

/// A target's value as people speak it: 万元 for money metrics, the count otherwise.
pub fn spoken(m: &target::Model) -> Decimal {
    if m.metric.is_money() {
        Money::yuan(m.value).as_wan()
    } else {
        Decimal::from(m.value)
    }
}

fn target_taken() -> AppError {
    AppError::Conflict {
        code: Code::DuplicateTarget,
        msg: Msg::new(
            "this year already has a target for this metric; change it instead",
            "该年度已设置此项目标,请修改原目标",
        ),
        field: Some("metric".into()),
    }
}

/// Sets a yearly target; a second one for the same year and metric is a conflict.
pub async fn create(db: &impl ConnectionTrait, n: NewTarget) -> AppResult<target::Model> {
    let year = int_in("year", n.year, 1990..=2100)? as i32;
    let value = stored(n.metric, n.value)?;
    let taken = target::Entity::find()
        .filter(target::Column::Year.eq(year))
        .filter(target::Column::Metric.eq(n.metric))
        .one(db)
        .await?;
    if taken.is_some() {
        return Err(target_taken());
    }
    let now = Utc::now();
    let m = target::ActiveModel {
        year: Set(year),
        metric: Set(n.metric),
        value: Set(value),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    insert_one(db, Kind::Target, m)
        .await
        .map_err(|e| e.if_duplicate(target_taken))
}

/// A page of targets by year (newest first) and metric.
pub async fn list(
    db: &impl ConnectionTrait,
    year: Option<i32>,
    metric: Option<TargetMetric>,
    paging: Paging,
) -> AppResult<Page<target::Model>> {
    let mut s = target::Entity::find();
    if let Some(y) = year {
        s = s.filter(target::Column::Year.eq(y));
    }
    if let Some(m) = metric {
        s = s.filter(target::Column::Metric.eq(m));
    }
    paging
        .rows(
            db,
            s,
            Order(&[(target::Column::Year, Dir::Desc), (target::Column::Id, Dir::Asc)]),
        )
        .await
}

/// Changes a target's value.
pub async fn update(db: &impl ConnectionTrait, id: i64, version: i32, value: Decimal) -> AppResult<target::Model> {
    let old = find::<target::Entity, _>(db, id, WHAT).await?;
    let m = target::ActiveModel {
        value: Set(stored(old.metric, value)?),
        ..Default::default()
    };
    update_versioned::<target::Entity, _>(db, id, WHAT, version, m).await
}

/// Deletes a target.
pub async fn delete(db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
    delete_versioned::<target::Entity, _>(db, id, WHAT, version).await
}
