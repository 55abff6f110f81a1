//! The spells each project spent off to the side (`drop_spans`: from a 终止 to the next move on, if any), kept by the
//! database from the stage events, and `drop_days`: per day, the 重大项目 dropped that day and never moved on since
//! (not in production when dropped), with their agreed investment. A 重大项目 sat idle over a period, and was not
//! worked on in it (docs/DEFINITIONS.md), when one of its spells began before the period and lasted past its end:
//! the never-ended ones are sums over `drop_days`, the few that ended are read by the day they ended. At a million
//! projects, counting them from every 重大项目's events took a second.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

use crate::m20261209_000023_kept_figures::{Keeper, Kept, postgres_triggers, sqlite_triggers, triggers_down};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A 重大项目's spells that never ended (not in production when dropped), per day dropped.
pub(crate) const DROP_DAYS: Kept = Kept {
    table: "drop_days",
    keys: &["day"],
    amounts: &["projects", "yuan"],
    source: "drop_spans",
    reads: &["dropped_on", "resumed_on", "counted", "yuan"],
    contributions: "SELECT r.dropped_on AS day, {sign} AS projects, {sign} * r.yuan AS yuan FROM {rows} r
        WHERE r.resumed_on IS NULL AND r.counted",
};

/// The spells of the projects `ids` (a list or query of their ids; none: every project): each from the last 终止
/// before a move on (the first event at a stage of the line after it; none when there is none) with that move's day,
/// whether it counts for the 重大项目 (a 重大项目 not in production when dropped) and the project's agreed investment.
fn spans(ids: Option<&str>) -> String {
    let only = ids
        .map(|ids| format!(" AND e.project_id IN ({ids})"))
        .unwrap_or_default();
    format!(
        "SELECT s.project_id, s.dropped_on, s.resumed_on, \
         (p.is_major AND (p.reached_producing_on IS NULL OR p.reached_producing_on > s.dropped_on)) AS counted, \
         COALESCE(p.agreed_investment_yuan, 0) AS yuan \
         FROM (SELECT d.project_id, MAX(d.day) AS dropped_on, d.next AS resumed_on FROM \
               (SELECT e.project_id, e.occurred_on AS day, \
                  (SELECT MIN(x.occurred_on) FROM stage_events x WHERE x.project_id = e.project_id \
                   AND x.stage <> 'dropped' AND x.occurred_on > e.occurred_on) AS next \
                FROM stage_events e WHERE e.stage = 'dropped'{only}) d \
               GROUP BY d.project_id, d.next) s \
         JOIN projects p ON p.id = s.project_id"
    )
}

const COLUMNS: &str = "project_id, dropped_on, resumed_on, counted, yuan";

/// The spells of the projects `ids` counted afresh.
fn respanned(ids: &str) -> String {
    format!(
        "DELETE FROM drop_spans WHERE project_id IN ({ids}); INSERT INTO drop_spans ({COLUMNS}) {}",
        spans(Some(ids))
    )
}

/// The spells of the projects `ids` given their project's 重大 flag, production day and investment again.
fn reprojected(ids: &str) -> String {
    let of = |e: &str| format!("(SELECT {e} FROM projects p WHERE p.id = drop_spans.project_id)");
    format!(
        "UPDATE drop_spans SET counted = {}, yuan = {} WHERE project_id IN ({ids})",
        of("p.is_major AND (p.reached_producing_on IS NULL OR p.reached_producing_on > drop_spans.dropped_on)"),
        of("COALESCE(p.agreed_investment_yuan, 0)"),
    )
}

/// What the database keeps of the spells.
pub(crate) fn keeper() -> Keeper {
    Keeper {
        source: "stage_events",
        insert_trigger: "drop_spans_insert".into(),
        table: Some("drop_spans"),
        rebuilt: vec![
            "DELETE FROM drop_spans".into(),
            format!("INSERT INTO drop_spans ({COLUMNS}) {}", spans(None)),
        ],
        kept_and_derived: (format!("SELECT {COLUMNS} FROM drop_spans"), spans(None)),
    }
}

