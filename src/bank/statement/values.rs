//! The values both statement formats carry (dates, times, amounts), parsed by hand: these run once
//! or more per line of million-line files, and the messages say what was wrong with the value.

use crate::domain::Fen;
use chrono::{DateTime, FixedOffset, NaiveDate};

/// When a booking happened: its date, and the instant when the text gives a time with an offset.
pub(super) type Booked = (NaiveDate, Option<DateTime<FixedOffset>>);

/// `YYYY-MM-DD`, exactly.
pub(super) fn date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')))
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
}

/// A date, or an RFC 3339 date-time with its offset (`2026-11-21T10:15:00+08:00`), whose date in
/// that offset is the booking date.
pub(super) fn date_or_instant(text: &str) -> Result<Booked, String> {
    if let Some(day) = date(text) {
        return Ok((day, None));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|at| (at.date_naive(), Some(at)))
        .map_err(|_| format!("{text:?} is neither a date YYYY-MM-DD nor an RFC 3339 time with offset"))
}

/// An ISO 20022 date (`xs:date`, whose optional offset changes nothing about the day).
pub(super) fn iso_date(text: &str) -> Result<NaiveDate, String> {
    let day = text.get(..10).and_then(date);
    let zone = text.get(10..).unwrap_or_default();
    match day {
        Some(day) if zone.is_empty() || zone == "Z" || is_offset(zone) => Ok(day),
        _ => Err(format!("date {text:?} is not YYYY-MM-DD")),
    }
}

/// An ISO 20022 date-time. ISO 20022 lets it omit the offset, meaning the bank's local time:
/// then only the date is kept, since guessing the bank's zone could move a late-evening booking.
pub(super) fn iso_date_time(text: &str) -> Result<Booked, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok((at.date_naive(), Some(at)));
    }
    let day = text.get(..10).and_then(date);
    match (day, text.as_bytes().get(10)) {
        (Some(day), Some(b'T')) if text.len() >= 19 => Ok((day, None)),
        _ => Err(format!("date-time {text:?} is not YYYY-MM-DDThh:mm:ss")),
    }
}

fn is_offset(zone: &str) -> bool {
    let b = zone.as_bytes();
    b.len() == 6 && matches!(b[0], b'+' | b'-') && b[3] == b':' && [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit())
}

/// A camt amount in yuan (`200.00`) as fen: positive, at most two decimals.
pub(super) fn yuan_amount(text: &str) -> Result<i64, String> {
    match Fen::parse_yuan(text) {
        Some(Fen(0)) => Err(format!("amount {text:?} is zero")),
        Some(Fen(fen)) => Ok(fen),
        None if text.starts_with('-') => Err(format!("amount {text:?} is negative")),
        None if text.split_once('.').is_some_and(|(_, fraction)| fraction.len() > 2) => {
            Err(format!("amount {text:?} has more than two decimals"))
        }
        None => Err(format!("amount {text:?} is not a decimal number of at most 15 digits")),
    }
}

/// A CSV amount: a positive integer of fen.
pub(super) fn fen_amount(text: &str) -> Result<i64, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("amount_fen {text:?} is not a whole number of fen"));
    }
    match text.parse::<i64>() {
        Ok(0) => Err("amount_fen is zero".to_owned()),
        Ok(fen) => Ok(fen),
        Err(_) => Err(format!("amount_fen {text:?} is too large")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_and_times() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 21).expect("valid date");
        assert_eq!(date("2026-11-21"), Some(day));
        for bad in ["2026-11-31", "2026-1-21", "2026/11/21", "20261121", "2026-11-2x", ""] {
            assert_eq!(date(bad), None, "{bad:?}");
        }
        assert_eq!(iso_date("2026-11-21+08:00"), Ok(day));
        assert_eq!(iso_date("2026-11-21Z"), Ok(day));
        assert!(iso_date("2026-11-21 ").is_err());

        let (on, at) = date_or_instant("2026-11-21T23:30:00+08:00").expect("RFC 3339");
        assert_eq!(on, day);
        assert_eq!(at.map(|at| at.to_rfc3339()).as_deref(), Some("2026-11-21T23:30:00+08:00"));
        assert_eq!(date_or_instant("2026-11-21"), Ok((day, None)));
        assert!(date_or_instant("2026-11-21T23:30:00").is_err(), "CSV times need an offset");

        assert_eq!(iso_date_time("2026-11-21T23:30:00.123"), Ok((day, None)));
        assert_eq!(iso_date_time("2026-11-21T15:30:00Z").map(|(on, at)| (on, at.is_some())), Ok((day, true)));
        assert!(iso_date_time("2026-11-21").is_err());
    }

    #[test]
    fn parses_amounts_exactly() {
        assert_eq!(yuan_amount("200.00"), Ok(20000));
        assert_eq!(yuan_amount("0.5"), Ok(50));
        for bad in ["12.345", "0.00", "-1.00", "1e3", "", "1234567890123456.00"] {
            assert!(yuan_amount(bad).is_err(), "{bad:?}");
        }
        assert_eq!(fen_amount("20000"), Ok(20000));
        for bad in ["0", "-5", "+5", "1.00", "", "99999999999999999999"] {
            assert!(fen_amount(bad).is_err(), "{bad:?}");
        }
    }
}
