//! Backups and restores of the whole database: a consistent snapshot taken while the service runs and writes
//! (SQLite's online backup API on a connection of its own; PostgreSQL's `pg_dump --format=custom` on a snapshot whose
//! row counts are read in the same snapshot), one file per backup with a manifest beside it (`<file>.manifest.json`: product and schema
//! version, the row count of every table, the file's SHA-256), written under temporary names and renamed only once
//! complete and checked. A restore checks the manifest and the SHA-256 first, refuses a database that holds records
//! unless forced (then it backs that database up first), applies the migrations newer than the backup, and compares
//! the row counts with the manifest.

pub mod copy;
pub mod store;

pub use store::{BackupConfig, Plan, S3Config, Stored};

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseBackend, DatabaseConnection, IsolationLevel, Statement, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a backup holds, written beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The product version that wrote it.
    pub product_version: String,
    /// The last migration applied to the database backed up.
    pub schema_version: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// When it was taken (UTC, RFC 3339).
    pub taken_at: String,
    /// The backup file's name (beside the manifest).
    pub file: String,
    /// The file's size in bytes.
    pub bytes: u64,
    /// The file's SHA-256, hex.
    pub sha256: String,
    /// The number of rows of every table, as of the snapshot.
    pub tables: BTreeMap<String, i64>,
}

/// The manifest of a backup file: `<file>.manifest.json`.
pub fn manifest_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

/// Which database a URL names.
fn backend_of(url: &str) -> DatabaseBackend {
    if url.starts_with("postgres") {
        DatabaseBackend::Postgres
    } else {
        DatabaseBackend::Sqlite
    }
}

/// The file of a SQLite URL (`sqlite://data/x.db?mode=rwc` → `data/x.db`).
fn sqlite_file(url: &str) -> anyhow::Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .context("not a SQLite URL")?;
    Ok(PathBuf::from(rest.split('?').next().unwrap_or_default()))
}

/// The tables of the database (the application's and the migrations' own), in name order.
async fn tables(db: &impl ConnectionTrait) -> anyhow::Result<Vec<String>> {
    let sql = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1",
    };
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    rows.iter().map(|r| Ok(r.try_get::<String>("", "name")?)).collect()
}

/// The row count of every table.
pub async fn row_counts(db: &impl ConnectionTrait) -> anyhow::Result<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    for t in tables(db).await? {
        let sql = format!("SELECT COUNT(*) AS n FROM \"{}\"", t.replace('"', "\"\""));
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await?
            .context("a count answers one row")?;
        out.insert(t, row.try_get::<i64>("", "n")?);
    }
    Ok(out)
}

/// The last migration applied.
async fn schema_version(db: &impl ConnectionTrait) -> anyhow::Result<String> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT MAX(version) AS v FROM seaql_migrations",
        ))
        .await?
        .context("no migrations table")?;
    Ok(row.try_get::<Option<String>>("", "v")?.unwrap_or_default())
}

fn sha256_of(path: &Path) -> anyhow::Result<(String, u64)> {
    let f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    hashed_copy(f, std::io::sink())
}

/// Copies `from` into `to` (a file, or nowhere), hashing on the way; answers the SHA-256 and the bytes.
fn hashed_copy(mut from: impl std::io::Read, mut to: impl std::io::Write) -> anyhow::Result<(String, u64)> {
    let (mut h, mut bytes, mut buf) = (Sha256::new(), 0u64, vec![0u8; 1 << 20]);
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        to.write_all(&buf[..n])?;
        bytes += n as u64;
    }
    to.flush()?;
    Ok((hex::encode(h.finalize()), bytes))
}

/// A PostgreSQL URL without its password, and the password: the programs get it through `PGPASSWORD`, so that it is
/// not on their command line for every local user to read.
fn without_password(url: &str) -> (String, Option<String>) {
    let (Some(s), Some(at)) = (url.find("://"), url.rfind('@')) else {
        return (url.to_owned(), None);
    };
    if at < s + 3 {
        return (url.to_owned(), None);
    }
    match url[s + 3..at].split_once(':') {
        Some((user, pw)) => {
            let pw = percent_encoding::percent_decode_str(pw)
                .decode_utf8_lossy()
                .into_owned();
            (format!("{}{user}{}", &url[..s + 3], &url[at..]), Some(pw))
        }
        _ => (url.to_owned(), None),
    }
}

