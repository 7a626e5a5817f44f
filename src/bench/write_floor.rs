//! The second ceiling of `bench import`: the three rows every settled statement line writes — the
//! fine's conditional update, the payment's record, the audit entry — written by the database
//! alone for the same fines, in transactions of the import's batch size: set-based statements over
//! a range of decision numbers, with no file, no lookups, no decisions and no values sent per row.
//! However fast the parsing, an import cannot beat it, so the import's ratio to it says how much of
//! the import is finepay's own work and how much is the database's.

use super::harness::{BenchDb, Target};
use crate::db::{DbPool, migrate};
use crate::domain::DecisionNo;
use diesel::RunQueryDsl;
use std::time::{Duration, Instant};

/// Seeds `numbers` with `seed` in a fresh database, then writes a settled line's rows for the first
/// `lines` of them, `batch` fines per transaction; lines per second.
pub(super) fn lines_per_second(
    target: &Target,
    numbers: &[DecisionNo],
    lines: usize,
    batch: usize,
    seed: impl Fn(&DbPool) -> anyhow::Result<()>,
) -> anyhow::Result<f64> {
    let db = BenchDb::fresh(target)?;
    let pool = DbPool::connect(&db.url, 2, Duration::from_secs(10))?;
    migrate::run_pending(&pool)?;
    seed(&pool)?;
    let mut conn = pool.get()?;
    if !pool.is_sqlite() {
        diesel::sql_query("ANALYZE").execute(&mut *conn)?;
    }
    // `+status` on SQLite: the fines are found by their key range, not by the status index, which
    // would walk every payable fine per batch (a unary plus keeps a column from an index).
    let status = if pool.is_sqlite() { "+status" } else { "status" };
    let started = Instant::now();
    for chunk in numbers[..lines].chunks(batch.max(1)) {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else { continue };
        let range = format!("decision_no BETWEEN '{}' AND '{}'", first.as_str(), last.as_str());
        pool.write(&mut conn, |conn| {
            let settled = diesel::sql_query(format!(
                "UPDATE fines SET status = 'paid', paid_at = CURRENT_TIMESTAMP, paid_channel = 'bank', \
                 updated_at = CURRENT_TIMESTAMP WHERE {range} AND {status} IN ('awaiting_payment', 'payable_at_bank')"
            ))
            .execute(conn)?;
            if settled != chunk.len() {
                return Err(diesel::result::Error::RollbackTransaction);
            }
            diesel::sql_query(format!(
                "INSERT INTO bank_payments (bank_code, reference, source, statement_id, decision_no, amount_fen, \
                 due_fen, paid_at, method, outcome, received_at) \
                 SELECT 'CCB', 'W' || decision_no, 'statement', NULL, decision_no, amount_fen, amount_fen, \
                 CURRENT_TIMESTAMP, 'statement', 'settled', CURRENT_TIMESTAMP FROM fines WHERE {range}"
            ))
            .execute(conn)?;
            diesel::sql_query(format!(
                "INSERT INTO audit_log (at, actor, action, decision_no, details) \
                 SELECT CURRENT_TIMESTAMP, 'bench', 'fine.paid_at_bank', decision_no, \
                 '{{\"bank\":\"CCB\",\"reference\":\"W' || decision_no || '\",\"amount_fen\":20000}}' \
                 FROM fines WHERE {range}"
            ))
            .execute(conn)?;
            Ok::<_, diesel::result::Error>(())
        })
        .map_err(|e| anyhow::anyhow!("writing the rows alone: {e} (the fines must be seeded in order)"))?;
        pool.keep_wal_short(&mut conn);
    }
    Ok(lines as f64 / started.elapsed().as_secs_f64().max(f64::EPSILON))
}
