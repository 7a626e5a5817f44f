//! Civil time for fines is Asia/Shanghai. China has kept UTC+8 without daylight saving since
//! 1991, so a fixed offset is exact for every date finepay handles and needs no tz database.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, Timelike, Utc};

/// UTC+8, checked at compile time.
pub const SHANGHAI: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// How far another party's clock may stray from finepay's: a channel's or a bank's time of
/// payment is believed within this much of what finepay knows.
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Why a reported time of payment cannot be true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implausible {
    /// Before what it pays existed (the fine was issued, the order opened).
    BeforeIssue,
    /// Later than now.
    InTheFuture,
}

impl Implausible {
    pub fn as_str(self) -> &'static str {
        match self {
            Implausible::BeforeIssue => "before the fine was issued",
            Implausible::InTheFuture => "in the future",
        }
    }
}

/// Whether a payment reported at `paid_at` can have paid something that came to be at `since`,
/// seen `now`: neither before `since` nor after `now`, each give or take [`CLOCK_SKEW`].
pub fn plausible_payment_time(
    paid_at: DateTime<Utc>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Implausible> {
    if paid_at < since - CLOCK_SKEW {
        Err(Implausible::BeforeIssue)
    } else if paid_at > now + CLOCK_SKEW {
        Err(Implausible::InTheFuture)
    } else {
        Ok(())
    }
}

/// The same for a payment known only by its Beijing day (a statement line without a time): its
/// day is neither before the day of `since` nor after the day of `now`.
pub fn plausible_payment_day(paid_on: NaiveDate, since: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Implausible> {
    if paid_on < shanghai_date(since - CLOCK_SKEW) {
        Err(Implausible::BeforeIssue)
    } else if paid_on > shanghai_date(now + CLOCK_SKEW) {
        Err(Implausible::InTheFuture)
    } else {
        Ok(())
    }
}

/// An instant as the database stores it (naive UTC), made whole again.
pub fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

/// The calendar date of an instant in Asia/Shanghai.
pub fn shanghai_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&SHANGHAI).date_naive()
}

/// The instants of a Beijing calendar day, `[midnight, next midnight)`, as UTC wall clock (how
/// the database keeps times).
pub fn shanghai_day_bounds(day: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    let offset = chrono::Duration::seconds(i64::from(SHANGHAI.local_minus_utc()));
    let midnight = day.and_time(chrono::NaiveTime::MIN) - offset;
    (midnight, midnight + chrono::Duration::days(1))
}

/// RFC 3339 in Asia/Shanghai with whole seconds, as the API prints times.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.with_timezone(&SHANGHAI).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// `YYYY-MM-DD hh:mm:ss` in Asia/Shanghai, as pages, receipts and bills print times. Written
/// out by hand: every page view prints two, and a strftime pattern is parsed at every use.
pub fn shanghai_wall_clock(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&SHANGHAI);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    )
}

/// The source of "now". Production reads the system clock; unit tests pass fixed instants.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told: tests inject it into finepay and the simulator, so a
/// four-hour window or a five-minute signature limit is crossed without waiting.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(std::sync::Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_is_shanghai_time_with_padding() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T16:05:09Z").unwrap().with_timezone(&Utc);
        assert_eq!(shanghai_wall_clock(at), "2026-01-03 00:05:09");
        assert_eq!(shanghai_wall_clock(at), at.with_timezone(&SHANGHAI).format("%Y-%m-%d %H:%M:%S").to_string());
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_payment_time_lies_between_the_issue_and_now_give_or_take_the_skew() {
        // Issued 09:31 Beijing, seen at 15:00 Beijing.
        let (issued, now) = (at("2026-11-21T01:31:00Z"), at("2026-11-21T07:00:00Z"));
        let cases: [(&str, Result<(), Implausible>); 8] = [
            ("2026-11-21T01:31:00Z", Ok(())),
            ("2026-11-21T01:26:00Z", Ok(())),
            ("2026-11-21T01:25:59Z", Err(Implausible::BeforeIssue)),
            ("2000-01-01T00:00:00Z", Err(Implausible::BeforeIssue)),
            ("0000-01-01T00:00:00Z", Err(Implausible::BeforeIssue)),
            ("2026-11-21T07:05:00Z", Ok(())),
            ("2026-11-21T07:05:01Z", Err(Implausible::InTheFuture)),
            ("9999-12-31T15:59:59Z", Err(Implausible::InTheFuture)),
        ];
        for (paid_at, expected) in cases {
            assert_eq!(plausible_payment_time(at(paid_at), issued, now), expected, "{paid_at}");
        }
    }

    #[test]
    fn a_payment_day_lies_between_the_beijing_days_of_the_issue_and_now() {
        // Issued 00:03 Beijing on the 21st: five minutes' skew reaches back into the 20th.
        let (issued, now) = (at("2026-11-20T16:03:00Z"), at("2026-11-22T15:58:00Z"));
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let cases: [(&str, Result<(), Implausible>); 7] = [
            ("2026-11-20", Ok(())),
            ("2026-11-19", Err(Implausible::BeforeIssue)),
            ("1970-01-01", Err(Implausible::BeforeIssue)),
            ("2026-11-22", Ok(())),
            // 23:58 Beijing on the 22nd plus five minutes is the 23rd.
            ("2026-11-23", Ok(())),
            ("2026-11-24", Err(Implausible::InTheFuture)),
            ("9999-12-31", Err(Implausible::InTheFuture)),
        ];
        for (paid_on, expected) in cases {
            assert_eq!(plausible_payment_day(day(paid_on), issued, now), expected, "{paid_on}");
        }
    }
}
