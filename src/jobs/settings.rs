//! What the jobs are configured with: when each runs (`[jobs]`) and the knobs they share
//! (`[scheduler]`).

use super::Job;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct JobSettings {
    /// The schedule of every job that is switched on.
    pub schedules: BTreeMap<Job, cron::Schedule>,
    pub scheduler: SchedulerSettings,
}

#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// How long a lease lasts unless renewed: another instance takes a job over this long after
    /// the one running it died.
    pub lease: Duration,
    /// Fines handed to the bank channel per transaction.
    pub expire_batch: usize,
    /// Channel calls in flight at once per channel while expiring orders.
    pub channel_concurrency: usize,
    /// How many statement days each reconcile run looks at, yesterday first.
    pub reconcile_days: u32,
    pub idempotency_retention: Duration,
}
