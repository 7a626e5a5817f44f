//! The decisions at the desk that move money, each run inside the transaction that resolves its
//! exception — so a decision and its resolution land together or not at all, and the exception's
//! conditional update keeps two clerks from deciding one twice:
//!
//! - **Match to a fine**: a bank line that named no fine (`unmatched`), matched by the clerk to the
//!   fine its payer meant (read from the remittance text). It settles that fine exactly as the
//!   bank's own report would have: only while the fine is unpaid and not void, only for the amount
//!   due on the day paid (the fine and its late surcharge), only for a date that can be true.
//!   Anything else is refused with why, and the clerk returns the money to the bank instead.
//! - **Refund**: a channel payment held because its date could not be true (`implausible_paid_at`)
//!   goes back to its source: the payment becomes a refund and the refund job asks its channel,
//!   as for any payment that could not pay its fine.

use crate::db::exceptions::{self, ExceptionRow};
use crate::db::{DbConnection, audit, bank_payments, fines, payments, refunds};
use crate::domain::FineStatus;
use crate::domain::surcharge::SurchargeRule;
use crate::domain::time::{plausible_payment_day, plausible_payment_time, shanghai_date, shanghai_wall_clock, utc};
use chrono::NaiveDateTime;

/// Why a money decision does not fit its exception; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfit {
    /// Only a statement's line that named no fine is matched to one.
    NotAnUnmatchedBankLine,
    /// Only a channel payment held for its date is refunded from the desk.
    NotAHeldPayment,
    NoSuchFine,
    /// The fine is paid or void: the line goes back to the bank.
    FineNotPayable {
        status: String,
    },
    /// The line is not what the fine asked for on the day it was paid.
    AmountNotDue {
        amount_fen: i64,
        due_fen: i64,
    },
    /// The line is dated before the fine was issued (or after now).
    ImplausibleDate,
    /// The payment's order has a refund already.
    RefundExists,
}

/// Settles fine `decision_no` with the unmatched bank line `exception` was raised for, as `actor`.
pub(super) fn match_to_fine(
    conn: &mut DbConnection,
    rule: &SurchargeRule,
    exception: &ExceptionRow,
    decision_no: &str,
    actor: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<Result<(), Unfit>> {
    let Some(bank_code) = exception.source.strip_prefix("bank:").filter(|_| exception.kind == "unmatched") else {
        return Ok(Err(Unfit::NotAnUnmatchedBankLine));
    };
    // A statement's line: a post through the bank API that named no fine was answered 404 for the
    // bank to return, and its money may be back with the payer already.
    let Some(line) = bank_payments::find(conn, bank_code, &exception.reference)?
        .filter(|line| line.outcome == "unmatched" && line.reversed_by.is_none() && line.source == "statement")
    else {
        return Ok(Err(Unfit::NotAnUnmatchedBankLine));
    };
    let Some(fine) = fines::find(conn, decision_no)? else { return Ok(Err(Unfit::NoSuchFine)) };
    if !matches!(FineStatus::parse(&fine.status), Some(FineStatus::AwaitingPayment | FineStatus::PayableAtBank)) {
        return Ok(Err(Unfit::FineNotPayable { status: fine.status }));
    }
    let paid_on = shanghai_date(utc(line.paid_at));
    // A line that gave only its day is dated that day's midnight (Beijing): its day is checked;
    // one that gave its time, its time — as the bank's own report is.
    let day_only = shanghai_wall_clock(utc(line.paid_at)).ends_with(" 00:00:00");
    let plausible = if day_only {
        plausible_payment_day(paid_on, utc(fine.issued_at), utc(now))
    } else {
        plausible_payment_time(utc(line.paid_at), utc(fine.issued_at), utc(now))
    };
    if plausible.is_err() {
        return Ok(Err(Unfit::ImplausibleDate));
    }
    let due = rule.amount_due(fine.amount_fen, utc(fine.issued_at), paid_on).total_fen;
    if line.amount_fen != due {
        return Ok(Err(Unfit::AmountNotDue { amount_fen: line.amount_fen, due_fen: due }));
    }
    // Both conditional: a payment that committed since the reads above wins, and this refuses.
    if !fines::settle_at_bank(conn, decision_no, line.paid_at, now)? {
        let status = fines::find(conn, decision_no)?.map(|f| f.status).unwrap_or_default();
        return Ok(Err(Unfit::FineNotPayable { status }));
    }
    // The caller's transaction is rolled back on a refusal: the fine is not left settled.
    if !bank_payments::match_to_fine(conn, (bank_code, &line.reference), decision_no, due)?
        || !exceptions::name_fine(conn, exception.id, decision_no)?
    {
        return Ok(Err(Unfit::NotAnUnmatchedBankLine));
    }
    let details = serde_json::json!({
        "bank": bank_code,
        "reference": line.reference,
        "source": line.source,
        "amount_fen": line.amount_fen,
        "surcharge_fen": due - fine.amount_fen,
        "matched_from_exception": exception.id,
    });
    audit::record(
        conn,
        &audit::NewAuditEntry {
            at: now,
            actor,
            action: "fine.paid_at_bank",
            decision_no: Some(decision_no),
            details: &details.to_string(),
        },
    )?;
    Ok(Ok(()))
}

/// Sends the held channel payment `exception` was raised for back to its payer, as `actor`.
pub(super) fn refund_held(
    conn: &mut DbConnection,
    exception: &ExceptionRow,
    actor: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<Result<String, Unfit>> {
    if exception.kind != "implausible_paid_at" {
        return Ok(Err(Unfit::NotAHeldPayment));
    }
    let channel = exception.source.as_str();
    let Some(payment) = payments::find(conn, channel, &exception.reference)?.filter(|p| p.outcome == "held") else {
        return Ok(Err(Unfit::NotAHeldPayment));
    };
    let out_refund_no = crate::payments::refund_number(&payment.out_trade_no);
    if refunds::find(conn, &out_refund_no)?.is_some() {
        return Ok(Err(Unfit::RefundExists));
    }
    if !payments::release_held_to_refund(conn, channel, &payment.channel_txn_id)? {
        return Ok(Err(Unfit::NotAHeldPayment));
    }
    let reason = "the payment's date could not be true; refunded at the desk";
    refunds::insert(
        conn,
        &refunds::NewRefund {
            out_refund_no: &out_refund_no,
            channel,
            channel_txn_id: &payment.channel_txn_id,
            out_trade_no: &payment.out_trade_no,
            decision_no: &payment.decision_no,
            paid_fen: payment.amount_fen,
            amount_fen: payment.amount_fen,
            reason,
            status: "pending",
            requested_at: now,
            attempts: 0,
            next_attempt_at: now,
        },
    )?;
    let details = serde_json::json!({
        "channel": channel,
        "channel_txn_id": payment.channel_txn_id,
        "out_trade_no": payment.out_trade_no,
        "amount_fen": payment.amount_fen,
        "out_refund_no": out_refund_no,
        "reason": reason,
        "exception_id": exception.id,
    });
    audit::record(
        conn,
        &audit::NewAuditEntry {
            at: now,
            actor,
            action: "payment.refund_scheduled",
            decision_no: Some(&payment.decision_no),
            details: &details.to_string(),
        },
    )?;
    Ok(Ok(out_refund_no))
}
