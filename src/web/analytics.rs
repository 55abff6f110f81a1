//! 统计分析: the flow or cohort funnel of any period (projects or incubation, with a breakdown), its conversion,
//! days between stages and 同比, the KPI table of the period, and when the nightly snapshot ran. The same numbers
//! as `/api/v1/analytics/…`, over the records the user sees.

use jobs::analytics::{Breakdown, Funnel, FunnelKind, FunnelStage, Pipeline};
use minijinja::{Value, context};
use poem::{
    IntoResponse, Response, handler,
    web::{Data, Query},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::{Staff, WebState, form::opt, local_time, me, page_error, period::PeriodPick, render, script_json};
use crate::service::{
    AppError, AppResult, Need,
    analytics::{self, FunnelQuery},
    scope,
};

/// What the page is asked for.
#[derive(Deserialize, Serialize, Default)]
pub struct AnalyticsQuery {
    #[serde(flatten)]
    period: PeriodPick,
    #[serde(skip_serializing_if = "Option::is_none")]
    pipeline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<String>,
}

/// An enum of the analytics by its API name; empty is none.
fn pick<T: DeserializeOwned>(field: &str, v: &Option<String>) -> AppResult<Option<T>> {
    opt(v)
        .map(|s| {
            serde_json::from_value(serde_json::Value::String(s.to_owned()))
                .map_err(|_| AppError::invalid(field, format!("{field}: unknown value"), "请选择列表中的一项"))
        })
        .transpose()
}

fn stage_row(s: &FunnelStage) -> Value {
    context! {
        name => s.stage.label(), count => s.count, previous => s.previous_year_count, growth => s.growth_pct,
        conversion => s.conversion.map(|c| format!("{:.1}%", c * 100.0)),
        median => s.median_days.map(|d| format!("{d:.1}")), p90 => s.p90_days,
    }
}

/// A funnel's stages as the chart draws them, and whether a later stage exceeds an earlier one (possible on the flow
/// basis only): then it is drawn as bars, with a note, never as an upside-down funnel.
pub(super) fn funnel_chart(f: &Funnel) -> (serde_json::Value, bool) {
    let inverted = f.stages.windows(2).any(|w| w[1].count > w[0].count);
    let stages: Vec<_> = f
        .stages
        .iter()
        .map(|s| serde_json::json!({ "name": s.stage.label(), "value": s.count }))
        .collect();
    (serde_json::json!({ "funnel": stages, "bars": inverted }), inverted)
}

fn funnel_ctx(f: &Funnel) -> Value {
    let (chart, inverted) = funnel_chart(f);
    context! {
        stages => f.stages.iter().map(stage_row).collect::<Vec<_>>(),
        heads => f.stages.iter().map(|s| s.stage.label()).collect::<Vec<_>>(),
        groups => f.groups.iter().map(|g| context! {
            key => g.key.clone(), counts => g.stages.iter().map(|s| s.count).collect::<Vec<_>>(),
        }).collect::<Vec<_>>(),
        from => f.period.from.to_string(), to => f.period.to.to_string(), as_of => f.as_of.to_string(),
        chart_data => script_json(&chart), inverted,
    }
}

/// 客商来源地图: the provinces' figures for the table, and for the map (drawn from the vendored GeoJSON; a click on a
/// province opens the project list of its investors).
fn map_ctx(rows: &[analytics::ProvinceFigures]) -> Value {
    use entity::{
        enums::{Label, ProjectStage},
        pipeline::Stage,
    };
    let heads: Vec<&str> = ProjectStage::ORDER.iter().map(|s| s.label()).collect();
    let data = serde_json::json!({
        "geo": super::assets::url("china.json"),
        "provinces": rows.iter().filter(|r| r.province != "(未填)").map(|r| serde_json::json!({
            "name": r.province, "value": r.visits, "person_times": r.person_times,
            "projects": r.stages.first().copied().unwrap_or(0), "signed": r.stages.get(2).copied().unwrap_or(0),
            "investment": r.signed_investment.round_dp(2).to_string(),
        })).collect::<Vec<_>>(),
    });
    context! {
        heads,
        rows => rows.iter().map(|r| context! {
            province => r.province.clone(), visits => r.visits,
            // Our own address, the name percent-encoded: safe as it is.
            href => (r.province != "(未填)").then(|| Value::from_safe_string(format!(
                "/projects?province={}",
                percent_encoding::utf8_percent_encode(&r.province, percent_encoding::NON_ALPHANUMERIC)
            ))), person_times => r.person_times, stages => r.stages.clone(),
            investment => super::group(&format!("{:.2}", r.signed_investment.round_dp(2))),
        }).collect::<Vec<_>>(),
        data => script_json(&data),
    }
}

/// 统计分析.
#[handler]
pub async fn page(staff: Staff, state: Data<&WebState>, Query(q): Query<AnalyticsQuery>) -> poem::Result<Response> {
    staff.actor.require(Need::Read)?;
    if let Some(Ok(c)) = q.period.canonical() {
        let moved = AnalyticsQuery { period: c, ..q };
        return Ok(super::reports::to_address("/analytics", &moved));
    }
    let ctx = context! {
        me => me(&staff), menu => "analytics",
        q => context! { pipeline => q.pipeline.clone(), kind => q.kind.clone(), by => q.by.clone() },
        ..q.period.ctx()
    };
    let seen = scope::seen(&state.db, &staff.actor).await?;
    let figures = async {
        let period = q.period.period()?;
        let as_of = q.period.as_of()?;
        let query = FunnelQuery {
            period: period.clone(),
            kind: pick("kind", &q.kind)?.unwrap_or(FunnelKind::Flow),
            pipeline: pick("pipeline", &q.pipeline)?.unwrap_or(Pipeline::Projects),
            by: pick::<Breakdown>("by", &q.by)?,
            as_of,
        };
        let funnel = analytics::funnel(&state.reads, query, &seen).await?;
        let kpis = analytics::kpis(&state.reads, period.clone(), as_of, &seen).await?;
        Ok::<_, AppError>((funnel, kpis, period))
    }
    .await;
    let (funnel, kpis, period) = match figures {
        Ok(f) => f,
        Err(e) => return page_error(e, "analytics.html", ctx),
    };
    // The nightly snapshot is the whole park's: shown to those who see all.
    let snapshot = analytics::latest_snapshots(&state.db, &seen)
        .await
        .ok()
        .map(|(run, rows)| {
            context! {
                as_of => rows.first().map(|r| r.as_of.to_string()),
                finished => run.finished_at.map(local_time),
                count => rows.len(),
            }
        });
    let link = |other: &jobs::period::Period| {
        let q = AnalyticsQuery {
            period: q.period.of(other),
            pipeline: q.pipeline.clone(),
            kind: q.kind.clone(),
            by: q.by.clone(),
        };
        super::reports::address("/analytics", &q)
    };
    let empty = super::period::empty_notice(&state.db, &seen, &period, link).await?;
    let as_of = q.period.as_of()?;
    let provinces = analytics::provinces(&state.reads, period, as_of, &seen).await?;
    let ctx = context! {
        funnel => funnel_ctx(&funnel), within => seen.within, empty, map => map_ctx(&provinces),
        kpis => kpis.lines().iter().map(super::home::line).collect::<Vec<_>>(),
        kpi_as_of => kpis.as_of.to_string(), snapshot, ..ctx
    };
    Ok(render("analytics.html", ctx)?.into_response())
}

/// The latest nightly snapshot as a JSON file (the body of `/api/v1/analytics/snapshots/latest`): every period's
/// funnels and KPIs as the job computed them. The whole park's: refused to a narrower data scope.
#[handler]
pub async fn snapshot_file(staff: Staff, state: Data<&WebState>) -> poem::Result<Response> {
    staff.actor.require(Need::Read)?;
    let seen = scope::seen(&state.db, &staff.actor).await?;
    let (run, rows) = analytics::latest_snapshots(&state.db, &seen).await?;
    let as_of = rows.first().map_or_else(|| run.scheduled_for.date_naive(), |r| r.as_of);
    let body = serde_json::json!({
        "job_run_id": run.id,
        "as_of": as_of,
        "computed_at": run.finished_at,
        "snapshots": rows.into_iter().map(|r| serde_json::json!({
            "period": r.period, "from": r.period_from, "to": r.period_to, "kind": r.kind, "payload": r.payload,
        })).collect::<Vec<_>>(),
    });
    Ok(super::attachment(
        "application/json",
        format!("attachment; filename=\"snapshot-{as_of}.json\""),
        body.to_string(),
    ))
}
