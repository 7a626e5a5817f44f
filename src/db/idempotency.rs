//! Durable idempotency records: the response to a request, stored in the same transaction as the
//! business write it answers, keyed by (credential, client key). Retries replay it verbatim.

use super::DbConnection;
use super::schema::idempotency_keys;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRecord {
    pub credential_id: String,
    pub idempotency_key: String,
    pub request_hash: String,
    pub response_status: i32,
    pub response_body: String,
    pub created_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, credential: &str, key: &str) -> QueryResult<Option<IdempotencyRecord>> {
    super::unique_row(idempotency_keys::table.find((credential, key)).select(IdempotencyRecord::as_select()), conn)
}

/// The records among `keys` (credential, key) that exist.
pub fn find_many(conn: &mut DbConnection, keys: &[(&str, &str)]) -> QueryResult<Vec<IdempotencyRecord>> {
    let credentials: Vec<&str> = keys.iter().map(|(c, _)| *c).collect();
    let names: Vec<&str> = keys.iter().map(|(_, k)| *k).collect();
    // `IN` lists bind differently per backend (arrays on PostgreSQL), so this runs per backend;
    // the filter selects a superset and the exact pairs are kept below.
    macro_rules! load {
        ($c:expr) => {
            idempotency_keys::table
                .filter(idempotency_keys::credential_id.eq_any(&credentials))
                .filter(idempotency_keys::idempotency_key.eq_any(&names))
                .select(IdempotencyRecord::as_select())
                .load($c)
        };
    }
    let found: Vec<IdempotencyRecord> = match conn {
        DbConnection::Sqlite(c) => load!(c),
        DbConnection::Postgresql(c) => load!(c),
    }?;
    Ok(found
        .into_iter()
        .filter(|r| keys.iter().any(|(c, k)| r.credential_id == *c && r.idempotency_key == *k))
        .collect())
}

pub fn insert_many(conn: &mut DbConnection, records: &[IdempotencyRecord]) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(idempotency_keys::table).values(records).execute(c),
        DbConnection::Postgresql(c) => diesel::insert_into(idempotency_keys::table).values(records).execute(c),
    }
    .map(|_| ())
}

pub fn insert(conn: &mut DbConnection, record: &IdempotencyRecord) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table).values(record).execute(conn).map(|_| ())
}

/// Deletes a slice of the records created before `cutoff`, oldest first: those up to the
/// `batch`-th oldest's creation time. Returns how many went; fewer than `batch` means done.
pub fn prune(conn: &mut DbConnection, cutoff: NaiveDateTime, batch: i64) -> QueryResult<usize> {
    let old = idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff));
    let slice_end: Option<NaiveDateTime> = old
        .order(idempotency_keys::created_at)
        .offset(batch - 1)
        .select(idempotency_keys::created_at)
        .first(conn)
        .optional()?;
    let upto = idempotency_keys::created_at.le(slice_end.unwrap_or(cutoff));
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff)).filter(upto)).execute(conn)
}
