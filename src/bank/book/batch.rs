//! A statement batch's book: the records and fines its lines name are read up front with a few
//! `IN (…)` queries, the settlement rules (`settle.rs`) run line by line against that set — so a
//! line sees what earlier lines of the batch did — and what they add is written at the end with
//! multi-row inserts. The updates that settle fines are gathered too and run together — on
//! PostgreSQL as one statement, each fine still settled by its own conditional row update — before
//! anything else changes a fine and at the end. Until then a settlement is taken as won, which on
//! SQLite (one writer at a time) it is; on PostgreSQL another writer may have changed the fine
//! since the batch read it, and then the batch fails with [`FineChangedMeanwhile`], to run again with each
//! update made as it is decided and its row count the answer, as for a single payment. The other
//! conditional updates (pairing, cancelling a stored record, reopening a fine) are rare and run
//! at once.

use super::Book;
use crate::db::DbConnection;
use crate::db::audit::{self, NewAuditEntry};
use crate::db::bank_payments::{self, BankPaymentRow, NewBankPayment};
use crate::db::exceptions::{self, NewException};
use crate::db::fines::{self, BankFacts};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::QueryResult;
use std::collections::HashMap;

/// One bank's records for one batch, inside its write transaction. Anything not read up front is
/// read when first asked for, so the prefetch decides only the speed, never an answer.
pub(crate) struct BatchBook<'c> {
    conn: &'c mut DbConnection,
    bank_code: &'c str,
    /// Every record read or made, the made ones flagged.
    rows: Vec<Record>,
    /// Index into `rows` by reference; `None`: looked up, not there.
    by_reference: HashMap<String, Option<usize>>,
    /// The fines (and transaction references) whose records of this bank are all in `rows`:
    /// the stored ones oldest first, then the batch's own in line order.
    by_fine: HashMap<String, Vec<usize>>,
    by_transaction: HashMap<String, Vec<usize>>,
    /// Fines as read, with the batch's settlements and reopenings applied; `None`: no such fine.
    fines: HashMap<String, Option<BankFacts>>,
    /// `None` when each settlement is written as it is decided.
    gathered: Option<Gathered>,
    audit: Vec<AuditEntry>,
    exceptions: Vec<Exception>,
}

/// Settlements taken as won and not written yet: (fine, paid at), all written at `at`.
#[derive(Default)]
struct Gathered {
    fines: Vec<(String, NaiveDateTime)>,
    at: Option<NaiveDateTime>,
}

/// Another writer changed a fine this batch settles, between the batch's read and its update.
#[derive(Debug, thiserror::Error)]
#[error("a fine changed while its statement batch was recorded; the batch runs again, settling as it decides")]
pub(crate) struct FineChangedMeanwhile;

/// Whether the batch failed on [`FineChangedMeanwhile`].
pub(crate) fn is_lost_race(error: &diesel::result::Error) -> bool {
    matches!(error, diesel::result::Error::QueryBuilderError(inner) if inner.is::<FineChangedMeanwhile>())
}

struct Record {
    row: BankPaymentRow,
    /// Made by this batch: inserted at the end, changed in memory until then.
    new: bool,
}

impl<'c> BatchBook<'c> {
    /// A book for one batch of `bank_code`'s lines; `settle_at_once` after a [`FineChangedMeanwhile`].
    pub(crate) fn new(conn: &'c mut DbConnection, bank_code: &'c str, settle_at_once: bool) -> Self {
        BatchBook {
            conn,
            bank_code,
            rows: Vec::new(),
            by_reference: HashMap::new(),
            by_fine: HashMap::new(),
            by_transaction: HashMap::new(),
            fines: HashMap::new(),
            gathered: (!settle_at_once).then(Gathered::default),
            audit: Vec::new(),
            exceptions: Vec::new(),
        }
    }

