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
/// A session's last use is recorded once a minute: an idle limit must be well above that.
const SHORTEST_IDLE: Duration = Duration::from_secs(5 * 60);
/// No session outlives a week, whatever the settings.
const LONGEST_SESSION: Duration = Duration::from_secs(7 * 24 * 3600);

impl RawAdmin {
    pub(super) fn validate(self) -> Result<AdminSettings, ConfigError> {
        let session_idle = positive("admin.session_idle", &self.session_idle)?;
        let session_max = positive("admin.session_max", &self.session_max)?;
        if !(SHORTEST_IDLE..=LONGEST_IDLE).contains(&session_idle) {
            return Err(invalid("admin.session_idle", "must be from 5m to 24h"));
        }
        if session_max > LONGEST_SESSION {
            return Err(invalid("admin.session_max", "must be at most 7 days"));
        }
        if session_max < session_idle {
            return Err(invalid("admin.session_max", "must be at least admin.session_idle"));
        }
        Ok(AdminSettings { session_idle, session_max })
    }
}
