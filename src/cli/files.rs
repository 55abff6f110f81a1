//! `invest-crm files`: check that the store holds every attachment's file, and tidy it by hand.

use entity::attachment;
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};

use super::args::FilesAction;
use crate::{config::Config, files::FileStore, service};

/// Runs a `files` command.
pub async fn run(db: &DatabaseConnection, cfg: &Config, action: FilesAction) -> anyhow::Result<()> {
    let store = FileStore::new(&cfg.files, &cfg.data_dir)?;
    match action {
        FilesAction::Check { hash } => {
            let c = check(db, &store, hash).await?;
            println!(
                "{} attachments, {} files in {}: {} missing, {} changed",
                c.attachments,
                c.files,
                store.place,
                c.missing.len(),
                c.changed.len()
            );
            for (what, list) in [("missing", &c.missing), ("changed", &c.changed)] {
                for m in list {
                    println!(
                        "  {what}: attachment {} ({} #{}) {:?} sha256 {}",
                        m.id, m.record_kind, m.record_id, m.name, m.sha256
                    );
                }
            }
            if c.missing.is_empty() && c.changed.is_empty() {
                Ok(())
            } else {
                anyhow::bail!("the store lacks files that attachments name: restore them from the files' backup")
            }
        }
        FilesAction::Tidy => {
            let grace = chrono::Duration::hours(1);
            let (purged, tmp, blobs) = service::jobs::tidy_files(db, &store, cfg.files.retention_days, grace).await?;
            println!("{purged} attachments purged; {tmp} interrupted uploads and {blobs} unnamed files swept");
            Ok(())
        }
    }
}

/// What a check found.
pub struct Checked {
    /// Attachment rows read.
    pub attachments: usize,
    /// Distinct files they name.
    pub files: usize,
    /// Attachments whose file is not in the store.
    pub missing: Vec<attachment::Model>,
    /// Attachments whose file's bytes no longer have their SHA-256 (with `hash`).
    pub changed: Vec<attachment::Model>,
}

/// Checks every attachment's file: present, and with `hash` unchanged.
pub async fn check(db: &DatabaseConnection, store: &FileStore, hash: bool) -> anyhow::Result<Checked> {
    let rows = attachment::Entity::find()
        .order_by_asc(attachment::Column::Id)
        .all(db)
        .await?;
    let mut verdict = std::collections::HashMap::new();
    for m in &rows {
        if verdict.contains_key(&m.sha256) {
            continue;
        }
        let state = if !store.has(&m.sha256).await? {
            Some(true)
        } else if hash && store.digest(&m.sha256).await? != m.sha256 {
            Some(false)
        } else {
            None
        };
        verdict.insert(m.sha256.clone(), state);
    }
    let mut c = Checked {
        attachments: rows.len(),
        files: verdict.len(),
        missing: Vec::new(),
        changed: Vec::new(),
    };
    for m in rows {
        match verdict.get(&m.sha256).copied().flatten() {
            Some(true) => c.missing.push(m),
            Some(false) => c.changed.push(m),
            None => {}
        }
    }
    Ok(c)
}
