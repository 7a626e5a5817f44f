//! The `fines` statements run once per payment or once per batch of the expire job, written out
//! as fixed SQL with typed binds so that each is prepared once per connection. diesel prepares an
//! UPDATE or a raw `sql_query` afresh at every execution — both mark themselves unsafe to cache as
//! they are walked, and wrapping them in `FixedShape` cannot undo that (see `fixed_shape.rs`) —
//! whereas a fragment that only pushes SQL and binds is cached under its type. The test at the
//! end counts the preparations.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, BigInt, HasSqlType, Text, Timestamp, Untyped};

/// Marks a fine paid while nobody has paid or voided it. `IN_QR_WINDOW`: only if `paid_at` is
/// inside its QR window too (a QR payment); without it, a bank's payment, which takes the fine in
/// or after its window.
pub(super) struct MarkPaid<'a, const IN_QR_WINDOW: bool> {
    pub decision_no: &'a str,
    pub paid_at: NaiveDateTime,
    pub channel: &'a str,
    pub at: NaiveDateTime,
}

impl<const IN_QR_WINDOW: bool> QueryId for MarkPaid<'_, IN_QR_WINDOW> {
    type QueryId = MarkPaid<'static, IN_QR_WINDOW>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB, const IN_QR_WINDOW: bool> QueryFragment<DB> for MarkPaid<'_, IN_QR_WINDOW>
where
    DB: Backend + HasSqlType<Timestamp> + HasSqlType<Text>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    str: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE fines SET status = 'paid', paid_at = ");
        out.push_bind_param::<Timestamp, _>(&self.paid_at)?;
        out.push_sql(", paid_channel = ");
        out.push_bind_param::<Text, _>(self.channel)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(" WHERE decision_no = ");
        out.push_bind_param::<Text, _>(self.decision_no)?;
        out.push_sql(" AND status IN ('awaiting_payment', 'payable_at_bank')");
        if IN_QR_WINDOW {
            out.push_sql(" AND qr_expires_at > ");
            out.push_bind_param::<Timestamp, _>(&self.paid_at)?;
        }
        Ok(())
    }
}

impl<Conn, const IN_QR_WINDOW: bool> RunQueryDsl<Conn> for MarkPaid<'_, IN_QR_WINDOW> {}

/// The expire job's steps over the fines whose QR window ended, as [`HandOver`]'s `STEP`. On
/// SQLite: [`PICK`] reads the fines the batch will move, oldest window first, then [`MOVE`] — the
/// same query — moves the same rows (its single writer lets nothing in between). On PostgreSQL:
/// [`MOVE_RETURNING`] moves and returns them in one statement, skipping rows another transaction
/// has locked.
pub(super) const PICK: u8 = 0;
pub(super) const MOVE: u8 = 1;
pub(super) const MOVE_RETURNING: u8 = 2;

/// One step of an expire batch: up to `limit` fines still awaiting payment whose window ended at
/// or before `now` and with no channel order left open.
pub(super) struct HandOver<const STEP: u8> {
    pub now: NaiveDateTime,
    pub limit: i64,
}

impl<const STEP: u8> QueryId for HandOver<STEP> {
    type QueryId = HandOver<STEP>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB, const STEP: u8> QueryFragment<DB> for HandOver<STEP>
where
    DB: Backend + HasSqlType<Timestamp> + HasSqlType<BigInt>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let sqlite = STEP != MOVE_RETURNING;
        if STEP == PICK {
            out.push_sql("SELECT f.decision_no, f.qr_expires_at");
        } else {
            // The outer statement names the rows by key alone on SQLite: with `status = …` there
            // too, the planner picks the status index and walks every awaiting fine per batch.
            out.push_sql("UPDATE fines SET status = 'payable_at_bank', updated_at = ");
            out.push_bind_param::<Timestamp, _>(&self.now)?;
            out.push_sql(if sqlite { " WHERE" } else { " WHERE status = 'awaiting_payment' AND" });
            out.push_sql(" decision_no IN (SELECT f.decision_no");
        }
        out.push_sql(" FROM fines f WHERE f.status = 'awaiting_payment' AND f.qr_expires_at <= ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        // `+o.status` on SQLite: an order is found by its fine's number (left to itself the
        // planner walks every open order per fine).
        out.push_sql(if sqlite {
            " AND NOT EXISTS (SELECT 1 FROM channel_orders o WHERE o.decision_no = f.decision_no AND +o.status = 'open')"
        } else {
            " AND NOT EXISTS (SELECT 1 FROM channel_orders o WHERE o.decision_no = f.decision_no AND o.status = 'open')"
        });
        // `LIMIT +?` on SQLite: it plans a plain `LIMIT ?` around the value bound and so
        // prepares the statement again whenever the value changes; the unary plus keeps the limit
        // a run-time value.
        out.push_sql(if sqlite { " ORDER BY f.qr_expires_at LIMIT +" } else { " ORDER BY f.qr_expires_at LIMIT " });
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        match STEP {
            PICK => {}
            MOVE => out.push_sql(")"),
            _ => out.push_sql(" FOR UPDATE SKIP LOCKED) RETURNING decision_no, qr_expires_at"),
        }
        Ok(())
    }
}

