//! 企业/客商: the searchable list, the company page with its contacts (masked per role), projects and visits, the
//! create and edit forms with the credit-code check, and the name suggestions other forms use.

use entity::{
    company,
    enums::{Label, SupportLevel},
    project,
};
use minijinja::{Value, context};
use poem::{
    Response, handler,
    web::{Data, Form, Html, Path, Query},
};
use serde::{Deserialize, Serialize};

use sea_orm::ConnectionTrait;

use super::{
    Staff, WebState, answer, choice,
    form::{self, opt},
    list_page, me, pager_base, redirect, refresh, render, saved, val,
};
use crate::service::attachments::Holder;
use crate::{
    edge::audit::WriteTx,
    service::{
        AppError, AppResult, Need, Paging,
        companies::{self as svc, CompanyChanges, CompanyFilter, NewCompany},
        input::{Amount, Patch, email, phone, today},
        names,
        projects::{self, ProjectFilter},
        support_funds::{self, NewSupportFund, SupportFundFilter},
    },
};

/// The list's filters and page.
#[derive(Deserialize, Serialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    industry: Option<String>,
    province: Option<String>,
    page: Option<u64>,
    after: Option<String>,
}

fn row(c: &company::Model) -> Value {
    context! {
        id => c.id, name => c.name.clone(), credit_code => c.credit_code.clone(), industry => c.industry.clone(),
        province => c.province.clone(), city => c.city.clone(), notes => c.notes.clone(), version => c.version,
        above_size_since => c.above_size_since.map(|d| d.to_string()),
        updated => c.updated_at.date_naive().to_string(),
    }
}

/// 企业/客商 list.
#[handler]
pub async fn list(staff: Staff, state: Data<&WebState>, Query(q): Query<ListQuery>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let (page, paging) = list_page(q.page, q.after.as_deref(), 20)?;
    let f = CompanyFilter {
        q: opt(&q.q).map(str::to_owned),
        industry: opt(&q.industry).map(str::to_owned),
        province: opt(&q.province).map(str::to_owned),
    };
    let rows = svc::list(&state.db, f, paging).await?;
    let ctx = context! {
        me => me(&staff), menu => "companies", q => val(&q), base => pager_base(&q),
        rows => rows.items.iter().map(row).collect::<Vec<_>>(), total => rows.total, next => rows.next, page, per_page => 20,
    };
    render("companies.html", ctx)
}

/// What a name-suggestion request sends: the text typed so far, under the field's name.
#[derive(Deserialize)]
pub struct Typed {
    company: Option<String>,
    q: Option<String>,
}

/// Up to ten companies whose name contains the text typed.
pub async fn matching(state: &WebState, typed: Option<&str>) -> AppResult<Vec<company::Model>> {
    let Some(text) = typed.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    let f = CompanyFilter {
        q: Some(text.to_owned()),
        ..Default::default()
    };
    Ok(svc::list(&state.db, f, Paging::new(Some(1), Some(10))?).await?.items)
}

/// Name suggestions for a `<datalist>`.
#[handler]
pub async fn options(staff: Staff, state: Data<&WebState>, Query(t): Query<Typed>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let found = matching(&state, t.company.as_deref().or(t.q.as_deref())).await?;
    let names: Vec<String> = found.into_iter().map(|c| c.name).collect();
    render("company_options.html", context! { names })
}

