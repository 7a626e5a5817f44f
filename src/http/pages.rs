//! What the HTML pages share: their templates, the headers every page carries (no caching, no
//! referrer, a strict content security policy), the 404 page, QR codes as images, the pay page's
//! script, and whether the client asked for JSON instead.

use super::error::ApiError;
use super::i18n::{Lang, Texts};
use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::http::header::ACCEPT;
use minijinja::{Environment, context};
use std::sync::OnceLock;

/// Pages carry a pay token in their URL: no caching, no referrer, no framing, only our script.
pub(super) const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; \
                        img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
                        frame-ancestors 'none'";

/// The pages' templates, by name.
const TEMPLATES: [(&str, &str); 17] = [
    ("base.html", include_str!("templates/base.html")),
    ("pay.html", include_str!("templates/pay.html")),
    ("pay_step.html", include_str!("templates/pay_step.html")),
    ("not_found.html", include_str!("templates/not_found.html")),
    ("receipt.html", include_str!("templates/receipt.html")),
    ("lookup.html", include_str!("templates/lookup.html")),
    ("admin_base.html", include_str!("templates/admin_base.html")),
    ("admin.html", include_str!("templates/admin.html")),
    ("admin_exceptions.html", include_str!("templates/admin_exceptions.html")),
    ("admin_fines.html", include_str!("templates/admin_fines.html")),
    ("admin_fine.html", include_str!("templates/admin_fine.html")),
    ("admin_reconciliation.html", include_str!("templates/admin_reconciliation.html")),
    ("admin_statement.html", include_str!("templates/admin_statement.html")),
    ("admin_credentials.html", include_str!("templates/admin_credentials.html")),
    ("admin_credential_created.html", include_str!("templates/admin_credential_created.html")),
    ("admin_statistics.html", include_str!("templates/admin_statistics.html")),
    ("admin_login.html", include_str!("templates/admin_login.html")),
];

/// The pages' templates, parsed once.
pub(crate) fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Names ending in .html are auto-escaped. The templates are part of the binary and are
        // checked by the tests, so a failure here cannot depend on input.
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                log::error!("template {name}: {e}");
            }
        }
        env
    })
}

/// Whether the client asked for JSON (`Accept: application/json`) rather than a page.
pub(crate) fn accepts_json(req: &HttpRequest) -> bool {
    req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
}

/// The headers every page carries.
pub(crate) fn page_headers(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Content-Security-Policy", PAGE_CSP))
        .insert_header(("Vary", "Accept, Accept-Language"));
    builder
}

/// A problem on finepay's side (its database, say) met by a driver's page: a page in the
/// page's language saying to try again, or to pay at a bank — JSON only when asked for.
pub(crate) fn problem(wants_json: bool, lang: Lang, e: &ApiError) -> HttpResponse {
    problem_saying(wants_json, lang, e, Texts::of(lang).problem_text)
}

/// [`problem`], saying `text` (what to do next on that page).
pub(crate) fn problem_saying(wants_json: bool, lang: Lang, e: &ApiError, text: &str) -> HttpResponse {
    if wants_json {
        return actix_web::ResponseError::error_response(e);
    }
    let cause = e.cause.as_deref().map(|cause| crate::errors::chain(cause)).unwrap_or_default();
    log::error!("a driver's page failed: {} {} {cause}", e.code, e.message);
    message_page(actix_web::http::StatusCode::SERVICE_UNAVAILABLE, lang, Texts::of(lang).problem_title, text)
}

/// The same answer for a forged token, a token of an unknown key and an unknown fine.
pub(crate) fn not_found(wants_json: bool, lang: Lang) -> HttpResponse {
    not_found_saying(wants_json, lang, Texts::of(lang).not_found_text)
}

/// [`not_found`], saying `text`.
pub(crate) fn not_found_saying(wants_json: bool, lang: Lang, text: &str) -> HttpResponse {
    if wants_json {
        return actix_web::ResponseError::error_response(&ApiError::not_found());
    }
    not_found_page(lang, text)
}

/// A path finepay has no page at, for a browser: the pages' own frame and language, and the way
/// on to the lookup.
pub(crate) fn page_not_found(lang: Lang) -> HttpResponse {
    not_found_page(lang, Texts::of(lang).page_not_found_text)
}

fn not_found_page(lang: Lang, text: &str) -> HttpResponse {
    message_page(actix_web::http::StatusCode::NOT_FOUND, lang, Texts::of(lang).not_found_title, text)
}

fn message_page(status: actix_web::http::StatusCode, lang: Lang, title: &str, text: &str) -> HttpResponse {
    let html = templates()
        .get_template("not_found.html")
        .and_then(|t| t.render(context! { t => Texts::value(lang), title => title, text => text, lang => lang.code() }))
        .unwrap_or_else(|_| format!("<h1>{}</h1>", status.as_u16()));
    page_headers(HttpResponse::build(status)).content_type("text/html; charset=utf-8").body(html)
}

/// A QR code of `content` as an image a page can show under its content security policy (a
/// data: URL of an SVG); empty, and logged, when it does not fit a QR code.
pub(crate) fn qr_data_url(content: &str) -> String {
    match crate::qr::QrMatrix::encode(content) {
        Ok(matrix) => {
            format!("data:image/svg+xml;base64,{}", data_encoding::BASE64.encode(crate::qr::to_svg(&matrix).as_bytes()))
        }
        Err(e) => {
            log::error!("{content:?} does not fit a QR code: {e}");
            String::new()
        }
    }
}

/// `GET /`: a driver who types finepay's address is looking for a fine: the lookup page, in the
/// language asked for.
pub(super) async fn home(req: HttpRequest) -> HttpResponse {
    // Only the language is carried over: the rest of a query has no meaning here.
    let location = match req.query_string().split('&').find(|p| *p == "lang=en" || *p == "lang=zh") {
        Some(lang) => format!("/lookup?{lang}"),
        None => "/lookup".to_owned(),
    };
    HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, location)).finish()
}

/// `GET /assets/pay.js`: the pay page's countdown and language switch.
pub(super) async fn pay_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("assets/pay.js"))
}

#[cfg(test)]
mod template_tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                panic!("template {name}: {e:#}");
            }
        }
    }
}
