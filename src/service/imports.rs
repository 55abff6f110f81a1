//! Ledger import batches (导入批次): the record of what a committed import created and changed, and its undo. The
//! reading of files and the matching of rows live in `crate::import`; every record it writes goes through the
//! services of its aggregate, and this module keeps the batch.

use std::collections::HashMap;

use chrono::Utc;
use entity::{
    blocker, company, contact, fund_arrival, import_batch, import_item, incubation_candidate as candidate,
    incubation_event, outreach, project, stage_event, visit, visit_company,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionSession,
    sea_query::{Alias, Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};

use super::{
    Actor, AppError, AppResult, Db, Msg, Page, Paging,
    audit::{Entry, write},
    find,
};

/// What a project was before a batch changed it: the fields an import may change, its stage and its last event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectBefore {
    industry: Option<String>,
    agreed_investment_yuan: Option<i64>,
    land_mu: Option<f64>,
    is_major: bool,
    contact_leader: Option<String>,
    responsible_unit: Option<String>,
    team: Option<String>,
    notes: Option<String>,
    source: entity::enums::ProjectSource,
    stage: entity::enums::ProjectStage,
    last_event_id: i64,
}

impl ProjectBefore {
    /// The project as stored, with the id of its last stage event.
    pub fn of(p: &project::Model, last_event_id: i64) -> Self {
        ProjectBefore {
            industry: p.industry.clone(),
            agreed_investment_yuan: p.agreed_investment_yuan,
            land_mu: p.land_mu,
            is_major: p.is_major,
            contact_leader: p.contact_leader.clone(),
            responsible_unit: p.responsible_unit.clone(),
            team: p.team.clone(),
            notes: p.notes.clone(),
            source: p.source,
            stage: p.stage,
            last_event_id,
        }
    }
}

/// What a company was before a batch changed it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompanyBefore {
    credit_code: Option<String>,
    industry: Option<String>,
    province: Option<String>,
    city: Option<String>,
    notes: Option<String>,
}

impl CompanyBefore {
    /// The company as stored.
    pub fn of(c: &company::Model) -> Self {
        CompanyBefore {
            credit_code: c.credit_code.clone(),
            industry: c.industry.clone(),
            province: c.province.clone(),
            city: c.city.clone(),
            notes: c.notes.clone(),
        }
    }
}

/// What a blocker was before a batch changed it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockerBefore {
    category: entity::enums::BlockerCategory,
    owner_unit: Option<String>,
    assigned_leader: Option<String>,
    due_date: Option<chrono::NaiveDate>,
    status: entity::enums::BlockerStatus,
    resolution: Option<String>,
    resolved_on: Option<chrono::NaiveDate>,
}

impl BlockerBefore {
    /// The blocker as stored.
    pub fn of(b: &blocker::Model) -> Self {
        BlockerBefore {
            category: b.category,
            owner_unit: b.owner_unit.clone(),
            assigned_leader: b.assigned_leader.clone(),
            due_date: b.due_date,
            status: b.status,
            resolution: b.resolution.clone(),
            resolved_on: b.resolved_on,
        }
    }
}

/// What an incubation candidate was before a batch moved it on: its stage and its last event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CandidateBefore {
    stage: entity::enums::IncubationStage,
    last_event_id: i64,
}

