//! ISO 11649 Structured Creditor References (`RF` + 2 check digits + up to 21 characters): the
//! checksummed form of a decision number that a payer's bank carries in camt's `CdtrRefInf/Ref`,
//! so a mistyped reference is refused instead of paying another fine.

use super::decision_no::DecisionNo;

/// `RF`, two check digits and a reference of 1 to 21 characters.
const MIN_LEN: usize = 5;
const MAX_LEN: usize = 25;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RfError {
    #[error("an RF reference is RF, two check digits and 1 to 21 letters or digits")]
    Format,
    #[error("the RF check digits do not match: the reference is mistyped")]
    CheckDigits,
}

/// The RF reference of a decision number, unspaced: `RF` + check digits + the 19 digits.
pub fn rf_for_decision(no: &DecisionNo) -> String {
    with_check_digits(no.as_str())
}

/// `RF741101092611220000137` as `RF74 1101 0926 1122 0000 137`, the way ISO 11649 prints it.
pub fn spaced_in_fours(reference: &str) -> String {
    let chars: Vec<char> = reference.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// The RF reference of any reference of 1 to 21 characters in `[0-9A-Za-z]` (upper-cased).
pub fn rf_from_reference(reference: &str) -> Result<String, RfError> {
    let reference = reference.to_ascii_uppercase();
    if reference.is_empty() || reference.len() > MAX_LEN - 4 || !reference.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(RfError::Format);
    }
    Ok(with_check_digits(&reference))
}

/// Checks a printed or typed RF reference (spaces anywhere, any case) and returns its reference
/// part, upper-cased: `parse_rf("RF18 5390 0754 7034")` is `Ok("539007547034")`.
pub fn parse_rf(raw: &str) -> Result<String, RfError> {
    let compact: String = raw.chars().filter(|c| *c != ' ').map(|c| c.to_ascii_uppercase()).collect();
    let bytes = compact.as_bytes();
    if !(MIN_LEN..=MAX_LEN).contains(&bytes.len())
        || !compact.starts_with("RF")
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
        || !bytes.iter().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return Err(RfError::Format);
    }
    // ISO 7064 MOD 97-10: the reference, then `RF` and the check digits, read as one number.
    if mod97(bytes[4..].iter().chain(&bytes[..4])) != 1 {
        return Err(RfError::CheckDigits);
    }
    Ok(compact[4..].to_owned())
}

/// `reference` must already be upper-case alphanumeric.
fn with_check_digits(reference: &str) -> String {
    let check = 98 - mod97(reference.as_bytes().iter().chain(b"RF00"));
    format!("RF{check:02}{reference}")
}

/// The remainder modulo 97 of the number written by `chars` with A=10 … Z=35, folded one
/// character at a time so that no big integer is needed.
fn mod97<'a>(chars: impl Iterator<Item = &'a u8>) -> u32 {
    chars.fold(0u32, |acc, &c| match c {
        b'0'..=b'9' => (acc * 10 + u32::from(c - b'0')) % 97,
        _ => (acc * 100 + u32::from(c - b'A') + 10) % 97,
    })
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_in_groups_of_four() {
        assert_eq!(spaced_in_fours("RF741101092611220000137"), "RF74 1101 0926 1122 0000 137");
        assert_eq!(parse_rf(&spaced_in_fours("RF741101092611220000137")), Ok("1101092611220000137".to_owned()));
    }
    use crate::domain::DistrictCode;
    use chrono::NaiveDate;

    #[test]
    fn checks_the_published_vectors() {
        let cases: [(&str, Result<&str, RfError>); 9] = [
            ("RF18 5390 0754 7034", Ok("539007547034")),
            ("RF18539007547034", Ok("539007547034")),
            ("rf18 5390 0754 7034", Ok("539007547034")),
            ("RF18539007547035", Err(RfError::CheckDigits)),
            ("RF60ISO11649", Ok("ISO11649")),
            ("RF61ISO11649", Err(RfError::CheckDigits)),
            ("RF18", Err(RfError::Format)),
            ("RF18-5390", Err(RfError::Format)),
            ("RF1812345678901234567890123", Err(RfError::Format)),
        ];
        for (raw, expected) in cases {
            assert_eq!(parse_rf(raw), expected.map(str::to_owned), "{raw:?}");
        }
        assert_eq!(parse_rf("XX18539007547034"), Err(RfError::Format));
        assert_eq!(parse_rf("RFAB539007547034"), Err(RfError::Format));
    }

    #[test]
    fn builds_check_digits() {
        assert_eq!(rf_from_reference("ISO11649").as_deref(), Ok("RF60ISO11649"));
        assert_eq!(rf_from_reference("539007547034").as_deref(), Ok("RF18539007547034"));
        assert_eq!(rf_from_reference(""), Err(RfError::Format));
        assert_eq!(rf_from_reference("1234567890123456789012"), Err(RfError::Format));
    }

    #[test]
    fn a_decision_number_round_trips_and_a_typo_is_refused() {
        let district = DistrictCode::parse("110105").expect("valid code");
        let date = NaiveDate::from_ymd_opt(2026, 11, 21).expect("valid date");
        for serial in [1, 2, 97, 99_999] {
            let no = DecisionNo::new(&district, date, serial).expect("in range");
            let rf = rf_for_decision(&no);
            assert_eq!(rf.len(), 23);
            assert_eq!(parse_rf(&rf).as_deref(), Ok(no.as_str()));
        }
        let rf = rf_for_decision(&DecisionNo::parse("1101052611210000176").expect("valid"));
        assert_eq!(rf, "RF741101052611210000176");
        assert_eq!(parse_rf("RF74 1101 0526 1121 0000 176").as_deref(), Ok("1101052611210000176"));
        assert_eq!(parse_rf("RF74 1101 0526 1121 0000 177"), Err(RfError::CheckDigits));
        assert_eq!(parse_rf("RF74 1101 0526 1112 0000 176"), Err(RfError::CheckDigits));
    }
}
