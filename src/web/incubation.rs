//! 高企培育: the board of the four stages (纳入培育 → 申报 → 评审通过 → 备案, and 未通过 to the side) where a card
//! is dragged to another stage with the same move dialog as projects, a candidate's page with its timeline, and the
//! dialog that takes a company into cultivation.

use chrono::Datelike;
use entity::{
    enums::{IncubationStage, Label},
    pipeline::Stage,
};
use minijinja::{Value, context};
use poem::{
    Response, handler,
    web::{Data, Form, Html, Path, Query},
};
use sea_orm::ActiveEnum;
use serde::{Deserialize, Serialize};

use super::{
    Staff, WebState, answer,
    companies::company_named,
    form::{self, opt},
    me,
    projects::{MoveForm, MoveQuery, stage_entry},
    redirect, refresh, render, saved, val,
};
use crate::service::attachments::Holder;
use crate::{
    edge::audit::WriteTx,
    service::{
        AppResult, Need, Paging,
        incubation::{self as svc, CandidateFilter, CandidateView, NewCandidate},
        input::today,
        scope::{self, Of},
    },
};

/// The board's cohort year (all years when none).
#[derive(Deserialize, Serialize, Default)]
pub struct BoardQuery {
    cohort_year: Option<String>,
}

/// A candidate as a card or on its page.
fn card(v: &CandidateView) -> Value {
    let c = &v.candidate;
    let stage = v.history.current(c.stage);
    context! {
        id => c.id, company => v.company_name.clone(), company_id => c.company_id, cohort_year => c.cohort_year,
        stage => stage.label(), stage_value => stage.to_value(), notes => c.notes.clone(), version => c.version,
        since => v.history.reach_dates().last().map(|(_, d)| d.to_string()),
    }
}

/// 高企培育: a column per stage with its latest 50 candidates and its count.
#[handler]
pub async fn board(staff: Staff, state: Data<&WebState>, Query(q): Query<BoardQuery>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let year = form::int("cohort_year", &q.cohort_year)?.and_then(|y| i32::try_from(y).ok());
    let visible = scope::visible(&state.db, &staff.actor).await?;
    let mut columns = Vec::new();
    for stage in IncubationStage::ORDER.iter().copied().chain([IncubationStage::Failed]) {
        let f = CandidateFilter {
            visible: visible.clone(),
            cohort_year: year,
            stage: Some(stage),
            company_id: None,
        };
        let rows = svc::list(&state.db, f, Paging::new(Some(1), Some(50))?).await?;
        columns.push(context! {
            stage => stage.to_value(), label => stage.label(), total => rows.total,
            cards => rows.items.iter().map(card).collect::<Vec<_>>(),
        });
    }
    let this_year = today().year();
    let ctx = context! {
        me => me(&staff), menu => "incubation", columns, q => val(&q),
        years => (this_year - 5..=this_year + 1).rev().collect::<Vec<_>>(),
    };
    render("incubation.html", ctx)
}

/// A candidate's page: its facts and its stage history.
#[handler]
pub async fn show(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    scope::permit(&state.db, &staff.actor, Need::Read, Of::Candidate(id)).await?;
    let v = svc::get(&state.db, id).await?;
    let mut timeline: Vec<_> = svc::stage_history(&state.db, id)
        .await?
        .into_iter()
        .map(|e| {
            stage_entry(
                e.occurred_on,
                (e.from_stage, e.stage),
                (e.note, e.reason),
                e.recorded_by,
            )
        })
        .collect();
    timeline.reverse();
    super::projects::named(&state.db, &mut timeline).await?;
    let att = super::attachments::section_context(&state.db, &state, &staff, Holder::Candidate, id).await?;
    let ctx = context! { me => me(&staff), menu => "incubation", c => card(&v), timeline => val(&timeline), att };
    render("candidate.html", ctx)
}

/// The form that takes a company into cultivation.
#[derive(Deserialize, Serialize, Default)]
pub struct CandidateForm {
    company: Option<String>,
    cohort_year: Option<String>,
    occurred_on: Option<String>,
    notes: Option<String>,
}

impl CandidateForm {
    async fn parse(&self, db: &impl sea_orm::ConnectionTrait) -> AppResult<NewCandidate> {
        Ok(NewCandidate {
            company_id: company_named(db, opt(&self.company)).await?,
            cohort_year: form::int("cohort_year", &self.cohort_year)?.unwrap_or_else(|| today().year().into()),
            stage: None,
            occurred_on: form::required("occurred_on", &self.occurred_on)?,
            note: None,
            notes: form::field("notes", &self.notes)?,
            owner_id: None,
        })
    }
}

/// 纳入培育 dialog.
#[handler]
pub async fn new_dialog(staff: Staff) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Edit)?;
    let f = CandidateForm {
        cohort_year: Some(today().year().to_string()),
        occurred_on: Some(today().to_string()),
        ..Default::default()
    };
    render("candidate_form.html", context! { me => me(&staff), f => val(&f) })
}

/// Takes a company into cultivation; the browser goes to the candidate's page.
#[handler]
pub async fn create(staff: Staff, tx: WriteTx, Form(f): Form<CandidateForm>) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let done = async {
        let db = tx.get().await?;
        svc::create(db, &staff.actor, f.parse(db).await?).await
    }
    .await;
    answer(
        done,
        |v| saved(redirect(&format!("/incubation/{}", v.candidate.id)), "培育对象已登记"),
        "candidate_form.html",
        async || Ok(context! { me => me(&staff), f => val(&f) }),
    )
    .await
}

/// The move dialog's context for a candidate.
fn move_ctx(staff: &Staff, v: &CandidateView, f: &MoveForm) -> Value {
    let c = &v.candidate;
    let m = context! {
        name => v.company_name.clone(), stage => v.history.current(c.stage).label(),
        action => format!("/incubation/{}/stage-events", c.id), stages => "incubation_stage",
    };
    context! { me => me(staff), m, f => val(f) }
}

/// The stage-move dialog, for the stage dropped on (else the next one).
#[handler]
pub async fn move_dialog(
    staff: Staff,
    state: Data<&WebState>,
    Path(id): Path<i64>,
    Query(q): Query<MoveQuery>,
) -> poem::Result<Html<String>> {
    scope::permit(&state.db, &staff.actor, Need::Pipeline, Of::Candidate(id)).await?;
    let v = svc::get(&state.db, id).await?;
    let next = v.history.current(v.candidate.stage).next();
    let f = MoveForm::new(q.to.unwrap_or_else(|| next.to_value()), v.candidate.version);
    render("move_form.html", move_ctx(&staff, &v, &f))
}

/// Records a candidate's stage move; the page reloads to show it.
#[handler]
pub async fn move_stage(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    Form(f): Form<MoveForm>,
) -> poem::Result<Response> {
    scope::permit(tx.get().await?, &staff.actor, Need::Pipeline, Of::Candidate(id)).await?;
    let done = async { svc::move_stage(tx.get().await?, &staff.actor, id, f.parse()?).await }.await;
    answer(
        done,
        |_| saved(refresh(), "阶段已更新"),
        "move_form.html",
        async || {
            let v = svc::get(tx.get().await?, id).await?;
            Ok(move_ctx(&staff, &v, &f))
        },
    )
    .await
}
