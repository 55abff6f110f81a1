//! `invest-crm bench`: a deterministic synthetic park of any size, and timings of the analytics on it.
//! Timings are printed for docs/BENCHMARKS.md, never asserted; the on-demand funnel is checked against one SQL query
//! per breakdown.
//! The audit trail's verification is timed at scale in [`audit`].

pub mod audit;
mod floor;

use std::time::Instant;

use chrono::{Days, NaiveDate};
use entity::{
    enums::{BlockerCategory, BlockerStatus, CapitalOrigin, IncubationStage, ProjectStage},
    pipeline::Stage,
    project,
};
use jobs::{
    analytics::{self, Breakdown, FunnelKind},
    period::Period,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::service::{
    Actor, AppResult, blockers, companies,
    history::StageMove,
    incubation,
    input::{Day, Money, Name, Note, Place, Short},
    projects, visits,
    visits::Summary,
};

/// Sizes of the synthetic park.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// Projects (each with 1–10 stage events, some moving back, dropped or reopened).
    pub projects: usize,
    /// Visits.
    pub visits: usize,
    /// Blockers.
    pub blockers: usize,
    /// Incubation candidates (each with 1–4 events).
    pub candidates: usize,
}

const INDUSTRIES: [&str; 7] = [
    "新材料",
    "智能制造",
    "低空经济",
    "新能源",
    "电子信息",
    "生物医药",
    "现代农业",
];
const PROVINCES: [&str; 8] = ["广东", "江苏", "浙江", "北京", "上海", "山东", "福建", "湖北"];
const LEADERS: [&str; 6] = ["王建国", "李明", "张华", "陈静", "刘洋", "赵强"];

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid")
}

