//! The visits' day totals (`visit_days`: per day and owner, the batches and the person-times), kept by the database
//! itself as visits are written, edited and deleted, whatever writes them (a form, the API, a ledger import or its
//! undo, a copy between databases). Every visit figure is a count or a headcount sum over days, so the KPIs and the
//! nightly job read these few rows instead of every visit: at ten million visits, two years of visits summed per
//! day took a second per request. A day and owner with no visit left has no row, so the table is exactly the
//! visits grouped by day and owner.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::execute_for;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum VisitDays {
    Table,
    VisitDate,
    OwnerKey,
    OwnerId,
    Batches,
    Headcount,
}

/// Fills the (empty) day totals from the visits as they are.
pub const VISIT_DAYS_FROM_VISITS: &str = "INSERT INTO visit_days (visit_date, owner_key, owner_id, batches, headcount) \
     SELECT visit_date, COALESCE(owner_id, 0), owner_id, COUNT(*), SUM(headcount) FROM visits \
     GROUP BY visit_date, owner_id";

/// PostgreSQL: one statement's visits are added or taken away in one grouped statement (its transition tables), so a
/// bulk insert costs one upsert per day and owner, not one per visit.
const POSTGRES_UP: &str = "
CREATE FUNCTION visit_days_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE visit_days d SET batches = d.batches - r.batches, headcount = d.headcount - r.headcount
        FROM (SELECT visit_date, COALESCE(owner_id, 0) AS owner_key, COUNT(*) AS batches, SUM(headcount) AS headcount
              FROM removed GROUP BY visit_date, owner_id) r
        WHERE d.visit_date = r.visit_date AND d.owner_key = r.owner_key;
        DELETE FROM visit_days d USING (SELECT DISTINCT visit_date, COALESCE(owner_id, 0) AS owner_key FROM removed) r
        WHERE d.visit_date = r.visit_date AND d.owner_key = r.owner_key AND d.batches = 0;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO visit_days AS d (visit_date, owner_key, owner_id, batches, headcount)
        SELECT visit_date, COALESCE(owner_id, 0), owner_id, COUNT(*), SUM(headcount) FROM added
        GROUP BY visit_date, owner_id
        ON CONFLICT (visit_date, owner_key)
        DO UPDATE SET batches = d.batches + EXCLUDED.batches, headcount = d.headcount + EXCLUDED.headcount;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER visit_days_insert AFTER INSERT ON visits REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION visit_days_keep();
CREATE TRIGGER visit_days_update AFTER UPDATE ON visits REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION visit_days_keep();
CREATE TRIGGER visit_days_delete AFTER DELETE ON visits REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION visit_days_keep();
";

const POSTGRES_DOWN: &str = "
DROP TRIGGER visit_days_delete ON visits;
DROP TRIGGER visit_days_update ON visits;
DROP TRIGGER visit_days_insert ON visits;
DROP FUNCTION visit_days_keep();
";

/// SQLite: the same, one visit at a time (it has no statement triggers).
const SQLITE_UP: &str = "
CREATE TRIGGER visit_days_insert AFTER INSERT ON visits BEGIN
    INSERT INTO visit_days (visit_date, owner_key, owner_id, batches, headcount)
    VALUES (NEW.visit_date, COALESCE(NEW.owner_id, 0), NEW.owner_id, 1, NEW.headcount)
    ON CONFLICT (visit_date, owner_key)
    DO UPDATE SET batches = batches + 1, headcount = headcount + excluded.headcount;
END;
CREATE TRIGGER visit_days_delete AFTER DELETE ON visits BEGIN
    UPDATE visit_days SET batches = batches - 1, headcount = headcount - OLD.headcount
    WHERE visit_date = OLD.visit_date AND owner_key = COALESCE(OLD.owner_id, 0);
    DELETE FROM visit_days
    WHERE visit_date = OLD.visit_date AND owner_key = COALESCE(OLD.owner_id, 0) AND batches = 0;
END;
CREATE TRIGGER visit_days_update AFTER UPDATE OF visit_date, owner_id, headcount ON visits BEGIN
    UPDATE visit_days SET batches = batches - 1, headcount = headcount - OLD.headcount
    WHERE visit_date = OLD.visit_date AND owner_key = COALESCE(OLD.owner_id, 0);
    DELETE FROM visit_days
    WHERE visit_date = OLD.visit_date AND owner_key = COALESCE(OLD.owner_id, 0) AND batches = 0;
    INSERT INTO visit_days (visit_date, owner_key, owner_id, batches, headcount)
    VALUES (NEW.visit_date, COALESCE(NEW.owner_id, 0), NEW.owner_id, 1, NEW.headcount)
    ON CONFLICT (visit_date, owner_key)
    DO UPDATE SET batches = batches + 1, headcount = headcount + excluded.headcount;
END;
";

const SQLITE_DOWN: &str = "
DROP TRIGGER visit_days_update;
DROP TRIGGER visit_days_delete;
DROP TRIGGER visit_days_insert;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(VisitDays::Table)
                .col(date(VisitDays::VisitDate))
                // The owner, 0 for none: a key column cannot be NULL.
                .col(big_integer(VisitDays::OwnerKey))
                .col(big_integer_null(VisitDays::OwnerId))
                .col(big_integer(VisitDays::Batches))
                .col(big_integer(VisitDays::Headcount))
                .primary_key(Index::create().col(VisitDays::VisitDate).col(VisitDays::OwnerKey))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(VISIT_DAYS_FROM_VISITS).await?;
        execute_for(m, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        execute_for(m, POSTGRES_DOWN, SQLITE_DOWN).await?;
        m.drop_table(Table::drop().table(VisitDays::Table).to_owned()).await
    }
}
