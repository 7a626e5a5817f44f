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
    #[error("applying migrations")]
    Apply(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(pool: &DbPool) -> Result<Vec<String>, MigrateError> {
    let mut conn = pool.get()?;
    let conn: &mut DbConnection = &mut conn;
    let applied = match conn {
        DbConnection::Sqlite(c) => {
            c.batch_execute("PRAGMA journal_mode = WAL;").map_err(|e| MigrateError::Apply(Box::new(e)))?;
            c.run_pending_migrations(SQLITE)
        }
        DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES),
    }
    .map_err(MigrateError::Apply)?;
    Ok(applied.into_iter().map(|v| v.to_string()).collect())
}

/// Whether the database has every migration this binary knows (for /readyz).
pub fn is_current(conn: &mut DbConnection) -> Result<bool, MigrateError> {
    let pending = match conn {
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE),
        DbConnection::Postgresql(c) => c.has_pending_migration(POSTGRES),
    }
    .map_err(MigrateError::Apply)?;
    Ok(!pending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::RunQueryDsl;
    use diesel::connection::SimpleConnection;

    /// Migration 6 rebuilds `channel_orders` on SQLite (a table constraint cannot be dropped
    /// there): orders, and the payments that name them, come through whole, as QR orders.
    #[test]
    fn the_flows_migration_keeps_every_order_and_payment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/m.db", dir.path().display());
        let pool = DbPool::connect(&url, 2, std::time::Duration::from_secs(5)).expect("pool");
        let mut conn = pool.get().expect("connection");
        let DbConnection::Sqlite(c) = &mut *conn else { panic!("SQLite") };
        for _ in 0..5 {
            c.run_next_migration(SQLITE).expect("migrations 1 to 5");
        }
        c.batch_execute(
            "INSERT INTO fines (decision_no, district_code, verification_code, violation_code, subject_kind, \
             location, occurred_at, delivery, amount_fen, points, status, credential_id, officer_id, device_id, \
             issued_at, updated_at) VALUES ('1101052611210000176', '110105', '482913', '1625', 'motor_vehicle', \
             'x', '2026-11-21 01:00:00', 'print', 20000, 6, 'paid', 'c', 'o', 'd', '2026-11-21 01:00:00', \
             '2026-11-21 01:00:00'); \
             INSERT INTO channel_orders (out_trade_no, decision_no, channel, amount_fen, pay_by, opened_at, status, \
             updated_at) VALUES ('1101052611210000176W01', '1101052611210000176', 'wechat', 20000, \
             '2026-11-21 05:00:00', '2026-11-21 01:00:00', 'paid', '2026-11-21 02:00:00'); \
             INSERT INTO payments (channel, channel_txn_id, out_trade_no, decision_no, amount_fen, paid_at, \
             received_at, source, outcome, receipt_no) VALUES ('wechat', '4200', '1101052611210000176W01', \
             '1101052611210000176', 20000, '2026-11-21 02:00:00', '2026-11-21 02:00:00', 'notification', \
             'applied', 'R1');",
        )
        .expect("rows of the old schema");
        drop(conn);
        let applied = run_pending(&pool).expect("migration 6 and on");
        assert!(applied.first().is_some_and(|v| v.ends_with("000006")), "from migration 6 on: {applied:?}");
        let mut conn = pool.get().expect("connection");
        let DbConnection::Sqlite(c) = &mut *conn else { panic!("SQLite") };
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            flow: String,
        }
        let rows: Vec<Row> = diesel::sql_query("SELECT flow FROM channel_orders").load(c).expect("orders");
        assert_eq!(rows.iter().map(|r| r.flow.as_str()).collect::<Vec<_>>(), ["qr"]);
        let broken: Vec<Row> =
            diesel::sql_query("SELECT 'x' AS flow FROM pragma_foreign_key_check").load(c).expect("foreign key check");
        assert!(broken.is_empty(), "every payment still names its order");
        let payments: Vec<Row> =
            diesel::sql_query("SELECT outcome AS flow FROM payments").load(c).expect("payments, after migration 7");
        assert_eq!(payments.iter().map(|r| r.flow.as_str()).collect::<Vec<_>>(), ["applied"]);
        c.batch_execute(
            "INSERT INTO channel_orders (out_trade_no, decision_no, channel, flow, amount_fen, pay_by, \
             opened_at, status, updated_at) VALUES ('1101052611210000176W21', '1101052611210000176', 'wechat', 'h5', \
             20000, '2026-11-21 05:00:00', '2026-11-21 01:00:00', 'open', '2026-11-21 02:00:00')",
        )
        .expect("a second order of the same fine and channel, in another flow");
    }
}
