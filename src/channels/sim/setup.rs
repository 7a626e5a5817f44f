//! The simulator as `serve` and `finepay channel-sim` start it: each channel configured in
//! `[channels]` is simulated with the merchant ids and merchant certificates configured there, so
//! finepay's requests verify, and with the simulator's own keys from `simulator.keys`, which the
//! shipped configuration names as the channels' platform keys.

use super::Simulator;
use super::alipay::{AlipaySim, AlipaySimConfig};
use super::payer::PayerState;
use super::settings::SimulatorSettings;
use super::unionpay::{UnionpaySim, UnionpaySimConfig};
use super::wechat::{WechatSim, WechatSimConfig};
use crate::channels::crypto::{Certificate, CryptoError, RsaSigningKey};
use crate::channels::settings::ChannelSettings;
use crate::domain::time::Clock;
use std::sync::Arc;

/// A key or certificate the simulator cannot use.
#[derive(Debug, thiserror::Error)]
#[error("the simulated {channel}'s keys")]
pub struct SetupError {
    channel: &'static str,
    source: CryptoError,
}

/// How long the simulated channels take to settle a refund.
const REFUND_SETTLES_AFTER_SECONDS: i64 = 1;

/// The simulator of the channels in `channels`, its pay links under `public_url` (its own address).
pub fn from_settings(
    settings: &SimulatorSettings,
    channels: &ChannelSettings,
    public_url: &str,
    clock: Arc<dyn Clock>,
) -> Result<Simulator, SetupError> {
    let keys = &settings.keys;
    let mut simulator = Simulator::default();
    if let Some(wechat) = &channels.wechat {
        let merchant = Certificate::from_pem(&wechat.merchant_certificate)
            .map_err(|e| SetupError { channel: "wechat", source: e })?;
        let platform = Certificate::from_pem(&keys.wechat_platform_certificate)
            .map_err(|e| SetupError { channel: "simulator keys", source: e })?;
        let config = WechatSimConfig {
            appid: wechat.appid.clone(),
            mchid: wechat.mchid.clone(),
            merchant_keys: [(merchant.serial_hex, merchant.public_key)].into(),
            signing_serial: platform.serial_hex,
            signing_key: RsaSigningKey::from_pem(&keys.wechat_platform_key)
                .map_err(|e| SetupError { channel: "simulator keys", source: e })?,
            apiv3_key: wechat.apiv3_key.expose().to_vec(),
            public_url: public_url.to_owned(),
            app_secret: wechat
                .app_secret
                .as_ref()
                .map(|s| String::from_utf8_lossy(s.expose()).into_owned())
                .unwrap_or_default(),
            web_domain: wechat.h5_domain.clone(),
            platform_certificate: keys.wechat_platform_certificate.clone(),
            refund_settles_after: chrono::Duration::seconds(REFUND_SETTLES_AFTER_SECONDS),
        };
        simulator.wechat = Some(WechatSim::new(config, clock.clone()));
    }
    if let Some(alipay) = &channels.alipay {
        let app_key = RsaSigningKey::from_pem(&alipay.app_private_key)
            .map_err(|e| SetupError { channel: "alipay", source: e })?;
        let config = AlipaySimConfig {
            app_id: alipay.app_id.clone(),
            seller_id: alipay.seller_id.clone(),
            // What the merchant would upload to Alipay: the app key's public half.
            app_public_key: app_key.public_key(),
            signing_key: RsaSigningKey::from_pem(&keys.alipay_platform_key)
                .map_err(|e| SetupError { channel: "simulator keys", source: e })?,
            pay_link_base: format!("{public_url}/sim/alipay/pay"),
        };
        simulator.alipay = Some(AlipaySim::new(config, clock.clone()));
    }
    if let Some(unionpay) = &channels.unionpay {
        let merchant = Certificate::from_pem(&unionpay.signing_certificate)
            .map_err(|e| SetupError { channel: "unionpay", source: e })?;
        let config = UnionpaySimConfig {
            mer_id: unionpay.mer_id.clone(),
            merchant_certs: [(merchant.serial_decimal, merchant.public_key)].into(),
            signing_key: RsaSigningKey::from_pem(&keys.unionpay_signing_key)
                .map_err(|e| SetupError { channel: "simulator keys", source: e })?,
            signing_cert_pem: keys.unionpay_signing_certificate.clone(),
            pay_link_base: format!("{public_url}/sim/unionpay/pay"),
            refund_settles_after: chrono::Duration::seconds(REFUND_SETTLES_AFTER_SECONDS),
        };
        simulator.unionpay = Some(UnionpaySim::new(config, clock.clone()));
    }
    simulator.payer = PayerState::new(settings.retry_scale);
    Ok(simulator)
}