impl CandidateBefore {
    /// The candidate as stored, with the id of its last stage event.
    pub fn of(c: &candidate::Model, last_event_id: i64) -> Self {
        CandidateBefore {
            stage: c.stage,
            last_event_id,
        }
    }
}

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
    for t in b.touched {
        let (kind, id, before) = t.parts();
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
    write(
        db,
        Entry {
            action: "import".into(),
            user_id: (actor.user_id > 0).then_some(actor.user_id),
            username: Some(actor.username.clone()),
            entity: Some("imports".into()),
            entity_id: Some(batch.id),
            path: format!("/api/v1/imports/{}", b.dataset),
            fields: Vec::new(),
            client_addr: b.client_addr,
            detail: Some(serde_json::json!({
                "dataset": b.dataset, "file_name": b.file_name, "sha256": b.sha256, "counts": b.counts,
            })),
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
        .rows(db, import_batch::Entity::find().order_by_desc(import_batch::Column::Id))
        .await
}

/// A batch by id.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<import_batch::Model> {
    find::<import_batch::Entity, _>(db, id, "import batch").await
}

/// Undoes a batch in one transaction: deletes the records it created and restores the ones it changed (their
/// versions move on, so an edit made against the imported state is refused as stale). Refused with 409, naming
/// them, when any of those records changed since the import; and when the batch was undone already.
pub async fn undo(db: &impl Db, actor: &Actor, id: i64, client_addr: Option<String>) -> AppResult<import_batch::Model> {
    let txn = db.begin().await?;
    let batch = get(&txn, id).await?;
    if batch.undone_at.is_some() {
        return Err(AppError::Conflict {
            code: "already_undone",
            msg: Msg::new("this import was undone already", "该批次已撤销"),
            field: None,
        });
    }
    let items = import_item::Entity::find()
        .filter(import_item::Column::BatchId.eq(id))
        .order_by_asc(import_item::Column::Id)
        .all(&txn)
        .await?;
    if let Some(i) = items.iter().find(|i| !KINDS.contains(&i.kind.as_str())) {
        return Err(unknown_kind(&i.kind));
    }
    check_unchanged(&txn, &items).await?;
    for kind in KINDS {
        let of_kind = items.iter().filter(|i| i.kind == kind);
        for i in of_kind.clone().filter(|i| !i.created) {
            match (kind, &i.before) {
                ("project", Some(before)) => restore_project(&txn, i, before).await?,
                ("company", Some(before)) => restore_company(&txn, i, before).await?,
                ("blocker", Some(before)) => restore_blocker(&txn, i, before).await?,
                ("candidate", Some(before)) => restore_candidate(&txn, i, before).await?,
                _ => {}
            }
        }
        delete_of(&txn, kind, of_kind.filter(|i| i.created).map(|i| i.record_id).collect()).await?;
    }
    let mut done: import_batch::ActiveModel = batch.into();
    done.undone_at = Set(Some(Utc::now()));
    done.undone_by = Set(Some(actor.username.clone()));
    let done = sea_orm::ActiveModelTrait::update(done, &txn).await?;
    write(
        &txn,
        Entry {
            action: "import_undo".into(),
            user_id: (actor.user_id > 0).then_some(actor.user_id),
            username: Some(actor.username.clone()),
            entity: Some("imports".into()),
            entity_id: Some(id),
            path: format!("/api/v1/imports/{id}"),
            fields: Vec::new(),
            client_addr,
            detail: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(done)
}

/// 409 naming the records that changed (or went) since the batch wrote them.
async fn check_unchanged(db: &impl ConnectionTrait, items: &[import_item::Model]) -> AppResult<()> {
    let mut changed: Vec<String> = Vec::new();
    for kind in KINDS {
        let of_kind: Vec<&import_item::Model> = items.iter().filter(|i| i.kind == kind).collect();
        let ids: Vec<i64> = of_kind.iter().map(|i| i.record_id).collect();
        let now: HashMap<i64, i32> = versions_of(db, kind, &ids).await?.into_iter().collect();
        for i in of_kind {
            if now.get(&i.record_id) != Some(&i.version_after) {
                changed.push(format!("{kind} {}", i.record_id));
            }
        }
    }
    changed.extend(used_since(db, items).await?);
    if changed.is_empty() {
        return Ok(());
    }
    let shown = changed.iter().take(20).cloned().collect::<Vec<_>>().join(", ");
    let more = if changed.len() > 20 {
        format!(" … ({} in all)", changed.len())
    } else {
        String::new()
    };
    Err(AppError::Conflict {
        code: "changed_since_import",
        msg: Msg::new(
            format!("records changed since the import, so it cannot be undone: {shown}{more}"),
            format!("以下记录在导入后已被修改或删除,无法撤销:{shown}{more}"),
        ),
        field: None,
    })
}

/// The records that hang on another (by a column naming it): their table, their own id column, the column naming
/// the parent, the parent's kind, and the kind the batch records such children under (if it creates them).
const CHILDREN: [(&str, &str, &str, &str, &str); 12] = [
    ("projects", "id", "company_id", "company", "project"),
    ("contacts", "id", "company_id", "company", "contact"),
    ("visit_companies", "visit_id", "company_id", "company", "visit"),
    ("outreach_companies", "outreach_id", "company_id", "company", "outreach"),
    ("incubation_candidates", "id", "company_id", "company", "candidate"),
    ("fund_arrivals", "id", "project_id", "project", "fund_arrival"),
    ("follow_ups", "id", "project_id", "project", ""),
    ("blockers", "id", "project_id", "project", "blocker"),
    ("visit_projects", "visit_id", "project_id", "project", ""),
    ("visit_projects", "project_id", "visit_id", "visit", ""),
    ("projects", "id", "source_visit_id", "visit", ""),
    ("projects", "id", "source_outreach_id", "outreach", ""),
];

/// The records a batch created that others now hang on (a project, contact, visit, follow-up … added since):
/// deleting them would take those along.
async fn used_since(db: &impl ConnectionTrait, items: &[import_item::Model]) -> AppResult<Vec<String>> {
    let created = |kind: &str| -> std::collections::HashSet<i64> {
        items
            .iter()
            .filter(|i| i.kind == kind && i.created)
            .map(|i| i.record_id)
            .collect()
    };
    let mut used = std::collections::BTreeSet::new();
    for (table, id, parent, parent_kind, child_kind) in CHILDREN {
        let parents: Vec<i64> = created(parent_kind).into_iter().collect();
        let ours = created(child_kind);
        for chunk in parents.chunks(2000) {
            let mut q = sea_orm::sea_query::Query::select();
            q.column(Alias::new(id))
                .column(Alias::new(parent))
                .from(Alias::new(table))
                .and_where(Expr::col(Alias::new(parent)).is_in(chunk.iter().copied()));
            let rows = db.query_all(&q).await?;
            for row in rows {
                let (child, of): (i64, i64) = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
                if !ours.contains(&child) {
                    used.insert(format!("{parent_kind} {of}"));
                }
            }
        }
    }
    Ok(used.into_iter().collect())
}

fn bad_before(e: serde_json::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("an import item's saved state cannot be read: {e}"))
}

async fn restore_project(
    db: &impl ConnectionTrait,
    i: &import_item::Model,
    before: &serde_json::Value,
) -> AppResult<()> {
    let b: ProjectBefore = serde_json::from_value(before.clone()).map_err(bad_before)?;
    stage_event::Entity::delete_many()
        .filter(stage_event::Column::ProjectId.eq(i.record_id))
        .filter(stage_event::Column::Id.gt(b.last_event_id))
        .exec(db)
        .await?;
    project::Entity::update(project::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(i.record_id),
        industry: Set(b.industry),
        agreed_investment_yuan: Set(b.agreed_investment_yuan),
        land_mu: Set(b.land_mu),
        is_major: Set(b.is_major),
        contact_leader: Set(b.contact_leader),
        responsible_unit: Set(b.responsible_unit),
        team: Set(b.team),
        notes: Set(b.notes),
        source: Set(b.source),
        stage: Set(b.stage),
        version: Set(i.version_after + 1),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}

async fn restore_blocker(
    db: &impl ConnectionTrait,
    i: &import_item::Model,
    before: &serde_json::Value,
) -> AppResult<()> {
    let b: BlockerBefore = serde_json::from_value(before.clone()).map_err(bad_before)?;
    blocker::Entity::update(blocker::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(i.record_id),
        category: Set(b.category),
        owner_unit: Set(b.owner_unit),
        assigned_leader: Set(b.assigned_leader),
        due_date: Set(b.due_date),
        status: Set(b.status),
        resolution: Set(b.resolution),
        resolved_on: Set(b.resolved_on),
        version: Set(i.version_after + 1),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}

async fn restore_candidate(
    db: &impl ConnectionTrait,
    i: &import_item::Model,
    before: &serde_json::Value,
) -> AppResult<()> {
    let b: CandidateBefore = serde_json::from_value(before.clone()).map_err(bad_before)?;
    incubation_event::Entity::delete_many()
        .filter(incubation_event::Column::CandidateId.eq(i.record_id))
        .filter(incubation_event::Column::Id.gt(b.last_event_id))
        .exec(db)
        .await?;
    candidate::Entity::update(candidate::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(i.record_id),
        stage: Set(b.stage),
        version: Set(i.version_after + 1),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}

async fn restore_company(
    db: &impl ConnectionTrait,
    i: &import_item::Model,
    before: &serde_json::Value,
) -> AppResult<()> {
    let b: CompanyBefore = serde_json::from_value(before.clone()).map_err(bad_before)?;
    company::Entity::update(company::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(i.record_id),
        credit_code: Set(b.credit_code),
        industry: Set(b.industry),
        province: Set(b.province),
        city: Set(b.city),
        notes: Set(b.notes),
        version: Set(i.version_after + 1),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Every company as the import matches them: id, name, credit code.
pub async fn companies(db: &impl ConnectionTrait) -> AppResult<Vec<company::Model>> {
    Ok(company::Entity::find()
        .order_by_asc(company::Column::Id)
        .all(db)
        .await?)
}

/// The contacts of the given companies.
pub async fn contacts_of(db: &impl ConnectionTrait, company_ids: &[i64]) -> AppResult<Vec<contact::Model>> {
    of_parents::<contact::Entity>(db, contact::Column::CompanyId, company_ids).await
}

/// The visits dated between `from` and `to` as the import matches them: date, sorted company ids, headcount.
pub async fn visits_between(
    db: &impl ConnectionTrait,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> AppResult<Vec<(chrono::NaiveDate, Vec<i64>, i64)>> {
    let rows: Vec<(i64, chrono::NaiveDate, i32)> = visit::Entity::find()
        .select_only()
        .columns([visit::Column::Id, visit::Column::VisitDate, visit::Column::Headcount])
        .filter(visit::Column::VisitDate.between(from, to))
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut companies = HashMap::new();
    for chunk in ids.chunks(5000) {
        companies.extend(super::links::of::<visit_company::Entity>(db, chunk.to_vec()).await?);
    }
    Ok(rows
        .into_iter()
        .map(|(id, date, headcount)| {
            let mut ids = companies.remove(&id).unwrap_or_default();
            ids.sort_unstable();
            (date, ids, i64::from(headcount))
        })
        .collect())
}

/// Every project's id, name and company name (how a fund sheet names its projects).
pub async fn project_names(db: &impl ConnectionTrait) -> AppResult<Vec<(i64, String, String)>> {
    let projects: Vec<(i64, String, i64)> = project::Entity::find()
        .select_only()
        .columns([project::Column::Id, project::Column::Name, project::Column::CompanyId])
        .into_tuple()
        .all(db)
        .await?;
    let companies: HashMap<i64, String> = company::Entity::find()
        .select_only()
        .columns([company::Column::Id, company::Column::Name])
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(projects
        .into_iter()
        .map(|(id, name, c)| (id, name, companies.get(&c).cloned().unwrap_or_default()))
        .collect())
}

/// The fund arrivals of the given projects as the import matches them: project, date, amount in yuan.
pub async fn funds_of(db: &impl ConnectionTrait, project_ids: &[i64]) -> AppResult<Vec<(i64, chrono::NaiveDate, i64)>> {
    let funds = of_parents::<fund_arrival::Entity>(db, fund_arrival::Column::ProjectId, project_ids).await?;
    Ok(funds
        .into_iter()
        .map(|f| (f.project_id, f.arrived_on, f.amount_yuan))
        .collect())
}

/// Every outreach activity as the import matches them: kind, city, first day.
pub async fn outreach_keys(
    db: &impl ConnectionTrait,
) -> AppResult<Vec<(entity::enums::OutreachKind, String, chrono::NaiveDate)>> {
    Ok(outreach::Entity::find()
        .select_only()
        .columns([
            outreach::Column::Kind,
            outreach::Column::City,
            outreach::Column::StartDate,
        ])
        .into_tuple()
        .all(db)
        .await?)
}

/// Every incubation candidate, with its stored events (recording order).
pub async fn candidates(
    db: &impl ConnectionTrait,
) -> AppResult<(Vec<candidate::Model>, HashMap<i64, Vec<incubation_event::Model>>)> {
    let all = candidate::Entity::find()
        .order_by_asc(candidate::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = all.iter().map(|c| c.id).collect();
    let mut events: HashMap<i64, Vec<incubation_event::Model>> = HashMap::new();
    for chunk in ids.chunks(5000) {
        for e in super::history::rows::<super::incubation::IncubationHistory>(db, chunk.to_vec()).await? {
            events.entry(e.candidate_id).or_default().push(e);
        }
    }
    Ok((all, events))
}

/// The blockers of the given projects.
pub async fn blockers_of(db: &impl ConnectionTrait, project_ids: &[i64]) -> AppResult<Vec<blocker::Model>> {
    of_parents::<blocker::Entity>(db, blocker::Column::ProjectId, project_ids).await
}

/// The projects of the given companies.
pub async fn projects_of(db: &impl ConnectionTrait, company_ids: &[i64]) -> AppResult<Vec<project::Model>> {
    of_parents::<project::Entity>(db, project::Column::CompanyId, company_ids).await
}

/// The records whose `column` names one of `parents`, in id order, read a chunk of parents at a time.
async fn of_parents<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
    parents: &[i64],
) -> AppResult<Vec<E::Model>> {
    let mut out = Vec::new();
    for chunk in parents.chunks(5000) {
        out.extend(
            E::find()
                .filter(column.is_in(chunk.iter().copied()))
                .order_by_asc(Expr::col(Alias::new("id")))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// The stored stage events of the given projects, each project's in recording order.
pub async fn events_of(
    db: &impl ConnectionTrait,
    project_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<stage_event::Model>>> {
    let mut out: HashMap<i64, Vec<stage_event::Model>> = HashMap::new();
    for chunk in project_ids.chunks(5000) {
        for e in super::history::rows::<super::projects::ProjectHistory>(db, chunk.to_vec()).await? {
            out.entry(e.project_id).or_default().push(e);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undo_knows_every_kind_a_batch_records() {
        let before = CandidateBefore {
            stage: entity::enums::IncubationStage::Applied,
            last_event_id: 0,
        };
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