/// A PostgreSQL program a backup or a restore runs on the database at `url` (its last argument), the password in
/// its environment.
fn command(program: &str, args: &[&std::ffi::OsStr], url: &str) -> std::process::Command {
    let (url, password) = without_password(url);
    let mut cmd = std::process::Command::new(program);
    cmd.args(args).arg(url);
    if let Some(pw) = password {
        cmd.env("PGPASSWORD", pw);
    }
    cmd
}

/// `cmd` at a lower CPU priority (`nice -n 10`, which answers 127 when the program is missing): on a small machine a
/// backup then yields the cores to the service's requests (docs/BENCHMARKS.md, "Backup").
fn niced(cmd: &std::process::Command) -> std::process::Command {
    let mut n = std::process::Command::new("nice");
    n.args(["-n", "10"]).arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            n.env(k, v);
        }
    }
    n
}

/// Why a program could not be started: a clear error naming it when it is not installed.
fn not_started(program: &str, e: &std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        anyhow::anyhow!("{program} is not installed (Debian: apt-get install postgresql-client)")
    } else {
        anyhow::anyhow!("running {program}: {e}")
    }
}

/// Runs a PostgreSQL program to its end (see [`command`]).
fn run(program: &str, args: &[&std::ffi::OsStr], url: &str) -> anyhow::Result<()> {
    let out = command(program, args, url)
        .output()
        .map_err(|e| not_started(program, &e))?;
    if !out.status.success() {
        bail!("{program} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Takes a backup of the database at `url` (open as `db`) into the folder `dir`: the file and its manifest, both
/// complete and checked before they take their names. Answers the file.
pub async fn backup(db: &DatabaseConnection, url: &str, dir: &Path) -> anyhow::Result<(PathBuf, Manifest)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let schema = schema_version(db).await?;
    let now = chrono::Utc::now();
    let backend = backend_of(url);
    let ext = if backend == DatabaseBackend::Postgres {
        "pgdump"
    } else {
        "sqlite"
    };
    let name = format!("invest-crm-{}-{schema}.{ext}", now.format("%Y%m%dT%H%M%S%.3fZ"));
    let file = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let Taken { tables, sha256, bytes } = match backend {
        DatabaseBackend::Postgres => dump_postgres(db, url, &tmp).await?,
        _ => copy_sqlite(url, &tmp).await?,
    };
    let manifest = Manifest {
        product_version: env!("CARGO_PKG_VERSION").into(),
        schema_version: schema,
        database: if backend == DatabaseBackend::Postgres {
            "postgres"
        } else {
            "sqlite"
        }
        .into(),
        taken_at: now.to_rfc3339(),
        file: name,
        bytes,
        sha256,
        tables,
    };
    let tmp_manifest = dir.join(format!(".{}.manifest.json.tmp", manifest.file));
    std::fs::write(&tmp_manifest, serde_json::to_vec_pretty(&manifest)?)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::File::open(&tmp_manifest)?.sync_all()?;
    std::fs::rename(&tmp, &file)?;
    std::fs::rename(&tmp_manifest, manifest_path(&file))?;
    let detail = serde_json::json!({ "file": manifest.file, "bytes": manifest.bytes, "sha256": manifest.sha256 });
    crate::service::audit::event(db, "backup", None, Some(detail)).await?;
    Ok((file, manifest))
}

/// What a backup file holds: the rows of every table, and the file's SHA-256 and size.
struct Taken {
    tables: BTreeMap<String, i64>,
    sha256: String,
    bytes: u64,
}

/// `pg_dump --format=custom` into `tmp` on a snapshot whose row counts are read in the same snapshot, while the dump
/// runs: the manifest says what the file holds while writes go on. The dump is hashed as it is written.
async fn dump_postgres(db: &DatabaseConnection, url: &str, tmp: &Path) -> anyhow::Result<Taken> {
    let backend = DatabaseBackend::Postgres;
    let txn = db
        .begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
        .await?;
    let snap = txn
        .query_one_raw(Statement::from_string(backend, "SELECT pg_export_snapshot() AS s"))
        .await?
        .context("a snapshot")?
        .try_get::<String>("", "s")?;
    let snapshot = format!("--snapshot={snap}");
    let (url, tmp) = (url.to_owned(), tmp.to_owned());
    let dump = tokio::task::spawn_blocking(move || {
        // zlib level 3 instead of pg_dump's 6: half the time and CPU (the service shares the machine) for a file
        // about a tenth larger (docs/BENCHMARKS.md, "Backup").
        let args: [&std::ffi::OsStr; 3] = ["--format=custom".as_ref(), "--compress=3".as_ref(), snapshot.as_ref()];
        let mut child = niced(&command("pg_dump", &args, &url))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| not_started("pg_dump", &e))?;
        let out = child.stdout.take().context("pg_dump's output")?;
        let written = std::fs::File::create(&tmp)
            .map_err(anyhow::Error::from)
            .and_then(|f| hashed_copy(out, std::io::BufWriter::with_capacity(1 << 20, f)));
        let done = child.wait_with_output()?;
        if done.status.code() == Some(127) {
            return Err(not_started("pg_dump", &std::io::ErrorKind::NotFound.into()));
        }
        if !done.status.success() {
            bail!("pg_dump failed: {}", String::from_utf8_lossy(&done.stderr).trim());
        }
        written
    });
    let counts = row_counts(&txn).await;
    let dumped = dump.await?;
    txn.commit().await?;
    let (sha256, bytes) = dumped?;
    Ok(Taken {
        tables: counts?,
        sha256,
        bytes,
    })
}

/// SQLite's online backup into `tmp`, page by page from a connection of its own (the service's connection stays
/// free, and in WAL mode writers go on), in one step: one consistent read. Then the copy is hashed while its rows
/// are counted.
async fn copy_sqlite(url: &str, tmp: &Path) -> anyhow::Result<Taken> {
    let (src, dst) = (sqlite_file(url)?, tmp.to_owned());
    tokio::task::spawn_blocking(move || sqlite_online_backup(&src, &dst)).await??;
    // The copy is written without syncing; it is flushed to disk while it is hashed, before it takes its name.
    let (file, synced) = (tmp.to_owned(), tmp.to_owned());
    let hash = tokio::task::spawn_blocking(move || sha256_of(&file));
    let sync = tokio::task::spawn_blocking(move || std::fs::File::open(&synced)?.sync_all());
    let copy = crate::db::connect(&format!("sqlite://{}?mode=ro", tmp.display())).await?;
    let counts = row_counts(&copy).await;
    copy.close().await?;
    sync.await??;
    let (sha256, bytes) = hash.await??;
    Ok(Taken {
        tables: counts?,
        sha256,
        bytes,
    })
}

/// `sqlite3_backup_*` from the file `src` into the new file `dst`.
fn sqlite_online_backup(src: &Path, dst: &Path) -> anyhow::Result<()> {
    use libsqlite3_sys as ffi;
    use std::ffi::{CStr, CString};

    /// A connection of SQLite's C API, closed when dropped.
    struct Conn(*mut ffi::sqlite3);
    impl Drop for Conn {
        fn drop(&mut self) {
            // SAFETY: the handle came from sqlite3_open_v2 and is closed once; the backup object using it is
            // finished before (sqlite3_close on a null handle is a no-op).
            unsafe { ffi::sqlite3_close(self.0) };
        }
    }
    impl Conn {
        fn open(path: &Path, flags: std::ffi::c_int) -> anyhow::Result<Conn> {
            let name = CString::new(path.as_os_str().as_encoded_bytes())?;
            let mut handle = std::ptr::null_mut();
            // SAFETY: a valid C string and an out-pointer; SQLite asks that the handle be closed even when opening
            // failed, which Conn's drop does.
            let rc = unsafe { ffi::sqlite3_open_v2(name.as_ptr(), &mut handle, flags, std::ptr::null()) };
            let conn = Conn(handle);
            if rc != ffi::SQLITE_OK {
                bail!("opening {}: {}", path.display(), conn.message());
            }
            // SAFETY: an open handle.
            unsafe { ffi::sqlite3_busy_timeout(conn.0, 5000) };
            Ok(conn)
        }

        fn message(&self) -> String {
            // SAFETY: sqlite3_errmsg answers a string owned by the connection, valid until its next call.
            unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(self.0)) }
                .to_string_lossy()
                .into_owned()
        }
    }

    let from = Conn::open(src, ffi::SQLITE_OPEN_READONLY)?;
    let to = Conn::open(dst, ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_CREATE)?;
    // A new file nobody reads until it is complete: no journal, no sync (the caller syncs it once, while hashing).
    let pragmas = c"PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;";
    // SAFETY: an open connection and a constant statement; no callback.
    let rc = unsafe { ffi::sqlite3_exec(to.0, pragmas.as_ptr(), None, std::ptr::null_mut(), std::ptr::null_mut()) };
    if rc != ffi::SQLITE_OK {
        bail!("preparing {}: {}", dst.display(), to.message());
    }
    // SAFETY: both connections are open and outlive the backup object, which is finished before they close.
    let (step, finish) = unsafe {
        let b = ffi::sqlite3_backup_init(to.0, c"main".as_ptr(), from.0, c"main".as_ptr());
        if b.is_null() {
            bail!("starting the backup of {}: {}", src.display(), to.message());
        }
        let step = ffi::sqlite3_backup_step(b, -1);
        (step, ffi::sqlite3_backup_finish(b))
    };
    if step != ffi::SQLITE_DONE || finish != ffi::SQLITE_OK {
        bail!("backing up {}: {}", src.display(), to.message());
    }
    // The copy carries the source's WAL mode in its header: make it a plain single file, readable read-only.
    // SAFETY: as above.
    let rc = unsafe {
        ffi::sqlite3_exec(
            to.0,
            c"PRAGMA journal_mode = DELETE;".as_ptr(),
            None,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if rc != ffi::SQLITE_OK {
        bail!("finishing {}: {}", dst.display(), to.message());
    }
    Ok(())
}

/// Reads a backup's manifest and checks the file against it (size and SHA-256): a damaged backup is refused with
/// the reason.
pub fn check(file: &Path) -> anyhow::Result<Manifest> {
    let mpath = manifest_path(file);
    let text = std::fs::read(&mpath).with_context(|| {
        format!(
            "reading the manifest {} (a backup is restored with its manifest)",
            mpath.display()
        )
    })?;
    let m: Manifest = serde_json::from_slice(&text).with_context(|| format!("{} is no manifest", mpath.display()))?;
    let (sha256, bytes) = sha256_of(file)?;
    if bytes != m.bytes || sha256 != m.sha256 {
        bail!(
            "{} is damaged: its manifest says {} bytes with SHA-256 {}, the file has {bytes} bytes with SHA-256 {sha256}",
            file.display(),
            m.bytes,
            m.sha256
        );
    }
    Ok(m)
}

/// What a restore did: the manifest it followed and the rows of every table after it, against the manifest's.
#[derive(Debug)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// The rows of every table after the restore (and the migrations it applied).
    pub tables: BTreeMap<String, i64>,
    /// The backup of what the database held before, when a forced restore replaced records.
    pub saved_first: Option<PathBuf>,
}

