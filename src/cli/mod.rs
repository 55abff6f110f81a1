//! The command line's work: each command opens the database and calls the services, the export, the reports or the
//! jobs, as the API does. `main.rs` only parses and dispatches here.

pub mod args;
mod audit;
pub mod files;
mod users;

use std::path::Path;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ActiveEnum, DatabaseConnection};

use crate::{bench, config::Config, db, demo, export, report, service};
use args::{BenchAction, ChannelAction, Command, JobAction, MigrateAction, ReportAction};

/// Runs one command (all but `openapi`, which `main.rs` answers itself). What a command writes is audited as the
/// command line's (door `cli`, path the command), and sealed into the audit trail's chain before it exits.
pub async fn run(command: Command, cfg: Config) -> anyhow::Result<()> {
    if matches!(command, Command::Serve { .. }) {
        return command_of(command, &cfg).await;
    }
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .take(2)
        .collect();
    let ctx = service::audit::Context::new(service::audit::Door::Cli, words.join(" "), None);
    let result = service::audit::within(ctx, command_of(command, &cfg)).await;
    if let Ok(conn) = db::connect(&cfg.database_url()).await
        && let Err(e) = service::audit::chain::seal(&conn).await
    {
        eprintln!("warning: the audit trail could not be sealed now ({e}); the service seals it when it runs");
    }
    result
}

async fn command_of(command: Command, cfg: &Config) -> anyhow::Result<()> {
    let cfg = cfg.clone();
    match command {
        Command::Serve { listen, demo } => {
            let mut cfg = cfg;
            if let Some(l) = listen {
                cfg.listen = l;
            }
            crate::serve(&cfg, demo).await
        }
        Command::Audit { action } => audit::run(&open(&cfg).await?, &cfg, action).await,
        Command::Files { action } => files::run(&open(&cfg).await?, &cfg, action).await,
        Command::Channel { action } => channel_command(&open(&cfg).await?, &cfg, action).await,
        Command::SeedDemo { force } => {
            let s = demo::seed(&open(&cfg).await?, force).await?;
            println!(
                "demo park loaded: {} companies, {} projects, {} visits, {} outreach activities, {} blockers, {} incubation candidates",
                s.companies, s.projects, s.visits, s.outreach, s.blockers, s.candidates
            );
            Ok(())
        }
        Command::Migrate { action } => migrate(&cfg, action).await,
        Command::Backup { to } => backup_command(&cfg, to).await,
        Command::Restore { file, force, to } => {
            let url = to.unwrap_or_else(|| cfg.database_url());
            restore_command(&cfg, &file, force, &url).await
        }
        Command::Copy { from, to } => {
            let from = from.unwrap_or_else(|| cfg.database_url());
            let copied = crate::backup::copy_between(&from, &to).await?;
            println!("copied {} rows into {}", copied.values().sum::<i64>(), db::redact(&to));
            for (t, n) in &copied {
                println!("{t:<24} {n:>10}");
            }
            Ok(())
        }
        Command::Openapi => anyhow::bail!("`openapi` is answered by the binary itself"),
        Command::Bench { action } => bench_command(&open(&cfg).await?, &cfg, action).await,
        Command::Export {
            dataset,
            format,
            out,
            from,
            to,
            period,
            as_of,
        } => {
            let filters = export::Filters {
                from,
                to,
                period,
                as_of,
                ..Default::default()
            };
            export_command(&open(&cfg).await?, &dataset, &format, &out, filters).await
        }
        Command::Import {
            dataset,
            file,
            commit,
            on_error,
            sheet,
            header_row,
        } => {
            let options = crate::import::Options {
                commit,
                skip_errors: on_error == "skip",
                sheet,
                header_row,
                ..Default::default()
            };
            import_command(&open(&cfg).await?, &dataset, &file, options).await
        }
        Command::Report { action } => report_command(&open(&cfg).await?, &cfg, action).await,
        Command::Job { action } => job_command(&open(&cfg).await?, &cfg, action).await,
        Command::User { action } => users::run(&open(&cfg).await?, action).await,
    }
}

