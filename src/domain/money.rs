//! Money is an integer number of fen (1 yuan = 100 fen), never a float.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    pub const fn yuan(yuan: i64) -> Fen {
        Fen(yuan * 100)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// Parses a yuan amount as channels write it ("200.00", "0.5", "12"), exactly: no floats,
    /// at most two decimals, no sign, no exponent.
    pub fn parse_yuan(text: &str) -> Option<Fen> {
        let (whole, fraction) = match text.split_once('.') {
            Some((_, "")) => return None,
            Some(parts) => parts,
            None => (text, ""),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 15 || !digits(whole) || fraction.len() > 2 || !digits(fraction) {
            return None;
        }
        let cents = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<i64>().ok()? * 10,
            _ => fraction.parse::<i64>().ok()?,
        };
        Some(Fen(whole.parse::<i64>().ok()? * 100 + cents))
    }

    /// The amount in yuan with two decimals ("200.00"), as Alipay's and WeChat's yuan fields want.
    pub fn yuan_text(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// "¥200.00": the amount as the driver's pages and the desk show it.
pub fn format_yuan(fen: Fen) -> String {
    format!("¥{}", fen.yuan_text())
}

impl fmt::Display for Fen {
    /// "CNY 200.00": how amounts are printed on bills and pages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CNY {}", self.yuan_text())
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_yuan_with_two_decimals() {
        assert_eq!(Fen(20000).to_string(), "CNY 200.00");
        assert_eq!(Fen(505).to_string(), "CNY 5.05");
        assert_eq!(Fen(-1).to_string(), "CNY -0.01");
        assert_eq!(Fen::yuan(50), Fen(5000));
        assert_eq!(Fen(7).yuan_text(), "0.07");
    }

    #[test]
    fn parses_yuan_exactly() {
        assert_eq!(Fen::parse_yuan("200.00"), Some(Fen(20000)));
        assert_eq!(Fen::parse_yuan("0.01"), Some(Fen(1)));
        assert_eq!(Fen::parse_yuan("0.5"), Some(Fen(50)));
        assert_eq!(Fen::parse_yuan("12"), Some(Fen(1200)));
        for bad in ["", ".5", "1.234", "-1.00", "1e2", "1,00", " 1.00", "1.", "１.00"] {
            assert_eq!(Fen::parse_yuan(bad), None, "{bad:?}");
        }
    }
}
