//! The `[database]`, `[server]` and `[qr]` sections: where the data is, what the HTTP server
//! binds and what its pay URLs look like, and how QR tokens are signed and windows drawn.

use super::{ConfigError, invalid, is_loopback_url, parse_duration, positive};
use crate::db::{Backend, DatabaseSettings};
use crate::domain::{QrWindowPolicy, Secret};
use crate::http::ServerSettings;
use crate::qr::{QR_V3_M_ALPHANUMERIC_CAPACITY, QR_V4_M_ALPHANUMERIC_CAPACITY, QrSettings};
use chrono::NaiveTime;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Deserialize)]
pub(super) struct RawDatabase {
    url: String,
    pool_size: u32,
    connect_timeout: String,
    write_timeout: String,
}

impl RawDatabase {
    pub(super) fn validate(self) -> Result<DatabaseSettings, ConfigError> {
        if self.pool_size < 2 {
            // The group-commit writer and request handlers each need a connection at once.
            return Err(invalid("database.pool_size", "must be at least 2"));
        }
        Backend::from_url(&self.url).map_err(|e| invalid("database.url", e))?;
        Ok(DatabaseSettings {
            url: self.url,
            pool_size: self.pool_size,
            connect_timeout: positive("database.connect_timeout", &self.connect_timeout)?,
            write_timeout: positive("database.write_timeout", &self.write_timeout)?,
        })
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RawServer {
    listen: String,
    public_base_url: String,
    max_body_bytes: usize,
    body_timeout: String,
    workers: usize,
    #[serde(default)]
    client_address_header: String,
}

impl RawServer {
    pub(super) fn validate(self) -> Result<ServerSettings, ConfigError> {
        let public_base_url = self.public_base_url.trim_end_matches('/').to_owned();
        check_public_base_url(&public_base_url)?;
        Ok(ServerSettings {
            listen: self.listen,
            public_base_url,
            max_body_bytes: self.max_body_bytes.clamp(1024, 16 * 1024 * 1024),
            body_timeout: at_most_an_hour("server.body_timeout", &self.body_timeout)?,
            workers: self.workers,
            client_address_header: client_address_header(&self.client_address_header)?,
        })
    }
}

/// A positive duration of at most an hour: a body that takes longer is no client's.
fn at_most_an_hour(key: &'static str, text: &str) -> Result<Duration, ConfigError> {
    let duration = positive(key, text)?;
    if duration > Duration::from_secs(3600) {
        return Err(invalid(key, "must be at most 1h"));
    }
    Ok(duration)
}

#[derive(Debug, Deserialize)]
pub(super) struct RawQr {
    validity: String,
    policy: String,
    business_day_end: String,
    current_key: u8,
    keys: BTreeMap<String, String>,
    render_cache_entries: usize,
}

impl RawQr {
    pub(super) fn validate(self, public_base_url: &str) -> Result<QrSettings, ConfigError> {
        let validity = parse_duration("qr.validity", &self.validity)?;
        if !(Duration::from_secs(1)..=MAX_QR_VALIDITY).contains(&validity) {
            return Err(invalid("qr.validity", "must be between one second and 90 days"));
        }
        let policy = match self.policy.as_str() {
            "fixed" => QrWindowPolicy::Fixed(
                chrono::Duration::from_std(validity).map_err(|e| invalid("qr.validity", e.to_string()))?,
            ),
            "end_of_business_day" => QrWindowPolicy::EndOfBusinessDay {
                end: NaiveTime::parse_from_str(&self.business_day_end, "%H:%M")
                    .map_err(|_| invalid("qr.business_day_end", "expected HH:MM"))?,
            },
            other => return Err(invalid("qr.policy", format!("{other:?} is neither fixed nor end_of_business_day"))),
        };
        let mut keys = BTreeMap::new();
        for (id, hex) in &self.keys {
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
            keys.insert(id, Secret::new(secret));
        }
        // The development key is public (it ships in default.toml): bills signed with it could be
        // forged by anyone, so it only works while pay URLs point at this machine.
        let development =
            keys.iter().find(|(_, secret)| data_encoding::HEXLOWER.encode(secret.expose()) == DEVELOPMENT_QR_KEY);
        if let Some((id, _)) = development
            && !is_loopback_url(public_base_url)
        {
            return Err(invalid(
                "qr.keys",
                format!(
                    "key {id} is the public development key from default.toml; set your own, e.g. FINEPAY__QR__KEYS__{id}=<64 hex characters>"
                ),
            ));
        }
        if !keys.contains_key(&self.current_key) {
            return Err(invalid("qr.current_key", format!("no key {} in qr.keys", self.current_key)));
        }
        Ok(QrSettings { policy, current_key: self.current_key, keys, render_cache_entries: self.render_cache_entries })
    }
}

/// The QR signing key shipped in config/default.toml for local use.
const DEVELOPMENT_QR_KEY: &str = "6669e1a0c3b8f5d2e47a9b0c1d2e3f405162738495a6b7c8d9eaf0b1c2d3e4f5";

/// WeChat Pay clamps an order's time_expire to 90 days; no payment window can be longer.
const MAX_QR_VALIDITY: Duration = Duration::from_secs(90 * 24 * 3600);

fn client_address_header(raw: &str) -> Result<Option<String>, ConfigError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    actix_web::http::header::HeaderName::from_bytes(name.as_bytes())
        .map(|_| Some(name.to_owned()))
        .map_err(|_| invalid("server.client_address_header", format!("{name:?} is not a header name")))
}

/// QR codes hold the upper-case pay URL in alphanumeric mode; the base URL must leave room for
/// the `/P/` path and the 31-character token inside a version-4 symbol, and the code is the
/// smaller version 3 whenever it fits (a base URL of up to 27 characters).
fn check_public_base_url(base: &str) -> Result<(), ConfigError> {
    let key = "server.public_base_url";
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(invalid(key, "must start with http:// or https://"));
    }
    let alphanumeric = |c: char| c.is_ascii_digit() || c.is_ascii_uppercase() || " $%*+-./:".contains(c);
    if !base.to_ascii_uppercase().chars().all(alphanumeric) {
        return Err(invalid(key, "may hold only letters, digits and $%*+-./: (QR alphanumeric mode)"));
    }
    let url_len = base.len() + "/P/".len() + crate::qr::TOKEN_LEN;
    if url_len > QR_V4_M_ALPHANUMERIC_CAPACITY {
        return Err(invalid(
            key,
            format!(
                "pay URLs would be {url_len} characters; a version-4 QR code at level M holds {QR_V4_M_ALPHANUMERIC_CAPACITY}, so the base URL may be at most {} characters",
                QR_V4_M_ALPHANUMERIC_CAPACITY - (url_len - base.len())
            ),
        ));
    }
    if url_len > QR_V3_M_ALPHANUMERIC_CAPACITY {
        log::info!(
            "pay URLs are {url_len} characters: QR codes are version 4 (33 modules); a base URL of {} characters or fewer would keep them version 3",
            QR_V3_M_ALPHANUMERIC_CAPACITY - (url_len - base.len())
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_base_url_must_fit_a_small_qr_code() {
        assert!(check_public_base_url("http://127.0.0.1:8080").is_ok());
        assert!(check_public_base_url("https://pay.example.gov.cn").is_ok());
        assert!(check_public_base_url("https://jtgl.beijing.gov.cn").is_ok(), "27 characters: version 3");
        assert!(check_public_base_url("https://jtgl.gaj.beijing.gov.cn/jtfk/pay").is_ok(), "40 characters: version 4");
        assert!(check_public_base_url("https://a-very-long-host-name.traffic.example.gov.cn/payments").is_err());
        assert!(
            check_public_base_url("https://pay.example.gov.cn/pay?x=1").is_err(),
            "? is outside the alphanumeric set"
        );
        assert!(check_public_base_url("ftp://pay.example.gov.cn").is_err());
    }
}
