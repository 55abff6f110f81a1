//! The demo park: its 2024-H1 figures are those of docs/DEFINITIONS.md, checked by plain queries of the test's own.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{blocker, incubation_event, project, stage_event, visit};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{db_test, support::TestApp};

db_test!(
    demo_park_has_the_half_year_figures,
    demo_park_is_deterministic_and_guarded
);

fn in_h1(d: NaiveDate) -> bool {
    d >= NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() && d <= NaiveDate::from_ymd_opt(2024, 6, 30).unwrap()
}

/// For each owner, the reach date of each stage index: the earliest event at that stage or a later one (the off
/// stage excluded), worked out here without the code under test.
fn reach(events: &[(i64, String, NaiveDate)], order: &[&str]) -> HashMap<i64, Vec<Option<NaiveDate>>> {
    let mut out: HashMap<i64, Vec<Option<NaiveDate>>> = HashMap::new();
    for (owner, stage, date) in events {
        let Some(rank) = order.iter().position(|s| s == stage) else {
            continue;
        };
        let dates = out.entry(*owner).or_insert_with(|| vec![None; order.len()]);
        for slot in dates.iter_mut().take(rank + 1) {
            if slot.is_none_or(|d| *date < d) {
                *slot = Some(*date);
            }
        }
    }
    out
}

fn h1_counts(reached: &HashMap<i64, Vec<Option<NaiveDate>>>, stages: usize) -> Vec<usize> {
    (0..stages)
        .map(|s| reached.values().filter(|dates| dates[s].is_some_and(in_h1)).count())
        .collect()
}

