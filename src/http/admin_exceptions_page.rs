//! The exceptions queue at the desk, `GET /admin/exceptions`: filtered by state, source, kind,
//! district and the Beijing days they were raised, each with what a clerk needs to decide — the
//! amounts on both sides, the payer's remittance texts or why it was raised, who resolved it and
//! how — and, while open, the decision: a form carrying the session's CSRF token that posts to
//! `POST /admin/exceptions/{id}/resolve`. Resolving is the same conditional, audited update as the
//! API's: of two clerks deciding at once, one wins and the other is told who did.

use super::admin::ListQuery;
use super::admin_frame::{self, Caller, admitted, lang_of, post_as_desk, refused_page, texts, texts_of};
use super::admin_texts::AdminTexts;
use super::desk_facts;
use super::desk_names;
use super::edge::{query, with_conn};
use super::error::ApiError;
use super::i18n::Lang;
use super::pages::templates;
use crate::admin::{DistrictOption, ExceptionResolution, MoneyAction, ResolveError, Unfit, resolve_exception};
use crate::db::channel_orders;
use crate::db::exceptions::{self, ExceptionRow, ListFilter};
use crate::domain::money::format_yuan;
use crate::domain::time::{shanghai_wall_clock, utc};
use crate::domain::{DecisionNo, Fen, text};
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use minijinja::context;
use serde::Serialize;

/// The longest note a decision takes, as the form says.
const MAX_NOTE_CHARS: usize = 500;
/// Exceptions a page shows; the next page follows by id.
const PAGE_ROWS: i64 = 50;
/// A decision's form: a CSRF token, a decision and a note of at most 500 characters.
const RESOLVE_FORM_LIMIT: usize = 8 * 1024;

/// One exception as the queue shows it.
#[derive(Debug, Serialize)]
struct QueueRow {
    id: i64,
    kind_name: String,
    source: String,
    raised: String,
    reference: String,
    decision_no: String,
    amount: String,
    expected: String,
    note: String,
    /// The rest of what was recorded when it was raised (the bank, the statement, the number it
    /// named, the payment's facts).
    recorded: String,
    resolved_at: String,
    resolved_by: String,
    resolution: String,
    /// The decisions that fit this exception, the likeliest first.
    decisions: &'static [&'static str],
    /// Whether it can be matched to a fine (a bank line that named none).
    matchable: bool,
}

impl QueueRow {
    fn of(row: ExceptionRow, lang: Lang) -> QueueRow {
        let optional_yuan = |fen: Option<i64>| fen.map(|f| format_yuan(Fen(f))).unwrap_or_else(|| "—".to_owned());
        let decisions = fitting_decisions(&row);
        QueueRow {
            decisions,
            matchable: decisions.contains(&"matched"),
            id: row.id,
            kind_name: desk_names::exception_kind(&row.kind, lang),
            note: crate::admin::exception_note(&row.details),
            recorded: recorded(&row.details),
            source: row.source,
            raised: shanghai_wall_clock(utc(row.raised_at)),
            reference: row.reference,
            decision_no: row.decision_no.unwrap_or_default(),
            amount: optional_yuan(row.amount_fen),
            expected: optional_yuan(row.expected_fen),
            resolved_at: row.resolved_at.map(|at| shanghai_wall_clock(utc(at))).unwrap_or_default(),
            resolved_by: row.resolved_by.unwrap_or_default(),
            resolution: row.resolution.unwrap_or_default(),
        }
    }
}

/// The decisions that fit an exception, the likeliest first: a bank's money can go back to the
/// bank, a statement line that named no fine can be matched to one, a held channel payment
/// refunded; anything can be handled outside finepay or written off.
fn fitting_decisions(row: &ExceptionRow) -> &'static [&'static str] {
    match (row.source.starts_with("bank:"), row.kind.as_str()) {
        (true, "unmatched") => &["matched", "returned_to_bank", "handled", "written_off"],
        (true, _) => &["returned_to_bank", "handled", "written_off"],
        (false, "implausible_paid_at") => &["refunded", "handled", "written_off"],
        (false, _) => &["handled", "written_off"],
    }
}

/// An exception's details but the remittance texts and the reason, which the queue shows as its
/// note.
fn recorded(details: &str) -> String {
    let mut details = crate::db::json_value(details);
    if let Some(fields) = details.as_object_mut() {
        fields.remove("remittance");
        fields.remove("why");
    }
    desk_facts::one_line(&details)
}

