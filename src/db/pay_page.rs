//! The pay page's one read: a fine and its channel orders in one statement. It spans two tables,
//! so it lives in a file of its own rather than in either table's.

use super::DbConnection;
use super::channel_orders::ChannelOrderRow;
use super::schema::{channel_orders, fines};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// What the pay page shows of a fine.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = fines)]
pub struct PageFine {
    pub decision_no: String,
    pub district_code: String,
    pub violation_code: String,
    pub plate: Option<String>,
    pub location: String,
    pub occurred_at: NaiveDateTime,
    pub amount_fen: i64,
    pub status: String,
    pub issued_at: NaiveDateTime,
    pub qr_expires_at: Option<NaiveDateTime>,
}

/// The fine behind a pay page with its channel orders, in one statement — so in one read
/// transaction, with only the columns the page shows: every scan of a bill runs this.
pub fn for_page(conn: &mut DbConnection, decision_no: &str) -> QueryResult<Option<(PageFine, Vec<ChannelOrderRow>)>> {
    let rows: Vec<(PageFine, Option<ChannelOrderRow>)> = super::on_concrete!(conn, |c| {
        fines::table
            .left_join(channel_orders::table)
            .filter(fines::decision_no.eq(decision_no))
            .select((PageFine::as_select(), Option::<ChannelOrderRow>::as_select()))
            .load(c)
    })?;
    let mut rows = rows.into_iter();
    let Some((fine, first)) = rows.next() else { return Ok(None) };
    let mut orders: Vec<ChannelOrderRow> = first.into_iter().chain(rows.filter_map(|(_, order)| order)).collect();
    // Sorted here: an ORDER BY would make SQLite build a temporary b-tree for three rows at most.
    orders.sort_by(|a, b| a.out_trade_no.cmp(&b.out_trade_no));
    Ok(Some((fine, orders)))
}
