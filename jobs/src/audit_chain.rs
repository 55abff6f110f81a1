//! The hash chain over the audit log (docs/SECURITY.md; the service layer writes the entries, `invest_crm::service::audit`): each entry is sealed with SHA-256 over its content and the
//! seal of the entry before it, in the order the sealer reaches them (`seq`). Writers never wait for the chain: an
//! entry is written unsealed in its own transaction and sealed moments later by [`seal`], which the service runs
//! every second and each command runs before it exits. [`verify`] walks the chain and names the first entry that
//! does not fit: one changed (its seal no longer matches), deleted (a gap in `seq` or a broken link) or inserted
//! (a link that does not match, or an entry left unsealed).

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use entity::audit_entry;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::runner::Ctx;

type AppResult<T> = Result<T, DbErr>;

/// Entries sealed per statement.
const BATCH: u64 = 1000;

/// Entries verified per statement.
const VERIFY_BATCH: u64 = 5000;

/// How long an entry may stay unsealed, and how much older than the chain's head it may be and still be sealed:
/// an entry dated further back was not written by the service (whose entries are sealed within seconds).
pub fn grace() -> Duration {
    Duration::minutes(10)
}

/// An entry's seal: SHA-256, in hex, over its content and its link to the entry before it.
pub fn seal_of(e: &audit_entry::Model) -> String {
    let content = (
        e.seq,
        &e.prev_hash,
        e.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        e.user_id,
        &e.username,
        &e.action,
        &e.entity,
        e.entity_id,
        &e.path,
        &e.fields,
        &e.changes,
        &e.client_addr,
        &e.detail,
        &e.door,
    );
    // The JSON array of those values, written straight into the hash (serde_json's maps are sorted by key, so the
    // same entry gives the same text on every database); the request id closes the array when there is one, so
    // that entries written before it existed keep their seals.
    let mut hasher = Sha256::new();
    let written = match &e.request_id {
        None => serde_json::to_writer(&mut hasher, &content),
        Some(id) => {
            let (a, b, c, d, f, g, h, i, j, k, l, m, n, o) = content;
            serde_json::to_writer(&mut hasher, &(a, b, c, d, f, g, h, i, j, k, l, m, n, o, id))
        }
    };
    written.expect("writing to a hasher cannot fail");
    hex::encode(hasher.finalize())
}

/// The last sealed entry's place and seal.
async fn head(db: &impl ConnectionTrait) -> AppResult<Option<audit_entry::Model>> {
    audit_entry::Entity::find()
        .filter(audit_entry::Column::Seq.is_not_null())
        .order_by_desc(audit_entry::Column::Seq)
        .one(db)
        .await
}

