//! The connection pool. SQLite connections get their pragmas on every checkout-to-be (busy_timeout
//! first, so the others never meet "database is locked"); PostgreSQL ones are used as they come.

use super::{Backend, DbConnection};
use crate::errors::Why;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError};
use std::time::Duration;

pub(super) type PooledConnection = r2d2::PooledConnection<Manager>;

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("database URL: {0}")]
    Url(String),
    #[error("database connection to {target}")]
    Connect { target: String, source: Why },
    #[error("no database connection became free in time: {0}")]
    Exhausted(#[from] r2d2::PoolError),
}

#[derive(Clone)]
pub struct DbPool {
    inner: r2d2::Pool<Manager>,
    backend: Backend,
    /// SQLite has one writer at a time. Queuing writers here, in-process, replaces SQLite's
    /// sleep-and-retry busy handler, which wastes milliseconds per conflict under load.
    write_gate: Arc<Mutex<()>>,
    /// Writers answering a request that are waiting at the gate: background writers (the jobs)
    /// let them go first.
    foreground_waiting: Arc<AtomicUsize>,
    /// Keeps the SQLite checkpointer running while any clone of the pool exists.
    _checkpointer: Option<Arc<super::checkpoint::Running>>,
}

impl DbPool {
    pub fn connect(url: &str, size: u32, timeout: Duration) -> Result<DbPool, PoolError> {
        let backend = Backend::from_url(url).map_err(PoolError::Url)?;
        if let Backend::Sqlite { path } = &backend
            && let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| PoolError::Connect { target: parent.display().to_string(), source: Why::of(e) })?;
        }
        // Establish one connection eagerly so a bad URL fails with its real cause, not a timeout.
        Manager { backend: backend.clone() }.connect()?;
        let inner = r2d2::Pool::builder()
            // A PostgreSQL session can be dropped by the server (restart, failover, idle timeout):
            // test it before lending it. A SQLite connection is a file handle that cannot be.
            .test_on_check_out(matches!(backend, Backend::Postgres { .. }))
            .max_size(size)
            // No connections opened in the background: a libpq connection still being set up on
            // a pool thread when a short command (credentials, migrate) exits made the process
            // crash in OpenSSL's exit handlers. Connections open on demand instead.
            .min_idle(Some(0))
            .connection_timeout(timeout)
            .build(Manager { backend: backend.clone() })
            .map_err(PoolError::Exhausted)?;
        let checkpointer = match &backend {
            Backend::Sqlite { path } => Some(super::checkpoint::start(path).map_err(|e| PoolError::Connect {
                target: format!("{path} (its checkpointer thread)"),
                source: Why::of(e),
            })?),
            Backend::Postgres { .. } => None,
        };
        Ok(DbPool {
            inner,
            backend,
            write_gate: Arc::new(Mutex::new(())),
            foreground_waiting: Arc::new(AtomicUsize::new(0)),
            _checkpointer: checkpointer,
        })
    }

    pub fn get(&self) -> Result<PooledConnection, PoolError> {
        Ok(self.inner.get()?)
    }

    /// A connection if one is free right now (or can be opened at once), without waiting.
    pub fn try_get(&self) -> Option<PooledConnection> {
        self.inner.try_get()
    }

    /// Runs `body` as one write transaction (see [`super::write_transaction`]), one at a time
    /// per process on SQLite.
    pub fn write<T, E>(
        &self,
        conn: &mut DbConnection,
        body: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        let _turn = self.is_sqlite().then(|| {
            self.foreground_waiting.fetch_add(1, Ordering::SeqCst);
            let turn = self.gate();
            self.foreground_waiting.fetch_sub(1, Ordering::SeqCst);
            turn
        });
        super::write_transaction(conn, body)
    }

    /// As [`DbPool::write`], and again when the transaction lost a race that running it anew
    /// resolves (see [`LostRace`]): another writer committed the same key first, a serialization
    /// failure, a deadlock. Each run is a transaction of its own, so a lost run leaves nothing
    /// behind, and the next one sees what the winner wrote. At most [`WRITE_ATTEMPTS`] runs.
    pub fn write_retrying<T, E>(
        &self,
        conn: &mut DbConnection,
        mut body: impl FnMut(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error> + LostRace + std::error::Error + 'static,
    {
        retry_lost_races(|| self.write(conn, &mut body))
    }

    /// As [`DbPool::write_retrying`], taking its turns as [`DbPool::write_in_background`] does.
    pub fn write_in_background_retrying<T, E>(
        &self,
        conn: &mut DbConnection,
        mut body: impl FnMut(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error> + LostRace + std::error::Error + 'static,
    {
        retry_lost_races(|| self.write_in_background(conn, &mut body))
    }

    /// As [`DbPool::write`], for work nobody is waiting on (a job's batch): on SQLite it takes
    /// its turn only when no request's writer is waiting, so a long sweep delays an officer's
    /// write by one batch at most.
    pub fn write_in_background<T, E>(
        &self,
        conn: &mut DbConnection,
        body: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        let _turn = self.is_sqlite().then(|| {
            loop {
                while self.foreground_waiting.load(Ordering::SeqCst) > 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
                let turn = self.gate();
                if self.foreground_waiting.load(Ordering::SeqCst) == 0 {
                    break turn;
                }
            }
        });
        super::write_transaction(conn, body)
    }

    fn gate(&self) -> MutexGuard<'_, ()> {
        self.write_gate.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self.backend, Backend::Sqlite { .. })
    }

    /// For a background writer between two of its transactions. The checkpointer thread's
    /// passive checkpoints copy the write-ahead log while writers go on appending to it, and SQLite
    /// starts the log afresh only when a write finds it wholly copied: a writer committing batch
    /// after batch (a statement import) never lets that happen, and the log grew to a gigabyte
    /// over a million lines, its index (the `-shm` file, mapped into every process using the
    /// database) by 2 MB. So once the log has passed the size it is cut back to, the writer
    /// checkpoints it itself, between its own writes, and the next write starts it afresh. On
    /// PostgreSQL: nothing.
    pub fn keep_wal_short(&self, conn: &mut DbConnection) {
        let Backend::Sqlite { path } = &self.backend else { return };
        let wal = std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len());
        if wal > WAL_CHECKPOINT_BYTES
            && let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);")
        {
            log::warn!("checkpoint between background writes: {e}");
        }
    }
}

