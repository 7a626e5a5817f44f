//! The lookup page: a pedestrian or cyclist whose bill was only shown on the officer's screen, or
//! a driver who lost the paper, finds the fine by decision number + the 6-digit verification code
//! and lands on the same pay page the QR code opens. A code has a million values, so lookups are
//! limited per client address, and wrong codes per decision number (from all addresses), and a
//! wrong number and a wrong code get the same answer. The limits are kept in the database, so every
//! instance behind a balancer counts against the same allowance.

use super::LookupSettings;
use super::edge::{parse_json, read_body, with_conn};
use super::error::ApiError;
use super::i18n::{Lang, Texts};
use super::pages::{accepts_json, page_headers, problem, templates};
use super::rate_limit::{LimitError, Limited, SharedLimiter};
use crate::db::fines;
use crate::domain::DecisionNo;
use crate::domain::decision_no::DecisionNoError;
use crate::http::AppState;
use crate::qr::constant_time_eq;
use actix_web::http::StatusCode;
use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

/// The two limits, kept in the database and shared by every instance (see `rate_limit`).
pub struct LookupLimits {
    by_address: SharedLimiter,
    failures_by_fine: SharedLimiter,
}

impl LookupLimits {
    pub fn new(lookup: &LookupSettings) -> LookupLimits {
        LookupLimits {
            by_address: SharedLimiter::new("lookup_address", lookup.attempts_per_address, lookup.window),
            failures_by_fine: SharedLimiter::new("lookup_failures", lookup.failures_per_fine, lookup.window),
        }
    }
}

/// Where one of the limits is applied to `key`: counted (`take`) or only checked.
#[derive(Clone, Copy)]
enum Apply {
    Take,
    Check,
}

/// Applies `limit` (one of `ctx.lookup_limits`, chosen by `pick`) to `key` in the database.
async fn limit(
    ctx: &web::Data<AppState>,
    pick: fn(&LookupLimits) -> &SharedLimiter,
    key: String,
    apply: Apply,
) -> Result<(), Refusal> {
    let now = ctx.clock.now();
    let work_ctx = ctx.clone();
    let outcome = with_conn(ctx, move |conn| {
        let limiter = pick(&work_ctx.lookup_limits);
        Ok(match apply {
            Apply::Take => limiter.take(&work_ctx.pool, conn, &key, now),
            Apply::Check => limiter.check(conn, &key, now),
        })
    })
    .await?;
    match outcome {
        Ok(()) => Ok(()),
        Err(LimitError::Limited(limited)) => Err(Refusal::RateLimited(limited)),
        Err(LimitError::Database(e)) => Err(Refusal::Api(ApiError::internal(e))),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupRequest {
    decision_no: String,
    verification_code: String,
}

/// Why a lookup found nothing to show.
enum Refusal {
    Api(ApiError),
    RateLimited(Limited),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Api(e)
    }
}

/// `GET /lookup`: the form.
pub(super) async fn form(req: HttpRequest) -> HttpResponse {
    let lang = lang_of(&req);
    render(StatusCode::OK, lang, &LookupRequest::default(), None)
}

/// What the form says went wrong: the error codes of its two fields (GOV.UK's pattern: a summary
/// at the top linking to each field, the message beside the field), or of the lookup as a whole,
/// and how long to wait when the limits were passed.
struct FormErrors {
    decision_no: Option<&'static str>,
    verification_code: Option<&'static str>,
    whole: Option<&'static str>,
    retry_after_secs: Option<u64>,
}

impl FormErrors {
    fn of(error: &ApiError, asked: &LookupRequest, retry_after_secs: Option<u64>) -> FormErrors {
        let mut errors = FormErrors { decision_no: None, verification_code: None, whole: None, retry_after_secs };
        let (number_empty, code_empty) =
            (asked.decision_no.trim().is_empty(), asked.verification_code.trim().is_empty());
        match error.code {
            "bad_decision_number" | "invalid_verification_code" if number_empty || code_empty => {
                errors.decision_no = number_empty.then_some("missing_decision_no");
                errors.verification_code = code_empty.then_some("missing_verification_code");
            }
            "bad_decision_number" if error.details["reason"] == "check_digits" => {
                errors.decision_no = Some("check_digits")
            }
            "bad_decision_number" => errors.decision_no = Some("bad_decision_number"),
            "invalid_verification_code" => errors.verification_code = Some("invalid_verification_code"),
            "not_found" => errors.whole = Some("not_found"),
            "rate_limited" => errors.whole = Some("rate_limited"),
            _ => errors.whole = Some("incomplete"),
        }
        errors
    }
}

/// `POST /lookup`: JSON `{decision_no, verification_code}` → `{decision_no, pay_url}`; the form →
/// 303 to the pay page, or the form again saying what was wrong.
pub(super) async fn lookup(ctx: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let from_form = req.content_type() == "application/x-www-form-urlencoded" && !accepts_json(&req);
    let lang = lang_of(&req);
    let mut asked = LookupRequest::default();
    match find(&ctx, &req, payload, from_form, &mut asked).await {
        Ok((no, pay_url)) if from_form => {
            // The same page as the QR code's, in the language the form was in.
            let path = match pay_url.rsplit_once("/P/") {
                Some((_, token)) if req.query_string().contains("lang=") => {
                    format!("/p/{token}?lang={}", lang_code(lang))
                }
                Some((_, token)) => format!("/p/{token}"),
                None => pay_url.clone(),
            };
            log::info!("lookup found {no}");
            HttpResponse::SeeOther()
                .insert_header(("Location", path))
                .insert_header(("Cache-Control", "no-store"))
                .finish()
        }
        Ok((no, pay_url)) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({"decision_no": no, "pay_url": pay_url})),
        Err(refusal) => {
            let (error, retry_after) = match refusal {
                Refusal::Api(e) => (e, None),
                Refusal::RateLimited(limited) => (rate_limited(limited), Some(limited.retry_after_secs())),
            };
            let mut response = if from_form && error.status.is_server_error() {
                problem(false, lang, &error)
            } else if from_form {
                log::info!("lookup refused: {error}");
                render(
                    error.status,
                    lang,
                    &asked,
                    Some(FormErrors::of(&error, &asked, retry_after.and_then(|s| u64::try_from(s).ok()))),
                )
            } else {
                actix_web::ResponseError::error_response(&error)
            };
            if let Some(seconds) = retry_after
                && let Ok(value) = seconds.to_string().parse()
            {
                response.headers_mut().insert(actix_web::http::header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// The fine's decision number and pay URL, if the number and code match and no limit is passed.
async fn find(
    ctx: &web::Data<AppState>,
    req: &HttpRequest,
    payload: web::Payload,
    from_form: bool,
    asked: &mut LookupRequest,
) -> Result<(String, String), Refusal> {
    let body = read_body(req, payload, ctx.server.max_body_bytes).await?;
    *asked = if from_form { from_form_body(&body) } else { parse_json(&body)?.0 };
    limit(ctx, |l| &l.by_address, super::edge::client_address(ctx, req), Apply::Take).await?;
    let no = DecisionNo::parse(&asked.decision_no).map_err(|e| {
        // Nineteen digits that fail their check are a typo, said as such on the page.
        let reason = match e {
            DecisionNoError::CheckDigits | DecisionNoError::SerialOutOfRange(_) => "check_digits",
            _ => "format",
        };
        ApiError::bad_decision_number(e).with_details(serde_json::json!({"field": "decision_no", "reason": reason}))
    })?;
    let code = asked.verification_code.trim().to_owned();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_verification_code",
            "the verification code is the 6 digits printed beside the decision number",
        )
        .with_details(serde_json::json!({"field": "verification_code"}))
        .into());
    }
    limit(ctx, |l| &l.failures_by_fine, no.as_str().to_owned(), Apply::Check).await?;
    let decision_no = no.as_str().to_owned();
    let fine = with_conn(ctx, move |conn| Ok(fines::find(conn, &decision_no)?)).await?;
    let fine = fine.filter(|f| same_code(&f.verification_code, &code));
    let Some(fine) = fine else {
        // Counted once the answer is known, so a right code is never refused for others' errors.
        let _ = limit(ctx, |l| &l.failures_by_fine, no.as_str().to_owned(), Apply::Take).await;
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no fine has this decision number and verification code",
        )
        .into());
    };
    // A fine from a district without QR payment has no key of its own; its page is signed with
    // the current key (the page then says where to pay).
    let key_id = fine.qr_key_id.or(Some(i32::from(ctx.signer.current_key())));
    let pay_url = ctx.view().pay_url(&no, key_id).ok_or_else(|| ApiError::internal("no signing key"))?;
    Ok((fine.decision_no, pay_url))
}

