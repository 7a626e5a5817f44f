//! `prune`: deletes officers' idempotency records once clients can no longer retry with them
//! (`scheduler.idempotency_retention`, at least the 24 hours the officer API promises), a slice at a time
//! so no single transaction holds the database for long.

use super::{JobEnv, JobError, write};
use crate::db::idempotency;
use serde::Serialize;

const SLICE: i64 = 5000;

#[derive(Debug, Default, Serialize)]
pub(super) struct PruneReport {
    pub idempotency_records_deleted: usize,
}

pub(super) async fn run(env: &JobEnv) -> Result<PruneReport, JobError> {
    let retention = chrono::Duration::from_std(env.settings.idempotency_retention).unwrap_or(chrono::Duration::days(2));
    let cutoff = (env.clock.now() - retention).naive_utc();
    let mut report = PruneReport::default();
    loop {
        let deleted = write(&env.pool, move |conn| idempotency::prune(conn, cutoff, SLICE)).await?;
        report.idempotency_records_deleted += deleted;
        if deleted < SLICE as usize {
            return Ok(report);
        }
    }
}