async fn demo_park_has_the_half_year_figures(app: TestApp) {
    invest_crm::demo::seed(&app.db, false)
        .await
        .expect("demo loads into an empty database");

    let events: Vec<(i64, String, NaiveDate)> = stage_event::Entity::find()
        .select_only()
        .columns([
            stage_event::Column::ProjectId,
            stage_event::Column::Stage,
            stage_event::Column::OccurredOn,
        ])
        .into_tuple()
        .all(&app.db)
        .await
        .unwrap();
    let stages = ["lead", "negotiating", "signed", "landed", "started", "producing"];
    let reached = reach(&events, &stages);
    let counts = h1_counts(&reached, stages.len());
    assert_eq!(
        &counts[1..],
        &[25, 9, 5, 5, 3],
        "具体洽谈25个, 签约9个, 落地5个, 开工5个, 投产3个"
    );

    let names: HashMap<i64, String> = project::Entity::find()
        .select_only()
        .columns([project::Column::Id, project::Column::Name])
        .into_tuple()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let reached_in_h1 = |stage: usize| -> Vec<&str> {
        reached
            .iter()
            .filter(|(_, d)| d[stage].is_some_and(in_h1))
            .map(|(id, _)| names[id].as_str())
            .collect()
    };
    assert!(
        reached_in_h1(3).iter().any(|n| n.starts_with("万维无人机")),
        "万维无人机 landed"
    );
    assert!(reached_in_h1(4).contains(&"福美新材料生产基地"));
    let producing = reached_in_h1(5);
    assert!(producing.iter().any(|n| n.starts_with("华元通")) && producing.iter().any(|n| n.starts_with("恒丰厨具")));

    // The API agrees with the count of its own reach-date filter.
    let (s, p) = app
        .get("/api/v1/projects?reached=negotiating&reached_from=2024-01-01&reached_to=2024-06-30")
        .await;
    assert_eq!((s, p["total"].as_u64()), (StatusCode::OK, Some(25)));

    let visits: Vec<(NaiveDate, i32)> = visit::Entity::find()
        .select_only()
        .columns([visit::Column::VisitDate, visit::Column::Headcount])
        .into_tuple()
        .all(&app.db)
        .await
        .unwrap();
    let h1: Vec<i32> = visits.iter().filter(|(d, _)| in_h1(*d)).map(|(_, h)| *h).collect();
    assert_eq!((h1.len(), h1.iter().sum::<i32>()), (42, 278), "42批278人次");
    let (_, v) = app.get("/api/v1/visits?from=2024-01-01&to=2024-06-30").await;
    assert_eq!((v["total"].as_u64(), v["person_times"].as_i64()), (Some(42), Some(278)));

    let (_, o) = app
        .get("/api/v1/outreach?from=2024-01-01&to=2024-06-30&per_page=200")
        .await;
    assert_eq!(o["total"], 15);
    assert!(
        o["items"].as_array().unwrap().iter().all(|x| x["kind"] == "trip"),
        "15 outreach trips"
    );
    let cities: Vec<&str> = o["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["city"].as_str().unwrap())
        .collect();
    for city in ["北京", "天津", "南京", "东莞", "深圳"] {
        assert!(cities.contains(&city), "a trip to {city}");
    }

    let (_, partners) = app.get("/api/v1/partners?q=深圳市低碳产业投资商会").await;
    assert_eq!(partners["total"], 1);
    assert!(in_h1(
        partners["items"][0]["agreement_date"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    ));

    let majors: Vec<Option<i64>> = project::Entity::find()
        .select_only()
        .column(project::Column::AgreedInvestmentYuan)
        .filter(project::Column::IsMajor.eq(true))
        .into_tuple()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(majors.len(), 58, "58 major projects");
    assert_eq!(
        majors.iter().flatten().sum::<i64>(),
        98 * 100_000_000,
        "98亿元 agreed investment"
    );

    let resolved: Vec<Option<NaiveDate>> = blocker::Entity::find()
        .select_only()
        .column(blocker::Column::ResolvedOn)
        .into_tuple()
        .all(&app.db)
        .await
        .unwrap();
    let resolved_h1 = resolved.iter().flatten().filter(|d| in_h1(**d)).count();
    assert!(resolved_h1 > 200, "over 200 blockers resolved, got {resolved_h1}");

    let inc: Vec<(i64, String, NaiveDate)> = incubation_event::Entity::find()
        .select_only()
        .columns([
            incubation_event::Column::CandidateId,
            incubation_event::Column::Stage,
            incubation_event::Column::OccurredOn,
        ])
        .order_by_asc(incubation_event::Column::Id)
        .into_tuple()
        .all(&app.db)
        .await
        .unwrap();
    let inc_stages = ["cultivating", "applied", "approved", "filed"];
    assert_eq!(
        h1_counts(&reach(&inc, &inc_stages), 4),
        [5, 3, 3, 3],
        "培育5家, 申报3家, 通过并备案3家"
    );
}

/// A fingerprint of the demo data that does not depend on generated ids.
async fn fingerprint(app: &TestApp) -> Vec<String> {
    let (_, p) = app.get("/api/v1/projects?per_page=200").await;
    let mut out: Vec<String> = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            format!(
                "{} {} {} {}",
                x["name"], x["stage"], x["reach_dates"], x["agreed_investment"]
            )
        })
        .collect();
    let (_, v) = app.get("/api/v1/visits?per_page=200").await;
    out.extend(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| format!("{} {}", x["visit_date"], x["headcount"])),
    );
    out.sort();
    out
}

async fn demo_park_is_deterministic_and_guarded(app: TestApp) {
    invest_crm::demo::seed(&app.db, false).await.unwrap();
    let first = fingerprint(&app).await;
    let err = invest_crm::demo::seed(&app.db, false)
        .await
        .expect_err("a database with records is refused");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(fingerprint(&app).await, first, "a refused seed changes nothing");
    invest_crm::demo::seed(&app.db, true)
        .await
        .expect("--force replaces the records");
    assert_eq!(fingerprint(&app).await, first, "the same command gives the same data");
    let (_, p) = app.get("/api/v1/projects").await;
    assert_eq!(p["total"], 86);
}
