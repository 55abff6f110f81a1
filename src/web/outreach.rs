//! 外出招商/招商活动: the activities by kind and date range with the companies met and the projects each produced,
//! and the dialog that records or changes one (companies picked as on the visit form).

use entity::enums::{Label, OutreachKind};
use minijinja::{Value, context};
use poem::{
    Response, handler,
    web::{Data, Html, Path, Query},
};
use sea_orm::ActiveEnum;
use serde::{Deserialize, Serialize};

use super::{
    Staff, WebState, answer, choice,
    companies::names_of,
    form::{self},
    list_page, me, pager_base, refresh, render, saved, val,
    visits::{company_chips, picked_companies},
};
use crate::{
    edge::audit::WriteTx,
    service::scope::{self, Of},
    service::{
        AppError, AppResult, Need,
        input::{Patch, Place},
        outreach::{self as svc, NewOutreach, OutreachChanges, OutreachFilter, OutreachView},
        projects::brought_by,
    },
};

/// The list's filters and page.
#[derive(Deserialize, Serialize, Default)]
pub struct ListQuery {
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<u64>,
    after: Option<String>,
}

/// The activity form; `company_ids` repeats, one per chip.
#[derive(Deserialize, Serialize, Default)]
pub struct OutreachForm {
    kind: Option<String>,
    city: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    leading_official: Option<String>,
    participants: Option<String>,
    /// One per chip: a company's id, or `new:` and the name of one typed new (see the visit form).
    #[serde(default)]
    company_ids: Vec<String>,
    notes: Option<String>,
    version: Option<i32>,
}

impl OutreachForm {
    fn kind(&self) -> AppResult<OutreachKind> {
        choice("kind", &self.kind)?.ok_or_else(|| AppError::invalid("kind", "kind is required", "请选择活动类型"))
    }

    fn city(&self) -> AppResult<Place> {
        form::required("city", &self.city)
    }

    fn new_outreach(&self, company_ids: Vec<i64>) -> AppResult<NewOutreach> {
        Ok(NewOutreach {
            kind: self.kind()?,
            city: self.city()?,
            start_date: form::required_date("start_date", &self.start_date)?,
            end_date: form::date("end_date", &self.end_date)?,
            leading_official: form::field("leading_official", &self.leading_official)?,
            participants: form::names("participants", &self.participants)?,
            company_ids,
            notes: form::field("notes", &self.notes)?,
            owner_id: None,
        })
    }

    fn changes(&self, company_ids: Vec<i64>) -> AppResult<OutreachChanges> {
        let start = form::required_date("start_date", &self.start_date)?;
        Ok(OutreachChanges {
            version: self.version.unwrap_or_default(),
            kind: Some(self.kind()?),
            city: Some(self.city()?),
            start_date: Some(start),
            // A blank last day is a one-day activity, as when it was recorded.
            end_date: Some(form::date("end_date", &self.end_date)?.unwrap_or(start)),
            leading_official: Patch::from_opt(form::field("leading_official", &self.leading_official)?),
            participants: Some(form::names("participants", &self.participants)?.unwrap_or_default()),
            company_ids: Some(company_ids),
            notes: Patch::from_opt(form::field("notes", &self.notes)?),
            owner_id: Patch::Keep,
        })
    }

    fn of(v: &OutreachView) -> Self {
        let o = &v.outreach;
        Self {
            kind: Some(o.kind.to_value()),
            city: Some(o.city.clone()),
            start_date: Some(o.start_date.to_string()),
            end_date: Some(o.end_date.to_string()),
            leading_official: o.leading_official.clone(),
            participants: Some(crate::service::visits::list_of(&o.participants).join("、")),
            company_ids: v.company_ids.iter().map(i64::to_string).collect(),
            notes: o.notes.clone(),
            version: Some(o.version),
        }
    }
}

