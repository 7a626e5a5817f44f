//! What every desk page shares: who is at the desk (a browser's session, or an admin bearer token
//! for curl) and what a refusal looks like; the desk's language and words; the page's address in
//! the other language; and the responses every page ends with.

use super::admin_session::{self, CSRF_FIELD, Desk, session_cookie};
use super::admin_texts::{self, AdminTexts};
use super::edge::bearer_of;
use super::edge::{read_body, with_conn};
use super::error::ApiError;
use super::i18n::Lang;
use super::pages::{page_headers, templates};
use crate::credentials::{self, Principal, Role};
use crate::db::DbConnection;
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::http::header::{LOCATION, SET_COOKIE};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use minijinja::context;

/// What a presented credential may do at the desk.
pub(super) enum Access {
    Admin(Principal),
    OtherRole(Role),
    Unknown,
}

pub(super) fn access(conn: &mut DbConnection, token: &str) -> Result<Access, ApiError> {
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

/// Who is at the desk: a browser's session, or an admin bearer token (curl).
pub(super) enum Caller {
    Bearer(String),
    Session(String),
}

impl Caller {
    /// The request's bearer token, else its session cookie; `None` for neither.
    pub(super) fn of(req: &HttpRequest) -> Option<Caller> {
        match (bearer_of(req), admin_session::id_of(req)) {
            (Some(token), _) => Some(Caller::Bearer(token.to_owned())),
            (None, Some(id)) => Some(Caller::Session(id)),
            (None, None) => None,
        }
    }
}

/// The admin behind `caller`, or why not.
pub(super) fn admitted(
    ctx: &AppState,
    conn: &mut DbConnection,
    caller: &Caller,
) -> Result<Result<Desk, Access>, ApiError> {
    match caller {
        Caller::Bearer(token) => match access(conn, token)? {
            // A bearer token posts no forms: an empty CSRF token matches nothing.
            Access::Admin(principal) => Ok(Desk::of(principal, String::new()).ok_or(Access::Unknown)),
            refused => Ok(Err(refused)),
        },
        Caller::Session(id) => Ok(admin_session::find(ctx, conn, id)?.ok_or(Access::Unknown)),
    }
}

/// Runs a desk page's reads for the admin at the desk: the desk and what `work` read, or the page
/// to answer instead — the sign-in form for a caller with no credential, the refusal for one not
/// admitted (401, 403; checked before anything the request asks), and a refusal in the desk's
/// frame for a request `work` turned down (4xx).
pub(super) async fn read_as_desk<T: Send + 'static>(
    ctx: &web::Data<AppState>,
    req: &HttpRequest,
    work: impl FnOnce(&mut DbConnection, &AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<(Desk, T), HttpResponse> {
    let lang = lang_of(req);
    let Some(caller) = Caller::of(req) else { return Err(login_page(lang, StatusCode::OK, None, true)) };
    let work_ctx = ctx.clone();
    let loaded = with_conn(ctx, move |conn| match admitted(&work_ctx, conn, &caller)? {
        Ok(desk) => Ok(Ok((desk, work(conn, &work_ctx)?))),
        Err(refused) => Ok(Err(refused)),
    })
    .await;
    match loaded {
        Ok(Ok(read)) => Ok(read),
        Ok(Err(refused)) => Err(refusal(ctx, lang, refused, Caller::of(req))),
        Err(e) if e.status.is_client_error() => Err(refused_page(lang, e.status, e.code, &e.message, false)),
        Err(e) => Err(e.error_response()),
    }
}

/// A form the desk posted (`application/x-www-form-urlencoded`).
pub(super) struct Form(actix_web::web::Bytes);

impl Form {
    /// The value of field `name`, empty when the form has none.
    pub(super) fn field(&self, name: &str) -> String {
        form_urlencoded::parse(&self.0)
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    }
}

/// Why a desk form was not taken before its own checks.
enum Stopped {
    NoSession,
    NotOurForm,
}

/// Runs a desk form's change for the signed-in admin: the body read within `limit` (refused with
/// `unreadable` otherwise), then the session (401 and the sign-in form without a live one) and
/// the form's CSRF token (403 unless it is the session's own) — only then `work`, with the desk
/// and the form. What `work` answered, or the page to answer instead.
pub(super) async fn post_as_desk<T: Send + 'static>(
    ctx: &web::Data<AppState>,
    req: &HttpRequest,
    payload: web::Payload,
    (limit, unreadable): (usize, &'static str),
    work: impl FnOnce(&mut DbConnection, &AppState, Desk, &Form) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, HttpResponse> {
    let lang = lang_of(req);
    let t = texts_of(lang);
    let form = match read_body(req, payload, limit).await {
        Ok(body) => Form(body),
        Err(e) => return Err(refused_page(lang, e.status, e.code, unreadable, false)),
    };
    let session_ended = || refused_page(lang, StatusCode::UNAUTHORIZED, "unauthorized", t.session_ended, true);
    let Some(session) = admin_session::id_of(req) else { return Err(session_ended()) };
    let work_ctx = ctx.clone();
    let outcome = with_conn(ctx, move |conn| {
        let Some(desk) = admin_session::find(&work_ctx, conn, &session)? else { return Ok(Err(Stopped::NoSession)) };
        if !desk.csrf_matches(&form.field(CSRF_FIELD)) {
            return Ok(Err(Stopped::NotOurForm));
        }
        Ok(Ok(work(conn, &work_ctx, desk, &form)?))
    })
    .await;
    match outcome {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(Stopped::NoSession)) => Err(session_ended()),
        Ok(Err(Stopped::NotOurForm)) => {
            Err(refused_page(lang, StatusCode::FORBIDDEN, "forbidden", t.not_our_form, false))
        }
        Err(e) => Err(e.error_response()),
    }
}

/// The page for a caller the desk refused: another role's credential (403), or a token or session
/// that is not live (401; an ended session's cookie is cleared).
pub(super) fn refusal(ctx: &AppState, lang: Lang, refused: Access, caller: Option<Caller>) -> HttpResponse {
    let t = texts_of(lang);
    match refused {
        Access::OtherRole(role) => refused_page(lang, StatusCode::FORBIDDEN, "forbidden", &other_role(t, role), false),
        _ => {
            let from_cookie = matches!(caller, Some(Caller::Session(_)));
            let message = if from_cookie { t.session_ended } else { t.not_live };
            let mut page = refused_page(lang, StatusCode::UNAUTHORIZED, "unauthorized", message, true);
            if from_cookie {
                set_cookie(&mut page, &session_cookie(None, secure(ctx)));
            }
            page
        }
    }
}

/// Whether finepay is served over https (the session cookie is then `Secure`).
pub(super) fn secure(ctx: &AppState) -> bool {
    ctx.server.public_base_url.starts_with("https://")
}

/// "An officer credential cannot…", in the page's language.
pub(super) fn other_role(t: &AdminTexts, role: Role) -> String {
    let role = match role {
        Role::Bank => t.role_bank,
        _ => t.role_officer,
    };
    t.other_role.replace("{role}", role)
}

/// The desk's language: `?lang=`, else the browser's, Chinese by default.
pub(super) fn lang_of(req: &HttpRequest) -> Lang {
    let accept = req.headers().get(actix_web::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Lang::pick(req.query_string(), accept)
}

pub(super) fn texts_of(lang: Lang) -> &'static AdminTexts {
    match lang {
        Lang::En => &admin_texts::EN,
        Lang::Zh => &admin_texts::ZH,
    }
}

/// The words the templates take, built once per language.
pub(super) fn texts(lang: Lang) -> minijinja::Value {
    static VALUES: std::sync::OnceLock<[minijinja::Value; 2]> = std::sync::OnceLock::new();
    let [zh, en] = VALUES.get_or_init(|| {
        [minijinja::Value::from_serialize(&admin_texts::ZH), minijinja::Value::from_serialize(&admin_texts::EN)]
    });
    if lang == Lang::En { en.clone() } else { zh.clone() }
}

/// What every desk page's template takes besides its own: the desk's words, the page's name (the
/// navigation marks it), who is signed in with the session's CSRF token, and this page in the
/// other language.
pub(super) fn frame(req: &HttpRequest, lang: Lang, desk: &Desk, page: &str) -> minijinja::Value {
    context! {
        t => texts(lang),
        page => page,
        desk => context! { name => desk.name.clone(), csrf => desk.csrf.clone() },
        switch_url => switched(req, lang),
    }
}

/// `query` with each of `set` replacing its key, and without `done` (a confirmation is shown
/// once, not carried on to the next page).
pub(super) fn query_with(query: &str, set: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in
        form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != "done" && !set.iter().any(|(s, _)| s == k))
    {
        out.append_pair(&k, &v);
    }
    for (k, v) in set {
        out.append_pair(k, v);
    }
    out.finish()
}

/// This page with `key` set to `value`, the rest of its query kept.
pub(super) fn with_param(req: &HttpRequest, key: &str, value: &str) -> String {
    format!("{}?{}", req.path(), query_with(req.query_string(), &[(key, value)]))
}

/// This page in the other language: the query as it was, with `lang` switched.
pub(super) fn switched(req: &HttpRequest, lang: Lang) -> String {
    with_param(req, "lang", if lang == Lang::En { "zh" } else { "en" })
}

/// A refusal as the sign-in frame's page, logged as the API's refusals are.
pub(super) fn refused_page(lang: Lang, status: StatusCode, code: &str, message: &str, form: bool) -> HttpResponse {
    log::info!("refused: {} {code}: {message}", status.as_u16());
    login_page(lang, status, Some(message), form)
}

pub(super) fn login_page(lang: Lang, status: StatusCode, message: Option<&str>, form: bool) -> HttpResponse {
    let html = templates().get_template("admin_login.html").and_then(|t| {
        let switch_url = format!("/admin?lang={}", if lang == Lang::En { "zh" } else { "en" });
        t.render(context! { t => texts(lang), message => message, form => form, switch_url => switch_url })
    });
    html_response(status, html)
}

pub(super) fn html_response(status: StatusCode, html: Result<String, minijinja::Error>) -> HttpResponse {
    match html {
        Ok(html) => page_headers(HttpResponse::build(status)).content_type("text/html; charset=utf-8").body(html),
        Err(e) => ApiError::internal(e).respond(),
    }
}

pub(super) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, location)).insert_header(("Cache-Control", "no-store")).finish()
}

pub(super) fn set_cookie(response: &mut HttpResponse, cookie: &str) {
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}