/// How many times [`DbPool::write_retrying`] runs a transaction that keeps losing races. Each loss
/// means another writer committed: five in a row would take a pathological burst on one key.
pub(super) const WRITE_ATTEMPTS: u32 = 5;

/// An error that may mean the transaction lost a race with another writer, so that running it
/// again resolves it.
pub trait LostRace {
    fn lost_race(&self) -> bool;
}

impl LostRace for diesel::result::Error {
    fn lost_race(&self) -> bool {
        super::is_retryable(self)
    }
}

/// A failed connection, naming the database without a password: a PostgreSQL URL may hold one,
/// so only its scheme, host and database are named.
fn connect_error(backend: &Backend, error: impl std::error::Error + Send + Sync + 'static) -> PoolError {
    PoolError::Connect { target: backend.describe(), source: Why::of(error) }
}

/// Runs `write` until it does not lose a race, at most [`WRITE_ATTEMPTS`] times.
fn retry_lost_races<T, E: LostRace + std::error::Error + 'static>(
    mut write: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let mut attempt = 1;
    loop {
        match write() {
            Err(e) if e.lost_race() && attempt < WRITE_ATTEMPTS => {
                log::info!("a write lost a race with another writer; running it again: {}", crate::errors::chain(&e));
                attempt += 1;
            }
            other => return other,
        }
    }
}

pub struct Manager {
    backend: Backend,
}

/// The write-ahead log's size past which a background writer checkpoints it (see
/// [`DbPool::keep_wal_short`]): the size `journal_size_limit` cuts it back to.
const WAL_CHECKPOINT_BYTES: u64 = 64 * 1024 * 1024;

/// Applied to every SQLite connection. WAL is set once, by the migration step.
/// `synchronous = FULL`: every commit is on disk (the WAL fsynced) before finepay answers, so an
/// acknowledged fine, payment or bank record survives a power loss; under NORMAL the last commits
/// before one could be lost. The group-commit writers make that one fsync per batch, not per
/// request. Checkpoints are left to the checkpointer thread (see `checkpoint.rs`); the journal
/// limit shrinks the WAL file back after a burst.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                              PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;";

/// A stuck statement or lock fails (and is retried or reported as 503) instead of hanging.
const POSTGRES_SETTINGS: &str = "SET statement_timeout = '30s'; SET lock_timeout = '10s';";

/// SQLite ships in "serialized" mode with memory statistics on: every call and every allocation
/// takes a global mutex. finepay never shares a connection between threads (the pool lends each
/// to one thread at a time), which is what "multi-thread" mode requires, and reads no memory
/// statistics. Both settings only take effect before SQLite initialises, hence the Once before
/// the first connection; if SQLite is already initialised the calls fail and change nothing.
fn configure_sqlite_library() {
    static CONFIGURED: Once = Once::new();
    CONFIGURED.call_once(|| {
        // SAFETY: sqlite3_config is called with the argument types its documentation gives for
        // these options (none; one int), from one thread, before any connection exists.
        unsafe {
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD);
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int);
        }
    });
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = PoolError;

    fn connect(&self) -> Result<DbConnection, PoolError> {
        match &self.backend {
            Backend::Sqlite { path } => {
                configure_sqlite_library();
                let mut conn = SqliteConnection::establish(path).map_err(|e| connect_error(&self.backend, e))?;
                conn.batch_execute(SQLITE_PRAGMAS).map_err(|e| connect_error(&self.backend, e))?;
                Ok(DbConnection::Sqlite(conn))
            }
            Backend::Postgres { url } => {
                let mut conn = PgConnection::establish(url).map_err(|e| connect_error(&self.backend, e))?;
                conn.batch_execute(POSTGRES_SETTINGS).map_err(|e| connect_error(&self.backend, e))?;
                Ok(DbConnection::Postgresql(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), PoolError> {
        conn.batch_execute("SELECT 1").map_err(|e| connect_error(&self.backend, e))
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.is_broken()
    }
}
