//! 来访接待: the quick-entry form a staffer fills in while the guests are still in the building (companies picked by
//! typing part of a name, or created on the spot) and the list with the batches and person-times of its range.

use minijinja::{Value, context};
use poem::{
    Response, handler,
    web::{Data, Html, Path, Query},
};
use serde::{Deserialize, Serialize};

use super::{
    Staff, WebState, answer,
    companies::{matching, names_of},
    form::{self, opt},
    me, pager_base, refresh, render, val,
};
use crate::{
    edge::audit::WriteTx,
    service::{
        AppError, AppResult, Need, Paging, companies,
        input::today,
        projects,
        visits::{self as svc, NewVisit, VisitFilter},
    },
};

/// The list's range and page.
#[derive(Deserialize, Serialize, Default)]
pub struct ListQuery {
    from: Option<String>,
    to: Option<String>,
    page: Option<u64>,
}

/// The quick-entry form; `company_ids` and `project_ids` repeat, one per chip.
#[derive(Deserialize, Serialize, Default)]
pub struct VisitForm {
    visit_date: Option<String>,
    headcount: Option<String>,
    #[serde(default)]
    company_ids: Vec<i64>,
    #[serde(default)]
    project_ids: Vec<i64>,
    receiving_leaders: Option<String>,
    staff: Option<String>,
    purpose: Option<String>,
    summary: Option<String>,
}

impl VisitForm {
    fn parse(&self) -> AppResult<NewVisit> {
        Ok(NewVisit {
            visit_date: form::required("visit_date", &self.visit_date)?,
            headcount: form::int("headcount", &self.headcount)?
                .ok_or_else(|| AppError::invalid("headcount", "headcount is required", "请填写来访人数"))?,
            company_ids: self.company_ids.clone(),
            project_ids: self.project_ids.clone(),
            receiving_leaders: form::names("receiving_leaders", &self.receiving_leaders)?,
            staff: form::names("staff", &self.staff)?,
            purpose: form::field("purpose", &self.purpose)?,
            summary: form::field("summary", &self.summary)?,
            owner_id: None,
        })
    }
}

/// The chips of the companies and projects a form names.
pub async fn chips(
    db: &impl sea_orm::ConnectionTrait,
    company_ids: &[i64],
    project_ids: &[i64],
) -> AppResult<(Vec<Value>, Vec<Value>)> {
    let (companies, projects) = names_of(db, company_ids.iter().copied(), project_ids.iter().copied()).await?;
    let of = |ids: &[i64], names: &std::collections::HashMap<i64, String>, field: &str| -> Vec<Value> {
        ids.iter()
            .filter_map(|id| names.get(id).map(|n| context! { id, name => n.clone(), field }))
            .collect()
    };
    Ok((
        of(company_ids, &companies, "company_ids"),
        of(project_ids, &projects, "project_ids"),
    ))
}

/// 来访接待: the quick-entry form above the list of the range.
#[handler]
pub async fn list(staff: Staff, state: Data<&WebState>, Query(q): Query<ListQuery>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let form = VisitForm {
        visit_date: Some(today().to_string()),
        ..Default::default()
    };
    let ctx = list_context(&state, &staff, &q).await?;
    render(
        "visits.html",
        context! { f => val(&form), chips => Vec::<Value>::new(), ..ctx },
    )
}

/// A visit's page: who came, whom they met, the projects it concerns, and its 变更记录.
#[handler]
pub async fn show(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    use crate::service::scope::{self, Of};
    scope::permit(&state.db, &staff.actor, Need::Read, Of::Visit(id)).await?;
    let v = svc::get(&state.db, id).await?;
    let (companies, _) = names_of(&state.db, v.company_ids.clone(), []).await?;
    let projects = crate::service::names::<entity::project::Entity>(&state.db, v.project_ids.clone()).await?;
    let owner = match v.visit.owner_id {
        Some(o) => Some(crate::service::accounts::get_user(&state.db, o).await?.display_name),
        None => None,
    };
    let linked = |ids: &[i64], names: &std::collections::HashMap<i64, String>| -> Vec<Value> {
        ids.iter()
            .map(|id| context! { id, name => names.get(id).cloned().unwrap_or_else(|| format!("#{id}")) })
            .collect()
    };
    let changes = super::changes::of(&state.db, crate::service::Kind::Visit, id).await?;
    let ctx = context! {
        me => me(&staff), menu => "visits", changes => val(&changes),
        v => context! {
            id, date => v.visit.visit_date.to_string(), headcount => v.visit.headcount,
            companies => linked(&v.company_ids, &companies), projects => linked(&v.project_ids, &projects),
            leaders => svc::list_of(&v.visit.receiving_leaders).join("、"), staff => svc::list_of(&v.visit.staff).join("、"),
            purpose => v.visit.purpose.clone(), summary => v.visit.summary.clone(), owner,
        },
    };
    render("visit.html", ctx)
}

