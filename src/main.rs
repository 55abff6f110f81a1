//! The `invest-crm` command line.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use invest_crm::{config::Config, db};
use migration::{Migrator, MigratorTrait};

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
            let conn = sea_orm::DatabaseConnection::default();
            println!("{}", invest_crm::api::spec_json(&conn));
            Ok(())
        }
    }
}