/// Writes the synthetic park into an empty database, through the services' batch creation (the same rules as
/// every other front door), one transaction per kind of record.
pub async fn generate(db: &DatabaseConnection, size: Size) -> anyhow::Result<()> {
    anyhow::ensure!(
        project::Entity::find().count(db).await? == 0,
        "bench generate needs an empty database (it would mix with real records)"
    );
    let mut r = ChaCha8Rng::seed_from_u64(42);
    let actor = Actor::system("bench");
    let started = Instant::now();
    let txn = crate::service::begin(db).await?;
    let companies = gen_companies(&txn, (size.projects / 2).max(1)).await?;
    txn.commit().await?;
    let txn = crate::service::begin(db).await?;
    // The projects come with their stage events, whose spells off to the side are kept too.
    let kept_from = ["projects", "stage_events", "drop_spans"];
    crate::db::kept_paused(&txn, &kept_from).await?;
    let projects = gen_projects(&txn, &actor, &mut r, size.projects, &companies).await?;
    crate::db::kept_rebuilt(&txn, &kept_from).await?;
    txn.commit().await?;
    let txn = crate::service::begin(db).await?;
    crate::db::kept_paused(&txn, &["visits"]).await?;
    gen_visits(&txn, &mut r, size.visits, &companies).await?;
    crate::db::kept_rebuilt(&txn, &["visits"]).await?;
    txn.commit().await?;
    let txn = crate::service::begin(db).await?;
    crate::db::kept_paused(&txn, &["blockers"]).await?;
    gen_blockers(&txn, &actor, &mut r, size.blockers, &projects).await?;
    crate::db::kept_rebuilt(&txn, &["blockers"]).await?;
    txn.commit().await?;
    let txn = crate::service::begin(db).await?;
    let incubation = ["incubation_candidates", "incubation_events"];
    crate::db::kept_paused(&txn, &incubation).await?;
    gen_candidates(&txn, &actor, &mut r, size.candidates, &companies).await?;
    crate::db::kept_rebuilt(&txn, &incubation).await?;
    txn.commit().await?;
    println!("generated {size:?} in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// A date in the park's three years.
fn some_day(r: &mut ChaCha8Rng) -> NaiveDate {
    d(2022, 1, 1) + Days::new(r.random_range(0..3 * 365))
}

async fn gen_companies(db: &impl ConnectionTrait, n: usize) -> anyhow::Result<Vec<i64>> {
    let list = (0..n)
        .map(|i| {
            Ok(companies::NewCompany {
                industry: Some(Short::parse("industry", INDUSTRIES[i % INDUSTRIES.len()])?),
                province: Some(Place::parse("province", PROVINCES[i % PROVINCES.len()])?),
                ..companies::NewCompany::named(Name::parse("name", &format!("基准企业{i:06}"))?)
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(companies::create_many(db, list).await?)
}

/// The as-of date `bench analytics` uses: some synthetic events fall after it, as real records entered late would.
pub const AS_OF: (i32, u32, u32) = (2024, 12, 31);

/// A project's synthetic history after its lead: moves that exercise every rule of the pipeline engine —
/// forward one stage or skipping up to two (the skipped ones reached the same day), backward with a reason (one in
/// fifteen, moved on again half of the time), dropped with a reason (one in ten), reopened at or before the stage it
/// left (a third of the drops) — on dates that only go forward and may run past [`AS_OF`].
fn history(r: &mut ChaCha8Rng, lead: NaiveDate) -> Vec<(ProjectStage, NaiveDate, Option<&'static str>)> {
    let order = ProjectStage::ORDER;
    let goal = r.random_range(0..order.len());
    let mut out = Vec::new();
    let mut day = lead;
    let mut rank = 0;
    fn later(r: &mut ChaCha8Rng, day: &mut NaiveDate, most: u64) -> NaiveDate {
        *day = *day + Days::new(r.random_range(5..most));
        *day
    }
    while rank < goal {
        let skip = usize::from(r.random_range(0..5) == 0) + usize::from(r.random_range(0..20) == 0);
        rank = (rank + 1 + skip).min(goal);
        out.push((order[rank], later(r, &mut day, 90), None));
    }
    if rank > 0 && r.random_range(0..15) == 0 {
        out.push((order[rank - 1], later(r, &mut day, 60), Some("协议变更")));
        if r.random_range(0..2) == 0 {
            out.push((order[rank], later(r, &mut day, 60), None));
        } else {
            rank -= 1;
        }
    }
    if r.random_range(0..10) == 0 {
        out.push((ProjectStage::Dropped, later(r, &mut day, 60), Some("基准")));
        if r.random_range(0..3) == 0 {
            let back = rank.saturating_sub(r.random_range(0..2));
            let reason = (back < rank).then_some("重新启动");
            out.push((order[back], later(r, &mut day, 120), reason));
        }
    }
    out
}

/// Projects with the histories of [`history`].
async fn gen_projects(
    db: &impl ConnectionTrait,
    actor: &Actor,
    r: &mut ChaCha8Rng,
    n: usize,
    companies: &[i64],
) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(n);
    for chunk_start in (0..n).step_by(5000) {
        let mut list = Vec::new();
        for i in chunk_start..(chunk_start + 5000).min(n) {
            let lead = some_day(r);
            let steps = history(r, lead);
            let moves = steps
                .iter()
                .map(|(s, day, reason)| stage_move(*s, *day, *reason))
                .collect::<AppResult<Vec<_>>>()?;
            let reach = steps.iter().filter_map(|(s, _, _)| s.rank()).max().unwrap_or(0);
            let agreed = (reach >= 2).then(|| Money::yuan(entity::money::yuan_of_wan(r.random_range(100..50_000))));
            let name = Name::parse("name", &format!("基准项目{i:06}"))?;
            let first = (companies[i % companies.len()], Day::parse("occurred_on", lead)?);
            let project = projects::NewProject {
                industry: Some(Short::parse("industry", INDUSTRIES[i % INDUSTRIES.len()])?),
                agreed_investment: agreed,
                is_major: i % 3 == 0,
                capital_origin: CapitalOrigin::Domestic,
                contact_leader: Some(Short::parse("contact_leader", LEADERS[i % LEADERS.len()])?),
                ..projects::NewProject::named(name, first.0, ProjectStage::Lead, first.1)
            };
            list.push(projects::ProjectWithHistory { project, moves });
        }
        ids.extend(projects::create_many(db, actor, list).await?);
    }
    Ok(ids)
}

fn stage_move<S>(stage: S, on: NaiveDate, reason: Option<&str>) -> AppResult<StageMove<S>> {
    Ok(StageMove {
        stage,
        occurred_on: Day::parse("occurred_on", on)?,
        note: None,
        reason: Note::parse_opt("reason", reason)?,
        version: None,
    })
}

async fn gen_visits(db: &impl ConnectionTrait, r: &mut ChaCha8Rng, n: usize, companies: &[i64]) -> anyhow::Result<()> {
    for chunk_start in (0..n).step_by(10_000) {
        let list = (chunk_start..(chunk_start + 10_000).min(n))
            .map(|i| {
                Ok(visits::NewVisit {
                    visit_date: Day::parse("visit_date", some_day(r))?,
                    headcount: r.random_range(1..20),
                    company_ids: vec![companies[i % companies.len()]],
                    project_ids: Vec::new(),
                    receiving_leaders: Some(vec![LEADERS[i % LEADERS.len()].to_owned()]),
                    staff: None,
                    purpose: None,
                    summary: None,
                    owner_id: None,
                })
            })
            .collect::<AppResult<Vec<_>>>()?;
        visits::create_many(db, &Actor::system("bench"), list).await?;
    }
    Ok(())
}

/// Blockers, three in four resolved within 120 days.
async fn gen_blockers(
    db: &impl ConnectionTrait,
    actor: &Actor,
    r: &mut ChaCha8Rng,
    n: usize,
    projects: &[i64],
) -> anyhow::Result<()> {
    let categories = [
        BlockerCategory::Funds,
        BlockerCategory::Land,
        BlockerCategory::Recruitment,
        BlockerCategory::Facilities,
        BlockerCategory::Approvals,
        BlockerCategory::Other,
    ];
    for chunk_start in (0..n).step_by(10_000) {
        let mut list = Vec::new();
        for i in chunk_start..(chunk_start + 10_000).min(n) {
            let opened = some_day(r);
            let resolved = (r.random_range(0..4) > 0).then(|| opened + Days::new(r.random_range(1..120)));
            let status = if resolved.is_some() {
                BlockerStatus::Resolved
            } else {
                BlockerStatus::Open
            };
            let b = blockers::NewBlocker {
                title: Name::parse("title", "基准难题")?,
                category: categories[i % categories.len()],
                owner_unit: None,
                assigned_leader: Some(Short::parse("assigned_leader", LEADERS[i % LEADERS.len()])?),
                opened_on: Some(opened),
                due_date: Some(opened + Days::new(30)),
                status: Some(status),
                resolution: resolved.map(|_| Summary::parse("resolution", "已解决")).transpose()?,
                resolved_on: resolved,
            };
            list.push((projects[i % projects.len().max(1)], b));
        }
        blockers::create_many(db, actor, list).await?;
    }
    Ok(())
}

/// Incubation candidates with 1–4 stages reached, in cohorts of one company each per year.
async fn gen_candidates(
    db: &impl ConnectionTrait,
    actor: &Actor,
    r: &mut ChaCha8Rng,
    n: usize,
    companies: &[i64],
) -> anyhow::Result<()> {
    use IncubationStage::*;
    for chunk_start in (0..n).step_by(5000) {
        let mut list = Vec::new();
        for i in chunk_start..(chunk_start + 5000).min(n) {
            let first = some_day(r);
            let reach = r.random_range(0..4usize);
            let mut moves = Vec::new();
            let mut day = first;
            for s in &[Applied, Approved, Filed][..reach.min(3)] {
                day = day + Days::new(r.random_range(10..120));
                moves.push(stage_move(*s, day, None)?);
            }
            let candidate = incubation::NewCandidate {
                company_id: companies[i % companies.len()],
                cohort_year: 2022 + (i / companies.len()) as i64,
                stage: Some(Cultivating),
                occurred_on: Day::parse("occurred_on", first)?,
                note: None,
                notes: None,
                owner_id: None,
            };
            list.push((candidate, moves));
        }
        incubation::create_many(db, actor, list).await?;
    }
    Ok(())
}

/// Peak resident memory of this process so far, in MiB (Linux; 0 elsewhere).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Times, in one run, the on-demand funnel against the one-query SQL peer and the nightly job (with its parts: load,
/// compute, write) against the floor of the data it reads (docs/BENCHMARKS.md); prints each measurement, then the
/// medians, ranges and ratios, and writes them as JSON to `json` when given.
pub async fn analytics(
    (db, reads): (&DatabaseConnection, &DatabaseConnection),
    cfg: &crate::config::Config,
    as_of: NaiveDate,
    repeat: usize,
    json: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let p = Period::parse(&format!("{}", chrono::Datelike::year(&as_of)))?;
    let repeat = repeat.max(1);
    let mut runs: Vec<Run> = Vec::new();
    for i in 0..repeat {
        let (mut peer, mut funnel) = ([0.0; BY.len()], [0.0; BY.len()]);
        for (i, (by, _)) in BY.iter().enumerate() {
            (peer[i], funnel[i]) = funnel_against_peer((db, reads), &p, as_of, *by).await?;
        }
        let (floor, rows) = floor::driver(db, as_of).await?;
        let copy = floor::psql_copy(db, &cfg.database_url(), as_of).await?;
        let (job, parts) = nightly(db, cfg, as_of).await?;
        let funnels: Vec<String> = (BY.iter().zip(peer.iter().zip(&funnel)))
            .map(|((_, name), (peer, ours))| format!("{name} {:.0}/{:.0}", ours * 1e3, peer * 1e3))
            .collect();
        println!(
            "run {}: on-demand funnel / SQL peer ms: {}; floor {floor:.2} s ({rows} rows){}, nightly job {job:.2} s \
             (load {:.2}, compute {:.2}, write {:.2})",
            i + 1,
            funnels.join(", "),
            copy.map(|c| format!(", psql \\copy {c:.2} s")).unwrap_or_default(),
            parts.load,
            parts.compute,
            parts.write,
        );
        runs.push(Run {
            peer,
            funnel,
            floor,
            copy,
            job,
            parts,
        });
    }
    let (timings, ratios) = summarize(&runs);
    for (name, s) in &timings {
        println!("{name:<18} {}", s.ms());
    }
    for (name, r) in &ratios {
        println!("{name:<36} {r:.2}");
    }
    let peak = peak_rss_mib();
    println!("peak RSS of the process: {peak:.0} MiB");
    if let Some(path) = json {
        let summary = serde_json::json!({
            "benchmark": "analytics",
            "date": chrono::Utc::now().to_rfc3339(),
            "machine": machine(),
            "database": db.get_database_backend().as_str().to_lowercase(),
            "park": park(db).await?,
            "as_of": as_of,
            "period": p.label,
            "runs": repeat,
            "seconds": timings.iter().map(|(n, s)| (n.to_string(), serde_json::json!({
                "median": s.median, "min": s.min, "max": s.max,
            }))).collect::<serde_json::Map<_, _>>(),
            "ratios": ratios.iter().map(|(n, r)| (n.to_string(), serde_json::json!(r))).collect::<serde_json::Map<_, _>>(),
            "peak_rss_mib": peak,
        });
        std::fs::write(path, serde_json::to_string_pretty(&summary)? + "\n")?;
        println!("summary written to {}", path.display());
    }
    Ok(())
}

/// The medians and ranges of the runs' timings, by name, and the ratios the goals are stated in.
fn summarize(runs: &[Run]) -> (Named<Spread>, Named<f64>) {
    let of = |f: fn(&Run) -> Option<f64>| {
        let v: Vec<f64> = runs.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| Spread::of(v))
    };
    let per = |i: usize, f: fn(&Run, usize) -> f64| {
        let v: Vec<f64> = runs.iter().map(|r| f(r, i)).collect();
        (!v.is_empty()).then(|| Spread::of(v))
    };
    let funnels = (0..BY.len()).flat_map(|i| {
        let (peer, ours) = PEER_AND_OURS[i];
        [(peer, per(i, |r, i| r.peer[i])), (ours, per(i, |r, i| r.funnel[i]))]
    });
    let timings: Vec<(&str, Spread)> = funnels
        .chain([
            ("floor_driver", of(|r| Some(r.floor))),
            ("floor_psql_copy", of(|r| r.copy)),
            ("nightly_job", of(|r| Some(r.job))),
            ("nightly_load", of(|r| Some(r.parts.load))),
            ("nightly_compute", of(|r| Some(r.parts.compute))),
            ("nightly_write", of(|r| Some(r.parts.write))),
        ])
        .filter_map(|(name, s)| s.map(|s| (name, s)))
        .collect();
    let median = |name: &str| timings.iter().find(|(n, _)| *n == name).map(|(_, s)| s.median);
    let ratio = |a: &str, b: &str| median(a).zip(median(b)).map(|(a, b)| a / b);
    let funnels = (0..BY.len()).map(|i| {
        let (peer, ours) = PEER_AND_OURS[i];
        (FUNNEL_RATIOS[i], ratio(ours, peer))
    });
    let ratios: Vec<(&str, f64)> = funnels
        .chain([
            ("nightly_job / floor_driver", ratio("nightly_job", "floor_driver")),
            ("nightly_job / floor_psql_copy", ratio("nightly_job", "floor_psql_copy")),
        ])
        .filter_map(|(name, r)| r.map(|r| (name, r)))
        .collect();
    (timings, ratios)
}

/// Figures by name, in the order they are printed.
type Named<T> = Vec<(&'static str, T)>;

/// The breakdowns each run times the on-demand flow funnel of, against the SQL peer with the same breakdown.
const BY: [(Option<Breakdown>, &str); 5] = [
    (None, "all"),
    (Some(Breakdown::Industry), "by industry"),
    (Some(Breakdown::Source), "by source"),
    (Some(Breakdown::Province), "by province"),
    (Some(Breakdown::ContactLeader), "by contact leader"),
];

/// The names of the timings of [`BY`]: the SQL peer's and the on-demand funnel's.
const PEER_AND_OURS: [(&str, &str); 5] = [
    ("sql_peer_funnel", "on_demand_funnel"),
    ("sql_peer_funnel_by_industry", "on_demand_funnel_by_industry"),
    ("sql_peer_funnel_by_source", "on_demand_funnel_by_source"),
    ("sql_peer_funnel_by_province", "on_demand_funnel_by_province"),
    (
        "sql_peer_funnel_by_contact_leader",
        "on_demand_funnel_by_contact_leader",
    ),
];

/// The names of the ratios of [`BY`].
const FUNNEL_RATIOS: [&str; 5] = [
    "on_demand_funnel / sql_peer_funnel",
    "on_demand_funnel_by_industry / sql_peer_funnel_by_industry",
    "on_demand_funnel_by_source / sql_peer_funnel_by_source",
    "on_demand_funnel_by_province / sql_peer_funnel_by_province",
    "on_demand_funnel_by_contact_leader / sql_peer_funnel_by_contact_leader",
];

/// One run of `bench analytics`, in seconds.
struct Run {
    /// The SQL peer's flow funnel, per breakdown of [`BY`].
    peer: [f64; BY.len()],
    /// The on-demand flow funnel, per breakdown of [`BY`].
    funnel: [f64; BY.len()],
    floor: f64,
    copy: Option<f64>,
    job: f64,
    parts: jobs::nightly::Parts,
}

/// The machine the benchmark ran on: cores, memory, CPU model and kernel, as Linux reports them.
fn machine() -> serde_json::Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let meminfo = read("/proc/meminfo");
    serde_json::json!({
        "cores": std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        "cpu": cpuinfo.lines().find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']))),
        "memory_gib": meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|m| m.split_whitespace().next()?.parse::<f64>().ok()).map(|kb| (kb / 1048576.0).round()),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
    })
}

/// The size of the park in the database: rows of the tables the analytics read.
async fn park(db: &DatabaseConnection) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::json!({
        "projects": project::Entity::find().count(db).await?,
        "stage_events": entity::stage_event::Entity::find().count(db).await?,
        "visits": entity::visit::Entity::find().count(db).await?,
        "blockers": entity::blocker::Entity::find().count(db).await?,
        "candidates": entity::incubation_candidate::Entity::find().count(db).await?,
    }))
}

/// The median and range of some timings, in seconds.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        v.sort_by(f64::total_cmp);
        Spread {
            median: v[(v.len() - 1) / 2],
            min: v[0],
            max: v[v.len() - 1],
        }
    }

    fn ms(&self) -> String {
        format!(
            "median {:.0} ms (min–max {:.0}–{:.0})",
            self.median * 1e3,
            self.min * 1e3,
            self.max * 1e3
        )
    }
}