/// The triggers: the stage events' (`drop_spans_*`) and the projects' (`drop_spans_projects_*`).
fn up_sql(backend: DatabaseBackend) -> String {
    let project_columns = "is_major, reached_producing_on, agreed_investment_yuan";
    match backend {
        DatabaseBackend::Postgres => {
            let events = postgres_triggers(
                "drop_spans",
                "stage_events",
                [
                    "SELECT project_id FROM added",
                    "SELECT project_id FROM removed",
                    "SELECT project_id FROM added UNION SELECT project_id FROM removed",
                ]
                .map(respanned),
            );
            // Only an update changes a project's spells: a new one has no events yet, a deleted one's go with it.
            let projects = format!(
                "CREATE FUNCTION drop_spans_projects_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {};
    RETURN NULL;
END $$;
CREATE TRIGGER drop_spans_projects_update AFTER UPDATE ON projects REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION drop_spans_projects_keep();
",
                reprojected("SELECT id FROM added")
            );
            format!("{events}{projects}")
        }
        _ => {
            let events = sqlite_triggers(
                "drop_spans",
                "stage_events",
                "project_id, stage, occurred_on",
                ["NEW.project_id", "OLD.project_id", "OLD.project_id, NEW.project_id"]
                    .map(|ids| respanned(ids).replace("; ", ";\n    ")),
            );
            let projects = format!(
                "CREATE TRIGGER drop_spans_projects_update AFTER UPDATE OF {project_columns} ON projects BEGIN
    {};
END;
",
                reprojected("NEW.id")
            );
            format!("{events}{projects}")
        }
    }
}

#[derive(DeriveIden)]
enum Tables {
    DropSpans,
    DropDays,
}

#[derive(DeriveIden)]
enum Columns {
    ProjectId,
    DroppedOn,
    ResumedOn,
    Counted,
    Yuan,
    Day,
    Projects,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use sea_orm_migration::schema::{big_integer, boolean, date, date_null};
        m.create_table(
            Table::create()
                .table(Tables::DropSpans)
                .col(big_integer(Columns::ProjectId))
                .col(date(Columns::DroppedOn))
                .col(date_null(Columns::ResumedOn))
                .col(boolean(Columns::Counted))
                .col(big_integer(Columns::Yuan))
                .primary_key(Index::create().col(Columns::ProjectId).col(Columns::DroppedOn))
                .to_owned(),
        )
        .await?;
        m.create_index(crate::util::index(
            "ix_drop_spans_resumed",
            Tables::DropSpans,
            &["resumed_on"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Tables::DropDays)
                .col(date(Columns::Day))
                .col(big_integer(Columns::Projects))
                .col(big_integer(Columns::Yuan))
                .primary_key(Index::create().col(Columns::Day))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        let backend = m.get_database_backend();
        for sql in keeper().rebuilt {
            db.execute_unprepared(&sql).await?;
        }
        db.execute_unprepared(&DROP_DAYS.filled(backend)).await?;
        db.execute_unprepared(&DROP_DAYS.emptied_index()).await?;
        db.execute_unprepared(&up_sql(backend)).await?;
        crate::util::execute_for(m, &DROP_DAYS.postgres_up(), &DROP_DAYS.sqlite_up()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(&triggers_down(m, "drop_days", "drop_spans"))
            .await?;
        db.execute_unprepared(&triggers_down(m, "drop_spans", "stage_events"))
            .await?;
        db.execute_unprepared(match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                "DROP TRIGGER drop_spans_projects_update ON projects; DROP FUNCTION drop_spans_projects_keep();"
            }
            _ => "DROP TRIGGER drop_spans_projects_update;",
        })
        .await?;
        for t in [Tables::DropDays, Tables::DropSpans] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
