//! The figures' counts kept by the database as records are written, as the visits' day totals are
//! (`m20261208_000021_visit_days`), whatever writes them:
//!
//! - `project_reach_days`: per stage of the main line, day and 重大 flag, the projects that reached the stage that
//!   day and their agreed investment: the flows of any period, and the 重大项目 worked on in it (those recorded by
//!   its end less those in production before its start), are sums over a few thousand rows;
//! - the candidates' reach days (`incubation_candidates.reached_*_on`, the rule of docs/DEFINITIONS.md, from their
//!   events) and `candidate_reach_days`, per incubation stage and day, the candidates that reached it;
//! - `blocker_days`: per category and day, the blockers raised and resolved that day, and the change that day in
//!   those open past their due date. A blocker is open from the day it is raised to the day before it is resolved,
//!   and overdue from the day after its due date, so each figure at a period's end is a sum over the days up to it.
//!
//! At a million projects and two million blockers, each of these took the home page's KPIs a second to count from
//! the records. A test holds each kept table equal to its records after every kind of write.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

use crate::util::execute_for;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One table of counts the database keeps from the rows of another.
pub(crate) struct Kept {
    /// The table kept.
    pub(crate) table: &'static str,
    /// Its key columns.
    pub(crate) keys: &'static [&'static str],
    /// Its counts, summed over the rows of the source.
    pub(crate) amounts: &'static [&'static str],
    /// The table it is kept from.
    pub(crate) source: &'static str,
    /// The source's columns a contribution reads (SQLite keeps the table when one of them changes).
    pub(crate) reads: &'static [&'static str],
    /// What each row of `{rows}` adds to the keys it names, times `{sign}` (`(1)` or `(-1)`): a `UNION ALL` of selects over
    /// `{rows} r`, giving the key columns and the counts in order. `{day_after_due}` is the day after `r.due_date`.
    pub(crate) contributions: &'static str,
}

/// The projects' reach days: each stage a project reached adds it and its agreed investment to that stage and day.
const PROJECT_REACH_DAYS: Kept = Kept {
    table: "project_reach_days",
    keys: &["stage", "day", "major"],
    amounts: &["projects", "yuan"],
    source: "projects",
    reads: &[
        "reached_lead_on",
        "reached_negotiating_on",
        "reached_signed_on",
        "reached_landed_on",
        "reached_started_on",
        "reached_producing_on",
        "is_major",
        "agreed_investment_yuan",
    ],
    contributions: "
        SELECT 0 AS stage, r.reached_lead_on AS day, r.is_major AS major, {sign} AS projects,
            {sign} * COALESCE(r.agreed_investment_yuan, 0) AS yuan FROM {rows} r WHERE r.reached_lead_on IS NOT NULL
        UNION ALL SELECT 1, r.reached_negotiating_on, r.is_major, {sign}, {sign} * COALESCE(r.agreed_investment_yuan, 0)
            FROM {rows} r WHERE r.reached_negotiating_on IS NOT NULL
        UNION ALL SELECT 2, r.reached_signed_on, r.is_major, {sign}, {sign} * COALESCE(r.agreed_investment_yuan, 0)
            FROM {rows} r WHERE r.reached_signed_on IS NOT NULL
        UNION ALL SELECT 3, r.reached_landed_on, r.is_major, {sign}, {sign} * COALESCE(r.agreed_investment_yuan, 0)
            FROM {rows} r WHERE r.reached_landed_on IS NOT NULL
        UNION ALL SELECT 4, r.reached_started_on, r.is_major, {sign}, {sign} * COALESCE(r.agreed_investment_yuan, 0)
            FROM {rows} r WHERE r.reached_started_on IS NOT NULL
        UNION ALL SELECT 5, r.reached_producing_on, r.is_major, {sign}, {sign} * COALESCE(r.agreed_investment_yuan, 0)
            FROM {rows} r WHERE r.reached_producing_on IS NOT NULL",
};

