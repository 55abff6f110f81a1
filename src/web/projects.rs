//! 招商项目: the list with the API's filters, the board (看板), the project page with its timeline and quick actions,
//! the stage-move dialog, and the create and edit forms.

use chrono::NaiveDate;
use entity::{
    enums::{Label, ProjectSource, ProjectStage},
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
    Staff, WebState, answer, choice,
    companies::company_named,
    form::{self, opt},
    list_page, me, pager_base, redirect, refresh, render, saved, val,
};
use crate::service::attachments::Holder;
use crate::{
    edge::audit::WriteTx,
    service::scope::{self, Of, Visible},
    service::{
        AppError, AppResult, Need, Paging, blockers, follow_ups, funds,
        history::StageMove,
        input::{Patch, non_negative, today},
        people,
        projects::{self as svc, NewProject, Origin, ProjectChanges, ProjectFilter, ProjectView},
    },
};

/// The list's filters and page, as the search form sends them.
#[derive(Deserialize, Serialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    stage: Option<String>,
    industry: Option<String>,
    source: Option<String>,
    contact_leader: Option<String>,
    is_major: Option<String>,
    capital_origin: Option<String>,
    reached: Option<String>,
    reached_from: Option<String>,
    reached_to: Option<String>,
    province: Option<String>,
    page: Option<u64>,
    after: Option<String>,
}

impl ListQuery {
    fn filter(&self, visible: Visible) -> AppResult<ProjectFilter> {
        Ok(ProjectFilter {
            visible,
            q: opt(&self.q).map(str::to_owned),
            stage: choice("stage", &self.stage)?,
            industry: opt(&self.industry).map(str::to_owned),
            source: choice("source", &self.source)?,
            contact_leader: opt(&self.contact_leader).map(str::to_owned),
            contact_leader_id: None,
            owner_id: None,
            company_id: None,
            province: opt(&self.province).map(str::to_owned),
            is_major: opt(&self.is_major).map(|v| v == "true"),
            capital_origin: choice("capital_origin", &self.capital_origin)?,
            reached: choice("reached", &self.reached)?,
            reached_from: form::date("reached_from", &self.reached_from)?,
            reached_to: form::date("reached_to", &self.reached_to)?,
        })
    }
}

/// A project as a row or a card.
fn card(v: &ProjectView) -> Value {
    let p = &v.project;
    let stage = v.history.current(p.stage);
    context! {
        id => p.id, name => p.name.clone(), company => v.company_name.clone(), company_id => p.company_id,
        stage => stage.label(), stage_value => stage.to_value(),
        industry => p.industry.clone(), source => p.source.label(),
        investment => p.agreed_investment_yuan, funds => v.funds_arrived.as_yuan(),
        land_mu => p.land_mu, is_major => p.is_major, origin => p.capital_origin.label(), leader => v.contact_leader.clone(), owner => v.owner_name.clone(),
        unit => p.responsible_unit.clone(), team => p.team.clone(), notes => p.notes.clone(),
        version => p.version, updated => p.updated_at.date_naive().to_string(),
        reached => v.history.reach_dates().last().map(|(_, d)| d.to_string()),
    }
}

/// 招商项目 list.
#[handler]
pub async fn list(staff: Staff, state: Data<&WebState>, Query(q): Query<ListQuery>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let (page, paging) = list_page(q.page, q.after.as_deref(), 20)?;
    let visible = crate::service::scope::visible(&state.db, &staff.actor).await?;
    let (rows, error) = match q.filter(visible) {
        Ok(f) => (Some(svc::list(&state.db, f, paging).await?), None),
        Err(e) => (None, Some(e.body(crate::edge::error::Lang::Zh))),
    };
    let ctx = context! {
        me => me(&staff), menu => "projects", q => val(&q), base => pager_base(&q),
        rows => rows.as_ref().map(|r| r.items.iter().map(card).collect::<Vec<_>>()),
        total => rows.as_ref().and_then(|r| r.total), next => rows.as_ref().and_then(|r| r.next.clone()),
        page, per_page => 20,
        error => error.map(|e| context! { field => e.field, message => e.message }),
    };
    render("projects.html", ctx)
}

