//! HTTP routes by audience: the officer API (handhelds), the public pay page (drivers), the bank
//! API (agent banks), the admin API and dashboard (finance and operations staff), and the
//! operations endpoints. Handlers parse input into domain types, run one use case, and map its
//! result; errors become the documented JSON body in `error.rs`.

mod admin;
mod admin_page;
mod bank;
mod bank_statements;
mod edge;
mod error;
mod i18n;
mod lookup;
mod metrics;
mod notify;
mod officer;
mod openapi;
mod ops;
mod pages;
mod pay;
mod prerendered;
mod public;
mod rate_limit;
mod receipt;
mod settings;
mod state;

pub use lookup::LookupLimits;
pub use metrics::{Metrics, track};
pub(crate) use pages::page_headers;
pub use settings::{LookupSettings, ServerSettings};
pub use state::AppState;

use actix_web::web;
use error::ApiError;

/// Every route finepay serves, as (method, path). The OpenAPI document must describe each one;
/// a unit test holds the two together.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/violations"),
    ("get", "/api/v1/districts"),
    ("post", "/api/v1/fines"),
    ("get", "/api/v1/fines/{decision_no}"),
    ("post", "/api/v1/fines/{decision_no}/void"),
    ("get", "/api/v1/fines/{decision_no}/qr.svg"),
    ("get", "/api/v1/fines/{decision_no}/qr.png"),
    ("get", "/api/v1/fines/{decision_no}/bill.png"),
    ("get", "/p/{token}"),
    ("post", "/p/{token}/pay"),
    ("post", "/notify/{channel}"),
    ("get", "/r/{receipt_no}"),
    ("get", "/lookup"),
    ("post", "/lookup"),
    ("get", "/bank/v1/fines/{decision_no}"),
    ("post", "/bank/v1/payments"),
    ("post", "/bank/v1/statements"),
    ("get", "/bank/v1/outstanding"),
    ("get", "/admin/api/reconciliation"),
    ("get", "/admin/api/jobs"),
    ("get", "/admin/api/stats"),
    ("get", "/admin/api/exceptions"),
    ("post", "/admin/api/exceptions/{id}/resolve"),
    ("get", "/admin/api/audit"),
    ("get", "/admin"),
    ("post", "/admin/login"),
    ("post", "/admin/logout"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/api/v1/openapi.json"),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Actix tries routes in this order, each by a regular expression: the bursts come first (the
    // QR scans, the channels' notifications, the officers' issues).
    // The QR code holds the upper-case URL, so phones ask for /P/…; people type /p/….
    cfg.route("/P/{token}", web::get().to(public::pay_page))
        .route("/p/{token}", web::get().to(public::pay_page))
        .route("/notify/{channel}", web::post().to(notify::notify))
        .route("/api/v1/fines", web::post().to(officer::issue_fine))
        .route("/p/{token}/pay", web::post().to(pay::pay))
        .route("/P/{token}/pay", web::post().to(pay::pay))
        .route("/api/v1/violations", web::get().to(officer::violations))
        .route("/api/v1/districts", web::get().to(officer::districts))
        .route("/api/v1/fines/{decision_no}", web::get().to(officer::get_fine))
        .route("/api/v1/fines/{decision_no}/void", web::post().to(officer::void_fine))
        .route("/api/v1/fines/{decision_no}/qr.svg", web::get().to(officer::qr_svg))
        .route("/api/v1/fines/{decision_no}/qr.png", web::get().to(officer::qr_png))
        .route("/api/v1/fines/{decision_no}/bill.png", web::get().to(officer::bill))
        .route("/r/{receipt_no}", web::get().to(receipt::receipt))
        .route("/lookup", web::get().to(lookup::form))
        .route("/lookup", web::post().to(lookup::lookup))
        .route("/assets/pay.js", web::get().to(pages::pay_script))
        .route("/bank/v1/fines/{decision_no}", web::get().to(bank::fine))
        .route("/bank/v1/payments", web::post().to(bank::post_payment))
        .route("/bank/v1/statements", web::post().to(bank_statements::upload))
        .route("/bank/v1/outstanding", web::get().to(bank::outstanding))
        .route("/admin/api/reconciliation", web::get().to(admin::reconciliation))
        .route("/admin/api/jobs", web::get().to(admin::jobs))
        .route("/admin/api/stats", web::get().to(admin::stats))
        .route("/admin/api/exceptions", web::get().to(admin::exception_list))
        .route("/admin/api/exceptions/{id}/resolve", web::post().to(admin::resolve))
        .route("/admin/api/audit", web::get().to(admin::audit_trail))
        .route("/admin", web::get().to(admin_page::dashboard))
        .route("/admin/login", web::post().to(admin_page::login))
        .route("/admin/logout", web::post().to(admin_page::logout))
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .route("/api/v1/openapi.json", web::get().to(ops::openapi));
}

/// Unknown paths and wrong methods answer in the same JSON shape as every other error.
pub async fn fallback(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let path = req.path();
    let known = ROUTES.iter().any(|(_, pattern)| matches_pattern(pattern, path));
    Err(if known {
        ApiError::new(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this method is not served here",
        )
    } else {
        ApiError::not_found()
    })
}

fn matches_pattern(pattern: &str, path: &str) -> bool {
    let (mut p, mut q) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.starts_with('{') || a.eq_ignore_ascii_case(b) => {}
            _ => return false,
        }
    }
}