/// `invest-crm backup`: a backup of the configured database into the folder `to`, or, without it, where the
/// scheduled backups go (`backup.dir` or `backup.s3`), pruned as they are.
async fn backup_command(cfg: &Config, to: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let db = open(cfg).await?;
    let plan = service::jobs::Setup::of(cfg).backup;
    let (m, place) = match to {
        Some(dir) => (
            crate::backup::backup(&db, &cfg.database_url(), &dir).await?.1,
            dir.display().to_string(),
        ),
        None => (plan.run(&db).await?, plan.place()),
    };
    let rows: i64 = m.tables.values().sum();
    println!(
        "wrote {} to {place} ({} bytes, {rows} rows in {} tables, schema {})",
        m.file,
        m.bytes,
        m.tables.len(),
        m.schema_version
    );
    Ok(())
}

/// `invest-crm restore`: restores a backup and prints every table's rows against its manifest. A name that is no
/// local file is fetched from the bucket the scheduled backups go to, when one is configured.
async fn restore_command(cfg: &Config, file: &std::path::Path, force: bool, url: &str) -> anyhow::Result<()> {
    let plan = service::jobs::Setup::of(cfg).backup;
    let dir = plan.dir.clone();
    let fetched = match file.file_name().and_then(|n| n.to_str()) {
        Some(name) if !file.exists() && cfg.backup.s3.is_some() => {
            let f = plan.fetch(name, &dir.join(".staging")).await?;
            println!("fetched {name} from {}", plan.place());
            Some(f)
        }
        _ => None,
    };
    let restored = crate::backup::restore(url, fetched.as_deref().unwrap_or(file), force, &dir).await;
    if let Some(f) = &fetched {
        std::fs::remove_file(crate::backup::manifest_path(f)).ok();
        std::fs::remove_file(f).ok();
    }
    let r = restored?;
    if let Some(saved) = &r.saved_first {
        println!("the records that were there are backed up in {}", saved.display());
    }
    let m = &r.manifest;
    println!(
        "restored {} (taken {}, schema {})",
        m.file, m.taken_at, m.schema_version
    );
    println!("{:<24} {:>10} {:>10}", "table", "backup", "now");
    for (t, now) in &r.tables {
        let then = m.tables.get(t).map_or_else(|| "—".to_owned(), i64::to_string);
        println!("{t:<24} {then:>10} {now:>10}");
    }
    Ok(())
}

/// The configured database, migrated.
async fn open(cfg: &Config) -> anyhow::Result<DatabaseConnection> {
    let conn = db::connect(&cfg.database_url()).await?;
    db::migrate(&conn).await?;
    Ok(conn)
}

async fn migrate(cfg: &Config, action: MigrateAction) -> anyhow::Result<()> {
    let conn = db::connect(&cfg.database_url()).await?;
    match action {
        MigrateAction::Up { steps } => db::step(&conn, db::Step::Up(steps)).await?,
        MigrateAction::Down { steps } => db::step(&conn, db::Step::Down(steps)).await?,
        MigrateAction::Status => {
            for m in Migrator::get_migration_with_status(&conn).await? {
                println!("{:<8} {}", m.status().to_string(), m.name());
            }
        }
        MigrateAction::ReportUnlinked => {
            let u = crate::service::people::unlinked(&conn).await?;
            println!("contact leaders that name no one user ({}):", u.leaders.len());
            for (id, name, leader) in &u.leaders {
                println!("  project {id} {name}: {leader}");
            }
            println!("records without an owner:");
            for (table, n) in &u.unowned {
                println!("  {table}: {n}");
            }
        }
    }
    Ok(())
}