/// The board: a column per stage of the pipeline with its latest 50 projects and its count.
#[handler]
pub async fn board(staff: Staff, state: Data<&WebState>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let mut columns = Vec::new();
    let visible = crate::service::scope::visible(&state.db, &staff.actor).await?;
    for stage in ProjectStage::ORDER.iter().copied().chain([ProjectStage::Dropped]) {
        let f = ProjectFilter {
            visible: visible.clone(),
            stage: Some(stage),
            ..Default::default()
        };
        let rows = svc::list(&state.db, f, Paging::new(Some(1), Some(50))?).await?;
        let ids: Vec<i64> = rows.items.iter().map(|v| v.project.id).collect();
        let files = crate::service::attachments::names_by_record(&state.db, Holder::Project, &ids).await?;
        let count = |id: i64| files.get(&id).map_or(0, Vec::len);
        columns.push(context! {
            stage => stage.to_value(), label => stage.label(), total => rows.total,
            cards => rows.items.iter().map(|v| context! { files => count(v.project.id), ..card(v) }).collect::<Vec<_>>(),
        });
    }
    render("board.html", context! { me => me(&staff), menu => "board", columns })
}

/// One entry of a record's timeline.
#[derive(Serialize)]
pub struct Entry {
    on: NaiveDate,
    kind: &'static str,
    title: String,
    detail: Option<String>,
    by: Option<String>,
    tone: &'static str,
}

/// A stage event (of a project or an incubation candidate) as a timeline entry.
pub fn stage_entry<S: Label>(
    on: NaiveDate,
    (from, to): (Option<S>, S),
    (note, reason): (Option<String>, Option<String>),
    by: Option<String>,
) -> Entry {
    Entry {
        on,
        kind: "阶段",
        title: match from {
            Some(from) => format!("{} → {}", from.label(), to.label()),
            None => format!("进入{}", to.label()),
        },
        detail: [note, reason.map(|r| format!("原因:{r}"))]
            .into_iter()
            .flatten()
            .reduce(|a, b| format!("{a};{b}")),
        by,
        tone: "stage",
    }
}

/// Stage events, follow-ups, fund arrivals and blockers of a project, newest first.
async fn timeline(db: &sea_orm::DatabaseConnection, id: i64) -> AppResult<Vec<Entry>> {
    let all = || Paging::new(Some(1), Some(Paging::MAX_PER_PAGE));
    let mut out: Vec<Entry> = svc::stage_history(db, id)
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
    out.extend(
        follow_ups::list(db, id, all()?)
            .await?
            .items
            .into_iter()
            .map(|f| Entry {
                on: f.occurred_on,
                kind: "跟进",
                title: format!("{}:{}", f.kind.label(), f.note),
                detail: f.next_step.map(|s| match f.next_date {
                    Some(d) => format!("下一步({d}):{s}"),
                    None => format!("下一步:{s}"),
                }),
                by: f.recorded_by,
                tone: "follow",
            }),
    );
    out.extend(funds::list(db, id, all()?).await?.items.into_iter().map(|f| Entry {
        on: f.arrived_on,
        kind: "到位资金",
        title: match f.amount_usd_cents.zip(f.usd_rate_e4) {
            Some((cents, rate)) => format!(
                "到位{} {} 万美元(汇率 {},折合 {} 万元)",
                f.capital_origin.label(),
                entity::money::wan_usd(cents),
                entity::money::rate(rate),
                super::wan(f.amount_yuan)
            ),
            None => format!("到位 {} 万元", super::wan(f.amount_yuan)),
        },
        detail: f.note,
        by: None,
        tone: "funds",
    }));
    out.extend(
        blockers::list_for_project(db, id, all()?)
            .await?
            .items
            .into_iter()
            .map(|b| Entry {
                on: b.blocker.opened_on,
                kind: "难题",
                title: format!("{}({})", b.blocker.title, b.blocker.status.label()),
                detail: [
                    b.blocker
                        .due_date
                        .map(|d| format!("期限 {d}{}", if b.overdue { ",已逾期" } else { "" })),
                    b.blocker.resolution.clone(),
                ]
                .into_iter()
                .flatten()
                .reduce(|a, b| format!("{a};{b}")),
                by: b.blocker.assigned_leader.clone(),
                tone: match (b.overdue, b.blocker.status) {
                    (true, _) => "danger",
                    (false, entity::enums::BlockerStatus::Resolved) => "done",
                    (false, _) => "blocker",
                },
            }),
    );
    named(db, &mut out).await?;
    out.sort_by_key(|e| std::cmp::Reverse(e.on));
    Ok(out)
}

/// Who recorded an entry is kept as their login: shown by the name colleagues know them by.
pub async fn named(db: &impl sea_orm::ConnectionTrait, entries: &mut [Entry]) -> AppResult<()> {
    let names = people::display_names_by_login(db, entries.iter().filter_map(|e| e.by.clone())).await?;
    for e in entries {
        if let Some(name) = e.by.as_ref().and_then(|login| names.get(login)) {
            e.by = Some(name.clone());
        }
    }
    Ok(())
}

