//! Undoing an import batch: refused while records it wrote changed since or others hang on them; else what it
//! created is deleted and what it changed restored, in one transaction.

use std::collections::HashMap;

use chrono::Utc;
use entity::{import_batch, import_item};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionSession,
    sea_query::{Alias, Expr, ExprTrait},
};

use super::{KINDS, before, delete_of, get, unknown_kind, versions_of};
use crate::service::Kind;
use crate::service::{
    Actor, AppError, AppResult, Code, Db, Msg,
    audit::{Entry, write},
};

/// Undoes a batch in one transaction: deletes the records it created and restores the ones it changed (their
/// versions move on, so an edit made against the imported state is refused as stale). Refused with 409, naming
/// them, when any of those records changed since the import; and when the batch was undone already.
pub async fn undo(db: &impl Db, actor: &Actor, id: i64, client_addr: Option<String>) -> AppResult<import_batch::Model> {
    let txn = crate::service::begin(db).await?;
    let batch = get(&txn, id).await?;
    if batch.undone_at.is_some() {
        return Err(AppError::Conflict {
            code: Code::AlreadyUndone,
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
            before::restore(&txn, i).await?;
        }
        delete_of(&txn, kind, of_kind.filter(|i| i.created).map(|i| i.record_id).collect()).await?;
    }
    let mut done: import_batch::ActiveModel = batch.into();
    done.undone_at = Set(Some(Utc::now()));
    done.undone_by = Set(Some(actor.username.clone()));
    let done = sea_orm::ActiveModelTrait::update(done, &txn).await?;
    let who = (actor.user_id > 0).then_some(actor.user_id);
    let undone = items.iter().map(|i| Entry {
        action: if i.created { "delete" } else { "update" }.into(),
        user_id: who,
        username: Some(actor.username.clone()),
        entity: Some(i.kind.clone()),
        entity_id: Some(i.record_id),
        client_addr: client_addr.clone(),
        detail: Some(serde_json::json!({ "import_batch_id": id, "undo": true })),
        ..Default::default()
    });
    super::super::audit::write_many(&txn, undone.collect()).await?;
    write(
        &txn,
        Entry {
            action: "import_undo".into(),
            user_id: (actor.user_id > 0).then_some(actor.user_id),
            username: Some(actor.username.clone()),
            entity: Some(Kind::ImportBatch.name().into()),
            entity_id: Some(id),
            path: String::new(),
            changes: Vec::new(),
            client_addr,
            detail: None,
            door: None,
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
        code: Code::ChangedSinceImport,
        msg: Msg::new(
            format!("records changed since the import, so it cannot be undone: {shown}{more}"),
            format!("以下记录在导入后已被修改或删除,无法撤销:{shown}{more}"),
        ),
        field: None,
    })
}

/// The records that hang on another (by a column naming it): their table, their own id column, the column naming
/// the parent, the parent's kind, and the kind the batch records such children under (if it creates them).
const CHILDREN: [(&str, &str, &str, &str, &str); 13] = [
    ("projects", "id", "company_id", "company", "project"),
    ("contacts", "id", "company_id", "company", "contact"),
    ("visit_companies", "visit_id", "company_id", "company", "visit"),
    ("outreach_companies", "outreach_id", "company_id", "company", "outreach"),
    ("incubation_candidates", "id", "company_id", "company", "candidate"),
    ("support_funds", "id", "company_id", "company", ""),
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