/// Restores `file` into the database at `url`: refused when the backup is damaged, of another kind of database,
/// or when the database holds records (unless `force`, which first backs it up into `dir`). Migrations newer than
/// the backup are applied after it.
pub async fn restore(url: &str, file: &Path, force: bool, dir: &Path) -> anyhow::Result<Restored> {
    let manifest = check(file)?;
    let backend = backend_of(url);
    let kind = if backend == DatabaseBackend::Postgres {
        "postgres"
    } else {
        "sqlite"
    };
    // A SQLite backup also restores into PostgreSQL (table by table); a PostgreSQL dump only into PostgreSQL.
    let across = manifest.database == "sqlite" && kind == "postgres";
    if manifest.database != kind && !across {
        bail!(
            "{} is a {} backup; it restores into a {} database only (restore it there, then `invest-crm copy` moves \
             it to another database)",
            file.display(),
            manifest.database,
            manifest.database
        );
    }
    let mut saved_first = None;
    let target = crate::db::connect(url).await?;
    // A new database gets the schema first, so that what it holds can be asked (and a SQLite file exists).
    crate::db::migrate(&target).await?;
    if !crate::demo::is_empty(&target).await? {
        if !force {
            bail!("the database holds records: restore refuses to replace them (--force backs them up first)");
        }
        saved_first = Some(backup(&target, url, dir).await?.0);
    }
    match backend {
        DatabaseBackend::Postgres if across => {
            copy_sqlite_backup(file, &target, dir).await?;
            target.close().await?;
        }
        DatabaseBackend::Postgres => {
            let (url, file) = (url.to_owned(), file.to_owned());
            tokio::task::spawn_blocking(move || {
                let args: [&std::ffi::OsStr; 6] = [
                    "--clean".as_ref(),
                    "--if-exists".as_ref(),
                    "--no-owner".as_ref(),
                    "--single-transaction".as_ref(),
                    file.as_os_str(),
                    "--dbname".as_ref(),
                ];
                run("pg_restore", &args, &url)
            })
            .await??;
            target.close().await?;
        }
        _ => {
            target.close().await?;
            let path = sqlite_file(url)?;
            let tmp = path.with_extension("restoring");
            std::fs::copy(file, &tmp).with_context(|| format!("copying {} to {}", file.display(), tmp.display()))?;
            std::fs::File::open(&tmp)?.sync_all()?;
            // The old file's write-ahead log must not be replayed onto the restored one (the service is stopped,
            // the target closed: nothing in it is unwritten).
            for side in ["-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(side);
                std::fs::remove_file(p).ok();
            }
            std::fs::rename(&tmp, &path)?;
        }
    }
    let db = crate::db::connect(url).await?;
    crate::db::migrate(&db).await?;
    let tables = row_counts(&db).await?;
    let detail = serde_json::json!({ "file": manifest.file, "taken_at": manifest.taken_at, "sha256": manifest.sha256 });
    crate::service::audit::event(&db, "restore", None, Some(detail)).await?;
    db.close().await?;
    Ok(Restored {
        manifest,
        tables,
        saved_first,
    })
}

