//! The `[channels]` and `[simulator]` sections: which QR channels are offered, how finepay talks
//! to each (base URL, merchant ids, key files), and the simulator that the shipped configuration
//! points them at. Key files are PEM; they are read and checked at start, so a missing or wrong
//! key stops `serve` instead of failing the first payer.
//!
//! The simulator's keys under `config/simulator/` are public. A channel whose base URL is not on
//! this machine must not use any of them: with the simulator's platform key anyone could forge a
//! notification. That is refused at start.

use super::{ConfigError, Secret, invalid, is_loopback_url, positive};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ChannelSettings {
    /// Deadline of each call to a channel.
    pub timeout: Duration,
    /// Where channels send notifications: `<notify_base_url>/notify/<channel>`. `loopback` means
    /// this server on 127.0.0.1 at the port it bound.
    pub notify_base_url: String,
    /// First wait before asking a channel about a pending refund again; doubles up to the max.
    pub refund_retry: Duration,
    pub refund_retry_max: Duration,
    pub wechat: Option<WechatSettings>,
    pub alipay: Option<AlipaySettings>,
    pub unionpay: Option<UnionpaySettings>,
}

#[derive(Debug, Clone)]
pub struct AlipaySettings {
    /// The gateway itself (`…/gateway.do`), or `simulator`.
    pub gateway_url: String,
    pub app_id: String,
    /// The merchant's Alipay user id (`2088…`).
    pub seller_id: String,
    /// The app's private key (PEM), which signs requests.
    pub app_private_key: String,
    /// Alipay's public key (PEM), which answers and notifications are verified with.
    pub alipay_public_key: String,
}

#[derive(Debug, Clone)]
pub struct UnionpaySettings {
    pub base_url: String,
    /// Where statement files are asked for; "simulator" with the simulator.
    pub file_transfer_url: String,
    pub mer_id: String,
    /// The merchant signing certificate (its decimal serial is the `certId`) and its key.
    pub signing_certificate: String,
    pub signing_key: String,
    /// UnionPay's root and middle certificates, which every `signPubKeyCert` must chain to.
    pub root_certificate: String,
    pub middle_certificate: String,
    pub validate_cn_name: bool,
}

#[derive(Debug, Clone)]
pub struct WechatSettings {
    pub base_url: String,
    pub appid: String,
    pub mchid: String,
    /// The merchant API certificate (its serial names the signing key) and its private key.
    pub merchant_certificate: String,
    pub merchant_key: String,
    pub apiv3_key: Secret,
    /// WeChat Pay platform certificates (PEM text), for answers and notifications.
    pub platform_certificates: Vec<String>,
    /// Public-key mode: the WeChat Pay public key (PEM text) and its id (`PUB_KEY_ID_…`).
    pub public_key: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct SimulatorSettings {
    /// Whether `serve` starts the simulator beside the daemon.
    pub enabled: bool,
    /// A loopback address; port 0 picks a free port.
    pub listen: String,
    /// The simulator's keys and certificates.
    pub keys: PathBuf,
    /// Multiplies the channels' notification retry intervals (1.0 is the real schedule).
    pub retry_scale: f64,
}

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
    gateway_url: String,
    app_id: String,
    seller_id: String,
    app_private_key: PathBuf,
    alipay_public_key: PathBuf,
}

