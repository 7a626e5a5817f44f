//! The `[bank]` section: the statutory late surcharge (its start day, rate and rounding are local
//! rules, so configurable), and how statements arrive — the largest upload, the inbox folder the
//! `bank_inbox` job reads, and how many lines an import writes per transaction.

use super::{ConfigError, invalid};
use crate::bank::BankSettings;
use crate::domain::surcharge::SurchargeRule;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
pub(super) struct RawBank {
    surcharge_free_days: i64,
    surcharge_daily_rate_bp: i64,
    surcharge_rounding: String,
    max_statement_bytes: u64,
    #[serde(default)]
    inbox: String,
    import_batch: usize,
    #[serde(default)]
    agent_banks: Vec<String>,
}

impl RawBank {
    /// The settings, and the agent banks named on the driver's pages where a district names none.
    pub(super) fn validate(self) -> Result<(BankSettings, Vec<String>), ConfigError> {
        if self.agent_banks.iter().any(|b| b.trim().is_empty()) {
            return Err(invalid("bank.agent_banks", "a bank's name is empty"));
        }
        if !(0..=3650).contains(&self.surcharge_free_days) {
            return Err(invalid("bank.surcharge_free_days", "must be between 0 and 3650 days"));
        }
        if !(0..=10_000).contains(&self.surcharge_daily_rate_bp) {
            return Err(invalid("bank.surcharge_daily_rate_bp", "must be between 0 and 10000 basis points"));
        }
        let round_to_yuan = match self.surcharge_rounding.as_str() {
            "yuan" => true,
            "fen" => false,
            other => return Err(invalid("bank.surcharge_rounding", format!("{other:?} is neither yuan nor fen"))),
        };
        if self.max_statement_bytes < 1024 {
            return Err(invalid("bank.max_statement_bytes", "must be at least 1024"));
        }
        if !(1..=100_000).contains(&self.import_batch) {
            return Err(invalid("bank.import_batch", "must be between 1 and 100000"));
        }
        let inbox = Some(self.inbox.trim()).filter(|p| !p.is_empty()).map(PathBuf::from);
        let settings = BankSettings {
            surcharge: SurchargeRule {
                grace_days: self.surcharge_free_days,
                daily_rate_bp: self.surcharge_daily_rate_bp,
                round_to_yuan,
            },
            max_statement_bytes: self.max_statement_bytes,
            inbox,
            import_batch: self.import_batch,
        };
        Ok((settings, self.agent_banks))
    }
}
