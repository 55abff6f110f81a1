//! The command line's words: commands, their arguments and their help texts (clap).

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, Subcommand};
use entity::enums::Role;

/// invest-crm: investment-attraction CRM (招商引资 CRM) for a park's investment-promotion bureau.
///
/// Configuration comes from built-in defaults, then the TOML file (`--config`, default ./invest-crm.toml if it
/// exists), then environment variables (INVEST_CRM_LISTEN, INVEST_CRM_DATA_DIR, INVEST_CRM_LOG, DATABASE_URL),
/// then the flags below.
#[derive(Parser)]
#[command(version, about, long_about)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "INVEST_CRM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL (postgres://… or sqlite://…); default: SQLite file under the data folder.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP service (applies pending migrations first); stops gracefully on Ctrl-C or SIGTERM.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 or 0.0.0.0:8080.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Fill an empty database with the demo park first (a database with records is left as it is).
        #[arg(long)]
        demo: bool,
    },
    /// Fill the database with the demo park (2023–2024, docs/DEFINITIONS.md). Refuses a database that holds records.
    SeedDemo {
        /// Replace the records of a database that is not empty.
        #[arg(long)]
        force: bool,
    },
    /// Inspect or change the database schema.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the OpenAPI document (the same as GET /openapi.json).
    Openapi,
    /// Back the database up while the service runs: one file (SQLite's online backup, PostgreSQL's pg_dump
    /// --format=custom) and its manifest (schema version, rows per table, SHA-256), named with the time and schema.
    Backup {
        /// The folder to write to (default: where the scheduled backups go, `backup.dir` or `backup.s3`, pruned as
        /// they are).
        #[arg(long)]
        to: Option<PathBuf>,
    },
    /// Restore a backup into the configured database (checked against its manifest first; refused if the database
    /// holds records), then apply newer migrations and print the rows of every table against the manifest. A SQLite
    /// backup also restores into PostgreSQL (table by table).
    Restore {
        /// The backup file (its manifest beside it), or the name of a backup in the configured bucket.
        file: PathBuf,
        /// Replace the records of a database that is not empty (they are backed up first).
        #[arg(long)]
        force: bool,
        /// The database to restore into, instead of the configured one (e.g. `postgres://…` to move a SQLite park
        /// up).
        #[arg(long)]
        to: Option<String>,
    },
    /// Copy a whole database into another one that holds no records, table by table (PostgreSQL back to SQLite, or
    /// one server to another); both are migrated first.
    Copy {
        /// The database copied (default: the configured one).
        #[arg(long)]
        from: Option<String>,
        /// The database copied into.
        #[arg(long)]
        to: String,
    },
    /// The audit trail: verify its hash chain, archive old entries.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Attachments' files: check that every attachment's file is in the store (after a restore, say), or tidy the
    /// store now as the `files` job does.
    Files {
        #[command(subcommand)]
        action: FilesAction,
    },
    /// Work-chat channels (消息推送): send a test message now, or print the weekly summary as a platform shows it.
    Channel {
        #[command(subcommand)]
        action: ChannelAction,
    },
    /// Benchmarks: a synthetic park of a given size, and timings of the analytics on it (see docs/BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        action: BenchAction,
    },
    /// Export a dataset to a file, as the API does (CSV with BOM, XLSX or JSON; contact details unmasked); the
    /// `funnel` and `kpis` tables need `--period`.
    Export {
        /// projects, stage-events, visits, outreach, blockers, incubation, contacts, support-funds, funnel or kpis.
        dataset: String,
        /// csv, xlsx or json.
        #[arg(long, default_value = "csv")]
        format: String,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
        /// First day (inclusive) of the dataset's own date.
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Last day (inclusive).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        /// The period of the `funnel` and `kpis` tables: 2024, 2024-H1, 2024-Q2, 2024-05, 2024-W21.
        #[arg(long)]
        period: Option<String>,
        /// For `funnel` and `kpis`: ignore records dated after this day (default: today, or the period's last day
        /// once it has ended).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
    /// Import a ledger (XLSX or CSV) as the API does: a preview unless --commit; prints the report as JSON.
    Import {
        /// The dataset: projects, companies, visits, fund-arrivals, blockers, outreach or incubation.
        dataset: String,
        /// The ledger file.
        file: PathBuf,
        /// Write (else only report what would be written).
        #[arg(long)]
        commit: bool,
        /// `skip`: commit the good rows even when others have errors (by default a commit with errors writes nothing).
        #[arg(long, value_parser = ["abort", "skip"], default_value = "abort")]
        on_error: String,
        /// The sheet to read (by default the first with a recognisable header).
        #[arg(long)]
        sheet: Option<String>,
        /// The header's row number, from 1 (detected by default).
        #[arg(long)]
        header_row: Option<usize>,
    },
    /// Reports: the work summary (工作总结) of a period.
    Report {
        #[command(subcommand)]
        action: ReportAction,
    },
    /// Run or list scheduled jobs (analytics, …).
    Job {
        #[command(subcommand)]
        action: JobAction,
    },
    /// Manage user accounts (the password is prompted for, or read from standard input when it is not a terminal).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

#[derive(Subcommand)]
pub enum ReportAction {
    /// Write one leader's weekly e-mail of a week to a file (.eml; the HTML beside it as .html) to look at.
    Preview {
        /// The ISO week, e.g. 2024-W21.
        #[arg(long)]
        week: String,
        /// The leader's name (display name).
        #[arg(long)]
        to: String,
        /// The .eml file to write.
        #[arg(long, default_value = "weekly-preview.eml")]
        out: PathBuf,
    },
    /// Write the investment-promotion section of a work summary.
    Summary {
        /// 2024, 2024-H1, 2024-Q2, 2024-05 or 2024-W21.
        #[arg(long)]
        period: String,
        /// text, markdown or docx.
        #[arg(long, default_value = "text")]
        format: String,
        /// Ignore records after this date (default: today in Asia/Shanghai).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// Write to this file instead of standard output (required for docx).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum BenchAction {
    /// Write a deterministic synthetic park into an empty database.
    Generate {
        /// Projects (each with 1–10 stage events, some moving back, dropped or reopened).
        #[arg(long, default_value_t = 100_000)]
        projects: usize,
        /// Visits.
        #[arg(long, default_value_t = 1_000_000)]
        visits: usize,
        /// Blockers.
        #[arg(long, default_value_t = 200_000)]
        blockers: usize,
        /// Incubation candidates.
        #[arg(long, default_value_t = 20_000)]
        candidates: usize,
    },
    /// Write a deterministic synthetic project ledger (XLSX, as bureaus keep it) for timing the import.
    Ledger {
        /// Data rows.
        #[arg(long, default_value_t = 20_000)]
        rows: usize,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Time an on-demand funnel with a breakdown and the whole nightly analytics job.
    Analytics {
        /// As-of date (default 2024-12-31, inside the synthetic park's years).
        #[arg(long, default_value = "2024-12-31")]
        as_of: chrono::NaiveDate,
        /// How many times to time the on-demand funnel.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        /// Also write the medians, ranges and ratios as JSON to this file (e.g. docs/bench/…json).
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Fill an empty audit log with sealed entries and time `audit verify` over them.
    AuditVerify {
        /// Entries.
        #[arg(long, default_value_t = 1_000_000)]
        entries: usize,
        /// How many times to time the verification.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
}

#[derive(Subcommand)]
pub enum AuditAction {
    /// Walk the audit trail's hash chain and name the first entry that does not fit (changed, deleted, inserted);
    /// exits non-zero then.
    Verify {
        /// The archive the database's chain continues (written by `audit archive`): verified first, and the
        /// boundary with it.
        #[arg(long)]
        from_archive: Option<PathBuf>,
    },
    /// Move the sealed entries older than a day to a JSON Lines file (with their seals), removing them from the
    /// database only once the file is written and verified; refuses entries younger than `audit.retention_days`.
    Archive {
        /// Entries before this day (UTC) are archived.
        #[arg(long)]
        before: chrono::NaiveDate,
        /// The file to write (must not exist).
        #[arg(long)]
        to: PathBuf,
    },
}

/// What `invest-crm channel` does.
#[derive(Subcommand)]
pub enum ChannelAction {
    /// Send a test message to the channel of this name now; the platform's refusal is printed and the command
    /// exits non-zero. An application's goes to `--to` (a chat user id).
    Test {
        /// The channel's name.
        name: String,
        /// The chat user id an application's test message goes to.
        #[arg(long)]
        to: Option<String>,
    },
    /// Print the whole park's weekly summary of a week as the markdown a platform's group robot receives.
    Preview {
        /// The ISO week, e.g. 2024-W21.
        #[arg(long)]
        week: String,
        /// wecom_robot, dingtalk_robot, feishu_robot, wecom_app or dingtalk_app.
        #[arg(long)]
        kind: String,
    },
}

/// What `invest-crm files` does.
#[derive(Subcommand)]
pub enum FilesAction {
    /// Check that the file of every attachment (deleted ones not yet purged included) is in the store; with
    /// `--hash`, that its bytes still have their SHA-256. Names each one missing or changed and exits non-zero then.
    Check {
        /// Read every file and hash it (slower: the whole store is read).
        #[arg(long)]
        hash: bool,
    },
    /// Mark the attachments of deleted records as deleted, purge those past `files.retention_days`, and sweep the
    /// store of what interrupted uploads left (an hour old or more).
    Tidy,
}

#[derive(Subcommand)]
pub enum JobAction {
    /// Run a job now (recorded in the job runs like a scheduled one).
    Run {
        /// The job: analytics.
        name: String,
        /// The as-of date of the run (default: today in the configured zone).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
    /// List the jobs, their schedules and next runs, and their latest runs.
    List,
}

#[derive(Subcommand)]
pub enum UserAction {
    /// Create a user.
    Add {
        /// Username: letters, digits, '.', '_', '-'.
        username: String,
        /// Role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Name shown to others (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
    },
    /// List users.
    List,
    /// Disable a user: they cannot sign in, their sessions end and their tokens stop working.
    Disable {
        /// Username.
        username: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Username.
        username: String,
    },
    /// Lift a lockout after failed sign-ins (the password stays as it is).
    Unlock {
        /// Username.
        username: String,
    },
    /// Set a new password (ends the user's sessions and lifts a lockout).
    ResetPassword {
        /// Username.
        username: String,
    },
}

/// A role, as written on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Admin,
    Leader,
    Staff,
    Viewer,
    Security,
    Auditor,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Leader => Role::Leader,
            RoleArg::Staff => Role::Staff,
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Security => Role::Security,
            RoleArg::Auditor => Role::Auditor,
        }
    }
}

#[derive(Subcommand)]
pub enum MigrateAction {
    /// Apply pending migrations (all, or the next N).
    Up {
        /// How many to apply.
        #[arg(short, long)]
        steps: Option<u32>,
    },
    /// Roll back applied migrations (the last one, or the last N).
    Down {
        /// How many to roll back.
        #[arg(short, long, default_value_t = 1)]
        steps: u32,
    },
    /// List every migration and whether it is applied.
    Status,
    /// List what names no account: projects whose contact leader (联系领导) is text that matches no one user's
    /// display name, and the records without an owner (负责人), for an admin to fix.
    ReportUnlinked,
}
