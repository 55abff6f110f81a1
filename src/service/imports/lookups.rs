//! The reads an import matches its rows against: the records of a kind as keys, a chunk of parents at a time.

use std::collections::HashMap;

use entity::{
    blocker, company, contact, fund_arrival, incubation_candidate as candidate, incubation_event, outreach, project,
    stage_event, visit, visit_company,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Alias, Expr},
};

use crate::service::AppResult;

/// Records (or parents) read per statement. SQLite has one connection: a statement that returns thousands of rows
/// holds it for tens of milliseconds, and a writer waits for one such statement before each of its own; two hundred
/// keep each wait to a few milliseconds while a large ledger is matched (`scripts/preview-bench.sh`).
const PER_READ: usize = 100;

/// Every company as the import matches them: id, name, credit code; read in id order, a few hundred a statement.
pub async fn companies(db: &impl ConnectionTrait) -> AppResult<Vec<company::Model>> {
    let mut all: Vec<company::Model> = Vec::new();
    loop {
        let last = all.last().map_or(0, |c| c.id);
        let next = crate::service::after(db, company::Entity::find(), last, PER_READ as u64).await?;
        let done = next.len() < PER_READ;
        all.extend(next);
        if done {
            return Ok(all);
        }
    }
}

/// The contacts of the given companies.
pub async fn contacts_of(db: &impl ConnectionTrait, company_ids: &[i64]) -> AppResult<Vec<contact::Model>> {
    of_parents::<contact::Entity>(db, contact::Column::CompanyId, company_ids).await
}

/// The visits dated between `from` and `to` as the import matches them: date, sorted company ids, headcount.
pub async fn visits_between(
    db: &impl ConnectionTrait,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> AppResult<Vec<(chrono::NaiveDate, Vec<i64>, i64)>> {
    let rows: Vec<(i64, chrono::NaiveDate, i32)> = visit::Entity::find()
        .select_only()
        .columns([visit::Column::Id, visit::Column::VisitDate, visit::Column::Headcount])
        .filter(visit::Column::VisitDate.between(from, to))
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut companies = HashMap::new();
    for chunk in ids.chunks(PER_READ) {
        companies.extend(crate::service::links::of::<visit_company::Entity>(db, chunk.to_vec()).await?);
    }
    Ok(rows
        .into_iter()
        .map(|(id, date, headcount)| {
            let mut ids = companies.remove(&id).unwrap_or_default();
            ids.sort_unstable();
            (date, ids, i64::from(headcount))
        })
        .collect())
}

/// The id, name and company name of every project `visible` (how a fund sheet names its projects).
pub async fn project_names(
    db: &impl ConnectionTrait,
    visible: &entity::visible::Visible,
) -> AppResult<Vec<(i64, String, String)>> {
    let projects: Vec<(i64, String, i64)> = project::Entity::find()
        .select_only()
        .columns([project::Column::Id, project::Column::Name, project::Column::CompanyId])
        .apply_if(visible.projects(), QueryFilter::filter)
        .into_tuple()
        .all(db)
        .await?;
    let companies: HashMap<i64, String> = company::Entity::find()
        .select_only()
        .columns([company::Column::Id, company::Column::Name])
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(projects
        .into_iter()
        .map(|(id, name, c)| (id, name, companies.get(&c).cloned().unwrap_or_default()))
        .collect())
}

/// The fund arrivals of the given projects as the import matches them: project, date, amount in yuan.
pub async fn funds_of(db: &impl ConnectionTrait, project_ids: &[i64]) -> AppResult<Vec<(i64, chrono::NaiveDate, i64)>> {
    let funds = of_parents::<fund_arrival::Entity>(db, fund_arrival::Column::ProjectId, project_ids).await?;
    Ok(funds
        .into_iter()
        .map(|f| (f.project_id, f.arrived_on, f.amount_yuan))
        .collect())
}

/// The capital origin of each of the given projects.
pub async fn origins_of(
    db: &impl ConnectionTrait,
    project_ids: &[i64],
) -> AppResult<HashMap<i64, entity::enums::CapitalOrigin>> {
    let projects = of_parents::<project::Entity>(db, project::Column::Id, project_ids).await?;
    Ok(projects.into_iter().map(|p| (p.id, p.capital_origin)).collect())
}

/// Every outreach activity as the import matches them: kind, city, first day.
pub async fn outreach_keys(
    db: &impl ConnectionTrait,
) -> AppResult<Vec<(entity::enums::OutreachKind, String, chrono::NaiveDate)>> {
    Ok(outreach::Entity::find()
        .select_only()
        .columns([
            outreach::Column::Kind,
            outreach::Column::City,
            outreach::Column::StartDate,
        ])
        .into_tuple()
        .all(db)
        .await?)
}

/// Every incubation candidate, with its stored events (recording order).
pub async fn candidates(
    db: &impl ConnectionTrait,
) -> AppResult<(Vec<candidate::Model>, HashMap<i64, Vec<incubation_event::Model>>)> {
    let all = candidate::Entity::find()
        .order_by_asc(candidate::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = all.iter().map(|c| c.id).collect();
    let mut events: HashMap<i64, Vec<incubation_event::Model>> = HashMap::new();
    for chunk in ids.chunks(PER_READ) {
        for e in
            crate::service::history::rows::<crate::service::incubation::IncubationHistory>(db, chunk.to_vec()).await?
        {
            events.entry(e.candidate_id).or_default().push(e);
        }
    }
    Ok((all, events))
}

/// The blockers of the given projects.
pub async fn blockers_of(db: &impl ConnectionTrait, project_ids: &[i64]) -> AppResult<Vec<blocker::Model>> {
    of_parents::<blocker::Entity>(db, blocker::Column::ProjectId, project_ids).await
}

/// The projects of the given companies.
pub async fn projects_of(db: &impl ConnectionTrait, company_ids: &[i64]) -> AppResult<Vec<project::Model>> {
    of_parents::<project::Entity>(db, project::Column::CompanyId, company_ids).await
}

/// The records whose `column` names one of `parents`, in id order, read a chunk of parents at a time.
async fn of_parents<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
    parents: &[i64],
) -> AppResult<Vec<E::Model>> {
    let mut parents = parents.to_vec();
    parents.sort_unstable();
    parents.dedup();
    let mut out = Vec::new();
    for chunk in parents.chunks(PER_READ) {
        out.extend(
            E::find()
                .filter(column.is_in(chunk.iter().copied()))
                .order_by_asc(Expr::col(Alias::new("id")))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// The stored stage events of the given projects, each project's in recording order.
pub async fn events_of(
    db: &impl ConnectionTrait,
    project_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<stage_event::Model>>> {
    let mut out: HashMap<i64, Vec<stage_event::Model>> = HashMap::new();
    for chunk in project_ids.chunks(PER_READ) {
        for e in crate::service::history::rows::<crate::service::projects::ProjectHistory>(db, chunk.to_vec()).await? {
            out.entry(e.project_id).or_default().push(e);
        }
    }
    Ok(out)
}
