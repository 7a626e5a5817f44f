//! `bank_payments`: every payment a bank reported, once by (bank, reference) — the bank's serial
//! for a real-time post, its entry reference for a statement line — with the state it ended in.
//! A payment the bank both posted and listed on its statement is two rows naming each other.

use super::DbConnection;
use super::schema::bank_payments;
use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};

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
    #[serde(serialize_with = "crate::db::shown::beijing")]
    pub paid_at: NaiveDateTime,
    pub method: String,
    pub outcome: String,
    pub transaction_ref: Option<String>,
    pub counterpart: Option<String>,
    pub reversed_by: Option<String>,
    #[serde(serialize_with = "crate::db::shown::beijing")]
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
    /// Set only when a reversal later in the same statement batch cancelled it.
    pub reversed_by: Option<&'a str>,
    pub received_at: NaiveDateTime,
}

impl<'a> NewBankPayment<'a> {
    /// The row as it is about to be stored, for a batch to insert at its end.
    pub fn of(row: &'a BankPaymentRow) -> Self {
        NewBankPayment {
            bank_code: &row.bank_code,
            reference: &row.reference,
            source: &row.source,
            statement_id: row.statement_id,
            decision_no: row.decision_no.as_deref(),
            amount_fen: row.amount_fen,
            due_fen: row.due_fen,
            paid_at: row.paid_at,
            method: &row.method,
            outcome: &row.outcome,
            transaction_ref: row.transaction_ref.as_deref(),
            counterpart: row.counterpart.as_deref(),
            reversed_by: row.reversed_by.as_deref(),
            received_at: row.received_at,
        }
    }
}

impl From<&NewBankPayment<'_>> for BankPaymentRow {
    fn from(row: &NewBankPayment<'_>) -> Self {
        BankPaymentRow {
            bank_code: row.bank_code.to_owned(),
            reference: row.reference.to_owned(),
            source: row.source.to_owned(),
            statement_id: row.statement_id,
            decision_no: row.decision_no.map(str::to_owned),
            amount_fen: row.amount_fen,
            due_fen: row.due_fen,
            paid_at: row.paid_at,
            method: row.method.to_owned(),
            outcome: row.outcome.to_owned(),
            transaction_ref: row.transaction_ref.map(str::to_owned),
            counterpart: row.counterpart.map(str::to_owned),
            reversed_by: row.reversed_by.map(str::to_owned),
            received_at: row.received_at,
        }
    }
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

/// Inserts a batch's rows, whose keys are new (checked in the same write transaction): on SQLite
/// `super::BULK_CHUNK` to a multi-row insert, on PostgreSQL all in one prepared statement.
pub fn insert_many(conn: &mut DbConnection, rows: &[NewBankPayment<'_>]) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => {
            for chunk in rows.chunks(super::BULK_CHUNK) {
                diesel::insert_into(bank_payments::table).values(chunk).execute(c)?;
            }
        }
        DbConnection::Postgresql(c) if !rows.is_empty() => {
            InsertBankPayments::new(rows).execute(c)?;
        }
        DbConnection::Postgresql(_) => {}
    }
    Ok(())
}

/// This bank's rows under any of `references` (a statement batch's entry references).
pub fn of_bank_with_references(
    conn: &mut DbConnection,
    bank_code: &str,
    references: &[&str],
) -> QueryResult<Vec<BankPaymentRow>> {
    super::load_in_chunks(references, |chunk| {
        super::on_concrete!(&mut *conn, |c| {
            bank_payments::table
                .filter(bank_payments::bank_code.eq(bank_code).and(bank_payments::reference.eq_any(chunk)))
                .select(BankPaymentRow::as_select())
                .load(c)
        })
    })
}

/// This bank's rows for any of the fines, oldest first within a fine. Selected by fine alone,
/// as in [`of_bank_for_fine`].
pub fn of_bank_for_fines(
    conn: &mut DbConnection,
    bank_code: &str,
    decision_nos: &[&str],
) -> QueryResult<Vec<BankPaymentRow>> {
    let rows = super::load_in_chunks(decision_nos, |chunk| {
        super::on_concrete!(&mut *conn, |c| {
            bank_payments::table
                .filter(bank_payments::decision_no.eq_any(chunk))
                .order(bank_payments::received_at)
                .select(BankPaymentRow::as_select())
                .load(c)
        })
    })?;
    Ok(rows.into_iter().filter(|row| row.bank_code == bank_code).collect())
}

