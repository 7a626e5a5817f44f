//! Settings: read in layers (see `sources.rs`), validated once at start, and composed from the
//! settings type each module declares for itself (`db::DatabaseSettings`, `jobs::JobSettings`, …).
//! Only the composition root (`app/`), `main.rs` and the benchmarks hold the whole [`Settings`];
//! everything below them is handed the parts it uses. A bad duration, URL, key, catalogue or an
//! unknown key stops the start with a message that names the key.

mod admin;
mod bank;
mod bill;
mod channels;
mod files;
mod jobs;
mod lookup;
mod server;
mod sources;

use crate::bank::BankSettings;
use crate::bill::BillSettings;
use crate::channels::ChannelSettings;
use crate::channels::sim::SimulatorSettings;
use crate::db::DatabaseSettings;
use crate::domain::catalogue::Catalogue;
use crate::domain::district::{District, DistrictCode, Districts};
use crate::http::{AdminSettings, LookupSettings, ServerSettings};
use crate::jobs::JobSettings;
use crate::qr::QrSettings;
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    pub bill: BillSettings,
    pub admin: AdminSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading configuration")]
    Load(#[from] config::ConfigError),
    #[error("configuration file {}", path.display())]
    File { path: PathBuf, source: std::io::Error },
    #[error("configuration file {} is not valid TOML: {message} (line {line}, column {column})", path.display())]
    Toml { path: PathBuf, message: String, line: usize, column: usize },
    #[error("unknown configuration key {key} ({origin}); see config/default.toml for every key")]
    UnknownKey { key: String, origin: String },
    #[error("configuration key {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, reason: reason.into() }
}

#[derive(Debug, Deserialize)]
struct RawSettings {
    database: server::RawDatabase,
    server: server::RawServer,
    qr: server::RawQr,
    catalogue: RawCatalogue,
    #[serde(default)]
    districts: Vec<RawDistrict>,
    channels: channels::RawChannels,
    simulator: channels::RawSimulator,
    lookup: lookup::RawLookup,
    admin: admin::RawAdmin,
    jobs: BTreeMap<String, String>,
    scheduler: jobs::RawScheduler,
    bank: bank::RawBank,
    bill: bill::RawBill,
}

#[derive(Debug, Deserialize)]
struct RawCatalogue {
    violations: String,
}

#[derive(Debug, Deserialize)]
struct RawDistrict {
    code: String,
    name: String,
    qr_payment_from: Option<String>,
    /// The banks that take this district's fines; without it, `[bank] agent_banks`.
    banks: Option<Vec<String>>,
}

impl Settings {
    /// The built-in defaults, then `extra_file` or the file named by `FINEPAY_CONFIG`, then the
    /// environment.
    pub fn load(extra_file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_overrides(extra_file, &[])
    }

    /// As [`Settings::load`], with `overrides` (dotted key, value) applied last; tests and
    /// benchmarks use this to pick their own port and database.
    pub fn load_with_overrides(extra_file: Option<&Path>, overrides: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let raw: RawSettings = sources::Sources::new(extra_file, overrides)?.read()?;
        raw.validate()
    }
}

impl RawSettings {
    fn validate(self) -> Result<Settings, ConfigError> {
        let database = self.database.validate()?;
        let server = self.server.validate()?;
        let qr = self.qr.validate(&server.public_base_url)?;
        let catalogue_text =
            files::read_text(&self.catalogue.violations).map_err(|e| invalid("catalogue.violations", e))?;
        let catalogue = Catalogue::from_toml(&catalogue_text).map_err(|e| invalid("catalogue.violations", e))?;
        files::warn_of_copies_not_read(&self.catalogue.violations);
        log::debug!("violation catalogue: {} ({} violations)", self.catalogue.violations, catalogue.all().count());
        let channels = self.channels.validate(&server.public_base_url)?;
        let simulator = self.simulator.validate()?;
        let lookup = self.lookup.validate()?;
        let admin = self.admin.validate()?;
        let jobs = jobs::validate(self.jobs, self.scheduler)?;
        let (bank, agent_banks) = self.bank.validate()?;
        let districts = districts(self.districts, &agent_banks)?;
        let bill = self.bill.validate()?;
        warn_of_characters_the_bill_font_lacks(&bill, &catalogue, &districts);
        Ok(Settings {
            database,
            server,
            qr,
            catalogue,
            districts,
            channels,
            simulator,
            lookup,
            jobs,
            bank,
            bill,
            admin,
        })
    }
}

/// The bill's PNG and PDF draw a character their font lacks as a box: said at start for what
/// every bill of a violation or a district prints (the places officers type are logged per bill).
/// Not refused: the ESC/POS bill is printed in the printer's own font.
fn warn_of_characters_the_bill_font_lacks(bill: &BillSettings, catalogue: &Catalogue, districts: &Districts) {
    let texts = catalogue
        .all()
        .flat_map(|v| [v.description_zh.as_str(), v.description_en.as_str()])
        .chain(districts.all().map(|d| d.name.as_str()))
        .chain([bill.authority_zh.as_str(), bill.authority_en.as_str()]);
    let lacking = bill.font.lacking(texts);
    if !lacking.is_empty() {
        log::warn!(
            "the bill font ({}) lacks {lacking:?}, which the catalogue, the districts or [bill] use: bills draw them as boxes; [bill] font can name a fuller font",
            bill.font.name()
        );
    }
}