async fn list_context(state: &WebState, staff: &Staff, q: &ListQuery) -> poem::Result<Value> {
    let page = q.page.unwrap_or(1).max(1);
    let f = VisitFilter {
        visible: crate::service::scope::visible(&state.db, &staff.actor).await?,
        from: form::date("from", &q.from)?,
        to: form::date("to", &q.to)?,
        ..Default::default()
    };
    let (rows, person_times) = svc::list(&state.db, f, Paging::new(Some(page), Some(20))?).await?;
    // Every visit is one batch (批): the count of the range is its batches.
    let batches = rows.total;
    let (names, _) = names_of(&state.db, rows.items.iter().flat_map(|v| v.company_ids.clone()), []).await?;
    let rows: Vec<Value> = rows
        .items
        .iter()
        .map(|v| {
            let companies: Vec<String> = v.company_ids.iter().filter_map(|id| names.get(id).cloned()).collect();
            context! {
                id => v.visit.id, date => v.visit.visit_date.to_string(), headcount => v.visit.headcount,
                companies => companies.join("、"),
                leaders => svc::list_of(&v.visit.receiving_leaders).join("、"), purpose => v.visit.purpose.clone(),
            }
        })
        .collect();
    Ok(context! {
        me => me(staff), menu => "visits", q => val(q), base => pager_base(q), rows,
        batches, person_times, page, per_page => 20,
    })
}

/// Records a visit; the list reloads.
#[handler]
pub async fn create(staff: Staff, tx: WriteTx, body: String) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let f: VisitForm = form::repeated(&body)?;
    let done = async { svc::create(tx.get().await?, &staff.actor, f.parse()?).await }.await;
    answer(
        done,
        |_| refresh(),
        "visit_form.html",
        async || {
            let (chips, project_chips) = chips(tx.get().await?, &f.company_ids, &f.project_ids).await?;
            Ok(context! { me => me(&staff), f => val(&f), chips, project_chips })
        },
    )
    .await
}

/// What the company picker sends: the text typed.
#[derive(Deserialize)]
pub struct Typed {
    company_search: Option<String>,
}

/// The picker's suggestions for the text typed, and the offer to create a company of that name.
#[handler]
pub async fn company_search(
    staff: Staff,
    state: Data<&WebState>,
    Query(t): Query<Typed>,
) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let typed = opt(&t.company_search).map(str::to_owned);
    let found = matching(&state, typed.as_deref()).await?;
    let exact = found.iter().any(|c| Some(c.name.as_str()) == typed.as_deref());
    let ctx = context! {
        found => found.iter().map(|c| context! { id => c.id, name => c.name.clone() }).collect::<Vec<_>>(),
        typed, exact, can_edit => staff.actor.can(Need::Edit),
    };
    render("company_picks.html", ctx)
}

/// A chosen company's chip.
#[derive(Deserialize)]
pub struct Chosen {
    id: i64,
}

/// The chip of a company picked from the suggestions.
#[handler]
pub async fn company_chip(staff: Staff, state: Data<&WebState>, Query(c): Query<Chosen>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let company = companies::get(&state.db, c.id).await?;
    render(
        "chip.html",
        context! { id => company.id, name => company.name, field => "company_ids" },
    )
}

/// What the project picker sends: the text typed.
#[derive(Deserialize)]
pub struct TypedProject {
    project_search: Option<String>,
}

/// The project picker's suggestions: up to ten projects whose name contains the text typed.
#[handler]
pub async fn project_search(
    staff: Staff,
    state: Data<&WebState>,
    Query(t): Query<TypedProject>,
) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let found = match opt(&t.project_search) {
        Some(text) => {
            let f = projects::ProjectFilter {
                visible: crate::service::scope::visible(&state.db, &staff.actor).await?,
                q: Some(text.to_owned()),
                ..Default::default()
            };
            projects::list(&state.db, f, Paging::new(Some(1), Some(10))?)
                .await?
                .items
        }
        None => Vec::new(),
    };
    let found: Vec<Value> = found
        .iter()
        .map(|v| context! { id => v.project.id, name => v.project.name.clone() })
        .collect();
    render("project_picks.html", context! { found })
}

/// The chip of a project picked from the suggestions.
#[handler]
pub async fn project_chip(staff: Staff, state: Data<&WebState>, Query(c): Query<Chosen>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let v = projects::get(&state.db, c.id).await?;
    render(
        "chip.html",
        context! { id => v.project.id, name => v.project.name, field => "project_ids" },
    )
}

/// A new company's name, typed in the picker.
#[derive(Deserialize)]
pub struct NewName {
    name: Option<String>,
}

/// Creates a company of the name typed and answers its chip.
#[handler]
pub async fn quick_company(
    staff: Staff,
    tx: WriteTx,
    poem::web::Form(n): poem::web::Form<NewName>,
) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let new = companies::NewCompany::named(form::required("name", &n.name)?);
    let c = companies::create(tx.get().await?, new).await?;
    Ok(poem::IntoResponse::into_response(render(
        "chip.html",
        context! { id => c.id, name => c.name, field => "company_ids" },
    )?))
}