async fn bench_command(conn: &DatabaseConnection, cfg: &Config, action: BenchAction) -> anyhow::Result<()> {
    match action {
        BenchAction::Ledger { rows, out } => {
            std::fs::write(&out, bench::ledger(rows)?)?;
            eprintln!("a ledger of {rows} projects written to {}", out.display());
            Ok(())
        }
        BenchAction::Generate {
            projects,
            visits,
            blockers,
            candidates,
        } => {
            let size = bench::Size {
                projects,
                visits,
                blockers,
                candidates,
            };
            bench::generate(conn, size).await
        }
        BenchAction::Analytics { as_of, repeat, json } => {
            let reads = db::readers(conn, &cfg.database_url()).await?;
            bench::analytics((conn, &reads), cfg, as_of, repeat, json.as_deref()).await
        }
        BenchAction::AuditVerify { entries, repeat } => bench::audit::verify(conn, entries, repeat).await,
    }
}

async fn export_command(
    conn: &DatabaseConnection,
    dataset: &str,
    format: &str,
    out: &Path,
    filters: export::Filters,
) -> anyhow::Result<()> {
    let set = export::Dataset::from_name(dataset).ok_or_else(|| {
        let known: Vec<&str> = export::Dataset::ALL.iter().map(|d| d.names().0).collect();
        anyhow::anyhow!("unknown dataset {dataset} ({})", known.join(", "))
    })?;
    if matches!(set, export::Dataset::Funnel | export::Dataset::Kpis) && filters.period.is_none() {
        anyhow::bail!("the {dataset} table is of a period: give --period (2024, 2024-H1, 2024-Q2, 2024-05, 2024-W21)");
    }
    let started = std::time::Instant::now();
    let format = export::Format::from_name(format)
        .ok_or_else(|| anyhow::anyhow!("unknown format {format} (csv, xlsx or json)"))?;
    let n = export::to_file(conn.clone(), set, filters, format, out).await?;
    eprintln!(
        "{n} rows to {} in {:.2} s; peak RSS {:.0} MiB",
        out.display(),
        started.elapsed().as_secs_f64(),
        bench::peak_rss_mib()
    );
    Ok(())
}

async fn import_command(
    conn: &DatabaseConnection,
    dataset: &str,
    file: &Path,
    options: crate::import::Options,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let dataset = crate::import::Dataset::parse(dataset).map_err(|_| {
        anyhow::anyhow!(
            "unknown dataset {dataset} (projects, companies, visits, fund-arrivals, blockers, outreach, incubation)"
        )
    })?;
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let name = file
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let commit = options.commit;
    let operator = format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "operator".into()));
    let actor = service::Actor::system(&operator);
    let report = crate::import::run(conn, &actor, dataset, &name, bytes, options).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    eprintln!(
        "{} rows: {} created, {} updated, {} unchanged, {} skipped, {} errors; {} in {:.2} s; peak RSS {:.0} MiB",
        report.rows,
        report.created,
        report.updated,
        report.unchanged,
        report.skipped,
        report.errors.len(),
        if report.committed {
            "committed"
        } else {
            "nothing written"
        },
        started.elapsed().as_secs_f64(),
        bench::peak_rss_mib()
    );
    if commit && !report.committed {
        anyhow::bail!("rows have errors: nothing was written (use --on-error skip to write the good rows)");
    }
    Ok(())
}

async fn channel_command(db: &DatabaseConnection, cfg: &Config, action: ChannelAction) -> anyhow::Result<()> {
    match action {
        ChannelAction::Test { name, to } => {
            let c = service::channels::by_name(db, &name).await?;
            service::channels::test(db, &cfg.sealer()?, c.id, to)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.body(crate::edge::error::Lang::Zh).message))?;
            println!("test message sent to {name}");
        }
        ChannelAction::Preview { week, kind } => {
            let w = jobs::period::Period::parse(&week)?;
            let kind: entity::enums::ChannelKind = serde_json::from_value(serde_json::json!(kind))?;
            let web = cfg.mail.web_url.as_deref();
            let next_day = w.to + chrono::Duration::days(1);
            for p in jobs::weekly::chat_preview(db, (next_day, cfg.jobs.stale_days), web, kind).await? {
                println!("{}\n\n{}\n", p.title, p.markdown);
            }
        }
    }
    Ok(())
}

