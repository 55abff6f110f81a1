//! Ledger import batches (导入批次): the record of what a committed import created and changed, and its undo. The
//! reading of files and the matching of rows live in `crate::import`; every record it writes goes through the
//! services of its aggregate, and this module keeps the batch.

mod before;
mod lookups;
mod undo;

use std::collections::HashMap;

use chrono::Utc;
use entity::{
    blocker, company, contact, fund_arrival, import_batch, import_item, incubation_candidate as candidate, outreach,
    project, visit,
};
use sea_orm::{
    ActiveValue::Set,
    ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Alias, Expr, ExprTrait},
};

use super::{
    Actor, AppError, AppResult, Dir, Kind, Order, Page, Paging,
    audit::{self, Entry, write},
    find,
};
pub use before::{BlockerBefore, CandidateBefore, CompanyBefore, ProjectBefore};
pub use lookups::*;
pub use undo::undo;

/// A record a batch touched.
#[derive(Debug, Clone)]
pub enum Touched {
    /// A company it created.
    NewCompany(i64),
    /// A company it changed, and what it was.
    Company(i64, CompanyBefore),
    /// A project it created.
    NewProject(i64),
    /// A project it changed, and what it was.
    Project(i64, ProjectBefore),
    /// A contact it added (to a company it created or to one already recorded).
    NewContact(i64),
    /// A visit it recorded.
    NewVisit(i64),
    /// A fund arrival it recorded.
    NewFund(i64),
    /// A blocker it recorded.
    NewBlocker(i64),
    /// A blocker it changed, and what it was.
    Blocker(i64, BlockerBefore),
    /// An outreach activity it recorded.
    NewOutreach(i64),
    /// An incubation candidate it recorded.
    NewCandidate(i64),
    /// An incubation candidate it moved on, and what it was.
    Candidate(i64, CandidateBefore),
}

/// The kinds of record a batch touches, by their name in `import_items.kind`, in the order an undo deletes them
/// (what hangs on a record before the record).
const KINDS: [&str; 8] = [
    "fund_arrival",
    "blocker",
    "visit",
    "outreach",
    "contact",
    "project",
    "candidate",
    "company",
];

impl Touched {
    /// The kind of record, its id, and what it was before (for a record the batch changed).
    fn parts(self) -> (&'static str, i64, Option<serde_json::Value>) {
        let kind = self.kind();
        let (id, before) = match self {
            Touched::Company(id, before) => (id, Some(serde_json::json!(before))),
            Touched::Project(id, before) => (id, Some(serde_json::json!(before))),
            Touched::Blocker(id, before) => (id, Some(serde_json::json!(before))),
            Touched::Candidate(id, before) => (id, Some(serde_json::json!(before))),
            Touched::NewCompany(id)
            | Touched::NewProject(id)
            | Touched::NewContact(id)
            | Touched::NewVisit(id)
            | Touched::NewFund(id)
            | Touched::NewBlocker(id)
            | Touched::NewOutreach(id)
            | Touched::NewCandidate(id) => (id, None),
        };
        (kind, id, before)
    }

    /// The kind of record, as stored in `import_items.kind`.
    fn kind(&self) -> &'static str {
        match self {
            Touched::NewCompany(_) | Touched::Company(..) => "company",
            Touched::NewProject(_) | Touched::Project(..) => "project",
            Touched::NewContact(_) => "contact",
            Touched::NewVisit(_) => "visit",
            Touched::NewFund(_) => "fund_arrival",
            Touched::NewBlocker(_) | Touched::Blocker(..) => "blocker",
            Touched::NewOutreach(_) => "outreach",
            Touched::NewCandidate(_) | Touched::Candidate(..) => "candidate",
        }
    }
}

fn unknown_kind(kind: &str) -> AppError {
    AppError::Internal(anyhow::anyhow!("an import item of unknown kind {kind}"))
}

/// The ids and versions of the records of one kind among `ids`.
async fn versions_of(db: &impl ConnectionTrait, kind: &str, ids: &[i64]) -> AppResult<Vec<(i64, i32)>> {
    async fn of<E: EntityTrait>(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<Vec<(i64, i32)>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(5000) {
            let rows: Vec<(i64, i32)> = E::find()
                .select_only()
                .column_as(Expr::col(Alias::new("id")), "id")
                .column_as(Expr::col(Alias::new("version")), "version")
                .filter(Expr::col(Alias::new("id")).is_in(chunk.iter().copied()))
                .into_tuple()
                .all(db)
                .await?;
            out.extend(rows);
        }
        Ok(out)
    }
    match kind {
        "company" => of::<company::Entity>(db, ids).await,
        "project" => of::<project::Entity>(db, ids).await,
        "contact" => of::<contact::Entity>(db, ids).await,
        "visit" => of::<visit::Entity>(db, ids).await,
        "blocker" => of::<blocker::Entity>(db, ids).await,
        "outreach" => of::<outreach::Entity>(db, ids).await,
        "candidate" => of::<candidate::Entity>(db, ids).await,
        "fund_arrival" => of::<fund_arrival::Entity>(db, ids).await,
        other => Err(unknown_kind(other)),
    }
}

