//! `channel_orders`: the orders finepay opens for a fine, one per channel and flow (and, where a
//! flow's orders go stale, one per attempt). Its number is derived from the decision number, the
//! channel, the flow and the attempt, so opening it twice (two taps, two instances) finds the same
//! row, and the channel sees the same `out_trade_no` with the same parameters — which every
//! channel treats as the same order.

use super::DbConnection;
use super::schema::channel_orders;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = channel_orders)]
pub struct ChannelOrderRow {
    pub out_trade_no: String,
    pub decision_no: String,
    pub channel: String,
    /// `qr`, `jsapi`, `h5`, `wap` or `mobile_web`.
    pub flow: String,
    /// Whose order it is, for a flow that names its payer (JSAPI): a digest of the openid.
    pub payer: Option<String>,
    pub amount_fen: i64,
    pub pay_by: NaiveDateTime,
    pub opened_at: NaiveDateTime,
    pub pay_url: Option<String>,
    pub status: String,
    pub closed_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = channel_orders)]
pub struct NewChannelOrder<'a> {
    pub out_trade_no: &'a str,
    pub decision_no: &'a str,
    pub channel: &'a str,
    pub flow: &'a str,
    pub payer: Option<&'a str>,
    pub amount_fen: i64,
    pub pay_by: NaiveDateTime,
    pub opened_at: NaiveDateTime,
    pub status: &'a str,
    pub updated_at: NaiveDateTime,
}

/// Inserts the order unless it exists, and returns the stored row either way.
pub fn open(conn: &mut DbConnection, order: &NewChannelOrder<'_>) -> QueryResult<ChannelOrderRow> {
    // Upserts do not compile through MultiConnection; the statement is the same on both.
    macro_rules! insert {
        ($c:expr) => {
            diesel::insert_into(channel_orders::table).values(order).on_conflict_do_nothing().execute($c)
        };
    }
    match conn {
        DbConnection::Sqlite(c) => insert!(c),
        DbConnection::Postgresql(c) => insert!(c),
    }?;
    super::unique_row(channel_orders::table.find(order.out_trade_no).select(ChannelOrderRow::as_select()), conn)?
        .ok_or(diesel::result::Error::NotFound)
}

/// What a payment is checked against: the order's fine, channel and amount, which never change
/// once the order is open.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = channel_orders)]
pub struct OrderTerms {
    pub out_trade_no: String,
    pub decision_no: String,
    pub channel: String,
    pub amount_fen: i64,
    pub opened_at: NaiveDateTime,
}

pub fn terms(conn: &mut DbConnection, out_trade_no: &str) -> QueryResult<Option<OrderTerms>> {
    // Once per payment, in the payment writer.
    super::on_concrete!(conn, |c| {
        super::unique_row(channel_orders::table.find(out_trade_no).select(OrderTerms::as_select()), c)
    })
}

pub fn for_fine(conn: &mut DbConnection, decision_no: &str) -> QueryResult<Vec<ChannelOrderRow>> {
    // Every view of an unpaid fine's page runs this.
    super::on_concrete!(conn, |c| {
        channel_orders::table
            .filter(channel_orders::decision_no.eq(decision_no))
            .order(channel_orders::out_trade_no)
            .select(ChannelOrderRow::as_select())
            .load(c)
    })
}

/// The fine's orders at `channel` in `flow`, the latest attempt first.
pub fn attempts(
    conn: &mut DbConnection,
    decision_no: &str,
    channel: &str,
    flow: &str,
) -> QueryResult<Vec<ChannelOrderRow>> {
    channel_orders::table
        .filter(channel_orders::decision_no.eq(decision_no))
        .filter(channel_orders::channel.eq(channel))
        .filter(channel_orders::flow.eq(flow))
        .order(channel_orders::opened_at.desc())
        .then_order_by(channel_orders::out_trade_no.desc())
        .select(ChannelOrderRow::as_select())
        .load(conn)
}

/// Remembers the pay link the channel gave last (WeChat renews its code every two hours), while
/// the order is open.
pub fn set_pay_url(conn: &mut DbConnection, out_trade_no: &str, url: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(channel_orders::table.find(out_trade_no).filter(channel_orders::status.eq("open")))
        .set((channel_orders::pay_url.eq(Some(url)), channel_orders::updated_at.eq(at)))
        .execute(conn)
        .map(|_| ())
}

/// Marks the open orders among `numbers` paid, in as few statements as the list allows (diesel
/// prepares every UPDATE afresh, so the payment writer does this once per batch).
pub fn finish_paid(conn: &mut DbConnection, numbers: &[&str], at: NaiveDateTime) -> QueryResult<usize> {
    let mut updated = 0;
    for chunk in numbers.chunks(500) {
        updated += diesel::update(
            channel_orders::table
                .filter(channel_orders::out_trade_no.eq_any(chunk))
                // `status || ''` keeps SQLite on the primary key: with a plain `status = 'open'`
                // and ten or more numbers, its planner prefers the status index and walks every
                // open order in the table — a cost that grows with the table, once per batch.
                .filter(channel_orders::status.concat("").eq("open")),
        )
        .set((channel_orders::status.eq("paid"), channel_orders::updated_at.eq(at)))
        .execute(conn)?;
    }
    Ok(updated)
}

/// Which of the fines `decision_nos` still have an order open (of another channel or flow than
/// the one that paid), in as few statements as the list allows.
pub fn fines_with_open_orders(conn: &mut DbConnection, decision_nos: &[&str]) -> QueryResult<Vec<String>> {
    let mut found = Vec::new();
    for chunk in decision_nos.chunks(500) {
        let mut fines: Vec<String> = channel_orders::table
            .filter(channel_orders::decision_no.eq_any(chunk))
            // As in finish_paid: keeps both planners on the fines' index, not every open order.
            .filter(channel_orders::status.concat("").eq("open"))
            .select(channel_orders::decision_no)
            .load(conn)?;
        found.append(&mut fines);
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// Moves an open order to `paid` or `closed`. False when it was no longer open.
pub fn finish(conn: &mut DbConnection, out_trade_no: &str, to: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let closed_at = (to == "closed").then_some(at);
    let updated = diesel::update(channel_orders::table.find(out_trade_no).filter(channel_orders::status.eq("open")))
        .set((
            channel_orders::status.eq(to),
            channel_orders::closed_at.eq(closed_at),
            channel_orders::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Open orders whose payment window has ended (`pay_by` at or before `now`): the expire job's
/// work list. By the status index.
pub fn ended_open(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<ChannelOrderRow>> {
    channel_orders::table
        .filter(channel_orders::status.eq("open").and(channel_orders::pay_by.le(now)))
        .select(ChannelOrderRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, out_trade_no: &str) -> QueryResult<Option<ChannelOrderRow>> {
    super::unique_row(channel_orders::table.find(out_trade_no).select(ChannelOrderRow::as_select()), conn)
}