/// `GET /admin/exceptions?status=&source=&kind=&district=&from=&to=&after_id=&done=`.
pub(super) async fn queue(ctx: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let lang = lang_of(&req);
    let Some(caller) = Caller::of(&req) else { return admin_frame::login_page(lang, StatusCode::OK, None, true) };
    let parsed = query(&req).and_then(|params| Ok(ListQuery::parse(params)?));
    let done = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, _)| key == "done")
        .and_then(|(_, id)| id.parse::<i64>().ok());
    let work_ctx = ctx.clone();
    let loaded = with_conn(&ctx, move |conn| {
        let desk = match admitted(&work_ctx, conn, &caller)? {
            Ok(desk) => desk,
            Err(refused) => return Ok(Err(Err(refused))),
        };
        let q = match parsed {
            Ok(q) => q,
            Err(e) => return Ok(Err(Ok(e))),
        };
        let filter = ListFilter { limit: PAGE_ROWS + 1, ..q.filter() };
        let rows = exceptions::list(conn, &filter)?;
        Ok(Ok((desk, q, rows)))
    })
    .await;
    let (desk, q, mut rows) = match loaded {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(Err(refused))) => return admin_frame::refusal(&ctx, lang, refused, Caller::of(&req)),
        Ok(Err(Ok(bad))) => return refused_page(lang, bad.status, bad.code, &bad.message, false),
        Err(e) => return e.error_response(),
    };
    let next_after_id = (rows.len() as i64 > PAGE_ROWS).then(|| rows[PAGE_ROWS as usize - 1].id);
    rows.truncate(PAGE_ROWS as usize);
    let next_url = next_after_id.map(|after| admin_frame::with_param(&req, "after_id", &after.to_string()));
    let rows: Vec<QueueRow> = rows.into_iter().map(|row| QueueRow::of(row, lang)).collect();
    // The form marks the filter's own district.
    let districts = DistrictOption::all(&ctx.districts, "");
    let html = templates().get_template("admin_exceptions.html").and_then(|template| {
        template.render(context! {
            t => texts(lang),
            page => "queue",
            desk => context! { name => desk.name, csrf => desk.csrf },
            switch_url => admin_frame::switched(&req, lang),
            f => q.shown(),
            districts => districts,
            rows => rows,
            back_query => admin_frame::query_with(req.query_string(), &[("lang", lang.code())]),
            done => done,
            next_after_id => next_after_id,
            next_url => next_url,
        })
    });
    admin_frame::html_response(StatusCode::OK, html)
}

/// A clerk's decision on one exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// The matter was dealt with outside finepay (a call to the bank, a letter).
    Handled,
    /// The difference is accepted and booked off.
    WrittenOff,
    /// A bank line that named no fine settles the fine the clerk names (`decision_no`).
    Matched,
    /// A bank's money goes back to the bank, which returns it to the payer.
    ReturnedToBank,
    /// A held channel payment goes back to the payer through its channel.
    Refunded,
}

impl Decision {
    fn parse(raw: &str) -> Option<Decision> {
        match raw {
            "handled" => Some(Decision::Handled),
            "written_off" => Some(Decision::WrittenOff),
            "matched" => Some(Decision::Matched),
            "returned_to_bank" => Some(Decision::ReturnedToBank),
            "refunded" => Some(Decision::Refunded),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Decision::Handled => "handled",
            Decision::WrittenOff => "written_off",
            Decision::Matched => "matched",
            Decision::ReturnedToBank => "returned_to_bank",
            Decision::Refunded => "refunded",
        }
    }
}

/// Why a decision was not taken.
enum Refused {
    Invalid,
    NotFound,
    Already {
        by: String,
        at: String,
    },
    Unfit(Unfit),
    /// A match without a valid decision number.
    BadDecisionNo,
}

