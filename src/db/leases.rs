//! `job_leases`: which instance runs a job right now. A lease is taken, renewed and given back by
//! conditional updates (the same SQL on both backends), so of several instances whose schedules
//! fire together exactly one runs the job; a holder that dies loses its lease when it runs out.

use super::DbConnection;
use super::schema::job_leases;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = job_leases)]
pub struct LeaseRow {
    pub job: String,
    pub holder: Option<String>,
    #[serde(serialize_with = "crate::db::shown::beijing_opt")]
    pub lease_until: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::shown::beijing_opt")]
    pub last_started_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::shown::beijing_opt")]
    pub last_finished_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::shown::json_text_opt")]
    pub last_outcome: Option<String>,
    pub runs: i64,
}

/// Takes the lease on `job` for `holder` until `until`, if nobody holds it or its holder's lease
/// has run out. False when another holder has it.
pub fn take(
    conn: &mut DbConnection,
    job: &str,
    holder: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    ensure_row(conn, job)?;
    let free = job_leases::holder.is_null().or(job_leases::lease_until.lt(now));
    let taken = diesel::update(job_leases::table.find(job).filter(free))
        .set((job_leases::holder.eq(holder), job_leases::lease_until.eq(until), job_leases::last_started_at.eq(now)))
        .execute(conn)?;
    Ok(taken == 1)
}

/// Extends a lease `holder` still has. False when it has lost it (it ran out and another took it).
pub fn renew(conn: &mut DbConnection, job: &str, holder: &str, until: NaiveDateTime) -> QueryResult<bool> {
    let renewed = diesel::update(job_leases::table.find(job).filter(job_leases::holder.eq(holder)))
        .set(job_leases::lease_until.eq(until))
        .execute(conn)?;
    Ok(renewed == 1)
}

/// Gives the lease back and records how the run ended. False when `holder` no longer had it.
pub fn release(
    conn: &mut DbConnection,
    job: &str,
    holder: &str,
    at: NaiveDateTime,
    outcome: &str,
) -> QueryResult<bool> {
    let released = diesel::update(job_leases::table.find(job).filter(job_leases::holder.eq(holder)))
        .set((
            job_leases::holder.eq(None::<String>),
            job_leases::lease_until.eq(None::<NaiveDateTime>),
            job_leases::last_finished_at.eq(at),
            job_leases::last_outcome.eq(outcome),
            job_leases::runs.eq(job_leases::runs + 1),
        ))
        .execute(conn)?;
    Ok(released == 1)
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<LeaseRow>> {
    job_leases::table.order(job_leases::job).select(LeaseRow::as_select()).load(conn)
}

/// The job's lease row, created free the first time the job runs anywhere.
fn ensure_row(conn: &mut DbConnection, job: &str) -> QueryResult<()> {
    let row = job_leases::job.eq(job);
    match conn {
        DbConnection::Sqlite(c) => {
            diesel::insert_into(job_leases::table).values(row).on_conflict_do_nothing().execute(c)
        }
        DbConnection::Postgresql(c) => {
            diesel::insert_into(job_leases::table).values(row).on_conflict_do_nothing().execute(c)
        }
    }
    .map(|_| ())
}