/// The project page: its facts, its timeline and the quick actions.
#[handler]
pub async fn show(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    scope::permit(&state.db, &staff.actor, Need::Read, Of::Project(id)).await?;
    let v = svc::get(&state.db, id).await?;
    let source = [
        (ProjectSource::Visit, v.project.source_visit_id),
        (ProjectSource::Outreach, v.project.source_outreach_id),
        (ProjectSource::Partner, v.project.source_partner_id),
    ]
    .into_iter()
    .find_map(|(kind, id)| id.map(|id| (kind, id)));
    let source = match source {
        Some((kind, sid)) => Some(context! {
            label => svc::source_label(&state.db, kind, sid).await?,
            href => match kind {
                ProjectSource::Visit => format!("/visits/{sid}"),
                ProjectSource::Outreach => "/outreach".to_owned(),
                _ => "/partners".to_owned(),
            },
        }),
        None => None,
    };
    let visits = super::visits::concerning(&state.db, &staff, None, Some(id)).await?;
    let att = super::attachments::section_context(&state.db, &state, &staff, Holder::Project, id).await?;
    let ctx = context! {
        me => me(&staff), menu => "projects", p => card(&v), source, visits, att,
        timeline => val(&timeline(&state.db, id).await?), today => today().to_string(),
        changes => val(&super::changes::of(&state.db, crate::service::Kind::Project, id).await?),
    };
    render("project.html", ctx)
}

/// The stage-move dialog's query: the stage a card was dropped on.
#[derive(Deserialize)]
pub struct MoveQuery {
    /// The stage.
    pub to: Option<String>,
}

/// The stage-move form (projects and incubation candidates).
#[derive(Deserialize, Serialize, Default)]
pub struct MoveForm {
    stage: Option<String>,
    occurred_on: Option<String>,
    note: Option<String>,
    reason: Option<String>,
    version: Option<i32>,
}

impl MoveForm {
    /// The form as the dialog opens: to `stage`, today, against `version`.
    pub fn new(stage: String, version: i32) -> Self {
        Self {
            stage: Some(stage),
            occurred_on: Some(today().to_string()),
            version: Some(version),
            ..Default::default()
        }
    }

    /// The move the form asks for.
    pub fn parse<S: Label>(&self) -> AppResult<StageMove<S>> {
        Ok(StageMove {
            stage: choice::<S>("stage", &self.stage)?
                .ok_or_else(|| AppError::invalid("stage", "choose a stage", "请选择阶段"))?,
            occurred_on: form::required("occurred_on", &self.occurred_on)?,
            note: form::field("note", &self.note)?,
            reason: form::field("reason", &self.reason)?,
            version: self.version,
        })
    }
}

/// The stage-move dialog, for the stage dropped on (else the next one).
#[handler]
pub async fn move_dialog(
    staff: Staff,
    state: Data<&WebState>,
    Path(id): Path<i64>,
    Query(q): Query<MoveQuery>,
) -> poem::Result<Html<String>> {
    scope::permit(&state.db, &staff.actor, Need::Pipeline, Of::Project(id)).await?;
    let v = svc::get(&state.db, id).await?;
    let next = v.history.current(v.project.stage).next();
    let form = MoveForm::new(q.to.unwrap_or_else(|| next.to_value()), v.project.version);
    render("move_form.html", move_ctx(&staff, &v, &form))
}

/// The move dialog's context for a project.
fn move_ctx(staff: &Staff, v: &ProjectView, f: &MoveForm) -> Value {
    let m = context! {
        name => v.project.name.clone(), stage => v.history.current(v.project.stage).label(),
        action => format!("/projects/{}/stage-events", v.project.id), stages => "project_stage",
    };
    context! { me => me(staff), m, f => val(f) }
}

/// Records a stage move; the page reloads to show it.
#[handler]
pub async fn move_stage(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    Form(f): Form<MoveForm>,
) -> poem::Result<Response> {
    scope::permit(tx.get().await?, &staff.actor, Need::Pipeline, Of::Project(id)).await?;
    let done = async { svc::move_stage(tx.get().await?, &staff.actor, id, f.parse()?).await }.await;
    answer(
        done,
        |_| saved(refresh(), "阶段已更新"),
        "move_form.html",
        async || {
            // The request's transaction holds the connection (SQLite has one): read through it.
            let v = svc::get(tx.get().await?, id).await?;
            Ok(move_ctx(&staff, &v, &f))
        },
    )
    .await
}

