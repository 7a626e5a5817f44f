//! Civil time for fines is Asia/Shanghai. China has kept UTC+8 without daylight saving since
//! 1991, so a fixed offset is exact for every date finepay handles and needs no tz database.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, Timelike, Utc};

/// UTC+8, checked at compile time.
pub const SHANGHAI: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// An instant as the database stores it (naive UTC), made whole again.
pub fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

/// The calendar date of an instant in Asia/Shanghai.
pub fn shanghai_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&SHANGHAI).date_naive()
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
}
