//! Two indexes by day that the home page's reads lacked, each of which read a whole table instead:
//!
//! - the companies by the day they became 规上 (`ix_companies_above_size`): the KPIs read those that became so in a
//!   period and the year before it (300 ms at 500,000 companies);
//! - the stage events by day, with their project (`ix_stage_events_date`): the quiet projects leave out those moved
//!   after the day asked about, and judge those by their stage on it (170 ms at 3.4 million events, for none).

use sea_orm_migration::prelude::*;

use crate::util::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, index, columns).
const INDEXES: [(&str, &str, &[&str]); 2] = [
    ("companies", "ix_companies_above_size", &["above_size_since"]),
    ("stage_events", "ix_stage_events_date", &["occurred_on", "project_id"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, columns) in INDEXES {
            m.create_index(index(name, Alias::new(table), columns)).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, _) in INDEXES {
            m.drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