fn from_form_body(body: &[u8]) -> LookupRequest {
    let mut asked = LookupRequest::default();
    for (key, value) in form_urlencoded::parse(body) {
        match key.as_ref() {
            "decision_no" => asked.decision_no = value.chars().filter(|c| !c.is_whitespace()).collect(),
            "verification_code" => asked.verification_code = value.trim().to_owned(),
            _ => {}
        }
    }
    asked
}

/// Compares without an early exit, so timing does not reveal how much of a guess was right.
fn same_code(stored: &str, given: &str) -> bool {
    constant_time_eq(stored.as_bytes(), given.as_bytes())
}

fn rate_limited(limited: Limited) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many lookups; wait and try again")
        .with_details(serde_json::json!({"retry_after_seconds": limited.retry_after_secs()}))
}

fn lang_of(req: &HttpRequest) -> Lang {
    Lang::pick(req.query_string(), req.headers().get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        Lang::Zh => "zh",
    }
}

fn render(status: StatusCode, lang: Lang, asked: &LookupRequest, errors: Option<FormErrors>) -> HttpResponse {
    let texts = Texts::of(lang);
    let errors = errors.unwrap_or(FormErrors {
        decision_no: None,
        verification_code: None,
        whole: None,
        retry_after_secs: None,
    });
    // Whole minutes to wait, rounded up: "a few minutes" tells a driver nothing.
    let wait_minutes = errors.retry_after_secs.map(|s| s.div_ceil(60).max(1));
    let say = |code: &str| texts.lookup_error(code).replace("{minutes}", &wait_minutes.unwrap_or(1).to_string());
    let html = templates().get_template("lookup.html").and_then(|t| {
        t.render(context! {
            t => Texts::value(lang),
            lang => lang_code(lang),
            decision_no => asked.decision_no,
            number_error => errors.decision_no.map(say),
            code_error => errors.verification_code.map(say),
            whole_error => errors.whole.map(say),
            retry_after => errors.retry_after_secs,
            has_errors => errors.decision_no.is_some() || errors.verification_code.is_some() || errors.whole.is_some(),
        })
    });
    match html {
        Ok(html) => page_headers(HttpResponse::build(status)).content_type("text/html; charset=utf-8").body(html),
        Err(e) => problem(false, lang, &ApiError::internal(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_body_is_read_leniently() {
        let asked = from_form_body(b"decision_no=1101+0520+26&verification_code=+123456+&other=x");
        assert_eq!(asked.decision_no, "1101052026");
        assert_eq!(asked.verification_code, "123456");
    }

    #[test]
    fn codes_compare_whole() {
        assert!(same_code("123456", "123456"));
        assert!(!same_code("123456", "123457"));
        assert!(!same_code("123456", "12345"));
    }
}
