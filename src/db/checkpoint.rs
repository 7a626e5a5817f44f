//! WAL checkpoints off the commit path. SQLite's automatic checkpoint runs inside whichever
//! commit crosses the threshold: that commit copies thousands of pages and waits for fsync, and
//! every request behind it waits too. Pooled connections therefore never checkpoint; this thread,
//! on a connection of its own, runs a passive checkpoint (which never blocks writers or readers)
//! a few times a second, and stops once the last handle to its pool is gone.

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use std::sync::{Arc, Weak};
use std::time::Duration;

const INTERVAL: Duration = Duration::from_millis(200);

/// Held by every clone of the pool; when the last one drops, the checkpointer stops.
pub(super) struct Running(());

/// Starts the checkpointer for the SQLite database at `path`.
pub(super) fn start(path: &str) -> std::io::Result<Arc<Running>> {
    let running = Arc::new(Running(()));
    let alive: Weak<Running> = Arc::downgrade(&running);
    let path = path.to_owned();
    std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || {
        let mut conn = match SqliteConnection::establish(&path) {
            Ok(conn) => conn,
            Err(e) => {
                log::error!("checkpointer: {path}: {e}");
                return;
            }
        };
        if let Err(e) = conn.batch_execute("PRAGMA busy_timeout = 10000;") {
            log::warn!("checkpointer: {e}");
        }
        loop {
            std::thread::sleep(INTERVAL);
            // Looked at after the sleep: a pool dropped meanwhile may have had its files removed.
            if alive.strong_count() == 0 {
                break;
            }
            if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                log::warn!("checkpointer: {e}");
            }
        }
        // A last full pass, so a database left behind is compact.
        let _ = conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);");
    })?;
    Ok(running)
}