/// 外出招商/招商活动.
#[handler]
pub async fn list(staff: Staff, state: Data<&WebState>, Query(q): Query<ListQuery>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let db = &state.db;
    let (page, paging) = list_page(q.page, q.after.as_deref(), 20)?;
    let visible = scope::visible(db, &staff.actor).await?;
    let f = OutreachFilter {
        visible: visible.clone(),
        kind: choice("kind", &q.kind)?,
        city: None,
        from: form::date("from", &q.from)?,
        to: form::date("to", &q.to)?,
    };
    let rows = svc::list(db, f, paging).await?;
    let (total, next) = (rows.total, rows.next.clone());
    let ids = rows.items.iter().map(|v| v.outreach.id).collect();
    let mut produced = brought_by(db, &visible, entity::project::Column::SourceOutreachId, ids).await?;
    let (companies, _) = names_of(db, rows.items.iter().flat_map(|v| v.company_ids.clone()), []).await?;
    let rows: Vec<Value> = rows
        .items
        .iter()
        .map(|v| {
            let o = &v.outreach;
            let met: Vec<String> = v
                .company_ids
                .iter()
                .filter_map(|id| companies.get(id).cloned())
                .collect();
            let projects: Vec<Value> = produced
                .remove(&o.id)
                .unwrap_or_default()
                .into_iter()
                .map(|p| context! { id => p.id, name => p.name, stage => p.stage.label() })
                .collect();
            context! {
                id => o.id, kind => o.kind.label(), city => o.city.clone(), start => o.start_date.to_string(),
                end => (o.end_date != o.start_date).then(|| o.end_date.to_string()),
                official => o.leading_official.clone(), companies => met.join("、"), projects,
                participants => crate::service::visits::list_of(&o.participants).join("、"),
                notes => o.notes.clone(),
            }
        })
        .collect();
    let ctx = context! {
        me => me(&staff), menu => "outreach", q => val(&q), base => pager_base(&q), rows,
        total, next, page, per_page => 20,
    };
    render("outreach.html", ctx)
}

/// The dialog's context: the form as typed and the chips of its companies.
async fn dialog(
    db: &impl sea_orm::ConnectionTrait,
    staff: &Staff,
    id: Option<i64>,
    f: &OutreachForm,
) -> AppResult<Value> {
    let chips = company_chips(db, &f.company_ids).await?;
    Ok(context! { me => me(staff), id, f => val(f), chips })
}

/// 新建活动 dialog.
#[handler]
pub async fn new_dialog(staff: Staff, state: Data<&WebState>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Edit)?;
    let f = OutreachForm {
        kind: Some(OutreachKind::Trip.to_value()),
        ..Default::default()
    };
    render("outreach_form.html", dialog(&state.db, &staff, None, &f).await?)
}

/// Records an activity; the list reloads.
#[handler]
pub async fn create(staff: Staff, tx: WriteTx, body: String) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let f: OutreachForm = form::repeated(&body)?;
    let done = async {
        let txn = tx.get().await?;
        let n = f.new_outreach(picked_companies(txn, &f.company_ids).await?)?;
        svc::create(txn, &staff.actor, n).await
    }
    .await;
    answer(
        done,
        |_| saved(refresh(), "活动已登记"),
        "outreach_form.html",
        async || dialog(tx.get().await?, &staff, None, &f).await,
    )
    .await
}

/// 编辑 dialog of an activity.
#[handler]
pub async fn edit_dialog(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    scope::permit(&state.db, &staff.actor, Need::Edit, Of::Outreach(id)).await?;
    let f = OutreachForm::of(&svc::get(&state.db, id).await?);
    render("outreach_form.html", dialog(&state.db, &staff, Some(id), &f).await?)
}

/// Saves an activity's changes; the list reloads.
#[handler]
pub async fn update(staff: Staff, tx: WriteTx, Path(id): Path<i64>, body: String) -> poem::Result<Response> {
    scope::permit(tx.get().await?, &staff.actor, Need::Edit, Of::Outreach(id)).await?;
    let f: OutreachForm = form::repeated(&body)?;
    let done = async {
        let txn = tx.get().await?;
        svc::update(txn, id, f.changes(picked_companies(txn, &f.company_ids).await?)?).await
    }
    .await;
    answer(
        done,
        |_| saved(refresh(), "活动已保存"),
        "outreach_form.html",
        async || dialog(tx.get().await?, &staff, Some(id), &f).await,
    )
    .await
}
