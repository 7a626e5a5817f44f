//! The bank API (role `bank`): what a fine costs at the counter today, the real-time post of a
//! payment taken, and the list of fines payable at banks. A bank credential is bound to one bank
//! code; every payment it posts is that bank's, idempotent on the bank's serial.

use super::edge::{BearerToken, parse_json, read_body, read_conn, with_conn};
use super::error::ApiError;
use crate::bank::outstanding::{CSV_HEADER, OutstandingLine};
use crate::bank::settle::{self, BankReport, Outcome, Recorded, Source};
use crate::credentials::{Binding, Principal, Role};
use crate::db::bank_payments::{self, BankPaymentRow};
use crate::db::fines;
use crate::domain::rf_reference::rf_for_decision;
use crate::domain::time::utc;
use crate::domain::time::{rfc3339, shanghai_date};
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
pub async fn fine(
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

/// A bank's serial: what its own books call the payment.
fn valid_serial(serial: &str) -> bool {
    (1..=64).contains(&serial.len()) && serial.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
}

/// How far ahead of finepay's clock a bank's `paid_at` may be (clocks drift).
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// `POST /bank/v1/payments`: records a payment the bank took. 201 the first time, 200 with the
/// same body for a repeat of its serial; a payment that cannot settle its fine is still recorded
/// (as an exception for the bank to return) and answered 409, 422 or 404.
pub async fn post_payment(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload, ctx.server.max_body_bytes).await;
    let work_ctx = ctx.clone();
    let (first_time, row, orders) = with_conn(&ctx, move |conn| {
        let principal = token.authorize(conn, &[Role::Bank])?;
        let bank = bank_code(&principal)?;
        let (request, _) = parse_json::<PaymentRequest>(&body?)?;
        if !valid_serial(&request.bank_serial) {
            return Err(ApiError::invalid_request("bank_serial must be 1 to 64 letters, digits or -_./")
                .with_details(json!({"field": "bank_serial"})));
        }
        let no = DecisionNo::parse(&request.decision_no).map_err(ApiError::bad_decision_number)?;
        if request.amount_fen <= 0 {
            return Err(ApiError::invalid_request("amount_fen must be a positive number of fen")
                .with_details(json!({"field": "amount_fen"})));
        }
        let now = work_ctx.clock.now().trunc_subsecs(0);
        let paid_at = request.paid_at.with_timezone(&Utc).trunc_subsecs(0);
        if paid_at > now + CLOCK_SKEW {
            return Err(
                ApiError::invalid_request("paid_at lies in the future").with_details(json!({"field": "paid_at"}))
            );
        }
        let report = BankReport {
            bank_code: &bank,
            reference: &request.bank_serial,
            source: Source::Api { online: matches!(request.method, Method::Online) },
            decision_no: Some(no.as_str()),
            amount_fen: request.amount_fen,
            paid_at,
            paid_on: shanghai_date(paid_at),
            transaction_ref: None,
            reversal: false,
            remittance: &[],
        };
        let actor = principal.actor();
        let rule = work_ctx.bank.surcharge;
        // Two posts of one serial at once (PostgreSQL): the second finds the first's row on
        // its retry and answers as for a repeat.
        let mut tries = 0;
        let (recorded, row) = loop {
            tries += 1;
            let attempt = work_ctx.pool.write(conn, |conn| {
                let recorded = settle::record(conn, &rule, &report, &actor, now.naive_utc())?;
                let row = bank_payments::find(conn, &bank, &request.bank_serial)?;
                Ok::<_, diesel::result::Error>((recorded, row))
            });
            match attempt {
                Err(e) if crate::db::is_retryable(&e) && tries < 3 => log::warn!("bank payment, retrying: {e}"),
                other => break other?,
            }
        };
        let row = row.ok_or_else(|| ApiError::internal("a recorded bank payment is missing"))?;
        match recorded {
            Recorded::New { outcome, .. } => {
                // Paid at a bank while its QR code was still live: the channels' orders for it
                // are closed, so the payer cannot pay it twice.
                let orders = if outcome == Outcome::Settled {
                    crate::db::channel_orders::for_fine(conn, no.as_str())?
                } else {
                    Vec::new()
                };
                Ok((true, row, orders))
            }
            Recorded::Repeat(_) if same_payment(&row, &report) => Ok((false, row, Vec::new())),
            Recorded::Repeat(_) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this bank_serial was recorded for a different payment",
            )
            .with_details(json!({"bank_serial": row.reference, "recorded": payment_body(&row)}))),
        }
    })
    .await?;
    ctx.closer.close_in_background(orders);
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
        Some(Outcome::Reversed) | None => Err(ApiError::internal(format!("unexpected outcome {}", row.outcome))),
    }
}

fn same_payment(row: &BankPaymentRow, report: &BankReport<'_>) -> bool {
    row.amount_fen == report.amount_fen
        && row.paid_at == report.paid_at.naive_utc()
        && (row.decision_no.as_deref() == report.decision_no || row.outcome == Outcome::Unmatched.as_str())
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
pub async fn outstanding(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
) -> Result<HttpResponse, ApiError> {
    let query = web::Query::<OutstandingQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::invalid_request(format!("query: {e}")))?
        .into_inner();
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
