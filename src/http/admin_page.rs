//! The admin dashboard, `GET /admin`: server-rendered HTML. curl sends a bearer token; a browser
//! signs in with a form (`POST /admin/login`) that starts a session (`admin_session`): the cookie
//! holds the session's random id, never the token, and the session ends at sign-out
//! (`POST /admin/logout`, which carries the session's CSRF token), when idle or too old, or when
//! the credential is revoked.

use super::admin::stats_query;
use super::admin_session::{self, CSRF_FIELD, Desk, session_cookie};
use super::admin_texts::{self, AdminTexts};
use super::edge::{bearer_of, read_body, with_conn};
use super::error::ApiError;
use super::i18n::Lang;
use super::pages::{page_headers, templates};
use crate::admin::{Stats, WORDS_EN, WORDS_ZH, dashboard_view, load_stats};
use crate::credentials::{self, Principal, Role};
use crate::db::exceptions::{self, ListFilter, Resolution};
use crate::db::{DbConnection, reconciliation};
use crate::domain::time::shanghai_date;
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::http::header::{LOCATION, SET_COOKIE};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use minijinja::context;

/// The sign-in form holds one token of 37 characters.
const LOGIN_BODY_LIMIT: usize = 1024;
/// Open exceptions the page lists; the API pages through the rest.
const QUEUE_ROWS: i64 = 100;
/// Statement days of reconciliation reports the page shows, up to yesterday.
const REPORT_DAYS: u64 = 7;

/// What a presented token may do here.
enum Access {
    Admin(Principal),
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
            Role::Admin => Access::Admin(principal),
            role => Access::OtherRole(role),
        },
    })
}

fn secure(ctx: &AppState) -> bool {
    ctx.server.public_base_url.starts_with("https://")
}

/// Who is at the desk: a browser's session, or an admin bearer token (curl).
enum Caller {
    Bearer(String),
    Session(String),
}

/// The admin behind `caller`, or why not.
fn admitted(ctx: &AppState, conn: &mut DbConnection, caller: &Caller) -> Result<Result<Desk, Access>, ApiError> {
    match caller {
        Caller::Bearer(token) => match access(conn, token)? {
            Access::Admin(principal) => {
                let name = match &principal.binding {
                    credentials::Binding::Admin { name } => name.clone(),
                    _ => String::new(),
                };
                // A bearer token posts no forms: its empty CSRF token matches nothing.
                Ok(Ok(Desk { principal, name, csrf: String::new() }))
            }
            refused => Ok(Err(refused)),
        },
        Caller::Session(id) => Ok(admin_session::find(ctx, conn, id)?.ok_or(Access::Unknown)),
    }
}

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
    let t = texts_of(lang);
    let caller = match (bearer_of(&req), admin_session::id_of(&req)) {
        (Some(token), _) => Caller::Bearer(token.to_owned()),
        (None, Some(id)) => Caller::Session(id),
        (None, None) => return login_page(lang, StatusCode::OK, None, true),
    };
    let from_cookie = matches!(caller, Caller::Session(_));
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
        Ok(Outcome::Refused(Access::OtherRole(role))) => {
            refused_page(lang, StatusCode::FORBIDDEN, "forbidden", &other_role(t, role), false)
        }
        Ok(Outcome::Refused(_)) => {
            let message = if from_cookie { t.session_ended } else { t.not_live };
            let mut page = refused_page(lang, StatusCode::UNAUTHORIZED, "unauthorized", message, true);
            if from_cookie {
                set_cookie(&mut page, &session_cookie(None, secure(&ctx)));
            }
            page
        }
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
    let html = templates()
        .get_template("admin.html")
        .and_then(|t| t.render(context! { t => texts(lang), v => view, desk => desk, switch_url => switch_url }));
    html_response(StatusCode::OK, html)
}

/// This page in the other language: the query as it was, with `lang` switched.
fn switched(req: &HttpRequest, lang: Lang) -> String {
    let other = if lang == Lang::En { "zh" } else { "en" };
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(req.query_string().as_bytes()).filter(|(key, _)| key != "lang") {
        query.append_pair(&key, &value);
    }
    query.append_pair("lang", other);
    format!("{}?{}", req.path(), query.finish())
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
    let signed_in = with_conn(&ctx, move |conn| {
        Ok(match access(conn, &token)? {
            Access::Admin(principal) => Ok((admin_session::start(conn, &principal, now)?, principal.actor())),
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
            refused_page(lang, StatusCode::FORBIDDEN, "forbidden", &other_role(t, role), true)
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
                admin_session::end(&work_ctx, conn, &id)?;
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

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, location)).insert_header(("Cache-Control", "no-store")).finish()
}

fn set_cookie(response: &mut HttpResponse, cookie: &str) {
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

/// "An officer credential cannot…", in the page's language.
fn other_role(t: &AdminTexts, role: Role) -> String {
    let role = match role {
        Role::Bank => t.role_bank,
        _ => t.role_officer,
    };
    t.other_role.replace("{role}", role)
}

/// The desk's language: `?lang=`, else the browser's, Chinese by default.
fn lang_of(req: &HttpRequest) -> Lang {
    let accept = req.headers().get(actix_web::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Lang::pick(req.query_string(), accept)
}

fn texts_of(lang: Lang) -> &'static AdminTexts {
    match lang {
        Lang::En => &admin_texts::EN,
        Lang::Zh => &admin_texts::ZH,
    }
}

/// The words the templates take, built once per language.
fn texts(lang: Lang) -> minijinja::Value {
    static VALUES: std::sync::OnceLock<[minijinja::Value; 2]> = std::sync::OnceLock::new();
    let [zh, en] = VALUES.get_or_init(|| {
        [minijinja::Value::from_serialize(&admin_texts::ZH), minijinja::Value::from_serialize(&admin_texts::EN)]
    });
    if lang == Lang::En { en.clone() } else { zh.clone() }
}

/// A refusal as a page, logged as the API's refusals are.
fn refused_page(lang: Lang, status: StatusCode, code: &str, message: &str, form: bool) -> HttpResponse {
    log::info!("refused: {} {code}: {message}", status.as_u16());
    login_page(lang, status, Some(message), form)
}

fn login_page(lang: Lang, status: StatusCode, message: Option<&str>, form: bool) -> HttpResponse {
    let html = templates()
        .get_template("admin_login.html")
        .and_then(|t| t.render(context! { t => texts(lang), message => message, form => form }));
    html_response(status, html)
}

fn html_response(status: StatusCode, html: Result<String, minijinja::Error>) -> HttpResponse {
    match html {
        Ok(html) => page_headers(HttpResponse::build(status)).content_type("text/html; charset=utf-8").body(html),
        Err(e) => ApiError::internal(e).respond(),
    }
}