/// Seals every entry written since the last seal, oldest first; answers how many. One sealer at a time: on
/// PostgreSQL an advisory lock held by the transaction, on SQLite the write lock.
pub async fn seal(db: &DatabaseConnection) -> AppResult<usize> {
    // Most seconds there is nothing to seal: say so without taking the write lock.
    let waiting = audit_entry::Entity::find()
        .filter(audit_entry::Column::Seq.is_null())
        .one(db)
        .await?;
    if waiting.is_none() {
        return Ok(0);
    }
    let mut sealed = 0;
    // Entries left unsealed (dated before the chain) are passed over, not read again: the next batch starts after
    // the last entry looked at.
    let mut after = i64::MIN;
    loop {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let txn = db.begin_with_options(options).await?;
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(7270301)").await?;
        }
        let mut last = head(&txn).await?;
        let pending = audit_entry::Entity::find()
            .filter(audit_entry::Column::Seq.is_null())
            .filter(audit_entry::Column::Id.gt(after))
            .order_by_asc(audit_entry::Column::Id)
            .limit(BATCH)
            .all(&txn)
            .await?;
        let n = pending.len();
        for mut e in pending {
            after = e.id;
            if last.as_ref().is_some_and(|h| e.at < h.at - grace()) {
                // Dated before the chain it would join: not the service's; left for `verify` to report.
                continue;
            }
            e.seq = Some(last.as_ref().and_then(|h| h.seq).unwrap_or(0) + 1);
            e.prev_hash = Some(last.as_ref().and_then(|h| h.hash.clone()).unwrap_or_default());
            e.hash = Some(seal_of(&e));
            audit_entry::Entity::update_many()
                .col_expr(audit_entry::Column::Seq, e.seq.into())
                .col_expr(audit_entry::Column::PrevHash, e.prev_hash.clone().into())
                .col_expr(audit_entry::Column::Hash, e.hash.clone().into())
                .filter(audit_entry::Column::Id.eq(e.id))
                .exec(&txn)
                .await?;
            sealed += 1;
            last = Some(e);
        }
        txn.commit().await?;
        if (n as u64) < BATCH {
            return Ok(sealed);
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Sealed entries checked.
    pub checked: u64,
    /// The first seq of the chain in the database (above 1 when older entries were archived).
    pub first_seq: Option<i64>,
    /// The first problem, naming the entry.
    pub problem: Option<String>,
    /// Entries written in the last minutes and not yet sealed (not a problem).
    pub pending: u64,
}

/// Where the chain in the database must begin: at 1, or right after the last entry of an archive.
#[derive(Debug, Clone, Default)]
pub struct Start {
    /// The seq before the first entry.
    pub seq: i64,
    /// The seal of that entry ("" before the first).
    pub hash: String,
}

/// Walks the sealed entries in order from `start` (none: from wherever the database's chain begins, which is 1
/// unless entries were archived), recomputing each seal; then looks for entries left unsealed. The next page is read
/// while one is checked, and a page's seals are recomputed on two threads.
pub async fn verify(db: &DatabaseConnection, start: Option<Start>) -> AppResult<Verdict> {
    let mut v = Verdict::default();
    let mut expect: Option<Start> = start;
    let page_after = |after: i64| {
        let db = db.clone();
        tokio::spawn(async move {
            let page = audit_entry::Entity::find()
                .filter(audit_entry::Column::Seq.gt(after))
                .order_by_asc(audit_entry::Column::Seq)
                .limit(VERIFY_BATCH);
            // SQLite keeps the JSON columns as the text serde_json wrote: read as text, they need no parsing.
            Ok(if db.get_database_backend() == DatabaseBackend::Sqlite {
                Page::Stored(page.into_model::<Stored>().all(&db).await?)
            } else {
                Page::Parsed(page.all(&db).await?)
            })
        })
    };
    let joined = |r: Result<AppResult<Page>, tokio::task::JoinError>| {
        r.map_err(|e| DbErr::Custom(format!("reading the audit log: {e}")))?
    };
    let mut next = page_after(i64::MIN);
    loop {
        let page = joined(next.await)?;
        let Some(last) = page.last_seq() else { break };
        next = page_after(last);
        let problem = match &page {
            Page::Stored(entries) => check_page(entries, &mut expect, &mut v),
            Page::Parsed(entries) => check_page(entries, &mut expect, &mut v),
        };
        if let Some(problem) = problem {
            next.abort();
            v.problem = Some(problem);
            break;
        }
    }
    if v.problem.is_none() {
        let cutoff: DateTime<Utc> = Utc::now() - grace();
        let unsealed = audit_entry::Entity::find()
            .filter(audit_entry::Column::Seq.is_null())
            .order_by_asc(audit_entry::Column::Id)
            .all(db)
            .await?;
        v.pending = unsealed.iter().filter(|e| e.at >= cutoff).count() as u64;
        if let Some(e) = unsealed.iter().find(|e| e.at < cutoff) {
            v.problem = Some(format!(
                "entry id {} ({}, {}) is not sealed: it was not written by the service, or the sealer has not run",
                e.id, e.at, e.action
            ));
        }
    }
    Ok(v)
}

/// A page of the chain as [`verify`] reads it.
enum Page {
    /// From SQLite, the JSON columns as text.
    Stored(Vec<Stored>),
    /// From PostgreSQL, parsed.
    Parsed(Vec<audit_entry::Model>),
}

impl Page {
    /// The place of its last entry, if it has any.
    fn last_seq(&self) -> Option<i64> {
        match self {
            Page::Stored(e) => e.last().map(|e| e.seq()),
            Page::Parsed(e) => e.last().map(Chained::seq),
        }
    }
}

/// An entry of the chain as [`check_page`] checks it.
trait Chained {
    fn id(&self) -> i64;
    fn seq(&self) -> i64;
    fn prev_hash(&self) -> &str;
    fn hash(&self) -> &str;
    /// Whether it still matches its seal.
    fn sealed(&self) -> bool;
}

/// The chain's columns are the same in both forms of an entry; only the seal is checked differently.
macro_rules! chained {
    ($t:ty, $sealed:expr) => {
        impl Chained for $t {
            fn id(&self) -> i64 {
                self.id
            }
            fn seq(&self) -> i64 {
                self.seq.unwrap_or_default()
            }
            fn prev_hash(&self) -> &str {
                self.prev_hash.as_deref().unwrap_or_default()
            }
            fn hash(&self) -> &str {
                self.hash.as_deref().unwrap_or_default()
            }
            fn sealed(&self) -> bool {
                $sealed(self)
            }
        }
    };
}

chained!(audit_entry::Model, |e: &audit_entry::Model| e.hash.as_deref()
    == Some(seal_of(e).as_str()));
chained!(Stored, Stored::sealed);

/// An entry as [`verify`] reads it from SQLite: the JSON columns as the text serde_json wrote, which is already the
/// seal's form.
#[derive(Debug, sea_orm::FromQueryResult)]
struct Stored {
    id: i64,
    at: DateTime<Utc>,
    user_id: Option<i64>,
    username: Option<String>,
    action: String,
    entity: Option<String>,
    entity_id: Option<i64>,
    path: String,
    fields: String,
    changes: Option<String>,
    client_addr: Option<String>,
    detail: Option<String>,
    door: String,
    seq: Option<i64>,
    prev_hash: Option<String>,
    hash: Option<String>,
    request_id: Option<String>,
}

// What SQLite would store for an entry: the unit test compares the two ways of sealing.
#[cfg(test)]
impl From<audit_entry::Model> for Stored {
    fn from(e: audit_entry::Model) -> Stored {
        Stored {
            id: e.id,
            at: e.at,
            user_id: e.user_id,
            username: e.username,
            action: e.action,
            entity: e.entity,
            entity_id: e.entity_id,
            path: e.path,
            fields: e.fields.to_string(),
            changes: e.changes.map(|c| c.to_string()),
            client_addr: e.client_addr,
            detail: e.detail.map(|d| d.to_string()),
            door: e.door,
            seq: e.seq,
            prev_hash: e.prev_hash,
            hash: e.hash,
            request_id: e.request_id,
        }
    }
}

impl Stored {
    /// Whether the entry still matches its seal: hashed from the stored text at once; when that differs (text that is
    /// not the way serde_json writes it), from its parsed values, exactly as [`seal_of`] seals.
    fn sealed(&self) -> bool {
        let Some(hash) = self.hash.as_deref() else {
            return false;
        };
        if self.seal(false).is_some_and(|s| s == hash) {
            return true;
        }
        self.seal(true).is_some_and(|s| s == hash)
    }

    /// The seal over the entry's values, the JSON columns as stored (or parsed and written out again): the text
    /// [`seal_of`] hashes, written piece by piece. None when a JSON column does not parse.
    fn seal(&self, reparse: bool) -> Option<String> {
        let mut h = Sha256::new();
        h.update(b"[");
        let at = self.at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let (fields, changes, detail) = (
            erased::Raw(Some(&self.fields), reparse),
            erased::Raw(self.changes.as_deref(), reparse),
            erased::Raw(self.detail.as_deref(), reparse),
        );
        let mut parts: Vec<&dyn erased::Json> = vec![
            &self.seq,
            &self.prev_hash,
            &at,
            &self.user_id,
            &self.username,
            &self.action,
            &self.entity,
            &self.entity_id,
            &self.path,
            &fields,
            &changes,
            &self.client_addr,
            &detail,
            &self.door,
        ];
        if let Some(id) = &self.request_id {
            parts.push(id);
        }
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                h.update(b",");
            }
            part.write(&mut h)?;
        }
        h.update(b"]");
        Some(hex::encode(h.finalize()))
    }
}

