//! `prune`: deletes officers' idempotency records once clients can no longer retry with them
//! (`scheduler.idempotency_retention`, at least the 24 hours the officer API promises), a slice at a time
//! so no single transaction holds the database for long; the WeChat OAuth states pay pages
//! issued, a day after they could last be used; the lookup limits' rows whose allowance is
//! whole again; and the desk's sessions, two days after their last request.

use super::{JobEnv, JobError, write};
use crate::db::{admin_sessions, idempotency, oauth_states, rate_limits};
use serde::Serialize;

const SLICE: i64 = 5000;

#[derive(Debug, Default, Serialize)]
pub(super) struct PruneReport {
    pub idempotency_records_deleted: usize,
    pub oauth_states_deleted: usize,
    pub rate_limits_deleted: usize,
    pub admin_sessions_deleted: usize,
}

/// How long a desk session is kept after its last request: past `admin.session_idle` (at most a
/// day) it is dead; a day more keeps it for the logs.
const ADMIN_SESSION_RETENTION: chrono::Duration = chrono::Duration::days(2);

/// How long an OAuth state is kept: far past its ten minutes, so that a late replay is told
/// apart from a forgery in the logs for a day.
const OAUTH_STATE_RETENTION: chrono::Duration = chrono::Duration::days(1);

pub(super) async fn run(env: &JobEnv) -> Result<PruneReport, JobError> {
    let retention = chrono::Duration::from_std(env.settings.idempotency_retention).unwrap_or(chrono::Duration::days(2));
    let cutoff = (env.clock.now() - retention).naive_utc();
    let mut report = PruneReport::default();
    let states_before = (env.clock.now() - OAUTH_STATE_RETENTION).naive_utc();
    report.oauth_states_deleted = write(&env.pool, move |conn| oauth_states::prune(conn, states_before)).await?;
    let now = env.clock.now().naive_utc();
    report.rate_limits_deleted = write(&env.pool, move |conn| rate_limits::prune(conn, now)).await?;
    let sessions_before = (env.clock.now() - ADMIN_SESSION_RETENTION).naive_utc();
    report.admin_sessions_deleted = write(&env.pool, move |conn| admin_sessions::prune(conn, sessions_before)).await?;
    loop {
        let deleted = write(&env.pool, move |conn| idempotency::prune(conn, cutoff, SLICE)).await?;
        report.idempotency_records_deleted += deleted;
        if deleted < SLICE as usize {
            return Ok(report);
        }
    }
}
