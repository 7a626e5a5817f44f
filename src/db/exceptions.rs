//! `exceptions`: the queue of what a person has to look at — a payment a channel does not know,
//! an amount that differs from ours. Each is raised once by its natural key (source, kind,
//! reference): a job that finds the same thing again on its next run changes nothing. A person
//! resolves each once, by a conditional update.

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
    #[serde(serialize_with = "crate::db::shown::json_text")]
    pub details: String,
    #[serde(serialize_with = "crate::db::shown::beijing")]
    pub raised_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::shown::beijing_opt")]
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

/// Which exceptions a listing shows, by whether someone has resolved them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Open,
    Resolved,
    All,
}

/// A page of the queue: exceptions after `after_id`, by id, at most `limit`.
#[derive(Debug, Clone)]
pub struct ListFilter<'a> {
    pub resolution: Resolution,
    pub source: Option<&'a str>,
    pub kind: Option<&'a str>,
    /// Only exceptions about fines of this district (decision numbers start with its code).
    pub district: Option<&'a str>,
    /// Only those raised at or after this instant, and before that one.
    pub raised_from: Option<NaiveDateTime>,
    pub raised_before: Option<NaiveDateTime>,
    pub after_id: i64,
    pub limit: i64,
}

/// The exceptions `filter` names, oldest (lowest id) first.
pub fn list(conn: &mut DbConnection, filter: &ListFilter<'_>) -> QueryResult<Vec<ExceptionRow>> {
    let mut query = exceptions::table.filter(exceptions::id.gt(filter.after_id)).into_boxed();
    query = match filter.resolution {
        Resolution::Open => query.filter(exceptions::resolved_at.is_null()),
        Resolution::Resolved => query.filter(exceptions::resolved_at.is_not_null()),
        Resolution::All => query,
    };
    if let Some(source) = filter.source {
        query = query.filter(exceptions::source.eq(source));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(exceptions::kind.eq(kind));
    }
    if let Some(from) = filter.raised_from {
        query = query.filter(exceptions::raised_at.ge(from));
    }
    if let Some(before) = filter.raised_before {
        query = query.filter(exceptions::raised_at.lt(before));
    }
    if let Some(district) = filter.district {
        // A 6-digit code, checked by the caller: no pattern characters in it.
        query = query.filter(exceptions::decision_no.like(format!("{district}%")));
    }
    query.order(exceptions::id).limit(filter.limit).select(ExceptionRow::as_select()).load(conn)
}

/// The exceptions raised about one fine, oldest first (index `exceptions_by_fine`).
pub fn for_fine(conn: &mut DbConnection, decision_no: &str) -> QueryResult<Vec<ExceptionRow>> {
    exceptions::table
        .filter(exceptions::decision_no.eq(decision_no))
        .order(exceptions::id)
        .select(ExceptionRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<ExceptionRow>> {
    super::unique_row(exceptions::table.find(id).select(ExceptionRow::as_select()), conn)
}

/// Marks an open exception resolved, in one conditional update. False when there is no such
/// exception or someone resolved it first.
pub fn resolve(conn: &mut DbConnection, id: i64, by: &str, at: NaiveDateTime, resolution: &str) -> QueryResult<bool> {
    let updated = diesel::update(exceptions::table.find(id).filter(exceptions::resolved_at.is_null()))
        .set((
            exceptions::resolved_at.eq(Some(at)),
            exceptions::resolved_by.eq(Some(by)),
            exceptions::resolution.eq(Some(resolution)),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Names the fine an exception turned out to be about (a bank line matched to one at the desk):
/// only if it named none. False otherwise.
pub fn name_fine(conn: &mut DbConnection, id: i64, decision_no: &str) -> QueryResult<bool> {
    let updated = diesel::update(exceptions::table.find(id).filter(exceptions::decision_no.is_null()))
        .set(exceptions::decision_no.eq(Some(decision_no)))
        .execute(conn)?;
    Ok(updated == 1)
}
