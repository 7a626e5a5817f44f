//! The grouped counts behind the desk's statistics page, beyond `stats.rs`'s: what the banks took
//! for the fines they settled (surcharge included), how long after issue each fine was paid, and
//! whether it was paid while its QR code worked. Each query reads a range of Beijing issue days
//! from the `fines_for_stats` index, which holds every column of the fines they read, and returns
//! a few rows however many fines there are.

use super::DbConnection;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Integer, Nullable, Text};

/// The Beijing day of `issued_at` (UTC + 8 hours), spelt exactly as the `fines_for_stats` index
/// is keyed, per backend.
macro_rules! sqlite_day {
    () => {
        "date(f.issued_at, '+8 hours')"
    };
}
macro_rules! postgres_day {
    () => {
        "((f.issued_at + interval '8 hours')::date)"
    };
}

/// One query in its four spellings: SQLite or PostgreSQL, all districts or one. The select reads
/// `fines f`, the rest follows the period's (and district's) condition; each backend's own when
/// they differ. On SQLite a `+` before a column keeps its older indexes out of the plan (the
/// district's every fine through (district, issued_at), the paid ones through (status, expiry)),
/// so that SQLite reads the range of days from the covering index; PostgreSQL's planner needs no
/// such help, and has no `+` for text.
macro_rules! spelt {
    ($select:expr, $rest:expr) => {
        spelt!($select, $rest, $select, $rest)
    };
    ($sqlite:expr, $sqlite_rest:expr, $postgres:expr, $postgres_rest:expr) => {
        Spelt {
            sqlite_all: concat!($sqlite, " WHERE ", sqlite_day!(), " BETWEEN ? AND ?", $sqlite_rest),
            sqlite_district: concat!(
                $sqlite,
                " WHERE ",
                sqlite_day!(),
                " BETWEEN ? AND ? AND +f.district_code = ?",
                $sqlite_rest
            ),
            postgres_all: concat!($postgres, " WHERE ", postgres_day!(), " BETWEEN $1 AND $2", $postgres_rest),
            postgres_district: concat!(
                $postgres,
                " WHERE ",
                postgres_day!(),
                " BETWEEN $1 AND $2 AND f.district_code = $3",
                $postgres_rest
            ),
        }
    };
}

struct Spelt {
    sqlite_all: &'static str,
    sqlite_district: &'static str,
    postgres_all: &'static str,
    postgres_district: &'static str,
}

impl Spelt {
    /// The rows of the query over the Beijing days `from..=to`, of one district or all.
    fn load<Row>(
        &self,
        conn: &mut DbConnection,
        from: NaiveDate,
        to: NaiveDate,
        district: Option<&str>,
    ) -> QueryResult<Vec<Row>>
    where
        Row: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
    {
        match (conn, district) {
            (DbConnection::Sqlite(c), None) => {
                diesel::sql_query(self.sqlite_all).bind::<Date, _>(from).bind::<Date, _>(to).load(c)
            }
            (DbConnection::Sqlite(c), Some(code)) => diesel::sql_query(self.sqlite_district)
                .bind::<Date, _>(from)
                .bind::<Date, _>(to)
                .bind::<Text, _>(code)
                .load(c),
            (DbConnection::Postgresql(c), None) => {
                diesel::sql_query(self.postgres_all).bind::<Date, _>(from).bind::<Date, _>(to).load(c)
            }
            (DbConnection::Postgresql(c), Some(code)) => diesel::sql_query(self.postgres_district)
                .bind::<Date, _>(from)
                .bind::<Date, _>(to)
                .bind::<Text, _>(code)
                .load(c),
        }
    }
}

/// What the banks took for the fines they settled: one payment per fine (its settled entry, not
/// reversed), its amount the fine plus the surcharge due on the day paid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName)]
pub struct BankTakings {
    #[diesel(sql_type = BigInt)]
    pub fen: i64,
}

/// A bank's statement line and its real-time post of one payment are two rows, but only the first
/// is `settled` (the other is `already_known`); a reversed entry paid nothing.
macro_rules! bank_takings {
    () => {
        "SELECT CAST(COALESCE(SUM(b.amount_fen), 0) AS BIGINT) AS fen \
         FROM fines f JOIN bank_payments b ON b.decision_no = f.decision_no"
    };
    ($status:literal) => {
        concat!(
            " AND ",
            $status,
            " = 'paid' AND f.paid_channel = 'bank' AND b.outcome = 'settled' AND b.reversed_by IS NULL"
        )
    };
}

const BANK_TAKINGS: Spelt =
    spelt!(bank_takings!(), bank_takings!("+f.status"), bank_takings!(), bank_takings!("f.status"));

/// What the banks took for the fines issued on the Beijing days `from..=to` that they settled.
pub fn bank_takings(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    district: Option<&str>,
) -> QueryResult<BankTakings> {
    Ok(BANK_TAKINGS.load(conn, from, to, district)?.into_iter().next().unwrap_or_default())
}