/// The project form (new and edit share it).
#[derive(Deserialize, Serialize, Default)]
pub struct ProjectForm {
    name: Option<String>,
    company: Option<String>,
    stage: Option<String>,
    occurred_on: Option<String>,
    industry: Option<String>,
    source: Option<String>,
    agreed_investment: Option<String>,
    land_mu: Option<String>,
    is_major: Option<String>,
    capital_origin: Option<String>,
    contact_leader: Option<String>,
    /// The linked contact leader, carried by the edit form beside the name it shows.
    contact_leader_id: Option<i64>,
    responsible_unit: Option<String>,
    team: Option<String>,
    notes: Option<String>,
    version: Option<i32>,
    /// The source record picked: `visit:12`, `outreach:3` or `partner:4` (blank: none).
    source_ref: Option<String>,
    /// How the picked source record reads, carried so a refused form shows it again.
    source_label: Option<String>,
}

/// The source record a form names: its kind and id.
fn source_ref(v: &Option<String>) -> AppResult<Option<(ProjectSource, i64)>> {
    let Some(text) = opt(v) else { return Ok(None) };
    let bad = || {
        AppError::invalid(
            "source_ref",
            "source_ref: not a source record",
            "请从列表中选择来源记录",
        )
    };
    let (kind, id) = text.split_once(':').ok_or_else(bad)?;
    let kind = match kind {
        "visit" => ProjectSource::Visit,
        "outreach" => ProjectSource::Outreach,
        "partner" => ProjectSource::Partner,
        _ => return Err(bad()),
    };
    Ok(Some((kind, id.parse().map_err(|_| bad())?)))
}

impl ProjectForm {
    fn land(&self) -> AppResult<Option<f64>> {
        let mu = form::decimal("land_mu", &self.land_mu)?.map(|d| d.to_string().parse::<f64>().unwrap_or(f64::NAN));
        non_negative("land_mu", mu)
    }

    /// The source kind chosen and the source record picked.
    fn origin(&self) -> AppResult<Origin> {
        let picked = source_ref(&self.source_ref)?;
        let of = |kind: ProjectSource| picked.filter(|(k, _)| *k == kind).map(|(_, id)| id);
        // A picked record decides the source kind; the kind chosen alone counts when none is picked.
        let kind = picked.map(|(k, _)| k);
        Ok(Origin {
            source: kind.or(choice::<ProjectSource>("source", &self.source)?),
            visit: of(ProjectSource::Visit),
            outreach: of(ProjectSource::Outreach),
            partner: of(ProjectSource::Partner),
        })
    }

    async fn new_project(&self, db: &impl sea_orm::ConnectionTrait) -> AppResult<NewProject> {
        Ok(NewProject {
            name: form::required("name", &self.name)?,
            company_id: company_named(db, opt(&self.company)).await?,
            stage: choice("stage", &self.stage)?.unwrap_or(ProjectStage::Lead),
            occurred_on: form::required("occurred_on", &self.occurred_on)?,
            note: None,
            industry: form::field("industry", &self.industry)?,
            origin: self.origin()?,
            agreed_investment: form::field("agreed_investment", &self.agreed_investment)?,
            land_mu: self.land()?,
            is_major: form::checked(&self.is_major),
            capital_origin: choice("capital_origin", &self.capital_origin)?.unwrap_or_default(),
            contact_leader: form::field("contact_leader", &self.contact_leader)?,
            contact_leader_id: None,
            owner_id: None,
            team_members: Vec::new(),
            responsible_unit: form::field("responsible_unit", &self.responsible_unit)?,
            team: form::field("team", &self.team)?,
            notes: form::field("notes", &self.notes)?,
        })
    }

    async fn changes(&self, db: &impl sea_orm::ConnectionTrait) -> AppResult<ProjectChanges> {
        let typed = form::field("contact_leader", &self.contact_leader)?;
        let contact_leader = people::leader_edited(db, self.contact_leader_id, typed).await?;
        let origin = self.origin()?;
        Ok(ProjectChanges {
            version: self.version.unwrap_or_default(),
            name: Some(form::required("name", &self.name)?),
            company_id: Some(company_named(db, opt(&self.company)).await?),
            industry: Patch::from_opt(form::field("industry", &self.industry)?),
            source: origin.source,
            source_visit_id: Patch::from_opt(origin.visit),
            source_outreach_id: Patch::from_opt(origin.outreach),
            source_partner_id: Patch::from_opt(origin.partner),
            agreed_investment: Patch::from_opt(form::field("agreed_investment", &self.agreed_investment)?),
            land_mu: Patch::from_opt(self.land()?),
            is_major: Some(form::checked(&self.is_major)),
            capital_origin: choice("capital_origin", &self.capital_origin)?,
            contact_leader,
            contact_leader_id: Patch::Keep,
            owner_id: Patch::Keep,
            team_members: None,
            responsible_unit: Patch::from_opt(form::field("responsible_unit", &self.responsible_unit)?),
            team: Patch::from_opt(form::field("team", &self.team)?),
            notes: Patch::from_opt(form::field("notes", &self.notes)?),
        })
    }
}

