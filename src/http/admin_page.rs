//! The admin dashboard, `GET /admin`: server-rendered HTML without script. curl sends a bearer
//! token; a browser signs in with a form (`POST /admin/login`) that keeps the admin's token in an
//! HttpOnly, SameSite=Strict cookie scoped to /admin, and signs out with `POST /admin/logout`.
//!
//! The cookie is only ever good for reading this page. Every admin API, and above all the one
//! that changes something (resolving an exception), takes a bearer token and ignores cookies, so
//! a forged cross-site request has no credential to ride on: no CSRF token is needed.

use super::admin::stats_query;
use super::edge::{bearer_of, cookie, read_body, with_conn};
use super::error::ApiError;
use super::pages::{page_headers, templates};
use crate::admin::{Stats, dashboard_view, load_stats};
use crate::credentials::{self, Role};
use crate::db::exceptions::{self, ListFilter, Resolution};
use crate::db::{DbConnection, reconciliation};
use crate::domain::time::shanghai_date;
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::http::header::{LOCATION, SET_COOKIE};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use minijinja::context;

/// The cookie that holds a signed-in admin's token.
const SESSION_COOKIE: &str = "finepay_admin";
/// The sign-in form holds one token of 37 characters.
const LOGIN_BODY_LIMIT: usize = 1024;
/// Open exceptions the page lists; the API pages through the rest.
const QUEUE_ROWS: i64 = 100;
/// Statement days of reconciliation reports the page shows, up to yesterday.
const REPORT_DAYS: u64 = 7;

/// What a presented token may do here.
enum Access {
    Admin,
    OtherRole(Role),
    Unknown,
}

fn access(conn: &mut DbConnection, token: &str) -> Result<Access, ApiError> {
    if !credentials::plausible_token(token) {
        return Ok(Access::Unknown);
    }
    Ok(match credentials::authenticate(conn, token)? {
        None => Access::Unknown,
        Some(principal) => match principal.binding.role() {
            Role::Admin => Access::Admin,
            role => Access::OtherRole(role),
        },
    })
}

/// The token a request presents: a bearer token, else the session cookie's (and whether it was
/// the cookie's).
fn presented_token(req: &HttpRequest) -> Option<(String, bool)> {
    if let Some(token) = bearer_of(req) {
        return Some((token.to_owned(), false));
    }
    let from_cookie = cookie(req, SESSION_COOKIE)?;
    Some((from_cookie.to_owned(), true))
}

/// The `Set-Cookie` value that signs a browser in (`Some(token)`) or out (`None`). `Secure` when
/// finepay is served over https.
pub(super) fn session_cookie(token: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(token) => format!("{SESSION_COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{SESSION_COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict{secure}"),
    }
}

fn secure(ctx: &AppState) -> bool {
    ctx.server.public_base_url.starts_with("https://")
}

/// Everything the page shows, read in one go.
struct Loaded {
    stats: Stats,
    open: Vec<exceptions::ExceptionRow>,
    more_open: bool,
    reports: (chrono::NaiveDate, chrono::NaiveDate, Vec<reconciliation::ReportRow>),
}

enum Outcome {
    Page(Box<Loaded>),
    Refused(Access),
    BadQuery(ApiError),
}

/// `GET /admin?from=&to=&district=`: the dashboard, or the sign-in form.
pub(super) async fn dashboard(ctx: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let Some((token, from_cookie)) = presented_token(&req) else {
        return login_page(StatusCode::OK, None, true);
    };
    let parsed = stats_query(&ctx, &req);
    let yesterday = shanghai_date(ctx.clock.now()) - chrono::Days::new(1);
    let work_ctx = ctx.clone();
    let outcome = with_conn(&ctx, move |conn| {
        match access(conn, &token)? {
            Access::Admin => {}
            refused => return Ok(Outcome::Refused(refused)),
        }
        let query = match parsed {
            Ok(query) => query,
            Err(e) => return Ok(Outcome::BadQuery(e)),
        };
        let stats = load_stats(conn, &work_ctx.districts, &query)?;
        let filter =
            ListFilter { resolution: Resolution::Open, source: None, kind: None, after_id: 0, limit: QUEUE_ROWS + 1 };
        let mut open = exceptions::list(conn, &filter)?;
        let more_open = open.len() as i64 > QUEUE_ROWS;
        open.truncate(QUEUE_ROWS as usize);
        let first = yesterday - chrono::Days::new(REPORT_DAYS - 1);
        let reports = (first, yesterday, reconciliation::between(conn, first, yesterday, None)?);
        Ok(Outcome::Page(Box::new(Loaded { stats, open, more_open, reports })))
    })
    .await;
    match outcome {
        Ok(Outcome::Page(loaded)) => render_dashboard(&ctx, &loaded),
        Ok(Outcome::Refused(Access::OtherRole(role))) => refused_page(
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("{} credential cannot open the dashboard: it is for admin credentials.", a_role(role)),
            false,
        ),
        Ok(Outcome::Refused(_)) => {
            let message = if from_cookie {
                "Your session has ended: its token is no longer live. Sign in again."
            } else {
                "That token is not a live credential."
            };
            let mut page = refused_page(StatusCode::UNAUTHORIZED, "unauthorized", message, true);
            if from_cookie {
                set_cookie(&mut page, &session_cookie(None, secure(&ctx)));
            }
            page
        }
        Ok(Outcome::BadQuery(e)) => refused_page(e.status, e.code, &e.message, false),
        Err(e) => e.error_response(),
    }
}