/// The pieces of a seal's JSON array, each written into the hash as serde_json writes it.
mod erased {
    use serde_json::Value;
    use sha2::{Digest, Sha256};

    /// A value written as JSON into the hash.
    pub trait Json {
        /// Writes it; None when it cannot be.
        fn write(&self, h: &mut Sha256) -> Option<()>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write(&self, h: &mut Sha256) -> Option<()> {
            serde_json::to_writer(h, self).ok()
        }
    }

    /// A JSON column's stored text (None is null), written as it is or parsed and written out again.
    pub struct Raw<'a>(pub Option<&'a str>, pub bool);

    impl Json for Raw<'_> {
        fn write(&self, h: &mut Sha256) -> Option<()> {
            match self {
                Raw(None, _) => h.update(b"null"),
                Raw(Some(text), false) => h.update(text.as_bytes()),
                Raw(Some(text), true) => serde_json::to_writer(h, &serde_json::from_str::<Value>(text).ok()?).ok()?,
            }
            Some(())
        }
    }
}

/// Checks one page of the chain against the entry before it: each link, then each seal (recomputed on two threads);
/// answers the first problem.
fn check_page<E: Chained + Sync>(page: &[E], expect: &mut Option<Start>, v: &mut Verdict) -> Option<String> {
    let (front, back) = page.split_at(page.len() / 2);
    let sealed = |part: &[E]| part.iter().all(Chained::sealed);
    let (front_ok, back_ok) = std::thread::scope(|s| {
        let back = s.spawn(|| sealed(back));
        (sealed(front), back.join().unwrap_or(false))
    });
    let all_sealed = front_ok && back_ok;
    for e in page {
        let seq = e.seq();
        v.first_seq.get_or_insert(seq);
        let link = e.prev_hash();
        if let Some(x) = expect.as_ref() {
            if seq != x.seq + 1 {
                return Some(format!(
                    "entries {}–{} are missing before entry {seq} (id {})",
                    x.seq + 1,
                    seq - 1,
                    e.id()
                ));
            }
            if link != x.hash.as_str() {
                return Some(format!(
                    "entry {seq} (id {}) does not follow entry {}: one of them was changed, or an entry was \
                     inserted between them",
                    e.id(),
                    x.seq
                ));
            }
        } else if seq == 1 && !link.is_empty() {
            return Some(format!("entry 1 (id {}) links to an entry before it", e.id()));
        }
        if !all_sealed && !e.sealed() {
            return Some(format!("entry {seq} (id {}) was changed after it was sealed", e.id()));
        }
        v.checked += 1;
        *expect = Some(Start {
            seq,
            hash: e.hash().to_owned(),
        });
    }
    None
}

