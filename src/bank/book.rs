//! The records the settlement rules (`settle.rs`) read and change, behind one small trait, so its rules are
//! written once for both ways in: a payment posted through the bank API goes straight to the
//! database ([`DirectBook`]); a statement batch works on a set read up front and written at its
//! end ([`batch::BatchBook`]), which is how an import of a million lines stays fast.

pub(super) mod batch;

use crate::db::DbConnection;
use crate::db::audit::{self, NewAuditEntry};
use crate::db::bank_payments::{self, BankPaymentRow, NewBankPayment};
use crate::db::exceptions::{self, NewException};
use crate::db::fines::{self, BankFacts};
use chrono::NaiveDateTime;
use diesel::QueryResult;

/// One bank's payment records and the fines they name, inside the caller's write transaction.
/// Every change that can lose to another writer is a conditional update and says whether it won.
pub(super) trait Book {
    /// This bank's record under `reference`.
    fn find(&mut self, reference: &str) -> QueryResult<Option<BankPaymentRow>>;
    /// What settling needs of the fine.
    fn fine(&mut self, decision_no: &str) -> QueryResult<Option<BankFacts>>;
    /// This bank's records of the fine, oldest first.
    fn for_fine(&mut self, decision_no: &str) -> QueryResult<Vec<BankPaymentRow>>;
    /// This bank's records carrying `transaction_ref`, oldest first.
    fn with_transaction(&mut self, transaction_ref: &str) -> QueryResult<Vec<BankPaymentRow>>;
    /// Names `counterpart` as the other record of `reference`'s payment, if it has none yet.
    fn claim_counterpart(&mut self, reference: &str, counterpart: &str) -> QueryResult<bool>;
    /// Marks `reference` cancelled by `reversal_ref`, if nothing cancelled it before: its outcome
    /// and fine at that moment, or `None` when it was cancelled already.
    fn mark_reversed(&mut self, reference: &str, reversal_ref: &str) -> QueryResult<Option<(String, Option<String>)>>;
    /// The one conditional update that settles a fine: false when it was no longer unpaid.
    fn settle_fine(&mut self, decision_no: &str, paid_at: NaiveDateTime, now: NaiveDateTime) -> QueryResult<bool>;
    /// Makes a fine a bank paid payable again: false when a bank had not paid it.
    fn reopen_fine(&mut self, decision_no: &str, now: NaiveDateTime) -> QueryResult<bool>;
    /// Stores a new record (its key was looked up in the same transaction).
    fn insert(&mut self, row: &NewBankPayment<'_>) -> QueryResult<()>;
    fn audit(&mut self, entry: &NewAuditEntry<'_>) -> QueryResult<()>;
    /// Raises the exception unless it was raised before.
    fn raise(&mut self, exception: &NewException<'_>) -> QueryResult<()>;
}

/// A bank's records read and written statement by statement: one payment at a time.
pub(super) struct DirectBook<'c> {
    conn: &'c mut DbConnection,
    bank_code: &'c str,
}

impl<'c> DirectBook<'c> {
    pub(super) fn new(conn: &'c mut DbConnection, bank_code: &'c str) -> Self {
        DirectBook { conn, bank_code }
    }
}

impl Book for DirectBook<'_> {
    fn find(&mut self, reference: &str) -> QueryResult<Option<BankPaymentRow>> {
        bank_payments::find(self.conn, self.bank_code, reference)
    }

    fn fine(&mut self, decision_no: &str) -> QueryResult<Option<BankFacts>> {
        fines::bank_facts(self.conn, decision_no)
    }

    fn for_fine(&mut self, decision_no: &str) -> QueryResult<Vec<BankPaymentRow>> {
        bank_payments::of_bank_for_fine(self.conn, self.bank_code, decision_no)
    }

    fn with_transaction(&mut self, transaction_ref: &str) -> QueryResult<Vec<BankPaymentRow>> {
        bank_payments::of_bank_with_transaction(self.conn, self.bank_code, transaction_ref)
    }

    fn claim_counterpart(&mut self, reference: &str, counterpart: &str) -> QueryResult<bool> {
        bank_payments::claim_counterpart(self.conn, self.bank_code, reference, counterpart)
    }

    fn mark_reversed(&mut self, reference: &str, reversal_ref: &str) -> QueryResult<Option<(String, Option<String>)>> {
        bank_payments::mark_reversed(self.conn, self.bank_code, reference, reversal_ref)
    }

    fn settle_fine(&mut self, decision_no: &str, paid_at: NaiveDateTime, now: NaiveDateTime) -> QueryResult<bool> {
        fines::settle_at_bank(self.conn, decision_no, paid_at, now)
    }

    fn reopen_fine(&mut self, decision_no: &str, now: NaiveDateTime) -> QueryResult<bool> {
        fines::reopen_at_bank(self.conn, decision_no, now)
    }

    fn insert(&mut self, row: &NewBankPayment<'_>) -> QueryResult<()> {
        bank_payments::insert(self.conn, row)
    }

    fn audit(&mut self, entry: &NewAuditEntry<'_>) -> QueryResult<()> {
        audit::record(self.conn, entry)
    }

    fn raise(&mut self, exception: &NewException<'_>) -> QueryResult<()> {
        exceptions::raise(self.conn, exception).map(|_| ())
    }
}
