//! The channels this instance offers, built from `[channels]` at start: each enabled channel's
//! client with its keys loaded and checked. The rest of finepay asks this set for a channel by
//! name and never sees a channel's wire format.

use crate::channels::WechatVerifier as Verifier;
use crate::channels::{AlipayClient, AlipayConfig};
use crate::channels::{AlipaySettings, ChannelSettings, SIMULATOR_BASE_URL, UnionpaySettings, WechatSettings};
use crate::channels::{Certificate, CryptoError, RsaPublicKey, RsaSigningKey};
use crate::channels::{ChannelKind, Flow, PaymentChannel, WechatOauth};
use crate::channels::{UnionpayClient, UnionpayConfig};
use crate::channels::{WechatConfig, WechatPay};
use crate::domain::time::Clock;
use crate::errors::Why;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

#[derive(Clone, Default)]
pub struct ChannelSet {
    channels: BTreeMap<ChannelKind, Arc<dyn PaymentChannel>>,
    /// The flows each channel offers.
    flows: BTreeMap<ChannelKind, BTreeSet<Flow>>,
    /// WeChat's OAuth, where WeChat offers JSAPI.
    wechat_oauth: Option<Arc<WechatOauth>>,
}

#[derive(Debug, thiserror::Error)]
#[error("channels.{channel}: {what}")]
pub struct ChannelSetupError {
    pub channel: &'static str,
    pub what: String,
    #[source]
    pub source: Option<Why>,
}

fn setup_error(
    channel: &'static str,
    what: &str,
    error: impl std::error::Error + Send + Sync + 'static,
) -> ChannelSetupError {
    ChannelSetupError { channel, what: what.to_owned(), source: Some(Why::of(error)) }
}

/// Where the simulator serves WeChat's OAuth pages.
const OAUTH_AUTHORIZE_PATH: &str = "/connect/oauth2/authorize";
const OAUTH_TOKEN_PATH: &str = "/sns/oauth2/access_token";

/// Where a channel's API is, once the simulator (if used) has its port.
pub struct Endpoints<'a> {
    /// Replaces the base URL `simulator`.
    pub simulator_url: Option<&'a str>,
    /// `<base>/notify/<channel>` is where notifications go.
    pub notify_base_url: &'a str,
}

impl Endpoints<'_> {
    fn resolve(&self, channel: &'static str, base_url: &str) -> Result<String, ChannelSetupError> {
        self.resolve_with(channel, "base_url", base_url, "")
    }

    /// As `resolve`, with `path` appended to the simulator's address (Alipay names its gateway).
    fn resolve_with(
        &self,
        channel: &'static str,
        key: &str,
        base_url: &str,
        path: &str,
    ) -> Result<String, ChannelSetupError> {
        if base_url != SIMULATOR_BASE_URL {
            return Ok(base_url.to_owned());
        }
        self.simulator_url.map(|url| format!("{url}{path}")).ok_or_else(|| ChannelSetupError {
            channel,
            what: format!("{key} is \"simulator\" but the simulator is not enabled"),
            source: None,
        })
    }

    fn notify_url(&self, kind: ChannelKind) -> String {
        format!("{}/notify/{}", self.notify_base_url, kind.as_str())
    }
}

impl ChannelSet {
    pub fn from_settings(
        settings: &ChannelSettings,
        endpoints: &Endpoints<'_>,
        clock: Arc<dyn Clock>,
    ) -> Result<ChannelSet, ChannelSetupError> {
        let mut set = ChannelSet::default();
        if let Some(wechat) = &settings.wechat {
            set.insert(Arc::new(wechat_client(wechat, endpoints, settings, clock.clone())?), &wechat.flows);
            if let Some(secret) = wechat.app_secret.clone().filter(|_| wechat.flows.contains(&Flow::Jsapi)) {
                let oauth = WechatOauth::new(
                    wechat.appid.clone(),
                    secret,
                    endpoints.resolve_with(
                        "wechat",
                        "oauth_authorize_url",
                        &wechat.oauth_authorize_url,
                        OAUTH_AUTHORIZE_PATH,
                    )?,
                    endpoints.resolve_with("wechat", "oauth_token_url", &wechat.oauth_token_url, OAUTH_TOKEN_PATH)?,
                    settings.timeout,
                )
                .map_err(|e| setup_error("wechat", "the OAuth client", e))?;
                set.wechat_oauth = Some(Arc::new(oauth));
            }
        }
        if let Some(alipay) = &settings.alipay {
            set.insert(Arc::new(alipay_client(alipay, endpoints, settings, clock.clone())?), &alipay.flows);
        }
        if let Some(unionpay) = &settings.unionpay {
            set.insert(Arc::new(unionpay_client(unionpay, endpoints, settings, clock.clone())?), &unionpay.flows);
        }
        Ok(set)
    }

    pub fn insert(&mut self, channel: Arc<dyn PaymentChannel>, flows: &BTreeSet<Flow>) {
        self.flows.insert(channel.kind(), flows.clone());
        self.channels.insert(channel.kind(), channel);
    }