/// What the source picker sends: the text typed.
#[derive(Deserialize)]
pub struct TypedSource {
    source_search: Option<String>,
}

/// The source picker's suggestions: visits by their companies' names, activities by city, partners by name.
#[handler]
pub async fn source_search(
    staff: Staff,
    state: Data<&WebState>,
    Query(t): Query<TypedSource>,
) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Read)?;
    let found = match opt(&t.source_search) {
        Some(text) => {
            let visible = scope::visible(&state.db, &staff.actor).await?;
            svc::source_records(&state.db, &visible, text, 6).await?
        }
        None => Vec::new(),
    };
    let found: Vec<Value> = found
        .iter()
        .map(|r| context! { value => format!("{}:{}", r.kind.to_value(), r.id), label => r.label.clone(), kind => r.kind.label() })
        .collect();
    render("source_picks.html", context! { found, typed => opt(&t.source_search) })
}

/// 新建项目 page.
#[handler]
pub fn new_page(staff: Staff) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Edit)?;
    let f = ProjectForm {
        occurred_on: Some(today().to_string()),
        stage: Some(ProjectStage::Lead.to_value()),
        ..Default::default()
    };
    render(
        "project_new.html",
        context! { me => me(&staff), menu => "projects", f => val(&f) },
    )
}

/// Creates a project; goes to its page.
#[handler]
pub async fn create(staff: Staff, tx: WriteTx, Form(f): Form<ProjectForm>) -> poem::Result<Response> {
    staff.actor.require(Need::Edit)?;
    let done = async {
        let txn = tx.get().await?;
        svc::create(txn, &staff.actor, f.new_project(txn).await?).await
    }
    .await;
    let to_page = |v: ProjectView| saved(redirect(&format!("/projects/{}", v.project.id)), "项目已创建");
    answer(done, to_page, "project_form.html", async || {
        Ok(context! { me => me(&staff), f => val(&f), new => true })
    })
    .await
}

/// 编辑项目 page.
#[handler]
pub async fn edit_page(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    scope::permit(&state.db, &staff.actor, Need::Edit, Of::Project(id)).await?;
    let v = svc::get(&state.db, id).await?;
    let p = &v.project;
    let picked = [
        (ProjectSource::Visit, p.source_visit_id),
        (ProjectSource::Outreach, p.source_outreach_id),
        (ProjectSource::Partner, p.source_partner_id),
    ]
    .into_iter()
    .find_map(|(kind, id)| id.map(|id| (kind, id)));
    let source_label = match picked {
        Some((kind, id)) => Some(svc::source_label(&state.db, kind, id).await?),
        None => None,
    };
    let f = ProjectForm {
        name: Some(p.name.clone()),
        company: Some(v.company_name.clone()),
        industry: p.industry.clone(),
        source: Some(p.source.to_value()),
        agreed_investment: p.agreed_investment_yuan.map(super::wan_plain),
        land_mu: p.land_mu.map(|m| m.to_string()),
        is_major: p.is_major.then(|| "on".to_owned()),
        capital_origin: Some(p.capital_origin.to_value()),
        contact_leader: v.contact_leader.clone(),
        contact_leader_id: p.contact_leader_id,
        responsible_unit: p.responsible_unit.clone(),
        team: p.team.clone(),
        notes: p.notes.clone(),
        version: Some(p.version),
        source_ref: picked.map(|(kind, id)| format!("{}:{id}", kind.to_value())),
        source_label,
        ..Default::default()
    };
    let ctx = context! { me => me(&staff), menu => "projects", id, f => val(&f) };
    render("project_edit.html", ctx)
}

/// Saves a project's changes; a stale version answers that someone else changed it, keeping what was typed.
#[handler]
pub async fn update(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    Form(f): Form<ProjectForm>,
) -> poem::Result<Response> {
    scope::permit(tx.get().await?, &staff.actor, Need::Edit, Of::Project(id)).await?;
    let done = async {
        let txn = tx.get().await?;
        svc::update(txn, id, f.changes(txn).await?).await
    }
    .await;
    answer(
        done,
        |_| saved(redirect(&format!("/projects/{id}")), "项目已保存"),
        "project_form.html",
        async || Ok(context! { me => me(&staff), f => val(&f), id }),
    )
    .await
}
