//! invest-crm: an investment-attraction CRM (招商引资 CRM). The HTTP API, configuration and the serve loop; the CLI
//! lives in `main.rs`.

pub mod api;
pub mod backup;
pub mod bench;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod edge;
pub mod export;
pub mod files;
pub mod import;
pub mod report;
pub mod service;
pub mod web;

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use poem::{
    EndpointExt, Server,
    http::header,
    listener::{Listener, TcpListener},
    middleware::{CatchPanic, SetHeader},
};
use sea_orm::DatabaseConnection;

/// The whole HTTP application: the staff UI at `/`, the JSON API at `/api/v1` with its docs, spec and health
/// checks, one bound on sign-in attempts for both, and the headers every answer carries.
/// `reads` is what the on-demand figures read through ([`db::readers`]).
/// Fails only when the attachments' store cannot be opened (its folder cannot be made, its bucket settings are
/// incomplete) or the secret key cannot be read or made.
pub fn app(
    db: DatabaseConnection,
    reads: DatabaseConnection,
    cfg: &config::Config,
) -> anyhow::Result<impl poem::Endpoint + use<>> {
    let gate = Arc::new(service::sessions::SignInGate::new(cfg.auth.sign_ins_per_minute));
    let files = Arc::new(files::FileStore::new(&cfg.files, &cfg.data_dir)?);
    let (api, edge) = api::app(
        (db.clone(), reads.clone()),
        cfg,
        gate.clone(),
        (files.clone(), cfg.sealer()?),
    );
    let api = Arc::new(api);
    let mut routes = web::routes((db, reads), cfg, gate, files);
    for path in api::PATHS {
        routes = routes.nest_no_strip(path, api.clone());
    }
    Ok(routes
        .around(edge::metrics::measure)
        .around(edge::request_id)
        .data(edge)
        .with(CatchPanic::new().with_handler(edge::error::on_panic))
        .with(
            SetHeader::new()
                .overriding(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
                .overriding(header::X_FRAME_OPTIONS, "DENY")
                .overriding(header::REFERRER_POLICY, "no-referrer"),
        ))
}

/// Serves `/metrics` alone on `addr` (`metrics_listen`), without a token, until aborted.
async fn serve_metrics(
    addr: std::net::SocketAddr,
    db: DatabaseConnection,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let acceptor = TcpListener::bind(addr)
        .into_acceptor()
        .await
        .with_context(|| format!("serving /metrics on {addr}"))?;
    let open = poem::Route::new()
        .at("/metrics", poem::get(edge::metrics::scrape_open))
        .data(db);
    tracing::info!(listen = %addr, "serving /metrics");
    Ok(tokio::spawn(Server::new_with_acceptor(acceptor).run(open)))
}

/// Serves the app on `cfg.listen` until Ctrl-C or SIGTERM, then lets requests in flight finish. With `demo`, an
/// empty database is first filled with the demo park.
pub async fn serve(cfg: &config::Config, demo: bool) -> anyhow::Result<()> {
    edge::error::log_panics();
    let url = cfg.database_url();
    let db = db::connect(&url).await?;
    db::migrate(&db).await?;
    if let Some(password) = service::accounts::bootstrap_admin(&db).await? {
        // Printed once, straight to the console and never to the log.
        eprintln!(
            "\n  First start: created the user `admin` with the password\n\n      {password}\n\n  Sign in at http://{}/ and change it (修改密码). It is not shown again.\n",
            cfg.listen
        );
    }
    let ctx = service::audit::Context::new(service::audit::Door::Cli, "serve", None);
    let shown = cfg.shared()?;
    let settings = Some(shown.clone());
    service::audit::within(ctx, service::audit::event(&db, "config_loaded", None, settings)).await?;
    let replica = service::replicas::this_replica();
    for d in service::replicas::register(&db, &replica, &service::replicas::fingerprint(&shown)).await? {
        tracing::warn!(
            other = %d.replica,
            settings = ?d.settings,
            "this replica's settings differ from those of another running replica: give every replica the same ones"
        );
    }
    if demo {
        let ctx = service::audit::Context::new(service::audit::Door::Cli, "serve --demo", None);
        match service::audit::within(ctx, demo::seed(&db, false)).await {
            Ok(s) => tracing::info!(?s, "demo park loaded"),
            Err(e) => tracing::warn!("demo park not loaded: {e:#}"),
        }
    }
    tracing::info!(database = %db::redact(&url), listen = %cfg.listen, "invest-crm starting");
    let sealer = tokio::spawn(seal_every_second(db.clone()));
    let keeper = tokio::spawn(keep_shared_state(db.clone(), replica.clone()));
    let sealing = db.clone();
    let scheduler = if cfg.jobs.enabled {
        let runner = service::jobs::runner(&db, &cfg.jobs)?;
        let specs = service::jobs::Setup::of(cfg).specs();
        // Catch-up runs in the background so a long job does not hold the server back.
        let (r, s) = (runner.clone(), specs.clone());
        tokio::spawn(async move {
            if let Err(e) = r.catch_up(&s).await {
                tracing::error!(error = %format!("{e:#}"), "catching up missed job slots failed");
            }
        });
        Some(runner.start(specs).await?)
    } else {
        None
    };
    let metrics = match cfg.metrics_listen {
        Some(addr) => Some(serve_metrics(addr, db.clone()).await?),
        None => None,
    };
    let reads = db::readers(&db, &url).await?;
    Server::new(TcpListener::bind(cfg.listen))
        .run_with_graceful_shutdown(app(db, reads, cfg)?, shutdown_signal(), Some(Duration::from_secs(10)))
        .await
        .with_context(|| format!("serving on {}", cfg.listen))?;
    if let Some(s) = scheduler {
        s.shutdown().await.ok();
    }
    sealer.abort();
    keeper.abort();
    service::replicas::leave(&sealing, &replica).await.ok();
    if let Some(m) = metrics {
        m.abort();
    }
    if let Err(e) = service::audit::chain::seal(&sealing).await {
        tracing::error!(error = %e, "sealing the audit trail failed");
    }
    tracing::info!("invest-crm stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Every 30 seconds while the service runs: marks this replica as running and forgets the sign-in buckets that
/// have filled up again.
async fn keep_shared_state(db: DatabaseConnection, replica: String) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let kept = service::replicas::renew(&db, &replica).await;
        if let Err(e) = kept.and(service::sessions::SignInGate::sweep(&db).await.map(drop)) {
            tracing::warn!(error = %e, "renewing this replica's row failed");
        }
    }
}

/// Seals what was written to the audit trail, every second, for as long as the service runs (docs/SECURITY.md).
async fn seal_every_second(db: DatabaseConnection) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = service::audit::chain::seal(&db).await {
            tracing::error!(error = %e, "sealing the audit trail failed");
        }
    }
}
