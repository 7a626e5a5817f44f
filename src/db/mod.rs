//! Storage over SQLite (embedded, the default) and PostgreSQL (several instances), one code base:
//! a diesel `MultiConnection` picked by the URL scheme, an r2d2 pool, embedded migrations per
//! backend. Queries live in one module per table; backend-specific SQL only inside a `match`.

/// Runs `$body` with `$c` bound to the concrete connection behind a [`DbConnection`]. For the
/// hot queries: on a concrete connection diesel finds its prepared statement by the query's type,
/// where through MultiConnection it first rebuilds and hashes the SQL text.
macro_rules! on_concrete {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Postgresql($c) => $body,
        }
    };
}
pub(crate) use on_concrete;

/// Declares statements written out for PostgreSQL (`unnest` over one array per column) as
/// prepared once per connection: their SQL is the same whatever the number of rows, so diesel may
/// cache them under their own type. (A multi-row `VALUES` list is new SQL for every size, parsed
/// and planned each time: on PostgreSQL that cost more than the rows' own writing.)
macro_rules! prepared_once_on_postgres {
    ($($statement:ident),*) => {$(
        impl diesel::query_builder::QueryId for $statement<'_> {
            type QueryId = $statement<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl diesel::RunQueryDsl<diesel::PgConnection> for $statement<'_> {}
    )*};
}
pub(crate) use prepared_once_on_postgres;

pub mod admin_sessions;
pub mod audit;
pub mod backup;
pub mod bank_payments;
pub mod bank_statements;
pub mod channel_orders;
mod checkpoint;
pub mod credentials;
pub mod exceptions;
pub mod fines;
mod fixed_shape;
pub mod idempotency;
pub mod leases;
pub mod migrate;
pub mod oauth_states;
pub mod pay_page;
pub mod payment_stats;
pub mod payments;
mod pool;
pub mod rate_limits;
pub mod reconciliation;
pub mod refunds;
pub mod schema;
pub mod serials;
mod settings;
mod shown;
pub mod stats;
mod writer;

pub use pool::{DbPool, LostRace, PoolError};
pub use settings::DatabaseSettings;
pub(crate) use shown::json_value;

/// Keys per `IN (…)` list and rows per multi-row insert: SQLite binds at most 32,766 values in
/// one statement and PostgreSQL 65,535, and a batch's size is configured up to 100,000.
pub const BULK_CHUNK: usize = 1000;

/// The rows `load` finds for `keys`, read [`BULK_CHUNK`] keys (one `IN (…)` list) at a time.
pub fn load_in_chunks<K, T>(keys: &[K], mut load: impl FnMut(&[K]) -> QueryResult<Vec<T>>) -> QueryResult<Vec<T>> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(BULK_CHUNK) {
        found.extend(load(chunk)?);
    }
    Ok(found)
}
pub use writer::{Batch, BatchWriter, WriteError};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::query_dsl::methods::LoadQuery;
use diesel::{QueryResult, RunQueryDsl};

