//! The work summary (工作总结) of a period in the bureau's own style: every number from the records, computed by the
//! analytics of docs/DEFINITIONS.md, written through a template (`templates/summary.md.j2`) as text, Markdown or DOCX.
//! It is written over the records its reader sees (数据权限) and says so in its first line when that is not all.

use chrono::NaiveDate;
use entity::{company, enums::ProjectStage, partner, pipeline::Stage, project};
use jobs::{
    analytics::{self, Analytics, Compare, Kpis, Scope},
    period::Period,
};
use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};

use crate::service::scope::Seen;
use serde::Serialize;

/// Output format of the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum SummaryFormat {
    /// Plain text.
    Text,
    /// Markdown.
    Markdown,
    /// Word document.
    Docx,
}

/// How a period is named in prose: 2024年上半年, 2024年第二季度, 2024年5月, 2024年第21周, 2024年.
fn label(p: &Period) -> String {
    let l = &p.label;
    let y = &l[..4.min(l.len())];
    match l.get(5..) {
        None if l.len() == 4 => format!("{y}年"),
        Some("H1") => format!("{y}年上半年"),
        Some("H2") => format!("{y}年下半年"),
        Some(q) if q.starts_with('Q') => {
            let n = ["一", "二", "三", "四"][q[1..].parse::<usize>().unwrap_or(1).clamp(1, 4) - 1];
            format!("{y}年第{n}季度")
        }
        Some(w) if w.starts_with('W') => format!("{y}年第{}周", w[1..].trim_start_matches('0')),
        Some(m) if m.len() == 2 => format!("{y}年{}月", m.trim_start_matches('0')),
        _ => format!("{}至{}", p.from.format("%Y年%-m月%-d日"), p.to.format("%Y年%-m月%-d日")),
    }
}

/// `（同比增长20.3%）`, `（同比下降5.0%）`, or nothing where the year before has no data.
fn yoy(c: &Compare) -> String {
    growth_text(c.growth_pct)
}

fn growth_text(growth_pct: Option<f64>) -> String {
    match growth_pct {
        Some(g) if g > 0.0 => format!("（同比增长{g:.1}%）"),
        Some(g) if g < 0.0 => format!("（同比下降{:.1}%）", -g),
        Some(_) => "（与上年同期持平）".into(),
        None => String::new(),
    }
}

#[derive(Serialize)]
struct Figure {
    value: i64,
    yoy: String,
    names: String,
}

fn figure(c: &Compare, names: Vec<String>) -> Figure {
    Figure {
        value: c.value,
        yoy: yoy(c),
        names: names.join("、"),
    }
}

/// 万元 as 亿元 with two decimals; none for zero.
fn yi(wan: Decimal) -> Option<String> {
    (!wan.is_zero()).then(|| {
        entity::money::yi(wan)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
            .to_string()
    })
}

/// The notable projects of those given: major ones first, then by agreed investment; at most three names.
async fn notable(db: &DatabaseConnection, ids: Vec<i64>) -> anyhow::Result<Vec<String>> {
    Ok(project::Entity::find()
        .select_only()
        .column(project::Column::Name)
        .filter(project::Column::Id.is_in(ids))
        .order_by_desc(project::Column::IsMajor)
        .order_by_desc(project::Column::AgreedInvestmentYuan)
        .order_by_asc(project::Column::Id)
        .limit(3)
        .into_tuple::<String>()
        .all(db)
        .await?)
}

/// A target metric as the summary names it, and the unit of its count (money is written in 亿元).
fn metric_words(m: entity::enums::TargetMetric) -> (&'static str, &'static str) {
    use entity::enums::TargetMetric as M;
    match m {
        M::VisitBatches => ("接待客商批次", "批"),
        M::PersonTimes => ("接待客商人次", "人次"),
        M::ProjectsNegotiating => ("洽谈项目", "个"),
        M::ProjectsSigned => ("签约项目", "个"),
        M::ProjectsLanded => ("落地项目", "个"),
        M::ProjectsStarted => ("开工项目", "个"),
        M::ProjectsProducing => ("竣工投产项目", "个"),
        M::SignedInvestment => ("签约投资额", "亿元"),
        M::FundsArrived => ("到位资金", "亿元"),
        M::IncubationApplied => ("高企申报", "家"),
        M::IncubationApproved => ("高企评审通过", "家"),
    }
}

