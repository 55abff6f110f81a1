//! Reach dates kept on each project (`projects.reached_*_on`): derived from the stage history by the rule of
//! docs/DEFINITIONS.md and written in the same transaction as the events they come from, so the project list filters
//! by the date a stage was reached through an index.

use chrono::NaiveDate;
use entity::{
    enums::ProjectStage,
    pipeline::{self, Event, Stage},
    project::{self, REACHED},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Unchanged, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
};

use super::{AppError, AppResult};

/// Sets a project's reach dates from its whole history.
pub fn set(m: &mut project::ActiveModel, history: &[Event<ProjectStage>]) {
    let mut dates = [None; 6];
    for (stage, on) in pipeline::reach_dates(history, None) {
        if let Some(rank) = stage.rank() {
            dates[rank] = Some(on);
        }
    }
    for (column, on) in REACHED.into_iter().zip(dates) {
        m.set(column, on.into());
    }
}

/// Rewrites a project's reach dates from its whole history, inside the caller's transaction.
pub async fn keep(db: &impl ConnectionTrait, project: i64, history: &[Event<ProjectStage>]) -> AppResult<()> {
    let mut m = project::ActiveModel {
        id: Unchanged(project),
        ..Default::default()
    };
    set(&mut m, history);
    project::Entity::update_many()
        .set(m)
        .filter(project::Column::Id.eq(project))
        .exec(db)
        .await?;
    Ok(())
}

/// The projects that reached `stage` (default 线索) between `from` and `to`, inclusive.
pub fn between(stage: Option<ProjectStage>, from: Option<NaiveDate>, to: Option<NaiveDate>) -> AppResult<Condition> {
    let Some(rank) = stage.unwrap_or(ProjectStage::Lead).rank() else {
        return Err(AppError::invalid(
            "reached",
            "dropped has no reach date",
            "“终止”没有到达日期",
        ));
    };
    let column = REACHED[rank];
    let mut c = Condition::all();
    if let Some(from) = from {
        c = c.add(column.gte(from));
    }
    if let Some(to) = to {
        c = c.add(column.lte(to));
    }
    Ok(c)
}
