//! 来访接待: the quick-entry form a staffer fills in while the guests are still in the building (companies picked by
//! typing part of a name, or created on the spot) and the list with the batches and person-times of its range.

use entity::enums::Label;
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
    list_page, me, pager_base, redirect, refresh, render, saved, val,
};
use crate::service::attachments::{self, Holder};
use crate::{
    edge::audit::WriteTx,
    service::{
        AppError, AppResult, Need, Paging, companies,
        input::{Name, today},
        projects,
        scope::{self, Of},
        visits::{self as svc, NewVisit, VisitChanges, VisitFilter},
    },
};

/// The list's range and page.
#[derive(Deserialize, Serialize, Default)]
pub struct ListQuery {
    from: Option<String>,
    to: Option<String>,
    page: Option<u64>,
    after: Option<String>,
}

/// The quick-entry form; `company_ids` and `project_ids` repeat, one per chip: a recorded one's id, or `new:` and
/// the name of one typed new, written only with the visit. Each new project's chip carries its company (the value
/// of one of the company chips; blank: the first), industry and agreed investment, in the order of the chips.
#[derive(Deserialize, Serialize, Default)]
pub struct VisitForm {
    visit_date: Option<String>,
    headcount: Option<String>,
    #[serde(default)]
    company_ids: Vec<String>,
    #[serde(default)]
    project_ids: Vec<String>,
    #[serde(default)]
    new_project_company: Vec<String>,
    #[serde(default)]
    new_project_industry: Vec<String>,
    #[serde(default)]
    new_project_investment: Vec<String>,
    receiving_leaders: Option<String>,
    staff: Option<String>,
    purpose: Option<String>,
    summary: Option<String>,
    version: Option<i32>,
}

/// A chip's value: a recorded record's id, or the name of one typed new.
enum Chip<'a> {
    Known(i64),
    New(&'a str),
}

fn chip_of<'a>(field: &str, value: &'a str) -> AppResult<Chip<'a>> {
    match value.strip_prefix(NEW) {
        Some(name) => Ok(Chip::New(name)),
        None => value
            .trim()
            .parse()
            .map(Chip::Known)
            .map_err(|_| AppError::invalid(field, format!("{field}: not a record"), "请从列表中选择")),
    }
}

/// The prefix of a chip naming a record typed new.
const NEW: &str = "new:";

/// What a visit form asks to write: the visit, and the companies and projects it brings that are new.
struct Parsed {
    visit: NewVisit,
    new_companies: Vec<crate::service::input::Name>,
    new_projects: Vec<svc::ProjectOnVisit>,
}

impl VisitForm {
    fn parse(&self) -> AppResult<Parsed> {
        let (mut company_ids, mut new_names) = (Vec::new(), Vec::new());
        // Each company chip's value, as a new project's chip names it, and the company it stands for.
        let mut companies = Vec::new();
        for v in &self.company_ids {
            let r = match chip_of("company_ids", v)? {
                Chip::Known(id) => {
                    company_ids.push(id);
                    svc::CompanyRef::Known(id)
                }
                Chip::New(name) => {
                    new_names.push(Name::parse("company_ids", name)?);
                    svc::CompanyRef::New(new_names.len() - 1)
                }
            };
            companies.push((v.trim(), r));
        }
        let (mut project_ids, mut new_projects) = (Vec::new(), Vec::new());
        for v in &self.project_ids {
            match chip_of("project_ids", v)? {
                Chip::Known(id) => project_ids.push(id),
                Chip::New(name) => {
                    let i = new_projects.len();
                    let nth = |values: &[String]| values.get(i).cloned();
                    let company = match nth(&self.new_project_company).as_deref().map(str::trim) {
                        None | Some("") => companies.first(),
                        Some(chosen) => companies.iter().find(|(value, _)| *value == chosen),
                    }
                    .map(|(_, r)| *r)
                    .ok_or_else(|| {
                        AppError::invalid("project_ids", "a new project needs a company", "请先选择或新建来访企业")
                    })?;
                    new_projects.push(svc::ProjectOnVisit {
                        name: Name::parse("project_ids", name)?,
                        company,
                        industry: form::field("project_ids", &nth(&self.new_project_industry))?,
                        agreed_investment: form::field("project_ids", &nth(&self.new_project_investment))?,
                    });
                }
            }
        }
        let visit = NewVisit {
            visit_date: form::required("visit_date", &self.visit_date)?,
            headcount: form::int("headcount", &self.headcount)?
                .ok_or_else(|| AppError::invalid("headcount", "headcount is required", "请填写来访人数"))?,
            company_ids,
            project_ids,
            receiving_leaders: form::names("receiving_leaders", &self.receiving_leaders)?,
            staff: form::names("staff", &self.staff)?,
            purpose: form::field("purpose", &self.purpose)?,
            summary: form::field("summary", &self.summary)?,
            owner_id: None,
        };
        Ok(Parsed {
            visit,
            new_companies: new_names,
            new_projects,
        })
    }
}

