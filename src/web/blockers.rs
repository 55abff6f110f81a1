//! 难题台账: the list with status and overdue filters (overdue in red), raising a blocker on a project, and the
//! dialog that assigns it, moves it open → in progress → resolved with its resolution, or reopens it.

use entity::enums::{BlockerCategory, BlockerStatus, Label};
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
use crate::service::attachments::Holder;
use crate::{
    edge::audit::WriteTx,
    service::scope::{self, Of},
    service::{
        AppResult, Need,
        blockers::{self as svc, BlockerChanges, BlockerFilter, BlockerView, NewBlocker},
        input::Patch,
        projects::{self},
    },
};

/// The list's filters and page.
#[derive(Deserialize, Serialize, Default)]
pub struct ListQuery {
    status: Option<String>,
    category: Option<String>,
    overdue: Option<String>,
    assigned_leader: Option<String>,
    page: Option<u64>,
    after: Option<String>,
}

fn row(b: &BlockerView) -> Value {
    let m = &b.blocker;
    context! {
        id => m.id, title => m.title.clone(), project => b.project_name.clone(), project_id => m.project_id,
        category => m.category.label(), unit => m.owner_unit.clone(), leader => m.assigned_leader.clone(),
        opened => m.opened_on.to_string(), due => m.due_date.map(|d| d.to_string()),
        status => m.status.label(), status_value => m.status.to_value(), overdue => b.overdue,
        resolution => m.resolution.clone(), resolved => m.resolved_on.map(|d| d.to_string()),
    }
}

/// A blocker's page: what it is, where it stands, and its 变更记录.
#[handler]
pub async fn show(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    scope::permit(&state.db, &staff.actor, Need::Read, Of::Blocker(id)).await?;
    let b = svc::get(&state.db, id).await?;
    let changes = super::changes::of(&state.db, crate::service::Kind::Blocker, id).await?;
    let att = super::attachments::section_context(&state.db, &state, &staff, Holder::Blocker, id).await?;
    let ctx = context! { me => me(&staff), menu => "blockers", b => row(&b), changes => val(&changes), att };
    render("blocker.html", ctx)
}

/// 难题台账.
#[handler]
pub async fn list(staff: Staff, state: Data<&WebState>, Query(q): Query<ListQuery>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let (page, paging) = list_page(q.page, q.after.as_deref(), 20)?;
    let f = BlockerFilter {
        status: choice::<BlockerStatus>("status", &q.status)?,
        category: choice::<BlockerCategory>("category", &q.category)?,
        overdue: opt(&q.overdue).map(|v| v == "true"),
        assigned_leader: opt(&q.assigned_leader).map(str::to_owned),
        visible: scope::visible(&state.db, &staff.actor).await?,
        ..Default::default()
    };
    let rows = svc::list(&state.db, f, paging).await?;
    let ctx = context! {
        me => me(&staff), menu => "blockers", q => val(&q), base => pager_base(&q),
        rows => rows.items.iter().map(row).collect::<Vec<_>>(), total => rows.total, next => rows.next, page, per_page => 20,
    };
    render("blockers.html", ctx)
}

/// The blocker form: raising one, and changing one.
#[derive(Deserialize, Serialize, Default)]
pub struct BlockerForm {
    title: Option<String>,
    category: Option<String>,
    owner_unit: Option<String>,
    assigned_leader: Option<String>,
    due_date: Option<String>,
    status: Option<String>,
    resolution: Option<String>,
    resolved_on: Option<String>,
    version: Option<i32>,
}

impl BlockerForm {
    fn new_blocker(&self) -> AppResult<NewBlocker> {
        Ok(NewBlocker {
            title: form::required("title", &self.title)?,
            category: choice("category", &self.category)?.unwrap_or(BlockerCategory::Other),
            owner_unit: form::field("owner_unit", &self.owner_unit)?,
            assigned_leader: form::field("assigned_leader", &self.assigned_leader)?,
            opened_on: None,
            due_date: form::date("due_date", &self.due_date)?,
            status: None,
            resolution: None,
            resolved_on: None,
        })
    }

    fn changes(&self) -> AppResult<BlockerChanges> {
        Ok(BlockerChanges {
            version: self.version.unwrap_or_default(),
            title: None,
            category: None,
            owner_unit: Patch::from_opt(form::field("owner_unit", &self.owner_unit)?),
            assigned_leader: Patch::from_opt(form::field("assigned_leader", &self.assigned_leader)?),
            opened_on: None,
            due_date: Patch::from_opt(form::date("due_date", &self.due_date)?),
            status: choice("status", &self.status)?,
            resolution: Patch::from_opt(form::field("resolution", &self.resolution)?),
            resolved_on: Patch::from_opt(form::date("resolved_on", &self.resolved_on)?),
        })
    }
}

/// 登记难题 dialog on a project.
#[handler]
pub async fn new_dialog(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    scope::permit(&state.db, &staff.actor, Need::Pipeline, Of::Project(id)).await?;
    let p = projects::get(&state.db, id).await?;
    let ctx = context! { me => me(&staff), id, name => p.project.name, f => val(&BlockerForm::default()) };
    render("blocker_new.html", ctx)
}

/// Raises a blocker on a project; the page reloads.
#[handler]
pub async fn create(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    Form(f): Form<BlockerForm>,
) -> poem::Result<Response> {
    scope::permit(tx.get().await?, &staff.actor, Need::Pipeline, Of::Project(id)).await?;
    let done = async { svc::create(tx.get().await?, &staff.actor, id, f.new_blocker()?).await }.await;
    answer(
        done,
        |_| saved(refresh(), "难题已登记"),
        "blocker_new.html",
        async || {
            let p = projects::get(tx.get().await?, id).await?;
            Ok(context! { me => me(&staff), id, name => p.project.name, f => val(&f) })
        },
    )
    .await
}

/// 处理 dialog: assign, change status, resolve, reopen.
#[handler]
pub async fn edit_dialog(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    scope::permit(&state.db, &staff.actor, Need::Pipeline, Of::Blocker(id)).await?;
    let b = svc::get(&state.db, id).await?;
    let m = &b.blocker;
    let f = BlockerForm {
        owner_unit: m.owner_unit.clone(),
        assigned_leader: m.assigned_leader.clone(),
        due_date: m.due_date.map(|d| d.to_string()),
        status: Some(m.status.to_value()),
        resolution: m.resolution.clone(),
        resolved_on: m.resolved_on.map(|d| d.to_string()),
        version: Some(m.version),
        ..Default::default()
    };
    render(
        "blocker_edit.html",
        context! { me => me(&staff), b => row(&b), f => val(&f) },
    )
}

/// Saves a blocker's changes; the page reloads.
#[handler]
pub async fn update(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    Form(f): Form<BlockerForm>,
) -> poem::Result<Response> {
    scope::permit(tx.get().await?, &staff.actor, Need::Pipeline, Of::Blocker(id)).await?;
    let done = async { svc::update(tx.get().await?, &staff.actor, id, f.changes()?).await }.await;
    answer(
        done,
        |_| saved(refresh(), "难题已保存"),
        "blocker_edit.html",
        async || {
            let b = svc::get(tx.get().await?, id).await?;
            Ok(context! { me => me(&staff), b => row(&b), f => val(&f) })
        },
    )
    .await
}
