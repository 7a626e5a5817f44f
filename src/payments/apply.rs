//! Applying a payment a channel reported — by notification, or found by querying the channel.
//! This is where "every fen lands exactly once" is decided:
//!
//! 1. The payment is checked against finepay's own order (number, channel, amount). A mismatch
//!    changes nothing and the channel is told to try again (its notification is refused).
//! 2. It is recorded under the channel's transaction id, once: a repeat, however many copies and
//!    in whatever order, finds it recorded and changes nothing.
//! 3. A payment the channel dates before its order was opened or after now (give or take the
//!    clock skew) cannot be true: it is recorded, held as an exception for a person, and neither
//!    pays nor prices anything.
//! 4. One conditional update marks the fine paid — only if it is unpaid, not void, and the
//!    channel dated the payment inside the QR window (a late notification of a timely payment is
//!    honoured). If that update finds nothing to change, the payment is refunded to its source.
//!
//! All three happen in one transaction, group-committed with other payments; the batch's orders
//! are marked paid together at its end, in the same transaction.

use crate::channels::{ChannelKind, ChannelPayment};
use crate::db::{Batch, BatchWriter, WriteError};
use crate::db::{DbConnection, DbPool, LostRace, audit, channel_orders, exceptions, fines, payments, refunds};
use crate::domain::text::{self, ControlChar};
use crate::domain::time::{Clock, Implausible, plausible_payment_time, utc};
use chrono::{DateTime, SubsecRound, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use std::sync::Arc;
use std::time::Duration;

/// How finepay learned of the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentSource {
    Notification,
    Query,
}

impl PaymentSource {
    fn as_str(self) -> &'static str {
        match self {
            PaymentSource::Notification => "notification",
            PaymentSource::Query => "query",
        }
    }
}

/// A payment as a channel reported it, already verified.
#[derive(Debug, Clone)]
pub struct ReportedPayment {
    pub channel: ChannelKind,
    pub payment: ChannelPayment,
    pub source: PaymentSource,
}

