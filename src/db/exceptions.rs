//! `exceptions`: the queue of what a person has to look at — a payment a channel does not know,
//! an amount that differs from ours. Each is raised once by its natural key (source, kind,
//! reference): a job that finds the same thing again on its next run changes nothing.

use super::DbConnection;
use super::schema::exceptions;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = exceptions)]
pub struct ExceptionRow {
    pub id: i64,
    pub kind: String,
    pub source: String,
    pub reference: String,
    pub decision_no: Option<String>,
    pub statement_date: Option<NaiveDate>,
    pub amount_fen: Option<i64>,
    pub expected_fen: Option<i64>,
    pub details: String,
    pub raised_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = exceptions)]
// None is bound as NULL (every nullable column defaults to NULL): one SQL text, and rows of a
// batch go into one multi-row insert.
#[diesel(treat_none_as_default_value = false)]
pub struct NewException<'a> {
    pub kind: &'a str,
    /// Who found it: a channel's name for reconciliation.
    pub source: &'a str,
    /// The natural key within the source and kind (a channel transaction id, say).
    pub reference: &'a str,
    pub decision_no: Option<&'a str>,
    pub statement_date: Option<NaiveDate>,
    /// What the other side says.
    pub amount_fen: Option<i64>,
    /// What finepay has.
    pub expected_fen: Option<i64>,
    /// A JSON object with the facts.
    pub details: &'a str,
    pub raised_at: NaiveDateTime,
}

/// Raises the exception unless it was raised before. True when it is new.
pub fn raise(conn: &mut DbConnection, exception: &NewException<'_>) -> QueryResult<bool> {
    let inserted = match conn {
        DbConnection::Sqlite(c) => {
            diesel::insert_into(exceptions::table).values(exception).on_conflict_do_nothing().execute(c)
        }
        DbConnection::Postgresql(c) => {
            diesel::insert_into(exceptions::table).values(exception).on_conflict_do_nothing().execute(c)
        }
    }?;
    Ok(inserted == 1)
}

/// Raises each exception not raised before, `super::BULK_CHUNK` to a statement.
pub fn raise_many(conn: &mut DbConnection, rows: &[NewException<'_>]) -> QueryResult<()> {
    for chunk in rows.chunks(super::BULK_CHUNK) {
        match conn {
            DbConnection::Sqlite(c) => {
                diesel::insert_into(exceptions::table).values(chunk).on_conflict_do_nothing().execute(c)
            }
            DbConnection::Postgresql(c) => {
                diesel::insert_into(exceptions::table).values(chunk).on_conflict_do_nothing().execute(c)
            }
        }?;
    }
    Ok(())
}

/// The exceptions raised about the statement days from `from` to `to` (inclusive), oldest first.
pub fn for_statements(conn: &mut DbConnection, from: NaiveDate, to: NaiveDate) -> QueryResult<Vec<ExceptionRow>> {
    exceptions::table
        .filter(exceptions::statement_date.between(from, to))
        .order(exceptions::id)
        .select(ExceptionRow::as_select())
        .load(conn)
}
