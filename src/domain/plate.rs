//! Chinese number plates: a province character, the issuing authority's letter, then 5
//! alphanumerics (6 for new-energy vehicles). I and O never appear, so they cannot be confused
//! with 1 and 0. Public pages show plates masked.

use std::fmt;

const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plate(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlateError {
    #[error("a plate starts with a province character such as 京")]
    Province,
    #[error("the second character of a plate is the issuing authority's letter A-Z")]
    Authority,
    #[error("a plate ends with 5 or 6 letters or digits (no I or O)")]
    Serial,
}

impl Plate {
    /// Parses a plate, accepting lower-case letters and surrounding spaces from hurried typing.
    pub fn parse(raw: &str) -> Result<Self, PlateError> {
        let normalized: String = raw.trim().chars().map(|c| c.to_ascii_uppercase()).collect();
        let mut chars = normalized.chars();
        match chars.next() {
            Some(c) if PROVINCES.contains(c) => {}
            _ => return Err(PlateError::Province),
        }
        match chars.next() {
            Some(c) if c.is_ascii_uppercase() && c != 'I' && c != 'O' => {}
            _ => return Err(PlateError::Authority),
        }
        let serial: Vec<char> = chars.collect();
        let serial_ok = (5..=6).contains(&serial.len())
            && serial.iter().all(|&c| (c.is_ascii_uppercase() && c != 'I' && c != 'O') || c.is_ascii_digit());
        if !serial_ok {
            return Err(PlateError::Serial);
        }
        Ok(Plate(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Keeps the province, the authority letter and the last two characters: "京A***45".
pub fn mask_plate(plate: &str) -> String {
    let chars: Vec<char> = plate.chars().collect();
    if chars.len() < 5 {
        return "*".repeat(chars.len());
    }
    let hidden = chars.len() - 4;
    let mut out: String = chars[..2].iter().collect();
    out.push_str(&"*".repeat(hidden));
    out.extend(&chars[chars.len() - 2..]);
    out
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Plate types are the two-digit codes of GA 24.7 ("02" small car, "52" small new-energy car…).
pub fn valid_plate_type(raw: &str) -> bool {
    raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_and_new_energy_plates() {
        assert_eq!(Plate::parse("京A12345").map(|p| p.to_string()), Ok("京A12345".into()));
        assert_eq!(
            Plate::parse(" 粤b d12345 ".replace(' ', "").as_str()).map(|p| p.to_string()),
            Ok("粤BD12345".into())
        );
        assert_eq!(Plate::parse("沪c1a2b3").map(|p| p.to_string()), Ok("沪C1A2B3".into()));
    }

    #[test]
    fn refuses_malformed_plates() {
        assert_eq!(Plate::parse("XA12345"), Err(PlateError::Province));
        assert_eq!(Plate::parse("京112345"), Err(PlateError::Authority));
        assert_eq!(Plate::parse("京A1234"), Err(PlateError::Serial));
        assert_eq!(Plate::parse("京A1234567"), Err(PlateError::Serial));
        assert_eq!(Plate::parse("京AO2345"), Err(PlateError::Serial));
        assert_eq!(Plate::parse(""), Err(PlateError::Province));
    }

    #[test]
    fn masks_all_but_prefix_and_last_two() {
        assert_eq!(mask_plate("京A12345"), "京A***45");
        assert_eq!(mask_plate("粤BD12345"), "粤B****45");
    }
}
