//! `invest-crm audit`: verify the audit trail's hash chain, and archive entries past their retention to a file.

use std::{
    fs,
    io::{BufRead, Write},
    path::Path,
};

use anyhow::{Context, bail};
use chrono::{NaiveDate, Utc};
use entity::audit_entry;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::args::AuditAction;
use crate::{config::Config, service::audit::chain};

/// Runs one `audit` command.
pub async fn run(db: &DatabaseConnection, cfg: &Config, action: AuditAction) -> anyhow::Result<()> {
    match action {
        AuditAction::Verify { from_archive } => verify(db, from_archive.as_deref()).await,
        AuditAction::Archive { before, to } => archive(db, cfg, before, &to).await,
    }
}

async fn verify(db: &DatabaseConnection, archive: Option<&Path>) -> anyhow::Result<()> {
    let start = match archive {
        Some(file) => {
            let entries = read_archive(file)?;
            let end = chain::verify_archive(&entries).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!(
                "archive {}: {} entries verified, up to entry {}",
                file.display(),
                entries.len(),
                end.seq
            );
            Some(end)
        }
        None => None,
    };
    let v = chain::verify(db, start).await?;
    if let Some(problem) = v.problem {
        bail!("the audit trail does not verify: {problem}");
    }
    match v.first_seq {
        Some(first) if first > 1 && archive.is_none() => println!(
            "audit trail verified: {} entries, from entry {first} (earlier entries are archived: verify with \
             --from-archive to check the boundary); {} written in the last minutes and not yet sealed",
            v.checked, v.pending
        ),
        _ => println!(
            "audit trail verified: {} entries; {} written in the last minutes and not yet sealed",
            v.checked, v.pending
        ),
    }
    Ok(())
}

async fn archive(db: &DatabaseConnection, cfg: &Config, before: NaiveDate, to: &Path) -> anyhow::Result<()> {
    let youngest = Utc::now().date_naive() - chrono::Days::new(u64::from(cfg.audit.retention_days));
    if before > youngest {
        bail!(
            "entries are kept {} days (audit.retention_days): archive before {youngest} at the latest",
            cfg.audit.retention_days
        );
    }
    if to.exists() {
        bail!("{} exists; archives are never overwritten", to.display());
    }
    chain::seal(db).await?;
    let v = chain::verify(db, None).await?;
    if let Some(problem) = v.problem {
        bail!("the audit trail does not verify, so nothing is archived: {problem}");
    }
    let cutoff = before.and_hms_opt(0, 0, 0).context("midnight")?.and_utc();
    let txn = crate::service::begin(db).await?;
    // The oldest entries in chain order, up to the first one dated on or after the cutoff: the archive is always a
    // prefix of the chain, so the database's chain keeps one unbroken line.
    let mut entries = Vec::new();
    for e in audit_entry::Entity::find()
        .filter(audit_entry::Column::Seq.is_not_null())
        .order_by_asc(audit_entry::Column::Seq)
        .all(&txn)
        .await?
    {
        if e.at >= cutoff {
            break;
        }
        entries.push(e);
    }
    let Some(last) = entries.last().and_then(|e| e.seq) else {
        println!("no sealed entry before {before}: nothing archived");
        return Ok(());
    };
    let tmp = to.with_extension("partial");
    {
        let mut out = std::io::BufWriter::new(fs::File::create(&tmp)?);
        for e in &entries {
            writeln!(out, "{}", chain::archived(e))?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    let written = read_archive(&tmp)?;
    chain::verify_archive(&written).map_err(|e| anyhow::anyhow!("the archive written does not verify: {e}"))?;
    if written.len() != entries.len() {
        bail!(
            "the archive written holds {} entries of {}",
            written.len(),
            entries.len()
        );
    }
    fs::rename(&tmp, to)?;
    audit_entry::Entity::delete_many()
        .filter(audit_entry::Column::Seq.lte(last))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    println!(
        "{} entries (up to entry {last}) archived to {} and removed from the database",
        entries.len(),
        to.display()
    );
    Ok(())
}

/// The entries of an archive file, in its order.
fn read_archive(file: &Path) -> anyhow::Result<Vec<audit_entry::Model>> {
    let f = fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    std::io::BufReader::new(f)
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let v: serde_json::Value = serde_json::from_str(&line?)?;
            chain::from_archive(&v).with_context(|| format!("{} line {}: not an audit entry", file.display(), i + 1))
        })
        .collect()
}
