//! 到位资金: dated fund arrivals of a project (the sum is its funds arrived, a number apart from the agreed
//! investment).

use chrono::Utc;
use entity::{fund_arrival, project};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{
    AppResult, Page, Paging, delete_versioned, find,
    input::{Day, Money, Note, Patch, opt_string, set_some},
    update_versioned,
};

/// A new fund arrival.
pub struct NewFundArrival {
    /// Date the funds arrived.
    pub arrived_on: Day,
    /// Amount, > 0.
    pub amount: Money,
    /// Note.
    pub note: Option<Note>,
}

/// Changes to a fund arrival.
pub struct FundArrivalChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Date the funds arrived.
    pub arrived_on: Option<Day>,
    /// Amount, > 0.
    pub amount: Option<Money>,
    /// Note.
    pub note: Patch<Note>,
}

const WHAT: &str = "fund arrival";

/// Records funds arrived for a project.
pub async fn create(db: &impl ConnectionTrait, project_id: i64, n: NewFundArrival) -> AppResult<fund_arrival::Model> {
    find::<project::Entity, _>(db, project_id, "project").await?;
    let now = Utc::now();
    let m = fund_arrival::ActiveModel {
        project_id: Set(project_id),
        arrived_on: Set(n.arrived_on.into()),
        amount_yuan: Set(n.amount.into()),
        note: Set(opt_string(n.note)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(fund_arrival::Entity::insert(m).exec_with_returning(db).await?)
}

/// A page of a project's fund arrivals, newest first.
pub async fn list(db: &impl ConnectionTrait, project_id: i64, paging: Paging) -> AppResult<Page<fund_arrival::Model>> {
    find::<project::Entity, _>(db, project_id, "project").await?;
    let s = fund_arrival::Entity::find()
        .filter(fund_arrival::Column::ProjectId.eq(project_id))
        .order_by_desc(fund_arrival::Column::ArrivedOn)
        .order_by_desc(fund_arrival::Column::Id);
    paging.rows(db, s).await
}

/// Changes a fund arrival.
pub async fn update(db: &impl ConnectionTrait, id: i64, c: FundArrivalChanges) -> AppResult<fund_arrival::Model> {
    let mut m = fund_arrival::ActiveModel::default();
    set_some(&mut m.arrived_on, c.arrived_on);
    set_some(&mut m.amount_yuan, c.amount);
    c.note.apply(&mut m.note);
    update_versioned::<fund_arrival::Entity, _>(db, id, WHAT, c.version, m).await
}

/// Deletes a fund arrival.
pub async fn delete(db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
    delete_versioned::<fund_arrival::Entity, _>(db, id, WHAT, version).await
}