/// The chips of the companies and projects a form names, recorded or typed new, in the form's order; each new
/// project's chip with its company, industry and investment as typed.
async fn chips(db: &impl sea_orm::ConnectionTrait, f: &VisitForm) -> AppResult<(Vec<Value>, Vec<Value>)> {
    let company_chips = company_chips(db, &f.company_ids).await?;
    let (_, projects) = names_of(db, [], known(&f.project_ids)).await?;
    let mut nth = 0;
    let project_chips = f
        .project_ids
        .iter()
        .filter_map(|v| match chip_of("", v) {
            Ok(Chip::New(name)) => {
                let at = |values: &[String]| values.get(nth).cloned().unwrap_or_default();
                let chip = context! {
                    name, new => true, field => "project_ids", companies => company_chips.clone(),
                    company => at(&f.new_project_company), industry => at(&f.new_project_industry),
                    investment => at(&f.new_project_investment),
                };
                nth += 1;
                Some(chip)
            }
            _ => chip_value(v, &projects, "project_ids"),
        })
        .collect();
    Ok((company_chips, project_chips))
}

/// The recorded ids among chip values.
fn known(values: &[String]) -> Vec<i64> {
    values
        .iter()
        .filter_map(|v| match chip_of("", v) {
            Ok(Chip::Known(id)) => Some(id),
            _ => None,
        })
        .collect()
}

/// The chips of the companies a picker's values name, in their order.
pub async fn company_chips(db: &impl sea_orm::ConnectionTrait, values: &[String]) -> AppResult<Vec<Value>> {
    let (names, _) = names_of(db, known(values), []).await?;
    Ok(values
        .iter()
        .filter_map(|v| chip_value(v, &names, "company_ids"))
        .collect())
}

/// The companies a picker's chips name: the recorded ones, and those typed new, written now inside the request's
/// transaction (which a refused form rolls back).
pub async fn picked_companies(db: &impl sea_orm::ConnectionTrait, values: &[String]) -> AppResult<Vec<i64>> {
    let mut new = Vec::new();
    for v in values {
        if let Chip::New(name) = chip_of("company_ids", v)? {
            new.push(Name::parse("company_ids", name)?);
        }
    }
    let mut ids = known(values);
    ids.extend(companies::create_named(db, new).await?);
    Ok(ids)
}

