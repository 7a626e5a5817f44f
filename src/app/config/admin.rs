//! The `[admin]` section: how long the desk's browser sessions last — ended after a spell without
//! a request (a clerk who walks away), and after a working day whatever happens.

use super::{ConfigError, invalid, positive};
use crate::http::AdminSettings;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Deserialize)]
pub(super) struct RawAdmin {
    session_idle: String,
    session_max: String,
}

/// Past this, a session left open is no longer idle but abandoned; the prune job relies on it.
const LONGEST_IDLE: Duration = Duration::from_secs(24 * 3600);

impl RawAdmin {
    pub(super) fn validate(self) -> Result<AdminSettings, ConfigError> {
        let session_idle = positive("admin.session_idle", &self.session_idle)?;
        let session_max = positive("admin.session_max", &self.session_max)?;
        if session_idle > LONGEST_IDLE {
            return Err(invalid("admin.session_idle", "must be at most 24h"));
        }
        if session_max < session_idle {
            return Err(invalid("admin.session_max", "must be at least admin.session_idle"));
        }
        Ok(AdminSettings { session_idle, session_max })
    }
}
