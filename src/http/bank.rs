//! The bank API (role `bank`): what a fine costs at the counter today, the real-time post of a
//! payment taken, and the list of fines payable at banks. A bank credential is bound to one bank
//! code; every payment it posts is that bank's, idempotent on the bank's serial.

use super::edge::{BearerToken, parse_json, query, read_body, read_conn, with_conn};
use super::error::ApiError;
use crate::bank::{CSV_HEADER, Outcome, OutstandingLine, PaymentError, PostedPayment, record_posted_payment};
use crate::credentials::{Binding, Principal, Role};
use crate::db::bank_payments::BankPaymentRow;
use crate::db::fines;
use crate::domain::rf_reference::rf_for_decision;
use crate::domain::time::{rfc3339, shanghai_date, utc};
use crate::domain::{DecisionNo, FineStatus};
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, SubsecRound, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

/// The bank code of a bank credential.
fn bank_code(principal: &Principal) -> Result<String, ApiError> {
    match &principal.binding {
        Binding::Bank { bank_code } => Ok(bank_code.clone()),
        _ => Err(ApiError::forbidden("only a bank credential may call this")),
    }
}

/// `GET /bank/v1/fines/{decision_no}`: the amount due today (fine + surcharge), or why the fine
/// cannot be paid.
pub(super) async fn fine(
    ctx: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let no = DecisionNo::parse(&path).map_err(ApiError::bad_decision_number);
    let work_ctx = ctx.clone();
    let view = read_conn(&ctx, move |conn| {
        token.authorize(conn, &[Role::Bank])?;
        let no = no?;
        let fine = fines::find(conn, no.as_str())?.ok_or_else(ApiError::not_found)?;
        let today = shanghai_date(work_ctx.clock.now());
        let quote = work_ctx.bank.surcharge.amount_due(fine.amount_fen, utc(fine.issued_at), today);
        let status = FineStatus::parse(&fine.status);
        let payable = matches!(status, Some(FineStatus::AwaitingPayment | FineStatus::PayableAtBank));
        let mut body = json!({
            "decision_no": fine.decision_no,
            "status": fine.status,
            "fine_fen": quote.fine_fen,
            "surcharge_fen": if payable { quote.surcharge_fen } else { 0 },
            "amount_due_fen": if payable { quote.total_fen } else { 0 },
            "due_date": quote.due_date,
            "payable": payable,
            "rf_reference": rf_for_decision(&no),
            "quoted_on": today,
        });
        if !payable {
            body["reason"] = match status {
                Some(FineStatus::Paid) => "the fine is paid".into(),
                _ => "the fine is void".into(),
            };
        }
        Ok(body)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentRequest {
    bank_serial: String,
    decision_no: String,
    amount_fen: i64,
    paid_at: DateTime<chrono::FixedOffset>,
    method: Method,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Method {
    Counter,
    Online,
}

/// `POST /bank/v1/payments`: records a payment the bank took. 201 the first time, 200 with the
/// same body for a repeat of its serial; a payment that cannot settle its fine is still recorded
/// (as an exception for the bank to return) and answered 409, 422 or 404.
pub(super) async fn post_payment(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload, ctx.server.max_body_bytes).await;
    let work_ctx = ctx.clone();
    let posted = with_conn(&ctx, move |conn| {
        let principal = token.authorize(conn, &[Role::Bank])?;
        let bank = bank_code(&principal)?;
        let (request, _) = parse_json::<PaymentRequest>(&body?)?;
        let payment = PostedPayment {
            bank_code: &bank,
            bank_serial: &request.bank_serial,
            decision_no: &request.decision_no,
            amount_fen: request.amount_fen,
            paid_at: request.paid_at.with_timezone(&Utc).trunc_subsecs(0),
            online: matches!(request.method, Method::Online),
        };
        let now = work_ctx.clock.now().trunc_subsecs(0);
        Ok(record_posted_payment(&work_ctx.pool, conn, &work_ctx.bank.surcharge, &payment, &principal.actor(), now)?)
    })
    .await?;
    ctx.closer.close_in_background(posted.orders_to_close);
    let (first_time, row) = (posted.first_time, posted.row);
    let outcome = Outcome::parse(&row.outcome);
    log::info!("bank {} payment {}: {}", row.bank_code, row.reference, row.outcome);
    let body = payment_body(&row);
    match outcome {
        Some(Outcome::Settled | Outcome::AlreadyKnown) => {
            let status = if first_time { StatusCode::CREATED } else { StatusCode::OK };
            Ok(HttpResponse::build(status).json(body))
        }
        Some(Outcome::DuplicatePayment) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_paid",
            "the fine was already paid; the payment is recorded for the bank to return",
        )
        .with_details(body)),
        Some(Outcome::FineVoid) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "fine_void",
            "the fine is void; the payment is recorded for the bank to return",
        )
        .with_details(body)),
        Some(Outcome::AmountMismatch) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_mismatch",
            "the amount is not what the fine costs on the day paid; the payment is recorded, the fine stays unpaid",
        )
        .with_details(body)),
        Some(Outcome::Unmatched) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no fine has this decision number; the payment is recorded for the bank to return",
        )
        .with_details(body)),
        // A post is never stored with these: a reversal comes only on statements, and an
        // implausible date is refused before anything is stored.
        Some(Outcome::Reversed | Outcome::ImplausibleDate) | None => {
            Err(ApiError::internal(format!("unexpected outcome {}", row.outcome)))
        }
    }
}