/// A chip for a form value: a recorded record by its name, or a name typed new.
fn chip_value(value: &str, names: &std::collections::HashMap<i64, String>, field: &str) -> Option<Value> {
    match chip_of("", value).ok()? {
        Chip::Known(id) => names.get(&id).map(|n| context! { id, name => n.clone(), field, value }),
        Chip::New(name) => Some(context! { name, new => true, field, value }),
    }
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

/// A visit's page: who came, whom they met, the projects it concerns and those it brought, the follow-ups of those
/// projects since, and its 变更记录.
#[handler]
pub async fn show(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    scope::permit(&state.db, &staff.actor, Need::Read, Of::Visit(id)).await?;
    let db = &state.db;
    let v = svc::get(db, id).await?;
    let (companies, _) = names_of(db, v.company_ids.clone(), []).await?;
    let projects = crate::service::names::<entity::project::Entity>(db, v.project_ids.clone()).await?;
    let owner = match v.visit.owner_id {
        Some(o) => Some(crate::service::accounts::get_user(db, o).await?.display_name),
        None => None,
    };
    let linked = |ids: &[i64], names: &std::collections::HashMap<i64, String>| -> Vec<Value> {
        ids.iter()
            .map(|id| context! { id, name => names.get(id).cloned().unwrap_or_else(|| format!("#{id}")) })
            .collect()
    };
    let visible = scope::visible(db, &staff.actor).await?;
    let brought = projects::brought_by(db, &visible, entity::project::Column::SourceVisitId, vec![id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let follow_ups = crate::service::follow_ups::since(db, &v.project_ids, v.visit.visit_date, 20).await?;
    let changes = super::changes::of(db, crate::service::Kind::Visit, id).await?;
    let att = super::attachments::section_context(db, &state, &staff, Holder::Visit, id).await?;
    let ctx = context! {
        me => me(&staff), menu => "visits", changes => val(&changes), att,
        brought => brought.iter().map(|b| context! { id => b.id, name => b.name.clone(), stage => b.stage.label() }).collect::<Vec<_>>(),
        follow_ups => follow_ups.iter().map(|f| context! {
            project_id => f.project_id, project => projects.get(&f.project_id).cloned().unwrap_or_default(),
            on => f.occurred_on.to_string(), kind => f.kind.label(), note => f.note.clone(),
        }).collect::<Vec<_>>(),
        v => context! {
            id, version => v.visit.version, date => v.visit.visit_date.to_string(), headcount => v.visit.headcount,
            companies => linked(&v.company_ids, &companies), projects => linked(&v.project_ids, &projects),
            leaders => svc::list_of(&v.visit.receiving_leaders).join("、"), staff => svc::list_of(&v.visit.staff).join("、"),
            purpose => v.visit.purpose.clone(), summary => v.visit.summary.clone(), owner,
        },
    };
    render("visit.html", ctx)
}

/// 编辑来访: the quick-entry form with the visit's values.
#[handler]
pub async fn edit_page(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    scope::permit(&state.db, &staff.actor, Need::Edit, Of::Visit(id)).await?;
    let v = svc::get(&state.db, id).await?;
    let m = &v.visit;
    let ids = |values: &[i64]| values.iter().map(i64::to_string).collect::<Vec<_>>();
    let f = VisitForm {
        visit_date: Some(m.visit_date.to_string()),
        headcount: Some(m.headcount.to_string()),
        company_ids: ids(&v.company_ids),
        project_ids: ids(&v.project_ids),
        receiving_leaders: Some(svc::list_of(&m.receiving_leaders).join("、")),
        staff: Some(svc::list_of(&m.staff).join("、")),
        purpose: m.purpose.clone(),
        summary: m.summary.clone(),
        version: Some(m.version),
        ..Default::default()
    };
    let (chips, project_chips) = chips(&state.db, &f).await?;
    let ctx = context! { me => me(&staff), menu => "visits", id, f => val(&f), chips, project_chips };
    render("visit_edit.html", ctx)
}

/// Saves a visit's changes (new companies and projects typed on it are written with them); goes to its page.
#[handler]
pub async fn update(staff: Staff, tx: WriteTx, Path(id): Path<i64>, body: String) -> poem::Result<Response> {
    scope::permit(tx.get().await?, &staff.actor, Need::Edit, Of::Visit(id)).await?;
    let f: VisitForm = form::repeated(&body)?;
    let done = async {
        let p = f.parse()?;
        let changes = VisitChanges::replacing(f.version.unwrap_or_default(), p.visit);
        svc::update_with_new(
            tx.get().await?,
            &staff.actor,
            id,
            changes,
            p.new_companies,
            p.new_projects,
        )
        .await
    }
    .await;
    answer(
        done,
        |_| saved(redirect(&format!("/visits/{id}")), "来访已保存"),
        "visit_form.html",
        async || {
            let (chips, project_chips) = chips(tx.get().await?, &f).await?;
            Ok(context! { me => me(&staff), f => val(&f), chips, project_chips, id })
        },
    )
    .await
}

/// The version a deletion was decided on.
#[derive(Deserialize)]
pub struct Version {
    version: i32,
}

/// Deletes a visit (projects it brought keep their source kind and lose the reference); goes to the list.
#[handler]
pub async fn delete(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    Query(v): Query<Version>,
) -> poem::Result<Response> {
    scope::permit(tx.get().await?, &staff.actor, Need::Edit, Of::Visit(id)).await?;
    svc::delete(tx.get().await?, id, v.version).await?;
    Ok(saved(redirect("/visits"), "来访记录已删除"))
}

async fn list_context(state: &WebState, staff: &Staff, q: &ListQuery) -> poem::Result<Value> {
    let (page, paging) = list_page(q.page, q.after.as_deref(), 20)?;
    let f = VisitFilter {
        visible: scope::visible(&state.db, &staff.actor).await?,
        from: form::date("from", &q.from)?,
        to: form::date("to", &q.to)?,
        ..Default::default()
    };
    let (rows, person_times) = svc::list(&state.db, f, paging).await?;
    // Every visit is one batch (批): the count of the range is its batches.
    let (batches, next) = (rows.total, rows.next.clone());
    let rows = visit_rows(&state.db, &rows.items).await?;
    Ok(context! {
        me => me(staff), menu => "visits", q => val(q), base => pager_base(q), rows,
        batches, person_times, next, page, per_page => 20,
    })
}

/// Records a visit with the companies and projects typed new on it, and the photos taken or chosen on it (a
/// multipart form then: the photos stream into the file store before the visit is written, and are attached to it
/// as 照片 in the same transaction). Without photos the list reloads; with them the visit's page opens.
#[handler]
pub async fn create(
    staff: Staff,
    state: Data<&WebState>,
    tx: WriteTx,
    req: &poem::Request,
    body: poem::Body,
) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let mut posted = form::posted(req, body, &state.files, "photos").await?;
    let f: VisitForm = match form::repeated(&posted.text) {
        Ok(f) => f,
        Err(e) => {
            posted.upload.discard(&state.files).await;
            return Err(e.into());
        }
    };
    let photos = posted.upload.files.len();
    posted.upload.category = state
        .categories
        .iter()
        .find(|c| c.as_str() == "照片")
        .and_then(|c| crate::service::input::Short::parse("category", c).ok());
    let visit = async {
        let p = f.parse()?;
        svc::create_with_new(tx.get().await?, &staff.actor, p.visit, p.new_companies, p.new_projects).await
    }
    .await;
    let done = match visit {
        Ok(v) if photos > 0 => {
            let db = tx.get().await?;
            let (files, cats) = (&state.files, &state.categories);
            let attached = attachments::attach(db, files, &staff.actor, Holder::Visit, v.visit.id, posted.upload, cats);
            attached.await.map(|_| v)
        }
        Ok(v) => Ok(v),
        Err(e) => {
            posted.upload.discard(&state.files).await;
            Err(e)
        }
    };
    answer(
        done,
        |v| match photos {
            0 => saved(refresh(), "来访已登记"),
            n => saved(
                redirect(&format!("/visits/{}", v.visit.id)),
                &format!("来访已登记,附照片 {n} 张"),
            ),
        },
        "visit_form.html",
        async || {
            let (chips, project_chips) = chips(tx.get().await?, &f).await?;
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

/// The project picker's suggestions: up to ten projects whose name contains the text typed, and the offer to add
/// a new project of that name to the visit.
#[handler]
pub async fn project_search(
    staff: Staff,
    state: Data<&WebState>,
    Query(t): Query<TypedProject>,
) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let typed = opt(&t.project_search).map(str::to_owned);
    let found = match &typed {
        Some(text) => {
            let f = projects::ProjectFilter {
                visible: scope::visible(&state.db, &staff.actor).await?,
                q: Some(text.clone()),
                ..Default::default()
            };
            projects::list(&state.db, f, Paging::new(Some(1), Some(10))?)
                .await?
                .items
        }
        None => Vec::new(),
    };
    let exact = found.iter().any(|v| Some(&v.project.name) == typed.as_ref());
    let found: Vec<Value> = found
        .iter()
        .map(|v| context! { id => v.project.id, name => v.project.name.clone() })
        .collect();
    render(
        "project_picks.html",
        context! { found, typed, exact, can_edit => staff.actor.can(Need::Edit) },
    )
}

/// The chip of a project picked from the suggestions.
#[handler]
pub async fn project_chip(staff: Staff, state: Data<&WebState>, Query(c): Query<Chosen>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let v = projects::get(&state.db, c.id).await?;
    render(
        "chip.html",
        context! { id => v.project.id, name => v.project.name, field => "project_ids", value => v.project.id },
    )
}

/// A name typed new in a picker, and the form's company chips so far (a new project's chip offers them).
#[derive(Deserialize)]
pub struct NewName {
    name: Option<String>,
    #[serde(default)]
    company_ids: Vec<String>,
}

/// The chip of a company typed new: nothing is written until the visit is saved.
#[handler]
pub async fn new_company_chip(staff: Staff, req: &poem::Request) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Edit)?;
    let n: NewName = form::repeated(req.uri().query().unwrap_or_default())?;
    let name = String::from(form::required::<Name>("company_ids", &n.name)?);
    render(
        "chip.html",
        context! { value => format!("{NEW}{name}"), name, new => true, field => "company_ids" },
    )
}

/// The chip of a project typed new, with its company (one of the form's companies), industry and investment:
/// nothing is written until the visit is saved.
#[handler]
pub async fn new_project_chip(staff: Staff, state: Data<&WebState>, req: &poem::Request) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Edit)?;
    let n: NewName = form::repeated(req.uri().query().unwrap_or_default())?;
    let name = String::from(form::required::<Name>("project_ids", &n.name)?);
    let companies = company_chips(&state.db, &n.company_ids).await?;
    render(
        "chip.html",
        context! { name, new => true, field => "project_ids", companies },
    )
}