    /// Whether `kind` is offered here in `flow`.
    pub fn offers(&self, kind: ChannelKind, flow: Flow) -> bool {
        self.flows.get(&kind).is_some_and(|flows| flows.contains(&flow))
    }

    /// WeChat's OAuth, where WeChat is offered in the JSAPI flow.
    pub fn wechat_oauth(&self) -> Option<&WechatOauth> {
        self.wechat_oauth.as_deref()
    }

    pub fn get(&self, kind: ChannelKind) -> Option<&Arc<dyn PaymentChannel>> {
        self.channels.get(&kind)
    }

    /// The channels offered, in a fixed order.
    pub fn kinds(&self) -> Vec<ChannelKind> {
        self.channels.keys().copied().collect()
    }
}

fn wechat_client(
    wechat: &WechatSettings,
    endpoints: &Endpoints<'_>,
    settings: &ChannelSettings,
    clock: Arc<dyn Clock>,
) -> Result<WechatPay, ChannelSetupError> {
    let fail = |what: &str, e: CryptoError| setup_error("wechat", what, e);
    let merchant = Certificate::from_pem(&wechat.merchant_certificate).map_err(|e| fail("merchant_certificate", e))?;
    let merchant_key = RsaSigningKey::from_pem(&wechat.merchant_key).map_err(|e| fail("merchant_key", e))?;
    let mut keys = BTreeMap::new();
    for pem in &wechat.platform_certificates {
        let certificate = Certificate::from_pem(pem).map_err(|e| fail("platform_certificates", e))?;
        keys.insert(certificate.serial_hex.clone(), certificate.public_key);
    }
    if let Some((pem, id)) = &wechat.public_key {
        keys.insert(id.clone(), RsaPublicKey::from_pem(pem).map_err(|e| fail("public_key", e))?);
    }
    let config = WechatConfig {
        base_url: endpoints.resolve("wechat", &wechat.base_url)?,
        appid: wechat.appid.clone(),
        mchid: wechat.mchid.clone(),
        merchant_serial: merchant.serial_hex,
        merchant_key,
        apiv3_key: wechat.apiv3_key.expose().to_vec(),
        verifier: Verifier::new(keys),
        notify_url: endpoints.notify_url(ChannelKind::Wechat),
        public_key_id: wechat.public_key.as_ref().map(|(_, id)| id.clone()),
    };
    WechatPay::new(config, clock, settings.timeout).map_err(|e| setup_error("wechat", "the client", e))
}

fn unionpay_client(
    unionpay: &UnionpaySettings,
    endpoints: &Endpoints<'_>,
    settings: &ChannelSettings,
    clock: Arc<dyn Clock>,
) -> Result<UnionpayClient, ChannelSetupError> {
    let fail = |what: &str, e: CryptoError| setup_error("unionpay", what, e);
    let certificate = |what: &str, pem: &str| Certificate::from_pem(pem).map_err(|e| fail(what, e));
    let signing = certificate("signing_certificate", &unionpay.signing_certificate)?;
    let config = UnionpayConfig {
        base_url: endpoints.resolve("unionpay", &unionpay.base_url)?,
        file_transfer_url: endpoints.resolve_with(
            "unionpay",
            "file_transfer_url",
            &unionpay.file_transfer_url,
            crate::channels::UNIONPAY_FILE_TRANS_PATH,
        )?,
        mer_id: unionpay.mer_id.clone(),
        cert_id: signing.serial_decimal,
        signing_key: RsaSigningKey::from_pem(&unionpay.signing_key).map_err(|e| fail("signing_key", e))?,
        root: certificate("root_certificate", &unionpay.root_certificate)?,
        middle: certificate("middle_certificate", &unionpay.middle_certificate)?,
        validate_cn_name: unionpay.validate_cn_name,
        back_url: endpoints.notify_url(ChannelKind::Unionpay),
    };
    UnionpayClient::new(config, clock, settings.timeout).map_err(|e| setup_error("unionpay", "the client", e))
}

fn alipay_client(
    alipay: &AlipaySettings,
    endpoints: &Endpoints<'_>,
    settings: &ChannelSettings,
    clock: Arc<dyn Clock>,
) -> Result<AlipayClient, ChannelSetupError> {
    let fail = |what: &str, e: CryptoError| setup_error("alipay", what, e);
    let config = AlipayConfig {
        gateway_url: endpoints.resolve_with("alipay", "gateway_url", &alipay.gateway_url, "/gateway.do")?,
        app_id: alipay.app_id.clone(),
        seller_id: alipay.seller_id.clone(),
        app_private_key: RsaSigningKey::from_pem(&alipay.app_private_key).map_err(|e| fail("app_private_key", e))?,
        alipay_public_key: RsaPublicKey::from_pem(&alipay.alipay_public_key)
            .map_err(|e| fail("alipay_public_key", e))?,
        notify_url: endpoints.notify_url(ChannelKind::Alipay),
    };
    AlipayClient::new(config, clock, settings.timeout).map_err(|e| setup_error("alipay", "the client", e))
}
