//! The `[channels]` and `[simulator]` sections: which QR channels are offered, how finepay talks
//! to each (base URL, merchant ids, key files), and the simulator that the shipped configuration
//! points them at. Key files are PEM; they are read and checked at start, so a missing or wrong
//! key stops `serve` instead of failing the first payer.
//!
//! The simulator's keys under `config/simulator/` are public. A channel whose base URL is not on
//! this machine must not use any of them: with the simulator's platform key anyone could forge a
//! notification. That is refused at start.

use super::files::{join, read_text};
use super::{ConfigError, invalid, is_loopback_url, positive};
use crate::channels::Flow;
use crate::channels::sim::{SIMULATOR_APIV3_KEY, SIMULATOR_APP_SECRET, is_simulator_fixture};
use crate::channels::sim::{SimulatorKeys, SimulatorSettings};
use crate::channels::{
    AlipaySettings, ChannelSettings, NOTIFY_LOOPBACK, SIMULATOR_BASE_URL, UnionpaySettings, WechatSettings,
};
use crate::domain::Secret;
use serde::Deserialize;
use std::collections::BTreeSet;

#[derive(Debug, Deserialize)]
pub(super) struct RawChannels {
    timeout: String,
    #[serde(default)]
    notify_base_url: String,
    refund_retry: String,
    refund_retry_max: String,
    wechat: Option<RawWechat>,
    alipay: Option<RawAlipay>,
    unionpay: Option<RawUnionpay>,
}

#[derive(Debug, Deserialize)]
struct RawAlipay {
    enabled: bool,
    flows: Vec<String>,
    gateway_url: String,
    app_id: String,
    seller_id: String,
    app_private_key: String,
    alipay_public_key: String,
}

impl RawAlipay {
    fn validate(self) -> Result<AlipaySettings, ConfigError> {
        const KEY: &str = "channels.alipay";
        let gateway_url = base_url(KEY, &self.gateway_url)?;
        let production = gateway_url != SIMULATOR_BASE_URL && !is_loopback_url(&gateway_url);
        Ok(AlipaySettings {
            flows: flows(KEY, &self.flows, &[Flow::Qr, Flow::Wap])?,
            app_id: non_empty(KEY, "app_id", self.app_id)?,
            seller_id: non_empty(KEY, "seller_id", self.seller_id)?,
            app_private_key: read_pem(KEY, &self.app_private_key, production)?,
            alipay_public_key: read_pem(KEY, &self.alipay_public_key, production)?,
            gateway_url,
        })
    }
}

#[derive(Debug, Deserialize)]
struct RawUnionpay {
    enabled: bool,
    flows: Vec<String>,
    base_url: String,
    file_transfer_url: String,
    mer_id: String,
    signing_certificate: String,
    signing_key: String,
    root_certificate: String,
    middle_certificate: String,
    validate_cn_name: bool,
}

impl RawUnionpay {
    fn validate(self) -> Result<UnionpaySettings, ConfigError> {
        const KEY: &str = "channels.unionpay";
        let base_url = base_url(KEY, &self.base_url)?;
        let production = base_url != SIMULATOR_BASE_URL && !is_loopback_url(&base_url);
        let read = |path: &str| read_pem(KEY, path, production);
        if production && !self.validate_cn_name {
            return Err(invalid(KEY, "validate_cn_name may be off only for UnionPay's test environment"));
        }
        Ok(UnionpaySettings {
            flows: flows(KEY, &self.flows, &[Flow::Qr, Flow::MobileWeb])?,
            file_transfer_url: self::base_url(KEY, &self.file_transfer_url)?,
            base_url,
            mer_id: non_empty(KEY, "mer_id", self.mer_id)?,
            signing_certificate: read(&self.signing_certificate)?,
            signing_key: read(&self.signing_key)?,
            root_certificate: read(&self.root_certificate)?,
            middle_certificate: read(&self.middle_certificate)?,
            validate_cn_name: self.validate_cn_name,
        })
    }
}

