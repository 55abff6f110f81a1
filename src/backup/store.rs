//! Scheduled backups: where they go (a folder, or an S3-compatible bucket through `object_store`), which of them are
//! kept (`keep_daily`, `keep_weekly`, `keep_monthly`: the newest backup of each of so many days, ISO weeks and months
//! that have one, as restic's `forget` keeps them), and the list 系统日志 shows.

use std::{
    collections::{BTreeSet, HashMap},
    path::{Path as FsPath, PathBuf},
    sync::Arc,
};

use anyhow::Context;
use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use futures_util::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt, aws::AmazonS3Builder, local::LocalFileSystem, path::Path};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};

use super::{Manifest, manifest_path};

/// Where scheduled backups go and how many are kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupConfig {
    /// The folder backups are written to (and staged in before an upload); default `backups/` under the data folder.
    pub dir: Option<PathBuf>,
    /// An S3-compatible bucket to keep them in instead of the folder.
    pub s3: Option<S3Config>,
    /// Keep the newest backup of each of the last this many days that have one.
    pub keep_daily: usize,
    /// … of each of the last this many ISO weeks.
    pub keep_weekly: usize,
    /// … of each of the last this many months.
    pub keep_monthly: usize,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            dir: None,
            s3: None,
            keep_daily: 7,
            keep_weekly: 4,
            keep_monthly: 6,
        }
    }
}

/// An S3-compatible bucket (AWS, MinIO, Ceph, 阿里云 OSS, 腾讯云 COS, …). Settings left out are read from the
/// usual `AWS_*` environment variables.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct S3Config {
    /// The bucket (it must exist).
    pub bucket: String,
    /// The service's address, for anything but AWS (e.g. `http://minio:9000`).
    pub endpoint: Option<String>,
    /// The region (`us-east-1` when none is set anywhere).
    pub region: Option<String>,
    /// The access key.
    pub access_key_id: Option<String>,
    /// The secret key (masked where settings are shown).
    pub secret_access_key: Option<String>,
    /// A folder inside the bucket, e.g. `invest-crm/`.
    pub prefix: String,
    /// Allow an `http://` endpoint (a bucket on the same host or network).
    pub allow_http: bool,
}

impl S3Config {
    /// The bucket as an object store.
    pub fn store(&self) -> anyhow::Result<Arc<dyn ObjectStore>> {
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&self.bucket)
            .with_allow_http(self.allow_http);
        if let Some(v) = &self.endpoint {
            b = b.with_endpoint(v);
        }
        if let Some(v) = &self.region {
            b = b.with_region(v);
        }
        if let Some(v) = &self.access_key_id {
            b = b.with_access_key_id(v);
        }
        if let Some(v) = &self.secret_access_key {
            b = b.with_secret_access_key(v);
        }
        Ok(Arc::new(b.build()?))
    }

    /// The key of `name` under the prefix.
    pub fn key(&self, name: &str) -> Path {
        match self.prefix.trim_matches('/') {
            "" => Path::from(name),
            prefix => Path::from(format!("{prefix}/{name}")),
        }
    }
}

/// A folder as an object store (created if missing).
pub fn local(dir: &FsPath) -> anyhow::Result<Arc<dyn ObjectStore>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(Arc::new(LocalFileSystem::new_with_prefix(dir)?))
}

/// What the `backup` job does: the database it backs up, the store and the retention.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The database's URL.
    pub url: String,
    /// The local folder (the store itself, or the staging folder before an upload).
    pub dir: PathBuf,
    /// Where backups are kept and how many.
    pub config: BackupConfig,
    /// The zone days, weeks and months are counted in.
    pub tz: Tz,
}

/// A complete backup in the store (its manifest is there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The file's name.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// When it was taken (from its name).
    pub taken_at: DateTime<Utc>,
}

/// When the backup named `name` was taken: `invest-crm-20261206T020000.123Z-<schema>.<ext>`.
fn taken_at(name: &str) -> Option<DateTime<Utc>> {
    let stamp = name.strip_prefix("invest-crm-")?.get(..19)?;
    let t = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S%.3f").ok()?;
    Some(Utc.from_utc_datetime(&t))
}

