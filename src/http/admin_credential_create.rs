//! Making a credential at the desk, `POST /admin/credentials`: the desk's form (the session's
//! CSRF token, a role and what that role is bound to), checked by the same rules as
//! `finepay credentials add`, made as the signed-in admin and audited under their name. The answer
//! is a page, not a redirect: the token exists only in it, shown this once and never stored.

use super::admin_credentials_page::{FORM_LIMIT, bound_to, role_words};
use super::admin_frame::{self, Form, lang_of, post_as_desk, refused_page, texts, texts_of};
use super::admin_session;
use super::admin_texts::AdminTexts;
use super::error::ApiError;
use super::pages::templates;
use crate::credentials::{self, InvalidBinding, MAX_NAME_CHARS, NameField, Requested};
use crate::db::credentials::CredentialRow;
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;

/// Why no credential was made.
enum Refused {
    NoRole,
    Invalid(InvalidBinding),
}

/// The form's fields as a request for a credential; `None` without a role the form offers.
fn requested(form: &Form) -> Option<Requested> {
    let field = |name: &str| form.field(name);
    match field("role").as_str() {
        "officer" => Some(Requested::Officer {
            officer: field("officer_id"),
            device: field("device_id"),
            district: field("district"),
        }),
        "bank" => Some(Requested::Bank { bank: field("bank_code") }),
        "admin" => Some(Requested::Admin { name: field("name") }),
        _ => None,
    }
}

/// Why a binding was refused, in the page's words.
fn refusal_words(t: &AdminTexts, invalid: &InvalidBinding) -> String {
    match invalid {
        InvalidBinding::UnknownDistrict { .. } => t.district_unknown.to_owned(),
        InvalidBinding::BankCode(_) => t.bank_code_invalid.to_owned(),
        InvalidBinding::Name(field) => {
            let field = match field {
                NameField::Officer => t.field_officer,
                NameField::Device => t.field_device,
                NameField::Admin => t.field_admin,
            };
            t.name_invalid.replace("{field}", field).replace("{max}", &MAX_NAME_CHARS.to_string())
        }
    }
}

/// `POST /admin/credentials` (form: `csrf`, `role` = officer | bank | admin, and `officer_id`,
/// `device_id`, `district`; `bank_code`; or `name`): 201 with the page that shows the new token.
pub(super) async fn create(ctx: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let lang = lang_of(&req);
    let t = texts_of(lang);
    let limits = (FORM_LIMIT, t.credential_form_invalid);
    let outcome = post_as_desk(&ctx, &req, payload, limits, move |conn, work_ctx, desk, form| {
        let Some(requested) = requested(form) else { return Ok(Err(Refused::NoRole)) };
        let binding = match requested.binding(&work_ctx.districts) {
            Ok(binding) => binding,
            Err(invalid) => return Ok(Err(Refused::Invalid(invalid))),
        };
        let actor = desk.principal.actor();
        let now = work_ctx.clock.now();
        let (id, token) =
            credentials::create(&work_ctx.pool, conn, &binding, &actor, now).map_err(ApiError::internal)?;
        log::info!("credential {id} ({}) created by {actor}", binding.role().as_str());
        let row = crate::db::credentials::find(conn, &id)?.ok_or_else(|| ApiError::internal("the new credential"))?;
        Ok(Ok((desk, row, token)))
    })
    .await;
    match outcome {
        Ok(Ok((desk, row, token))) => created_page(&ctx, &req, &desk, &row, &token),
        Ok(Err(Refused::NoRole)) => {
            refused_page(lang, StatusCode::BAD_REQUEST, "invalid_request", t.credential_form_invalid, false)
        }
        Ok(Err(Refused::Invalid(invalid))) => {
            refused_page(lang, StatusCode::BAD_REQUEST, "invalid_request", &refusal_words(t, &invalid), false)
        }
        Err(page) => page,
    }
}

/// The one page that shows the new token (sent `Cache-Control: no-store`, as every desk page).
fn created_page(
    ctx: &AppState,
    req: &HttpRequest,
    desk: &admin_session::Desk,
    row: &CredentialRow,
    token: &str,
) -> HttpResponse {
    let lang = lang_of(req);
    let t = texts_of(lang);
    let html = templates().get_template("admin_credential_created.html").and_then(|template| {
        template.render(context! {
            t => texts(lang),
            page => "credentials",
            desk => context! { name => desk.name, csrf => desk.csrf },
            // The switch is a link: to the list in the other language, never this form again.
            switch_url => admin_frame::switched(req, lang),
            id => row.id,
            role => role_words(t, &row.role),
            bound => bound_to(t, &ctx.districts, row),
            token => token,
            back_query => admin_frame::query_with(req.query_string(), &[("lang", lang.code())]),
        })
    });
    admin_frame::html_response(StatusCode::CREATED, html)
}