#[derive(Debug, Deserialize)]
struct RawWechat {
    enabled: bool,
    base_url: String,
    appid: String,
    mchid: String,
    merchant_certificate: String,
    merchant_key: String,
    apiv3_key: String,
    #[serde(default)]
    platform_certificates: Vec<String>,
    #[serde(default)]
    public_key: Option<String>,
    #[serde(default)]
    public_key_id: Option<String>,
    flows: Vec<String>,
    #[serde(default)]
    app_secret: String,
    #[serde(default)]
    app_secret_file: String,
    oauth_authorize_url: String,
    oauth_token_url: String,
    #[serde(default)]
    h5_domain: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawSimulator {
    enabled: bool,
    listen: String,
    keys: String,
    retry_scale: f64,
}

impl RawChannels {
    pub(super) fn validate(self, public_base_url: &str) -> Result<ChannelSettings, ConfigError> {
        let notify_base_url = match self.notify_base_url.trim().trim_end_matches('/') {
            "" => public_base_url.to_owned(),
            NOTIFY_LOOPBACK => NOTIFY_LOOPBACK.to_owned(),
            url if url.starts_with("http://") || url.starts_with("https://") => url.to_owned(),
            _ => return Err(invalid("channels.notify_base_url", "must start with http:// or https://")),
        };
        let refund_retry = positive("channels.refund_retry", &self.refund_retry)?;
        let refund_retry_max = positive("channels.refund_retry_max", &self.refund_retry_max)?;
        if refund_retry_max < refund_retry {
            return Err(invalid("channels.refund_retry_max", "must not be shorter than channels.refund_retry"));
        }
        Ok(ChannelSettings {
            timeout: positive("channels.timeout", &self.timeout)?,
            notify_base_url,
            refund_retry,
            refund_retry_max,
            wechat: self.wechat.filter(|w| w.enabled).map(|w| w.validate(public_base_url)).transpose()?,
            alipay: self.alipay.filter(|a| a.enabled).map(RawAlipay::validate).transpose()?,
            unionpay: self.unionpay.filter(|u| u.enabled).map(RawUnionpay::validate).transpose()?,
        })
    }
}

impl RawWechat {
    fn validate(self, public_base_url: &str) -> Result<WechatSettings, ConfigError> {
        const KEY: &str = "channels.wechat";
        let base_url = base_url(KEY, &self.base_url)?;
        let production = base_url != SIMULATOR_BASE_URL && !is_loopback_url(&base_url);
        let read = |path: &str| read_pem(KEY, path, production);
        let apiv3_key = self.apiv3_key.trim().as_bytes().to_vec();
        if apiv3_key.len() != 32 {
            return Err(invalid(KEY, "apiv3_key must be the 32-character APIv3 key"));
        }
        if production && apiv3_key == SIMULATOR_APIV3_KEY.as_bytes() {
            return Err(invalid(KEY, "apiv3_key is the simulator's; set the merchant's own"));
        }
        let platform_certificates =
            self.platform_certificates.iter().map(|p| read(p)).collect::<Result<Vec<_>, _>>()?;
        let public_key = match (self.public_key, self.public_key_id) {
            (Some(path), Some(id)) if id.starts_with("PUB_KEY_ID_") => Some((read(&path)?, id)),
            (None, None) => None,
            _ => return Err(invalid(KEY, "public_key needs public_key_id (PUB_KEY_ID_…), and the other way round")),
        };
        if platform_certificates.is_empty() && public_key.is_none() {
            return Err(invalid(KEY, "configure platform_certificates or public_key to verify WeChat's signatures"));
        }
        let flows = flows(KEY, &self.flows, &[Flow::Qr, Flow::Jsapi, Flow::H5])?;
        let app_secret = app_secret(&self.app_secret, &self.app_secret_file, production)?;
        if flows.contains(&Flow::Jsapi) && app_secret.is_none() {
            return Err(invalid(
                KEY,
                "the jsapi flow needs the official account's app_secret (or app_secret_file) for OAuth",
            ));
        }
        let h5_domain = match self.h5_domain.trim().trim_end_matches('/') {
            "" => public_base_url.to_owned(),
            domain if domain.starts_with("http://") || domain.starts_with("https://") => domain.to_owned(),
            _ => return Err(invalid(KEY, "h5_domain must start with http:// or https://")),
        };
        if (flows.contains(&Flow::H5) || flows.contains(&Flow::Jsapi))
            && !public_base_url.eq_ignore_ascii_case(&h5_domain)
            && !public_base_url.to_ascii_lowercase().starts_with(&format!("{}/", h5_domain.to_ascii_lowercase()))
        {
            return Err(invalid(
                KEY,
                format!(
                    "the pay page ({public_base_url}) must be on h5_domain ({h5_domain}): WeChat checks the page that starts H5 and OAuth returns only there"
                ),
            ));
        }
        Ok(WechatSettings {
            flows,
            app_secret,
            oauth_authorize_url: endpoint(KEY, "oauth_authorize_url", &self.oauth_authorize_url)?,
            oauth_token_url: endpoint(KEY, "oauth_token_url", &self.oauth_token_url)?,
            h5_domain,
            base_url,
            appid: non_empty(KEY, "appid", self.appid)?,
            mchid: non_empty(KEY, "mchid", self.mchid)?,
            merchant_certificate: read(&self.merchant_certificate)?,
            merchant_key: read(&self.merchant_key)?,
            apiv3_key: Secret::new(apiv3_key),
            platform_certificates,
            public_key,
        })
    }
}

impl RawSimulator {
    pub(super) fn validate(self) -> Result<SimulatorSettings, ConfigError> {
        if !is_loopback_url(&self.listen) {
            return Err(invalid("simulator.listen", "the simulator serves this machine only (a loopback address)"));
        }
        if !(self.retry_scale > 0.0 && self.retry_scale <= 1.0) {
            return Err(invalid("simulator.retry_scale", "must be above 0 and at most 1"));
        }
        let read = |file: &str| read_text(&join(&self.keys, file)).map_err(|e| invalid("simulator.keys", e));
        let [a, b, c, d, e] = SimulatorKeys::FILES;
        let keys = SimulatorKeys::from_files([read(a)?, read(b)?, read(c)?, read(d)?, read(e)?]);
        Ok(SimulatorSettings { enabled: self.enabled, listen: self.listen, keys, retry_scale: self.retry_scale })
    }
}

/// Reads a PEM file named in `[channels]`; a production channel refuses the simulator's keys.
fn read_pem(key: &'static str, path: &str, production: bool) -> Result<String, ConfigError> {
    let text = read_text(path).map_err(|e| invalid(key, e))?;
    if !text.contains("-----BEGIN") {
        return Err(invalid(key, format!("{path} is not a PEM file")));
    }
    if production && is_simulator_fixture(&text) {
        return Err(invalid(
            key,
            format!("{path} is one of the simulator's public test keys; a real channel needs the merchant's own"),
        ));
    }
    Ok(text)
}

/// The flows a channel is configured to offer, each one it has.
fn flows(key: &'static str, names: &[String], offered: &[Flow]) -> Result<BTreeSet<Flow>, ConfigError> {
    let mut flows = BTreeSet::new();
    for name in names {
        let flow = Flow::parse(name.trim()).filter(|flow| offered.contains(flow)).ok_or_else(|| {
            let known: Vec<&str> = offered.iter().map(|f| f.as_str()).collect();
            invalid(key, format!("flows: {name:?} is not one of this channel's ({})", known.join(", ")))
        })?;
        flows.insert(flow);
    }
    if !flows.contains(&Flow::Qr) {
        return Err(invalid(
            key,
            "flows: \"qr\" is required (the code a second screen shows, and what a phone gets where its flow is not offered); set enabled = false to offer none",
        ));
    }
    Ok(flows)
}

/// The official account's AppSecret: from `app_secret` (best given in the environment) or the
/// file `app_secret_file` names; a production channel refuses the simulator's.
fn app_secret(value: &str, file: &str, production: bool) -> Result<Option<Secret>, ConfigError> {
    const KEY: &str = "channels.wechat";
    let secret = match (value.trim(), file.trim()) {
        ("", "") => return Ok(None),
        (value, "") => value.to_owned(),
        ("", file) => read_text(file).map_err(|e| invalid(KEY, format!("app_secret_file {e}")))?.trim().to_owned(),
        _ => return Err(invalid(KEY, "give app_secret or app_secret_file, not both")),
    };
    if secret.is_empty() {
        return Err(invalid(KEY, "app_secret is empty"));
    }
    if production && secret == SIMULATOR_APP_SECRET {
        return Err(invalid(KEY, "app_secret is the simulator's; set the official account's own"));
    }
    Ok(Some(Secret::new(secret.into_bytes())))
}

/// A WeChat endpoint's URL, or `simulator`.
fn endpoint(key: &'static str, field: &str, raw: &str) -> Result<String, ConfigError> {
    base_url(key, raw).map_err(|_| invalid(key, format!("{field} must be simulator or an https:// URL")))
}

fn base_url(key: &'static str, raw: &str) -> Result<String, ConfigError> {
    let url = raw.trim().trim_end_matches('/');
    if url == SIMULATOR_BASE_URL {
        return Ok(url.to_owned());
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(invalid(key, "base_url must start with http:// or https://"));
    }
    if url.starts_with("http://") && !is_loopback_url(url) {
        return Err(invalid(key, "a channel off this machine must be reached over https"));
    }
    Ok(url.to_owned())
}

fn non_empty(key: &'static str, field: &str, value: String) -> Result<String, ConfigError> {
    let value = value.trim().to_owned();
    if value.is_empty() {
        return Err(invalid(key, format!("{field} must not be empty")));
    }
    Ok(value)
}
