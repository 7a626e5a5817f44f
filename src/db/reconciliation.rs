//! `reconciliation_reports`: one row per statement day and channel, written whole each time that
//! day is reconciled (a rerun replaces it; the exceptions it found stay raised once).

use super::DbConnection;
use super::schema::reconciliation_reports as reports;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, serde::Serialize)]
#[diesel(table_name = reports)]
#[diesel(treat_none_as_null = true)]
pub struct ReportRow {
    pub statement_date: NaiveDate,
    pub channel: String,
    /// `balanced`, `exceptions`, or `unavailable` (the statement could not be had or read).
    pub status: String,
    pub statement_payments: i64,
    pub statement_payments_fen: i64,
    pub statement_refunds: i64,
    pub statement_refunds_fen: i64,
    pub finepay_payments: i64,
    pub finepay_payments_fen: i64,
    /// Payments both sides have, for the same amount.
    pub matched: i64,
    /// Payments the statement showed that finepay did not have, now recorded.
    pub applied: i64,
    pub exceptions: i64,
    pub error: Option<String>,
    #[serde(serialize_with = "crate::db::shown::beijing")]
    pub reconciled_at: NaiveDateTime,
}

/// Writes the report of its day and channel, replacing an earlier one.
pub fn save(conn: &mut DbConnection, report: &ReportRow) -> QueryResult<()> {
    let key = (reports::statement_date, reports::channel);
    match conn {
        DbConnection::Sqlite(c) => {
            diesel::insert_into(reports::table).values(report).on_conflict(key).do_update().set(report).execute(c)
        }
        DbConnection::Postgresql(c) => {
            diesel::insert_into(reports::table).values(report).on_conflict(key).do_update().set(report).execute(c)
        }
    }
    .map(|_| ())
}

/// The reports of the days from `from` to `to` (inclusive), optionally of one channel.
pub fn between(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    channel: Option<&str>,
) -> QueryResult<Vec<ReportRow>> {
    // A few rows a day: the channel is picked here rather than by a second query shape.
    let rows: Vec<ReportRow> = reports::table
        .filter(reports::statement_date.between(from, to))
        .order((reports::statement_date, reports::channel))
        .select(ReportRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().filter(|row| channel.is_none_or(|c| row.channel == c)).collect())
}