/// A recorded bank payment as the API shows it.
fn payment_body(row: &BankPaymentRow) -> Value {
    json!({
        "bank_serial": row.reference,
        "bank_code": row.bank_code,
        "decision_no": row.decision_no,
        "amount_fen": row.amount_fen,
        "amount_due_fen": row.due_fen,
        "paid_at": rfc3339(utc(row.paid_at)),
        "method": row.method,
        "outcome": row.outcome,
        "recorded_at": rfc3339(utc(row.received_at)),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutstandingQuery {
    since: Option<DateTime<chrono::FixedOffset>>,
    after: Option<String>,
    limit: Option<i64>,
}

const OUTSTANDING_PAGE: i64 = 10_000;

/// `GET /bank/v1/outstanding?since=<time>&after=<decision_no>&limit=<n>`: fines payable at banks
/// that became so at or after `since`, by decision number, a page at a time; CSV when the client
/// accepts `text/csv`, else JSON. Each carries its RF creditor reference and today's amount due.
pub(super) async fn outstanding(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
) -> Result<HttpResponse, ApiError> {
    let query: OutstandingQuery = query(&req)?;
    let limit = query.limit.unwrap_or(OUTSTANDING_PAGE);
    if !(1..=OUTSTANDING_PAGE).contains(&limit) {
        return Err(ApiError::invalid_request(format!("limit must be 1 to {OUTSTANDING_PAGE}")));
    }
    if let Some(after) = &query.after
        && DecisionNo::parse(after).is_err()
    {
        return Err(ApiError::bad_decision_number("after must be a decision number"));
    }
    let since = query.since.map_or(DateTime::UNIX_EPOCH, |s| s.with_timezone(&Utc));
    let csv = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"));
    let work_ctx = ctx.clone();
    let rows = with_conn(&ctx, move |conn| {
        token.authorize(conn, &[Role::Bank])?;
        let after = query.after.unwrap_or_default();
        Ok(fines::payable_at_bank(conn, since.naive_utc(), &after, limit)?)
    })
    .await?;
    let today = shanghai_date(work_ctx.clock.now());
    let lines: Vec<OutstandingLine> =
        rows.into_iter().filter_map(|row| OutstandingLine::of(&work_ctx.bank.surcharge, row, today)).collect();
    let next = (lines.len() as i64 == limit).then(|| lines.last().map(|l| l.decision_no().to_owned())).flatten();
    if csv {
        let mut text = String::from(CSV_HEADER);
        for line in &lines {
            text.push_str(&line.csv_row());
        }
        let mut response = HttpResponse::Ok();
        response.content_type("text/csv; charset=utf-8");
        if let Some(next) = &next {
            response.insert_header(("X-Next-After", next.as_str()));
        }
        return Ok(response.body(text));
    }
    let fines: Vec<Value> = lines.iter().map(OutstandingLine::json).collect();
    Ok(HttpResponse::Ok().json(json!({ "quoted_on": today, "fines": fines, "next_after": next })))
}

impl From<PaymentError> for ApiError {
    fn from(e: PaymentError) -> Self {
        let field = |name: &str| json!({"field": name});
        match e {
            PaymentError::BadSerial => ApiError::invalid_request(e.to_string()).with_details(field("bank_serial")),
            PaymentError::BadDecisionNumber(why) => ApiError::bad_decision_number(why),
            PaymentError::NotPositive => ApiError::invalid_request(e.to_string()).with_details(field("amount_fen")),
            PaymentError::ImplausiblePaidAt(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "implausible_paid_at", e.to_string())
                    .with_details(field("paid_at"))
            }
            PaymentError::SerialReused { ref recorded } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", e.to_string())
                    .with_details(json!({"bank_serial": recorded.reference, "recorded": payment_body(recorded)}))
            }
            PaymentError::Missing | PaymentError::Database(_) => ApiError::internal(e),
        }
    }
}
