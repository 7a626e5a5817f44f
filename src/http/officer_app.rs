//! `GET /officer/`: the officer's app, a web app served by finepay itself, so that a district can
//! issue fines from any Android handheld with a browser and a Bluetooth thermal printer. Plain
//! JavaScript in `assets/officer/`, compiled into the binary; no build step.
//!
//! Caching: the page, the service worker and the manifest are `no-cache` with a strong ETag (a
//! handheld revalidates them with a 304 when it has a network); the script, the style sheet and
//! the icons are named with their content's digest (`?v=`) and cached for a year. The service
//! worker's cache is named after the digest of everything, so a new build replaces the old shell.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use std::sync::LazyLock;

mod icon;

const INDEX: &str = include_str!("assets/officer/index.html");
const SCRIPT: &str = include_str!("assets/officer/app.js");
const STYLE: &str = include_str!("assets/officer/app.css");
const WORKER: &str = include_str!("assets/officer/sw.js");
const MANIFEST: &str = include_str!("assets/officer/manifest.webmanifest");

/// What the app may do in the browser: its own scripts and styles, the QR images it draws from
/// blobs, the bill's PDF in a frame of its own for printing, requests to finepay only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
                   connect-src 'self'; manifest-src 'self'; worker-src 'self'; frame-src blob:; \
                   media-src 'self' blob:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

struct Asset {
    body: web::Bytes,
    content_type: &'static str,
    etag: String,
    /// Named by its digest: cached for a year.
    immutable: bool,
}

struct Assets {
    index: Asset,
    files: Vec<(&'static str, Asset)>,
}

/// The first 16 hex digits of the SHA-256 of `bytes`.
fn digest(bytes: &[u8]) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, bytes);
    data_encoding::HEXLOWER.encode(&hash.as_ref()[..8])
}

fn asset(body: impl Into<web::Bytes>, content_type: &'static str, immutable: bool) -> Asset {
    let body = body.into();
    Asset { etag: format!("\"{}\"", digest(&body)), body, content_type, immutable }
}

static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let (icon_192, icon_512) = (icon::png(192), icon::png(512));
    let versions = [
        ("__SCRIPT__", digest(SCRIPT.as_bytes())),
        ("__STYLE__", digest(STYLE.as_bytes())),
        ("__ICON192__", digest(&icon_192)),
        ("__ICON512__", digest(&icon_512)),
    ];
    let stamp = |text: &str| versions.iter().fold(text.to_owned(), |t, (mark, v)| t.replace(mark, v));
    let index = stamp(INDEX);
    let manifest = stamp(MANIFEST);
    let shell = digest(format!("{index}{SCRIPT}{STYLE}{manifest}").as_bytes());
    let worker = stamp(WORKER).replace("__SHELL__", &shell);
    Assets {
        index: asset(index, "text/html; charset=utf-8", false),
        files: vec![
            ("app.js", asset(SCRIPT, "text/javascript; charset=utf-8", true)),
            ("app.css", asset(STYLE, "text/css; charset=utf-8", true)),
            ("sw.js", asset(worker, "text/javascript; charset=utf-8", false)),
            ("manifest.webmanifest", asset(manifest, "application/manifest+json", false)),
            ("icon-192.png", asset(icon_192, "image/png", true)),
            ("icon-512.png", asset(icon_512, "image/png", true)),
        ],
    }
});

/// `GET /officer`: the app lives under `/officer/` (the service worker's scope).
pub(super) async fn redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/officer/")).finish()
}

/// `GET /officer/`: the app's one page.
pub(super) async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, &ASSETS.index)
}

/// `GET /officer/{file}`: the script, style sheet, service worker, manifest and icons.
pub(super) async fn file(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    match ASSETS.files.iter().find(|(file, _)| *file == name.as_str()) {
        Some((_, asset)) => serve(&req, asset),
        None => actix_web::ResponseError::error_response(&super::error::ApiError::not_found()),
    }
}

fn serve(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    let cache = if asset.immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    let mut response = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ETAG, asset.etag.clone()))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("Content-Security-Policy", CSP));
    if fresh {
        return response.finish();
    }
    response.content_type(asset.content_type).body(asset.body.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_versioned_name_is_stamped_and_every_file_the_page_names_is_served() {
        let assets = &*ASSETS;
        let index = std::str::from_utf8(&assets.index.body).expect("UTF-8");
        assert!(!index.contains("__") && !index.contains("{{"), "every mark replaced: {index}");
        for (name, asset) in &assets.files {
            let text = String::from_utf8_lossy(&asset.body);
            assert!(!text.contains("__SCRIPT__") && !text.contains("__SHELL__"), "{name} is stamped");
        }
        for named in ["app.js?v=", "app.css?v=", "manifest.webmanifest"] {
            assert!(index.contains(named), "the page names {named}");
        }
    }
}
