//! The file store of attachments (附件): a folder under the data folder, or an S3-compatible bucket, both through
//! `object_store`. Bytes are kept under their SHA-256 (`blobs/ab/abcd…`), so the same file attached twice is stored
//! once. An upload streams to a temporary object (`tmp/…`) while its size is counted against `files.max_bytes` and
//! its type is read from its first bytes; it becomes a blob only when its record is written ([`FileStore::commit`]).
//! What a crash leaves behind — a temporary object, or a blob no attachment names — is swept by the `files` job.

use std::{collections::HashSet, path::PathBuf, sync::Arc};

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{ObjectStore, ObjectStoreExt, buffered::BufWriter, path::Path};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::{
    backup::S3Config,
    service::{AppError, AppResult, Code, Msg},
};

/// Where attachments are kept and what is accepted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct FilesConfig {
    /// The folder attachments are kept in; default `files/` under the data folder.
    pub dir: Option<PathBuf>,
    /// An S3-compatible bucket to keep them in instead of the folder.
    pub s3: Option<S3Config>,
    /// The largest file accepted, in bytes (50 MiB by default); a larger upload is refused with 413 as soon as it
    /// passes the limit, before it is read further.
    pub max_bytes: u64,
    /// Days a deleted attachment can still be restored by an admin before the `files` job purges it.
    pub retention_days: u32,
    /// The categories an attachment is filed under; the last one is the default.
    pub categories: Vec<String>,
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            dir: None,
            s3: None,
            max_bytes: 50 * 1024 * 1024,
            retention_days: 30,
            categories: ["协议", "证照", "计划书", "用地", "照片", "其他"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// The types accepted, by their content: PDF, images, Office (and WPS, OpenDocument), OFD and ZIP. `infer` reads
/// OFD and the Office formats of 2007 on as ZIP when their first entries do not tell; they are accepted as such.
pub const ALLOWED: &[&str] = &[
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/tiff",
    "image/heif",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/x-ole-storage",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/zip",
];

/// How many first bytes the type is read from.
const SNIFF: usize = 8192;

/// An upload written to a temporary object, not yet a blob.
#[derive(Debug)]
pub struct Staged {
    key: Path,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Their number.
    pub bytes: u64,
    /// The type read from the content.
    pub content_type: &'static str,
}

/// The attachments' store.
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    s3: Option<S3Config>,
    /// The folder, when the store is one: downloads read it directly.
    dir: Option<PathBuf>,
    /// The largest file accepted.
    pub max_bytes: u64,
    /// Where files are kept, for people.
    pub place: String,
}

impl FileStore {
    /// The store the configuration names: the bucket, or the folder (default `<data_dir>/files`).
    pub fn new(cfg: &FilesConfig, data_dir: &std::path::Path) -> anyhow::Result<FileStore> {
        let (store, place, dir) = match &cfg.s3 {
            Some(s3) => (
                s3.store().context("the attachments bucket's settings")?,
                format!("s3://{}/{}", s3.bucket, s3.prefix.trim_matches('/')),
                None,
            ),
            None => {
                let dir = cfg.dir.clone().unwrap_or_else(|| data_dir.join("files"));
                (crate::backup::store::local(&dir)?, dir.display().to_string(), Some(dir))
            }
        };
        Ok(FileStore {
            store,
            s3: cfg.s3.clone(),
            dir,
            max_bytes: cfg.max_bytes,
            place,
        })
    }

    fn key(&self, name: &str) -> Path {
        match &self.s3 {
            Some(s3) => s3.key(name),
            None => Path::from(name),
        }
    }

    /// Where the blob of `sha256` is kept.
    fn blob(&self, sha256: &str) -> Path {
        self.key(&format!("blobs/{}/{sha256}", sha256.get(..2).unwrap_or("00")))
    }

    /// Streams `from` to a temporary object, hashing and counting it; refuses it (and removes what was written) when
    /// it grows past `max_bytes` (413), is empty, or its content is not of an accepted type (415).
    pub async fn stage(&self, mut from: impl AsyncRead + Unpin) -> AppResult<Staged> {
        let mut token = [0u8; 16];
        getrandom::fill(&mut token).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
        let key = self.key(&format!(
            "tmp/{}-{}",
            Utc::now().format("%Y%m%dT%H%M%S"),
            hex::encode(token)
        ));
        // Parts of 5 MiB, two in flight: an upload holds about 15 MiB however large it is.
        let mut to = BufWriter::with_capacity(self.store.clone(), key.clone(), 5 * 1024 * 1024).with_max_concurrency(2);
        let written = self.copy(&mut from, &mut to).await;
        let written = match written {
            Ok(w) => to
                .shutdown()
                .await
                .map_err(anyhow::Error::from)
                .map_err(AppError::from)
                .map(|_| w),
            Err(e) => {
                to.abort().await.ok();
                Err(e)
            }
        };
        match written {
            Ok((sha256, bytes, content_type)) => Ok(Staged {
                key,
                sha256,
                bytes,
                content_type,
            }),
            Err(e) => {
                self.store.delete(&key).await.ok();
                Err(e)
            }
        }
    }