fn districts(raw: Vec<RawDistrict>, agent_banks: &[String]) -> Result<Districts, ConfigError> {
    let mut districts = Vec::with_capacity(raw.len());
    for raw in raw {
        let code = DistrictCode::parse(&raw.code).map_err(|e| invalid("districts", e))?;
        let qr_payment_from = match raw.qr_payment_from.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(date) => Some(NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
                invalid("districts", format!("{}: qr_payment_from {date:?} is not YYYY-MM-DD", raw.code))
            })?),
        };
        let banks = raw.banks.unwrap_or_else(|| agent_banks.to_vec());
        if banks.iter().any(|b| b.trim().is_empty()) {
            return Err(invalid("districts", format!("{}: a bank's name is empty", raw.code)));
        }
        // The bank page tells a late payer where to go: it must name somewhere.
        if banks.is_empty() {
            return Err(invalid(
                "districts",
                format!("{}: no agent banks; list them in [bank] agent_banks or the district's banks", raw.code),
            ));
        }
        districts.push(District { code, name: raw.name, qr_payment_from, banks });
    }
    if districts.is_empty() {
        return Err(invalid("districts", "at least one district must be configured"));
    }
    Districts::new(districts).map_err(|e| invalid("districts", e))
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    host == "localhost"
        || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || rest.starts_with("[::1]")
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

#[cfg(test)]
mod proptests;

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
            ("bill.font", "/nonexistent/font.otf", "bill.font"),
            ("bill.font", "Cargo.toml", "bill.font"),
            ("bill.authority", " ", "bill.authority"),
        ] {
            let error = Settings::load_with_overrides(None, &[(key, value)]).expect_err(key).to_string();
            assert!(error.contains(named), "{key}={value}: {error}");
            assert!(!error.contains("s3cret"), "a password never appears in errors: {error}");
        }
    }

    /// Settings with `toml` as a configuration file over the shipped one.
    fn load_with_file(name: &str, toml: &str, overrides: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let path = std::env::temp_dir().join(format!("finepay-config-{}-{name}.toml", std::process::id()));
        std::fs::write(&path, toml).expect("the file is written");
        let loaded = Settings::load_with_overrides(Some(&path), overrides);
        let _ = std::fs::remove_file(&path);
        loaded
    }

    #[test]
    fn desk_sessions_are_bounded() {
        for (key, value) in [("admin.session_idle", "1m"), ("admin.session_idle", "25h"), ("admin.session_max", "30d")]
        {
            let error = Settings::load_with_overrides(None, &[(key, value)]).expect_err(value).to_string();
            assert!(error.contains(key), "{key}={value}: {error}");
        }
        let refused = Settings::load_with_overrides(None, &[("admin.session_idle", "2h"), ("admin.session_max", "1h")]);
        assert!(refused.expect_err("max below idle").to_string().contains("admin.session_max"));
    }

    #[test]
    fn every_district_names_the_banks_that_take_its_fines() {
        let shipped = Settings::load(None).expect("the shipped settings");
        let chaoyang = shipped.districts.get("110105").expect("Chaoyang");
        assert_eq!(chaoyang.banks.len(), 13, "[bank] agent_banks where a district names none");
        assert_eq!(chaoyang.banks[0], "中国工商银行 ICBC");

        let none = load_with_file("no-banks", "[bank]\nagent_banks = []\n", &[]).expect_err("nowhere to pay");
        assert!(none.to_string().contains("no agent banks"), "{none}");
        let own = "[bank]\nagent_banks = []\n[[districts]]\ncode = \"110105\"\nname = \"朝阳区 Chaoyang\"\n\
                   banks = [\"北京银行 Bank of Beijing\"]\n";
        let loaded = load_with_file("own-banks", own, &[]).expect("a district's own banks");
        assert_eq!(loaded.districts.get("110105").expect("Chaoyang").banks, ["北京银行 Bank of Beijing"]);
        let blank = load_with_file("blank-bank", "[bank]\nagent_banks = [\" \"]\n", &[]).expect_err("a blank name");
        assert!(blank.to_string().contains("bank.agent_banks"), "{blank}");
    }

    #[test]
    fn the_flows_a_channel_offers_are_checked_at_start() {
        let error = |name, toml, overrides: &[(&str, &str)]| {
            load_with_file(name, toml, overrides).map(|_| ()).expect_err(name).to_string()
        };
        let no_qr = error("no-qr", "[channels.alipay]\nflows = [\"wap\"]\n", &[]);
        assert!(no_qr.contains("channels.alipay") && no_qr.contains("\"qr\" is required"), "{no_qr}");
        let foreign = error("foreign", "[channels.unionpay]\nflows = [\"qr\", \"jsapi\"]\n", &[]);
        assert!(foreign.contains("not one of this channel's (qr, mobile_web)"), "{foreign}");
        // JSAPI needs the official account's secret for OAuth: a start error, not a broken button.
        let no_secret = error("no-secret", "", &[("channels.wechat.app_secret", "")]);
        assert!(no_secret.contains("jsapi flow needs the official account's app_secret"), "{no_secret}");
        let without_jsapi = "[channels.wechat]\nflows = [\"qr\", \"h5\"]\napp_secret = \"\"\n";
        assert!(load_with_file("no-jsapi", without_jsapi, &[]).is_ok(), "no secret is needed without jsapi");
        // WeChat checks that H5 starts, and OAuth returns, on the H5 domain: the page must be on it.
        let elsewhere = error("h5-domain", "", &[("channels.wechat.h5_domain", "https://pay.example.gov.cn")]);
        assert!(elsewhere.contains("must be on h5_domain"), "{elsewhere}");
        let secret_file = error("secret-file", "", &[("channels.wechat.app_secret_file", "/nonexistent/secret")]);
        assert!(secret_file.contains("not both"), "{secret_file}");
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
}
