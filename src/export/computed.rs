//! The funnel and KPI tables of a period, computed by the analytics (the same numbers as the API's).

use entity::{enums::ProjectStage, pipeline::Stage};
use jobs::analytics::{Analytics, Figures, FunnelKind, Pipeline, Scope};
use sea_orm::DatabaseConnection;

use super::{Cell, Column, Dataset, Filters, tables::label};
use crate::service::input::today;

/// The columns of the funnel table.
pub const FUNNEL: &[Column] = &[
    Column::new("period", "期间", 10.0),
    Column::new("kind", "口径", 10.0),
    Column::new("stage", "阶段", 10.0),
    Column::new("count", "数量", 8.0),
    Column::new("conversion", "转化率", 10.0),
    Column::new("median_days", "中位天数", 10.0),
    Column::new("p90_days", "P90天数", 10.0),
    Column::new("previous_year_count", "上年同期", 10.0),
    Column::new("growth_pct", "同比增长(%)", 12.0),
];

/// The columns of the KPI table.
pub const KPIS: &[Column] = &[
    Column::new("period", "期间", 10.0),
    Column::new("metric", "指标", 18.0),
    Column::new("value", "本期", 12.0),
    Column::new("previous", "上年同期", 12.0),
    Column::new("growth_pct", "同比增长(%)", 12.0),
];

fn opt(v: Option<f64>) -> Cell {
    v.map_or(Cell::Null, Cell::Float)
}

/// The rows of the funnel or KPI table of `f.period` (checked before) as of `f.as_of`, over the records seen.
pub async fn rows(db: &DatabaseConnection, set: Dataset, f: &Filters) -> anyhow::Result<Vec<Vec<Cell>>> {
    let p = jobs::period::Period::parse(f.period.as_deref().unwrap_or_default())?;
    let as_of = if set == Dataset::Kpis {
        crate::service::analytics::measured_on(&p, f.as_of)
    } else {
        f.as_of.unwrap_or_else(today)
    };
    let scope = if set == Dataset::Kpis {
        Scope::All
    } else {
        Scope::Projects
    };
    let raw = jobs::analytics::load(db, as_of, scope, &f.visible).await?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Vec<Cell>>> {
        let a = Analytics::build(raw)?;
        let period = || Cell::Text(p.label.clone());
        if set == Dataset::Funnel {
            let mut out = Vec::new();
            for (kind, zh) in [(FunnelKind::Flow, "流量漏斗"), (FunnelKind::Cohort, "队列漏斗")] {
                let f = a.funnel(Pipeline::Projects, kind, &p, None)?;
                for (s, stage) in f.stages.iter().zip(ProjectStage::ORDER) {
                    out.push(vec![
                        period(),
                        Cell::Enum(format!("{kind:?}").to_lowercase(), zh),
                        label(*stage),
                        Cell::Int(s.count),
                        opt(s.conversion),
                        opt(s.median_days),
                        s.p90_days.map_or(Cell::Null, Cell::Int),
                        Cell::Int(s.previous_year_count),
                        opt(s.growth_pct),
                    ]);
                }
            }
            return Ok(out);
        }
        let k = a.kpis(&p)?;
        let yuan = |d| Cell::Money(entity::money::yuan(d).unwrap_or(0));
        let cents = |d| Cell::Dollars(entity::money::usd_cents(d).unwrap_or(0));
        Ok(k.lines()
            .into_iter()
            .map(|l| {
                let metric = Cell::Enum(l.key.into(), l.label);
                match l.figures {
                    Figures::Count(c) => vec![
                        period(),
                        metric,
                        Cell::Int(c.value),
                        Cell::Int(c.previous),
                        opt(c.growth_pct),
                    ],
                    Figures::Money(c) => vec![period(), metric, yuan(c.value), yuan(c.previous), opt(c.growth_pct)],
                    Figures::Dollars(c) => vec![period(), metric, cents(c.value), cents(c.previous), opt(c.growth_pct)],
                }
            })
            .collect())
    })
    .await?
}
