//! `refunds`: money going back to where it came from. One refund per payment, numbered from the
//! payment's order, so asking again (a retry, a second instance) is the same refund at the
//! channel. A refund stays `pending` until the channel confirms it or gives up on it.

use super::DbConnection;
use super::schema::refunds;
use crate::domain::text::scrubbed;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = refunds)]
pub struct RefundRow {
    pub out_refund_no: String,
    pub channel: String,
    pub channel_txn_id: String,
    pub out_trade_no: String,
    pub decision_no: String,
    pub paid_fen: i64,
    pub amount_fen: i64,
    pub reason: String,
    pub status: String,
    #[serde(serialize_with = "crate::db::shown::beijing")]
    pub requested_at: NaiveDateTime,
    pub attempts: i32,
    #[serde(serialize_with = "crate::db::shown::beijing")]
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub channel_refund_id: Option<String>,
    #[serde(serialize_with = "crate::db::shown::beijing_opt")]
    pub completed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = refunds)]
pub struct NewRefund<'a> {
    pub out_refund_no: &'a str,
    pub channel: &'a str,
    pub channel_txn_id: &'a str,
    pub out_trade_no: &'a str,
    pub decision_no: &'a str,
    pub paid_fen: i64,
    pub amount_fen: i64,
    pub reason: &'a str,
    pub status: &'a str,
    pub requested_at: NaiveDateTime,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, refund: &NewRefund<'_>) -> QueryResult<()> {
    diesel::insert_into(refunds::table).values(refund).execute(conn).map(|_| ())
}

/// Pending refunds whose next attempt is due, oldest first.
pub fn due(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<RefundRow>> {
    refunds::table
        .filter(refunds::status.eq("pending").and(refunds::next_attempt_at.le(now)))
        .order(refunds::next_attempt_at)
        .limit(limit)
        .select(RefundRow::as_select())
        .load(conn)
}

pub fn for_fine(conn: &mut DbConnection, decision_no: &str) -> QueryResult<Vec<RefundRow>> {
    refunds::table
        .filter(refunds::decision_no.eq(decision_no))
        .order(refunds::requested_at)
        .select(RefundRow::as_select())
        .load(conn)
}

/// The refund is about to be sent again, dated `at`: UnionPay names a request by its number and
/// the time it was sent, and takes it only within minutes of that time. Stored before the request
/// goes out, so that whatever reaches the channel is found by the time stored. False when the
/// refund was no longer pending.
pub fn redate(conn: &mut DbConnection, out_refund_no: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(refunds::table.find(out_refund_no).filter(refunds::status.eq("pending")))
        .set(refunds::requested_at.eq(at))
        .execute(conn)?;
    Ok(updated == 1)
}

/// An attempt that left the refund pending: when to ask again, and why (if it failed).
pub fn retry_later(
    conn: &mut DbConnection,
    out_refund_no: &str,
    next_attempt_at: NaiveDateTime,
    error: Option<&str>,
) -> QueryResult<bool> {
    // The error text comes from the channel's answer: kept, never refused.
    let error = error.map(scrubbed);
    let updated = diesel::update(refunds::table.find(out_refund_no).filter(refunds::status.eq("pending")))
        .set((
            refunds::attempts.eq(refunds::attempts + 1),
            refunds::next_attempt_at.eq(next_attempt_at),
            refunds::last_error.eq(error.as_deref()),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// The channel's final word: `succeeded` (with its refund id) or `failed`. False when the refund
/// was no longer pending (another instance recorded it first).
pub fn complete(
    conn: &mut DbConnection,
    out_refund_no: &str,
    status: &str,
    channel_refund_id: Option<&str>,
    error: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let (channel_refund_id, error) = (channel_refund_id.map(scrubbed), error.map(scrubbed));
    let updated = diesel::update(refunds::table.find(out_refund_no).filter(refunds::status.eq("pending")))
        .set((
            refunds::status.eq(status),
            refunds::attempts.eq(refunds::attempts + 1),
            refunds::channel_refund_id.eq(channel_refund_id.as_deref()),
            refunds::last_error.eq(error.as_deref()),
            refunds::completed_at.eq(Some(at)),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn find(conn: &mut DbConnection, out_refund_no: &str) -> QueryResult<Option<RefundRow>> {
    super::unique_row(refunds::table.find(out_refund_no).select(RefundRow::as_select()), conn)
}
