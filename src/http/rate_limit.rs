//! Per-key rate limits (the generic cell-rate algorithm): `limit` events per `window`, allowed in
//! a burst, then one every `window / limit`. One timestamp per key: the moment its allowance is
//! whole again.
//!
//! [`RateLimiter`] keeps them in memory, per instance; keys whose allowance is whole again are
//! dropped when the map grows, so memory follows the number of keys active within one window.
//! [`SharedLimiter`] keeps them in the database (`db::rate_limits`), so N instances behind a
//! balancer allow what one would; it asks its own instance's memory first, so that a flood is
//! turned away without a database write per request.

use crate::db::{DbConnection, DbPool, rate_limits};
use crate::domain::time::utc;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// Keys kept before the fully refilled ones are swept out.
const SWEEP_ABOVE: usize = 10_000;

pub(super) struct RateLimiter {
    /// Time one event takes from the allowance.
    interval: Duration,
    /// How far ahead of now a key's allowance may be spent.
    tolerance: Duration,
    /// Per key, the moment its allowance is whole again.
    refilled_at: Mutex<HashMap<String, DateTime<Utc>>>,
}

/// The limit is reached; the next event is allowed after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Limited {
    pub retry_after: Duration,
}

impl Limited {
    /// Whole seconds for a `Retry-After` header, at least one.
    pub(super) fn retry_after_secs(&self) -> i64 {
        (self.retry_after.num_milliseconds() + 999).div_euclid(1000).max(1)
    }
}

impl RateLimiter {
    pub(super) fn new(limit: u32, window: std::time::Duration) -> RateLimiter {
        let window = Duration::from_std(window).unwrap_or(Duration::MAX);
        let interval = window / i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        RateLimiter { interval, tolerance: window - interval, refilled_at: Mutex::new(HashMap::new()) }
    }

    /// Counts one event for `key`, or says when it may come again (and counts nothing).
    pub(super) fn take(&self, key: &str, now: DateTime<Utc>) -> Result<(), Limited> {
        let mut keys = self.refilled_at.lock().unwrap_or_else(|p| p.into_inner());
        let start = keys.get(key).copied().filter(|at| *at > now).unwrap_or(now);
        self.allowed(start, now)?;
        if keys.len() >= SWEEP_ABOVE && !keys.contains_key(key) {
            keys.retain(|_, at| *at > now);
        }
        keys.insert(key.to_owned(), start + self.interval);
        Ok(())
    }

    /// Whether an event for `key` would be allowed now, without counting one.
    pub(super) fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), Limited> {
        let keys = self.refilled_at.lock().unwrap_or_else(|p| p.into_inner());
        let start = keys.get(key).copied().filter(|at| *at > now).unwrap_or(now);
        self.allowed(start, now)
    }

    /// When the allowance is whole again after one more event, given when it was to be
    /// (`None`: it is whole); or when that event may come.
    fn after_one_more(&self, refilled_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<DateTime<Utc>, Limited> {
        let start = refilled_at.filter(|at| *at > now).unwrap_or(now);
        self.allowed(start, now)?;
        Ok(start + self.interval)
    }

    fn allowed(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Limited> {
        let ahead = start - now;
        if ahead > self.tolerance { Err(Limited { retry_after: ahead - self.tolerance }) } else { Ok(()) }
    }
}

/// A limit kept in the database, shared by every instance; see the module header.
pub(super) struct SharedLimiter {
    /// Names the limit in `rate_limits`.
    scope: &'static str,
    local: RateLimiter,
}

/// Why a shared limit refused, or could not say.
#[derive(Debug)]
pub(super) enum LimitError {
    Limited(Limited),
    Database(diesel::result::Error),
}

impl From<diesel::result::Error> for LimitError {
    fn from(e: diesel::result::Error) -> Self {
        LimitError::Database(e)
    }
}

/// How often a count that lost a race to another instance is read and tried again.
const ATTEMPTS: usize = 8;

impl SharedLimiter {
    pub(super) fn new(scope: &'static str, limit: u32, window: std::time::Duration) -> SharedLimiter {
        SharedLimiter { scope, local: RateLimiter::new(limit, window) }
    }

    /// Counts one event for `key` (in this instance's memory, then in the database), or says when
    /// it may come again.
    pub(super) fn take(
        &self,
        pool: &DbPool,
        conn: &mut DbConnection,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LimitError> {
        self.local.take(key, now).map_err(LimitError::Limited)?;
        for _ in 0..ATTEMPTS {
            let read = rate_limits::refilled_at(conn, self.scope, key)?;
            let next = self.local.after_one_more(read.map(utc), now).map_err(LimitError::Limited)?;
            let next = next.trunc_subsecs(3).naive_utc();
            if pool.write(conn, |conn| rate_limits::advance(conn, self.scope, key, read, next))? {
                return Ok(());
            }
        }
        // Other instances counted this key in every one of those moments: they spent it.
        Err(LimitError::Limited(Limited { retry_after: self.local.interval }))
    }

    /// Whether an event for `key` would be allowed now, without counting one.
    pub(super) fn check(&self, conn: &mut DbConnection, key: &str, now: DateTime<Utc>) -> Result<(), LimitError> {
        self.local.check(key, now).map_err(LimitError::Limited)?;
        let read = rate_limits::refilled_at(conn, self.scope, key)?;
        self.local.after_one_more(read.map(utc), now).map(|_| ()).map_err(LimitError::Limited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn a_burst_up_to_the_limit_then_one_per_interval() {
        let limiter = RateLimiter::new(3, std::time::Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(limiter.take("a", at(0)), Ok(()));
        }
        let refused = limiter.take("a", at(0)).unwrap_err();
        assert_eq!(refused.retry_after, Duration::seconds(20));
        assert_eq!(refused.retry_after_secs(), 20);
        // Another key has its own allowance.
        assert_eq!(limiter.take("b", at(0)), Ok(()));
        // One event's worth comes back after window / limit.
        assert!(limiter.take("a", at(19)).is_err());
        assert_eq!(limiter.take("a", at(20)), Ok(()));
        assert!(limiter.take("a", at(20)).is_err());
        // After a whole window the whole burst is back.
        for _ in 0..3 {
            assert_eq!(limiter.take("a", at(100)), Ok(()));
        }
    }

    #[test]
    fn check_does_not_count() {
        let limiter = RateLimiter::new(1, std::time::Duration::from_secs(10));
        for _ in 0..5 {
            assert_eq!(limiter.check("a", at(0)), Ok(()));
        }
        assert_eq!(limiter.take("a", at(0)), Ok(()));
        assert_eq!(limiter.check("a", at(0)).unwrap_err().retry_after_secs(), 10);
    }

    #[test]
    fn refused_events_do_not_push_the_allowance_further_away() {
        let limiter = RateLimiter::new(1, std::time::Duration::from_secs(10));
        assert_eq!(limiter.take("a", at(0)), Ok(()));
        for _ in 0..100 {
            assert!(limiter.take("a", at(5)).is_err());
        }
        assert_eq!(limiter.take("a", at(10)), Ok(()));
    }

    #[test]
    fn idle_keys_are_swept_when_the_map_grows() {
        let limiter = RateLimiter::new(1, std::time::Duration::from_secs(10));
        for i in 0..SWEEP_ABOVE {
            limiter.take(&format!("k{i}"), at(0)).unwrap();
        }
        limiter.take("late", at(11)).unwrap();
        assert_eq!(limiter.refilled_at.lock().unwrap().len(), 1);
    }
}