/// The row a lookup by a unique key finds, if any. Deliberately not `.first()`: that appends a
/// bound `LIMIT ?`, and SQLite re-prepares a statement whose LIMIT is a bound parameter at every
/// execution (it plans around the bound value), which costs more than the lookup itself. A
/// unique key needs no limit.
pub fn unique_row<'q, Q, C, U>(query: Q, conn: &mut C) -> QueryResult<Option<U>>
where
    C: diesel::Connection,
    Q: RunQueryDsl<C> + LoadQuery<'q, C, U>,
{
    query.load_iter(conn)?.next().transpose()
}

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Which database a URL names. Picked here rather than by trying each driver in turn, so that a
/// connection failure reports its real cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite { path: String },
    Postgres { url: String },
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://data/finepay.db".into());
            }
            Ok(Backend::Sqlite { path: path.to_owned() })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres { url: url.to_owned() })
        } else {
            // The URL may carry a password: name only its scheme.
            let scheme = url.split_once("://").map_or("(none)", |(scheme, _)| scheme);
            Err(format!("the URL scheme {scheme:?} is neither sqlite:// nor postgres://"))
        }
    }

    /// The database for messages: the SQLite file, or the PostgreSQL server and database without
    /// the user and password the URL may carry.
    pub fn describe(&self) -> String {
        match self {
            Backend::Sqlite { path } => path.clone(),
            Backend::Postgres { url } => {
                let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
                let host_and_db = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
                let without_query = host_and_db.split('?').next().unwrap_or_default();
                format!("postgres://{without_query}")
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }
}

/// Runs `body` in one transaction that writes. On SQLite it begins IMMEDIATE, taking the write
/// lock up front: a deferred transaction that reads and then writes can fail with SQLITE_BUSY
/// however long busy_timeout is. Nested `conn.transaction` calls inside become savepoints.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    body: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match body(conn) {
        Ok(value) => match DbConnection::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(commit_error) => {
                // The transaction may still be open after a failed COMMIT; undo it.
                let _ = DbConnection::rollback_transaction(conn);
                Err(commit_error.into())
            }
        },
        Err(error) => {
            // If the rollback fails too (the connection is gone), the body's error is the one
            // that explains what happened; the pool discards the broken connection.
            if let Err(rollback) = DbConnection::rollback_transaction(conn) {
                log::warn!("rollback failed: {rollback}");
            }
            Err(error)
        }
    }
}

/// Runs `body`'s reads in one snapshot, so that figures read by several queries agree with each
/// other: a SQLite read transaction (WAL keeps it the database as it was at its first read), a
/// PostgreSQL transaction REPEATABLE READ and READ ONLY (otherwise each statement sees its own).
pub fn read_snapshot<T>(
    conn: &mut DbConnection,
    body: impl FnOnce(&mut DbConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction(c)?,
        DbConnection::Postgresql(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")?
        }
    }
    let read = body(conn);
    // Nothing was written: ending it is all there is to do, and a failure to end it leaves the
    // connection for the pool to discard.
    let ended = DbConnection::rollback_transaction(conn);
    let value = read?;
    ended?;
    Ok(value)
}

/// True when a diesel error is a UNIQUE violation: another writer got there first.
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

/// True when a statement lost a race that a retry resolves: a UNIQUE violation (another writer
/// committed the same key first), a serialization failure, or a deadlock victim.
pub fn is_retryable(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

/// A database of its own for a unit test.
#[cfg(test)]
pub(crate) mod testing {
    use super::{DbPool, migrate};

    /// A fresh SQLite database with finepay's schema; the folder holding it is removed when the
    /// first half is dropped, so keep it alive as long as the pool.
    pub(crate) fn temp_pool() -> (tempfile::TempDir, DbPool) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/unit.db", dir.path().display());
        let pool = DbPool::connect(&url, 2, std::time::Duration::from_secs(5)).expect("pool");
        migrate::run_pending(&pool).expect("migrations");
        (dir, pool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_is_picked_by_scheme() {
        assert_eq!(Backend::from_url("sqlite://data/x.db"), Ok(Backend::Sqlite { path: "data/x.db".into() }));
        assert!(matches!(Backend::from_url("postgres://localhost/test"), Ok(Backend::Postgres { .. })));
        assert!(matches!(Backend::from_url("postgresql://localhost/test"), Ok(Backend::Postgres { .. })));
        assert!(Backend::from_url("mysql://localhost/test").is_err());
        assert!(Backend::from_url("sqlite://").is_err());
        assert!(Backend::from_url("data/finepay.db").is_err());
        let with_password = Backend::from_url("postgres://app:s3cret@db.internal:5432/finepay?sslmode=require");
        assert_eq!(with_password.map(|b| b.describe()), Ok("postgres://db.internal:5432/finepay".to_owned()));
    }
}
