//! The browser files of the UI, embedded in the binary: the vendored third-party files (assets/vendor/SOURCES names
//! their versions and checksums) and our own script and style sheet. Each is served under a content-hashed name
//! (`app.3f2a9c1d0b.css`) with a year-long immutable cache lifetime, gzip-compressed once when first asked for.

use std::{collections::HashMap, io::Write, sync::LazyLock};

use poem::{
    IntoResponse, Request, Response, handler,
    http::{StatusCode, header},
    web::Path,
};
use sha2::{Digest, Sha256};

/// Name, bytes, content type.
const FILES: &[(&str, &[u8], &str)] = &[
    ("htmx.js", include_bytes!("../../assets/vendor/htmx.min.js"), JS),
    ("echarts.js", include_bytes!("../../assets/vendor/echarts.min.js"), JS),
    (
        "china.json",
        include_bytes!("../../assets/vendor/china.json"),
        "application/json",
    ),
    ("app.js", include_bytes!("../../assets/app.js"), JS),
    (
        "app.css",
        include_bytes!("../../assets/app.css"),
        "text/css; charset=utf-8",
    ),
];

const JS: &str = "text/javascript; charset=utf-8";

struct Asset {
    bytes: &'static [u8],
    gzip: LazyLock<&'static [u8], Box<dyn FnOnce() -> &'static [u8] + Send + Sync>>,
    content_type: &'static str,
}

/// Plain name → hashed name.
static NAMES: LazyLock<HashMap<&'static str, String>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, bytes, _)| {
            let hash = hex::encode(&Sha256::digest(bytes)[..5]);
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            (*name, format!("{stem}.{hash}.{ext}"))
        })
        .collect()
});

/// Hashed name → the file.
static ASSETS: LazyLock<HashMap<String, Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(name, bytes, content_type)| {
            let asset = Asset {
                bytes,
                gzip: LazyLock::new(Box::new(move || gzip(bytes))),
                content_type,
            };
            (NAMES[name].clone(), asset)
        })
        .collect()
});

fn gzip(bytes: &[u8]) -> &'static [u8] {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    enc.write_all(bytes).expect("gzip into memory");
    enc.finish().expect("gzip into memory").leak()
}

/// The URL of an embedded file by its plain name (`app.css`), for templates.
pub fn url(name: &str) -> String {
    NAMES
        .get(name)
        .map_or_else(|| format!("/assets/missing/{name}"), |n| format!("/assets/{n}"))
}

/// Serves an embedded file by its hashed name.
#[handler]
pub fn serve(Path(name): Path<String>, req: &Request) -> Response {
    let Some(a) = ASSETS.get(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let gzip_ok = req
        .header(header::ACCEPT_ENCODING)
        .is_some_and(|e| e.split(',').any(|c| c.trim().starts_with("gzip")));
    let answer = Response::builder()
        .content_type(a.content_type)
        .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
        .header(header::VARY, "Accept-Encoding");
    if gzip_ok {
        answer.header(header::CONTENT_ENCODING, "gzip").body(*a.gzip)
    } else {
        answer.body(a.bytes)
    }
}