/// The indices of `times` that retention keeps: for each rule, the newest of each of the latest `n` days, ISO weeks
/// or months that have a backup. With every rule at 0 nothing is pruned.
pub fn kept(times: &[DateTime<Tz>], daily: usize, weekly: usize, monthly: usize) -> BTreeSet<usize> {
    if daily + weekly + monthly == 0 {
        return (0..times.len()).collect();
    }
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(times[i]));
    let mut keep = BTreeSet::new();
    type Bucket = fn(&DateTime<Tz>) -> (i32, u32);
    let rules: [(usize, Bucket); 3] = [
        (daily, |t| (t.year(), t.ordinal())),
        (weekly, |t| (t.iso_week().year(), t.iso_week().week())),
        (monthly, |t| (t.year(), t.month())),
    ];
    for (n, bucket) in rules {
        let mut seen = BTreeSet::new();
        for &i in &order {
            if seen.len() == n {
                break;
            }
            if seen.insert(bucket(&times[i])) {
                keep.insert(i);
            }
        }
    }
    keep
}

impl Plan {
    /// The plan the configuration makes: the database, the folder (default `<data_dir>/backups`), the store.
    pub fn new(url: String, data_dir: &FsPath, config: BackupConfig, tz: Tz) -> Plan {
        let dir = config.dir.clone().unwrap_or_else(|| data_dir.join("backups"));
        Plan { url, dir, config, tz }
    }

    /// Where the backups are kept, as a sentence for people (`/var/lib/…/backups`, `s3://bucket/prefix`).
    pub fn place(&self) -> String {
        match &self.config.s3 {
            Some(s3) => format!("s3://{}/{}", s3.bucket, s3.prefix.trim_matches('/')),
            None => self.dir.display().to_string(),
        }
    }

    fn store(&self) -> anyhow::Result<Arc<dyn ObjectStore>> {
        match &self.config.s3 {
            Some(s3) => s3.store().context("the backup bucket's settings"),
            None => local(&self.dir),
        }
    }

    fn key(&self, name: &str) -> Path {
        match &self.config.s3 {
            Some(s3) => s3.key(name),
            None => Path::from(name),
        }
    }

    /// Takes a backup, puts it in the store (a bucket gets the file first and its manifest last, so that only a
    /// complete upload is listed) and prunes what retention no longer keeps. Answers the new backup's manifest.
    pub async fn run(&self, db: &DatabaseConnection) -> anyhow::Result<Manifest> {
        let Some(_) = &self.config.s3 else {
            let (_, manifest) = super::backup(db, &self.url, &self.dir).await?;
            self.prune().await?;
            return Ok(manifest);
        };
        let staging = self.dir.join(".staging");
        let (file, manifest) = super::backup(db, &self.url, &staging).await?;
        let uploaded = self.upload(&file, &manifest).await;
        std::fs::remove_file(&file).ok();
        std::fs::remove_file(manifest_path(&file)).ok();
        uploaded?;
        self.prune().await?;
        Ok(manifest)
    }

    async fn upload(&self, file: &FsPath, manifest: &Manifest) -> anyhow::Result<()> {
        let store = self.store()?;
        let mut from = tokio::fs::File::open(file).await?;
        let mut to = object_store::buffered::BufWriter::new(store.clone(), self.key(&manifest.file));
        tokio::io::copy(&mut from, &mut to)
            .await
            .context("uploading the backup")?;
        tokio::io::AsyncWriteExt::shutdown(&mut to)
            .await
            .context("uploading the backup")?;
        let name = format!("{}.manifest.json", manifest.file);
        store
            .put(&self.key(&name), serde_json::to_vec_pretty(manifest)?.into())
            .await
            .context("uploading the manifest")?;
        Ok(())
    }

    /// The complete backups in the store, newest first.
    pub async fn list(&self) -> anyhow::Result<Vec<Stored>> {
        let (files, manifests) = self.objects().await?;
        let mut out: Vec<Stored> = files
            .into_iter()
            .filter(|(name, _)| manifests.contains(name))
            .filter_map(|(name, bytes)| {
                Some(Stored {
                    taken_at: taken_at(&name)?,
                    name,
                    bytes,
                })
            })
            .collect();
        out.sort_by_key(|s| std::cmp::Reverse(s.taken_at));
        Ok(out)
    }

    /// The backup files in the store with their sizes, and the names of the files that have a manifest.
    async fn objects(&self) -> anyhow::Result<(HashMap<String, u64>, BTreeSet<String>)> {
        let store = self.store()?;
        let prefix = self.config.s3.as_ref().map(|s| Path::from(s.prefix.trim_matches('/')));
        let objects: Vec<_> = store
            .list(prefix.as_ref())
            .try_collect()
            .await
            .with_context(|| format!("listing the backups in {}", self.place()))?;
        let (mut files, mut manifests) = (HashMap::new(), BTreeSet::new());
        for o in objects {
            let Some(name) = o.location.filename().filter(|n| n.starts_with("invest-crm-")) else {
                continue;
            };
            match name.strip_suffix(".manifest.json") {
                Some(file) => manifests.insert(file.to_owned()),
                None => files.insert(name.to_owned(), o.size).is_none(),
            };
        }
        Ok((files, manifests))
    }

