//! What the database layer is configured with (`[database]`).

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
    pub connect_timeout: Duration,
    /// How long a request waits for its group-committed write before it gets 503.
    pub write_timeout: Duration,
}