impl RawAlipay {
    fn validate(self) -> Result<AlipaySettings, ConfigError> {
        const KEY: &str = "channels.alipay";
        let gateway_url = base_url(KEY, &self.gateway_url)?;
        let production = gateway_url != SIMULATOR_BASE_URL && !is_loopback_url(&gateway_url);
        Ok(AlipaySettings {
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
    base_url: String,
    file_transfer_url: String,
    mer_id: String,
    signing_certificate: PathBuf,
    signing_key: PathBuf,
    root_certificate: PathBuf,
    middle_certificate: PathBuf,
    validate_cn_name: bool,
}

impl RawUnionpay {
    fn validate(self) -> Result<UnionpaySettings, ConfigError> {
        const KEY: &str = "channels.unionpay";
        let base_url = base_url(KEY, &self.base_url)?;
        let production = base_url != SIMULATOR_BASE_URL && !is_loopback_url(&base_url);
        let read = |path: &Path| read_pem(KEY, path, production);
        if production && !self.validate_cn_name {
            return Err(invalid(KEY, "validate_cn_name may be off only for UnionPay's test environment"));
        }
        Ok(UnionpaySettings {
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
    merchant_certificate: PathBuf,
    merchant_key: PathBuf,
    apiv3_key: String,
    #[serde(default)]
    platform_certificates: Vec<PathBuf>,
    #[serde(default)]
    public_key: Option<PathBuf>,
    #[serde(default)]
    public_key_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawSimulator {
    enabled: bool,
    listen: String,
    keys: PathBuf,
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
            wechat: self.wechat.filter(|w| w.enabled).map(RawWechat::validate).transpose()?,
            alipay: self.alipay.filter(|a| a.enabled).map(RawAlipay::validate).transpose()?,
            unionpay: self.unionpay.filter(|u| u.enabled).map(RawUnionpay::validate).transpose()?,
        })
    }
}

impl RawWechat {
    fn validate(self) -> Result<WechatSettings, ConfigError> {
        const KEY: &str = "channels.wechat";
        let base_url = base_url(KEY, &self.base_url)?;
        let production = base_url != SIMULATOR_BASE_URL && !is_loopback_url(&base_url);
        let read = |path: &Path| read_pem(KEY, path, production);
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
        Ok(WechatSettings {
            base_url,
            appid: non_empty(KEY, "appid", self.appid)?,
            mchid: non_empty(KEY, "mchid", self.mchid)?,
            merchant_certificate: read(&self.merchant_certificate)?,
            merchant_key: read(&self.merchant_key)?,
            apiv3_key: Secret(apiv3_key),
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
        Ok(SimulatorSettings {
            enabled: self.enabled,
            listen: self.listen,
            keys: self.keys,
            retry_scale: self.retry_scale,
        })
    }
}

/// The notify base URL that means "this server, on loopback, at the port it bound" (tests).
pub const NOTIFY_LOOPBACK: &str = "loopback";

/// The simulator's APIv3 key (config/default.toml).
pub const SIMULATOR_APIV3_KEY: &str = "finepay-simulator-apiv3-key-0032";

/// Every key and certificate in `config/simulator/`, to recognise them wherever they are copied.
const SIMULATOR_FIXTURES: &[&str] = &[
    include_str!("../../config/simulator/alipay_app.key.pem"),
    include_str!("../../config/simulator/alipay_app.pub.pem"),
    include_str!("../../config/simulator/alipay_platform.key.pem"),
    include_str!("../../config/simulator/alipay_platform.pub.pem"),
    include_str!("../../config/simulator/unionpay_merchant.cert.pem"),
    include_str!("../../config/simulator/unionpay_merchant.key.pem"),
    include_str!("../../config/simulator/unionpay_middle.cert.pem"),
    include_str!("../../config/simulator/unionpay_other_cn.cert.pem"),
    include_str!("../../config/simulator/unionpay_other_cn.key.pem"),
    include_str!("../../config/simulator/unionpay_test_cn.cert.pem"),
    include_str!("../../config/simulator/unionpay_test_cn.key.pem"),
    include_str!("../../config/simulator/unionpay_middle.key.pem"),
    include_str!("../../config/simulator/unionpay_root.cert.pem"),
    include_str!("../../config/simulator/unionpay_root.key.pem"),
    include_str!("../../config/simulator/unionpay_sign.cert.pem"),
    include_str!("../../config/simulator/unionpay_sign.key.pem"),
    include_str!("../../config/simulator/wechat_merchant.cert.pem"),
    include_str!("../../config/simulator/wechat_merchant.key.pem"),
    include_str!("../../config/simulator/wechat_platform.cert.pem"),
    include_str!("../../config/simulator/wechat_platform.key.pem"),
    include_str!("../../config/simulator/wechat_pubkey.key.pem"),
];

/// Whether `pem` holds (or is) one of the simulator's public test keys or certificates.
pub fn is_simulator_fixture(pem: &str) -> bool {
    let blocks = |text: &str| -> Vec<String> {
        text.split("-----END")
            .filter_map(|part| part.split_once("-----BEGIN").map(|(_, body)| body.split_whitespace().collect()))
            .collect()
    };
    let given = blocks(pem);
    SIMULATOR_FIXTURES.iter().flat_map(|fixture| blocks(fixture)).any(|block| given.contains(&block))
}

/// Reads a PEM file named in `[channels]`; a production channel refuses the simulator's keys.
pub(super) fn read_pem(key: &'static str, path: &Path, production: bool) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| invalid(key, format!("{}: {e}", path.display())))?;
    if !text.contains("-----BEGIN") {
        return Err(invalid(key, format!("{} is not a PEM file", path.display())));
    }
    if production && is_simulator_fixture(&text) {
        return Err(invalid(
            key,
            format!(
                "{} is one of the simulator's public test keys; a real channel needs the merchant's own",
                path.display()
            ),
        ));
    }
    Ok(text)
}

/// The base URL that means "the simulator `serve` starts" (its port is known only once it runs).
pub const SIMULATOR_BASE_URL: &str = "simulator";

pub(super) fn base_url(key: &'static str, raw: &str) -> Result<String, ConfigError> {
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

pub(super) fn non_empty(key: &'static str, field: &str, value: String) -> Result<String, ConfigError> {
    let value = value.trim().to_owned();
    if value.is_empty() {
        return Err(invalid(key, format!("{field} must not be empty")));
    }
    Ok(value)
}
