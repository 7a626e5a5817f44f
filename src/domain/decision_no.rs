//! Decision numbers (处罚决定书编号): `DDDDDD YYMMDD SSSSS CC`, 19 digits — district, issue date
//! (Asia/Shanghai), serial within district and day, and ISO 7064 MOD 97-10 check digits so that a
//! number mistyped at a bank counter is refused instead of matching another fine.

use super::district::DistrictCode;
use chrono::{Datelike, NaiveDate};
use std::fmt;

/// The highest serial a district can issue in one day; the format has five digits for it.
pub const MAX_SERIAL: u32 = 99_999;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DecisionNo(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionNoError {
    #[error("a decision number is 19 digits")]
    Format,
    #[error("the check digits do not match: the number is mistyped")]
    CheckDigits,
    #[error("serial {0} is outside 1..=99999")]
    SerialOutOfRange(u32),
}

impl DecisionNo {
    /// Builds the number for a district's `serial`-th fine of `date`.
    pub fn new(district: &DistrictCode, date: NaiveDate, serial: u32) -> Result<Self, DecisionNoError> {
        if !(1..=MAX_SERIAL).contains(&serial) {
            return Err(DecisionNoError::SerialOutOfRange(serial));
        }
        let body = format!(
            "{}{:02}{:02}{:02}{:05}",
            district.as_str(),
            date.year().rem_euclid(100),
            date.month(),
            date.day(),
            serial
        );
        let check = 98 - mod97(&format!("{body}00"));
        Ok(DecisionNo(format!("{body}{check:02}")))
    }

    pub fn parse(raw: &str) -> Result<Self, DecisionNoError> {
        let raw = raw.trim();
        if raw.len() != 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecisionNoError::Format);
        }
        if mod97(raw) != 1 {
            return Err(DecisionNoError::CheckDigits);
        }
        Ok(DecisionNo(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn district(&self) -> &str {
        &self.0[..6]
    }

    /// The number as an integer: 19 digits always fit in a u64. QR tokens carry it this way.
    pub fn to_u64(&self) -> u64 {
        self.0.bytes().fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'))
    }

    pub fn from_u64(value: u64) -> Result<Self, DecisionNoError> {
        Self::parse(&format!("{value:019}"))
    }
}

/// The remainder modulo 97 of a decimal digit string, digit by digit (no big integers).
fn mod97(digits: &str) -> u32 {
    digits.bytes().fold(0u32, |acc, b| (acc * 10 + u32::from(b - b'0')) % 97)
}

impl fmt::Display for DecisionNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn chaoyang() -> DistrictCode {
        DistrictCode::parse("110105").expect("valid code")
    }

    #[test]
    fn builds_the_documented_example() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 21).expect("valid date");
        let no = DecisionNo::new(&chaoyang(), date, 1).expect("in range");
        assert_eq!(no.as_str(), "1101052611210000176");
        assert_eq!(no.district(), "110105");
    }

    #[test]
    fn every_built_number_parses_back() {
        let date = NaiveDate::from_ymd_opt(2031, 1, 9).expect("valid date");
        for serial in [1, 2, 42, 96, 97, 98, 12345, MAX_SERIAL] {
            let no = DecisionNo::new(&chaoyang(), date, serial).expect("in range");
            assert_eq!(DecisionNo::parse(no.as_str()), Ok(no.clone()));
            assert_eq!(DecisionNo::from_u64(no.to_u64()), Ok(no));
        }
    }

    #[test]
    fn refuses_out_of_range_serials() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 21).expect("valid date");
        assert_eq!(DecisionNo::new(&chaoyang(), date, 0), Err(DecisionNoError::SerialOutOfRange(0)));
        assert_eq!(DecisionNo::new(&chaoyang(), date, 100_000), Err(DecisionNoError::SerialOutOfRange(100_000)));
    }

    #[test]
    fn refuses_typos_and_malformed_input() {
        // A single changed digit and a swap of two adjacent digits are both caught by MOD 97-10.
        assert_eq!(DecisionNo::parse("1101052611210000177"), Err(DecisionNoError::CheckDigits));
        assert_eq!(DecisionNo::parse("1101052611201000176"), Err(DecisionNoError::CheckDigits));
        assert_eq!(DecisionNo::parse("110105261121000017"), Err(DecisionNoError::Format));
        assert_eq!(DecisionNo::parse("11010526112100001a6"), Err(DecisionNoError::Format));
        assert_eq!(DecisionNo::parse(""), Err(DecisionNoError::Format));
    }
}