    /// Reads in a few queries what the batch's lines will ask for: the records under their
    /// references, the fines they name with this bank's records of them, and the records under
    /// the transaction references their reversals cancel.
    pub(crate) fn prefetch(
        &mut self,
        references: &[&str],
        decision_nos: &[&str],
        reversed: &[&str],
    ) -> QueryResult<()> {
        for row in bank_payments::of_bank_with_references(self.conn, self.bank_code, references)? {
            self.remember(row);
        }
        for reference in references {
            if !self.by_reference.contains_key(*reference) {
                self.by_reference.insert((*reference).to_owned(), None);
            }
        }
        for fine in fines::bank_facts_of(self.conn, decision_nos)? {
            self.fines.insert(fine.decision_no.clone(), Some(fine));
        }
        for no in decision_nos {
            if !self.fines.contains_key(*no) {
                self.fines.insert((*no).to_owned(), None);
            }
            self.by_fine.insert((*no).to_owned(), Vec::new());
        }
        for row in bank_payments::of_bank_for_fines(self.conn, self.bank_code, decision_nos)? {
            let fine = row.decision_no.clone();
            let index = self.remember(row);
            if let Some(list) = fine.and_then(|no| self.by_fine.get_mut(&no)) {
                list.push(index);
            }
        }
        for transaction in reversed {
            self.by_transaction.insert((*transaction).to_owned(), Vec::new());
        }
        for row in bank_payments::of_bank_with_transactions(self.conn, self.bank_code, reversed)? {
            let transaction = row.transaction_ref.clone();
            let index = self.remember(row);
            if let Some(list) = transaction.and_then(|t| self.by_transaction.get_mut(&t)) {
                list.push(index);
            }
        }
        Ok(())
    }

    /// Writes what the batch made: its settlements, records, audit entries and exceptions.
    pub(crate) fn flush(mut self) -> QueryResult<()> {
        self.settle_gathered()?;
        let rows: Vec<NewBankPayment<'_>> =
            self.rows.iter().filter(|r| r.new).map(|r| NewBankPayment::of(&r.row)).collect();
        bank_payments::insert_many(self.conn, &rows)?;
        let entries: Vec<NewAuditEntry<'_>> = self.audit.iter().map(AuditEntry::as_new).collect();
        audit::record_many(self.conn, &entries)?;
        let raised: Vec<NewException<'_>> = self.exceptions.iter().map(Exception::as_new).collect();
        exceptions::raise_many(self.conn, &raised)
    }

    /// Runs the settlements gathered so far; fails with [`FineChangedMeanwhile`] unless each one won.
    fn settle_gathered(&mut self) -> QueryResult<()> {
        let Some(gathered) = self.gathered.as_mut() else { return Ok(()) };
        let Some(at) = gathered.at.take() else { return Ok(()) };
        let taken = std::mem::take(&mut gathered.fines);
        let fines: Vec<(&str, NaiveDateTime)> = taken.iter().map(|(no, paid_at)| (no.as_str(), *paid_at)).collect();
        // A fine is gathered at most once: once settled it reads as paid, and a reopening runs
        // what was gathered first.
        let settled = fines::settle_many_at_bank(self.conn, &fines, at)?;
        if settled.len() != fines.len() {
            return Err(diesel::result::Error::QueryBuilderError(Box::new(FineChangedMeanwhile)));
        }
        Ok(())
    }

    /// The connection underneath, for a test to change what the book read behind its back.
    #[cfg(test)]
    pub(crate) fn connection(&mut self) -> &mut DbConnection {
        self.conn
    }

    /// Keeps a stored record (once), returning its index.
    fn remember(&mut self, row: BankPaymentRow) -> usize {
        if let Some(Some(index)) = self.by_reference.get(&row.reference) {
            return *index;
        }
        let index = self.rows.len();
        self.by_reference.insert(row.reference.clone(), Some(index));
        self.rows.push(Record { row, new: false });
        index
    }

    /// The index of the record under `reference`, read if the batch has not seen it.
    fn locate(&mut self, reference: &str) -> QueryResult<Option<usize>> {
        if let Some(known) = self.by_reference.get(reference) {
            return Ok(*known);
        }
        let found = bank_payments::find(self.conn, self.bank_code, reference)?.map(|row| self.remember(row));
        if found.is_none() {
            self.by_reference.insert(reference.to_owned(), None);
        }
        Ok(found)
    }

    fn rows_at(&self, indices: &[usize]) -> Vec<BankPaymentRow> {
        indices.iter().filter_map(|&i| self.rows.get(i)).map(|r| r.row.clone()).collect()
    }

    /// The batch's own records that `matches`, in line order: what the database cannot return yet.
    fn made_here(&self, matches: impl Fn(&BankPaymentRow) -> bool) -> Vec<usize> {
        self.rows.iter().enumerate().filter(|(_, r)| r.new && matches(&r.row)).map(|(i, _)| i).collect()
    }

