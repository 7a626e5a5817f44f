//! What the HTTP layer is configured with: the server (`[server]`), the lookup page's limits
//! (`[lookup]`) and the desk's sessions (`[admin]`).

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: String,
    /// Without a trailing slash.
    pub public_base_url: String,
    pub max_body_bytes: usize,
    /// How long a body may take to arrive (see `edge::read_body`).
    pub body_timeout: std::time::Duration,
    pub workers: usize,
    /// The header a trusted reverse proxy puts the client's address in (`X-Real-IP`, say), or
    /// none: the peer address is the client's.
    pub client_address_header: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LookupSettings {
    /// Lookups one client address may make per window (right or wrong).
    pub attempts_per_address: u32,
    /// Wrong codes one decision number may receive per window, from all addresses together.
    pub failures_per_fine: u32,
    pub window: Duration,
}

#[derive(Debug, Clone)]
pub struct AdminSettings {
    /// A desk session ends after this long without a request.
    pub session_idle: Duration,
    /// And after this long in all.
    pub session_max: Duration,
}
