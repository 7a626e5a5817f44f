//! `bank_payments`: every payment a bank reported, once by (bank, reference) — the bank's serial
//! for a real-time post, its entry reference for a statement line — with the state it ended in.
//! A payment the bank both posted and listed on its statement is two rows naming each other.

use super::DbConnection;
use super::schema::bank_payments;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = bank_payments)]
pub struct BankPaymentRow {
    pub bank_code: String,
    pub reference: String,
    pub source: String,
    pub statement_id: Option<i64>,
    pub decision_no: Option<String>,
    pub amount_fen: i64,
    pub due_fen: Option<i64>,
    pub paid_at: NaiveDateTime,
    pub method: String,
    pub outcome: String,
    pub transaction_ref: Option<String>,
    pub counterpart: Option<String>,
    pub reversed_by: Option<String>,
    pub received_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = bank_payments)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewBankPayment<'a> {
    pub bank_code: &'a str,
    pub reference: &'a str,
    pub source: &'a str,
    pub statement_id: Option<i64>,
    pub decision_no: Option<&'a str>,
    pub amount_fen: i64,
    pub due_fen: Option<i64>,
    pub paid_at: NaiveDateTime,
    pub method: &'a str,
    pub outcome: &'a str,
    pub transaction_ref: Option<&'a str>,
    pub counterpart: Option<&'a str>,
    pub received_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, bank_code: &str, reference: &str) -> QueryResult<Option<BankPaymentRow>> {
    super::on_concrete!(conn, |c| {
        super::unique_row(bank_payments::table.find((bank_code, reference)).select(BankPaymentRow::as_select()), c)
    })
}

/// Inserts the row; the caller has checked its key is new inside the same write transaction.
pub fn insert(conn: &mut DbConnection, row: &NewBankPayment<'_>) -> QueryResult<()> {
    super::on_concrete!(conn, |c| diesel::insert_into(bank_payments::table).values(row).execute(c)).map(|_| ())
}

/// This bank's rows for the fine: where a statement line looks for the real-time post of the
/// same payment (and the other way round), and a reversal for the entry it cancels.
pub fn of_bank_for_fine(
    conn: &mut DbConnection,
    bank_code: &str,
    decision_no: &str,
) -> QueryResult<Vec<BankPaymentRow>> {
    super::on_concrete!(conn, |c| {
        bank_payments::table
            .filter(bank_payments::decision_no.eq(decision_no).and(bank_payments::bank_code.eq(bank_code)))
            .order(bank_payments::received_at)
            .select(BankPaymentRow::as_select())
            .load(c)
    })
}

/// This bank's rows carrying `transaction_ref`: a reversal names the transaction it cancels.
pub fn of_bank_with_transaction(
    conn: &mut DbConnection,
    bank_code: &str,
    transaction_ref: &str,
) -> QueryResult<Vec<BankPaymentRow>> {
    super::on_concrete!(conn, |c| {
        bank_payments::table
            .filter(bank_payments::bank_code.eq(bank_code).and(bank_payments::transaction_ref.eq(transaction_ref)))
            .order(bank_payments::received_at)
            .select(BankPaymentRow::as_select())
            .load(c)
    })
}

/// Names `counterpart` as the other record of the row's payment, if the row has none yet. False
/// when another record claimed it first.
pub fn claim_counterpart(
    conn: &mut DbConnection,
    bank_code: &str,
    reference: &str,
    counterpart: &str,
) -> QueryResult<bool> {
    let updated =
        diesel::update(bank_payments::table.find((bank_code, reference)).filter(bank_payments::counterpart.is_null()))
            .set(bank_payments::counterpart.eq(Some(counterpart)))
            .execute(conn)?;
    Ok(updated == 1)
}

/// Marks the row cancelled by the reversal `reversal_ref`, if nothing cancelled it before.
pub fn mark_reversed(
    conn: &mut DbConnection,
    bank_code: &str,
    reference: &str,
    reversal_ref: &str,
) -> QueryResult<bool> {
    let updated =
        diesel::update(bank_payments::table.find((bank_code, reference)).filter(bank_payments::reversed_by.is_null()))
            .set(bank_payments::reversed_by.eq(Some(reversal_ref)))
            .execute(conn)?;
    Ok(updated == 1)
}

/// Every bank's records of one fine, oldest first (the admin's view of a fine).
pub fn for_fine(conn: &mut DbConnection, decision_no: &str) -> QueryResult<Vec<BankPaymentRow>> {
    bank_payments::table
        .filter(bank_payments::decision_no.eq(decision_no))
        .order(bank_payments::received_at)
        .select(BankPaymentRow::as_select())
        .load(conn)
}
