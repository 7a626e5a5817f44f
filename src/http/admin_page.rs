//! The admin dashboard, `GET /admin`: server-rendered HTML. curl sends a bearer token; a browser
//! signs in with a form (`POST /admin/login`) that starts a session (`admin_session`): the cookie
//! holds the session's random id, never the token, and the session ends at sign-out
//! (`POST /admin/logout`, which carries the session's CSRF token), when idle or too old, or when
//! the credential is revoked.

use super::admin::stats_query;
use super::admin_frame::{
    Access, Caller, access, admitted, html_response, lang_of, login_page, other_role, refusal, refused_page, secure,
    see_other, set_cookie, switched, texts, texts_of,
};
use super::admin_session::{self, CSRF_FIELD, Desk, session_cookie};
use super::edge::{read_body, with_conn};
use super::error::ApiError;
use super::i18n::Lang;
use super::pages::templates;
use crate::admin::{Stats, WORDS_EN, WORDS_ZH, dashboard_view, load_stats};
use crate::db::exceptions::{self, ListFilter, Resolution};
use crate::db::reconciliation;
use crate::domain::time::shanghai_date;
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use minijinja::context;

/// The sign-in form holds one token of 37 characters.
const LOGIN_BODY_LIMIT: usize = 1024;
/// Open exceptions the page lists; the API pages through the rest.
const QUEUE_ROWS: i64 = 100;
/// Statement days of reconciliation reports the page shows, up to yesterday.
const REPORT_DAYS: u64 = 7;

/// Everything the page shows, read in one go.
struct Loaded {
    desk: Desk,
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
    let lang = lang_of(&req);
    let Some(caller) = Caller::of(&req) else { return login_page(lang, StatusCode::OK, None, true) };
    let parsed = stats_query(&ctx, &req);
    let yesterday = shanghai_date(ctx.clock.now()) - chrono::Days::new(1);
    let work_ctx = ctx.clone();
    let outcome = with_conn(&ctx, move |conn| {
        let desk = match admitted(&work_ctx, conn, &caller)? {
            Ok(desk) => desk,
            Err(refused) => return Ok(Outcome::Refused(refused)),
        };
        let query = match parsed {
            Ok(query) => query,
            Err(e) => return Ok(Outcome::BadQuery(e)),
        };
        let stats = load_stats(conn, &work_ctx.districts, &query)?;
        let district = query.district.as_ref().map(|d| d.as_str().to_owned());
        let filter = ListFilter {
            resolution: Resolution::Open,
            source: None,
            kind: None,
            district: district.as_deref(),
            raised_from: None,
            raised_before: None,
            after_id: 0,
            limit: QUEUE_ROWS + 1,
        };
        let mut open = exceptions::list(conn, &filter)?;
        let more_open = open.len() as i64 > QUEUE_ROWS;
        open.truncate(QUEUE_ROWS as usize);
        let first = yesterday - chrono::Days::new(REPORT_DAYS - 1);
        let reports = (first, yesterday, reconciliation::between(conn, first, yesterday, None)?);
        Ok(Outcome::Page(Box::new(Loaded { desk, stats, open, more_open, reports })))
    })
    .await;
    match outcome {
        Ok(Outcome::Page(loaded)) => render_dashboard(&ctx, &req, lang, &loaded),
        Ok(Outcome::Refused(refused)) => refusal(&ctx, lang, refused, Caller::of(&req)),
        Ok(Outcome::BadQuery(e)) => refused_page(lang, e.status, e.code, &e.message, false),
        Err(e) => e.error_response(),
    }
}

fn render_dashboard(ctx: &AppState, req: &HttpRequest, lang: Lang, loaded: &Loaded) -> HttpResponse {
    let (from, to, reports) = &loaded.reports;
    let words = if lang == Lang::En { &WORDS_EN } else { &WORDS_ZH };
    let view =
        dashboard_view(&loaded.stats, &ctx.districts, &loaded.open, loaded.more_open, (*from, *to, reports), words);
    let desk = context! { name => loaded.desk.name, csrf => loaded.desk.csrf };
    let switch_url = switched(req, lang);
    let html = templates().get_template("admin.html").and_then(|t| {
        t.render(context! { t => texts(lang), v => view, desk => desk, switch_url => switch_url, page => "overview" })
    });
    html_response(StatusCode::OK, html)
}

/// `POST /admin/login` (form field `token`): a live admin token is kept in the session cookie
/// and the browser sent to the dashboard; anything else gets the form again, saying why.
pub(super) async fn login(ctx: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let lang = lang_of(&req);
    let t = texts_of(lang);
    let body = match read_body(&req, payload, LOGIN_BODY_LIMIT).await {
        Ok(body) => body,
        Err(e) => return e.error_response(),
    };
    let token = form_urlencoded::parse(&body)
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    if token.is_empty() {
        return refused_page(lang, StatusCode::BAD_REQUEST, "invalid_request", t.enter_token, true);
    }
    let now = ctx.clock.now();
    let work_ctx = ctx.clone();
    let signed_in = with_conn(&ctx, move |conn| {
        Ok(match access(conn, &token)? {
            Access::Admin(principal) => {
                Ok((admin_session::start(&work_ctx, conn, &principal, now)?, principal.actor()))
            }
            refused => Err(refused),
        })
    })
    .await;
    match signed_in {
        Ok(Ok((session_id, actor))) => {
            log::info!("{actor} signed in to the desk");
            let mut response = see_other(&format!("/admin?lang={}", lang.code()));
            set_cookie(&mut response, &session_cookie(Some(&session_id), secure(&ctx)));
            response
        }
        Ok(Err(Access::OtherRole(role))) => {
            refused_page(lang, StatusCode::FORBIDDEN, "forbidden", &other_role(texts_of(lang), role), true)
        }
        Ok(Err(_)) => refused_page(lang, StatusCode::UNAUTHORIZED, "unauthorized", t.not_live, true),
        Err(e) => e.error_response(),
    }
}

/// `POST /admin/logout` (form field `csrf`): ends the session and forgets its cookie. Without
/// the session's CSRF token nothing ends (a page elsewhere cannot sign the desk out).
pub(super) async fn logout(ctx: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let lang = lang_of(&req);
    let body = match read_body(&req, payload, LOGIN_BODY_LIMIT).await {
        Ok(body) => body,
        Err(e) => return e.error_response(),
    };
    let presented = form_urlencoded::parse(&body)
        .find(|(name, _)| name == CSRF_FIELD)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let back = format!("/admin?lang={}", lang.code());
    let Some(id) = admin_session::id_of(&req) else { return see_other(&back) };
    let work_ctx = ctx.clone();
    let ended = with_conn(&ctx, move |conn| {
        Ok(match admin_session::find(&work_ctx, conn, &id)? {
            Some(desk) if desk.csrf_matches(&presented) => {
                admin_session::end(&work_ctx, conn, &id, &desk.principal)?;
                Some(Some(desk.principal.actor()))
            }
            Some(_) => None,
            // Over already: only the cookie is left to forget.
            None => Some(None),
        })
    })
    .await;
    match ended {
        Ok(Some(actor)) => {
            if let Some(actor) = actor {
                log::info!("{actor} signed out of the desk");
            }
            let mut response = see_other(&back);
            set_cookie(&mut response, &session_cookie(None, secure(&ctx)));
            response
        }
        Ok(None) => refused_page(lang, StatusCode::FORBIDDEN, "forbidden", texts_of(lang).not_our_form, false),
        Err(e) => e.error_response(),
    }
}