/// Seconds the on-demand flow funnel of `p` with breakdown `by` takes (as a request computes it), and the one-query
/// SQL peer with the same breakdown; their counts, in all or per group, checked equal. The funnel reads through
/// `reads`, as the service's do.
async fn funnel_against_peer(
    (db, reads): (&DatabaseConnection, &DatabaseConnection),
    p: &Period,
    as_of: NaiveDate,
    by: Option<Breakdown>,
) -> anyhow::Result<(f64, f64)> {
    let (peer, peer_took) = sql_peer_funnel(db, p, as_of, by).await?;
    let t = Instant::now();
    let visible = entity::visible::Visible::All;
    let f = analytics::project_funnel(reads, as_of, (FunnelKind::Flow, p, by), &visible).await?;
    let took = t.elapsed().as_secs_f64();
    let counts = |stages: &[analytics::FunnelStage]| stages.iter().map(|s| s.count).collect::<Vec<_>>();
    let ours: Vec<(String, Vec<i64>)> = match by {
        None => vec![("all".into(), counts(&f.stages))],
        Some(_) => f.groups.iter().map(|g| (g.key.clone(), counts(&g.stages))).collect(),
    };
    anyhow::ensure!(
        ours == peer,
        "the funnel {ours:?} differs from the SQL peer's {peer:?} (by {by:?})"
    );
    Ok((peer_took, took))
}

