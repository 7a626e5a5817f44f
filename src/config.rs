//! Typed settings: `config/default.toml` < the file named by `FINEPAY_CONFIG` or `--config` <
//! `FINEPAY__<SECTION>__<KEY>` environment variables. Everything is validated once, at start, so a
//! bad duration, URL, key or catalogue stops boot with a clear message instead of failing later.

mod bank;
mod channels;
mod jobs;
mod lookup;

pub use bank::BankSettings;
pub use channels::{
    AlipaySettings, ChannelSettings, NOTIFY_LOOPBACK, SIMULATOR_BASE_URL, SimulatorSettings, UnionpaySettings,
    WechatSettings, is_simulator_fixture,
};
pub use jobs::{JobSettings, SchedulerSettings, parse_schedule};
pub use lookup::LookupSettings;

use crate::domain::catalogue::Catalogue;
use crate::domain::district::{District, DistrictCode, Districts};
use crate::domain::qr_window::QrWindowPolicy;
use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A secret that never shows in logs or debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
impl Secret {
    pub fn for_tests(bytes: &[u8]) -> Secret {
        Secret(bytes.to_vec())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub server: ServerSettings,
    pub qr: QrSettings,
    pub catalogue: Catalogue,
    pub districts: Districts,
    pub channels: ChannelSettings,
    pub simulator: SimulatorSettings,
    pub lookup: LookupSettings,
    pub jobs: JobSettings,
    pub bank: BankSettings,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
    pub connect_timeout: Duration,
    /// How long a request waits for its group-committed write before it gets 503.
    pub write_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: String,
    /// Without a trailing slash.
    pub public_base_url: String,
    pub max_body_bytes: usize,
    pub workers: usize,
    /// The header a trusted reverse proxy puts the client's address in (`X-Real-IP`, say), or
    /// none: the peer address is the client's.
    pub client_address_header: Option<String>,
}

#[derive(Debug, Clone)]
pub struct QrSettings {
    pub policy: QrWindowPolicy,
    pub current_key: u8,
    pub keys: BTreeMap<u8, Secret>,
    pub render_cache_entries: usize,
}

/// The longest QR payload that still fits a version-3 symbol at level M in alphanumeric mode.
pub const QR_V3_M_ALPHANUMERIC_CAPACITY: usize = 61;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration key {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, reason: reason.into() }
}

#[derive(Debug, Deserialize)]
struct RawSettings {
    database: RawDatabase,
    server: RawServer,
    qr: RawQr,
    catalogue: RawCatalogue,
    #[serde(default)]
    districts: Vec<RawDistrict>,
    channels: channels::RawChannels,
    simulator: channels::RawSimulator,
    lookup: lookup::RawLookup,
    jobs: BTreeMap<String, String>,
    scheduler: jobs::RawScheduler,
    bank: bank::RawBank,
}

#[derive(Debug, Deserialize)]
struct RawDatabase {
    url: String,
    pool_size: u32,
    connect_timeout: String,
    write_timeout: String,
}

#[derive(Debug, Deserialize)]
struct RawServer {
    listen: String,
    public_base_url: String,
    max_body_bytes: usize,
    workers: usize,
    #[serde(default)]
    client_address_header: String,
}

#[derive(Debug, Deserialize)]
struct RawQr {
    validity: String,
    policy: String,
    business_day_end: String,
    current_key: u8,
    keys: BTreeMap<String, String>,
    render_cache_entries: usize,
}

#[derive(Debug, Deserialize)]
struct RawCatalogue {
    violations: PathBuf,
}

#[derive(Debug, Deserialize)]
struct RawDistrict {
    code: String,
    name: String,
    qr_payment_from: Option<String>,
}

impl Settings {
    /// Loads `config/default.toml` (relative to the working directory), then `extra_file` or the
    /// file named by `FINEPAY_CONFIG`, then the environment.
    pub fn load(extra_file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_overrides(extra_file, &[])
    }

    /// As [`Settings::load`], with `overrides` (dotted key, value) applied last; tests and
    /// benchmarks use this to pick their own port and database.
    pub fn load_with_overrides(extra_file: Option<&Path>, overrides: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut builder =
            config::Config::builder().add_source(config::File::from(Path::new("config/default.toml")).required(true));
        let from_env = std::env::var_os("FINEPAY_CONFIG").map(PathBuf::from);
        if let Some(file) = extra_file.map(Path::to_path_buf).or(from_env) {
            builder = builder.add_source(config::File::from(file).required(true));
        }
        builder =
            builder.add_source(config::Environment::with_prefix("FINEPAY").prefix_separator("__").separator("__"));
        for (key, value) in overrides {
            builder = builder.set_override(*key, *value)?;
        }
        let raw: RawSettings = builder.build()?.try_deserialize()?;
        raw.validate()
    }
}

