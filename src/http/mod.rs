//! HTTP routes by audience: the officer API (handhelds), the public pay page (drivers), the bank
//! API (agent banks), the admin API and dashboard (finance and operations staff), and the
//! operations endpoints. Handlers parse input into domain types, run one use case, and map its
//! result; errors become the documented JSON body in `error.rs`.

mod admin;
mod admin_credential_create;
mod admin_credentials_page;
mod admin_exceptions_page;
mod admin_fines_page;
mod admin_fines_texts;
mod admin_frame;
mod admin_page;
mod admin_reconciliation_page;
mod admin_reconciliation_texts;
mod admin_session;
mod admin_statistics_page;
mod admin_statistics_tables;
mod admin_statistics_texts;
mod admin_texts;
mod bank;
mod bank_statements;
mod bill;
mod csv_file;
mod desk_facts;
mod desk_names;
mod edge;
mod error;
mod framing;
mod i18n;
mod lookup;
mod metrics;
mod notify;
mod officer;
mod officer_app;
mod openapi;
mod ops;
mod pages;
mod pay;
mod pay_steps;
mod prerendered;
mod public;
mod rate_limit;
mod receipt;
mod settings;
mod state;
mod wechat_return;

pub use framing::{guard as framing_guard, mark_connection};
pub use lookup::LookupLimits;
pub use metrics::{Metrics, track};
pub(crate) use pages::page_headers;
pub use settings::{AdminSettings, LookupSettings, ServerSettings};
pub use state::AppState;

use actix_web::web;
use error::ApiError;

/// A route finepay serves.
pub(crate) struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// In the OpenAPI document: every route but the pages' own assets and the aliases (a test
    /// holds the document to this).
    #[cfg(test)]
    pub documented: bool,
    /// Another spelling of a route listed after it (the upper-case public paths): the metrics
    /// count it under that route.
    pub alias: bool,
}

/// Declares the routes once: [`ROUTES`], which the OpenAPI document is held equal to and which
/// names the metrics' routes, and [`configure`], which serves them — so neither can drift from
/// the other.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:path $(, $hidden:ident)?;)*) => {
        /// Every route finepay serves, in the order actix tries them.
        pub(crate) const ROUTES: &[Route] = &[
            $(Route {
                method: stringify!($method),
                path: $path,
                #[cfg(test)]
                documented: routes!(@documented $($hidden)?),
                alias: routes!(@alias $($hidden)?),
            },)*
        ];

        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, verb::$method().to($handler));)*
        }
    };
    (@documented) => { true };
    (@documented $other:ident) => { false };
    (@alias alias) => { true };
    (@alias $($other:ident)?) => { false };
}

/// What each route answers: `get` answers HEAD the same (RFC 9110 §9.3.2; actix sends the head of
/// the answer without its body).
mod verb {
    use actix_web::{Route, guard, web};

    pub fn get() -> Route {
        web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
    }

    pub fn post() -> Route {
        web::post()
    }
}

