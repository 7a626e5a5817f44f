//! The `[lookup]` section: how hard the lookup page (decision number + 6-digit verification code)
//! is to guess at. A code has a million values, so attempts are limited per client address and
//! failures per decision number, both over a sliding window.

use super::{ConfigError, invalid, positive};
use crate::http::LookupSettings;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct RawLookup {
    attempts_per_address: u32,
    failures_per_fine: u32,
    window: String,
}

impl RawLookup {
    pub(super) fn validate(self) -> Result<LookupSettings, ConfigError> {
        if self.attempts_per_address == 0 {
            return Err(invalid("lookup.attempts_per_address", "must be at least 1"));
        }
        if self.failures_per_fine == 0 {
            return Err(invalid("lookup.failures_per_fine", "must be at least 1"));
        }
        Ok(LookupSettings {
            attempts_per_address: self.attempts_per_address,
            failures_per_fine: self.failures_per_fine,
            window: positive("lookup.window", &self.window)?,
        })
    }
}
