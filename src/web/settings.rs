//! 个人设置: one's own password, the weekly report and daily reminder subscriptions, one's work-chat id, and one's open sessions (end
//! any but the current one, which 退出 ends). The same service operations as `/api/v1/auth/…`.

use entity::enums::Role;
use minijinja::{Value, context};
use poem::{
    IntoResponse, Response, handler,
    web::{Data, Form, Html, Path},
};
use sea_orm::ConnectionTrait;
use serde::Deserialize;

use super::{Staff, WebState, local_time, me, refresh, render, saved};
use crate::{
    edge::audit::WriteTx,
    service::{AppResult, accounts, input::Patch, sessions},
};

/// What the page shows of the user: subscriptions and sessions.
async fn ctx(db: &impl ConnectionTrait, state: &WebState, staff: &Staff) -> AppResult<Value> {
    let u = accounts::get_user(db, staff.actor.user_id).await?;
    let sessions: Vec<Value> = sessions::open_sessions(db, &state.auth, &staff.actor)
        .await?
        .into_iter()
        .map(|(s, current)| {
            context! {
                id => s.id, current, started => local_time(s.created_at), last_seen => local_time(s.last_seen_at),
                addr => s.client_addr, agent => s.user_agent,
            }
        })
        .collect();
    Ok(context! {
        me => me(staff), menu => "settings", sessions,
        weekly_report => u.weekly_report, reminders => u.reminders, email => u.email, chat_user_id => u.chat_user_id,
        leader => u.role == Role::Leader,
    })
}

/// 个人设置.
#[handler]
pub async fn page(staff: Staff, state: Data<&WebState>) -> poem::Result<Html<String>> {
    render("settings.html", ctx(&state.db, &state, &staff).await?)
}

/// The subscription form: a ticked box is on.
#[derive(Deserialize)]
pub struct SubscriptionForm {
    weekly_report: Option<String>,
    reminders: Option<String>,
    chat_user_id: Option<String>,
}

/// Saves the subscriptions; the form answers with them.
#[handler]
pub async fn subscribe(
    staff: Staff,
    state: Data<&WebState>,
    tx: WriteTx,
    Form(f): Form<SubscriptionForm>,
) -> poem::Result<Response> {
    let db = tx.get().await?;
    // The weekly report goes to leaders only: nobody else is offered the box, or has it turned off by its absence.
    let weekly = (staff.actor.role == Role::Leader).then_some(f.weekly_report.is_some());
    let chat = super::form::opt(&f.chat_user_id).map_or(Patch::Clear, |s| Patch::Set(s.to_owned()));
    match sessions::set_subscription(db, &staff.actor, (weekly, Some(f.reminders.is_some())), chat).await {
        Ok(_) => {
            let ctx = context! { saved => true, ..ctx(db, &state, &staff).await? };
            Ok(render("subscription_form.html", ctx)?.into_response())
        }
        Err(e) => {
            let ctx = context! { chat_user_id => f.chat_user_id.clone(), ..ctx(db, &state, &staff).await? };
            super::page_error(e, "subscription_form.html", ctx)
        }
    }
}

/// Ends one of the user's other sessions; the page reloads.
#[handler]
pub async fn end_session(staff: Staff, tx: WriteTx, Path(id): Path<i64>) -> poem::Result<Response> {
    sessions::end_session(tx.get().await?, &staff.actor, id).await?;
    Ok(saved(refresh(), "会话已结束"))
}