/// Deletes the records of one kind.
async fn delete_of(db: &impl ConnectionTrait, kind: &str, ids: Vec<i64>) -> AppResult<()> {
    async fn del<E: EntityTrait>(db: &impl ConnectionTrait, ids: Vec<i64>) -> AppResult<()> {
        for chunk in ids.chunks(5000) {
            E::delete_many()
                .filter(Expr::col(Alias::new("id")).is_in(chunk.iter().copied()))
                .exec(db)
                .await?;
        }
        Ok(())
    }
    match kind {
        "company" => del::<company::Entity>(db, ids).await,
        "project" => del::<project::Entity>(db, ids).await,
        "contact" => del::<contact::Entity>(db, ids).await,
        "visit" => del::<visit::Entity>(db, ids).await,
        "blocker" => del::<blocker::Entity>(db, ids).await,
        "outreach" => del::<outreach::Entity>(db, ids).await,
        "candidate" => del::<candidate::Entity>(db, ids).await,
        "fund_arrival" => del::<fund_arrival::Entity>(db, ids).await,
        other => Err(unknown_kind(other)),
    }
}

/// A committed import to record.
pub struct NewBatch {
    /// The dataset.
    pub dataset: String,
    /// The file's name.
    pub file_name: String,
    /// The file's SHA-256, in hex.
    pub sha256: String,
    /// The report's counts.
    pub counts: serde_json::Value,
    /// What it created and changed.
    pub touched: Vec<Touched>,
    /// The client's address, for the audit log.
    pub client_addr: Option<String>,
}

/// Records a committed batch with its items, and its row in the audit log, inside the caller's transaction; answers
/// the batch's id.
pub async fn record(db: &impl ConnectionTrait, actor: &Actor, b: NewBatch) -> AppResult<i64> {
    let batch = import_batch::Entity::insert(import_batch::ActiveModel {
        dataset: Set(b.dataset.clone()),
        file_name: Set(b.file_name.chars().take(255).collect()),
        sha256: Set(b.sha256.clone()),
        user_id: Set((actor.user_id > 0).then_some(actor.user_id)),
        username: Set(actor.username.clone()),
        counts: Set(b.counts.clone()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await?;
    let versions = versions_after(db, &b.touched).await?;
    let mut items = Vec::with_capacity(b.touched.len());
    let mut entries = Vec::with_capacity(b.touched.len());
    let who = (actor.user_id > 0).then_some(actor.user_id);
    for t in b.touched {
        let (kind, id, before) = t.parts();
        entries.push(Entry {
            action: if before.is_none() { "create" } else { "update" }.into(),
            user_id: who,
            username: Some(actor.username.clone()),
            entity: Some(kind.into()),
            entity_id: Some(id),
            client_addr: b.client_addr.clone(),
            detail: Some(serde_json::json!({ "import_batch_id": batch.id })),
            ..Default::default()
        });
        let version = versions.get(&(kind, id)).copied().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "the {kind} {id} an import wrote is not found in its transaction"
            ))
        })?;
        items.push(import_item::ActiveModel {
            batch_id: Set(batch.id),
            kind: Set(kind.into()),
            record_id: Set(id),
            created: Set(before.is_none()),
            before: Set(before),
            version_after: Set(version),
            ..Default::default()
        });
    }
    super::insert_all(db, items, 3000).await?;
    audit::write_many(db, entries).await?;
    write(
        db,
        Entry {
            action: "import".into(),
            user_id: who,
            username: Some(actor.username.clone()),
            entity: Some(Kind::ImportBatch.name().into()),
            entity_id: Some(batch.id),
            path: String::new(),
            changes: Vec::new(),
            client_addr: b.client_addr,
            detail: Some(serde_json::json!({
                "dataset": b.dataset, "file_name": b.file_name, "sha256": b.sha256, "counts": b.counts,
            })),
            door: None,
        },
    )
    .await?;
    Ok(batch.id)
}

/// The versions of the touched records now, by kind and id.
async fn versions_after(
    db: &impl ConnectionTrait,
    touched: &[Touched],
) -> AppResult<HashMap<(&'static str, i64), i32>> {
    let mut ids: HashMap<&'static str, Vec<i64>> = HashMap::new();
    for t in touched {
        let (kind, id, _) = t.clone().parts();
        ids.entry(kind).or_default().push(id);
    }
    let mut out = HashMap::new();
    for (kind, ids) in ids {
        out.extend(
            versions_of(db, kind, &ids)
                .await?
                .into_iter()
                .map(|(id, v)| ((kind, id), v)),
        );
    }
    Ok(out)
}

/// A page of import batches, newest first.
pub async fn list(db: &impl ConnectionTrait, paging: Paging) -> AppResult<Page<import_batch::Model>> {
    paging
        .rows(
            db,
            import_batch::Entity::find(),
            Order(&[(import_batch::Column::Id, Dir::Desc)]),
        )
        .await
}

/// A batch by id.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<import_batch::Model> {
    find::<import_batch::Entity, _>(db, id, Kind::ImportBatch).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undo_knows_every_kind_a_batch_records() {
        let before: CandidateBefore =
            serde_json::from_value(serde_json::json!({"stage": "applied", "last_event_id": 0})).unwrap();
        for t in [
            Touched::NewCompany(1),
            Touched::NewProject(1),
            Touched::NewContact(1),
            Touched::NewVisit(1),
            Touched::NewFund(1),
            Touched::NewBlocker(1),
            Touched::NewOutreach(1),
            Touched::NewCandidate(1),
            Touched::Candidate(1, before),
        ] {
            assert!(KINDS.contains(&t.kind()), "{}", t.kind());
        }
        // What hangs on a record is deleted before it.
        let at = |k: &str| KINDS.iter().position(|x| *x == k).unwrap();
        assert!(at("fund_arrival") < at("project") && at("project") < at("company") && at("candidate") < at("company"));
        assert!(at("contact") < at("company") && at("visit") < at("company") && at("outreach") < at("company"));
    }
}
