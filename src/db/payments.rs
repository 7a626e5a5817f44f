//! `payments`: every payment a channel reported, once, keyed by the channel's own transaction id.
//! A payment is `applied` (it paid its fine; it has a receipt) or `refund` (it came for a fine
//! already paid, void or past its window, and is being sent back — see `refunds`).

use super::DbConnection;
use super::fixed_shape::FixedShape;
use super::schema::payments;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = payments)]
pub struct PaymentRow {
    pub channel: String,
    pub channel_txn_id: String,
    pub out_trade_no: String,
    pub decision_no: String,
    pub amount_fen: i64,
    #[serde(serialize_with = "crate::db::shown::beijing")]
    pub paid_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::shown::beijing")]
    pub received_at: NaiveDateTime,
    pub source: String,
    pub outcome: String,
    pub receipt_no: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = payments)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewPayment<'a> {
    pub channel: &'a str,
    pub channel_txn_id: &'a str,
    pub out_trade_no: &'a str,
    pub decision_no: &'a str,
    pub amount_fen: i64,
    pub paid_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub source: &'a str,
    pub outcome: &'a str,
    pub receipt_no: Option<&'a str>,
}

/// Records a payment unless the channel's transaction id is already known. False for a repeat.
pub fn insert_new(conn: &mut DbConnection, payment: &NewPayment<'_>) -> QueryResult<bool> {
    // Upserts do not compile through MultiConnection; the statement is the same on both. Once
    // per payment, in the payment writer: its fixed SQL is prepared once per connection.
    struct InsertPayment;
    let inserted = super::on_concrete!(conn, |c| {
        FixedShape::<_, InsertPayment>::new(
            diesel::insert_into(payments::table).values(payment).on_conflict_do_nothing(),
        )
        .execute(c)
    })?;
    Ok(inserted == 1)
}

/// The payment could not pay its fine after all: it becomes `refund`, without a receipt.
pub fn mark_refund(conn: &mut DbConnection, channel: &str, channel_txn_id: &str) -> QueryResult<()> {
    diesel::update(payments::table.find((channel, channel_txn_id)))
        .set((payments::outcome.eq("refund"), payments::receipt_no.eq(None::<&str>)))
        .execute(conn)
        .map(|_| ())
}

/// A held payment (its date could not be true) that a person decided to refund: only while it is
/// still held. False otherwise.
pub fn release_held_to_refund(conn: &mut DbConnection, channel: &str, channel_txn_id: &str) -> QueryResult<bool> {
    let updated = diesel::update(payments::table.find((channel, channel_txn_id)).filter(payments::outcome.eq("held")))
        .set(payments::outcome.eq("refund"))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn find(conn: &mut DbConnection, channel: &str, channel_txn_id: &str) -> QueryResult<Option<PaymentRow>> {
    super::unique_row(payments::table.find((channel, channel_txn_id)).select(PaymentRow::as_select()), conn)
}

pub fn for_fine(conn: &mut DbConnection, decision_no: &str) -> QueryResult<Vec<PaymentRow>> {
    payments::table
        .filter(payments::decision_no.eq(decision_no))
        .order((payments::paid_at, payments::channel_txn_id))
        .select(PaymentRow::as_select())
        .load(conn)
}

pub fn by_receipt(conn: &mut DbConnection, receipt_no: &str) -> QueryResult<Option<PaymentRow>> {
    super::unique_row(payments::table.filter(payments::receipt_no.eq(receipt_no)).select(PaymentRow::as_select()), conn)
}

/// One channel's payments dated from `from` (inclusive) to `to` (exclusive): a statement day.
pub fn of_channel_between(
    conn: &mut DbConnection,
    channel: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<PaymentRow>> {
    payments::table
        .filter(payments::channel.eq(channel).and(payments::paid_at.ge(from)).and(payments::paid_at.lt(to)))
        .select(PaymentRow::as_select())
        .load(conn)
}