impl RawSettings {
    fn validate(self) -> Result<Settings, ConfigError> {
        if self.database.pool_size < 2 {
            // The group-commit writer and request handlers each need a connection at once.
            return Err(invalid("database.pool_size", "must be at least 2"));
        }
        let database = DatabaseSettings {
            url: self.database.url.clone(),
            pool_size: self.database.pool_size,
            connect_timeout: positive("database.connect_timeout", &self.database.connect_timeout)?,
            write_timeout: positive("database.write_timeout", &self.database.write_timeout)?,
        };
        crate::db::Backend::from_url(&database.url).map_err(|e| invalid("database.url", e))?;

        let public_base_url = self.server.public_base_url.trim_end_matches('/').to_owned();
        check_public_base_url(&public_base_url)?;
        let server = ServerSettings {
            listen: self.server.listen,
            public_base_url,
            max_body_bytes: self.server.max_body_bytes.clamp(1024, 16 * 1024 * 1024),
            workers: self.server.workers,
            client_address_header: client_address_header(&self.server.client_address_header)?,
        };

        let validity = parse_duration("qr.validity", &self.qr.validity)?;
        if !(Duration::from_secs(1)..=MAX_QR_VALIDITY).contains(&validity) {
            return Err(invalid("qr.validity", "must be between one second and 90 days"));
        }
        let policy = match self.qr.policy.as_str() {
            "fixed" => QrWindowPolicy::Fixed(
                chrono::Duration::from_std(validity).map_err(|e| invalid("qr.validity", e.to_string()))?,
            ),
            "end_of_business_day" => QrWindowPolicy::EndOfBusinessDay {
                end: NaiveTime::parse_from_str(&self.qr.business_day_end, "%H:%M")
                    .map_err(|_| invalid("qr.business_day_end", "expected HH:MM"))?,
            },
            other => return Err(invalid("qr.policy", format!("{other:?} is neither fixed nor end_of_business_day"))),
        };
        let mut keys = BTreeMap::new();
        for (id, hex) in &self.qr.keys {
            let id: u8 = id
                .parse()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| invalid("qr.keys", format!("key id {id:?} is not 1-255")))?;
            let secret = data_encoding::HEXLOWER_PERMISSIVE
                .decode(hex.trim().as_bytes())
                .map_err(|_| invalid("qr.keys", format!("key {id} is not hex")))?;
            if secret.len() < 32 {
                return Err(invalid("qr.keys", format!("key {id} is shorter than 32 bytes")));
            }
            keys.insert(id, Secret(secret));
        }
        // The development key is public (it ships in default.toml): bills signed with it could be
        // forged by anyone, so it only works while pay URLs point at this machine.
        let development =
            keys.iter().find(|(_, secret)| data_encoding::HEXLOWER.encode(secret.expose()) == DEVELOPMENT_QR_KEY);
        if let Some((id, _)) = development
            && !is_loopback_url(&server.public_base_url)
        {
            return Err(invalid(
                "qr.keys",
                format!(
                    "key {id} is the public development key from default.toml; set your own, e.g. FINEPAY__QR__KEYS__{id}=<64 hex characters>"
                ),
            ));
        }
        if !keys.contains_key(&self.qr.current_key) {
            return Err(invalid("qr.current_key", format!("no key {} in qr.keys", self.qr.current_key)));
        }
        let qr = QrSettings {
            policy,
            current_key: self.qr.current_key,
            keys,
            render_cache_entries: self.qr.render_cache_entries,
        };

        let catalogue_text = std::fs::read_to_string(&self.catalogue.violations)
            .map_err(|e| invalid("catalogue.violations", format!("{}: {e}", self.catalogue.violations.display())))?;
        let catalogue = Catalogue::from_toml(&catalogue_text).map_err(|e| invalid("catalogue.violations", e))?;

        let mut districts = Vec::with_capacity(self.districts.len());
        for raw in self.districts {
            let code = DistrictCode::parse(&raw.code).map_err(|e| invalid("districts", e))?;
            let qr_payment_from = match raw.qr_payment_from.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(date) => Some(NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
                    invalid("districts", format!("{}: qr_payment_from {date:?} is not YYYY-MM-DD", raw.code))
                })?),
            };
            districts.push(District { code, name: raw.name, qr_payment_from });
        }
        if districts.is_empty() {
            return Err(invalid("districts", "at least one district must be configured"));
        }
        let districts = Districts::new(districts).map_err(|e| invalid("districts", e))?;

        let channels = self.channels.validate(&server.public_base_url)?;
        let simulator = self.simulator.validate()?;
        let lookup = self.lookup.validate()?;
        let jobs = jobs::validate(self.jobs, self.scheduler)?;
        let bank = self.bank.validate()?;
        Ok(Settings { database, server, qr, catalogue, districts, channels, simulator, lookup, jobs, bank })
    }
}

