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
}

impl fmt::Display for Fen {
    /// "CNY 200.00": how amounts are printed on bills and pages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "CNY {sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_yuan_with_two_decimals() {
        assert_eq!(Fen(20000).to_string(), "CNY 200.00");
        assert_eq!(Fen(505).to_string(), "CNY 5.05");
        assert_eq!(Fen(-1).to_string(), "CNY -0.01");
        assert_eq!(Fen::yuan(50), Fen(5000));
    }
}