// Actix tries routes in this order, each by a regular expression: the bursts come first (the QR
// scans, the channels' notifications, the officers' issues). The QR code holds the upper-case URL,
// so phones ask for /P/…; people type /p/….
routes! {
    get "/P/{token}" => public::pay_page, alias;
    get "/p/{token}" => public::pay_page;
    post "/notify/{channel}" => notify::notify;
    post "/api/v1/fines" => officer::issue_fine;
    get "/api/v1/fines" => officer::device_fines;
    post "/p/{token}/pay" => pay::pay;
    post "/P/{token}/pay" => pay::pay, alias;
    get "/p/{token}/wechat-oauth" => wechat_return::oauth_return;
    post "/p/{token}/back" => pay::came_back;
    get "/api/v1/violations" => officer::violations;
    get "/api/v1/districts" => officer::districts;
    get "/api/v1/fines/{decision_no}" => officer::get_fine;
    post "/api/v1/fines/{decision_no}/void" => officer::void_fine;
    get "/api/v1/fines/{decision_no}/qr.svg" => officer::qr_svg;
    get "/api/v1/fines/{decision_no}/qr.png" => officer::qr_png;
    get "/api/v1/fines/{decision_no}/bill.png" => bill::png;
    get "/api/v1/fines/{decision_no}/bill.escpos" => bill::escpos;
    get "/api/v1/fines/{decision_no}/bill.pdf" => bill::pdf;
    get "/r/{receipt_no}" => receipt::receipt;
    get "/lookup" => lookup::form;
    get "/" => pages::home, hidden;
    post "/lookup" => lookup::lookup;
    get "/assets/pay.js" => pages::pay_script, hidden;
    get "/officer" => officer_app::redirect, hidden;
    get "/officer/" => officer_app::index, hidden;
    get "/officer/{file}" => officer_app::file, hidden;
    get "/bank/v1/fines/{decision_no}" => bank::fine;
    post "/bank/v1/payments" => bank::post_payment;
    post "/bank/v1/statements" => bank_statements::upload;
    get "/bank/v1/outstanding" => bank::outstanding;
    get "/admin/api/reconciliation" => admin::reconciliation;
    get "/admin/api/jobs" => admin::jobs;
    get "/admin/api/stats" => admin::stats;
    get "/admin/api/exceptions" => admin::exception_list;
    post "/admin/api/exceptions/{id}/resolve" => admin::resolve;
    get "/admin/api/audit" => admin::audit_trail;
    get "/admin" => admin_page::dashboard;
    get "/admin/exceptions" => admin_exceptions_page::queue;
    post "/admin/exceptions/{id}/resolve" => admin_exceptions_page::resolve;
    get "/admin/fines" => admin_fines_page::search;
    get "/admin/fines/{decision_no}" => admin_fines_page::fine;
    get "/admin/fines/{decision_no}/bill.png" => admin_fines_page::bill_png;
    get "/admin/credentials" => admin_credentials_page::list;
    post "/admin/credentials" => admin_credential_create::create;
    post "/admin/credentials/{id}/revoke" => admin_credentials_page::revoke;
    get "/admin/reconciliation" => admin_reconciliation_page::overview;
    get "/admin/reconciliation/statements/{id}" => admin_reconciliation_page::statement;
    post "/admin/reconciliation/statements" => admin_reconciliation_page::upload;
    get "/assets/desk-upload.js" => admin_reconciliation_page::upload_script, hidden;
    get "/admin/statistics" => admin_statistics_page::page;
    get "/admin/statistics.csv" => admin_statistics_page::csv;
    post "/admin/login" => admin_page::login;
    post "/admin/logout" => admin_page::logout;
    get "/healthz" => ops::healthz;
    get "/readyz" => ops::readyz;
    get "/metrics" => ops::metrics;
    get "/api/v1/openapi.json" => ops::openapi;
}

/// Unknown paths and wrong methods answer in the same JSON shape as every other error.
pub async fn fallback(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let path = req.path();
    if is_page_path(path)
        && matches!(*req.method(), actix_web::http::Method::GET | actix_web::http::Method::HEAD)
        && !pages::accepts_json(&req)
    {
        let accept_language = req.headers().get(actix_web::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        return Ok(pages::page_not_found(i18n::Lang::pick(req.query_string(), accept_language)));
    }
    let mut allowed: Vec<String> = ROUTES
        .iter()
        .filter(|route| matches_pattern(route.path, path))
        .map(|route| route.method.to_ascii_uppercase())
        .collect();
    // A path that looks like a route the method has, yet was not routed, is not there (a
    // router pattern is stricter than this matching).
    if allowed.is_empty() || allowed.iter().any(|m| m.as_str() == req.method().as_str()) {
        return Err(ApiError::not_found());
    }
    allowed.dedup();
    Err(ApiError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this path answers {}", allowed.join(", ")),
    )
    .with_details(serde_json::json!({ "allow": allowed })))
}

/// Whether a path is a person's (a page, answered as one) rather than a program's (the APIs, the
/// channels' notifications, the operations endpoints, answered in JSON).
fn is_page_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    !["/api/", "/bank/", "/notify/", "/admin/api/", "/sim/"].iter().any(|prefix| lower.starts_with(prefix))
        && !["/healthz", "/readyz", "/metrics"].contains(&lower.as_str())
}

fn matches_pattern(pattern: &str, path: &str) -> bool {
    let (mut p, mut q) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            // A parameter matches one segment that is not empty: `/api/v1/fines/` names no fine.
            (Some(a), Some(b)) if (a.starts_with('{') && !b.is_empty()) || a.eq_ignore_ascii_case(b) => {}
            _ => return false,
        }
    }
}
