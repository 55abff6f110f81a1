//! Lists of projects: the filters of the project list (reach dates through the kept columns, name search, people,
//! attributes) and paged or keyset reads; the stage events of a period; the projects a source brought.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{
    enums::{CapitalOrigin, ProjectSource, ProjectStage},
    project, stage_event,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::Expr,
};

use super::{ProjectView, views};
use crate::service::{AppResult, Dir, Order, Page, Paging, name_contains, names, rare_name_pair, search_text};

/// Which projects to list.
#[derive(Default)]
pub struct ProjectFilter {
    /// What the caller sees (数据权限).
    pub visible: crate::service::scope::Visible,
    /// Part of the name.
    pub q: Option<String>,
    /// Current stage.
    pub stage: Option<ProjectStage>,
    /// Industry, exactly.
    pub industry: Option<String>,
    /// Source.
    pub source: Option<ProjectSource>,
    /// Contact leader by name, exactly (a linked leader's display name, or the text kept).
    pub contact_leader: Option<String>,
    /// Contact leader by user.
    pub contact_leader_id: Option<i64>,
    /// Owner.
    pub owner_id: Option<i64>,
    /// The investing company.
    pub company_id: Option<i64>,
    /// The investing company's province, as the map names it (`江苏` also finds `江苏省`).
    pub province: Option<String>,
    /// Major (true) or non-major (false) only.
    pub is_major: Option<bool>,
    /// Origin of the capital.
    pub capital_origin: Option<CapitalOrigin>,
    /// The stage whose reach date `reached_from`/`reached_to` filter (default `lead`).
    pub reached: Option<ProjectStage>,
    /// Earliest reach date, inclusive.
    pub reached_from: Option<NaiveDate>,
    /// Latest reach date, inclusive.
    pub reached_to: Option<NaiveDate>,
}

/// A page of projects, newest first.
pub async fn list(db: &impl ConnectionTrait, f: ProjectFilter, paging: Paging) -> AppResult<Page<ProjectView>> {
    let pair = match search_text(f.q.as_deref()) {
        Some(q) => rare_name_pair(db, sea_orm::EntityName::table_name(&project::Entity), q).await?,
        None => None,
    };
    let mut s = select(db.get_database_backend(), f)?;
    if let Some(pair) = pair {
        s = s.filter(pair);
    }
    paging
        .fetch(db, s, Order(&[(project::Column::Id, Dir::Desc)]), async |rows| {
            views(db, rows).await
        })
        .await
}

/// The next `limit` projects the filter keeps after the id `after`, in id order.
pub async fn after(db: &impl ConnectionTrait, f: ProjectFilter, after: i64, limit: u64) -> AppResult<Vec<ProjectView>> {
    views(
        db,
        crate::service::after(db, select(db.get_database_backend(), f)?, after, limit).await?,
    )
    .await
}

/// The projects the filter keeps.
fn select(backend: sea_orm::DbBackend, f: ProjectFilter) -> AppResult<sea_orm::Select<project::Entity>> {
    let mut s = project::Entity::find();
    if let Some(c) = f.visible.projects() {
        s = s.filter(c);
    }
    if f.reached_from.is_some() || f.reached_to.is_some() {
        s = s.filter(crate::service::reach::between(f.reached, f.reached_from, f.reached_to)?);
    }
    if let Some(q) = search_text(f.q.as_deref()) {
        s = s.filter(name_contains(backend, project::Column::Name, q));
    }
    if let Some(v) = f.stage {
        s = s.filter(project::Column::Stage.eq(v));
    }
    if let Some(v) = f.industry {
        s = s.filter(project::Column::Industry.eq(v));
    }
    if let Some(v) = f.source {
        s = s.filter(project::Column::Source.eq(v));
    }
    if let Some(v) = f.contact_leader {
        let named = entity::user::Entity::find()
            .select_only()
            .column(entity::user::Column::Id)
            .filter(entity::user::Column::DisplayName.eq(v.as_str()))
            .into_query();
        s = s.filter(
            Condition::any()
                .add(project::Column::ContactLeader.eq(v))
                .add(project::Column::ContactLeaderId.in_subquery(named)),
        );
    }
    if let Some(v) = f.contact_leader_id {
        s = s.filter(project::Column::ContactLeaderId.eq(v));
    }
    if let Some(v) = f.owner_id {
        s = s.filter(project::Column::OwnerId.eq(v));
    }
    if let Some(v) = f.company_id {
        s = s.filter(project::Column::CompanyId.eq(v));
    }
    if let Some(v) = f.province {
        s = s.filter(project::Column::CompanyProvince.starts_with(crate::service::companies::province_name(&v)));
    }
    if let Some(v) = f.is_major {
        s = s.filter(project::Column::IsMajor.eq(v));
    }
    if let Some(v) = f.capital_origin {
        s = s.filter(project::Column::CapitalOrigin.eq(v));
    }
    Ok(s)
}

/// The next `limit` stage events dated between `from` and `to` (at one of `stages`, when any are named) after the
/// id `after`, in id order, each with its project's name.
pub async fn events_after(
    db: &impl ConnectionTrait,
    (from, to, visible): (Option<NaiveDate>, Option<NaiveDate>, &crate::service::scope::Visible),
    stages: &[ProjectStage],
    after: i64,
    limit: u64,
) -> AppResult<Vec<(stage_event::Model, String)>> {
    let mut s = stage_event::Entity::find();
    if !stages.is_empty() {
        s = s.filter(stage_event::Column::Stage.is_in(stages.iter().copied()));
    }
    if let Some(c) = visible.via_project(stage_event::Column::ProjectId) {
        s = s.filter(c);
    }
    if let Some(d) = from {
        s = s.filter(stage_event::Column::OccurredOn.gte(d));
    }
    if let Some(d) = to {
        s = s.filter(stage_event::Column::OccurredOn.lte(d));
    }
    let rows = crate::service::after(db, s, after, limit).await?;
    let names = names::<project::Entity>(db, rows.iter().map(|e| e.project_id)).await?;
    Ok(rows
        .into_iter()
        .map(|e| {
            let name = names.get(&e.project_id).cloned().unwrap_or_default();
            (e, name)
        })
        .collect())
}

