//! A payment a bank posts in real time (`POST /bank/v1/payments`): checked, recorded once under
//! the bank's serial by the settlement rules (`settle.rs`), and answered as first record, repeat,
//! or a reuse of the serial for another payment. A payment that cannot settle its fine is still
//! recorded, as an exception for the bank to return; the caller reads the outcome off the row.

use super::settle::{self, BankReport, Outcome, Recorded, Source};
use crate::db::bank_payments::{self, BankPaymentRow};
use crate::db::channel_orders::{self, ChannelOrderRow};
use crate::db::{DbConnection, DbPool};
use crate::domain::DecisionNo;
use crate::domain::decision_no::DecisionNoError;
use crate::domain::surcharge::SurchargeRule;
use crate::domain::time::{CLOCK_SKEW, Implausible, shanghai_date};
use chrono::{DateTime, Utc};

/// A payment as the bank posts it.
pub struct PostedPayment<'a> {
    pub bank_code: &'a str,
    pub bank_serial: &'a str,
    pub decision_no: &'a str,
    pub amount_fen: i64,
    pub paid_at: DateTime<Utc>,
    /// Paid through the bank's online banking rather than at a counter.
    pub online: bool,
}

/// What recording a posted payment came to.
#[derive(Debug)]
pub struct PostedOutcome {
    /// Recorded now (false: a repeat of the same serial and payment).
    pub first_time: bool,
    /// The payment as recorded; its `outcome` says whether it settled the fine.
    pub row: BankPaymentRow,
    /// The fine's channel orders, when this payment settled a fine whose QR code was live: they
    /// are to be closed, so that the payer cannot pay it twice.
    pub orders_to_close: Vec<ChannelOrderRow>,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("bank_serial must be 1 to 64 letters, digits or -_./")]
    BadSerial,
    #[error("{0}")]
    BadDecisionNumber(#[from] DecisionNoError),
    #[error("amount_fen must be a positive number of fen")]
    NotPositive,
    #[error("paid_at lies {}", .0.as_str())]
    ImplausiblePaidAt(Implausible),
    #[error("this bank_serial was recorded for a different payment")]
    SerialReused { recorded: Box<BankPaymentRow> },
    #[error("a recorded bank payment is missing")]
    Missing,
    #[error("the database failed")]
    Database(#[from] diesel::result::Error),
}

impl crate::db::LostRace for PaymentError {
    fn lost_race(&self) -> bool {
        matches!(self, PaymentError::Database(e) if e.lost_race())
    }
}

/// A bank's serial: what its own books call the payment.
fn valid_serial(serial: &str) -> bool {
    (1..=64).contains(&serial.len()) && serial.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
}

/// Records `payment` once under its bank's serial, as `actor`, at `now`.
pub fn record(
    pool: &DbPool,
    conn: &mut DbConnection,
    rule: &SurchargeRule,
    payment: &PostedPayment<'_>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<PostedOutcome, PaymentError> {
    if !valid_serial(payment.bank_serial) {
        return Err(PaymentError::BadSerial);
    }
    let decision_no = DecisionNo::parse(payment.decision_no)?;
    if payment.amount_fen <= 0 {
        return Err(PaymentError::NotPositive);
    }
    // Checked here too, so that a date in the future is refused without a database read; a date
    // before the fine's issue is found where the fine is read.
    if payment.paid_at > now + CLOCK_SKEW {
        return Err(PaymentError::ImplausiblePaidAt(Implausible::InTheFuture));
    }
    let report = BankReport {
        bank_code: payment.bank_code,
        reference: payment.bank_serial,
        source: Source::Api { online: payment.online },
        decision_no: Some(decision_no.as_str()),
        named_several: Vec::new(),
        amount_fen: payment.amount_fen,
        paid_at: payment.paid_at,
        paid_at_exact: true,
        paid_on: shanghai_date(payment.paid_at),
        transaction_ref: None,
        reversal: false,
        remittance: &[],
    };
    // Two posts of one serial at once (PostgreSQL): the loser of the insert runs again, finds the
    // winner's row and answers as for a repeat.
    let (recorded, row) = pool.write_retrying(conn, |conn| {
        let recorded = settle::record(conn, rule, &report, actor, now.naive_utc())?;
        let row = bank_payments::find(conn, payment.bank_code, payment.bank_serial)?;
        Ok::<_, PaymentError>((recorded, row))
    })?;
    if let Recorded::Refused(implausible) = recorded {
        return Err(PaymentError::ImplausiblePaidAt(implausible));
    }
    let row = row.ok_or(PaymentError::Missing)?;
    match recorded {
        Recorded::New { outcome, .. } => {
            let orders_to_close = if outcome == Outcome::Settled {
                channel_orders::for_fine(conn, decision_no.as_str())?
            } else {
                Vec::new()
            };
            Ok(PostedOutcome { first_time: true, row, orders_to_close })
        }
        Recorded::Repeat(_) if same_payment(&row, &report) => {
            Ok(PostedOutcome { first_time: false, row, orders_to_close: Vec::new() })
        }
        Recorded::Repeat(_) => Err(PaymentError::SerialReused { recorded: Box::new(row) }),
        Recorded::Refused(implausible) => Err(PaymentError::ImplausiblePaidAt(implausible)),
    }
}

fn same_payment(row: &BankPaymentRow, report: &BankReport<'_>) -> bool {
    row.amount_fen == report.amount_fen
        && row.paid_at == report.paid_at.naive_utc()
        && (row.decision_no.as_deref() == report.decision_no || row.outcome == Outcome::Unmatched.as_str())
}
