//! PostgreSQL statements over many rows at once, their values bound as one array per column and
//! spread by `unnest`: the SQL is the same whatever the number of rows, so it is prepared once per
//! connection, and a statement batch costs one round trip instead of one per row. (A multi-row
//! `VALUES` list is new SQL for every size, parsed and planned each time: on PostgreSQL that cost
//! more than the rows' own writing.)

use super::audit::NewAuditEntry;
use super::bank_payments::NewBankPayment;
use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};

/// `bank_payments` rows, column by column.
pub struct InsertBankPayments<'a> {
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
    pub fn new(rows: &[NewBankPayment<'a>]) -> Self {
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

/// `audit_log` entries, in order (their ids follow the arrays').
pub struct InsertAudit<'a> {
    at: Vec<NaiveDateTime>,
    actor: Vec<&'a str>,
    action: Vec<&'a str>,
    decision_no: Vec<Option<&'a str>>,
    details: Vec<&'a str>,
}

impl<'a> InsertAudit<'a> {
    pub fn new(entries: &[NewAuditEntry<'a>]) -> Self {
        InsertAudit {
            at: entries.iter().map(|e| e.at).collect(),
            actor: entries.iter().map(|e| e.actor).collect(),
            action: entries.iter().map(|e| e.action).collect(),
            decision_no: entries.iter().map(|e| e.decision_no).collect(),
            details: entries.iter().map(|e| e.details).collect(),
        }
    }
}

impl QueryFragment<Pg> for InsertAudit<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO audit_log (at, actor, action, decision_no, details) \
             SELECT at, actor, action, decision_no, details FROM unnest(",
        );
        out.push_bind_param::<Array<Timestamp>, _>(&self.at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.actor)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.action)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.decision_no)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.details)?;
        out.push_sql(") WITH ORDINALITY AS e(at, actor, action, decision_no, details, n) ORDER BY n");
        Ok(())
    }
}

/// Settles each fine by its own conditional update — `status` still unpaid, as in
/// `fines::settle_at_bank` — all in one statement; returns the fines it settled. A fine missing
/// from the answer is one whose update matched no row.
pub struct SettleManyAtBank<'a> {
    decision_no: Vec<&'a str>,
    paid_at: Vec<NaiveDateTime>,
    at: NaiveDateTime,
}

impl<'a> SettleManyAtBank<'a> {
    pub fn new(fines: &[(&'a str, NaiveDateTime)], at: NaiveDateTime) -> Self {
        SettleManyAtBank {
            decision_no: fines.iter().map(|(no, _)| *no).collect(),
            paid_at: fines.iter().map(|(_, paid_at)| *paid_at).collect(),
            at,
        }
    }
}

impl QueryFragment<Pg> for SettleManyAtBank<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("UPDATE fines SET status = 'paid', paid_at = v.paid_at, paid_channel = 'bank', updated_at = ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(" FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(&self.decision_no)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamp>, _>(&self.paid_at)?;
        out.push_sql(
            ") AS v(decision_no, paid_at) WHERE fines.decision_no = v.decision_no \
             AND fines.status IN ('awaiting_payment', 'payable_at_bank') RETURNING fines.decision_no",
        );
        Ok(())
    }
}

impl Query for SettleManyAtBank<'_> {
    type SqlType = Text;
}

macro_rules! prepared_once {
    ($($statement:ident),*) => {$(
        impl QueryId for $statement<'_> {
            type QueryId = $statement<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl RunQueryDsl<PgConnection> for $statement<'_> {}
    )*};
}

prepared_once!(InsertBankPayments, InsertAudit, SettleManyAtBank);
