//! The audit trail's verification at scale: an audit log of N sealed entries (each a typical update: three fields
//! with their values before and after), then `audit verify` timed over it (docs/BENCHMARKS.md, "Audit trail").

use std::time::Instant;

use chrono::{Duration, SubsecRound, Utc};
use entity::audit_entry;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter,
};
use serde_json::json;

use crate::service::audit::chain;

/// Fills an audit log without a chain with `entries` sealed entries, then times `audit verify` over them `repeat` times.
pub async fn verify(db: &DatabaseConnection, entries: usize, repeat: usize) -> anyhow::Result<()> {
    // The migrations' own entry may wait unsealed; a sealed chain there already would not be this one's.
    let sealed = audit_entry::Entity::find()
        .filter(audit_entry::Column::Seq.is_not_null())
        .count(db)
        .await?;
    anyhow::ensure!(
        sealed == 0,
        "the audit log has a chain already: run this on a database of its own"
    );
    let started = Instant::now();
    let at0 = Utc::now().trunc_subsecs(6) - Duration::days(1);
    let mut prev = String::new();
    let mut rows = Vec::with_capacity(1000);
    for n in 0..entries {
        let seq = i64::try_from(n)? + 1;
        let mut m = audit_entry::Model {
            id: seq,
            at: at0 + Duration::microseconds(seq),
            user_id: Some(2 + seq % 7),
            username: Some(format!("staff{}", seq % 7)),
            action: "update".into(),
            entity: Some("project".into()),
            entity_id: Some(seq % 100_000 + 1),
            path: format!("/api/v1/projects/{}", seq % 100_000 + 1),
            fields: json!(["notes", "stage", "agreed_investment_yuan"]),
            changes: Some(json!([
                {"field": "notes", "was": "客商考察厂房", "became": format!("第 {seq} 次跟进后更新")},
                {"field": "stage", "was": "negotiating", "became": "signed"},
                {"field": "agreed_investment_yuan", "was": 500_000_000, "became": 520_000_000},
            ])),
            client_addr: Some("10.0.0.8".into()),
            detail: None,
            door: "api".into(),
            seq: Some(seq),
            prev_hash: Some(prev.clone()),
            hash: None,
            request_id: Some(format!("{seq:032x}")),
        };
        m.hash = Some(chain::seal_of(&m));
        prev = m.hash.clone().unwrap_or_default();
        let mut row = m.into_active_model().reset_all();
        row.id = NotSet;
        rows.push(row);
        if rows.len() == 1000 || n + 1 == entries {
            audit_entry::Entity::insert_many(std::mem::take(&mut rows))
                .exec(db)
                .await?;
        }
    }
    eprintln!(
        "{entries} sealed entries written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let v = chain::verify(db, None).await?;
        times.push(t.elapsed().as_secs_f64());
        anyhow::ensure!(v.problem.is_none(), "the chain does not verify: {:?}", v.problem);
        anyhow::ensure!(v.checked == entries as u64, "checked {} of {entries}", v.checked);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "audit verify over {entries} entries: median {:.2} s (range {:.2}–{:.2} s, {} runs)",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len()
    );
    Ok(())
}
