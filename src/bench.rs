//! `invest-crm bench`: a deterministic synthetic park of any size, and timings of the analytics on it.
//! Timings are printed for docs/BENCHMARKS.md; nothing here is a test.

use std::time::Instant;

use chrono::{Days, NaiveDate, Utc};
use entity::{
    blocker, company,
    enums::{BlockerCategory, BlockerStatus, IncubationStage, ProjectSource, ProjectStage},
    incubation_candidate, incubation_event,
    pipeline::Stage,
    project, stage_event, visit,
};
use jobs::{
    analytics::{self, Analytics, Breakdown, FunnelKind, Pipeline, Scope},
    period::Period,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait};

/// Sizes of the synthetic park.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// Projects (each with 1–6 stage events).
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

/// Writes the synthetic park into an empty database (batched inserts in one transaction per table).
pub async fn generate(db: &DatabaseConnection, size: Size) -> anyhow::Result<()> {
    anyhow::ensure!(
        project::Entity::find().count(db).await? == 0,
        "bench generate needs an empty database (it would mix with real records)"
    );
    let mut r = ChaCha8Rng::seed_from_u64(42);
    let start = d(2022, 1, 1);
    let span = 3 * 365;
    let now = Utc::now();
    let started = Instant::now();

    let companies = (size.projects / 2).max(1);
    let txn = db.begin().await?;
    for chunk in (0..companies).collect::<Vec<_>>().chunks(2000) {
        company::Entity::insert_many(chunk.iter().map(|&i| company::ActiveModel {
            name: Set(format!("基准企业{i:06}")),
            credit_code: Set(None),
            industry: Set(Some(INDUSTRIES[i % INDUSTRIES.len()].into())),
            province: Set(Some(PROVINCES[i % PROVINCES.len()].into())),
            city: Set(None),
            notes: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }))
        .exec(&txn)
        .await?;
    }
    txn.commit().await?;
    let first_company = company::Entity::find().one(db).await?.map_or(1, |c| c.id);

    let txn = db.begin().await?;
    let mut events: Vec<stage_event::ActiveModel> = Vec::new();
    let mut next_project_id = None;
    // SQLite takes at most 32766 parameters per statement: batches stay under that.
    for chunk_start in (0..size.projects).step_by(1000) {
        let end = (chunk_start + 1000).min(size.projects);
        let mut rows = Vec::with_capacity(end - chunk_start);
        let mut histories = Vec::with_capacity(end - chunk_start);
        for i in chunk_start..end {
            let lead = start + Days::new(r.random_range(0..span));
            let reach = r.random_range(0..6usize);
            let mut h = vec![(ProjectStage::Lead, lead)];
            let mut day = lead;
            for s in &ProjectStage::ORDER[1..=reach] {
                day = day + Days::new(r.random_range(5..90));
                h.push((*s, day));
            }
            if r.random_range(0..10) == 0 {
                day = day + Days::new(r.random_range(5..60));
                h.push((ProjectStage::Dropped, day));
            }
            let current = h.last().expect("one event").0;
            rows.push(project::ActiveModel {
                name: Set(format!("基准项目{i:06}")),
                company_id: Set(first_company + (i % companies) as i64),
                industry: Set(Some(INDUSTRIES[i % INDUSTRIES.len()].into())),
                source: Set(ProjectSource::Other),
                source_visit_id: Set(None),
                source_outreach_id: Set(None),
                source_partner_id: Set(None),
                agreed_investment_yuan: Set((reach >= 2).then(|| r.random_range(100..50_000) * 10_000)),
                land_mu: Set(None),
                is_major: Set(i % 3 == 0),
                contact_leader: Set(Some(LEADERS[i % LEADERS.len()].into())),
                responsible_unit: Set(None),
                team: Set(None),
                notes: Set(None),
                stage: Set(current),
                version: Set(h.len() as i32),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
            histories.push(h);
        }
        let res = project::Entity::insert_many(rows).exec(&txn).await?;
        // Ids are consecutive within one insert; the last one tells where this batch started.
        let last = res
            .last_insert_id
            .ok_or_else(|| anyhow::anyhow!("the database named no inserted id"))?;
        let first = last - (histories.len() as i64) + 1;
        next_project_id.get_or_insert(first);
        for (k, h) in histories.into_iter().enumerate() {
            let mut from = None;
            for (stage, on) in h {
                events.push(stage_event::ActiveModel {
                    project_id: Set(first + k as i64),
                    stage: Set(stage),
                    from_stage: Set(from),
                    occurred_on: Set(on),
                    note: Set(None),
                    reason: Set((stage == ProjectStage::Dropped).then(|| "基准".to_owned())),
                    recorded_by: Set(None),
                    created_at: Set(now),
                    ..Default::default()
                });
                from = Some(stage);
            }
        }
        for c in events.chunks(3000) {
            stage_event::Entity::insert_many(c.to_vec()).exec(&txn).await?;
        }
        events.clear();
    }
    txn.commit().await?;
    let first_project = next_project_id.unwrap_or(1);

    let txn = db.begin().await?;
    let mut rows = Vec::with_capacity(3000);
    for i in 0..size.visits {
        rows.push(visit::ActiveModel {
            visit_date: Set(start + Days::new(r.random_range(0..span))),
            headcount: Set(r.random_range(1..20)),
            purpose: Set(None),
            summary: Set(None),
            receiving_leaders: Set(serde_json::json!([LEADERS[i % LEADERS.len()]])),
            staff: Set(serde_json::json!([])),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
        if rows.len() == 3000 {
            visit::Entity::insert_many(std::mem::take(&mut rows)).exec(&txn).await?;
        }
    }
    if !rows.is_empty() {
        visit::Entity::insert_many(rows).exec(&txn).await?;
    }
    txn.commit().await?;

    let categories = [
        BlockerCategory::Funds,
        BlockerCategory::Land,
        BlockerCategory::Recruitment,
        BlockerCategory::Facilities,
        BlockerCategory::Approvals,
        BlockerCategory::Other,
    ];
    let txn = db.begin().await?;
    let mut rows = Vec::with_capacity(2000);
    for i in 0..size.blockers {
        let opened = start + Days::new(r.random_range(0..span));
        let resolved = (r.random_range(0..4) > 0).then(|| opened + Days::new(r.random_range(1..120)));
        rows.push(blocker::ActiveModel {
            project_id: Set(first_project + (i % size.projects.max(1)) as i64),
            title: Set("基准难题".into()),
            category: Set(categories[i % categories.len()]),
            owner_unit: Set(None),
            assigned_leader: Set(Some(LEADERS[i % LEADERS.len()].into())),
            opened_on: Set(opened),
            due_date: Set(Some(opened + Days::new(30))),
            status: Set(if resolved.is_some() {
                BlockerStatus::Resolved
            } else {
                BlockerStatus::Open
            }),
            resolution: Set(resolved.map(|_| "已解决".into())),
            resolved_on: Set(resolved),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
        if rows.len() == 2000 {
            blocker::Entity::insert_many(std::mem::take(&mut rows))
                .exec(&txn)
                .await?;
        }
    }
    if !rows.is_empty() {
        blocker::Entity::insert_many(rows).exec(&txn).await?;
    }
    txn.commit().await?;

    let txn = db.begin().await?;
    for chunk_start in (0..size.candidates).step_by(2000) {
        let end = (chunk_start + 2000).min(size.candidates);
        let mut rows = Vec::new();
        let mut histories = Vec::new();
        for i in chunk_start..end {
            let first = start + Days::new(r.random_range(0..span));
            let reach = r.random_range(0..4usize);
            let mut h = vec![(IncubationStage::Cultivating, first)];
            let mut day = first;
            for s in &[
                IncubationStage::Applied,
                IncubationStage::Approved,
                IncubationStage::Filed,
            ][..reach.min(3)]
            {
                day = day + Days::new(r.random_range(10..120));
                h.push((*s, day));
            }
            rows.push(incubation_candidate::ActiveModel {
                company_id: Set(first_company + (i % companies) as i64),
                cohort_year: Set(2022 + (i / companies.max(1)) as i32),
                stage: Set(h.last().expect("one").0),
                notes: Set(None),
                version: Set(h.len() as i32),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
            histories.push(h);
        }
        let res = incubation_candidate::Entity::insert_many(rows).exec(&txn).await?;
        let first_id = res
            .last_insert_id
            .ok_or_else(|| anyhow::anyhow!("the database named no inserted id"))?
            - histories.len() as i64
            + 1;
        let mut ev = Vec::new();
        for (k, h) in histories.into_iter().enumerate() {
            for (stage, on) in h {
                ev.push(incubation_event::ActiveModel {
                    candidate_id: Set(first_id + k as i64),
                    stage: Set(stage),
                    from_stage: Set(None),
                    occurred_on: Set(on),
                    note: Set(None),
                    reason: Set(None),
                    recorded_by: Set(None),
                    created_at: Set(now),
                    ..Default::default()
                });
            }
        }
        for c in ev.chunks(3000) {
            incubation_event::Entity::insert_many(c.to_vec()).exec(&txn).await?;
        }
    }
    txn.commit().await?;
    println!("generated {size:?} in {:.1} s", started.elapsed().as_secs_f64());
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

/// Times the nightly job and on-demand funnels; prints one line per measurement.
pub async fn analytics(
    db: &DatabaseConnection,
    cfg: &crate::config::Config,
    as_of: NaiveDate,
    repeat: usize,
) -> anyhow::Result<()> {
    let p = Period::parse(&format!("{}", chrono::Datelike::year(&as_of)))?;
    for i in 0..repeat {
        let t = Instant::now();
        let raw = analytics::load(db, as_of, Scope::Projects).await?;
        let loaded = t.elapsed();
        let pc = p.clone();
        let f = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
            let a = Analytics::build(raw)?;
            Ok(
                a.funnel(Pipeline::Projects, FunnelKind::Flow, &pc, Some(Breakdown::Industry))?
                    .groups
                    .len(),
            )
        })
        .await??;
        println!(
            "on-demand funnel {} by industry ({f} groups), run {}: {:.0} ms (load {:.0} ms)",
            p.label,
            i + 1,
            t.elapsed().as_secs_f64() * 1000.0,
            loaded.as_secs_f64() * 1000.0
        );
    }
    let runner = crate::service::jobs::runner(db, &cfg.jobs)?;
    let spec = jobs::specs(&cfg.jobs, &cfg.mail).remove(0);
    let t = Instant::now();
    let outcome = runner.run_manual(&spec, Some(as_of)).await?;
    println!(
        "nightly analytics job (10 periods, KPIs and 14 funnels each): {:.2} s, {outcome:?}",
        t.elapsed().as_secs_f64()
    );
    println!("peak RSS of the process: {:.0} MiB", peak_rss_mib());
    Ok(())
}