/// The paid fines of one channel whose time from issue to payment falls in one `unit`: to the
/// minute under a day (units 0 to 1439), to the hour under a week (1440 to 1583: hours 24 to
/// 167), to the day beyond (1584 on: days 7 on). A payment dated before its issue (a bank line
/// that gives only its day, paid the day the fine was issued) is in unit 0.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct DelayRow {
    #[diesel(sql_type = Nullable<Text>)]
    pub paid_channel: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub unit: i64,
    #[diesel(sql_type = BigInt)]
    pub fines: i64,
}

/// `s`, whole seconds from issue to payment (both cut to the second), per backend; the units as
/// [`DelayRow`] says. Integer division truncates, and `s` is not negative where it divides.
macro_rules! delays {
    ($seconds:literal) => {
        concat!(
            "SELECT paid_channel, CASE WHEN s < 60 THEN 0 WHEN s < 86400 THEN s / 60 \
             WHEN s < 604800 THEN 1416 + s / 3600 ELSE 1577 + s / 86400 END AS unit, COUNT(*) AS fines \
             FROM (SELECT f.paid_channel, ",
            $seconds,
            " AS s FROM fines f"
        )
    };
}

const DELAYS: Spelt = spelt!(
    delays!("unixepoch(f.paid_at) - unixepoch(f.issued_at)"),
    " AND +f.status = 'paid') AS paid GROUP BY 1, 2 ORDER BY 1, 2",
    delays!("CAST(EXTRACT(EPOCH FROM date_trunc('second', f.paid_at) - date_trunc('second', f.issued_at)) AS BIGINT)"),
    " AND f.status = 'paid') AS paid GROUP BY 1, 2 ORDER BY 1, 2"
);

/// The paid fines issued on the Beijing days `from..=to`, counted by channel and time to payment.
pub fn delays(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    district: Option<&str>,
) -> QueryResult<Vec<DelayRow>> {
    DELAYS.load(conn, from, to, district)
}

/// The fines of one district, status and paid channel that were issued with a QR window, and
/// whether they were paid before it ended (`in_window` 1) or not (0: paid later, or not paid).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct WindowRow {
    #[diesel(sql_type = Text)]
    pub district_code: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub paid_channel: Option<String>,
    #[diesel(sql_type = Integer)]
    pub in_window: i32,
    #[diesel(sql_type = BigInt)]
    pub fines: i64,
}

/// Paid in the window as a QR payment must be: strictly before the window's end.
const WINDOW: Spelt = spelt!(
    "SELECT f.district_code, f.status, f.paid_channel, \
     CASE WHEN f.paid_at < f.qr_expires_at THEN 1 ELSE 0 END AS in_window, COUNT(*) AS fines FROM fines f",
    " AND f.qr_expires_at IS NOT NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
);

/// The fines issued with a QR window on the Beijing days `from..=to`, grouped.
pub fn qr_window(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    district: Option<&str>,
) -> QueryResult<Vec<WindowRow>> {
    WINDOW.load(conn, from, to, district)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What keeps the page cheap over millions of fines: SQLite reads the range of days from the
    /// covering index alone, never the fines themselves; the banks' takings look their payments
    /// up by fine.
    #[test]
    fn sqlite_answers_from_the_covering_index() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/stats.db", dir.path().display());
        let pool = crate::db::DbPool::connect(&url, 2, std::time::Duration::from_secs(5)).expect("pool");
        crate::db::migrate::run_pending(&pool).expect("migrations");
        let mut conn = pool.get().expect("connection");
        let DbConnection::Sqlite(c) = &mut *conn else { panic!("a SQLite connection") };
        #[derive(QueryableByName)]
        struct PlanLine {
            #[diesel(sql_type = Text)]
            detail: String,
        }
        let day = NaiveDate::default();
        let mut plan_of = |sql: &str, district: Option<&str>| -> Vec<String> {
            let query =
                diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).bind::<Date, _>(day).bind::<Date, _>(day);
            let lines: Vec<PlanLine> = match district {
                Some(code) => query.bind::<Text, _>(code).load(c),
                None => query.load(c),
            }
            .expect("plan");
            lines.into_iter().map(|l| l.detail).collect()
        };
        for (spelt, looks_up_bank_payments) in [(&BANK_TAKINGS, true), (&DELAYS, false), (&WINDOW, false)] {
            for (sql, district) in [(spelt.sqlite_all, None), (spelt.sqlite_district, Some("110105"))] {
                let plan = plan_of(sql, district);
                assert!(plan.iter().any(|l| l.contains("COVERING INDEX fines_for_stats")), "{sql}: {plan:?}");
                let by_fine = plan.iter().any(|l| l.contains("INDEX bank_payments_by_fine"));
                assert_eq!(by_fine, looks_up_bank_payments, "{sql}: {plan:?}");
                assert!(!plan.iter().any(|l| l.starts_with("SCAN")), "no table or index read whole: {plan:?}");
            }
        }
    }
}
