//! How long a bill's QR code can be paid. Beijing started with four hours from issue and later
//! widened it; an exit-entry office uses "until the end of the business day". Validity is decided
//! here, at use time, to the second: the scheduler only tidies up afterwards.

use super::time::SHANGHAI;
use chrono::{DateTime, Days, Duration, NaiveTime, TimeZone, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrWindowPolicy {
    /// Issue time plus a fixed validity.
    Fixed(Duration),
    /// Until `end` (Asia/Shanghai) on the day of issue; a fine issued at or after that time gets
    /// until `end` on the next day, so a code is never born dead.
    EndOfBusinessDay { end: NaiveTime },
}

impl QrWindowPolicy {
    pub fn expires_at(&self, issued_at: DateTime<Utc>) -> DateTime<Utc> {
        match *self {
            QrWindowPolicy::Fixed(validity) => issued_at + validity,
            QrWindowPolicy::EndOfBusinessDay { end } => {
                let local = issued_at.with_timezone(&SHANGHAI);
                let mut day = local.date_naive();
                if local.time() >= end {
                    day = day.checked_add_days(Days::new(1)).unwrap_or(day);
                }
                SHANGHAI
                    .from_local_datetime(&day.and_time(end))
                    .single()
                    .map(|t| t.with_timezone(&Utc))
                    // A fixed offset has exactly one mapping; this arm is never taken.
                    .unwrap_or(issued_at)
            }
        }
    }
}

/// A QR code is active strictly before its expiry instant, whatever the fine's status says.
pub fn qr_active(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < expires_at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).expect("valid time").with_timezone(&Utc)
    }

    #[test]
    fn fixed_window_adds_the_validity() {
        let policy = QrWindowPolicy::Fixed(Duration::hours(4));
        assert_eq!(policy.expires_at(at("2026-11-21T09:31:02+08:00")), at("2026-11-21T13:31:02+08:00"));
    }

    #[test]
    fn end_of_business_day_closes_today_or_tomorrow() {
        let end = NaiveTime::from_hms_opt(17, 30, 0).expect("valid time");
        let policy = QrWindowPolicy::EndOfBusinessDay { end };
        assert_eq!(policy.expires_at(at("2026-11-21T09:00:00+08:00")), at("2026-11-21T17:30:00+08:00"));
        assert_eq!(policy.expires_at(at("2026-11-21T17:29:59+08:00")), at("2026-11-21T17:30:00+08:00"));
        assert_eq!(policy.expires_at(at("2026-11-21T17:30:00+08:00")), at("2026-11-22T17:30:00+08:00"));
        // 23:00 UTC is already the next morning in Shanghai.
        assert_eq!(policy.expires_at(at("2026-11-21T23:00:00Z")), at("2026-11-22T17:30:00+08:00"));
    }

    #[test]
    fn active_until_the_second_of_expiry() {
        let expiry = at("2026-11-21T13:31:02+08:00");
        assert!(qr_active(expiry, at("2026-11-21T13:31:01+08:00")));
        assert!(!qr_active(expiry, expiry));
    }
}