/// `POST /admin/exceptions/{id}/resolve` (form: `csrf`, `decision`, `note`): resolves the
/// exception as the signed-in admin, once, audited; back to the queue saying so.
pub(super) async fn resolve(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let lang = lang_of(&req);
    let t = texts_of(lang);
    let id = path.parse::<i64>().ok().filter(|id| *id > 0);
    let limits = (RESOLVE_FORM_LIMIT, t.decision_invalid);
    let outcome = post_as_desk(&ctx, &req, payload, limits, move |conn, work_ctx, desk, form| {
        let (decision, note) = (Decision::parse(&form.field("decision")), form.field("note"));
        // The fine a bank line is matched to, as the clerk typed it.
        let matched_to = DecisionNo::parse(form.field("decision_no").trim());
        let (Some(id), Some(decision)) = (id, decision) else { return Ok(Err(Refused::Invalid)) };
        let note = note.trim();
        if note.is_empty() || note.chars().count() > MAX_NOTE_CHARS || text::storable(note).is_err() {
            return Ok(Err(Refused::Invalid));
        }
        // Only a decision the exception offers: the form never shows another.
        match exceptions::find(conn, id)? {
            None => return Ok(Err(Refused::NotFound)),
            Some(row) if !fitting_decisions(&row).contains(&decision.as_str()) => {
                return Ok(Err(match decision {
                    Decision::Matched => Refused::Unfit(Unfit::NotAnUnmatchedBankLine),
                    Decision::Refunded => Refused::Unfit(Unfit::NotAHeldPayment),
                    _ => Refused::Invalid,
                }));
            }
            Some(_) => {}
        }
        let money = match decision {
            Decision::Matched => match &matched_to {
                Ok(no) => Some(MoneyAction::MatchTo { decision_no: no.as_str(), rule: &work_ctx.bank.surcharge }),
                Err(_) => return Ok(Err(Refused::BadDecisionNo)),
            },
            Decision::Refunded => Some(MoneyAction::Refund),
            _ => None,
        };
        let decided = ExceptionResolution { decision: Some(decision.as_str()), note, money };
        match resolve_exception(&work_ctx.pool, conn, work_ctx.clock.now(), &desk.principal, id, &decided) {
            Ok(row) => {
                log::info!("exception {} resolved ({}) by {}", row.id, decision.as_str(), desk.principal.actor());
                // A fine a match paid takes no more payments: its channel orders still open close.
                let orders = match (decision, &row.decision_no) {
                    (Decision::Matched, Some(no)) => channel_orders::for_fine(conn, no)?,
                    _ => Vec::new(),
                };
                Ok(Ok((row.id, orders)))
            }
            Err(ResolveError::AlreadyResolved { by, at, .. }) => {
                let at =
                    chrono::DateTime::parse_from_rfc3339(&at).map(|at| shanghai_wall_clock(at.to_utc())).unwrap_or(at);
                Ok(Err(Refused::Already { by, at }))
            }
            Err(ResolveError::NotFound) => Ok(Err(Refused::NotFound)),
            Err(ResolveError::InvalidResolution) => Ok(Err(Refused::Invalid)),
            Err(ResolveError::Unfit(unfit)) => Ok(Err(Refused::Unfit(unfit))),
            Err(ResolveError::Database(e)) => Err(ApiError::from(e)),
        }
    })
    .await;
    match outcome {
        // Back to the queue as the clerk had it (the form's action carries the page's query).
        Ok(Ok((id, orders))) => {
            ctx.closer.close_in_background(orders);
            admin_frame::see_other(&format!(
                "/admin/exceptions?{}",
                admin_frame::query_with(req.query_string(), &[("lang", lang.code()), ("done", &id.to_string())])
            ))
        }
        Ok(Err(Refused::Invalid)) => {
            refused_page(lang, StatusCode::BAD_REQUEST, "invalid_request", t.decision_invalid, false)
        }
        Ok(Err(Refused::NotFound)) => {
            refused_page(lang, StatusCode::NOT_FOUND, "not_found", t.no_such_exception, false)
        }
        Ok(Err(Refused::Already { by, at })) => {
            let message = t.already_resolved.replace("{by}", &by).replace("{at}", &at);
            refused_page(lang, StatusCode::CONFLICT, "conflict", &message, false)
        }
        Ok(Err(Refused::Unfit(unfit))) => {
            refused_page(lang, StatusCode::CONFLICT, "conflict", &unfit_message(t, lang, &unfit), false)
        }
        Ok(Err(Refused::BadDecisionNo)) => {
            refused_page(lang, StatusCode::BAD_REQUEST, "invalid_request", t.match_number_invalid, false)
        }
        Err(page) => page,
    }
}

/// Why a decision does not fit, in the clerk's language.
fn unfit_message(t: &AdminTexts, lang: Lang, unfit: &Unfit) -> String {
    match unfit {
        Unfit::NotAnUnmatchedBankLine => t.unfit_not_unmatched.to_owned(),
        Unfit::NotAHeldPayment => t.unfit_not_held.to_owned(),
        Unfit::NoSuchFine => t.unfit_no_fine.to_owned(),
        Unfit::FineNotPayable { status } => {
            t.unfit_not_payable.replace("{status}", &desk_names::fine_status(status, lang))
        }
        Unfit::AmountNotDue { amount_fen, due_fen } => t
            .unfit_amount
            .replace("{amount}", &format_yuan(Fen(*amount_fen)))
            .replace("{due}", &format_yuan(Fen(*due_fen))),
        Unfit::ImplausibleDate => t.unfit_date.to_owned(),
        Unfit::RefundExists => t.unfit_refund_exists.to_owned(),
    }
}
