//! 工作总结: pick a period, read the summary on the page, download it as Word or Markdown. The same text as
//! `GET /api/v1/reports/summary`, over the records the reader sees.

use minijinja::context;
use poem::{
    Response, handler,
    web::{Data, Query},
};
use serde::Deserialize;

use super::{Staff, WebState, attachment, form::opt, me, page_error, period::PeriodPick, render};
use crate::{
    report::{self, SummaryFormat},
    service::{AppError, Need, analytics::measured_on, scope},
};

/// 工作总结.
#[handler]
pub async fn page(staff: Staff, state: Data<&WebState>, Query(q): Query<PeriodPick>) -> poem::Result<Response> {
    use poem::IntoResponse;
    staff.actor.require(Need::Report)?;
    let query = serde_urlencoded::to_string(&q).unwrap_or_default();
    let ctx = context! { me => me(&staff), menu => "summary", query, ..q.ctx() };
    let picked = match q.canonical() {
        Some(Ok(c)) => return Ok(to_address("/reports/summary", &c)),
        Some(Err(e)) => Err(e),
        None => q.period().and_then(|p| Ok((p, q.as_of()?))),
    };
    let (p, as_of) = match picked {
        Ok(p) => p,
        Err(e) => return page_error(e, "summary.html", ctx),
    };
    let seen = scope::seen(&state.db, &staff.actor).await?;
    let link = |other: &jobs::period::Period| address("/reports/summary", &q.of(other));
    let empty = super::period::empty_notice(&state.db, &seen, &p, link).await?;
    let text = report::summary(&state.db, (&p, measured_on(&p, as_of)), &seen, true)
        .await
        .map_err(AppError::Internal)?;
    let mut blocks = report::blocks(&text);
    let title = match blocks.first() {
        Some(report::Block::Title(t)) => Some(t.clone()),
        _ => None,
    };
    if title.is_some() {
        blocks.remove(0);
    }
    let ctx = context! {
        title, blocks => super::val(&blocks),
        period => p.label.clone(), as_of => measured_on(&p, as_of).to_string(), empty, ..ctx
    };
    Ok(render("summary.html", ctx)?.into_response())
}

/// The picked period and the file format.
#[derive(Deserialize)]
pub struct FileQuery {
    #[serde(flatten)]
    period: PeriodPick,
    format: Option<String>,
}

/// The summary as a Word or Markdown file.
#[handler]
pub async fn download(staff: Staff, state: Data<&WebState>, Query(q): Query<FileQuery>) -> poem::Result<Response> {
    staff.actor.require(Need::Report)?;
    let p = q.period.period()?;
    let as_of = q.period.as_of()?;
    let format = match opt(&q.format) {
        Some("markdown") => SummaryFormat::Markdown,
        Some("docx") | None => SummaryFormat::Docx,
        Some(_) => return Err(AppError::invalid("format", "docx or markdown", "请选择 Word 或 Markdown").into()),
    };
    let seen = scope::seen(&state.db, &staff.actor).await?;
    let f = report::file(&state.db, (&p, measured_on(&p, as_of)), &seen, format)
        .await
        .map_err(AppError::Internal)?;
    Ok(attachment(f.content_type, f.disposition, f.bytes))
}

/// The address of a page with a query.
pub fn address<T: serde::Serialize>(path: &str, q: &T) -> String {
    format!("{path}?{}", serde_urlencoded::to_string(q).unwrap_or_default())
}

/// A move to the address of the same page with its period named (`?period=2024-H1`), so that the address bar
/// holds a link that shows the same figures.
pub fn to_address<T: serde::Serialize>(path: &str, q: &T) -> Response {
    use poem::IntoResponse;
    poem::web::Redirect::see_other(address(path, q)).into_response()
}
