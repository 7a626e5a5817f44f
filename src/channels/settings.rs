//! What the channels are configured with (`[channels]`): which are offered, where each is, the
//! merchant's ids and keys (PEM text, read and checked at start), and the refund retry schedule.

use super::Flow;
use crate::domain::secret::Secret;
use std::collections::BTreeSet;
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
    /// The flows offered: `qr` (precreate) and `wap` (`alipay.trade.wap.pay`).
    pub flows: BTreeSet<Flow>,
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
    /// The flows offered: `qr` (the consumption QR, also opened as a link inside QuickPass) and
    /// `mobile_web` (ACP's mobile web payment).
    pub flows: BTreeSet<Flow>,
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
    /// The flows offered: `qr` (Native), `jsapi` (inside WeChat), `h5` (other mobile browsers).
    pub flows: BTreeSet<Flow>,
    /// The official account's AppSecret, which OAuth's code exchange needs (JSAPI).
    pub app_secret: Option<Secret>,
    /// WeChat's OAuth authorize page, or `simulator`.
    pub oauth_authorize_url: String,
    /// WeChat's OAuth code exchange, or `simulator`.
    pub oauth_token_url: String,
    /// The merchant's H5 payment (and OAuth) domain, where the pay page is served.
    pub h5_domain: String,
}

/// The notify base URL that means "this server, on loopback, at the port it bound" (tests).
pub const NOTIFY_LOOPBACK: &str = "loopback";

/// The base URL that means "the simulator `serve` starts" (its port is known only once it runs).
pub const SIMULATOR_BASE_URL: &str = "simulator";