/// The candidates' reach days: each incubation stage a candidate reached adds it to that stage and day.
const CANDIDATE_REACH_DAYS: Kept = Kept {
    table: "candidate_reach_days",
    keys: &["stage", "day"],
    amounts: &["candidates"],
    source: "incubation_candidates",
    reads: &[
        "reached_cultivating_on",
        "reached_applied_on",
        "reached_approved_on",
        "reached_filed_on",
    ],
    contributions: "
        SELECT 0 AS stage, r.reached_cultivating_on AS day, {sign} AS candidates FROM {rows} r
            WHERE r.reached_cultivating_on IS NOT NULL
        UNION ALL SELECT 1, r.reached_applied_on, {sign} FROM {rows} r WHERE r.reached_applied_on IS NOT NULL
        UNION ALL SELECT 2, r.reached_approved_on, {sign} FROM {rows} r WHERE r.reached_approved_on IS NOT NULL
        UNION ALL SELECT 3, r.reached_filed_on, {sign} FROM {rows} r WHERE r.reached_filed_on IS NOT NULL",
};

/// The blockers' days: raised on its day; resolved on its day; overdue from the day after its due date (if it is
/// still open then) until the day it is resolved.
const BLOCKER_DAYS: Kept = Kept {
    table: "blocker_days",
    keys: &["category", "day"],
    amounts: &["opened", "resolved", "overdue"],
    source: "blockers",
    reads: &["category", "opened_on", "resolved_on", "due_date"],
    contributions: "
        SELECT r.category AS category, r.opened_on AS day, {sign} AS opened, 0 AS resolved, 0 AS overdue
            FROM {rows} r
        UNION ALL SELECT r.category, r.resolved_on, 0, {sign}, 0 FROM {rows} r WHERE r.resolved_on IS NOT NULL
        UNION ALL SELECT r.category, {day_after_due}, 0, 0, {sign} FROM {rows} r
            WHERE r.due_date IS NOT NULL AND (r.resolved_on IS NULL OR r.resolved_on > {day_after_due})
        UNION ALL SELECT r.category, r.resolved_on, 0, 0, -{sign} FROM {rows} r
            WHERE r.due_date IS NOT NULL AND r.resolved_on > {day_after_due}",
};

/// Every table of counts kept by triggers, the visits' day totals first (`m20261208_000021_visit_days`, written
/// before this pattern was shared, keeps its own).
const KEPT: [&Kept; 3] = [&PROJECT_REACH_DAYS, &CANDIDATE_REACH_DAYS, &BLOCKER_DAYS];

/// What the database keeps by its triggers from one table.
pub struct Keeper {
    /// The table it is kept from.
    pub source: &'static str,
    /// Its PostgreSQL insert trigger on `source`.
    pub insert_trigger: String,
    /// The table kept (none: columns of `source`).
    pub table: Option<&'static str>,
    /// The statements that count it afresh from `source`.
    pub rebuilt: Vec<String>,
    /// What is kept, as a query; and the same rows counted from the records (equal when nothing is astray).
    pub kept_and_derived: (String, String),
}

/// Everything the database keeps by its triggers, in the order it can be counted afresh (the candidates' reach
/// days before the counts kept from them).
pub fn keepers(backend: DatabaseBackend) -> Vec<Keeper> {
    let visit_days = crate::VISIT_DAYS_FROM_VISITS;
    let reach: Vec<&str> = INCUBATION_REACH.iter().map(|(_, c)| *c).collect();
    let mut out = vec![
        Keeper {
            source: "visits",
            insert_trigger: "visit_days_insert".into(),
            table: Some("visit_days"),
            rebuilt: vec!["DELETE FROM visit_days".into(), visit_days.into()],
            kept_and_derived: (
                "SELECT visit_date, owner_key, owner_id, batches, headcount FROM visit_days".into(),
                visit_days[visit_days.find("SELECT").unwrap_or(0)..].into(),
            ),
        },
        Keeper {
            source: "incubation_events",
            insert_trigger: "candidate_reach_insert".into(),
            table: None,
            rebuilt: vec![candidates_reach("SELECT id FROM incubation_candidates")],
            kept_and_derived: (
                format!("SELECT id, {} FROM incubation_candidates", reach.join(", ")),
                format!("SELECT id, {} FROM incubation_candidates", firsts("AS").join(", ")),
            ),
        },
        crate::m20261209_000025_drop_spans::keeper(),
    ];
    out.extend(
        KEPT.iter()
            .copied()
            .chain([&crate::m20261209_000025_drop_spans::DROP_DAYS])
            .map(|k| Keeper {
                source: k.source,
                insert_trigger: format!("{}_insert", k.table),
                table: Some(k.table),
                rebuilt: vec![format!("DELETE FROM {}", k.table), k.filled(backend)],
                kept_and_derived: (
                    format!(
                        "SELECT {}, {} FROM {}",
                        k.keys.join(", "),
                        k.amounts.join(", "),
                        k.table
                    ),
                    k.derived(backend),
                ),
            }),
    );
    out
}

