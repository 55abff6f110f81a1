//! Reach dates kept on each project (`reached_lead_on` … `reached_producing_on`, one indexed column per stage of the
//! main line), so the project list filters by the date a stage was reached through an index instead of aggregating
//! every stage event per request; and on PostgreSQL a trigram index for the name search (`lower(name) LIKE '%…%'`)
//! of projects and companies; and an index on visits by day with their headcounts, which the analytics sum.
//!
//! Existing histories are carried over by one statement per stage that applies the rule of docs/DEFINITIONS.md: a
//! stage's reach date is the earliest date of an event at that stage or a later one of the main line (终止 reaches
//! nothing).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The main line of a project's pipeline, in order (entity::enums::ProjectStage::ORDER).
const MAIN_LINE: [&str; 6] = ["lead", "negotiating", "signed", "landed", "started", "producing"];

/// The tables whose names are searched by substring.
const SEARCHED: [&str; 2] = ["projects", "companies"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (rank, stage) in MAIN_LINE.iter().enumerate() {
            let column = format!("reached_{stage}_on");
            db.execute_unprepared(&format!("ALTER TABLE projects ADD COLUMN {column} DATE NULL"))
                .await?;
            let at_or_after = MAIN_LINE[rank..]
                .iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ");
            db.execute_unprepared(&format!(
                "UPDATE projects SET {column} = (SELECT MIN(e.occurred_on) FROM stage_events e \
                 WHERE e.project_id = projects.id AND e.stage IN ({at_or_after}))"
            ))
            .await?;
            db.execute_unprepared(&format!("CREATE INDEX ix_projects_{column} ON projects ({column})"))
                .await?;
        }
        // The analytics read visits as day totals: an index that holds both columns answers that without a table
        // look-up per visit (SQLite otherwise reads the index on the date and then every row).
        db.execute_unprepared("CREATE INDEX ix_visits_date_headcount ON visits (visit_date, headcount)")
            .await?;
        if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres && trigrams_available(db).await? {
            db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm").await?;
            for table in SEARCHED {
                db.execute_unprepared(&format!(
                    "CREATE INDEX ix_{table}_name_trgm ON {table} USING gin (lower(name) gin_trgm_ops)"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            for table in SEARCHED {
                db.execute_unprepared(&format!("DROP INDEX IF EXISTS ix_{table}_name_trgm"))
                    .await?;
            }
        }
        db.execute_unprepared("DROP INDEX ix_visits_date_headcount").await?;
        for stage in MAIN_LINE {
            let column = format!("reached_{stage}_on");
            db.execute_unprepared(&format!("DROP INDEX ix_projects_{column}"))
                .await?;
            db.execute_unprepared(&format!("ALTER TABLE projects DROP COLUMN {column}"))
                .await?;
        }
        Ok(())
    }
}

/// Whether pg_trgm can be used: installed already, or available and this user may create it (it is a trusted
/// extension). Without it the name search still works, by a sequential scan.
async fn trigrams_available(db: &impl sea_orm::ConnectionTrait) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') \
             OR (EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') \
                 AND has_database_privilege(current_database(), 'CREATE')) AS ok",
        ))
        .await?;
    Ok(row.map(|r| r.try_get::<bool>("", "ok")).transpose()?.unwrap_or(false))
}