/// A project as other records list it: id, name and current stage.
pub struct Brought {
    /// The project.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its current stage.
    pub stage: ProjectStage,
}

/// The projects the caller sees that name one of `ids` in `column` (a source partner or outreach activity), by that
/// id, oldest first.
pub async fn brought_by(
    db: &impl ConnectionTrait,
    visible: &crate::service::scope::Visible,
    column: project::Column,
    ids: Vec<i64>,
) -> AppResult<HashMap<i64, Vec<Brought>>> {
    let mut s = project::Entity::find()
        .select_only()
        .columns([project::Column::Id, project::Column::Name, project::Column::Stage])
        .column_as(Expr::col(column), "source")
        .filter(column.is_in(ids))
        .order_by_asc(project::Column::Id);
    if let Some(c) = visible.projects() {
        s = s.filter(c);
    }
    let rows: Vec<(i64, String, ProjectStage, i64)> = s.into_tuple().all(db).await?;
    let mut out: HashMap<i64, Vec<Brought>> = HashMap::new();
    for (id, name, stage, source) in rows {
        out.entry(source).or_default().push(Brought { id, name, stage });
    }
    Ok(out)
}

/// A record a project may name as its source: a visit, an outreach activity or a partner.
pub struct SourceRecord {
    /// The source kind it stands for.
    pub kind: ProjectSource,
    /// Its id.
    pub id: i64,
    /// How it reads in a list: a visit by its date and companies, an activity by its date and city, a partner by
    /// its name.
    pub label: String,
}

/// The source records whose text contains `text` (a visit's companies, an activity's city, a partner's name), up
/// to `limit` of each kind, newest first; visits and activities as the caller sees them.
pub async fn source_records(
    db: &impl ConnectionTrait,
    visible: &crate::service::scope::Visible,
    text: &str,
    limit: u64,
) -> AppResult<Vec<SourceRecord>> {
    use entity::{company, outreach, partner, visit, visit_company};
    use sea_orm::sea_query::ExprTrait;
    let backend = db.get_database_backend();
    let mut visits = visit::Entity::find()
        .filter(
            visit::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(visit_company::Column::VisitId)
                    .from(visit_company::Entity)
                    .inner_join(
                        company::Entity,
                        Expr::col((company::Entity, company::Column::Id))
                            .equals((visit_company::Entity, visit_company::Column::CompanyId)),
                    )
                    .and_where(name_contains(backend, company::Column::Name, text))
                    .to_owned(),
            ),
        )
        .order_by_desc(visit::Column::VisitDate)
        .limit(limit);
    if let Some(c) = visible.owned(visit::Column::OwnerId) {
        visits = visits.filter(c);
    }
    let visits = crate::service::visits::views(db, visits.all(db).await?).await?;
    let names = names::<company::Entity>(db, visits.iter().flat_map(|v| v.company_ids.clone())).await?;
    let mut out: Vec<SourceRecord> = visits
        .iter()
        .map(|v| SourceRecord {
            kind: ProjectSource::Visit,
            id: v.visit.id,
            label: visit_label(v, &names),
        })
        .collect();
    let mut trips = outreach::Entity::find()
        .filter(name_contains(backend, outreach::Column::City, text))
        .order_by_desc(outreach::Column::StartDate)
        .limit(limit);
    if let Some(c) = visible.owned(outreach::Column::OwnerId) {
        trips = trips.filter(c);
    }
    out.extend(trips.all(db).await?.into_iter().map(|o| SourceRecord {
        kind: ProjectSource::Outreach,
        id: o.id,
        label: outreach_label(&o),
    }));
    let partners = partner::Entity::find()
        .filter(name_contains(backend, partner::Column::Name, text))
        .order_by_asc(partner::Column::Name)
        .limit(limit)
        .all(db)
        .await?;
    out.extend(partners.into_iter().map(|p| SourceRecord {
        kind: ProjectSource::Partner,
        id: p.id,
        label: format!("合作机构:{}", p.name),
    }));
    Ok(out)
}

fn visit_label(v: &crate::service::visits::VisitView, names: &HashMap<i64, String>) -> String {
    let companies: Vec<&str> = v
        .company_ids
        .iter()
        .filter_map(|c| names.get(c).map(String::as_str))
        .collect();
    format!("{} 来访:{}", v.visit.visit_date, companies.join("、"))
}

fn outreach_label(o: &entity::outreach::Model) -> String {
    use entity::enums::Label;
    format!("{} {}:{}", o.start_date, o.kind.label(), o.city)
}

/// How a project's source record reads (as [`source_records`] lists it).
pub async fn source_label(db: &impl ConnectionTrait, kind: ProjectSource, id: i64) -> AppResult<String> {
    Ok(match kind {
        ProjectSource::Visit => {
            let v = crate::service::visits::get(db, id).await?;
            let names = names::<entity::company::Entity>(db, v.company_ids.clone()).await?;
            visit_label(&v, &names)
        }
        ProjectSource::Outreach => outreach_label(&crate::service::outreach::get(db, id).await?.outreach),
        _ => format!("合作机构:{}", crate::service::partners::get(db, id).await?.name),
    })
}
