//! What a record was before an import batch changed it, kept with the batch, and how an undo puts it back (its
//! version moves on, so an edit made against the imported state is refused as stale).

use chrono::Utc;
use entity::{
    blocker, company, import_item, incubation_candidate as candidate, incubation_event, project, stage_event,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use super::super::{AppError, AppResult, projects::ProjectHistory};

/// What a project was before a batch changed it: the fields an import may change, its stage and its last event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectBefore {
    industry: Option<String>,
    agreed_investment_yuan: Option<i64>,
    land_mu: Option<f64>,
    is_major: bool,
    #[serde(default)]
    capital_origin: entity::enums::CapitalOrigin,
    contact_leader: Option<String>,
    #[serde(default)]
    contact_leader_id: Option<i64>,
    responsible_unit: Option<String>,
    team: Option<String>,
    notes: Option<String>,
    source: entity::enums::ProjectSource,
    stage: entity::enums::ProjectStage,
    last_event_id: i64,
}

impl ProjectBefore {
    /// The project as stored, with the id of its last stage event.
    pub fn of(p: &project::Model, last_event_id: i64) -> Self {
        ProjectBefore {
            industry: p.industry.clone(),
            agreed_investment_yuan: p.agreed_investment_yuan,
            land_mu: p.land_mu,
            is_major: p.is_major,
            capital_origin: p.capital_origin,
            contact_leader: p.contact_leader.clone(),
            contact_leader_id: p.contact_leader_id,
            responsible_unit: p.responsible_unit.clone(),
            team: p.team.clone(),
            notes: p.notes.clone(),
            source: p.source,
            stage: p.stage,
            last_event_id,
        }
    }
}

/// What a company was before a batch changed it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompanyBefore {
    credit_code: Option<String>,
    industry: Option<String>,
    province: Option<String>,
    city: Option<String>,
    notes: Option<String>,
    #[serde(default)]
    above_size_since: Option<chrono::NaiveDate>,
}

impl CompanyBefore {
    /// The company as stored.
    pub fn of(c: &company::Model) -> Self {
        CompanyBefore {
            credit_code: c.credit_code.clone(),
            industry: c.industry.clone(),
            province: c.province.clone(),
            city: c.city.clone(),
            notes: c.notes.clone(),
            above_size_since: c.above_size_since,
        }
    }
}

/// What a blocker was before a batch changed it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockerBefore {
    category: entity::enums::BlockerCategory,
    owner_unit: Option<String>,
    assigned_leader: Option<String>,
    due_date: Option<chrono::NaiveDate>,
    status: entity::enums::BlockerStatus,
    resolution: Option<String>,
    resolved_on: Option<chrono::NaiveDate>,
}

impl BlockerBefore {
    /// The blocker as stored.
    pub fn of(b: &blocker::Model) -> Self {
        BlockerBefore {
            category: b.category,
            owner_unit: b.owner_unit.clone(),
            assigned_leader: b.assigned_leader.clone(),
            due_date: b.due_date,
            status: b.status,
            resolution: b.resolution.clone(),
            resolved_on: b.resolved_on,
        }
    }
}

/// What an incubation candidate was before a batch moved it on: its stage and its last event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CandidateBefore {
    stage: entity::enums::IncubationStage,
    last_event_id: i64,
}

impl CandidateBefore {
    /// The candidate as stored, with the id of its last stage event.
    pub fn of(c: &candidate::Model, last_event_id: i64) -> Self {
        CandidateBefore {
            stage: c.stage,
            last_event_id,
        }
    }
}

fn bad_before(e: serde_json::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("an import item's saved state cannot be read: {e}"))
}

pub(super) async fn restore_project(
    db: &impl ConnectionTrait,
    i: &import_item::Model,
    before: &serde_json::Value,
) -> AppResult<()> {
    let b: ProjectBefore = serde_json::from_value(before.clone()).map_err(bad_before)?;
    stage_event::Entity::delete_many()
        .filter(stage_event::Column::ProjectId.eq(i.record_id))
        .filter(stage_event::Column::Id.gt(b.last_event_id))
        .exec(db)
        .await?;
    let history = crate::service::history::histories::<ProjectHistory>(db, vec![i.record_id]).await?;
    let events = history.get(&i.record_id).map(|h| h.0.as_slice()).unwrap_or_default();
    crate::service::reach::keep(db, i.record_id, events).await?;
    project::Entity::update(project::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(i.record_id),
        industry: Set(b.industry),
        agreed_investment_yuan: Set(b.agreed_investment_yuan),
        land_mu: Set(b.land_mu),
        is_major: Set(b.is_major),
        capital_origin: Set(b.capital_origin),
        contact_leader: Set(b.contact_leader),
        contact_leader_id: Set(b.contact_leader_id),
        responsible_unit: Set(b.responsible_unit),
        team: Set(b.team),
        notes: Set(b.notes),
        source: Set(b.source),
        stage: Set(b.stage),
        version: Set(i.version_after + 1),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}

pub(super) async fn restore_blocker(
    db: &impl ConnectionTrait,
    i: &import_item::Model,
    before: &serde_json::Value,
) -> AppResult<()> {
    let b: BlockerBefore = serde_json::from_value(before.clone()).map_err(bad_before)?;
    blocker::Entity::update(blocker::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(i.record_id),
        category: Set(b.category),
        owner_unit: Set(b.owner_unit),
        assigned_leader: Set(b.assigned_leader),
        due_date: Set(b.due_date),
        status: Set(b.status),
        resolution: Set(b.resolution),
        resolved_on: Set(b.resolved_on),
        version: Set(i.version_after + 1),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}

pub(super) async fn restore_candidate(
    db: &impl ConnectionTrait,
    i: &import_item::Model,
    before: &serde_json::Value,
) -> AppResult<()> {
    let b: CandidateBefore = serde_json::from_value(before.clone()).map_err(bad_before)?;
    incubation_event::Entity::delete_many()
        .filter(incubation_event::Column::CandidateId.eq(i.record_id))
        .filter(incubation_event::Column::Id.gt(b.last_event_id))
        .exec(db)
        .await?;
    candidate::Entity::update(candidate::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(i.record_id),
        stage: Set(b.stage),
        version: Set(i.version_after + 1),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}

pub(super) async fn restore_company(
    db: &impl ConnectionTrait,
    i: &import_item::Model,
    before: &serde_json::Value,
) -> AppResult<()> {
    let b: CompanyBefore = serde_json::from_value(before.clone()).map_err(bad_before)?;
    company::Entity::update(company::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(i.record_id),
        credit_code: Set(b.credit_code),
        industry: Set(b.industry),
        province: Set(b.province),
        city: Set(b.city),
        notes: Set(b.notes),
        above_size_since: Set(b.above_size_since),
        version: Set(i.version_after + 1),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}
