//! Civil time for fines is Asia/Shanghai. China has kept UTC+8 without daylight saving since
//! 1991, so a fixed offset is exact for every date finepay handles and needs no tz database.

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};

/// UTC+8, checked at compile time.
pub const SHANGHAI: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// The calendar date of an instant in Asia/Shanghai.
pub fn shanghai_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&SHANGHAI).date_naive()
}

/// RFC 3339 in Asia/Shanghai with whole seconds, as the API prints times.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.with_timezone(&SHANGHAI).to_rfc3339_opts(SecondsFormat::Secs, false)
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