/// The incubation stages in order, as stored, and the candidate's column keeping the day each was reached.
const INCUBATION_REACH: [(&str, &str); 4] = [
    ("cultivating", "reached_cultivating_on"),
    ("applied", "reached_applied_on"),
    ("approved", "reached_approved_on"),
    ("filed", "reached_filed_on"),
];

impl Kept {
    /// The contributions of `rows` with `sign`, in `backend`'s SQL.
    fn of(&self, backend: DatabaseBackend, rows: &str, sign: &str) -> String {
        let day_after_due = match backend {
            DatabaseBackend::Postgres => "(r.due_date + 1)",
            _ => "date(r.due_date, '+1 day')",
        };
        self.contributions
            .replace("{rows}", rows)
            .replace("{sign}", sign)
            .replace("{day_after_due}", day_after_due)
    }

    /// `contributions` summed per key, the keys whose counts do not all cancel out.
    fn summed(&self, contributions: &str) -> String {
        let keys = self.keys.join(", ");
        let sums: Vec<String> = self.amounts.iter().map(|a| format!("SUM({a}) AS {a}")).collect();
        let nonzero: Vec<String> = self.amounts.iter().map(|a| format!("SUM({a}) <> 0")).collect();
        format!(
            "SELECT {keys}, {} FROM ({contributions}) c GROUP BY {keys} HAVING {}",
            sums.join(", "),
            nonzero.join(" OR ")
        )
    }

    /// The table's rows counted afresh from every row of its source.
    pub(crate) fn derived(&self, backend: DatabaseBackend) -> String {
        self.summed(&self.of(backend, self.source, "(1)"))
    }

    /// Fills the (empty) table from its source.
    pub(crate) fn filled(&self, backend: DatabaseBackend) -> String {
        format!(
            "INSERT INTO {} ({}, {}) {}",
            self.table,
            self.keys.join(", "),
            self.amounts.join(", "),
            self.derived(backend)
        )
    }

    /// Adds `summed` (contributions summed per key) to the table, in key order (so that two writers lock the rows
    /// they share in the same order), then drops the rows left at zero: only those just emptied are, found through
    /// [`Kept::emptied_index`].
    fn added(&self, summed: &str) -> String {
        let (table, keys) = (self.table, self.keys.join(", "));
        let set: Vec<String> = self
            .amounts
            .iter()
            .map(|a| format!("{a} = {table}.{a} + excluded.{a}"))
            .collect();
        format!(
            "INSERT INTO {table} ({keys}, {amounts}) SELECT * FROM ({summed}) s WHERE true ORDER BY {keys} \
             ON CONFLICT ({keys}) DO UPDATE SET {set};
             DELETE FROM {table} WHERE {zero}",
            amounts = self.amounts.join(", "),
            set = set.join(", "),
            zero = self.zero(),
        )
    }

    /// Every count of a row is zero.
    fn zero(&self) -> String {
        let zero: Vec<String> = self.amounts.iter().map(|a| format!("{a} = 0")).collect();
        zero.join(" AND ")
    }

    /// The index of the rows left at zero (none between two statements): a trigger finds the row it emptied through
    /// it, where a search by key read a share of the table on SQLite (2 ms a project update at 100,000 projects).
    pub(crate) fn emptied_index(&self) -> String {
        format!(
            "CREATE INDEX ix_{table}_emptied ON {table} ({keys}) WHERE {zero}",
            table = self.table,
            keys = self.keys.join(", "),
            zero = self.zero()
        )
    }

