//! The counts behind the admin statistics: fines grouped in the database by Beijing issue day,
//! district, status and paid channel — a few rows per day and district, however many fines. The
//! Beijing day is spelt per backend; the `fines_for_stats` index is keyed by it and covers the query.

use super::DbConnection;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text};

/// The fines of one issue day, district, status and paid channel.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct GroupRow {
    /// The issue day in Asia/Shanghai.
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
    #[diesel(sql_type = Text)]
    pub district_code: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub paid_channel: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub fines: i64,
    #[diesel(sql_type = BigInt)]
    pub fen: i64,
}

/// The query over the Beijing days `? ..= ?`, optionally of one district. `$day` is the backend's
/// expression for the Beijing date of `issued_at` (UTC + 8 hours: China keeps no summer time),
/// spelt exactly as in the `fines_for_stats` index, which is keyed by the grouping, so the
/// groups come out of the index in order. SUM is cast: PostgreSQL sums BIGINT into NUMERIC.
macro_rules! grouped {
    ($day:literal, $where:literal) => {
        concat!(
            "SELECT ",
            $day,
            " AS day, district_code, status, paid_channel, COUNT(*) AS fines, \
             CAST(SUM(amount_fen) AS BIGINT) AS fen FROM fines WHERE ",
            $day,
            $where,
            " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )
    };
}

const SQLITE_ALL: &str = grouped!("date(issued_at, '+8 hours')", " BETWEEN ? AND ?");
// `+district_code`: left to itself SQLite reads the district's every fine through the older
// (district, issued_at) index, which cannot use the range of days, rather than the range of days
// from the covering index.
const SQLITE_DISTRICT: &str = grouped!("date(issued_at, '+8 hours')", " BETWEEN ? AND ? AND +district_code = ?");
const POSTGRES_ALL: &str = grouped!("((issued_at + interval '8 hours')::date)", " BETWEEN $1 AND $2");
const POSTGRES_DISTRICT: &str =
    grouped!("((issued_at + interval '8 hours')::date)", " BETWEEN $1 AND $2 AND district_code = $3");

/// The fines issued on the Beijing days from `from` to `to` (inclusive), grouped.
pub fn grouped(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    district: Option<&str>,
) -> QueryResult<Vec<GroupRow>> {
    match (conn, district) {
        (DbConnection::Sqlite(c), None) => {
            diesel::sql_query(SQLITE_ALL).bind::<Date, _>(from).bind::<Date, _>(to).load(c)
        }
        (DbConnection::Sqlite(c), Some(code)) => {
            diesel::sql_query(SQLITE_DISTRICT).bind::<Date, _>(from).bind::<Date, _>(to).bind::<Text, _>(code).load(c)
        }
        (DbConnection::Postgresql(c), None) => {
            diesel::sql_query(POSTGRES_ALL).bind::<Date, _>(from).bind::<Date, _>(to).load(c)
        }
        (DbConnection::Postgresql(c), Some(code)) => {
            diesel::sql_query(POSTGRES_DISTRICT).bind::<Date, _>(from).bind::<Date, _>(to).bind::<Text, _>(code).load(c)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What keeps the statistics cheap over millions of fines: SQLite reads the range of days from
    /// the covering index alone, in group order, without a table lookup or a sort.
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
        let query = |sql: &str| diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).bind::<Date, _>(day);
        let all: Vec<PlanLine> = query(SQLITE_ALL).bind::<Date, _>(day).load(c).expect("plan");
        let one: Vec<PlanLine> =
            query(SQLITE_DISTRICT).bind::<Date, _>(day).bind::<Text, _>("110105").load(c).expect("plan");
        for (sql, plan) in [(SQLITE_ALL, all), (SQLITE_DISTRICT, one)] {
            let plan: Vec<String> = plan.into_iter().map(|l| l.detail).collect();
            assert!(plan.iter().any(|l| l.contains("COVERING INDEX fines_for_stats")), "{sql}: {plan:?}");
            assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "groups come in index order: {plan:?}");
        }
    }
}
