//! Per-district, per-day serials behind decision numbers. One upsert takes the next number and
//! locks the counter row until the transaction ends, so concurrent issuing never repeats a serial
//! and a rolled-back issue gives its number back. A batch reserves a run of numbers at once.

use super::DbConnection;
use super::schema::decision_serials::dsl::*;
use chrono::NaiveDate;
use diesel::prelude::*;

/// The next serial for `district` on `date`, starting at 1.
pub fn next_serial(conn: &mut DbConnection, district: &str, date: NaiveDate) -> QueryResult<i64> {
    reserve(conn, district, date, 1)
}

/// Reserves `count` consecutive serials and returns the last; the first is `last - count + 1`.
pub fn reserve(conn: &mut DbConnection, district: &str, date: NaiveDate, count: i64) -> QueryResult<i64> {
    // Upserts do not compile through MultiConnection; the statement is the same on both.
    macro_rules! upsert {
        ($c:expr) => {
            diesel::insert_into(decision_serials)
                .values((district_code.eq(district), issue_date.eq(date), last_serial.eq(count)))
                .on_conflict((district_code, issue_date))
                .do_update()
                .set(last_serial.eq(last_serial + count))
                .returning(last_serial)
                .get_result::<i64>($c)
        };
    }
    match conn {
        DbConnection::Sqlite(c) => upsert!(c),
        DbConnection::Postgresql(c) => upsert!(c),
    }
}
