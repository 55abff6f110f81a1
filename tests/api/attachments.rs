//! 附件 through the API, on each database and on each store (the data folder; a real S3-compatible server, moto):
//! upload, list, download byte for byte with the Chinese name intact, dedupe, delete and restore, purge after the
//! retention, the sweep of what a crash left, a file whose content is not what its name says refused, a 60 MiB
//! upload refused with 413 as it streams, a viewer's upload refused, an out-of-scope download not found, the audit
//! entries, the export's columns.

use object_store::ObjectStoreExt;
use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::{backup::Moto, db_test, every_write::PDF, support::TestApp};

db_test!(
    attachments_in_the_data_folder,
    attachments_in_a_bucket,
    a_large_upload_is_refused_as_it_streams,
    the_files_of_a_deleted_record_go_after_the_retention
);

/// A small PNG (1×1), as a phone's photo would be a JPEG.
fn png() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(40, 30, image::Rgb([200, 80, 40]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// Uploads `files` (name, bytes) to `path` on `base` with `token`, with `fields`; answers status and JSON.
async fn upload(
    base: &str,
    token: &str,
    path: &str,
    files: &[(&str, Vec<u8>)],
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    for (name, bytes) in files {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1{path}"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Downloads `path`: status, headers, bytes.
async fn download(base: &str, token: &str, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status(), r.headers().clone(), r.bytes().await.unwrap().to_vec())
}

/// The name a `Content-Disposition` gives in `filename*`, decoded.
fn disposition_name(h: &reqwest::header::HeaderMap) -> String {
    let v = h["content-disposition"].to_str().unwrap();
    let encoded = v.split("filename*=UTF-8''").nth(1).unwrap();
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// Files under `dir` (recursively), as paths relative to it.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Marks the attachment `id` as deleted `days` ago (the retention is counted from then).
async fn deleted_days_ago(app: &TestApp, id: i64, days: i64) {
    let at = chrono::Utc::now() - chrono::Duration::days(days);
    let m = entity::attachment::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut a: entity::attachment::ActiveModel = m.into();
    a.deleted_at = sea_orm::ActiveValue::Set(Some(at));
    sea_orm::ActiveModelTrait::update(a, &app.db).await.unwrap();
}

/// The scenario on one store (`base` serves the app with that store; `cfg` is its settings).
async fn round_trip(app: &TestApp, base: &str, cfg: &invest_crm::config::Config) {
    let staff = app.token("staff").to_owned();
    let project = app.project("附件测试项目", "signed", "2024-03-01").await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/projects/{project}/attachments");
    let agreement = "投资协议(盖章版)2024.pdf";
    let photo = png();

    // Two files at once, with a category and a note; listed newest first with the type read from the content.
    let (s, b) = upload(
        base,
        &staff,
        &path,
        &[(agreement, PDF.to_vec()), ("开工现场.png", photo.clone())],
        &[("category", "协议"), ("note", "签约当天")],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (pdf_id, png_id) = (b[0]["id"].as_i64().unwrap(), b[1]["id"].as_i64().unwrap());
    let pdf_sha = b[0]["sha256"].clone();
    assert_eq!(b[0]["name"], agreement);
    assert_eq!(b[0]["content_type"], "application/pdf");
    assert_eq!(b[1]["content_type"], "image/png");
    assert_eq!(b[0]["category"], "协议");
    assert_eq!(b[0]["note"], "签约当天");
    assert_eq!(b[0]["bytes"], PDF.len());
    let (s, list) = app.as_user("viewer").get(&format!("/api/v1{path}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 2);

    // Downloads are byte-identical, named in Chinese, never sniffed, sandboxed; a viewer may download.
    let viewer = app.token("viewer").to_owned();
    let (s, h, bytes) = download(base, &viewer, &format!("/attachments/{pdf_id}/content")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(bytes, PDF);
    assert_eq!(disposition_name(&h), agreement);
    assert!(h["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert_eq!(h["content-length"], PDF.len().to_string().as_str());
    let (s, _, bytes) = download(base, &viewer, &format!("/attachments/{png_id}/content")).await;
    assert_eq!((s, bytes), (StatusCode::OK, photo.clone()));
    // The preview is the image encoded again by the server, not the uploaded bytes.
    let (s, h, shown) = download(base, &viewer, &format!("/attachments/{png_id}/preview")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h["content-disposition"].to_str().unwrap().starts_with("inline;"));
    assert_eq!(h["content-type"], "image/jpeg");
    let decoded = image::load_from_memory(&shown).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (40, 30));

    // The same bytes attached to a company as well: two attachments, one stored file.
    let company = app.company("附件去重企业").await;
    let (s, b) = upload(
        base,
        &staff,
        &format!("/companies/{company}/attachments"),
        &[("营业执照.pdf", PDF.to_vec())],
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b[0]["sha256"], pdf_sha);
    assert_eq!(b[0]["category"], "其他", "the default category");
    let same = b[0]["id"].as_i64().unwrap();
    let stored = stored_blobs(cfg).await;
    assert_eq!(
        stored.len(),
        2,
        "one stored file for the PDF attached twice, one for the photo: {stored:?}"
    );

    // An HTML page named .pdf is refused by its content; a viewer may not upload; nothing is left behind.
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>".to_vec();
    let (s, b) = upload(base, &staff, &path, &[("报告.pdf", html)], &[]).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{b}");
    assert_eq!(b["code"], "unsupported_media_type");
    let (s, _) = upload(base, &viewer, &path, &[("照片.png", photo.clone())], &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(stored_blobs(cfg).await.len(), 2);
    assert!(staged(cfg).await.is_empty(), "no temporary object left");

    // A staffer whose scope is their own records does not see another's project's files: 404 for all of them.
    let own = own_scoped_staffer(app).await;
    for p in [
        format!("/attachments/{pdf_id}/content"),
        format!("/attachments/{pdf_id}"),
        path.clone(),
    ] {
        let (s, _, _) = download(base, &own, &p).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
    }

    // Deleted: no longer listed or downloadable; an admin lists and restores it; a staffer may not restore.
    let (s, _) = app
        .as_user("staff")
        .delete(&format!("/api/v1/attachments/{pdf_id}"))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, list) = app.as_user("staff").get(&format!("/api/v1{path}")).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (s, _, _) = download(base, &staff, &format!("/attachments/{pdf_id}/content")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, gone) = app.get(&format!("/api/v1{path}?deleted=true")).await;
    assert_eq!((s, gone[0]["id"].as_i64()), (StatusCode::OK, Some(pdf_id)));
    let (s, _) = app
        .as_user("staff")
        .post(&format!("/api/v1/attachments/{pdf_id}/restore"), json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, back) = app
        .post(&format!("/api/v1/attachments/{pdf_id}/restore"), json!({}))
        .await;
    assert_eq!((s, back["deleted_at"].clone()), (StatusCode::OK, Value::Null));
    let (s, _, bytes) = download(base, &staff, &format!("/attachments/{pdf_id}/content")).await;
    assert_eq!((s, bytes), (StatusCode::OK, PDF.to_vec()));

    // Renamed: the download carries the new name.
    let (s, _) = app
        .as_user("staff")
        .patch(
            &format!("/api/v1/attachments/{pdf_id}"),
            json!({"name": "投资协议(终稿).pdf", "category": "协议"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, h, _) = download(base, &staff, &format!("/attachments/{pdf_id}/content")).await;
    assert_eq!(disposition_name(&h), "投资协议(终稿).pdf");
    let (s, b) = app
        .as_user("staff")
        .patch(
            &format!("/api/v1/attachments/{pdf_id}"),
            json!({"category": "不存在的类别"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    // Purge: both PDFs deleted; the one deleted 31 days ago goes at the next run, its bytes stay while the other,
    // deleted yesterday, still names them; the photo's go with its attachment.
    for id in [pdf_id, same, png_id] {
        let (s, _) = app.as_user("staff").delete(&format!("/api/v1/attachments/{id}")).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    deleted_days_ago(app, pdf_id, 31).await;
    deleted_days_ago(app, png_id, 31).await;
    deleted_days_ago(app, same, 1).await;
    let store = invest_crm::files::FileStore::new(&cfg.files, &cfg.data_dir).unwrap();
    let zero = chrono::Duration::zero();
    let tidied = invest_crm::service::jobs::tidy_files(&app.db, &store, 30, zero)
        .await
        .unwrap();
    assert_eq!(tidied, (2, 0, 1), "two purged, the photo's file swept");
    let left: Vec<i64> = entity::attachment::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert!(
        left.contains(&same) && !left.contains(&pdf_id) && !left.contains(&png_id),
        "{left:?}"
    );
    assert_eq!(
        stored_blobs(cfg).await.len(),
        1,
        "the PDF's file is still named by the company's attachment"
    );
    let (s, _) = app
        .post(&format!("/api/v1/attachments/{same}/restore"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "restorable within the retention");

    // A crash between the upload and its record: a temporary object and a file no attachment names. The sweep
    // removes both and nothing else.
    let raw = object_store_of(cfg);
    raw.put(&key(cfg, "tmp/20240101T000000-cut-short"), b"half".to_vec().into())
        .await
        .unwrap();
    raw.put(
        &key(
            cfg,
            "blobs/ab/abababababababababababababababababababababababababababababababab",
        ),
        b"orphan".to_vec().into(),
    )
    .await
    .unwrap();
    assert_eq!(staged(cfg).await.len(), 1);
    let tidied = invest_crm::service::jobs::tidy_files(&app.db, &store, 30, zero)
        .await
        .unwrap();
    assert_eq!(tidied, (0, 1, 1));
    assert!(staged(cfg).await.is_empty());
    assert_eq!(stored_blobs(cfg).await.len(), 1);
    let (s, _, bytes) = download(base, &staff, &format!("/attachments/{same}/content")).await;
    assert_eq!((s, bytes), (StatusCode::OK, PDF.to_vec()));

    // Every upload, download, deletion and purge is in the audit log, by whom, naming the file.
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    let entries = entity::audit_entry::Entity::find()
        .filter(entity::audit_entry::Column::Entity.eq("attachment"))
        .filter(entity::audit_entry::Column::EntityId.eq(pdf_id))
        .order_by_asc(entity::audit_entry::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for a in ["create", "download", "delete", "update"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let (by_job, by_people): (Vec<_>, Vec<_>) = entries.iter().partition(|e| e.door == "job");
    assert!(by_people.iter().all(|e| e.username.is_some()), "each names who did it");
    assert!(
        by_job
            .iter()
            .any(|e| e.action == "delete" && e.detail.as_ref().is_some_and(|d| d["purged"] == true)),
        "the purge: {by_job:?}"
    );
    let downloads = actions.iter().filter(|a| **a == "download").count();
    assert!(downloads >= 3, "{actions:?}");
}

/// A staffer with the `own` scope (they own nothing); answers their token.
async fn own_scoped_staffer(app: &TestApp) -> String {
    let (s, u) = app
        .post(
            "/api/v1/users",
            json!({"username": "own_only", "display_name": "只看自己", "role": "staff", "password": crate::support::PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let (s, u) = app
        .patch(
            &format!("/api/v1/users/{}", u["id"]),
            json!({"version": u["version"], "data_scope": "own"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let (s, b) = app.login("own_only", crate::support::PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["token"].as_str().unwrap().to_owned()
}

/// The store of `cfg` as a bare object store, for looking underneath the service.
fn object_store_of(cfg: &invest_crm::config::Config) -> std::sync::Arc<dyn object_store::ObjectStore> {
    match &cfg.files.s3 {
        Some(s3) => s3.store().unwrap(),
        None => invest_crm::backup::store::local(&cfg.data_dir.join("files")).unwrap(),
    }
}

fn key(cfg: &invest_crm::config::Config, name: &str) -> object_store::path::Path {
    match &cfg.files.s3 {
        Some(s3) => s3.key(name),
        None => object_store::path::Path::from(name),
    }
}

async fn listed(cfg: &invest_crm::config::Config, dir: &str) -> Vec<String> {
    use futures_util::TryStreamExt;
    let store = object_store_of(cfg);
    let prefix = key(cfg, dir);
    let all: Vec<_> = store.list(Some(&prefix)).try_collect().await.unwrap();
    all.into_iter().map(|m| m.location.to_string()).collect()
}

/// The stored files (blobs).
async fn stored_blobs(cfg: &invest_crm::config::Config) -> Vec<String> {
    listed(cfg, "blobs").await
}

/// The temporary objects of uploads under way (or cut short).
async fn staged(cfg: &invest_crm::config::Config) -> Vec<String> {
    listed(cfg, "tmp").await
}

async fn attachments_in_the_data_folder(app: TestApp) {
    let base = app.base_url().to_owned();
    let cfg = app.cfg.clone();
    round_trip(&app, &base, &cfg).await;
    // On disk: the files' folder under the data folder, each file under its SHA-256.
    let on_disk = files_under(&cfg.data_dir.join("files"));
    assert_eq!(on_disk.len(), 1, "{on_disk:?}");
    assert!(on_disk[0].starts_with("blobs/"), "{on_disk:?}");
    // `invest-crm files check`: every file present and unchanged; then one changed on disk, then one gone.
    let store = invest_crm::files::FileStore::new(&cfg.files, &cfg.data_dir).unwrap();
    let c = invest_crm::cli::files::check(&app.db, &store, true).await.unwrap();
    assert_eq!((c.attachments, c.files, c.missing.len(), c.changed.len()), (1, 1, 0, 0));
    let blob = cfg.data_dir.join("files").join(&on_disk[0]);
    std::fs::write(&blob, b"%PDF-1.4 tampered").unwrap();
    let c = invest_crm::cli::files::check(&app.db, &store, true).await.unwrap();
    assert_eq!((c.missing.len(), c.changed.len()), (0, 1));
    std::fs::remove_file(&blob).unwrap();
    let c = invest_crm::cli::files::check(&app.db, &store, false).await.unwrap();
    assert_eq!((c.missing.len(), c.changed.len()), (1, 0));
    // The export of projects carries the count and names of each project's attachments.
    let project = app.project("导出附件项目", "lead", "2024-04-01").await["id"]
        .as_i64()
        .unwrap();
    let staff = app.token("staff").to_owned();
    let files = [("可研报告.pdf", PDF.to_vec()), ("项目计划书.pdf", PDF.to_vec())];
    let (s, _) = upload(&base, &staff, &format!("/projects/{project}/attachments"), &files, &[]).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, rows) = app.get("/api/v1/exports/projects?format=json").await;
    assert_eq!(s, StatusCode::OK);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == project)
        .unwrap()
        .clone();
    assert_eq!(row["attachments"], 2);
    assert_eq!(row["attachment_names"], "可研报告.pdf、项目计划书.pdf");
}

async fn attachments_in_a_bucket(app: TestApp) {
    let Some(moto) = Moto::start("crm-files").await else {
        return;
    };
    let cfg = invest_crm::config::Config {
        files: invest_crm::files::FilesConfig {
            s3: Some(moto.bucket("crm-files")),
            ..Default::default()
        },
        ..app.cfg.clone()
    };
    let base = app.also_serve(&cfg).await;
    round_trip(&app, &base, &cfg).await;
    // Nothing went to the data folder.
    assert!(files_under(&cfg.data_dir.join("files")).is_empty());
}

/// A 60 MiB upload (over the 50 MiB limit) sent without a declared length is answered 413 once 50 MiB have passed,
/// with nothing stored; one with its length declared is answered at once. A file of 49 MiB goes through.
async fn a_large_upload_is_refused_as_it_streams(app: TestApp) {
    let project = app.project("大文件项目", "lead", "2024-04-01").await["id"]
        .as_i64()
        .unwrap();
    let url = format!("{}/api/v1/projects/{project}/attachments", app.base_url());
    let mut big = PDF.to_vec();
    big.resize(60 * 1024 * 1024, b'x');
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big.chunks(1024 * 1024).map(|c| Ok(c.to_vec())).collect();
    let stream = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::stream(stream).file_name("big.pdf"));
    let sent = reqwest::Client::new()
        .post(&url)
        .bearer_auth(app.token("staff"))
        .multipart(form)
        .send()
        .await;
    match sent {
        Ok(r) => assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE),
        // The server answered and closed while the client still wrote: hyper reports the closed connection.
        Err(e) => assert!(e.is_request() || e.is_body(), "{e:?}"),
    }
    let (s, b) = upload(
        app.base_url(),
        app.token("staff"),
        &format!("/projects/{project}/attachments"),
        &[("big.pdf", big.clone())],
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_eq!(b["code"], "payload_too_large");
    assert!(staged(&app.cfg).await.is_empty() && stored_blobs(&app.cfg).await.is_empty());
    big.truncate(49 * 1024 * 1024);
    let (s, b) = upload(
        app.base_url(),
        app.token("staff"),
        &format!("/projects/{project}/attachments"),
        &[("ok.pdf", big.clone())],
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, _, bytes) = download(
        app.base_url(),
        app.token("staff"),
        &format!("/attachments/{}/content", b[0]["id"]),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(bytes == big, "the 49 MiB file comes back byte for byte");
}

/// A company deleted with a file on it: the next `files` run marks the file deleted (it is no longer reachable), and
/// it is purged, bytes and all, once the retention has passed.
async fn the_files_of_a_deleted_record_go_after_the_retention(app: TestApp) {
    let company = app.company("将被删除的企业").await;
    let (s, b) = upload(
        app.base_url(),
        app.token("staff"),
        &format!("/companies/{company}/attachments"),
        &[("营业执照.pdf", PDF.to_vec())],
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b[0]["id"].as_i64().unwrap();
    let (s, _) = app.delete(&format!("/api/v1/companies/{company}?version=1")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let store = invest_crm::files::FileStore::new(&app.cfg.files, &app.cfg.data_dir).unwrap();
    let zero = chrono::Duration::zero();
    let tidied = invest_crm::service::jobs::tidy_files(&app.db, &store, 30, zero)
        .await
        .unwrap();
    assert_eq!(tidied, (0, 0, 0), "kept for the retention");
    let m = entity::attachment::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(m.deleted_at.is_some(), "marked deleted with its record");
    assert_eq!(stored_blobs(&app.cfg).await.len(), 1);
    deleted_days_ago(&app, id, 31).await;
    let tidied = invest_crm::service::jobs::tidy_files(&app.db, &store, 30, zero)
        .await
        .unwrap();
    assert_eq!(tidied, (1, 0, 1));
    assert!(stored_blobs(&app.cfg).await.is_empty());
}
