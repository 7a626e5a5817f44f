//! The credentials at the desk, `GET /admin/credentials`: every officer's, bank's and admin's
//! credential with what it is bound to and when it was made or revoked (never a token, nor its
//! hash), filtered by role and state; and, per live credential, a form carrying the session's
//! CSRF token that revokes it, `POST /admin/credentials/{id}/revoke` — once, audited under the
//! admin's name. An admin cannot revoke the credential of their own session from it.

use super::admin_frame::{self, Caller, admitted, lang_of, post_as_desk, refused_page, texts, texts_of};
use super::admin_texts::AdminTexts;
use super::edge::{query, with_conn};
use super::pages::templates;
use crate::admin::DistrictOption;
use crate::credentials::{self, MAX_NAME_CHARS, Revocation, Role};
use crate::db::credentials::{CredentialRow, ListFilter};
use crate::domain::district::Districts;
use crate::domain::time::{shanghai_wall_clock, utc};
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use minijinja::context;
use serde::{Deserialize, Serialize};

/// The desk's credential forms: a CSRF token and a few short fields.
pub(super) const FORM_LIMIT: usize = 8 * 1024;

/// The page's query: `role=` (blank: every role) and `status=all|active|revoked`.
#[derive(Debug, Deserialize)]
struct ListParams {
    role: Option<String>,
    status: Option<String>,
    done: Option<String>,
}

/// The filter as the form shows it back.
#[derive(Debug, Serialize)]
struct Shown {
    role: &'static str,
    status: &'static str,
}

impl Shown {
    /// `None` for a role or state the form does not offer.
    fn parse(params: &ListParams) -> Option<Shown> {
        let role = match params.role.as_deref().unwrap_or_default() {
            "" => "",
            role => Role::parse(role)?.as_str(),
        };
        let status = match params.status.as_deref().unwrap_or_default() {
            "" | "all" => "all",
            "active" => "active",
            "revoked" => "revoked",
            _ => return None,
        };
        Some(Shown { role, status })
    }

    fn filter(&self) -> ListFilter<'static> {
        ListFilter {
            role: Some(self.role).filter(|role| !role.is_empty()),
            revoked: match self.status {
                "active" => Some(false),
                "revoked" => Some(true),
                _ => None,
            },
        }
    }
}

/// One credential as the desk lists it: no token hash.
#[derive(Debug, Serialize)]
struct CredentialLine {
    id: String,
    role: String,
    bound: String,
    created: String,
    revoked: String,
    /// The credential this session (or bearer token) is signed in with.
    own: bool,
}

impl CredentialLine {
    fn of(row: CredentialRow, t: &AdminTexts, districts: &Districts, own_id: &str) -> CredentialLine {
        CredentialLine {
            own: row.id == own_id,
            role: role_words(t, &row.role).to_owned(),
            bound: bound_to(t, districts, &row),
            created: shanghai_wall_clock(utc(row.created_at)),
            revoked: row.revoked_at.map(|at| shanghai_wall_clock(utc(at))).unwrap_or_default(),
            id: row.id,
        }
    }
}

/// A role in the page's words.
pub(super) fn role_words<'t>(t: &'t AdminTexts, role: &'t str) -> &'t str {
    match Role::parse(role) {
        Some(Role::Officer) => t.credential_role_officer,
        Some(Role::Bank) => t.credential_role_bank,
        Some(Role::Admin) => t.credential_role_admin,
        None => role,
    }
}

/// What a credential is bound to, in the page's words: an officer's id, handheld and district
/// (with its name), a bank's code, an admin's name.
pub(super) fn bound_to(t: &AdminTexts, districts: &Districts, row: &CredentialRow) -> String {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    match Role::parse(&row.role) {
        Some(Role::Officer) => {
            let code = text(&row.district_code);
            let district = match districts.get(&code) {
                Some(d) => format!("{code} {}", d.name),
                None => code,
            };
            t.bound_officer
                .replace("{officer}", &text(&row.officer_id))
                .replace("{device}", &text(&row.device_id))
                .replace("{district}", &district)
        }
        Some(Role::Bank) => t.bound_bank.replace("{bank}", &text(&row.bank_code)),
        _ => text(&row.name),
    }
}

