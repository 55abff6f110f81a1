//! 年度目标: one editable grid per year — every metric with its target, and beside each set one the actual so far,
//! the completion and the time progress (docs/DEFINITIONS.md, "Targets and time progress"). Saved all at once: a
//! value typed sets or changes the target, a value cleared removes it.

use std::collections::HashMap;

use chrono::Datelike;
use entity::{
    enums::{Label, TargetMetric},
    target,
};
use jobs::period::Period;
use minijinja::{Value, context};
use poem::{
    Response, handler,
    web::{Data, Form, Html, Query},
};
use rust_decimal::Decimal;
use sea_orm::{ActiveEnum, ConnectionTrait, Iterable};
use serde::Deserialize;

use super::{Staff, WebState, answer, form::opt, me, refresh, render, saved};
use crate::{
    edge::audit::WriteTx,
    service::{
        AppError, AppResult, Need, Paging, analytics,
        input::today,
        scope,
        targets::{self, NewTarget},
    },
};

/// The year shown.
#[derive(Deserialize, Default)]
pub struct YearQuery {
    year: Option<i32>,
}

impl YearQuery {
    fn year(&self) -> i32 {
        self.year.unwrap_or_else(|| today().year()).clamp(1990, 2100)
    }
}

/// The targets of a year by metric.
async fn stored(db: &impl ConnectionTrait, year: i32) -> AppResult<HashMap<TargetMetric, target::Model>> {
    let rows = targets::list(db, Some(year), None, Paging::new(Some(1), Some(200))?).await?;
    Ok(rows.items.into_iter().map(|t| (t.metric, t)).collect())
}

/// The grid: every metric, its target as typed (or stored), and the progress of the set ones.
async fn grid(
    db: &impl jobs::analytics::Source,
    staff: &Staff,
    year: i32,
    typed: Option<&HashMap<String, String>>,
) -> AppResult<Value> {
    let set = stored(db, year).await?;
    let seen = scope::seen(db, &staff.actor).await?;
    let whole = Period::parse(&year.to_string()).map_err(|e| AppError::Internal(e.into()))?;
    let kpis = analytics::kpis(db, whole, None, &seen).await?;
    let progress: HashMap<TargetMetric, _> = kpis.targets.iter().map(|t| (t.metric, t)).collect();
    let rows: Vec<Value> = TargetMetric::iter()
        .map(|m| {
            let key = m.to_value();
            // Typed values and the versions they were typed against stay as they were sent: the failed save is
            // rolled back.
            let (value, version) = match typed {
                Some(t) => (
                    t.get(&format!("value_{key}")).cloned().unwrap_or_default(),
                    t.get(&format!("version_{key}")).and_then(|v| v.parse::<i32>().ok()),
                ),
                None => (
                    set.get(&m)
                        .map(|t| targets::spoken(t).normalize().to_string())
                        .unwrap_or_default(),
                    set.get(&m).map(|t| t.version),
                ),
            };
            let p = progress.get(&m);
            context! {
                key, label => m.label(), value,
                version,
                actual => p.map(|p| super::target_figure(p.actual)),
                progress => p.and_then(|p| p.progress).map(|v| (v * 1000.0).round() / 10.0),
                time_progress => p.map(|p| (p.time_progress * 1000.0).round() / 10.0),
            }
        })
        .collect();
    let this_year = today().year();
    Ok(context! {
        me => me(staff), menu => "targets", year, rows, within => seen.within, as_of => kpis.as_of.to_string(),
        years => (this_year - 9..=this_year + 1).rev().collect::<Vec<_>>(),
    })
}

/// 年度目标.
#[handler]
pub async fn page(staff: Staff, state: Data<&WebState>, Query(q): Query<YearQuery>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    render("targets.html", grid(&state.db, &staff, q.year(), None).await?)
}

/// An error of the service about a target's `value`, put beside that metric's field.
fn beside(metric: TargetMetric, e: AppError) -> AppError {
    match e {
        AppError::BadRequest { code, msg, .. } => AppError::BadRequest {
            code,
            msg,
            field: Some(format!("value_{}", metric.to_value())),
        },
        other => other,
    }
}

/// Saves the year's grid in one transaction: all of it or, on an error, nothing.
async fn save(db: &impl ConnectionTrait, year: i32, typed: &HashMap<String, String>) -> AppResult<()> {
    let set = stored(db, year).await?;
    for m in TargetMetric::iter() {
        let key = m.to_value();
        let value = opt(&typed.get(&format!("value_{key}")).cloned())
            .map(|v| {
                v.replace(',', "")
                    .parse::<Decimal>()
                    .map_err(|_| AppError::invalid("value", "not a number", "请填写数字"))
            })
            .transpose()
            .map_err(|e| beside(m, e))?;
        let version = |t: &target::Model| {
            typed
                .get(&format!("version_{key}"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(t.version)
        };
        match (set.get(&m), value) {
            (None, None) => {}
            (None, Some(value)) => {
                let year = i64::from(year);
                targets::create(db, NewTarget { year, metric: m, value })
                    .await
                    .map_err(|e| beside(m, e))?;
            }
            (Some(t), None) => targets::delete(db, t.id, version(t)).await?,
            (Some(t), Some(v)) if targets::spoken(t) == v => {}
            (Some(t), Some(v)) => {
                targets::update(db, t.id, version(t), v)
                    .await
                    .map_err(|e| beside(m, e))?;
            }
        }
    }
    Ok(())
}

/// Saves the grid; the page reloads, or shows the grid again with the error beside its field and what was typed.
#[handler]
pub async fn update(
    staff: Staff,
    tx: WriteTx,
    Query(q): Query<YearQuery>,
    Form(typed): Form<HashMap<String, String>>,
) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let year = q.year();
    let done = async { save(tx.get().await?, year, &typed).await }.await;
    answer(
        done,
        |_| saved(refresh(), "年度目标已保存"),
        "targets_grid.html",
        async || grid(tx.get().await?, &staff, year, Some(&typed)).await,
    )
    .await
}