/// The latest 20 visits of a company or concerning a project that the caller sees, as the company's and the
/// project's pages list them.
pub async fn concerning(
    db: &sea_orm::DatabaseConnection,
    staff: &Staff,
    company_id: Option<i64>,
    project_id: Option<i64>,
) -> AppResult<Vec<Value>> {
    let f = VisitFilter {
        visible: scope::visible(db, &staff.actor).await?,
        company_id,
        project_id,
        ..Default::default()
    };
    let (page, _) = svc::list(db, f, Paging::new(Some(1), Some(20))?).await?;
    visit_rows(db, &page.items).await
}

/// Visits as the lists show them: date, headcount, companies' names, receiving leaders and purpose.
async fn visit_rows(db: &impl sea_orm::ConnectionTrait, visits: &[svc::VisitView]) -> AppResult<Vec<Value>> {
    let (names, _) = names_of(db, visits.iter().flat_map(|v| v.company_ids.clone()), []).await?;
    Ok(visits
        .iter()
        .map(|v| {
            let companies: Vec<String> = v.company_ids.iter().filter_map(|id| names.get(id).cloned()).collect();
            context! {
                id => v.visit.id, date => v.visit.visit_date.to_string(), headcount => v.visit.headcount,
                companies => companies.join("、"), purpose => v.visit.purpose.clone(),
                leaders => svc::list_of(&v.visit.receiving_leaders).join("、"),
            }
        })
        .collect())
}
