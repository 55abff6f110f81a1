//! 数据导入: upload a ledger, read the preview (the mapping used, the counts, the rows with errors, each bad cell
//! marked with its message), then commit the same file; the committed batches, each with its undo.

use minijinja::{Value, context};
use poem::{
    IntoResponse, Response, handler,
    http::header,
    web::{Data, Html, Multipart, Path},
};

use super::{Staff, WebState, me, refresh, render, saved, val};
use crate::{
    export::{XLSX_TYPE, content_disposition},
    import::{self, Dataset, Options, Report},
    service::{AppError, AppResult, Need, Paging, imports},
};

/// 数据导入.
#[handler]
pub async fn page(staff: Staff) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Edit)?;
    let datasets: Vec<Value> = Dataset::ALL
        .iter()
        .map(|(name, d)| context! { value => *name, label => d.label() })
        .collect();
    render(
        "imports.html",
        context! { me => me(&staff), menu => "imports", datasets },
    )
}

/// The committed batches (a partial the page loads, and reloads after a commit or an undo).
#[handler]
pub async fn batches(staff: Staff, state: Data<&WebState>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Edit)?;
    let listed = imports::list(&state.db, Paging::new(Some(1), Some(50))?).await?;
    let rows: Vec<Value> = listed
        .items
        .into_iter()
        .map(|b| {
            context! {
                id => b.id, dataset => Dataset::parse(&b.dataset).map_or("", |d| d.label()), file => b.file_name,
                user => b.username, at => b.created_at.with_timezone(&crate::service::input::LOCAL_TZ).format("%Y-%m-%d %H:%M").to_string(),
                counts => val(&b.counts), undone => b.undone_at.is_some(), undone_by => b.undone_by,
            }
        })
        .collect();
    render(
        "import_batches.html",
        context! { me => me(&staff), rows, total => listed.total },
    )
}

/// The upload: dataset, file, what to do with rows that have errors.
struct Upload {
    dataset: Dataset,
    file_name: String,
    bytes: Vec<u8>,
    skip_errors: bool,
}

async fn upload(mut form: Multipart) -> AppResult<Upload> {
    let (mut dataset, mut file, mut skip_errors) = (None, None, false);
    let unreadable = |_| AppError::invalid("file", "the upload could not be read", "上传的文件无法读取");
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("dataset") => dataset = Some(Dataset::parse(&field.text().await.map_err(unreadable)?)?),
            Some("on_error") => skip_errors = field.text().await.map_err(unreadable)? == "skip",
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let bytes = field.bytes().await.map_err(unreadable)?;
                if !name.is_empty() && !bytes.is_empty() {
                    file = Some((name, bytes));
                }
            }
            _ => {}
        }
    }
    let Some((file_name, bytes)) = file else {
        return Err(AppError::invalid("file", "choose a file", "请选择要导入的文件"));
    };
    Ok(Upload {
        dataset: dataset.unwrap_or(Dataset::Projects),
        file_name,
        bytes,
        skip_errors,
    })
}

/// The report as the page shows it, or the error that kept the file from being read.
fn result(staff: &Staff, done: AppResult<Report>, writes: bool) -> poem::Result<Response> {
    let report = match done {
        Ok(r) => r,
        Err(e) if !matches!(e, AppError::Internal(_) | AppError::Unauthorized) => {
            let status = e.status();
            let body = e.body(crate::edge::error::Lang::Zh);
            let mut resp = render(
                "import_result.html",
                context! { me => me(staff), failure => body.message },
            )?
            .into_response();
            resp.set_status(status);
            return Ok(resp);
        }
        Err(e) => return Err(e.into()),
    };
    let refused = writes && !report.committed;
    let ctx = context! { me => me(staff), r => val(&report), sample => val(&report.sample), refused };
    let mut resp = render("import_result.html", ctx)?.into_response();
    if refused {
        resp.set_status(poem::http::StatusCode::UNPROCESSABLE_ENTITY);
    }
    if report.committed {
        resp.headers_mut()
            .insert("HX-Trigger", header::HeaderValue::from_static("imported"));
        return Ok(saved(resp, "导入完成"));
    }
    Ok(resp)
}

async fn run(staff: &Staff, state: &WebState, req: &poem::Request, form: Multipart, writes: bool) -> AppResult<Report> {
    let u = upload(form).await?;
    let options = Options {
        commit: writes,
        skip_errors: u.skip_errors,
        client_addr: crate::edge::client_addr(req),
        ..Default::default()
    };
    import::run(&state.db, &staff.actor, u.dataset, &u.file_name, u.bytes, options).await
}

/// 预览: reads and matches the file, writes nothing.
#[handler]
pub async fn preview(
    staff: Staff,
    state: Data<&WebState>,
    req: &poem::Request,
    form: Multipart,
) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let done = run(&staff, &state, req, form, false).await;
    result(&staff, done, false)
}

/// 确认导入: the same, written as a batch (nothing while rows have errors, unless they are to be skipped).
#[handler]
pub async fn commit(
    staff: Staff,
    state: Data<&WebState>,
    req: &poem::Request,
    form: Multipart,
) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let done = run(&staff, &state, req, form, true).await;
    result(&staff, done, true)
}

/// 撤销: undoes a batch; the page reloads.
#[handler]
pub async fn undo(
    staff: Staff,
    state: Data<&WebState>,
    req: &poem::Request,
    Path(id): Path<i64>,
) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    imports::undo(&state.db, &staff.actor, id, crate::edge::client_addr(req)).await?;
    Ok(saved(refresh(), "导入批次已撤销"))
}

/// 下载模板: the dataset's XLSX template.
#[handler]
pub async fn template(staff: Staff, Path(name): Path<String>) -> poem::Result<Response> {
    staff.actor.require(Need::Read)?;
    let dataset = Dataset::parse(&name)?;
    let bytes = import::template::xlsx(dataset)?;
    let disposition = content_disposition(
        &format!("{}-template.xlsx", dataset.as_str()),
        &format!("{}导入模板.xlsx", dataset.label()),
    );
    Ok(super::attachment(XLSX_TYPE, disposition, bytes))
}