/// The company page.
#[handler]
pub async fn show(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let db = &state.db;
    let c = svc::get(db, id).await?;
    let contacts = svc::list_contacts(db, &staff.actor, id, Paging::new(Some(1), Some(100))?).await?;
    let visible = crate::service::scope::visible(db, &staff.actor).await?;
    let f = ProjectFilter {
        company_id: Some(id),
        visible,
        ..Default::default()
    };
    let projects = projects::list(db, f, Paging::new(Some(1), Some(100))?).await?;
    let visits = super::visits::concerning(db, &staff, Some(id), None).await?;
    let sf = SupportFundFilter {
        company_id: Some(id),
        ..Default::default()
    };
    let support = support_funds::list(db, sf, Paging::new(Some(1), Some(100))?).await?;
    let ctx = context! {
        me => me(&staff), menu => "companies", c => row(&c),
        contacts => contacts.items.iter().map(|k| context! {
            name => k.name.clone(), title => k.title.clone(), phone => k.phone.clone(), email => k.email.clone(),
        }).collect::<Vec<_>>(),
        projects => projects.items.iter().map(|v| context! {
            id => v.project.id, name => v.project.name.clone(),
            stage => entity::enums::Label::label(v.history.current(v.project.stage)),
            investment => v.project.agreed_investment_yuan,
        }).collect::<Vec<_>>(),
        visits,
        support => support.items.iter().map(|v| context! {
            programme => v.fund.programme.clone(), level => v.fund.level.label(), amount => v.fund.amount_yuan,
            approved => v.fund.approved_on.to_string(),
        }).collect::<Vec<_>>(),
        changes => super::val(&super::changes::of(db, crate::service::Kind::Company, id).await?),
        att => super::attachments::section_context(db, &state, &staff, Holder::Company, id).await?,
    };
    render("company.html", ctx)
}

/// The company form.
#[derive(Deserialize, Serialize, Default)]
pub struct CompanyForm {
    name: Option<String>,
    credit_code: Option<String>,
    industry: Option<String>,
    province: Option<String>,
    city: Option<String>,
    notes: Option<String>,
    above_size_since: Option<String>,
    version: Option<i32>,
}

impl CompanyForm {
    fn new_company(&self) -> AppResult<NewCompany> {
        Ok(NewCompany {
            name: form::required("name", &self.name)?,
            credit_code: form::field("credit_code", &self.credit_code)?,
            industry: form::field("industry", &self.industry)?,
            province: form::field("province", &self.province)?,
            city: form::field("city", &self.city)?,
            notes: form::field("notes", &self.notes)?,
            above_size_since: form::field("above_size_since", &self.above_size_since)?,
        })
    }

    fn changes(&self) -> AppResult<CompanyChanges> {
        let n = self.new_company()?;
        Ok(CompanyChanges {
            version: self.version.unwrap_or_default(),
            name: Some(n.name),
            credit_code: Patch::from_opt(n.credit_code),
            industry: Patch::from_opt(n.industry),
            province: Patch::from_opt(n.province),
            city: Patch::from_opt(n.city),
            notes: Patch::from_opt(n.notes),
            above_size_since: Patch::from_opt(n.above_size_since),
        })
    }
}

/// 新建企业 page.
#[handler]
pub fn new_page(staff: Staff) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Edit)?;
    let ctx = context! { me => me(&staff), menu => "companies", f => val(&CompanyForm::default()), new => true };
    render("company_edit.html", ctx)
}

/// Creates a company; goes to its page.
#[handler]
pub async fn create(staff: Staff, tx: WriteTx, Form(f): Form<CompanyForm>) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let done = async { svc::create(tx.get().await?, f.new_company()?).await }.await;
    let to_page = |c: company::Model| saved(redirect(&format!("/companies/{}", c.id)), "企业已创建");
    answer(done, to_page, "company_form.html", async || {
        Ok(context! { me => me(&staff), f => val(&f), new => true })
    })
    .await
}

/// 编辑企业 page.
#[handler]
pub async fn edit_page(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Edit)?;
    let c = svc::get(&state.db, id).await?;
    let f = CompanyForm {
        name: Some(c.name),
        credit_code: c.credit_code,
        industry: c.industry,
        province: c.province,
        city: c.city,
        notes: c.notes,
        above_size_since: c.above_size_since.map(|d| d.to_string()),
        version: Some(c.version),
    };
    let ctx = context! { me => me(&staff), menu => "companies", f => val(&f), id, new => false };
    render("company_edit.html", ctx)
}

/// Saves a company's changes.
#[handler]
pub async fn update(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    Form(f): Form<CompanyForm>,
) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let done = async { svc::update(tx.get().await?, id, f.changes()?).await }.await;
    answer(
        done,
        |_| saved(redirect(&format!("/companies/{id}")), "企业信息已保存"),
        "company_form.html",
        async || Ok(context! { me => me(&staff), f => val(&f), id, new => false }),
    )
    .await
}

/// The contact form.
#[derive(Deserialize, Serialize, Default)]
pub struct ContactForm {
    name: Option<String>,
    title: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    notes: Option<String>,
}

