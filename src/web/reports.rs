//! 工作总结: pick a period, read the summary on the page, download it as Word or Markdown. The same text as
//! `GET /api/v1/reports/summary`, over the records the reader sees.

use chrono::Datelike;
use jobs::period::Period;
use minijinja::context;
use poem::{
    Response, handler,
    http::header,
    web::{Data, Query},
};
use serde::{Deserialize, Serialize};

use super::{Staff, WebState, form::opt, me, page_error, render};
use crate::{
    report::{self, SummaryFormat},
    service::{AppError, AppResult, Need, analytics::measured_on, input::today, scope},
};

/// The parts of a year the picker offers: the suffix of the period and its name.
const SPANS: [(&str, &str); 19] = [
    ("", "全年"),
    ("-H1", "上半年"),
    ("-H2", "下半年"),
    ("-Q1", "第一季度"),
    ("-Q2", "第二季度"),
    ("-Q3", "第三季度"),
    ("-Q4", "第四季度"),
    ("-01", "1月"),
    ("-02", "2月"),
    ("-03", "3月"),
    ("-04", "4月"),
    ("-05", "5月"),
    ("-06", "6月"),
    ("-07", "7月"),
    ("-08", "8月"),
    ("-09", "9月"),
    ("-10", "10月"),
    ("-11", "11月"),
    ("-12", "12月"),
];

/// The period picked: a year and a part of it (by default the half-year now running).
#[derive(Deserialize, Serialize, Default)]
pub struct PeriodQuery {
    year: Option<String>,
    span: Option<String>,
}

impl PeriodQuery {
    /// The year and span asked for, with today's half-year for what is not given.
    fn picked(&self) -> (String, String) {
        let today = today();
        let year = opt(&self.year).map_or_else(|| today.year().to_string(), str::to_owned);
        let half = if today.month() <= 6 { "-H1" } else { "-H2" };
        let span = self.span.clone().unwrap_or_else(|| half.to_owned());
        (year, span)
    }

    /// The period, or an error on the field that makes it none.
    fn period(&self) -> AppResult<Period> {
        let (year, span) = self.picked();
        if !SPANS.iter().any(|(s, _)| *s == span) {
            return Err(AppError::invalid(
                "span",
                "unknown part of the year",
                "请选择列表中的一项",
            ));
        }
        Period::parse(&format!("{year}{span}")).map_err(|e| AppError::invalid("year", e.to_string(), "请选择年份"))
    }
}

/// 工作总结.
#[handler]
pub async fn page(staff: Staff, state: Data<&WebState>, Query(q): Query<PeriodQuery>) -> poem::Result<Response> {
    use poem::IntoResponse;
    staff.actor.require(Need::Report)?;
    let (year, span) = q.picked();
    let this_year = today().year();
    let ctx = context! {
        me => me(&staff), menu => "summary",
        years => (this_year - 9..=this_year).rev().collect::<Vec<_>>(),
        spans => SPANS.iter().map(|&(value, label)| context! { value, label }).collect::<Vec<_>>(),
        q => context! { year, span },
    };
    let p = match q.period() {
        Ok(p) => p,
        Err(e) => return page_error(e, "summary.html", ctx),
    };
    let seen = scope::seen(&state.db, &staff.actor).await?;
    let text = report::summary(&state.db, (&p, measured_on(&p, None)), &seen, false)
        .await
        .map_err(AppError::Internal)?;
    let mut paragraphs = text.split("\n\n").map(str::trim).filter(|t| !t.is_empty());
    let title = paragraphs.next().unwrap_or_default().to_owned();
    let ctx = context! {
        title, paragraphs => paragraphs.map(str::to_owned).collect::<Vec<_>>(),
        period => p.label.clone(), as_of => measured_on(&p, None).to_string(), ..ctx
    };
    Ok(render("summary.html", ctx)?.into_response())
}

/// The picked period and the file format.
#[derive(Deserialize)]
pub struct FileQuery {
    #[serde(flatten)]
    period: PeriodQuery,
    format: Option<String>,
}

/// The summary as a Word or Markdown file.
#[handler]
pub async fn download(staff: Staff, state: Data<&WebState>, Query(q): Query<FileQuery>) -> poem::Result<Response> {
    staff.actor.require(Need::Report)?;
    let p = q.period.period()?;
    let format = match opt(&q.format) {
        Some("markdown") => SummaryFormat::Markdown,
        Some("docx") | None => SummaryFormat::Docx,
        Some(_) => return Err(AppError::invalid("format", "docx or markdown", "请选择 Word 或 Markdown").into()),
    };
    let seen = scope::seen(&state.db, &staff.actor).await?;
    let f = report::file(&state.db, (&p, measured_on(&p, None)), &seen, format)
        .await
        .map_err(AppError::Internal)?;
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, f.content_type)
        .header(header::CONTENT_DISPOSITION, f.disposition)
        .body(f.bytes))
}