/// This bank's rows carrying any of `transaction_refs`, oldest first within a reference.
pub fn of_bank_with_transactions(
    conn: &mut DbConnection,
    bank_code: &str,
    transaction_refs: &[&str],
) -> QueryResult<Vec<BankPaymentRow>> {
    super::load_in_chunks(transaction_refs, |chunk| {
        super::on_concrete!(&mut *conn, |c| {
            bank_payments::table
                .filter(bank_payments::bank_code.eq(bank_code).and(bank_payments::transaction_ref.eq_any(chunk)))
                .order(bank_payments::received_at)
                .select(BankPaymentRow::as_select())
                .load(c)
        })
    })
}

/// This bank's rows for the fine: where a statement line looks for the real-time post of the
/// same payment (and the other way round), and a reversal for the entry it cancels. Selected by
/// the fine alone (a fine has a handful of rows) and the bank filtered here: given both, a
/// planner without fresh statistics (PostgreSQL before its first ANALYZE of the table) combines
/// `bank_payments_by_fine` with `bank_payments_by_transaction`, whose `bank_code` prefix spans
/// every row of the bank — a lookup growing with the table, a million-line import quadratic.
pub fn of_bank_for_fine(
    conn: &mut DbConnection,
    bank_code: &str,
    decision_no: &str,
) -> QueryResult<Vec<BankPaymentRow>> {
    let rows: Vec<BankPaymentRow> = super::on_concrete!(conn, |c| {
        bank_payments::table
            .filter(bank_payments::decision_no.eq(decision_no))
            .order(bank_payments::received_at)
            .select(BankPaymentRow::as_select())
            .load(c)
    })?;
    Ok(rows.into_iter().filter(|row| row.bank_code == bank_code).collect())
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

/// A line that named no fine, matched by a person to fine `decision_no` which it settled: only
/// while it is still unmatched and not reversed. False otherwise.
pub fn match_to_fine(
    conn: &mut DbConnection,
    (bank_code, reference): (&str, &str),
    decision_no: &str,
    due_fen: i64,
) -> QueryResult<bool> {
    let updated = diesel::update(
        bank_payments::table
            .find((bank_code, reference))
            .filter(bank_payments::outcome.eq("unmatched"))
            .filter(bank_payments::reversed_by.is_null()),
    )
    .set((
        bank_payments::decision_no.eq(Some(decision_no)),
        bank_payments::due_fen.eq(Some(due_fen)),
        bank_payments::outcome.eq("settled"),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Marks the row cancelled by the reversal `reversal_ref`, if nothing cancelled it before: the
/// row's outcome and fine as they are at that moment (not as a caller read them before: a person
/// may have matched the line to a fine since), or `None` when it was cancelled already.
pub fn mark_reversed(
    conn: &mut DbConnection,
    bank_code: &str,
    reference: &str,
    reversal_ref: &str,
) -> QueryResult<Option<(String, Option<String>)>> {
    let target = bank_payments::table.find((bank_code, reference)).filter(bank_payments::reversed_by.is_null());
    let update = diesel::update(target).set(bank_payments::reversed_by.eq(Some(reversal_ref)));
    let returned = (bank_payments::outcome, bank_payments::decision_no);
    match conn {
        DbConnection::Sqlite(c) => update.returning(returned).get_result(c).optional(),
        DbConnection::Postgresql(c) => update.returning(returned).get_result(c).optional(),
    }
}

/// How many rows PostgreSQL's planner takes `bank_payments` to hold; `None` on SQLite, which
/// keeps no statistics unless asked to.
pub fn planner_rows(conn: &mut DbConnection) -> QueryResult<Option<f64>> {
    #[derive(QueryableByName)]
    struct Estimate {
        #[diesel(sql_type = diesel::sql_types::Double)]
        rows: f64,
    }
    match conn {
        DbConnection::Sqlite(_) => Ok(None),
        DbConnection::Postgresql(c) => {
            diesel::sql_query("SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'bank_payments'::regclass")
                .get_result::<Estimate>(c)
                .map(|estimate| Some(estimate.rows.max(0.0)))
        }
    }
}

/// PostgreSQL: samples `bank_payments` afresh for the planner.
pub fn analyze(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(_) => Ok(()),
        DbConnection::Postgresql(c) => diesel::connection::SimpleConnection::batch_execute(c, "ANALYZE bank_payments"),
    }
}

/// Every bank's records of one fine, oldest first (the admin's view of a fine).
pub fn for_fine(conn: &mut DbConnection, decision_no: &str) -> QueryResult<Vec<BankPaymentRow>> {
    bank_payments::table
        .filter(bank_payments::decision_no.eq(decision_no))
        .order(bank_payments::received_at)
        .select(BankPaymentRow::as_select())
        .load(conn)
}

/// The lines of statement import `statement_id`, by reference after `after`, at most `limit`.
pub fn of_statement(
    conn: &mut DbConnection,
    statement_id: i64,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<BankPaymentRow>> {
    bank_payments::table
        .filter(bank_payments::statement_id.eq(statement_id))
        .filter(bank_payments::reference.gt(after))
        .order(bank_payments::reference)
        .limit(limit)
        .select(BankPaymentRow::as_select())
        .load(conn)
}

/// `bank_payments` rows, column by column.
struct InsertBankPayments<'a> {
    bank_code: Vec<&'a str>,
    reference: Vec<&'a str>,
    source: Vec<&'a str>,
    statement_id: Vec<Option<i64>>,
    decision_no: Vec<Option<&'a str>>,
    amount_fen: Vec<i64>,
    due_fen: Vec<Option<i64>>,
    paid_at: Vec<NaiveDateTime>,
    method: Vec<&'a str>,
    outcome: Vec<&'a str>,
    transaction_ref: Vec<Option<&'a str>>,
    counterpart: Vec<Option<&'a str>>,
    reversed_by: Vec<Option<&'a str>>,
    received_at: Vec<NaiveDateTime>,
}

impl<'a> InsertBankPayments<'a> {
    fn new(rows: &[NewBankPayment<'a>]) -> Self {
        InsertBankPayments {
            bank_code: rows.iter().map(|r| r.bank_code).collect(),
            reference: rows.iter().map(|r| r.reference).collect(),
            source: rows.iter().map(|r| r.source).collect(),
            statement_id: rows.iter().map(|r| r.statement_id).collect(),
            decision_no: rows.iter().map(|r| r.decision_no).collect(),
            amount_fen: rows.iter().map(|r| r.amount_fen).collect(),
            due_fen: rows.iter().map(|r| r.due_fen).collect(),
            paid_at: rows.iter().map(|r| r.paid_at).collect(),
            method: rows.iter().map(|r| r.method).collect(),
            outcome: rows.iter().map(|r| r.outcome).collect(),
            transaction_ref: rows.iter().map(|r| r.transaction_ref).collect(),
            counterpart: rows.iter().map(|r| r.counterpart).collect(),
            reversed_by: rows.iter().map(|r| r.reversed_by).collect(),
            received_at: rows.iter().map(|r| r.received_at).collect(),
        }
    }
}

impl QueryFragment<Pg> for InsertBankPayments<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO bank_payments (bank_code, reference, source, statement_id, decision_no, amount_fen, \
             due_fen, paid_at, method, outcome, transaction_ref, counterpart, reversed_by, received_at) \
             SELECT * FROM unnest(",
        );
        out.push_bind_param::<Array<Text>, _>(&self.bank_code)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.reference)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.source)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.statement_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.decision_no)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.amount_fen)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.due_fen)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamp>, _>(&self.paid_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.method)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.outcome)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.transaction_ref)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.counterpart)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.reversed_by)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamp>, _>(&self.received_at)?;
        out.push_sql(")");
        Ok(())
    }
}

super::prepared_once_on_postgres!(InsertBankPayments);