impl ContactForm {
    fn parse(&self) -> AppResult<svc::NewContact> {
        Ok(svc::NewContact {
            name: form::required("name", &self.name)?,
            title: form::field("title", &self.title)?,
            phone: phone("phone", opt(&self.phone))?,
            email: email("email", opt(&self.email))?,
            notes: form::field("notes", &self.notes)?,
        })
    }
}

/// 添加联系人 dialog.
#[handler]
pub async fn contact_dialog(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Edit)?;
    let c = svc::get(&state.db, id).await?;
    let ctx = context! { me => me(&staff), id, name => c.name, f => val(&ContactForm::default()) };
    render("contact_form.html", ctx)
}

/// Adds a contact to a company; the page reloads.
#[handler]
pub async fn add_contact(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    Form(f): Form<ContactForm>,
) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let done = async { svc::create_contact(tx.get().await?, &staff.actor, id, f.parse()?).await }.await;
    answer(
        done,
        |_| saved(refresh(), "联系人已添加"),
        "contact_form.html",
        async || {
            let c = svc::get(tx.get().await?, id).await?;
            Ok(context! { me => me(&staff), id, name => c.name, f => val(&f) })
        },
    )
    .await
}

/// The names of the companies and projects among the ids, for lists that show them.
pub async fn names_of(
    db: &impl sea_orm::ConnectionTrait,
    companies: impl IntoIterator<Item = i64>,
    projects: impl IntoIterator<Item = i64>,
) -> AppResult<(
    std::collections::HashMap<i64, String>,
    std::collections::HashMap<i64, String>,
)> {
    Ok((
        names::<company::Entity>(db, companies).await?,
        names::<project::Entity>(db, projects).await?,
    ))
}

/// The support-fund form.
#[derive(Deserialize, Serialize, Default)]
pub struct SupportFundForm {
    programme: Option<String>,
    level: Option<String>,
    amount: Option<String>,
    approved_on: Option<String>,
    note: Option<String>,
}

impl SupportFundForm {
    fn parse(&self, company_id: i64) -> AppResult<NewSupportFund> {
        let amount: Amount = form::required("amount", &self.amount)?;
        Ok(NewSupportFund {
            company_id,
            programme: form::required("programme", &self.programme)?,
            level: choice("level", &self.level)?.unwrap_or(SupportLevel::District),
            amount: amount.money(),
            approved_on: form::required("approved_on", &self.approved_on)?,
            note: form::field("note", &self.note)?,
        })
    }
}

async fn fund_dialog_ctx(db: &impl ConnectionTrait, staff: &Staff, id: i64, f: Value) -> AppResult<Value> {
    let c = svc::get(db, id).await?;
    Ok(context! { me => me(staff), id, name => c.name, f })
}

/// 登记扶持资金 dialog on a company.
#[handler]
pub async fn support_fund_dialog(
    staff: Staff,
    state: Data<&WebState>,
    Path(id): Path<i64>,
) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Edit)?;
    let f = SupportFundForm {
        approved_on: Some(today().to_string()),
        ..Default::default()
    };
    render(
        "support_fund_form.html",
        fund_dialog_ctx(&state.db, &staff, id, val(&f)).await?,
    )
}

/// Records a support fund; the company page reloads.
#[handler]
pub async fn add_support_fund(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    Form(f): Form<SupportFundForm>,
) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let done = async { support_funds::create(tx.get().await?, f.parse(id)?).await }.await;
    answer(
        done,
        |_| saved(refresh(), "扶持资金已登记"),
        "support_fund_form.html",
        async || fund_dialog_ctx(tx.get().await?, &staff, id, val(&f)).await,
    )
    .await
}

/// The company a form names, by its exact name.
pub async fn company_named(db: &impl sea_orm::ConnectionTrait, name: Option<&str>) -> AppResult<i64> {
    let missing = || {
        AppError::invalid(
            "company",
            "choose an existing company",
            "请选择已登记的企业(可先在企业/客商中新建)",
        )
    };
    let name = name.ok_or_else(missing)?;
    svc::find_by_name(db, name).await?.map(|c| c.id).ok_or_else(missing)
}