    /// PostgreSQL: each statement's rows added or taken away at once.
    pub(crate) fn postgres_up(&self) -> String {
        let pg = DatabaseBackend::Postgres;
        let [added, removed] = [("added", "(1)"), ("removed", "(-1)")].map(|(rows, sign)| self.of(pg, rows, sign));
        let [insert, delete, update] = [added.clone(), removed.clone(), format!("{added} UNION ALL {removed}")]
            .map(|c| self.added(&self.summed(&c)));
        postgres_triggers(self.table, self.source, [insert, delete, update])
    }

    /// SQLite: the same, row by row. `NEW` and `OLD` are read as one-row tables.
    pub(crate) fn sqlite_up(&self) -> String {
        let row = |r: &str, sign: &str| {
            let cols: Vec<String> = self.reads.iter().map(|c| format!("{r}.{c} AS {c}")).collect();
            let rows = format!("(SELECT {})", cols.join(", "));
            self.added(&self.summed(&self.of(DatabaseBackend::Sqlite, &rows, sign)))
        };
        let (insert, delete) = (row("NEW", "(1)"), row("OLD", "(-1)"));
        let update = format!("{delete};\n    {insert}");
        sqlite_triggers(
            self.table,
            self.source,
            &self.reads.join(", "),
            [insert, delete, update],
        )
    }
}

/// Each reach-day column of a candidate with `op` and the first day of its events at that stage or a later one:
/// `column = (SELECT ...)` with `op` "=", the select named as the column with `op` "AS".
fn firsts(op: &str) -> Vec<String> {
    INCUBATION_REACH
        .iter()
        .enumerate()
        .map(|(k, (_, column))| {
            let at_or_after: Vec<String> = INCUBATION_REACH[k..].iter().map(|(s, _)| format!("'{s}'")).collect();
            let first = format!(
                "(SELECT MIN(e.occurred_on) FROM incubation_events e \
                 WHERE e.candidate_id = incubation_candidates.id AND e.stage IN ({}))",
                at_or_after.join(", ")
            );
            if op == "AS" {
                format!("{first} AS {column}")
            } else {
                format!("{column} {op} {first}")
            }
        })
        .collect()
}

/// The candidates `ids` (a list or query of their ids) given the reach days of their events.
fn candidates_reach(ids: &str) -> String {
    format!(
        "UPDATE incubation_candidates SET {} WHERE id IN ({ids})",
        firsts("=").join(", ")
    )
}

/// PostgreSQL: a statement's trigger function `{name}_keep` running `insert`, `delete` or `update` (statements over
/// its rows, the transition tables `added` and `removed`), and its three triggers on `source`.
pub(crate) fn postgres_triggers(name: &str, source: &str, [insert, delete, update]: [String; 3]) -> String {
    format!(
        "CREATE FUNCTION {name}_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {insert};
    ELSIF TG_OP = 'DELETE' THEN
        {delete};
    ELSE
        {update};
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER {name}_insert AFTER INSERT ON {source} REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION {name}_keep();
CREATE TRIGGER {name}_update AFTER UPDATE ON {source} REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION {name}_keep();
CREATE TRIGGER {name}_delete AFTER DELETE ON {source} REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION {name}_keep();
"
    )
}

/// SQLite: the row triggers `{name}_insert`, `_delete` and `_update` (when one of `columns` changes) on `source`,
/// running `insert`, `delete` and `update` (statements over `NEW` and `OLD`).
pub(crate) fn sqlite_triggers(
    name: &str,
    source: &str,
    columns: &str,
    [insert, delete, update]: [String; 3],
) -> String {
    format!(
        "CREATE TRIGGER {name}_insert AFTER INSERT ON {source} BEGIN
    {insert};
END;
CREATE TRIGGER {name}_delete AFTER DELETE ON {source} BEGIN
    {delete};
END;
CREATE TRIGGER {name}_update AFTER UPDATE OF {columns} ON {source} BEGIN
    {update};
END;
"
    )
}

