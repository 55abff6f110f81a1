//! The floor of the nightly job's ratio: the raw ledger the analytics summarise (`jobs::analytics::load`, every
//! scope), read by the loader's statements' cheapest form. Measured two ways: through this process's own database
//! driver with every row fetched and dropped undecoded, and on PostgreSQL by `psql \copy … to /dev/null` when psql is
//! installed. Two of its reads are the ledger's own where the loader reads what the database keeps beside it: the
//! visits summed per day from the visits (the loader reads their kept day totals, `visit_days`) and the projects'
//! provinces from their companies (the loader reads the province each project keeps). The work those copies save is
//! the loader's to save, so the floor stays the ledger's (docs/BENCHMARKS.md gives both).

use std::time::Instant;

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use sea_orm::{DatabaseConnection, Statement, StreamTrait};

/// The loader's statements as of `as_of`, in the order it sends them.
pub fn statements(as_of: NaiveDate) -> Vec<String> {
    vec![
        format!(
            "select project_id, occurred_on, stage from stage_events where occurred_on <= '{as_of}' \
             and project_id in (select id from projects where is_major)"
        ),
        "select p.id, p.industry, p.source, p.contact_leader, c.province, p.agreed_investment_yuan, p.is_major, \
         u.display_name, p.reached_lead_on, p.reached_negotiating_on, p.reached_signed_on, p.reached_landed_on, \
         p.reached_started_on, p.reached_producing_on from projects p join companies c on c.id = p.company_id \
         left join users u on u.id = p.contact_leader_id"
            .to_owned(),
        format!("select candidate_id, stage, occurred_on from incubation_events where occurred_on <= '{as_of}'"),
        "select id, cohort_year from incubation_candidates".to_owned(),
        format!(
            "select visit_date, count(id), cast(sum(headcount) as bigint) from visits \
             where visit_date <= '{as_of}' group by visit_date"
        ),
        format!("select start_date, kind from outreach where start_date <= '{as_of}'"),
        format!(
            "select arrived_on, amount_yuan, capital_origin, amount_usd_cents from fund_arrivals \
             where arrived_on <= '{as_of}'"
        ),
        format!("select approved_on, amount_yuan from support_funds where approved_on <= '{as_of}'"),
        format!("select above_size_since from companies where above_size_since <= '{as_of}'"),
        "select year, metric, value from targets".to_owned(),
        "select category, opened_on, due_date, resolved_on from blockers".to_owned(),
    ]
}

/// Seconds to fetch every row of the loader's statements through this process's driver, rows left undecoded;
/// and the number of rows.
pub async fn driver(db: &DatabaseConnection, as_of: NaiveDate) -> anyhow::Result<(f64, u64)> {
    let t = Instant::now();
    let mut rows = 0;
    for sql in statements(as_of) {
        let mut s = db
            .stream_raw(Statement::from_string(db.get_database_backend(), sql))
            .await?;
        while s.try_next().await?.is_some() {
            rows += 1;
        }
    }
    Ok((t.elapsed().as_secs_f64(), rows))
}

/// Seconds `psql \copy` takes to write the loader's statements' rows to /dev/null (PostgreSQL, with psql on the
/// path); none otherwise.
pub async fn psql_copy(db: &DatabaseConnection, url: &str, as_of: NaiveDate) -> anyhow::Result<Option<f64>> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(None);
    }
    let (url, sql) = (url.to_owned(), statements(as_of));
    tokio::task::spawn_blocking(move || {
        // One psql process runs every \copy over one connection, as the loader uses one.
        let mut cmd = std::process::Command::new("psql");
        cmd.args([url.as_str(), "-qX"]);
        for q in sql {
            cmd.args(["-c", &format!("\\copy ({q}) to '/dev/null'")]);
        }
        let t = Instant::now();
        let out = match cmd.output() {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let took = t.elapsed().as_secs_f64();
        anyhow::ensure!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
        Ok(Some(took))
    })
    .await?
}
