//! PostgreSQL: each project and company keeps the letters and letter pairs of its lowered name (`name_grams`, kept
//! by a trigger as the name is written), with a GIN index on them. A search of one or two letters (`77`, `光伏`) is
//! narrowed to the names holding that letter or pair: the trigram index does not narrow a search shorter than three
//! letters, so such a search read every name, and a rare pair (none at a million projects) walked the whole table
//! to fill its first page. The service uses the index only for a pair few names hold (`service::rare_name_pair`);
//! one most names hold is faster found by reading the names.
//!
//! The pairs are stored rather than computed per search: an index on an SQL function of the name made the planner
//! call that function on every row when it expected most names to match (11.7 s against 97 ms at a million
//! projects; docs/BENCHMARKS.md). SQLite keeps nothing: a short search there reads 100,000 names in about 12 ms.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose names are searched by substring (as m20261205_000013_reach_dates).
const SEARCHED: [&str; 2] = ["projects", "companies"];

/// The letters and letter pairs of a lowered name, each once. Immutable: the same name always gives the same set.
const POSTGRES_FUNCTIONS: &str = "
CREATE FUNCTION name_grams(name text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT g), '{}') FROM (
        SELECT substr(l, i, 1) AS g FROM (SELECT lower(name) AS l) AS n, generate_series(1, length(l)) AS i
        UNION ALL
        SELECT substr(l, i, 2) FROM (SELECT lower(name) AS l) AS n, generate_series(1, length(l) - 1) AS i
    ) AS grams
$$;
CREATE FUNCTION keep_name_grams() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.name_grams := name_grams(NEW.name);
    RETURN NEW;
END $$;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        db.execute_unprepared(POSTGRES_FUNCTIONS).await?;
        // The column is filled as a generated one, which rewrites the table once, compactly (an `UPDATE` of every
        // row would leave the table twice its size until vacuumed), and then kept by the trigger, which runs only
        // when a name is written (a generated column is computed again on every update of the row).
        for t in SEARCHED {
            db.execute_unprepared(&format!(
                "ALTER TABLE {t} ADD COLUMN name_grams text[] NOT NULL GENERATED ALWAYS AS (name_grams(name)) STORED;
                 ALTER TABLE {t} ALTER COLUMN name_grams DROP EXPRESSION;
                 CREATE TRIGGER {t}_name_grams BEFORE INSERT OR UPDATE OF name ON {t}
                     FOR EACH ROW EXECUTE FUNCTION keep_name_grams();
                 CREATE INDEX ix_{t}_name_grams ON {t} USING gin (name_grams);"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        for t in SEARCHED {
            db.execute_unprepared(&format!(
                "DROP TRIGGER {t}_name_grams ON {t}; ALTER TABLE {t} DROP COLUMN name_grams;"
            ))
            .await?;
        }
        db.execute_unprepared("DROP FUNCTION keep_name_grams(); DROP FUNCTION name_grams(text);")
            .await?;
        Ok(())
    }
}