async fn report_command(conn: &DatabaseConnection, cfg: &Config, action: ReportAction) -> anyhow::Result<()> {
    match action {
        ReportAction::Preview { week, to, out } => {
            let w = jobs::period::Period::parse(&week)?;
            let next_day = w.to + chrono::Duration::days(1);
            let web = cfg.mail.web_url.as_deref();
            let mails = jobs::weekly::build(conn, next_day, (Some(&to), web), cfg.jobs.stale_days).await?;
            let mail = mails
                .first()
                .ok_or_else(|| anyhow::anyhow!("{to} is no subscribed leader with an e-mail address"))?;
            std::fs::write(&out, jobs::outbox::render(mail, &cfg.mail.from)?.formatted())?;
            std::fs::write(out.with_extension("html"), &mail.html)?;
            println!("wrote {} and {}", out.display(), out.with_extension("html").display());
        }
        ReportAction::Summary {
            period,
            format,
            as_of,
            out,
        } => {
            let p = jobs::period::Period::parse(&period)?;
            let as_of = service::analytics::measured_on(&p, as_of);
            let whole = service::scope::Seen::default();
            let text = report::summary(conn, (&p, as_of), &whole, format != "text").await?;
            match (format.as_str(), out) {
                ("docx", Some(out)) => std::fs::write(out, report::docx(&text)?)?,
                ("docx", None) => anyhow::bail!("docx needs --out FILE"),
                (_, Some(out)) => std::fs::write(out, text)?,
                (_, None) => print!("{text}"),
            }
        }
    }
    Ok(())
}

async fn job_command(conn: &DatabaseConnection, cfg: &Config, action: JobAction) -> anyhow::Result<()> {
    match action {
        JobAction::Run { name, as_of } => {
            let runner = service::jobs::runner(conn, &cfg.jobs)?;
            let spec = service::jobs::spec(&service::jobs::Setup::of(cfg), &name)
                .map_err(|_| anyhow::anyhow!("there is no job {name}; see `invest-crm job list`"))?;
            service::jobs::started_by_hand(conn, &name).await?;
            match runner.run_manual(&spec, as_of).await? {
                jobs::runner::Outcome::Succeeded(id) => println!("{name}: succeeded (run {id})"),
                jobs::runner::Outcome::Failed(id, e) => anyhow::bail!("{name}: failed (run {id}): {e}"),
                jobs::runner::Outcome::Skipped => println!("{name}: another runner has this slot"),
                jobs::runner::Outcome::Abandoned(id) => anyhow::bail!("{name}: abandoned (run {id})"),
            }
        }
        JobAction::List => {
            for j in service::jobs::schedule(conn, &service::jobs::Setup::of(cfg)) {
                let next = j.next_run.map(|t| t.with_timezone(&j.timezone).to_string());
                println!("{:<14} {:<16} next {}", j.name, j.cron, next.unwrap_or_else(|e| e));
            }
            print_runs(conn).await?;
        }
    }
    Ok(())
}

/// The latest runs, each with its attempts and the runner of each.
async fn print_runs(conn: &DatabaseConnection) -> anyhow::Result<()> {
    println!(
        "\n{:<6} {:<14} {:<26} {:<9} {:<10} {:<8} error",
        "run", "job", "slot (UTC)", "trigger", "status", "attempt"
    );
    let runs = service::jobs::runs(conn, None, service::Paging::new(Some(1), Some(20))?).await?;
    for v in runs.items {
        let r = v.run;
        println!(
            "{:<6} {:<14} {:<26} {:<9} {:<10} {:<8} {}",
            r.id,
            r.job,
            r.scheduled_for.to_rfc3339(),
            r.trigger,
            r.status.to_value(),
            r.attempt,
            r.error.unwrap_or_default()
        );
        for a in v.attempts {
            let outcome = a.outcome.map_or_else(|| "running".into(), |o| o.to_value());
            println!("       attempt {} by {}: {outcome}", a.attempt, a.runner);
        }
    }
    Ok(())
}
