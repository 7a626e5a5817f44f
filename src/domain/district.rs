//! Districts that issue fines, identified by their 6-digit administrative division code, and the
//! date from which each one puts a QR code on its bills (QR payment was rolled out in stages).

use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DistrictCode(String);

impl DistrictCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() == 6 && raw.bytes().all(|b| b.is_ascii_digit()) && !raw.starts_with('0') {
            Ok(DistrictCode(raw.to_owned()))
        } else {
            Err(format!("district code {raw:?} is not 6 digits"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct District {
    pub code: DistrictCode,
    pub name: String,
    pub qr_payment_from: Option<NaiveDate>,
    /// The agent banks that take the district's fines at their counters, each `中文 English`,
    /// named on the driver's pages (not part of the districts' API).
    #[serde(skip)]
    pub banks: Vec<String>,
}

impl District {
    /// The name's Chinese and English parts, for the bill (see [`chinese_and_english`]).
    pub fn names(&self) -> (&str, &str) {
        chinese_and_english(&self.name)
    }

    /// Whether a fine issued on `date` (Asia/Shanghai) gets a QR code.
    pub fn qr_payment_on(&self, date: NaiveDate) -> bool {
        self.qr_payment_from.is_some_and(|from| date >= from)
    }
}

/// A configured name's Chinese and English parts: `朝阳区 Chaoyang` is `朝阳区` and `Chaoyang`,
/// split at the first space that has only ASCII after it; a name with no English part is all
/// Chinese.
pub fn chinese_and_english(name: &str) -> (&str, &str) {
    name.char_indices()
        .filter(|(_, c)| *c == ' ')
        .map(|(at, _)| (name[..at].trim(), name[at..].trim()))
        .find(|(zh, en)| !zh.is_empty() && !zh.is_ascii() && en.is_ascii())
        .unwrap_or((name, ""))
}

/// The configured districts, looked up by code.
#[derive(Debug, Clone, Default)]
pub struct Districts(BTreeMap<String, District>);

impl Districts {
    pub fn new(list: Vec<District>) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        for district in list {
            let code = district.code.as_str().to_owned();
            if map.insert(code.clone(), district).is_some() {
                return Err(format!("district {code} is configured twice"));
            }
        }
        Ok(Districts(map))
    }

    pub fn get(&self, code: &str) -> Option<&District> {
        self.0.get(code)
    }

    pub fn all(&self) -> impl Iterator<Item = &District> {
        self.0.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_payment_starts_on_the_configured_day() {
        let from = NaiveDate::from_ymd_opt(2018, 10, 22);
        let district = District {
            code: DistrictCode::parse("110105").expect("valid"),
            name: "Chaoyang".into(),
            qr_payment_from: from,
            banks: Vec::new(),
        };
        let day = |d| NaiveDate::from_ymd_opt(2018, 10, d).expect("valid date");
        assert!(!district.qr_payment_on(day(21)));
        assert!(district.qr_payment_on(day(22)));
        let without = District { qr_payment_from: None, ..district };
        assert!(!without.qr_payment_on(day(22)));
    }

    #[test]
    fn codes_are_six_digits() {
        assert!(DistrictCode::parse("110105").is_ok());
        for bad in ["11010", "1101055", "11010a", "010105", ""] {
            assert!(DistrictCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_name_splits_into_its_chinese_and_english_parts() {
        let named = |name: &str| District {
            code: DistrictCode::parse("110105").expect("valid"),
            name: name.into(),
            qr_payment_from: None,
            banks: Vec::new(),
        };
        assert_eq!(named("朝阳区 Chaoyang").names(), ("朝阳区", "Chaoyang"));
        assert_eq!(
            named("经济技术开发区 Beijing Economic-Technological Development Area").names(),
            ("经济技术开发区", "Beijing Economic-Technological Development Area")
        );
        assert_eq!(named("朝阳区").names(), ("朝阳区", ""));
        assert_eq!(named("Chaoyang").names(), ("Chaoyang", ""));
        assert_eq!(named("朝阳 区 Chaoyang").names(), ("朝阳 区", "Chaoyang"));
    }
}
