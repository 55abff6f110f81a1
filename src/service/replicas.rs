//! The replicas of the service that share one database (docs/DEPLOYMENT.md): each registers at start with a
//! fingerprint of the settings they must agree on — a replica with another body limit or sign-in policy would
//! answer the same request differently — and renews its row while it runs; a difference is reported at start.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use entity::replica;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict};
use sha2::{Digest, Sha256};

use super::AppResult;

/// Settings each replica has of its own: where it listens, logs and keeps its files, and whether it runs the jobs.
const OWN: [&str; 6] = [
    "database_url",
    "listen",
    "metrics_listen",
    "data_dir",
    "log",
    "log_format",
];

/// How long a replica that stopped renewing its row still counts as running.
const ALIVE_SECS: i64 = 120;

/// This process's name among the replicas: host and process id.
pub fn this_replica() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// Setting name → the first 12 hex digits of the SHA-256 of its value, for every setting the replicas share.
/// `shown` is the configuration as logged (secrets already masked), so the fingerprint holds no secret either.
pub fn fingerprint(shown: &serde_json::Value) -> BTreeMap<String, String> {
    let mut shared = shown.clone();
    if let Some(jobs) = shared.get_mut("jobs").and_then(serde_json::Value::as_object_mut) {
        jobs.remove("enabled");
    }
    shared
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !OWN.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), hex::encode(&Sha256::digest(v.to_string())[..6])))
        .collect()
}

/// A running replica whose shared settings are not this one's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The other replica.
    pub replica: String,
    /// The settings that differ.
    pub settings: Vec<String>,
}

/// Registers this replica (or renews its start) and answers how its settings differ from each other replica seen
/// running in the last two minutes.
pub async fn register(
    db: &impl ConnectionTrait,
    id: &str,
    settings: &BTreeMap<String, String>,
) -> AppResult<Vec<Difference>> {
    let now = Utc::now();
    let others = replica::Entity::find()
        .filter(replica::Column::Id.ne(id))
        .filter(replica::Column::SeenAt.gt(now - Duration::seconds(ALIVE_SECS)))
        .all(db)
        .await?;
    let mine = serde_json::to_value(settings).unwrap_or_default();
    replica::Entity::insert(replica::ActiveModel {
        id: Set(id.to_owned()),
        version: Set(env!("CARGO_PKG_VERSION").to_owned()),
        settings: Set(mine),
        started_at: Set(now),
        seen_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(replica::Column::Id)
            .update_columns([
                replica::Column::Version,
                replica::Column::Settings,
                replica::Column::StartedAt,
                replica::Column::SeenAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(others
        .into_iter()
        .filter_map(|o| {
            let theirs: BTreeMap<String, String> = serde_json::from_value(o.settings).unwrap_or_default();
            let names = settings.keys().chain(theirs.keys());
            let mut differ: Vec<String> = names.filter(|k| settings.get(*k) != theirs.get(*k)).cloned().collect();
            differ.sort();
            differ.dedup();
            (!differ.is_empty()).then_some(Difference {
                replica: o.id,
                settings: differ,
            })
        })
        .collect())
}

/// Marks this replica as still running, and forgets replicas gone for a day.
pub async fn renew(db: &impl ConnectionTrait, id: &str) -> AppResult<()> {
    let now = Utc::now();
    replica::Entity::update_many()
        .col_expr(replica::Column::SeenAt, sea_orm::sea_query::Expr::value(now))
        .filter(replica::Column::Id.eq(id))
        .exec(db)
        .await?;
    replica::Entity::delete_many()
        .filter(replica::Column::SeenAt.lt(now - Duration::days(1)))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes this replica off the list when it stops.
pub async fn leave(db: &impl ConnectionTrait, id: &str) -> AppResult<()> {
    replica::Entity::delete_by_id(id.to_owned()).exec(db).await?;
    Ok(())
}
