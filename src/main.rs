//! The `invest-crm` command line: parse, load the configuration, dispatch (the work is in `invest_crm::cli`).

use std::process::ExitCode;

use clap::Parser;
use invest_crm::{
    cli::{
        self,
        args::{Cli, Command},
    },
    config::Config,
};

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
    let filter =
        tracing_subscriber::EnvFilter::try_new(&cfg.log).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match cfg.log_format {
        invest_crm::config::LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
        invest_crm::config::LogFormat::Text => logs.init(),
    }
    let done = match cli.command {
        Command::Openapi => {
            println!("{}", invest_crm::api::spec_json(&cfg));
            Ok(())
        }
        command => cli::run(command, cfg).await,
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The whole chain of causes, outermost first.
            eprintln!("invest-crm: {e:#}");
            ExitCode::FAILURE
        }
    }
}
