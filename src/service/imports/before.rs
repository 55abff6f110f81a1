//! What a record was before an import batch changed it, kept with the batch, and how an undo puts it back (its
//! version moves on, so an edit made against the imported state is refused as stale).

use chrono::Utc;
use entity::{
    blocker, company, import_item, incubation_candidate as candidate, incubation_event, project, stage_event,
};
use sea_orm::{
    ActiveValue::{Set, Unchanged},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
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

/// Puts back what a batch changed in the record of `i` (the records it created are deleted, not restored); its
/// version moves on past the one the batch left.
pub(super) async fn restore(db: &impl ConnectionTrait, i: &import_item::Model) -> AppResult<()> {
    let Some(before) = &i.before else {
        return Ok(());
    };
    let (id, version) = (i.record_id, i.version_after + 1);
    match i.kind.as_str() {
        "project" => read::<ProjectBefore>(before)?.put_back(db, id, version).await,
        "company" => read::<CompanyBefore>(before)?.put_back(db, id, version).await,
        "blocker" => read::<BlockerBefore>(before)?.put_back(db, id, version).await,
        "candidate" => read::<CandidateBefore>(before)?.put_back(db, id, version).await,
        _ => Ok(()),
    }
}

fn read<T: serde::de::DeserializeOwned>(before: &serde_json::Value) -> AppResult<T> {
    serde_json::from_value(before.clone())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("an import item's saved state cannot be read: {e}")))
}

impl ProjectBefore {
    /// Drops the stage events recorded after the saved last one (and the reach dates they gave), then the fields.
    async fn put_back(self, db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
        stage_event::Entity::delete_many()
            .filter(stage_event::Column::ProjectId.eq(id))
            .filter(stage_event::Column::Id.gt(self.last_event_id))
            .exec(db)
            .await?;
        let history = crate::service::history::histories::<ProjectHistory>(db, vec![id]).await?;
        let events = history.get(&id).map(|h| h.0.as_slice()).unwrap_or_default();
        crate::service::reach::keep(db, id, events).await?;
        project::Entity::update(project::ActiveModel {
            id: Unchanged(id),
            industry: Set(self.industry),
            agreed_investment_yuan: Set(self.agreed_investment_yuan),
            land_mu: Set(self.land_mu),
            is_major: Set(self.is_major),
            capital_origin: Set(self.capital_origin),
            contact_leader: Set(self.contact_leader),
            contact_leader_id: Set(self.contact_leader_id),
            responsible_unit: Set(self.responsible_unit),
            team: Set(self.team),
            notes: Set(self.notes),
            source: Set(self.source),
            stage: Set(self.stage),
            version: Set(version),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .exec(db)
        .await?;
        Ok(())
    }
}

impl BlockerBefore {
    async fn put_back(self, db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
        blocker::Entity::update(blocker::ActiveModel {
            id: Unchanged(id),
            category: Set(self.category),
            owner_unit: Set(self.owner_unit),
            assigned_leader: Set(self.assigned_leader),
            due_date: Set(self.due_date),
            status: Set(self.status),
            resolution: Set(self.resolution),
            resolved_on: Set(self.resolved_on),
            version: Set(version),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .exec(db)
        .await?;
        Ok(())
    }
}

impl CandidateBefore {
    /// Drops the stage events recorded after the saved last one, then the stage.
    async fn put_back(self, db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
        incubation_event::Entity::delete_many()
            .filter(incubation_event::Column::CandidateId.eq(id))
            .filter(incubation_event::Column::Id.gt(self.last_event_id))
            .exec(db)
            .await?;
        candidate::Entity::update(candidate::ActiveModel {
            id: Unchanged(id),
            stage: Set(self.stage),
            version: Set(version),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .exec(db)
        .await?;
        Ok(())
    }
}

impl CompanyBefore {
    async fn put_back(self, db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
        company::Entity::update(company::ActiveModel {
            id: Unchanged(id),
            credit_code: Set(self.credit_code),
            industry: Set(self.industry),
            province: Set(self.province),
            city: Set(self.city),
            notes: Set(self.notes),
            above_size_since: Set(self.above_size_since),
            version: Set(version),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .exec(db)
        .await?;
        Ok(())
    }
}