/// Seconds one manual run of the nightly analytics job takes, and its parts as the job measured them.
async fn nightly(
    db: &DatabaseConnection,
    cfg: &crate::config::Config,
    as_of: NaiveDate,
) -> anyhow::Result<(f64, jobs::nightly::Parts)> {
    let runner = crate::service::jobs::runner(db, &cfg.jobs)?;
    let mut spec = crate::service::jobs::Setup::of(cfg).specs().remove(0);
    let parts = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen = parts.clone();
    spec.run = std::sync::Arc::new(move |ctx| {
        let seen = seen.clone();
        Box::pin(async move {
            let p = jobs::nightly::run_measured(ctx).await?;
            *seen.lock().expect("parts") = Some(p);
            Ok(())
        })
    });
    let t = Instant::now();
    let outcome = runner.run_manual(&spec, Some(as_of)).await?;
    anyhow::ensure!(
        matches!(outcome, jobs::runner::Outcome::Succeeded(_)),
        "the nightly job did not succeed: {outcome:?}"
    );
    let took = t.elapsed().as_secs_f64();
    let parts = parts.lock().expect("parts").take();
    Ok((
        took,
        parts.ok_or_else(|| anyhow::anyhow!("the nightly job ran without its parts"))?,
    ))
}

/// The flow funnel of `p` as one SQL query, the way an analyst would write it by DEFINITIONS.md (the reach date of
/// a stage is the earliest event at it or a later stage, dropped not counting, events after `as_of` ignored), in all
/// (one group, `all`) or per group of `by` (sorted by key): the counts per stage in pipeline order, and the seconds
/// the query took. An independent check of the engine's numbers, and the peer its speed is measured against.
pub async fn sql_peer_funnel(
    db: &DatabaseConnection,
    p: &Period,
    as_of: NaiveDate,
    by: Option<Breakdown>,
) -> anyhow::Result<(Vec<(String, Vec<i64>)>, f64)> {
    let order = ProjectStage::ORDER;
    let rank = order
        .iter()
        .enumerate()
        .map(|(i, s)| format!("when '{}' then {i}", sea_orm::ActiveEnum::to_value(s)))
        .collect::<Vec<_>>()
        .join(" ");
    let reach = (0..order.len())
        .map(|i| format!("min(occurred_on) filter (where r >= {i}) as s{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let counts = (0..order.len())
        .map(|i| format!("count(*) filter (where s{i} between '{}' and '{}')", p.from, p.to))
        .collect::<Vec<_>>()
        .join(", ");
    let (key, join) = match by {
        None | Some(Breakdown::CohortYear) => ("'all'", ""),
        Some(Breakdown::Industry) => ("p.industry", " join projects p on p.id = reach.project_id"),
        Some(Breakdown::Source) => ("p.source", " join projects p on p.id = reach.project_id"),
        Some(Breakdown::Province) => (
            "c.province",
            " join projects p on p.id = reach.project_id join companies c on c.id = p.company_id",
        ),
        Some(Breakdown::ContactLeader) => (
            "coalesce(u.display_name, p.contact_leader)",
            " join projects p on p.id = reach.project_id left join users u on u.id = p.contact_leader_id",
        ),
    };
    let group = if join.is_empty() { "" } else { " group by 1" };
    let sql = format!(
        "with ranked as (select project_id, occurred_on, case stage {rank} end as r from stage_events \
         where occurred_on <= '{as_of}' and stage <> 'dropped'), \
         reach as (select project_id, {reach} from ranked group by project_id) \
         select coalesce({key}, '(未填)'), {counts} from reach{join}{group}"
    );
    let t = Instant::now();
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
        .await?;
    let took = t.elapsed().as_secs_f64();
    let mut groups = rows
        .iter()
        .map(|row| {
            let counts = (1..=order.len()).map(|i| row.try_get_by_index::<i64>(i));
            Ok((row.try_get_by_index(0)?, counts.collect::<Result<Vec<_>, _>>()?))
        })
        .collect::<Result<Vec<(String, Vec<i64>)>, sea_orm::DbErr>>()?;
    groups.sort();
    Ok((groups, took))
}

/// A synthetic 重点招商项目台账 of `rows` projects as an XLSX file: two title rows, a 单位 row, Chinese headers, a
/// project per row (three per company) with two to five dated stages, amounts in 万元, some dates written as text.
pub fn ledger(rows: usize) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("重点项目台账")?;
    let date = Format::new().set_num_format("yyyy-mm-dd");
    ws.write_string(0, 0, "重点招商项目台账(基准测试)")?;
    ws.write_string(1, 0, "单位:万元")?;
    let heads = [
        "序号",
        "项目名称",
        "企业名称",
        "所属行业",
        "协议投资额",
        "联系领导",
        "是否重大项目",
        "洽谈时间",
        "签约时间",
        "落地时间",
        "开工时间",
        "投产时间",
    ];
    for (c, h) in heads.iter().enumerate() {
        ws.write_string(2, c as u16, *h)?;
    }
    for i in 0..rows {
        let r = (i + 3) as u32;
        ws.write_number(r, 0, (i + 1) as f64)?;
        ws.write_string(r, 1, format!("基准项目{i:06}"))?;
        ws.write_string(r, 2, format!("基准企业{:06}有限公司", i / 3))?;
        ws.write_string(r, 3, INDUSTRIES[i % INDUSTRIES.len()])?;
        ws.write_number(r, 4, f64::from(rng.random_range(100..200_000u32)))?;
        ws.write_string(r, 5, LEADERS[i % LEADERS.len()])?;
        ws.write_string(r, 6, if i % 10 == 0 { "是" } else { "否" })?;
        let mut day = d(2022, 1, 1) + Days::new(rng.random_range(0..900));
        for c in 0..rng.random_range(2..=5u16) {
            if c % 2 == 0 {
                ws.write_datetime_with_format(r, 7 + c, ExcelDateTime::parse_from_str(&day.to_string())?, &date)?;
            } else {
                ws.write_string(r, 7 + c, day.format("%Y/%-m/%-d").to_string())?;
            }
            day = day + Days::new(rng.random_range(1..120));
        }
    }
    Ok(wb.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use entity::pipeline::{Event, Move, classify};
    use rand::SeedableRng;

    use super::*;

    /// The synthetic histories hold every kind of move the engine knows, each valid, and events past the as-of date.
    #[test]
    fn synthetic_histories_exercise_every_rule() {
        let mut r = ChaCha8Rng::seed_from_u64(42);
        let as_of = d(AS_OF.0, AS_OF.1, AS_OF.2);
        let mut seen = std::collections::HashMap::new();
        let (mut skips, mut after) = (0, 0);
        for _ in 0..5000 {
            let lead = some_day(&mut r);
            let mut events = vec![Event {
                stage: ProjectStage::Lead,
                occurred_on: lead,
            }];
            for (stage, day, reason) in history(&mut r, lead) {
                let kind = classify(&events, stage).expect("a valid move");
                assert_eq!(kind.needs_reason(), reason.is_some(), "{kind:?} to {stage:?}");
                let last = events.last().unwrap();
                assert!(day > last.occurred_on);
                if kind == Move::Forward && stage.rank() > last.stage.rank().map(|r| r + 1) {
                    skips += 1;
                }
                after += usize::from(day > as_of);
                *seen.entry(format!("{kind:?}")).or_insert(0) += 1;
                events.push(Event {
                    stage,
                    occurred_on: day,
                });
            }
        }
        for kind in ["Forward", "Backward", "Off", "Reopen", "ReopenBackward"] {
            assert!(seen.get(kind).copied().unwrap_or(0) > 10, "{kind}: {seen:?}");
        }
        assert!(
            skips > 100 && after > 100,
            "skips {skips}, after the as-of date {after}"
        );
    }
}