/// The targets block: each target and its actual in the units of the rest of the summary (money in 亿元 to two
/// decimals, counts whole), the completion and the time elapsed in percent.
fn target_lines(k: &Kpis) -> Vec<String> {
    k.targets
        .iter()
        .map(|t| {
            let (name, unit) = metric_words(t.metric);
            let amount = |v: Decimal| {
                if t.metric.is_money() {
                    let yi = entity::money::yi(v).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
                    format!("{yi:.2}")
                } else {
                    v.round_dp(2).normalize().to_string()
                }
            };
            let progress = t.progress.map_or("—".into(), |p| format!("{:.1}%", p * 100.0));
            format!(
                "{name}：年度目标{}{unit}，完成{}{unit}，完成率{progress}，时间进度{:.1}%。",
                amount(t.target),
                amount(t.actual),
                t.time_progress * 100.0
            )
        })
        .collect()
}

/// The incubation sentence: the counts that are not zero, as a writer puts them.
fn incubation_text(k: &Kpis) -> String {
    [
        ("新纳入高新技术企业培育", k.incubation_cultivating.value),
        ("申报", k.incubation_applied.value),
        ("评审通过并备案", k.incubation_filed.value),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(what, n)| format!("{what}{n}家"))
    .collect::<Vec<_>>()
    .join("，")
}

/// Writes the summary of `period` as of `as_of` over the records `seen`.
pub async fn summary(
    db: &DatabaseConnection,
    (period, as_of): (&Period, NaiveDate),
    seen: &Seen,
    markdown: bool,
) -> anyhow::Result<String> {
    let raw = analytics::load(db, as_of, Scope::All, &seen.visible).await?;
    let p = period.clone();
    let (kpis, reached) = tokio::task::spawn_blocking(move || -> anyhow::Result<(Kpis, Vec<Vec<i64>>)> {
        let a = Analytics::build(raw)?;
        let reached = (0..ProjectStage::ORDER.len())
            .map(|k| a.projects_reaching(k, &p))
            .collect::<Result<_, _>>()?;
        Ok((a.kpis(&p)?, reached))
    })
    .await??;
    let partners: Vec<String> = partner::Entity::find()
        .select_only()
        .column(partner::Column::Name)
        .filter(partner::Column::AgreementDate.between(period.from, period.to.min(as_of)))
        .apply_if(seen.visible.project_ids(), |q, ids| {
            // A partner of a part of the bureau is one that brought it a project.
            let brought = project::Entity::find()
                .select_only()
                .column(project::Column::SourcePartnerId)
                .filter(project::Column::Id.in_subquery(ids))
                .into_query();
            q.filter(partner::Column::Id.in_subquery(brought))
        })
        .into_tuple()
        .all(db)
        .await?;
    let above_size: Vec<String> = company::Entity::find()
        .select_only()
        .column(company::Column::Name)
        .filter(company::Column::AboveSizeSince.between(period.from, period.to.min(as_of)))
        .apply_if(seen.visible.via_company(company::Column::Id), QueryFilter::filter)
        .order_by_asc(company::Column::AboveSizeSince)
        .into_tuple()
        .all(db)
        .await?;
    let trips = kpis
        .outreach_by_kind
        .iter()
        .find(|k| k.kind == "trip")
        .map(|k| figure(&k.count, vec![]));
    let mut env = minijinja::Environment::new();
    env.add_template("summary", include_str!("../templates/summary.md.j2"))?;
    let ctx = serde_json::json!({
        "markdown": markdown,
        "title": format!("{}招商引资工作总结", label(period)),
        "label": label(period),
        "within": seen.within,
        "trips": trips,
        "batches": figure(&kpis.visit_batches, vec![]),
        "persons": figure(&kpis.person_times, vec![]),
        "negotiating": figure(&kpis.projects_negotiating, vec![]),
        "signed": figure(&kpis.projects_signed, notable(db, reached[2].clone()).await?),
        "landed": figure(&kpis.projects_landed, notable(db, reached[3].clone()).await?),
        "started": figure(&kpis.projects_started, notable(db, reached[4].clone()).await?),
        "producing": figure(&kpis.projects_producing, notable(db, reached[5].clone()).await?),
        "signed_investment": yi(kpis.signed_investment.value),
        "major": { "count": kpis.major_projects.value, "investment": yi(kpis.major_investment.value) },
        "funds": yi(kpis.funds_arrived.value),
        "domestic": { "value": yi(kpis.domestic_funds.value), "yoy": growth_text(kpis.domestic_funds.growth_pct) },
        "foreign": (!kpis.foreign_funds.value.is_zero()).then(|| serde_json::json!({
            "value": kpis.foreign_funds.value.round_dp(2).normalize().to_string(),
            "yoy": growth_text(kpis.foreign_funds.growth_pct),
        })),
        "above_size": { "count": above_size.len(), "names": above_size.join("、") },
        "support": (!kpis.support_funds.value.is_zero()).then(|| kpis.support_funds.value.normalize().to_string()),
        "partners": partners.join("、"),
        "blockers": { "resolved": kpis.blockers.resolved, "open": kpis.blockers.open_at_end },
        "incubation": incubation_text(&kpis),
        "quiet": kpis.visit_batches.value == 0 && kpis.projects_negotiating.value == 0
            && kpis.projects_signed.value == 0 && trips.as_ref().is_none_or(|t| t.value == 0),
        "targets": target_lines(&kpis),
    });
    Ok(env.get_template("summary")?.render(minijinja::value::Serde(&ctx))?)
}