    /// After a conditional update of a stored record lost to another writer: its state now.
    fn reread(&mut self, index: usize, reference: &str) -> QueryResult<()> {
        if let (Some(row), Some(record)) =
            (bank_payments::find(self.conn, self.bank_code, reference)?, self.rows.get_mut(index))
        {
            record.row = row;
        }
        Ok(())
    }

    /// Sets a field of the record at `index` if it is still empty: in memory for the batch's own
    /// records, else by the conditional `update`, whose answer is kept.
    fn set_once(
        &mut self,
        index: usize,
        reference: &str,
        value: &str,
        field: fn(&mut BankPaymentRow) -> &mut Option<String>,
        update: fn(&mut DbConnection, &str, &str, &str) -> QueryResult<bool>,
    ) -> QueryResult<bool> {
        let Some(record) = self.rows.get_mut(index) else { return Ok(false) };
        let new = record.new;
        if field(&mut record.row).is_some() {
            return Ok(false);
        }
        if !new && !update(self.conn, self.bank_code, reference, value)? {
            self.reread(index, reference)?;
            return Ok(false);
        }
        if let Some(record) = self.rows.get_mut(index) {
            *field(&mut record.row) = Some(value.to_owned());
        }
        Ok(true)
    }

    /// The fine's state after this batch's conditional update of it: `applied` when the update
    /// won; otherwise forgotten, to be read again when next asked for.
    fn fine_updated(&mut self, decision_no: &str, applied: Option<(&str, Option<&str>)>) {
        match applied {
            Some((status, channel)) => {
                if let Some(Some(fine)) = self.fines.get_mut(decision_no) {
                    fine.status = status.to_owned();
                    fine.paid_channel = channel.map(str::to_owned);
                }
            }
            None => {
                self.fines.remove(decision_no);
            }
        }
    }
}

impl Book for BatchBook<'_> {
    fn find(&mut self, reference: &str) -> QueryResult<Option<BankPaymentRow>> {
        let index = self.locate(reference)?;
        Ok(index.and_then(|i| self.rows.get(i)).map(|r| r.row.clone()))
    }

    fn fine(&mut self, decision_no: &str) -> QueryResult<Option<BankFacts>> {
        if let Some(known) = self.fines.get(decision_no) {
            return Ok(known.clone());
        }
        let fine = fines::bank_facts(self.conn, decision_no)?;
        self.fines.insert(decision_no.to_owned(), fine.clone());
        Ok(fine)
    }

    fn for_fine(&mut self, decision_no: &str) -> QueryResult<Vec<BankPaymentRow>> {
        if !self.by_fine.contains_key(decision_no) {
            let stored = bank_payments::of_bank_for_fine(self.conn, self.bank_code, decision_no)?;
            let mut list: Vec<usize> = stored.into_iter().map(|row| self.remember(row)).collect();
            list.extend(self.made_here(|row| row.decision_no.as_deref() == Some(decision_no)));
            self.by_fine.insert(decision_no.to_owned(), list);
        }
        Ok(self.by_fine.get(decision_no).map(|list| self.rows_at(list)).unwrap_or_default())
    }

    fn with_transaction(&mut self, transaction_ref: &str) -> QueryResult<Vec<BankPaymentRow>> {
        if !self.by_transaction.contains_key(transaction_ref) {
            let stored = bank_payments::of_bank_with_transaction(self.conn, self.bank_code, transaction_ref)?;
            let mut list: Vec<usize> = stored.into_iter().map(|row| self.remember(row)).collect();
            list.extend(self.made_here(|row| row.transaction_ref.as_deref() == Some(transaction_ref)));
            self.by_transaction.insert(transaction_ref.to_owned(), list);
        }
        Ok(self.by_transaction.get(transaction_ref).map(|list| self.rows_at(list)).unwrap_or_default())
    }

    fn claim_counterpart(&mut self, reference: &str, counterpart: &str) -> QueryResult<bool> {
        let Some(index) = self.locate(reference)? else { return Ok(false) };
        self.set_once(index, reference, counterpart, |row| &mut row.counterpart, bank_payments::claim_counterpart)
    }

    fn mark_reversed(&mut self, reference: &str, reversal_ref: &str) -> QueryResult<Option<(String, Option<String>)>> {
        let Some(index) = self.locate(reference)? else { return Ok(None) };
        let Some(record) = self.rows.get_mut(index) else { return Ok(None) };
        if record.row.reversed_by.is_some() {
            return Ok(None);
        }
        if !record.new {
            // Stored before this batch: its outcome as it is now, which a person may have changed
            // since the batch read it (a line matched to a fine at the desk).
            match bank_payments::mark_reversed(self.conn, self.bank_code, reference, reversal_ref)? {
                Some((outcome, decision_no)) => {
                    record.row.outcome = outcome;
                    record.row.decision_no = decision_no;
                }
                None => {
                    self.reread(index, reference)?;
                    return Ok(None);
                }
            }
        }
        record.row.reversed_by = Some(reversal_ref.to_owned());
        Ok(Some((record.row.outcome.clone(), record.row.decision_no.clone())))
    }

    fn settle_fine(&mut self, decision_no: &str, paid_at: NaiveDateTime, now: NaiveDateTime) -> QueryResult<bool> {
        if self.gathered.as_ref().is_some_and(|g| g.at.is_some_and(|at| at != now)) {
            self.settle_gathered()?;
        }
        if let Some(gathered) = &mut self.gathered {
            gathered.fines.push((decision_no.to_owned(), paid_at));
            gathered.at = Some(now);
            self.fine_updated(decision_no, Some(("paid", Some("bank"))));
            return Ok(true);
        }
        let won = fines::settle_at_bank(self.conn, decision_no, paid_at, now)?;
        self.fine_updated(decision_no, won.then_some(("paid", Some("bank"))));
        Ok(won)
    }

    fn reopen_fine(&mut self, decision_no: &str, now: NaiveDateTime) -> QueryResult<bool> {
        self.settle_gathered()?;
        let won = fines::reopen_at_bank(self.conn, decision_no, now)?;
        self.fine_updated(decision_no, won.then_some(("payable_at_bank", None)));
        Ok(won)
    }

    fn insert(&mut self, row: &NewBankPayment<'_>) -> QueryResult<()> {
        let index = self.rows.len();
        self.by_reference.insert(row.reference.to_owned(), Some(index));
        if let Some(list) = row.decision_no.and_then(|no| self.by_fine.get_mut(no)) {
            list.push(index);
        }
        if let Some(list) = row.transaction_ref.and_then(|t| self.by_transaction.get_mut(t)) {
            list.push(index);
        }
        self.rows.push(Record { row: BankPaymentRow::from(row), new: true });
        Ok(())
    }

    fn audit(&mut self, entry: &NewAuditEntry<'_>) -> QueryResult<()> {
        self.audit.push(AuditEntry::from(entry));
        Ok(())
    }

    fn raise(&mut self, exception: &NewException<'_>) -> QueryResult<()> {
        self.exceptions.push(Exception::from(exception));
        Ok(())
    }
}

