//! The project page's quick actions that add a record to it: 添加跟进 and 登记到位资金, each a dialog.

use entity::enums::FollowUpKind;
use minijinja::{Value, context};
use poem::{
    Response, handler,
    web::{Data, Form, Html, Path},
};
use sea_orm::ActiveEnum;
use serde::{Deserialize, Serialize};

use super::{
    Staff, WebState, answer, choice,
    form::{self},
    me, refresh, render, saved, val,
};
use crate::{
    edge::audit::WriteTx,
    service::scope::{self, Of},
    service::{
        AppResult, Need,
        follow_ups::{self, NewFollowUp},
        funds::{self, NewFundArrival},
        input::{Amount, Dollars, today},
        projects,
    },
};

/// The follow-up form.
#[derive(Deserialize, Serialize, Default)]
pub struct FollowUpForm {
    occurred_on: Option<String>,
    kind: Option<String>,
    note: Option<String>,
    next_step: Option<String>,
    next_date: Option<String>,
}

impl FollowUpForm {
    fn parse(&self) -> AppResult<NewFollowUp> {
        Ok(NewFollowUp {
            occurred_on: form::required("occurred_on", &self.occurred_on)?,
            kind: super::choice::<FollowUpKind>("kind", &self.kind)?.unwrap_or(FollowUpKind::Meeting),
            note: form::required("note", &self.note)?,
            next_step: form::field("next_step", &self.next_step)?,
            next_date: form::field("next_date", &self.next_date)?,
        })
    }
}

/// The dialog's context: the project and the form.
async fn dialog(db: &impl sea_orm::ConnectionTrait, staff: &Staff, id: i64, f: Value) -> AppResult<Value> {
    let p = projects::get(db, id).await?;
    Ok(context! { me => me(staff), id, name => p.project.name, f })
}

/// 添加跟进 dialog.
#[handler]
pub async fn follow_up_dialog(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    scope::permit(&state.db, &staff.actor, Need::Edit, Of::Project(id)).await?;
    let f = FollowUpForm {
        occurred_on: Some(today().to_string()),
        ..Default::default()
    };
    render("follow_up_form.html", dialog(&state.db, &staff, id, val(&f)).await?)
}

/// Records a follow-up; the project page reloads.
#[handler]
pub async fn add_follow_up(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    Form(f): Form<FollowUpForm>,
) -> poem::Result<Response> {
    scope::permit(tx.get().await?, &staff.actor, Need::Edit, Of::Project(id)).await?;
    let done = async { follow_ups::create(tx.get().await?, &staff.actor, id, f.parse()?).await }.await;
    answer(
        done,
        |_| saved(refresh(), "跟进已添加"),
        "follow_up_form.html",
        async || dialog(tx.get().await?, &staff, id, val(&f)).await,
    )
    .await
}

/// The fund-arrival form.
#[derive(Deserialize, Serialize, Default)]
pub struct FundForm {
    arrived_on: Option<String>,
    capital_origin: Option<String>,
    amount: Option<String>,
    amount_usd: Option<String>,
    usd_rate: Option<String>,
    note: Option<String>,
}

impl FundForm {
    fn parse(&self) -> AppResult<NewFundArrival> {
        let amount: Option<Amount> = form::field("amount", &self.amount)?;
        let dollars = Dollars::parse_opt(
            form::decimal("amount_usd", &self.amount_usd)?,
            form::decimal("usd_rate", &self.usd_rate)?,
        )?;
        Ok(NewFundArrival {
            arrived_on: form::required("arrived_on", &self.arrived_on)?,
            capital_origin: choice("capital_origin", &self.capital_origin)?,
            amount: amount.map(Amount::money),
            dollars,
            note: form::field("note", &self.note)?,
        })
    }
}

/// 登记到位资金 dialog.
#[handler]
pub async fn fund_dialog(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    scope::permit(&state.db, &staff.actor, Need::Edit, Of::Project(id)).await?;
    let origin = projects::get(&state.db, id).await?.project.capital_origin;
    let f = FundForm {
        arrived_on: Some(today().to_string()),
        capital_origin: Some(origin.to_value()),
        ..Default::default()
    };
    render("fund_form.html", dialog(&state.db, &staff, id, val(&f)).await?)
}

/// Records a fund arrival; the project page reloads.
#[handler]
pub async fn add_fund(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    Form(f): Form<FundForm>,
) -> poem::Result<Response> {
    scope::permit(tx.get().await?, &staff.actor, Need::Edit, Of::Project(id)).await?;
    let done = async { funds::create(tx.get().await?, id, f.parse()?).await }.await;
    answer(
        done,
        |_| saved(refresh(), "到位资金已登记"),
        "fund_form.html",
        async || dialog(tx.get().await?, &staff, id, val(&f)).await,
    )
    .await
}
