//! The `[jobs]` and `[scheduler]` sections: when each scheduled job runs (cron lines with seconds,
//! read in Beijing time; an empty line switches a job off) and the knobs the jobs share. Every
//! line is parsed at start, so a typo stops boot instead of silently never running a job.

use super::{ConfigError, invalid, positive};
use crate::jobs::{Job, JobSettings, SchedulerSettings};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Deserialize)]
pub(super) struct RawScheduler {
    lease: String,
    expire_batch: usize,
    channel_concurrency: usize,
    reconcile_days: u32,
    idempotency_retention: String,
}

/// Clients may retry an issue for 24 hours (docs/api.md); its record must outlive that.
const MIN_IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(24 * 3600);

pub(super) fn validate(jobs: BTreeMap<String, String>, raw: RawScheduler) -> Result<JobSettings, ConfigError> {
    let mut schedules = BTreeMap::new();
    for (name, line) in &jobs {
        let job = Job::parse(name).ok_or_else(|| {
            invalid("jobs", format!("no job {name:?}; the jobs are {}", Job::ALL.map(Job::as_str).join(", ")))
        })?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        schedules.insert(job, parse_schedule(line).map_err(|reason| invalid("jobs", format!("{name}: {reason}")))?);
    }
    if raw.expire_batch == 0 || raw.expire_batch > 5000 {
        return Err(invalid("scheduler.expire_batch", "must be between 1 and 5000"));
    }
    if raw.channel_concurrency == 0 {
        return Err(invalid("scheduler.channel_concurrency", "must be at least 1"));
    }
    if !(1..=90).contains(&raw.reconcile_days) {
        return Err(invalid("scheduler.reconcile_days", "must be between 1 and 90 (channels keep bills 3 months)"));
    }
    let idempotency_retention = positive("scheduler.idempotency_retention", &raw.idempotency_retention)?;
    if idempotency_retention < MIN_IDEMPOTENCY_RETENTION {
        return Err(invalid("scheduler.idempotency_retention", "must be at least 24h: clients may retry that long"));
    }
    let scheduler = SchedulerSettings {
        lease: positive("scheduler.lease", &raw.lease)?,
        expire_batch: raw.expire_batch,
        channel_concurrency: raw.channel_concurrency,
        reconcile_days: raw.reconcile_days,
        idempotency_retention,
    };
    Ok(JobSettings { schedules, scheduler })
}

/// A cron line with seconds first: six fields (or seven, with years). The cron crate would also
/// take some five-field lines by reading them differently; they are refused here.
fn parse_schedule(line: &str) -> Result<cron::Schedule, String> {
    let fields = line.split_whitespace().count();
    if !(6..=7).contains(&fields) {
        return Err(format!(
            "{line:?} has {fields} fields; write seconds first: sec min hour day month weekday (e.g. \"0 * * * * *\")"
        ));
    }
    cron::Schedule::from_str(line).map_err(|e| format!("{line:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_lines_need_seconds_and_must_parse() {
        assert!(parse_schedule("0 * * * * *").is_ok());
        assert!(parse_schedule("*/5 * * * * * *").is_ok());
        assert!(parse_schedule("* * * * *").is_err(), "five fields are refused");
        assert!(parse_schedule("61 * * * * *").is_err());
        assert!(parse_schedule("every minute").is_err());
    }
}