/// Drops what [`postgres_triggers`] or [`sqlite_triggers`] created.
pub(crate) fn triggers_down(m: &SchemaManager<'_>, name: &str, source: &str) -> String {
    match m.get_database_backend() {
        DatabaseBackend::Postgres => format!(
            "DROP TRIGGER {name}_delete ON {source}; DROP TRIGGER {name}_update ON {source};
             DROP TRIGGER {name}_insert ON {source}; DROP FUNCTION {name}_keep();"
        ),
        _ => format!("DROP TRIGGER {name}_update; DROP TRIGGER {name}_delete; DROP TRIGGER {name}_insert;"),
    }
}

/// The candidates whose events a statement (PostgreSQL) or a row (SQLite) wrote get their reach days again.
fn candidates_up(backend: DatabaseBackend) -> String {
    let (name, source) = ("candidate_reach", "incubation_events");
    match backend {
        DatabaseBackend::Postgres => postgres_triggers(
            name,
            source,
            [
                "SELECT candidate_id FROM added",
                "SELECT candidate_id FROM removed",
                "SELECT candidate_id FROM added UNION SELECT candidate_id FROM removed",
            ]
            .map(candidates_reach),
        ),
        _ => sqlite_triggers(
            name,
            source,
            "candidate_id, stage, occurred_on",
            [
                "NEW.candidate_id",
                "OLD.candidate_id",
                "OLD.candidate_id, NEW.candidate_id",
            ]
            .map(candidates_reach),
        ),
    }
}

#[derive(DeriveIden)]
enum Tables {
    ProjectReachDays,
    CandidateReachDays,
    BlockerDays,
    IncubationCandidates,
}

#[derive(DeriveIden)]
enum Columns {
    Stage,
    Day,
    Major,
    Projects,
    Yuan,
    Candidates,
    Category,
    Opened,
    Resolved,
    Overdue,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use sea_orm_migration::schema::{big_integer, boolean, date, date_null, small_integer, string_len};
        m.create_table(
            Table::create()
                .table(Tables::ProjectReachDays)
                .col(small_integer(Columns::Stage))
                .col(date(Columns::Day))
                .col(boolean(Columns::Major))
                .col(big_integer(Columns::Projects))
                .col(big_integer(Columns::Yuan))
                .primary_key(
                    Index::create()
                        .col(Columns::Stage)
                        .col(Columns::Day)
                        .col(Columns::Major),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Tables::CandidateReachDays)
                .col(small_integer(Columns::Stage))
                .col(date(Columns::Day))
                .col(big_integer(Columns::Candidates))
                .primary_key(Index::create().col(Columns::Stage).col(Columns::Day))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Tables::BlockerDays)
                .col(string_len(Columns::Category, 16))
                .col(date(Columns::Day))
                .col(big_integer(Columns::Opened))
                .col(big_integer(Columns::Resolved))
                .col(big_integer(Columns::Overdue))
                .primary_key(Index::create().col(Columns::Category).col(Columns::Day))
                .to_owned(),
        )
        .await?;
        for (_, column) in INCUBATION_REACH {
            m.alter_table(
                Table::alter()
                    .table(Tables::IncubationCandidates)
                    .add_column(date_null(Alias::new(column)))
                    .to_owned(),
            )
            .await?;
        }
        let db = m.get_connection();
        let backend = m.get_database_backend();
        db.execute_unprepared(&candidates_reach("SELECT id FROM incubation_candidates"))
            .await?;
        db.execute_unprepared(&candidates_up(backend)).await?;
        for kept in KEPT {
            db.execute_unprepared(&kept.filled(backend)).await?;
            db.execute_unprepared(&kept.emptied_index()).await?;
            execute_for(m, &kept.postgres_up(), &kept.sqlite_up()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for kept in KEPT.iter().rev() {
            db.execute_unprepared(&triggers_down(m, kept.table, kept.source))
                .await?;
        }
        db.execute_unprepared(&triggers_down(m, "candidate_reach", "incubation_events"))
            .await?;
        for (_, column) in INCUBATION_REACH.iter().rev() {
            m.alter_table(
                Table::alter()
                    .table(Tables::IncubationCandidates)
                    .drop_column(Alias::new(*column))
                    .to_owned(),
            )
            .await?;
        }
        for t in [
            Tables::BlockerDays,
            Tables::CandidateReachDays,
            Tables::ProjectReachDays,
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
