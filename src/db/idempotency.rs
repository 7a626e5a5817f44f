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
    idempotency_keys::table.find((credential, key)).select(IdempotencyRecord::as_select()).first(conn).optional()
}

pub fn insert(conn: &mut DbConnection, record: &IdempotencyRecord) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table).values(record).execute(conn).map(|_| ())
}
