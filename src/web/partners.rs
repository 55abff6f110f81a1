//! 合作机构: the chambers of commerce and agencies with their agreement dates and the projects each brought, and the
//! dialog that records or changes one.

use entity::{
    enums::{Label, PartnerKind},
    partner,
};
use minijinja::{Value, context};
use poem::{
    Response, handler,
    web::{Data, Form, Html, Path, Query},
};
use sea_orm::ActiveEnum;
use serde::{Deserialize, Serialize};

use super::{
    Staff, WebState, answer, choice,
    form::{self, opt},
    list_page, me, pager_base, refresh, render, saved, val,
};
use crate::{
    edge::audit::WriteTx,
    service::{
        AppError, AppResult, Need,
        input::{Day, Patch},
        partners::{self as svc, NewPartner, PartnerChanges},
        projects::brought_by,
        scope,
    },
};

/// The list's search and page.
#[derive(Deserialize, Serialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    kind: Option<String>,
    page: Option<u64>,
    after: Option<String>,
}

/// The partner form.
#[derive(Deserialize, Serialize, Default)]
pub struct PartnerForm {
    name: Option<String>,
    kind: Option<String>,
    agreement_date: Option<String>,
    notes: Option<String>,
    version: Option<i32>,
}

impl PartnerForm {
    fn kind(&self) -> AppResult<PartnerKind> {
        choice("kind", &self.kind)?.ok_or_else(|| AppError::invalid("kind", "kind is required", "请选择机构类型"))
    }

    fn agreement_date(&self) -> AppResult<Option<Day>> {
        form::field("agreement_date", &self.agreement_date)
    }

    fn new_partner(&self) -> AppResult<NewPartner> {
        Ok(NewPartner {
            name: form::required("name", &self.name)?,
            kind: self.kind()?,
            agreement_date: self.agreement_date()?,
            notes: form::field("notes", &self.notes)?,
        })
    }

    fn changes(&self) -> AppResult<PartnerChanges> {
        Ok(PartnerChanges {
            version: self.version.unwrap_or_default(),
            name: Some(form::required("name", &self.name)?),
            kind: Some(self.kind()?),
            agreement_date: Patch::from_opt(self.agreement_date()?),
            notes: Patch::from_opt(form::field("notes", &self.notes)?),
        })
    }

    fn of(p: &partner::Model) -> Self {
        Self {
            name: Some(p.name.clone()),
            kind: Some(p.kind.to_value()),
            agreement_date: p.agreement_date.map(|d| d.to_string()),
            notes: p.notes.clone(),
            version: Some(p.version),
        }
    }
}

/// 合作机构.
#[handler]
pub async fn list(staff: Staff, state: Data<&WebState>, Query(q): Query<ListQuery>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let db = &state.db;
    let (page, paging) = list_page(q.page, q.after.as_deref(), 20)?;
    let rows = svc::list(db, opt(&q.q), choice("kind", &q.kind)?, paging).await?;
    let visible = scope::visible(db, &staff.actor).await?;
    let ids = rows.items.iter().map(|p| p.id).collect();
    let mut brought = brought_by(db, &visible, entity::project::Column::SourcePartnerId, ids).await?;
    let items: Vec<Value> = rows
        .items
        .iter()
        .map(|p| {
            let projects: Vec<Value> = brought
                .remove(&p.id)
                .unwrap_or_default()
                .into_iter()
                .map(|b| context! { id => b.id, name => b.name, stage => b.stage.label() })
                .collect();
            context! {
                id => p.id, name => p.name.clone(), kind => p.kind.label(),
                agreement => p.agreement_date.map(|d| d.to_string()), notes => p.notes.clone(), projects,
            }
        })
        .collect();
    let ctx = context! {
        me => me(&staff), menu => "partners", q => val(&q), base => pager_base(&q), rows => items,
        total => rows.total, next => rows.next, page, per_page => 20,
    };
    render("partners.html", ctx)
}

fn dialog(staff: &Staff, id: Option<i64>, f: &PartnerForm) -> Value {
    context! { me => me(staff), id, f => val(f) }
}

/// 新建合作机构 dialog.
#[handler]
pub async fn new_dialog(staff: Staff) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Edit)?;
    let f = PartnerForm {
        kind: Some(PartnerKind::ChamberOfCommerce.to_value()),
        ..Default::default()
    };
    render("partner_form.html", dialog(&staff, None, &f))
}

/// Records a partner; the list reloads.
#[handler]
pub async fn create(staff: Staff, tx: WriteTx, Form(f): Form<PartnerForm>) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let done = async { svc::create(tx.get().await?, f.new_partner()?).await }.await;
    answer(
        done,
        |_| saved(refresh(), "合作机构已登记"),
        "partner_form.html",
        async || Ok(dialog(&staff, None, &f)),
    )
    .await
}

/// 编辑 dialog of a partner.
#[handler]
pub async fn edit_dialog(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Edit)?;
    let f = PartnerForm::of(&svc::get(&state.db, id).await?);
    render("partner_form.html", dialog(&staff, Some(id), &f))
}

/// Saves a partner's changes; the list reloads.
#[handler]
pub async fn update(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    Form(f): Form<PartnerForm>,
) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let done = async { svc::update(tx.get().await?, id, f.changes()?).await }.await;
    answer(
        done,
        |_| saved(refresh(), "合作机构已保存"),
        "partner_form.html",
        async || Ok(dialog(&staff, Some(id), &f)),
    )
    .await
}