/// An entry as an archive line: every column, the seal included.
pub fn archived(e: &audit_entry::Model) -> Value {
    json!({
        "id": e.id, "at": e.at.to_rfc3339_opts(SecondsFormat::Micros, true), "user_id": e.user_id,
        "username": e.username, "action": e.action, "entity": e.entity, "entity_id": e.entity_id, "path": e.path,
        "fields": e.fields, "changes": e.changes, "client_addr": e.client_addr, "detail": e.detail, "door": e.door,
        "seq": e.seq, "prev_hash": e.prev_hash, "hash": e.hash, "request_id": e.request_id,
    })
}

/// An archive line back as an entry.
pub fn from_archive(v: &Value) -> Option<audit_entry::Model> {
    let s = |k: &str| v[k].as_str().map(str::to_owned);
    Some(audit_entry::Model {
        id: v["id"].as_i64()?,
        at: DateTime::parse_from_rfc3339(v["at"].as_str()?)
            .ok()?
            .with_timezone(&Utc),
        user_id: v["user_id"].as_i64(),
        username: s("username"),
        action: s("action")?,
        entity: s("entity"),
        entity_id: v["entity_id"].as_i64(),
        path: s("path")?,
        fields: v["fields"].clone(),
        changes: (!v["changes"].is_null()).then(|| v["changes"].clone()),
        client_addr: s("client_addr"),
        detail: (!v["detail"].is_null()).then(|| v["detail"].clone()),
        door: s("door")?,
        seq: v["seq"].as_i64(),
        prev_hash: s("prev_hash"),
        hash: s("hash"),
        request_id: s("request_id"),
    })
}

