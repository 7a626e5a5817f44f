//! A fine's `payments` as the officer API lists them: every payment ever recorded for it, by QR
//! channel or at a bank, oldest first, with what became of it — `applied` (it paid the fine),
//! `refunded` or `refund_pending` (a second payment, or one for a void fine, going back to its
//! source), or `exception` (a bank payment the bureau's desk must return or match by hand).
//! A bank entry reported twice (statement and real-time post) is one payment; a reversal is not
//! a payment, and the entry it cancels counts as refunded.

use crate::bank::Outcome;
use crate::db::{DbConnection, bank_payments, payments, refunds};
use crate::domain::time::{rfc3339, utc};
use chrono::NaiveDateTime;
use diesel::QueryResult;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PaymentView {
    /// `wechat`, `alipay`, `unionpay` or `bank`.
    pub channel: String,
    /// The channel's transaction id; a bank payment's `bank_serial` or statement reference.
    pub channel_txn_id: String,
    pub amount_fen: i64,
    pub paid_at: String,
    pub outcome: &'static str,
}

/// The fine's payments, oldest first.
pub(crate) fn payments_of(conn: &mut DbConnection, decision_no: &str) -> QueryResult<Vec<PaymentView>> {
    let refunds = refunds::for_fine(conn, decision_no)?;
    let mut listed: Vec<(NaiveDateTime, PaymentView)> = payments::for_fine(conn, decision_no)?
        .into_iter()
        .map(|payment| {
            let refund =
                refunds.iter().find(|r| r.channel == payment.channel && r.channel_txn_id == payment.channel_txn_id);
            let outcome = match (payment.outcome.as_str(), refund.map(|r| r.status.as_str())) {
                ("applied", _) => "applied",
                ("held", _) => "exception",
                (_, Some("succeeded")) => "refunded",
                (_, Some("pending") | None) => "refund_pending",
                _ => "exception",
            };
            let view = PaymentView {
                channel: payment.channel,
                channel_txn_id: payment.channel_txn_id,
                amount_fen: payment.amount_fen,
                paid_at: rfc3339(utc(payment.paid_at)),
                outcome,
            };
            (payment.paid_at, view)
        })
        .collect();
    for entry in bank_payments::for_fine(conn, decision_no)? {
        let outcome = match Outcome::parse(&entry.outcome) {
            _ if entry.reversed_by.is_some() => "refunded",
            Some(Outcome::Settled) => "applied",
            Some(Outcome::AlreadyKnown | Outcome::Reversed) => continue,
            _ => "exception",
        };
        let view = PaymentView {
            channel: "bank".into(),
            channel_txn_id: entry.reference,
            amount_fen: entry.amount_fen,
            paid_at: rfc3339(utc(entry.paid_at)),
            outcome,
        };
        listed.push((entry.paid_at, view));
    }
    listed.sort_by_key(|(paid_at, _)| *paid_at);
    Ok(listed.into_iter().map(|(_, view)| view).collect())
}
