//! Each project keeps its company's province (`projects.company_province`), kept by the database itself: set when a
//! project is written with a company, and rewritten on every project of a company whose province changes, whatever
//! wrote it (the API, a ledger import or its undo, a copy between databases). The breakdowns by province (the
//! funnel, the nightly job) then read the projects alone instead of joining every company: at a million projects
//! the on-demand funnel by province joined the 500,000 companies in each of its six statements.

use sea_orm_migration::prelude::*;

use crate::util::execute_for;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// PostgreSQL: a project takes its company's province as it is inserted or moved to another company; a company's
/// change of province goes to its projects.
const POSTGRES_UP: &str = "
CREATE FUNCTION projects_company_province() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.company_province := (SELECT province FROM companies WHERE id = NEW.company_id);
    RETURN NEW;
END $$;
CREATE TRIGGER projects_company_province BEFORE INSERT OR UPDATE OF company_id ON projects
    FOR EACH ROW EXECUTE FUNCTION projects_company_province();
CREATE FUNCTION companies_province_to_projects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE projects SET company_province = NEW.province WHERE company_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER companies_province_to_projects AFTER UPDATE OF province ON companies
    FOR EACH ROW WHEN (OLD.province IS DISTINCT FROM NEW.province)
    EXECUTE FUNCTION companies_province_to_projects();
";

const POSTGRES_DOWN: &str = "
DROP TRIGGER companies_province_to_projects ON companies;
DROP FUNCTION companies_province_to_projects();
DROP TRIGGER projects_company_province ON projects;
DROP FUNCTION projects_company_province();
";

/// SQLite: the same, after the row is written (its triggers cannot change the row being written).
const SQLITE_UP: &str = "
CREATE TRIGGER projects_company_province_insert AFTER INSERT ON projects BEGIN
    UPDATE projects SET company_province = (SELECT province FROM companies WHERE id = NEW.company_id)
    WHERE id = NEW.id;
END;
CREATE TRIGGER projects_company_province_update AFTER UPDATE OF company_id ON projects BEGIN
    UPDATE projects SET company_province = (SELECT province FROM companies WHERE id = NEW.company_id)
    WHERE id = NEW.id;
END;
CREATE TRIGGER companies_province_to_projects AFTER UPDATE OF province ON companies
    WHEN OLD.province IS NOT NEW.province BEGIN
    UPDATE projects SET company_province = NEW.province WHERE company_id = NEW.id;
END;
";

const SQLITE_DOWN: &str = "
DROP TRIGGER companies_province_to_projects;
DROP TRIGGER projects_company_province_update;
DROP TRIGGER projects_company_province_insert;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("ALTER TABLE projects ADD COLUMN company_province TEXT NULL")
            .await?;
        db.execute_unprepared(
            "UPDATE projects SET company_province = \
             (SELECT province FROM companies WHERE companies.id = projects.company_id)",
        )
        .await?;
        execute_for(m, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        execute_for(m, POSTGRES_DOWN, SQLITE_DOWN).await?;
        db.execute_unprepared("ALTER TABLE projects DROP COLUMN company_province")
            .await?;
        Ok(())
    }
}
