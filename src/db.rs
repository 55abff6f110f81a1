//! Database connection and migrations.

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, TransactionTrait};

/// Connects to `url`, creating the folder of a SQLite file first (and putting the file in WAL mode).
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, None).await
}

/// The connections the on-demand figures (funnels, KPIs, 工作台) read through, beside `db` on `url`: on SQLite, whose
/// pool writes through one connection, a pool of read-only connections of their own, one per core (in WAL mode they
/// read side by side and never hold the writer up), so a figure's statements run at once as they do on PostgreSQL;
/// elsewhere `db` itself.
pub async fn readers(db: &DatabaseConnection, url: &str) -> anyhow::Result<DatabaseConnection> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
        return Ok(db.clone());
    }
    let (file, _) = url.split_once('?').unwrap_or((url, ""));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
    connect_with(&format!("{file}?mode=ro"), Some(cores as u32)).await
}

/// How much of a SQLite file is read through a memory map (address space, not memory: the system keeps the pages).
const SQLITE_MMAP_BYTES: &str = "1073741824";

/// [`connect`], with at most `max` connections when given.
async fn connect_with(url: &str, max: Option<u32>) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or_default();
        if let Some(dir) = std::path::Path::new(file).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    if let Some(max) = max {
        opts.max_connections(max).min_connections(0);
    }
    let read_only = url.contains("mode=ro");
    opts.map_sqlx_sqlite_opts(move |o| {
        // SQLite reads the file's pages through a memory map instead of copying each in with a read call: every
        // connection shares the system's cache of the file (a figure's statements read most of an index each).
        let o = o.pragma("mmap_size", SQLITE_MMAP_BYTES);
        // WAL mode: a reader (a backup, a second process) does not hold up the writer, nor the writer readers.
        match read_only {
            true => o,
            false => o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal),
        }
    });
    Database::connect(opts)
        .await
        .with_context(|| format!("connecting to the database at {}", redact(url)))
}

/// Applies every pending migration. On PostgreSQL under an advisory lock that a transaction of its own holds, so
/// that replicas of a new version starting at once apply each migration once: the others wait for the lock, then
/// find nothing left to do (docs/DEPLOYMENT.md).
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return step(db, Step::Up(None)).await;
    }
    let lock = db.begin().await?;
    lock.execute_unprepared("SELECT pg_advisory_xact_lock(4182026001)")
        .await
        .context("waiting for another replica's migrations")?;
    let done = step(db, Step::Up(None)).await;
    lock.commit().await?;
    done
}

/// Migrations to apply or revert.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Apply the next N, or all.
    Up(Option<u32>),
    /// Revert the last N.
    Down(u32),
}

/// Applies or reverts migrations, and records in the audit log which ones (a schema change is an important action).
pub async fn step(db: &DatabaseConnection, step: Step) -> anyhow::Result<()> {
    let before = applied(db).await?;
    match step {
        Step::Up(n) => Migrator::up(db, n).await.context("applying migrations")?,
        Step::Down(n) => Migrator::down(db, Some(n)).await.context("reverting migrations")?,
    }
    let after = applied(db).await?;
    if before == after {
        return Ok(());
    }
    let detail = serde_json::json!({
        "applied": after.iter().filter(|m| !before.contains(m)).collect::<Vec<_>>(),
        "reverted": before.iter().filter(|m| !after.contains(m)).collect::<Vec<_>>(),
    });
    let recorded = crate::service::audit::event(db, "migrate", None, Some(detail)).await;
    // Reverted below the audit log's own migrations, there is no log to write to.
    if let (Err(e), Step::Up(_)) = (recorded, step) {
        return Err(e.into());
    }
    Ok(())
}

/// The names of the migrations applied.
async fn applied(db: &DatabaseConnection) -> anyhow::Result<Vec<String>> {
    Ok(Migrator::get_applied_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect())
}

/// The tables the database keeps by its triggers ([`migration::keepers`]): a copy does not copy them, the
/// target's triggers rebuild them.
pub fn kept_tables() -> Vec<&'static str> {
    migration::keepers(sea_orm::DatabaseBackend::Sqlite)
        .iter()
        .filter_map(|k| k.table)
        .collect()
}

/// Before a bulk insert into the tables `sources` in `txn` (a copy between databases, a generated park): on
/// PostgreSQL, what the database keeps from them stops being kept per statement until [`kept_rebuilt`]. Kept per
/// statement, each day's row would be rewritten by every statement of the transaction, and every version of it kept
/// until the commit, so each statement would walk longer chains of them. Takes the table owner's right (the
/// service's user owns its tables); SQLite keeps them row by row in place and needs nothing.
pub async fn kept_paused(txn: &impl ConnectionTrait, sources: &[&str]) -> anyhow::Result<()> {
    let backend = txn.get_database_backend();
    if backend == sea_orm::DatabaseBackend::Postgres {
        for k in migration::keepers(backend)
            .iter()
            .filter(|k| sources.contains(&k.source))
        {
            txn.execute_unprepared(&format!(
                "ALTER TABLE {} DISABLE TRIGGER {}",
                k.source, k.insert_trigger
            ))
            .await?;
        }
    }
    Ok(())
}

/// After [`kept_paused`]: what the database keeps from `sources` counted afresh, and kept again per statement.
pub async fn kept_rebuilt(txn: &impl ConnectionTrait, sources: &[&str]) -> anyhow::Result<()> {
    let backend = txn.get_database_backend();
    if backend == sea_orm::DatabaseBackend::Postgres {
        for k in migration::keepers(backend)
            .iter()
            .filter(|k| sources.contains(&k.source))
        {
            for sql in &k.rebuilt {
                txn.execute_unprepared(sql).await?;
            }
            txn.execute_unprepared(&format!("ALTER TABLE {} ENABLE TRIGGER {}", k.source, k.insert_trigger))
                .await?;
        }
    }
    Ok(())
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..s + 3], &creds[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