/// The summary of a period as a file to download.
pub struct SummaryFile {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its content type.
    pub content_type: &'static str,
    /// Its RFC 6266 `Content-Disposition` (an ASCII name and the Chinese one).
    pub disposition: String,
}

/// The content type of a Word document.
pub const DOCX_TYPE: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// The summary of `period` as of `as_of` over the records `seen`, as a file in `format`.
pub async fn file(
    db: &DatabaseConnection,
    (period, as_of): (&Period, NaiveDate),
    seen: &Seen,
    format: SummaryFormat,
) -> anyhow::Result<SummaryFile> {
    let text = summary(db, (period, as_of), seen, format != SummaryFormat::Text).await?;
    let (ext, content_type, bytes) = match format {
        SummaryFormat::Text => ("txt", "text/plain; charset=utf-8", text.into_bytes()),
        SummaryFormat::Markdown => ("md", "text/markdown; charset=utf-8", text.into_bytes()),
        SummaryFormat::Docx => ("docx", DOCX_TYPE, docx(&text)?),
    };
    Ok(SummaryFile {
        bytes,
        content_type,
        disposition: crate::export::content_disposition(
            &format!("summary-{}.{ext}", period.label),
            &format!("招商引资工作总结-{}.{ext}", period.label),
        ),
    })
}

/// A block of the summary as its Markdown form writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "text", rename_all = "snake_case")]
pub enum Block {
    /// The title (`# `).
    Title(String),
    /// A section heading (`## `).
    Heading(String),
    /// A paragraph.
    Paragraph(String),
    /// An item of a list (`- `).
    Item(String),
}

/// The blocks of the summary's Markdown form, in order: what the web page and the Word document lay out.
pub fn blocks(markdown: &str) -> Vec<Block> {
    markdown
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            if let Some(t) = l.strip_prefix("# ") {
                Block::Title(t.to_owned())
            } else if let Some(t) = l.strip_prefix("## ") {
                Block::Heading(t.to_owned())
            } else if let Some(t) = l.strip_prefix("- ") {
                Block::Item(t.to_owned())
            } else {
                Block::Paragraph(l.to_owned())
            }
        })
        .collect()
}

/// The summary as a Word document from its Markdown form: the title, the section headings in bold, each paragraph
/// and each target line as one, in 仿宋 as the bureau's documents are.
pub fn docx(markdown: &str) -> anyhow::Result<Vec<u8>> {
    use docx_rs::{Docx, Paragraph, Run, RunFonts};
    let mut doc = Docx::new();
    for block in blocks(markdown) {
        let (text, bold, size, font) = match block {
            Block::Title(t) => (t, true, 36, "方正小标宋简体"),
            Block::Heading(t) => (t, true, 32, "黑体"),
            Block::Paragraph(t) | Block::Item(t) => (t, false, 32, "仿宋"),
        };
        let run = Run::new()
            .add_text(text)
            .size(size)
            .fonts(RunFonts::new().east_asia(font));
        let run = if bold { run.bold() } else { run };
        doc = doc.add_paragraph(Paragraph::new().add_run(run));
    }
    let mut out = std::io::Cursor::new(Vec::new());
    doc.build().pack(&mut out)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_as_prose() {
        let l = |s: &str| label(&Period::parse(s).unwrap());
        assert_eq!(l("2024-H1"), "2024年上半年");
        assert_eq!(l("2024"), "2024年");
        assert_eq!(l("2024-Q2"), "2024年第二季度");
        assert_eq!(l("2024-05"), "2024年5月");
        assert_eq!(l("2024-W21"), "2024年第21周");
    }
}
