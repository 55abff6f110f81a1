//! 数据导出: pick a dataset, a format, a date range and the filters that apply, and download. The same files as
//! `GET /api/v1/exports/{dataset}` (streamed, audited, over the records the user sees).

use minijinja::{Value, context};
use poem::{
    IntoResponse, Request, Response, handler,
    web::{Data, Html, Query},
};
use serde::{Deserialize, Serialize};

use super::{
    Staff, WebState,
    form::{date, opt},
    me, page_error, render,
};
use crate::{
    export::{self, Dataset, Filters, Format},
    service::{AppError, AppResult, Need},
};

/// The export form, as typed.
#[derive(Deserialize, Serialize, Default)]
pub struct ExportQuery {
    dataset: Option<String>,
    format: Option<String>,
    from: Option<String>,
    to: Option<String>,
    stage: Option<String>,
    industry: Option<String>,
    status: Option<String>,
    period: Option<String>,
    as_of: Option<String>,
}

fn page_ctx(staff: &Staff, q: &ExportQuery) -> Value {
    let datasets: Vec<Value> = Dataset::ALL
        .iter()
        .map(|d| {
            let (value, label) = d.names();
            context! { value, label }
        })
        .collect();
    context! { me => me(staff), menu => "exports", datasets, q => super::val(q) }
}

/// 数据导出.
#[handler]
pub async fn page(staff: Staff, Query(q): Query<ExportQuery>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Export)?;
    render("exports.html", page_ctx(&staff, &q))
}

impl ExportQuery {
    fn parse(&self) -> AppResult<(Dataset, Format, Filters)> {
        let set = opt(&self.dataset)
            .and_then(Dataset::from_name)
            .ok_or_else(|| AppError::invalid("dataset", "unknown dataset", "请选择要导出的数据"))?;
        let format = opt(&self.format)
            .map_or(Some(Format::Xlsx), Format::from_name)
            .ok_or_else(|| AppError::invalid("format", "unknown format", "请选择文件格式"))?;
        let text = |v: &Option<String>| opt(v).map(str::to_owned);
        let filters = Filters {
            from: date("from", &self.from)?,
            to: date("to", &self.to)?,
            stage: text(&self.stage),
            industry: text(&self.industry),
            status: text(&self.status),
            period: text(&self.period),
            as_of: date("as_of", &self.as_of)?,
            ..Default::default()
        };
        Ok((set, format, filters))
    }
}

/// The file; on a bad filter, the form again with the error beside its field.
#[handler]
pub async fn download(
    staff: Staff,
    state: Data<&WebState>,
    Query(q): Query<ExportQuery>,
    req: &Request,
) -> poem::Result<Response> {
    let done = match q.parse() {
        Ok((set, format, filters)) => {
            let path = format!("/exports/{}", set.names().0);
            let client = crate::edge::client_addr(req);
            export::download(&state.db, &staff.actor, (set, format), filters, (path, client)).await
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(d) => Ok(super::attachment(d.content_type, d.disposition, d.body)),
        Err(e @ AppError::Forbidden { .. }) => Err(e.into()),
        Err(e) => page_error(e, "exports.html", page_ctx(&staff, &q)).map(IntoResponse::into_response),
    }
}
