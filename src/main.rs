//! The `invest-crm` command line.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use entity::{enums::Role, job_run, user};
use invest_crm::{auth, config::Config, db};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveEnum, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

/// invest-crm: investment-attraction CRM (招商引资 CRM) for a park's investment-promotion bureau.
///
/// Configuration comes from built-in defaults, then the TOML file (`--config`, default ./invest-crm.toml if it
/// exists), then environment variables (INVEST_CRM_LISTEN, INVEST_CRM_DATA_DIR, INVEST_CRM_LOG, DATABASE_URL),
/// then the flags below.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "INVEST_CRM_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL (postgres://… or sqlite://…); default: SQLite file under the data folder.
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (applies pending migrations first); stops gracefully on Ctrl-C or SIGTERM.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 or 0.0.0.0:8080.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Fill an empty database with the demo park first (a database with records is left as it is).
        #[arg(long)]
        demo: bool,
    },
    /// Fill the database with the demo park (2023–2024, DESIGN §9). Refuses a database that holds records.
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
    /// Benchmarks: a synthetic park of a given size, and timings of the analytics on it (see docs/BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        action: BenchAction,
    },
    /// Export a dataset to a file, as the API does (CSV with BOM, XLSX or JSON; contact details unmasked).
    Export {
        /// projects, stage-events, visits, outreach, blockers, incubation or contacts.
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
enum ReportAction {
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
enum BenchAction {
    /// Write a deterministic synthetic park into an empty database.
    Generate {
        /// Projects (each with 1–7 stage events).
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
    /// Time an on-demand funnel with a breakdown and the whole nightly analytics job.
    Analytics {
        /// As-of date (default 2024-12-31, inside the synthetic park's years).
        #[arg(long, default_value = "2024-12-31")]
        as_of: chrono::NaiveDate,
        /// How many times to time the on-demand funnel.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
}

#[derive(Subcommand)]
enum JobAction {
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
enum UserAction {
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
    /// Set a new password (ends the user's sessions and lifts a lockout).
    ResetPassword {
        /// Username.
        username: String,
    },
}

/// A role, as written on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Admin,
    Leader,
    Staff,
    Viewer,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Leader => Role::Leader,
            RoleArg::Staff => Role::Staff,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

/// The password for a user: prompted twice on a terminal, else the first line of standard input.
fn read_password(username: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {username}: "))?;
        let second = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == second, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

async fn find_user(conn: &DatabaseConnection, username: &str) -> anyhow::Result<user::Model> {
    user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no user {username}"))
}

async fn user_command(conn: &DatabaseConnection, action: UserAction) -> anyhow::Result<()> {
    let set = |id: i64, col: user::Column, v: sea_orm::Value| {
        user::Entity::update_many()
            .col_expr(col, Expr::value(v))
            .col_expr(user::Column::UpdatedAt, Expr::value(chrono::Utc::now()))
            .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
            .filter(user::Column::Id.eq(id))
    };
    match action {
        UserAction::Add {
            username,
            role,
            display_name,
            email,
        } => {
            let password = read_password(&username)?;
            let name = display_name.unwrap_or_else(|| username.clone());
            let u = auth::create_user(conn, &username, &name, email, role.into(), &password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created user {} ({})", u.username, u.role.to_value());
        }
        UserAction::List => {
            println!(
                "{:<6} {:<20} {:<8} {:<9} {:<30} name",
                "id", "username", "role", "status", "email"
            );
            for u in user::Entity::find().order_by_asc(user::Column::Id).all(conn).await? {
                let status = if u.disabled { "disabled" } else { "active" };
                let role = Role::to_value(&u.role);
                let email = u.email.unwrap_or_default();
                println!(
                    "{:<6} {:<20} {role:<8} {status:<9} {email:<30} {}",
                    u.id, u.username, u.display_name
                );
            }
        }
        UserAction::Disable { username } => {
            let u = find_user(conn, &username).await?;
            set(u.id, user::Column::Disabled, true.into()).exec(conn).await?;
            auth::end_sessions(conn, u.id, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("disabled {username}");
        }
        UserAction::Enable { username } => {
            let u = find_user(conn, &username).await?;
            set(u.id, user::Column::Disabled, false.into()).exec(conn).await?;
            println!("enabled {username}");
        }
        UserAction::ResetPassword { username } => {
            let u = find_user(conn, &username).await?;
            let password = read_password(&username)?;
            auth::check_password("password", &password).map_err(|e| anyhow::anyhow!("{e}"))?;
            let hash = auth::hash_password(&password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            set(u.id, user::Column::PasswordHash, hash.into()).exec(conn).await?;
            set(u.id, user::Column::FailedLogins, 0.into()).exec(conn).await?;
            set(
                u.id,
                user::Column::LockedUntil,
                Option::<chrono::DateTime<chrono::Utc>>::None.into(),
            )
            .exec(conn)
            .await?;
            auth::end_sessions(conn, u.id, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("new password set for {username}; their sessions have ended");
        }
    }
    Ok(())
}

#[derive(Subcommand)]
enum MigrateAction {
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
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut cfg = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("invest-crm: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(url) = cli.database_url {
        cfg.database_url = Some(url);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cfg.log)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(cli.command, cfg).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("invest-crm: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, mut cfg: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { listen, demo } => {
            if let Some(l) = listen {
                cfg.listen = l;
            }
            invest_crm::serve(&cfg, demo).await
        }
        Command::SeedDemo { force } => {
            let conn = db::connect(&cfg.database_url()).await?;
            db::migrate(&conn).await?;
            let s = invest_crm::demo::seed(&conn, force).await?;
            println!(
                "demo park loaded: {} companies, {} projects, {} visits, {} outreach activities, {} blockers, {} incubation candidates",
                s.companies, s.projects, s.visits, s.outreach, s.blockers, s.candidates
            );
            Ok(())
        }
        Command::Migrate { action } => {
            let conn = db::connect(&cfg.database_url()).await?;
            match action {
                MigrateAction::Up { steps } => Migrator::up(&conn, steps).await?,
                MigrateAction::Down { steps } => Migrator::down(&conn, Some(steps)).await?,
                MigrateAction::Status => {
                    for m in Migrator::get_migration_with_status(&conn).await? {
                        println!("{:<8} {}", m.status().to_string(), m.name());
                    }
                }
            }
            Ok(())
        }
        Command::Openapi => {
            println!("{}", invest_crm::api::spec_json(&cfg));
            Ok(())
        }
        Command::Bench { action } => {
            let conn = db::connect(&cfg.database_url()).await?;
            db::migrate(&conn).await?;
            match action {
                BenchAction::Generate {
                    projects,
                    visits,
                    blockers,
                    candidates,
                } => {
                    let size = invest_crm::bench::Size {
                        projects,
                        visits,
                        blockers,
                        candidates,
                    };
                    invest_crm::bench::generate(&conn, size).await
                }
                BenchAction::Analytics { as_of, repeat } => {
                    invest_crm::bench::analytics(&conn, &cfg, as_of, repeat).await
                }
            }
        }
        Command::Export {
            dataset,
            format,
            out,
            from,
            to,
        } => {
            let conn = db::connect(&cfg.database_url()).await?;
            db::migrate(&conn).await?;
            let set = invest_crm::export::Dataset::from_name(&dataset)
                .ok_or_else(|| anyhow::anyhow!("unknown dataset {dataset}"))?;
            let filters = invest_crm::export::Filters {
                from,
                to,
                ..Default::default()
            };
            let started = std::time::Instant::now();
            let n = invest_crm::export::to_file(conn, set, filters, &format, &out).await?;
            eprintln!(
                "{n} rows to {} in {:.2} s; peak RSS {:.0} MiB",
                out.display(),
                started.elapsed().as_secs_f64(),
                invest_crm::bench::peak_rss_mib()
            );
            Ok(())
        }
        Command::Report { action } => {
            let conn = db::connect(&cfg.database_url()).await?;
            db::migrate(&conn).await?;
            let (period, format, as_of, out) = match action {
                ReportAction::Summary {
                    period,
                    format,
                    as_of,
                    out,
                } => (period, format, as_of, out),
                ReportAction::Preview { week, to, out } => {
                    let w = jobs::period::Period::parse(&week)?;
                    let mails =
                        jobs::weekly::build(&conn, w.to + chrono::Duration::days(1), Some(&to), cfg.jobs.stale_days)
                            .await?;
                    let mail = mails
                        .first()
                        .ok_or_else(|| anyhow::anyhow!("{to} is no subscribed leader with an e-mail address"))?;
                    std::fs::write(&out, jobs::outbox::render(mail, &cfg.mail.from)?.formatted())?;
                    std::fs::write(out.with_extension("html"), &mail.html)?;
                    println!("wrote {} and {}", out.display(), out.with_extension("html").display());
                    return Ok(());
                }
            };
            let p = jobs::period::Period::parse(&period)?;
            let as_of = as_of.unwrap_or_else(invest_crm::validate::today);
            let text = invest_crm::report::summary(&conn, &p, as_of, format == "markdown").await?;
            match (format.as_str(), out) {
                ("docx", Some(out)) => std::fs::write(out, invest_crm::report::docx(&text)?)?,
                ("docx", None) => anyhow::bail!("docx needs --out FILE"),
                (_, Some(out)) => std::fs::write(out, text)?,
                (_, None) => print!("{text}"),
            }
            Ok(())
        }
        Command::Job { action } => {
            let conn = db::connect(&cfg.database_url()).await?;
            db::migrate(&conn).await?;
            let runner = invest_crm::runner(&conn, &cfg.jobs)?;
            let specs = jobs::specs(&cfg.jobs, &cfg.mail);
            match action {
                JobAction::Run { name, as_of } => {
                    let spec = specs
                        .iter()
                        .find(|s| s.name == name)
                        .ok_or_else(|| anyhow::anyhow!("there is no job {name}; see `invest-crm job list`"))?;
                    match runner.run_manual(spec, as_of).await? {
                        jobs::runner::Outcome::Succeeded(id) => println!("{name}: succeeded (run {id})"),
                        jobs::runner::Outcome::Failed(id, e) => anyhow::bail!("{name}: failed (run {id}): {e}"),
                        jobs::runner::Outcome::Skipped => println!("{name}: another runner has this slot"),
                    }
                }
                JobAction::List => {
                    let now = chrono::Utc::now();
                    for s in &specs {
                        let next = runner
                            .next_slot(&s.cron, now)
                            .map(|t| t.with_timezone(&runner.tz()).to_string());
                        println!(
                            "{:<14} {:<16} next {}",
                            s.name,
                            s.cron,
                            next.unwrap_or_else(|e| e.to_string())
                        );
                    }
                    println!(
                        "\n{:<6} {:<14} {:<26} {:<9} {:<10} {:<8} error",
                        "run", "job", "slot (UTC)", "trigger", "status", "attempt"
                    );
                    let runs = job_run::Entity::find()
                        .order_by_desc(job_run::Column::Id)
                        .limit(20)
                        .all(&conn)
                        .await?;
                    for r in runs {
                        println!(
                            "{:<6} {:<14} {:<26} {:<9} {:<10} {:<8} {}",
                            r.id,
                            r.job,
                            r.scheduled_for.to_rfc3339(),
                            r.trigger,
                            r.status,
                            r.attempt,
                            r.error.unwrap_or_default()
                        );
                    }
                }
            }
            Ok(())
        }
        Command::User { action } => {
            let conn = db::connect(&cfg.database_url()).await?;
            db::migrate(&conn).await?;
            user_command(&conn, action).await
        }
    }
}