/// Rows are read by name (`HandedOver` is `QueryableByName`).
impl<const STEP: u8> Query for HandOver<STEP> {
    type SqlType = Untyped;
}

impl<Conn, const STEP: u8> RunQueryDsl<Conn> for HandOver<STEP> {}

/// Settles each fine by its own conditional update — `status` still unpaid, as in
/// `fines::settle_at_bank` — all in one statement; returns the fines it settled. A fine missing
/// from the answer is one whose update matched no row.
pub(super) struct SettleManyAtBank<'a> {
    decision_no: Vec<&'a str>,
    paid_at: Vec<NaiveDateTime>,
    at: NaiveDateTime,
}

impl<'a> SettleManyAtBank<'a> {
    pub(super) fn new(fines: &[(&'a str, NaiveDateTime)], at: NaiveDateTime) -> Self {
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

crate::db::prepared_once_on_postgres!(SettleManyAtBank);

#[cfg(test)]
mod tests {
    use super::super::{self as fines, NewFine};
    use crate::db::DbConnection;
    use chrono::NaiveDate;
    use diesel::connection::{Connection, InstrumentationEvent};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    /// Each statement, run three times on one connection, is prepared (and cached) once.
    #[test]
    fn the_hot_fine_statements_are_prepared_once_per_connection() {
        let (_dir, pool) = crate::db::testing::temp_pool();
        let mut conn = pool.get().expect("connection");
        let at = NaiveDate::from_ymd_opt(2026, 11, 21).and_then(|d| d.and_hms_opt(2, 0, 0)).expect("time");
        let numbers: Vec<String> = (1..=9).map(|i| format!("110109261121{i:07}")).collect();
        let rows: Vec<NewFine<'_>> = numbers
            .iter()
            .map(|no| NewFine {
                decision_no: no,
                status: "awaiting_payment",
                qr_expires_at: Some(at + chrono::Duration::hours(4)),
                ..NewFine::template(at)
            })
            .collect();
        fines::insert_many(&mut conn, &rows).expect("fines");

        let started = Arc::new(Mutex::new(HashMap::<String, (u32, u32)>::new()));
        let seen = Arc::clone(&started);
        let DbConnection::Sqlite(c) = &mut *conn else { panic!("a SQLite connection") };
        c.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            let mut counts = seen.lock().expect("counts");
            match event {
                InstrumentationEvent::StartQuery { query, .. } => {
                    counts.entry(statement(&query.to_string())).or_default().0 += 1;
                }
                InstrumentationEvent::CacheQuery { sql, .. } => counts.entry(statement(sql)).or_default().1 += 1,
                _ => {}
            }
        });
        for i in 0..3 {
            let paid_at = at + chrono::Duration::minutes(i64::from(i));
            assert!(fines::mark_paid_in_window(&mut conn, &numbers[i as usize], paid_at, "wechat", at).expect("QR"));
            assert!(fines::settle_at_bank(&mut conn, &numbers[3 + i as usize], paid_at, at).expect("bank"));
            let later = at + chrono::Duration::hours(5 + i64::from(i));
            assert_eq!(fines::hand_over_ended(&mut conn, later, 1).expect("hand over").len(), 1);
        }
        let counts = started.lock().expect("counts");
        for prefix in ["UPDATE fines SET status = 'paid'", "SELECT f.decision_no", "UPDATE fines SET status = 'payable"]
        {
            let per_sql: Vec<_> = counts.iter().filter(|(sql, _)| sql.starts_with(prefix)).collect();
            assert!(!per_sql.is_empty(), "{prefix}… was not run: {counts:?}");
            for (sql, (run, prepared)) in per_sql {
                assert!(*run >= 3, "{sql}: run {run} times");
                assert_eq!(*prepared, 1, "{sql}: run {run} times, prepared into the cache {prepared} times");
            }
        }
    }

    /// The SQL of an event, without diesel's `-- binds: …` tail.
    fn statement(text: &str) -> String {
        text.split(" -- binds").next().unwrap_or(text).trim().to_owned()
    }
}