    async fn copy(
        &self,
        from: &mut (impl AsyncRead + Unpin),
        to: &mut BufWriter,
    ) -> AppResult<(String, u64, &'static str)> {
        let mut hash = Sha256::new();
        let mut bytes = 0u64;
        let mut head = Vec::with_capacity(SNIFF);
        let mut content_type = None;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = from.read(&mut buf).await.map_err(read_error)?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            if bytes > self.max_bytes {
                return Err(too_large(self.max_bytes));
            }
            let chunk = &buf[..n];
            if content_type.is_none() {
                head.extend_from_slice(&chunk[..chunk.len().min(SNIFF - head.len())]);
                if head.len() == SNIFF {
                    content_type = Some(accepted(&head)?);
                }
            }
            hash.update(chunk);
            to.write_all(chunk).await.map_err(anyhow::Error::from)?;
        }
        if bytes == 0 {
            return Err(AppError::BadRequest {
                code: Code::EmptyFile,
                msg: Msg::new("the file is empty", "文件为空"),
                field: Some("file".into()),
            });
        }
        let content_type = match content_type {
            Some(t) => t,
            None => accepted(&head)?,
        };
        Ok((hex::encode(hash.finalize()), bytes, content_type))
    }

    /// Makes a staged upload the blob of its SHA-256 (replacing an identical one, which also marks it as in use
    /// now, so that a sweep running at this moment leaves it alone).
    pub async fn commit(&self, staged: &Staged) -> anyhow::Result<()> {
        self.store
            .rename(&staged.key, &self.blob(&staged.sha256))
            .await
            .context("storing the attachment")
    }

    /// Removes a staged upload that will not be committed.
    pub async fn discard(&self, staged: Staged) {
        if let Err(e) = self.store.delete(&staged.key).await {
            tracing::warn!(error = %e, "removing a staged upload failed; the sweep will");
        }
    }

    /// The bytes of a blob, as they are read. From a folder the file is read directly in chunks of 256 KiB:
    /// `object_store`'s local reads go 8 KiB at a time through the blocking pool, nine times slower than a plain
    /// file server on a 50 MiB file (docs/BENCHMARKS.md, "Attachments").
    pub async fn open(&self, sha256: &str) -> anyhow::Result<BoxStream<'static, std::io::Result<bytes::Bytes>>> {
        if let Some(dir) = &self.dir {
            let path = dir.join(self.blob(sha256).as_ref());
            let file = tokio::fs::File::open(&path)
                .await
                .with_context(|| format!("reading the attachment {}", path.display()))?;
            return Ok(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).boxed());
        }
        let got = self
            .store
            .get(&self.blob(sha256))
            .await
            .context("reading the attachment")?;
        Ok(got.into_stream().map_err(std::io::Error::other).boxed())
    }

    /// The whole of a blob, when it is at most `limit` bytes (for a preview).
    pub async fn read(&self, sha256: &str, limit: u64) -> anyhow::Result<Option<Vec<u8>>> {
        let got = self
            .store
            .get(&self.blob(sha256))
            .await
            .context("reading the attachment")?;
        if got.meta.size > limit {
            return Ok(None);
        }
        Ok(Some(got.bytes().await?.to_vec()))
    }

    /// The SHA-256 of the bytes kept for `sha256`, read again from the store.
    pub async fn digest(&self, sha256: &str) -> anyhow::Result<String> {
        let mut bytes = self.open(sha256).await?;
        let mut hash = Sha256::new();
        while let Some(chunk) = bytes.try_next().await? {
            hash.update(&chunk);
        }
        Ok(hex::encode(hash.finalize()))
    }

    /// Whether the blob of `sha256` is in the store.
    pub async fn has(&self, sha256: &str) -> anyhow::Result<bool> {
        match self.store.head(&self.blob(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes temporary objects older than `before` and blobs older than `before` whose SHA-256 `named` does not
    /// hold (no attachment row names them). Answers how many of each were deleted.
    pub async fn sweep(&self, named: &HashSet<String>, before: DateTime<Utc>) -> anyhow::Result<(usize, usize)> {
        let mut gone = (0, 0);
        for (dir, is_blob) in [("tmp", false), ("blobs", true)] {
            let prefix = self.key(dir);
            let mut list = self.store.list(Some(&prefix));
            let mut stale = Vec::new();
            while let Some(meta) = list.next().await {
                let meta = meta.with_context(|| format!("listing {}", self.place))?;
                let unnamed = !is_blob || meta.location.filename().is_some_and(|sha| !named.contains(sha));
                if meta.last_modified < before && unnamed {
                    stale.push(meta.location);
                }
            }
            for key in stale {
                self.store.delete(&key).await?;
                tracing::info!(object = %key, "swept from the file store");
                if is_blob {
                    gone.1 += 1;
                } else {
                    gone.0 += 1;
                }
            }
        }
        Ok(gone)
    }
}

/// The type of a file by its first bytes, if accepted; else 415 naming what it is.
fn accepted(head: &[u8]) -> AppResult<&'static str> {
    let kind = infer::get(head);
    match kind.map(|k| k.mime_type()) {
        Some(t) if ALLOWED.contains(&t) => Ok(t),
        other => Err(AppError::Unsupported {
            msg: Msg::new(
                format!(
                    "files of this type ({}) are not accepted: PDF, images, Office, OFD and ZIP are",
                    other.unwrap_or("unknown")
                ),
                format!(
                    "不接受此类文件({}):可上传 PDF、图片、Office 文档、OFD 和 ZIP",
                    other.unwrap_or("无法识别")
                ),
            ),
        }),
    }
}

fn too_large(max: u64) -> AppError {
    AppError::TooLarge {
        msg: Msg::new(
            format!("the file is larger than {} MiB", max / (1024 * 1024)),
            format!("文件超过 {} MB 的上限", max / (1024 * 1024)),
        ),
    }
}

/// A body that could not be read: the client went away, or the multipart encoding broke.
fn read_error(e: std::io::Error) -> AppError {
    AppError::BadRequest {
        code: Code::MalformedRequest,
        msg: Msg::new(format!("the upload could not be read: {e}"), "上传中断或格式有误"),
        field: Some("file".into()),
    }
}

/// The accepted type `t` as the static string it is served as.
pub fn accepted_type(t: &str) -> Option<&'static str> {
    ALLOWED.iter().copied().find(|a| *a == t)
}