fn render_dashboard(ctx: &AppState, loaded: &Loaded) -> HttpResponse {
    let (from, to, reports) = &loaded.reports;
    let view = dashboard_view(&loaded.stats, &ctx.districts, &loaded.open, loaded.more_open, (*from, *to, reports));
    let html = templates().get_template("admin.html").and_then(|t| t.render(context! { t => texts(), v => view }));
    html_response(StatusCode::OK, html)
}

/// `POST /admin/login` (form field `token`): a live admin token is kept in the session cookie
/// and the browser sent to the dashboard; anything else gets the form again, saying why.
pub(super) async fn login(ctx: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let body = match read_body(&req, payload, LOGIN_BODY_LIMIT).await {
        Ok(body) => body,
        Err(e) => return e.error_response(),
    };
    let token = form_urlencoded::parse(&body)
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    if token.is_empty() {
        return refused_page(StatusCode::BAD_REQUEST, "invalid_request", "Enter an admin token.", true);
    }
    let checked = token.clone();
    match with_conn(&ctx, move |conn| access(conn, &checked)).await {
        Ok(Access::Admin) => {
            log::info!("admin signed in to the dashboard");
            let mut response = HttpResponse::SeeOther()
                .insert_header((LOCATION, "/admin"))
                .insert_header(("Cache-Control", "no-store"))
                .finish();
            set_cookie(&mut response, &session_cookie(Some(&token), secure(&ctx)));
            response
        }
        Ok(Access::OtherRole(role)) => refused_page(
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("{} credential cannot open the dashboard: sign in with an admin token.", a_role(role)),
            true,
        ),
        Ok(Access::Unknown) => {
            refused_page(StatusCode::UNAUTHORIZED, "unauthorized", "That token is not a live credential.", true)
        }
        Err(e) => e.error_response(),
    }
}

/// `POST /admin/logout`: forgets the session cookie.
pub(super) async fn logout(ctx: web::Data<AppState>) -> HttpResponse {
    let mut response = HttpResponse::SeeOther()
        .insert_header((LOCATION, "/admin"))
        .insert_header(("Cache-Control", "no-store"))
        .finish();
    set_cookie(&mut response, &session_cookie(None, secure(&ctx)));
    response
}

fn set_cookie(response: &mut HttpResponse, cookie: &str) {
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

/// "An officer", "A bank".
fn a_role(role: Role) -> String {
    let name = role.as_str();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) { "An" } else { "A" };
    format!("{article} {name}")
}

/// The words `base.html` takes.
fn texts() -> minijinja::Value {
    context! { html_lang => "en", title => "finepay admin" }
}

/// A refusal as a page, logged as the API's refusals are.
fn refused_page(status: StatusCode, code: &str, message: &str, form: bool) -> HttpResponse {
    log::info!("refused: {} {code}: {message}", status.as_u16());
    login_page(status, Some(message), form)
}

fn login_page(status: StatusCode, message: Option<&str>, form: bool) -> HttpResponse {
    let html = templates()
        .get_template("admin_login.html")
        .and_then(|t| t.render(context! { t => texts(), message => message, form => form }));
    html_response(status, html)
}

fn html_response(status: StatusCode, html: Result<String, minijinja::Error>) -> HttpResponse {
    match html {
        Ok(html) => page_headers(HttpResponse::build(status)).content_type("text/html; charset=utf-8").body(html),
        Err(e) => ApiError::internal(e).respond(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_http_only_strict_scoped_and_secure_over_https() {
        assert_eq!(session_cookie(Some("fpa_x"), false), "finepay_admin=fpa_x; Path=/admin; HttpOnly; SameSite=Strict");
        assert_eq!(
            session_cookie(Some("fpa_x"), true),
            "finepay_admin=fpa_x; Path=/admin; HttpOnly; SameSite=Strict; Secure"
        );
        assert_eq!(
            session_cookie(None, true),
            "finepay_admin=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict; Secure"
        );
    }

    #[test]
    fn a_token_comes_from_the_bearer_header_first_then_the_cookie() {
        use actix_web::http::header::COOKIE;
        use actix_web::test::TestRequest;
        let both = TestRequest::default()
            .insert_header(("Authorization", "Bearer fpa_header"))
            .insert_header((COOKIE, "finepay_admin=fpa_cookie"))
            .to_http_request();
        assert_eq!(presented_token(&both), Some(("fpa_header".into(), false)));
        let cookie =
            TestRequest::default().insert_header((COOKIE, "a=1; finepay_admin=fpa_cookie ; b=2")).to_http_request();
        assert_eq!(presented_token(&cookie), Some(("fpa_cookie".into(), true)));
        let empty = TestRequest::default().insert_header((COOKIE, "finepay_admin=; other=x")).to_http_request();
        assert_eq!(presented_token(&empty), None);
        assert_eq!(presented_token(&TestRequest::default().to_http_request()), None);
    }
}