/// The QR signing key shipped in config/default.toml for local use.
const DEVELOPMENT_QR_KEY: &str = "6669e1a0c3b8f5d2e47a9b0c1d2e3f405162738495a6b7c8d9eaf0b1c2d3e4f5";

fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    host == "localhost"
        || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || rest.starts_with("[::1]")
}

fn client_address_header(raw: &str) -> Result<Option<String>, ConfigError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    actix_web::http::header::HeaderName::from_bytes(name.as_bytes())
        .map(|_| Some(name.to_owned()))
        .map_err(|_| invalid("server.client_address_header", format!("{name:?} is not a header name")))
}

fn parse_duration(key: &'static str, raw: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(raw.trim()).map_err(|e| invalid(key, format!("{raw:?}: {e}")))
}

fn positive(key: &'static str, raw: &str) -> Result<Duration, ConfigError> {
    let duration = parse_duration(key, raw)?;
    if duration.is_zero() {
        return Err(invalid(key, "must be longer than zero"));
    }
    Ok(duration)
}

/// WeChat Pay clamps an order's time_expire to 90 days; no payment window can be longer.
const MAX_QR_VALIDITY: Duration = Duration::from_secs(90 * 24 * 3600);

/// QR codes hold the upper-case pay URL in alphanumeric mode; the base URL must leave room for
/// the `/P/` path and the 31-character token inside a version-3 symbol.
fn check_public_base_url(base: &str) -> Result<(), ConfigError> {
    let key = "server.public_base_url";
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(invalid(key, "must start with http:// or https://"));
    }
    let alphanumeric = |c: char| c.is_ascii_digit() || c.is_ascii_uppercase() || " $%*+-./:".contains(c);
    if !base.to_ascii_uppercase().chars().all(alphanumeric) {
        return Err(invalid(key, "may hold only letters, digits and $%*+-./: (QR alphanumeric mode)"));
    }
    let url_len = base.len() + "/P/".len() + crate::qr::token::TOKEN_LEN;
    if url_len > QR_V3_M_ALPHANUMERIC_CAPACITY {
        return Err(invalid(
            key,
            format!(
                "pay URLs would be {url_len} characters; a version-3 QR code at level M holds {QR_V3_M_ALPHANUMERIC_CAPACITY}"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_that_would_break_the_service_are_refused_at_start() {
        for (key, value, named) in [
            ("database.pool_size", "1", "database.pool_size"),
            ("database.connect_timeout", "0s", "database.connect_timeout"),
            ("database.write_timeout", "0s", "database.write_timeout"),
            ("qr.validity", "300000years", "qr.validity"),
            ("qr.validity", "0s", "qr.validity"),
            ("qr.policy", "whenever", "qr.policy"),
            ("database.url", "mysql://root:s3cret@db/finepay", "database.url"),
            ("jobs.expire", "* * * * *", "jobs"),
            ("jobs.reconcile", "0 30 25 * * *", "jobs"),
            ("jobs.nightly", "0 0 0 * * *", "jobs"),
            ("scheduler.lease", "0s", "scheduler.lease"),
            ("scheduler.idempotency_retention", "1h", "scheduler.idempotency_retention"),
        ] {
            let error = Settings::load_with_overrides(None, &[(key, value)]).expect_err(key).to_string();
            assert!(error.contains(named), "{key}={value}: {error}");
            assert!(!error.contains("s3cret"), "a password never appears in errors: {error}");
        }
    }

    #[test]
    fn loopback_urls_are_recognised() {
        assert!(is_loopback_url("http://127.0.0.1:8080"));
        assert!(is_loopback_url("http://localhost:8080"));
        assert!(is_loopback_url("http://[::1]:8080"));
        assert!(!is_loopback_url("https://pay.example.gov.cn"));
        assert!(!is_loopback_url("https://127.0.0.1.example.com"));
    }

    #[test]
    fn the_public_development_key_only_signs_for_loopback() {
        let public = ("server.public_base_url", "https://pay.example.gov.cn");
        let refused = Settings::load_with_overrides(None, &[public]).expect_err("development key refused");
        assert!(refused.to_string().contains("development key"), "{refused}");
        let own_key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let settings =
            Settings::load_with_overrides(None, &[public, ("qr.keys.1", own_key)]).expect("own key accepted");
        assert_eq!(settings.qr.keys[&1].expose()[0], 0x01);
        assert!(Settings::load_with_overrides(None, &[]).is_ok(), "the shipped configuration works as it is");
    }

    #[test]
    fn public_base_url_must_fit_a_small_qr_code() {
        assert!(check_public_base_url("http://127.0.0.1:8080").is_ok());
        assert!(check_public_base_url("https://pay.example.gov.cn").is_ok());
        assert!(check_public_base_url("https://a-very-long-host-name.traffic.example.gov.cn").is_err());
        assert!(check_public_base_url("https://pay.example.gov.cn/pay?x=1").is_err());
        assert!(check_public_base_url("ftp://pay.example.gov.cn").is_err());
    }
}
