//! Embedded migrations, one folder per backend with the same version names, applied at start and
//! by `finepay migrate`. SQLite switches to WAL here, once, before any pooled work.

use super::{DbConnection, DbPool, PoolError};
use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error("applying migrations: {0}")]
    Apply(String),
}

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(pool: &DbPool) -> Result<Vec<String>, MigrateError> {
    let mut conn = pool.get()?;
    let conn: &mut DbConnection = &mut conn;
    let applied = match conn {
        DbConnection::Sqlite(c) => {
            c.batch_execute("PRAGMA journal_mode = WAL;").map_err(|e| MigrateError::Apply(e.to_string()))?;
            c.run_pending_migrations(SQLITE)
        }
        DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES),
    }
    .map_err(|e| MigrateError::Apply(e.to_string()))?;
    Ok(applied.into_iter().map(|v| v.to_string()).collect())
}

/// Whether the database has every migration this binary knows (for /readyz).
pub fn is_current(conn: &mut DbConnection) -> Result<bool, MigrateError> {
    let pending = match conn {
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE),
        DbConnection::Postgresql(c) => c.has_pending_migration(POSTGRES),
    }
    .map_err(|e| MigrateError::Apply(e.to_string()))?;
    Ok(!pending)
}