/// Checks the entries of an archive in order, as [`verify`] checks the database's; answers where the database's
/// chain must continue.
pub fn verify_archive(entries: &[audit_entry::Model]) -> Result<Start, String> {
    let mut at = Start::default();
    for (i, e) in entries.iter().enumerate() {
        let seq = e.seq.ok_or_else(|| format!("archive line {} is not sealed", i + 1))?;
        if i > 0 && seq != at.seq + 1 {
            return Err(format!("archive line {}: entry {seq} follows entry {}", i + 1, at.seq));
        }
        if i == 0 && seq == 1 && !e.prev_hash.clone().unwrap_or_default().is_empty() {
            return Err("archive line 1 links to an entry before the first".into());
        }
        if i > 0 && e.prev_hash.clone().unwrap_or_default() != at.hash {
            return Err(format!(
                "archive line {}: entry {seq} does not follow entry {}",
                i + 1,
                at.seq
            ));
        }
        if e.hash.as_deref() != Some(seal_of(e).as_str()) {
            return Err(format!(
                "archive line {}: entry {seq} was changed after it was sealed",
                i + 1
            ));
        }
        at = Start {
            seq,
            hash: e.hash.clone().unwrap_or_default(),
        };
    }
    Ok(at)
}

/// The nightly check: seals what is waiting, then verifies the whole chain; a chain that does not verify fails the
/// run, whose last failure alerts the admins by mail (docs/SECURITY.md).
pub async fn nightly(ctx: Ctx) -> anyhow::Result<()> {
    seal(&ctx.db).await?;
    let v = verify(&ctx.db, None).await?;
    if let Some(problem) = v.problem {
        anyhow::bail!("审计日志校验失败(the audit trail does not verify): {problem}");
    }
    tracing::info!(checked = v.checked, "audit trail verified");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seal is written straight into the hash; it must stay the SHA-256 of the JSON array the chains already
    /// sealed were sealed with, or they would no longer verify.
    #[test]
    fn the_seal_is_the_hash_of_the_entry_s_json_array() {
        let e = audit_entry::Model {
            id: 7,
            at: DateTime::parse_from_rfc3339("2026-12-06T14:00:00.123456Z")
                .unwrap()
                .with_timezone(&Utc),
            user_id: Some(3),
            username: Some("zhoumin".into()),
            action: "update".into(),
            entity: Some("project".into()),
            entity_id: Some(80),
            path: "/projects/80".into(),
            fields: json!(["notes", "stage"]),
            changes: Some(
                json!([{"field": "notes", "was": "旧\"备注\"", "became": "新备注\n第二行"}, {"secret": true, "field": "x"}]),
            ),
            client_addr: None,
            detail: Some(json!({"z": 1, "a": [1.5, null]})),
            door: "web".into(),
            seq: Some(12),
            prev_hash: Some("ab".repeat(32)),
            hash: None,
            request_id: None,
        };
        let text = json!([
            e.seq,
            e.prev_hash,
            e.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            e.user_id,
            e.username,
            e.action,
            e.entity,
            e.entity_id,
            e.path,
            e.fields,
            e.changes,
            e.client_addr,
            e.detail,
            e.door,
        ])
        .to_string();
        assert_eq!(seal_of(&e), hex::encode(Sha256::digest(text)));

        // verify's reading: the stored text hashed as it is, and text serde_json would not write (jsonb's spacing,
        // keys in another order) checked by its values; a changed value is found either way.
        let mut stored = Stored::from(audit_entry::Model {
            hash: Some(seal_of(&e)),
            ..e.clone()
        });
        assert_eq!(stored.seal(false), stored.hash);
        assert!(stored.sealed());
        stored.detail = Some(r#"{"a": [1.5, null], "z": 1}"#.into());
        assert!(stored.seal(false) != stored.hash && stored.sealed());
        stored.detail = Some(r#"{"a": [1.5, null], "z": 2}"#.into());
        assert!(!stored.sealed());

        // A request id is sealed with its entry (and an entry without one keeps the seal it had).
        let with_id = audit_entry::Model {
            request_id: Some("0a1b2c".into()),
            ..e.clone()
        };
        assert_ne!(seal_of(&with_id), seal_of(&e));
        let mut stored = Stored::from(audit_entry::Model {
            hash: Some(seal_of(&with_id)),
            ..with_id
        });
        assert!(stored.sealed());
        stored.request_id = Some("0a1b2d".into());
        assert!(!stored.sealed());
    }
}