/// An audit entry held until the batch's end.
struct AuditEntry {
    at: NaiveDateTime,
    actor: String,
    action: String,
    decision_no: Option<String>,
    details: String,
}

impl AuditEntry {
    fn from(entry: &NewAuditEntry<'_>) -> Self {
        AuditEntry {
            at: entry.at,
            actor: entry.actor.to_owned(),
            action: entry.action.to_owned(),
            decision_no: entry.decision_no.map(str::to_owned),
            details: entry.details.to_owned(),
        }
    }

    fn as_new(&self) -> NewAuditEntry<'_> {
        NewAuditEntry {
            at: self.at,
            actor: &self.actor,
            action: &self.action,
            decision_no: self.decision_no.as_deref(),
            details: &self.details,
        }
    }
}

/// An exception held until the batch's end.
struct Exception {
    kind: String,
    source: String,
    reference: String,
    decision_no: Option<String>,
    statement_date: Option<NaiveDate>,
    amount_fen: Option<i64>,
    expected_fen: Option<i64>,
    details: String,
    raised_at: NaiveDateTime,
}

impl Exception {
    fn from(e: &NewException<'_>) -> Self {
        Exception {
            kind: e.kind.to_owned(),
            source: e.source.to_owned(),
            reference: e.reference.to_owned(),
            decision_no: e.decision_no.map(str::to_owned),
            statement_date: e.statement_date,
            amount_fen: e.amount_fen,
            expected_fen: e.expected_fen,
            details: e.details.to_owned(),
            raised_at: e.raised_at,
        }
    }

    fn as_new(&self) -> NewException<'_> {
        NewException {
            kind: &self.kind,
            source: &self.source,
            reference: &self.reference,
            decision_no: self.decision_no.as_deref(),
            statement_date: self.statement_date,
            amount_fen: self.amount_fen,
            expected_fen: self.expected_fen,
            details: &self.details,
            raised_at: self.raised_at,
        }
    }
}