/// Whether a browser is shown an attachment of type `t`: a PDF, an image `image` decodes (re-encoded); not HEIC.
pub fn previewable(t: &str) -> bool {
    t == "application/pdf" || (t.starts_with("image/") && t != "image/heif")
}

/// The largest file a preview reads.
const PREVIEW_LIMIT: u64 = 30 * 1024 * 1024;

/// What a browser is shown.
pub struct Shown {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Their type.
    pub content_type: &'static str,
}

/// A preview: an image decoded and encoded again (JPEG, or PNG when it has transparency) at most `size` pixels
/// wide and high — nothing of the upload's own bytes reaches the browser; a PDF as it is. Other types, and files
/// too large to preview, answer 415.
pub async fn preview(store: &FileStore, sha256: &str, content_type: &str, size: u32) -> AppResult<Shown> {
    let no_preview = || AppError::Unsupported {
        msg: Msg::new("no preview for this file: download it", "此文件不能预览,请下载查看"),
    };
    if !previewable(content_type) {
        return Err(no_preview());
    }
    let Some(bytes) = store.read(sha256, PREVIEW_LIMIT).await? else {
        return Err(no_preview());
    };
    if content_type == "application/pdf" {
        return Ok(Shown {
            bytes,
            content_type: "application/pdf",
        });
    }
    let size = size.clamp(64, 1600);
    tokio::task::spawn_blocking(move || reencode(&bytes, size))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(|e| {
            tracing::warn!(error = %e, "an image could not be decoded for its preview");
            no_preview()
        })
}

fn reencode(bytes: &[u8], size: u32) -> anyhow::Result<Shown> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode()?;
    let img = if img.width() > size || img.height() > size {
        img.thumbnail(size, size)
    } else {
        img
    };
    let mut out = std::io::Cursor::new(Vec::new());
    if img.color().has_alpha() {
        img.write_to(&mut out, image::ImageFormat::Png)?;
        return Ok(Shown {
            bytes: out.into_inner(),
            content_type: "image/png",
        });
    }
    image::DynamicImage::ImageRgb8(img.to_rgb8())
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85))?;
    Ok(Shown {
        bytes: out.into_inner(),
        content_type: "image/jpeg",
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_type_is_read_from_the_content() {
        assert_eq!(super::accepted(b"%PDF-1.7\n%\xe2\xe3").unwrap(), "application/pdf");
        assert_eq!(super::accepted(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap(), "image/png");
        let html = super::accepted(b"<!DOCTYPE html><html><script>alert(1)</script>").unwrap_err();
        assert_eq!(html.code(), crate::service::Code::UnsupportedMediaType);
        assert!(super::accepted(b"just some words").is_err());
    }
}