/// `GET /admin/credentials?role=&status=&done=`.
pub(super) async fn list(ctx: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let lang = lang_of(&req);
    let t = texts_of(lang);
    let Some(caller) = Caller::of(&req) else { return admin_frame::login_page(lang, StatusCode::OK, None, true) };
    let params = query::<ListParams>(&req);
    let work_ctx = ctx.clone();
    let loaded = with_conn(&ctx, move |conn| {
        let desk = match admitted(&work_ctx, conn, &caller)? {
            Ok(desk) => desk,
            Err(refused) => return Ok(Err(Some(refused))),
        };
        let Some((params, shown)) = params.ok().and_then(|p| Shown::parse(&p).map(|shown| (p, shown))) else {
            return Ok(Err(None));
        };
        let rows = credentials::list(conn, &shown.filter())?;
        Ok(Ok((desk, params, shown, rows)))
    })
    .await;
    let (desk, params, shown, rows) = match loaded {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(Some(refused))) => return admin_frame::refusal(&ctx, lang, refused, Caller::of(&req)),
        Ok(Err(None)) => {
            return refused_page(lang, StatusCode::BAD_REQUEST, "invalid_request", t.credentials_filter_invalid, false);
        }
        Err(e) => return e.error_response(),
    };
    let own_id = desk.principal.credential_id.as_str();
    let rows: Vec<_> = rows.into_iter().map(|row| CredentialLine::of(row, t, &ctx.districts, own_id)).collect();
    // The notice repeats it: only what could be a credential's id is confirmed.
    let done = params.done.filter(|id| id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    let html = templates().get_template("admin_credentials.html").and_then(|template| {
        template.render(context! {
            t => texts(lang),
            page => "credentials",
            desk => context! { name => desk.name, csrf => desk.csrf },
            switch_url => admin_frame::switched(&req, lang),
            f => shown,
            districts => DistrictOption::all(&ctx.districts, ""),
            max_name_chars => MAX_NAME_CHARS,
            rows => rows,
            back_query => admin_frame::query_with(req.query_string(), &[("lang", lang.code())]),
            done => done,
        })
    });
    admin_frame::html_response(StatusCode::OK, html)
}

/// Why a credential was not revoked.
enum Refused {
    OwnSession,
    NotFound,
    Already { at: String },
}

/// `POST /admin/credentials/{id}/revoke` (form: `csrf`): revokes the credential as the signed-in
/// admin, once, audited; back to the list saying so. Its token's next request is refused, and an
/// admin's sessions with it end.
pub(super) async fn revoke(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let lang = lang_of(&req);
    let t = texts_of(lang);
    let id = path.into_inner();
    let outcome = post_as_desk(&ctx, &req, payload, (FORM_LIMIT, t.not_our_form), move |conn, work_ctx, desk, _| {
        // Revoking it would end the session mid-action; another admin, or the CLI, may.
        if id == desk.principal.credential_id {
            return Ok(Err(Refused::OwnSession));
        }
        let actor = desk.principal.actor();
        match credentials::revoke(&work_ctx.pool, conn, &id, &actor, work_ctx.clock.now())? {
            Revocation::Revoked => {
                log::info!("credential {id} revoked by {actor}");
                Ok(Ok(id))
            }
            Revocation::AlreadyRevoked { at } => Ok(Err(Refused::Already { at: shanghai_wall_clock(at) })),
            Revocation::NotFound => Ok(Err(Refused::NotFound)),
        }
    })
    .await;
    match outcome {
        // Back to the list as the admin had it (the form's action carries the page's query).
        Ok(Ok(id)) => admin_frame::see_other(&format!(
            "/admin/credentials?{}",
            admin_frame::query_with(req.query_string(), &[("lang", lang.code()), ("done", &id)])
        )),
        Ok(Err(Refused::OwnSession)) => refused_page(lang, StatusCode::CONFLICT, "conflict", t.own_credential, false),
        Ok(Err(Refused::NotFound)) => {
            refused_page(lang, StatusCode::NOT_FOUND, "not_found", t.no_such_credential, false)
        }
        Ok(Err(Refused::Already { at })) => {
            refused_page(lang, StatusCode::CONFLICT, "conflict", &t.already_revoked.replace("{at}", &at), false)
        }
        Err(page) => page,
    }
}
