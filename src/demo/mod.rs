//! The demo park (docs/DEFINITIONS.md): a deterministic 2023–2024 ledger whose 2024-H1 figures, computed by the rules of
//! docs/DEFINITIONS.md, are the ones of the bureau's half-year summary: 15 outreach trips, the strategic agreement with
//! 深圳市低碳产业投资商会, 42 visits with 278 person-times, 25 projects reaching negotiation, 9 signed, 5 landed
//! (万维无人机 among them), 5 started (福美新材料生产基地 among them), 3 producing (华元通, 恒丰厨具 …), 58 major
//! projects with 98亿元 agreed investment, over 200 blockers resolved, 5 enterprises taken into high-tech cultivation,
//! 3 applied, 3 approved and filed.
//!
//! Everything is planned in memory first (with a seeded ChaCha generator, so the same command gives the same data),
//! then written through the services (so every record obeys every rule) in one transaction.

mod plan;
mod write;

use anyhow::{Context, bail};
use entity::{
    blocker, company, contact, follow_up, fund_arrival, incubation_candidate, incubation_event, outreach,
    outreach_company, partner, project, stage_event, support_fund, target, visit, visit_company, visit_project,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait};

/// What the demo wrote.
#[derive(Debug, Default)]
pub struct Summary {
    /// Companies.
    pub companies: usize,
    /// Projects.
    pub projects: usize,
    /// Visits.
    pub visits: usize,
    /// Outreach activities.
    pub outreach: usize,
    /// Blockers.
    pub blockers: usize,
    /// Incubation candidates.
    pub candidates: usize,
}

/// The contact leaders (联系领导) of the demo park.
pub const LEADERS: [&str; 5] = ["王建国", "李明", "张华", "陈静", "刘洋"];

/// Whether the database holds none of the bureau's records (its accounts and its logs do not count).
pub(crate) async fn is_empty(db: &impl ConnectionTrait) -> anyhow::Result<bool> {
    Ok(company::Entity::find().count(db).await? == 0
        && project::Entity::find().count(db).await? == 0
        && visit::Entity::find().count(db).await? == 0
        && outreach::Entity::find().count(db).await? == 0
        && partner::Entity::find().count(db).await? == 0
        && incubation_candidate::Entity::find().count(db).await? == 0
        && target::Entity::find().count(db).await? == 0)
}

/// Deletes every ledger record, children first.
async fn clear(db: &impl ConnectionTrait) -> anyhow::Result<()> {
    visit_company::Entity::delete_many().exec(db).await?;
    visit_project::Entity::delete_many().exec(db).await?;
    outreach_company::Entity::delete_many().exec(db).await?;
    incubation_event::Entity::delete_many().exec(db).await?;
    incubation_candidate::Entity::delete_many().exec(db).await?;
    blocker::Entity::delete_many().exec(db).await?;
    follow_up::Entity::delete_many().exec(db).await?;
    fund_arrival::Entity::delete_many().exec(db).await?;
    stage_event::Entity::delete_many().exec(db).await?;
    project::Entity::delete_many().exec(db).await?;
    contact::Entity::delete_many().exec(db).await?;
    support_fund::Entity::delete_many().exec(db).await?;
    company::Entity::delete_many().exec(db).await?;
    visit::Entity::delete_many().exec(db).await?;
    outreach::Entity::delete_many().exec(db).await?;
    partner::Entity::delete_many().exec(db).await?;
    target::Entity::delete_many().exec(db).await?;
    Ok(())
}

/// Fills the database with the demo park. Refuses a database that already holds records unless `force`, which
/// replaces them. All in one transaction: on any error nothing is written.
pub async fn seed(db: &DatabaseConnection, force: bool) -> anyhow::Result<Summary> {
    let plan = plan::plan()?;
    let txn = crate::service::begin(db).await?;
    if !is_empty(&txn).await? {
        if !force {
            bail!("the database already holds records; use --force to replace them with the demo park");
        }
        clear(&txn).await?;
    }
    let summary = write::write(&txn, plan).await.context("writing the demo park")?;
    txn.commit().await?;
    Ok(summary)
}