/// A SQLite backup copied table by table into `target` (migrated): a working copy of the file is brought to this
/// version's schema first, so that both sides have the same tables and columns.
async fn copy_sqlite_backup(file: &Path, target: &DatabaseConnection, dir: &Path) -> anyhow::Result<()> {
    let staging = dir.join(".staging");
    std::fs::create_dir_all(&staging)?;
    let work = staging.join(format!(
        "{}.copying",
        file.file_name().and_then(|n| n.to_str()).unwrap_or("backup")
    ));
    std::fs::copy(file, &work).with_context(|| format!("copying {} to {}", file.display(), work.display()))?;
    let copied = async {
        let src = crate::db::connect(&format!("sqlite://{}", work.display())).await?;
        crate::db::migrate(&src).await?;
        let done = copy::database(&src, target).await;
        src.close().await?;
        done
    }
    .await;
    std::fs::remove_file(&work).ok();
    copied.map(|_| ())
}

/// Copies the whole database at `from` into the one at `to` (both migrated first), which must hold no records;
/// answers the rows of every table copied. The way from PostgreSQL back to SQLite, or between two servers.
pub async fn copy_between(from: &str, to: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    let src = crate::db::connect(from).await?;
    crate::db::migrate(&src).await?;
    let dst = crate::db::connect(to).await?;
    crate::db::migrate(&dst).await?;
    if !crate::demo::is_empty(&dst).await? {
        bail!("the target database holds records: copy refuses to replace them");
    }
    let copied = copy::database(&src, &dst).await?;
    let detail = serde_json::json!({ "from": crate::db::redact(from), "rows": copied.values().sum::<i64>() });
    crate::service::audit::event(&dst, "restore", None, Some(detail)).await?;
    src.close().await?;
    dst.close().await?;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_password_leaves_the_command_line() {
        assert_eq!(
            super::without_password("postgres://crm:s%40cret@db:5432/crm?sslmode=require"),
            (
                "postgres://crm@db:5432/crm?sslmode=require".to_owned(),
                Some("s@cret".to_owned())
            )
        );
        assert_eq!(
            super::without_password("postgres://postgres@127.0.0.1/test"),
            ("postgres://postgres@127.0.0.1/test".to_owned(), None)
        );
    }
}