    /// Deletes the backups retention does not keep (the manifest first, so that a backup is never listed without
    /// its file), and files left without a manifest by an upload or a prune cut short a day ago or more.
    pub async fn prune(&self) -> anyhow::Result<Vec<String>> {
        let store = self.store()?;
        let all = self.list().await?;
        let times: Vec<DateTime<Tz>> = all.iter().map(|s| s.taken_at.with_timezone(&self.tz)).collect();
        let c = &self.config;
        let keep = kept(&times, c.keep_daily, c.keep_weekly, c.keep_monthly);
        let mut gone = Vec::new();
        for (i, s) in all.iter().enumerate().filter(|(i, _)| !keep.contains(i)) {
            store.delete(&self.key(&format!("{}.manifest.json", s.name))).await?;
            store.delete(&self.key(&s.name)).await?;
            gone.push(s.name.clone());
            tracing::info!(backup = %s.name, taken_at = %times[i], "backup pruned");
        }
        let (files, manifests) = self.objects().await?;
        let day_ago = Utc::now() - chrono::Duration::days(1);
        for name in files.keys().filter(|n| !manifests.contains(*n)) {
            if taken_at(name).is_some_and(|t| t < day_ago) {
                store.delete(&self.key(name)).await?;
                gone.push(name.clone());
            }
        }
        Ok(gone)
    }

    /// Downloads the backup `name` and its manifest into the folder `to`, for a restore. Answers the file.
    pub async fn fetch(&self, name: &str, to: &FsPath) -> anyhow::Result<PathBuf> {
        let store = self.store()?;
        std::fs::create_dir_all(to)?;
        let file = to.join(name);
        for (key, path) in [
            (format!("{name}.manifest.json"), manifest_path(&file)),
            (name.to_owned(), file.clone()),
        ] {
            let mut body = store
                .get(&self.key(&key))
                .await
                .with_context(|| format!("fetching {key} from {}", self.place()))?
                .into_stream();
            let mut out = tokio::fs::File::create(&path).await?;
            while let Some(chunk) = body.try_next().await? {
                tokio::io::AsyncWriteExt::write_all(&mut out, &chunk).await?;
            }
            tokio::io::AsyncWriteExt::flush(&mut out).await?;
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    #[test]
    fn retention_keeps_the_newest_of_each_day_week_and_month() {
        let tz = chrono_tz::Asia::Shanghai;
        let start = tz.with_ymd_and_hms(2026, 1, 1, 2, 0, 0).unwrap();
        // A backup every day at 02:00 for a year, and a second one (by hand) on the last day at 15:00.
        let mut times: Vec<_> = (0..365).map(|d| start + Duration::days(d)).collect();
        times.push(start + Duration::days(364) + Duration::hours(13));
        let keep = super::kept(&times, 7, 4, 6);
        let kept: Vec<_> = keep
            .iter()
            .map(|&i| times[i].format("%Y-%m-%d %H").to_string())
            .collect();
        // 7 days (the last one's newest is the 15:00 backup), the Sundays of the 4 latest weeks (the latest week's
        // newest is the last day), the last day of the 6 latest months.
        assert_eq!(
            kept,
            [
                "2026-07-31 02",
                "2026-08-31 02",
                "2026-09-30 02",
                "2026-10-31 02",
                "2026-11-30 02",
                "2026-12-13 02",
                "2026-12-20 02",
                "2026-12-25 02",
                "2026-12-26 02",
                "2026-12-27 02",
                "2026-12-28 02",
                "2026-12-29 02",
                "2026-12-30 02",
                "2026-12-31 15",
            ]
        );
        assert_eq!(
            super::kept(&times, 0, 0, 0).len(),
            times.len(),
            "no rule: nothing pruned"
        );
    }

    #[test]
    fn a_backup_is_dated_by_its_name() {
        let t = super::taken_at("invest-crm-20261206T020000.123Z-m20260101_000001_init.sqlite").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-06T02:00:00.123+00:00");
        assert_eq!(super::taken_at("notes.txt"), None);
    }
}