/// What recording a payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// It paid its fine; the payer's receipt. `others_open`: the fine still has orders open at
    /// other channels or in other flows, which nobody should pay now.
    Applied { receipt_no: String, decision_no: String, others_open: bool },
    /// It could not pay its fine and goes back to the payer.
    Refunding { out_refund_no: String, reason: &'static str },
    /// Its date cannot be true: recorded and raised as an exception, the fine untouched.
    Held { reason: &'static str },
    /// This transaction was recorded before; nothing changed.
    AlreadyKnown,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApplyError {
    #[error("no order {0} at this channel")]
    UnknownOrder(String),
    #[error("{field} {fault}")]
    Unstorable { field: &'static str, fault: ControlChar },
    #[error("order {out_trade_no} is for {expected} fen, the channel reports {reported}")]
    AmountMismatch { out_trade_no: String, expected: i64, reported: i64 },
    #[error("the payment could not be stored")]
    Database(#[source] Arc<diesel::result::Error>),
    #[error("the payment could not be stored")]
    Unavailable(#[from] WriteError),
    #[error("the system random source failed")]
    Random,
    #[error("the payment's audit details could not be written")]
    Encode(#[source] Arc<serde_json::Error>),
}

impl ApplyError {
    /// Whether the payment was refused for what it is (the channel's report does not fit the
    /// order), rather than not stored for now.
    pub fn is_refusal(&self) -> bool {
        matches!(self, ApplyError::UnknownOrder(_) | ApplyError::Unstorable { .. } | ApplyError::AmountMismatch { .. })
    }
}

impl From<diesel::result::Error> for ApplyError {
    fn from(e: diesel::result::Error) -> Self {
        ApplyError::Database(Arc::new(e))
    }
}

/// A payment recorded alone is tried again after any failure to store it (a lost race, a busy
/// database, a lock timeout): the channel's report is an answer finepay must keep, and each run is
/// a transaction of its own.
impl LostRace for ApplyError {
    fn lost_race(&self) -> bool {
        matches!(self, ApplyError::Database(_) | ApplyError::Random)
    }
}

pub(crate) type PaymentWriter = BatchWriter<PaymentBatch>;

pub(crate) fn start_writer(pool: &DbPool, clock: Arc<dyn Clock>, timeout: Duration) -> std::io::Result<PaymentWriter> {
    BatchWriter::start(pool, PaymentBatch { clock }, "payment", timeout)
}

/// Records `reported` and resolves once it is committed.
pub(crate) async fn record(writer: &PaymentWriter, reported: ReportedPayment) -> Result<Recorded, ApplyError> {
    let payment = &reported.payment;
    for (field, value) in [("out_trade_no", &payment.out_trade_no), ("channel_txn_id", &payment.channel_txn_id)] {
        text::storable(value).map_err(|fault| ApplyError::Unstorable { field, fault })?;
    }
    writer.submit(reported, |why| Err(ApplyError::Unavailable(why))).await
}

pub struct PaymentBatch {
    clock: Arc<dyn Clock>,
}

impl Batch for PaymentBatch {
    type Item = ReportedPayment;
    type Output = Result<Recorded, ApplyError>;

    fn run_batch(
        &mut self,
        conn: &mut DbConnection,
        items: &[ReportedPayment],
    ) -> Result<Vec<Self::Output>, diesel::result::Error> {
        let now = self.clock.now().trunc_subsecs(0);
        let mut outputs = Vec::with_capacity(items.len());
        for item in items {
            // Refusals are answers; only a database error aborts (and retries) the batch.
            outputs.push(match record_one(conn, item, now) {
                Err(e) if !e.is_refusal() => {
                    log::warn!("recording a payment failed; its batch is rolled back and run alone: {e}");
                    return Err(diesel::result::Error::RollbackTransaction);
                }
                other => other,
            });
        }
        let paid_orders: Vec<&str> = items
            .iter()
            .zip(&outputs)
            .filter(|(_, output)| {
                matches!(output, Ok(Recorded::Applied { .. } | Recorded::Refunding { .. } | Recorded::Held { .. }))
            })
            .map(|(item, _)| item.payment.out_trade_no.as_str())
            .collect();
        channel_orders::finish_paid(conn, &paid_orders, now.naive_utc())?;
        note_other_open_orders(conn, &mut outputs)?;
        Ok(outputs)
    }

    fn run_alone(&mut self, pool: &DbPool, conn: &mut DbConnection, item: &ReportedPayment) -> Self::Output {
        let now = self.clock.now().trunc_subsecs(0);
        pool.write_retrying(conn, |conn| {
            let recorded = record_one(conn, item, now)?;
            if !matches!(recorded, Recorded::AlreadyKnown) {
                channel_orders::finish_paid(conn, &[item.payment.out_trade_no.as_str()], now.naive_utc())?;
            }
            let mut outputs = [Ok(recorded)];
            note_other_open_orders(conn, &mut outputs)?;
            let [recorded] = outputs;
            recorded
        })
    }

    fn failed(&self, why: WriteError) -> Self::Output {
        Err(ApplyError::Unavailable(why))
    }
}

/// Marks the applied payments whose fine still has other orders open: one query for the batch,
/// after its orders were marked paid.
fn note_other_open_orders(
    conn: &mut DbConnection,
    outputs: &mut [Result<Recorded, ApplyError>],
) -> Result<(), diesel::result::Error> {
    let applied: Vec<&str> = outputs
        .iter()
        .filter_map(|output| match output {
            Ok(Recorded::Applied { decision_no, .. }) => Some(decision_no.as_str()),
            _ => None,
        })
        .collect();
    if applied.is_empty() {
        return Ok(());
    }
    let with_open = channel_orders::fines_with_open_orders(conn, &applied)?;
    for output in outputs.iter_mut() {
        if let Ok(Recorded::Applied { decision_no, others_open, .. }) = output {
            *others_open = with_open.binary_search(decision_no).is_ok();
        }
    }
    Ok(())
}

fn record_one(conn: &mut DbConnection, item: &ReportedPayment, now: DateTime<Utc>) -> Result<Recorded, ApplyError> {
    let payment = &item.payment;
    let channel = item.channel.as_str();
    let order = channel_orders::terms(conn, &payment.out_trade_no)?
        .filter(|order| order.channel == channel)
        .ok_or_else(|| ApplyError::UnknownOrder(payment.out_trade_no.clone()))?;
    if order.amount_fen != payment.amount.get() {
        return Err(ApplyError::AmountMismatch {
            out_trade_no: order.out_trade_no,
            expected: order.amount_fen,
            reported: payment.amount.get(),
        });
    }
    if let Err(implausible) = plausible_payment_time(payment.paid_at, utc(order.opened_at), now) {
        return hold(conn, item, &order, implausible, now);
    }
    let paid_at = payment.paid_at.naive_utc();
    let at = now.naive_utc();
    // Recorded as applied, the common case, so that it takes no second write; a payment that
    // cannot pay its fine is turned into a refund below, in the same transaction.
    let receipt_no = new_receipt_no().ok_or(ApplyError::Random)?;
    if !payments::insert_new(conn, &new_payment(item, &order, "applied", Some(&receipt_no), at))? {
        return Ok(Recorded::AlreadyKnown);
    }
    let actor = format!("channel:{channel}");
    let facts = PaymentFacts::of(item, &order);
    if fines::mark_paid_in_window(conn, &order.decision_no, paid_at, channel, at)? {
        let details = audit_details(&Applied { payment: &facts, receipt_no: &receipt_no })?;
        audit::record(
            conn,
            &audit::NewAuditEntry {
                at,
                actor: &actor,
                action: "fine.paid",
                decision_no: Some(&order.decision_no),
                details: &details,
            },
        )?;
        return Ok(Recorded::Applied { receipt_no, decision_no: order.decision_no, others_open: false });
    }
    payments::mark_refund(conn, channel, &payment.channel_txn_id)?;
    let fine = fines::find(conn, &order.decision_no)?;
    let reason = match fine.as_ref().map(|f| f.status.as_str()) {
        Some("paid") => "the fine was already paid",
        Some("void") => "the fine was void",
        _ => "paid after the QR window had ended",
    };
    let out_refund_no = refund_number(&order.out_trade_no);
    refunds::insert(
        conn,
        &refunds::NewRefund {
            out_refund_no: &out_refund_no,
            channel,
            channel_txn_id: &payment.channel_txn_id,
            out_trade_no: &order.out_trade_no,
            decision_no: &order.decision_no,
            paid_fen: payment.amount.get(),
            amount_fen: payment.amount.get(),
            reason,
            status: "pending",
            requested_at: at,
            attempts: 0,
            next_attempt_at: at,
        },
    )?;
    let details = audit_details(&RefundScheduled { payment: &facts, out_refund_no: &out_refund_no, reason })?;
    audit::record(
        conn,
        &audit::NewAuditEntry {
            at,
            actor: &actor,
            action: "payment.refund_scheduled",
            decision_no: Some(&order.decision_no),
            details: &details,
        },
    )?;
    Ok(Recorded::Refunding { out_refund_no, reason })
}

/// Records a payment whose date cannot be true, and raises it for a person: the channel holds the
/// payer's money, so it is kept, but nothing is paid or priced by a date nobody can believe.
fn hold(
    conn: &mut DbConnection,
    item: &ReportedPayment,
    order: &channel_orders::OrderTerms,
    implausible: Implausible,
    now: DateTime<Utc>,
) -> Result<Recorded, ApplyError> {
    let payment = &item.payment;
    let channel = item.channel.as_str();
    let at = now.naive_utc();
    if !payments::insert_new(conn, &new_payment(item, order, "held", None, at))? {
        return Ok(Recorded::AlreadyKnown);
    }
    let reason = implausible.as_str();
    let facts = PaymentFacts::of(item, order);
    let details = audit_details(&Held { payment: &facts, why: format!("the channel dates the payment {reason}") })?;
    exceptions::raise(
        conn,
        &exceptions::NewException {
            kind: "implausible_paid_at",
            source: channel,
            reference: &payment.channel_txn_id,
            decision_no: Some(&order.decision_no),
            statement_date: None,
            amount_fen: Some(payment.amount.get()),
            expected_fen: Some(order.amount_fen),
            details: &details,
            raised_at: at,
        },
    )?;
    audit::record(
        conn,
        &audit::NewAuditEntry {
            at,
            actor: &format!("channel:{channel}"),
            action: "payment.held",
            decision_no: Some(&order.decision_no),
            details: &details,
        },
    )?;
    Ok(Recorded::Held { reason })
}

fn audit_details(details: &impl serde::Serialize) -> Result<String, ApplyError> {
    serde_json::to_string(details).map_err(|e| ApplyError::Encode(Arc::new(e)))
}

/// The payment's row, in the state `outcome`.
fn new_payment<'a>(
    item: &'a ReportedPayment,
    order: &'a channel_orders::OrderTerms,
    outcome: &'a str,
    receipt_no: Option<&'a str>,
    received_at: chrono::NaiveDateTime,
) -> payments::NewPayment<'a> {
    payments::NewPayment {
        channel: item.channel.as_str(),
        channel_txn_id: &item.payment.channel_txn_id,
        out_trade_no: &order.out_trade_no,
        decision_no: &order.decision_no,
        amount_fen: item.payment.amount.get(),
        paid_at: item.payment.paid_at.naive_utc(),
        received_at,
        source: item.source.as_str(),
        outcome,
        receipt_no,
    }
}

impl<'a> PaymentFacts<'a> {
    fn of(item: &'a ReportedPayment, order: &'a channel_orders::OrderTerms) -> Self {
        PaymentFacts {
            channel: item.channel.as_str(),
            channel_txn_id: &item.payment.channel_txn_id,
            out_trade_no: &order.out_trade_no,
            amount_fen: item.payment.amount.get(),
            paid_at: crate::domain::time::rfc3339(item.payment.paid_at),
            source: item.source.as_str(),
        }
    }
}

/// The audit details of a recorded payment.
#[derive(serde::Serialize)]
struct PaymentFacts<'a> {
    channel: &'a str,
    channel_txn_id: &'a str,
    out_trade_no: &'a str,
    amount_fen: i64,
    paid_at: String,
    source: &'a str,
}

#[derive(serde::Serialize)]
struct Applied<'a> {
    payment: &'a PaymentFacts<'a>,
    receipt_no: &'a str,
}

#[derive(serde::Serialize)]
struct Held<'a> {
    payment: &'a PaymentFacts<'a>,
    why: String,
}

#[derive(serde::Serialize)]
struct RefundScheduled<'a> {
    payment: &'a PaymentFacts<'a>,
    out_refund_no: &'a str,
    reason: &'a str,
}

/// A payment's refund number: derived from its order (each order is paid at most once), so every
/// attempt, on any instance, asks the channel for the same refund. Letters and digits only, as
/// UnionPay requires.
pub(crate) fn refund_number(out_trade_no: &str) -> String {
    format!("RF{out_trade_no}")
}

/// A receipt number: 20 characters of base32 from 100 random bits, so receipts cannot be
/// enumerated. It is stored with the payment; nothing needs to derive it again.
fn new_receipt_no() -> Option<String> {
    let mut bytes = [0u8; 15];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(data_encoding::BASE32_NOPAD.encode(&bytes)[..20].to_owned())
}

#[cfg(test)]
mod tests;
