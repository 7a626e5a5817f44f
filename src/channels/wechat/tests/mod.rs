//! finepay's WeChat Pay client against the simulator, over HTTP on a free port: the protocol both
//! ways (signed requests, verified answers, sealed notifications) and the rules the real API
//! enforces — orders and the payer's side, refunds, the trade bill — and the bill file format.

mod bill;
mod bill_file;
mod orders;
mod phone;
mod refunds;

use super::protocol::{Authorization, SignedMessage, Verifier, nonce, request_message};
use super::{WechatConfig, WechatPay};
use crate::channels::crypto::{Certificate, RsaSigningKey};
use crate::channels::sim::{self, Delivery, Simulator};
use crate::channels::sim::{WechatSim, WechatSimConfig};
use crate::channels::{ChannelError, ChannelPayment, OrderRequest, OrderStatus, RefundRequest};
use crate::domain::Fen;
use crate::domain::time::{Clock, ManualClock};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use std::sync::Arc;

const APIV3_KEY: &[u8] = b"finepay-simulator-apiv3-key-0032";

/// How long the simulator keeps a refund PROCESSING in these tests.
const REFUND_SETTLES_AFTER: Duration = Duration::minutes(1);

use crate::channels::simulator_fixture as fixture;
use crate::channels::{pay_code_of as code_of, test_order as order};

fn cert(name: &str) -> Certificate {
    Certificate::from_pem(&fixture(name)).expect("certificate")
}

struct Setup {
    client: WechatPay,
    server: sim::SimServer,
    clock: Arc<ManualClock>,
    base_url: String,
}

/// The simulator's WeChat side, as the tests configure it (the simulator's test keys).
pub(super) fn sim_config(refund_settles_after: chrono::Duration) -> WechatSimConfig {
    let merchant = cert("wechat_merchant.cert.pem");
    let platform = cert("wechat_platform.cert.pem");
    WechatSimConfig {
        appid: "wxd678efh567hg6787".into(),
        mchid: "1230000109".into(),
        merchant_keys: [(merchant.serial_hex.clone(), merchant.public_key.clone())].into(),
        signing_serial: platform.serial_hex.clone(),
        signing_key: RsaSigningKey::from_pem(&fixture("wechat_platform.key.pem")).expect("key"),
        apiv3_key: APIV3_KEY.to_vec(),
        public_url: "http://127.0.0.1".into(),
        app_secret: "finepay-simulator-app-secret".into(),
        web_domain: "http://127.0.0.1:8080".into(),
        platform_certificate: fixture("wechat_platform.cert.pem"),
        refund_settles_after,
    }
}

/// finepay's client configuration for the simulator at `base_url`.
pub(super) fn client_config(base_url: &str) -> WechatConfig {
    let merchant = cert("wechat_merchant.cert.pem");
    let platform = cert("wechat_platform.cert.pem");
    WechatConfig {
        base_url: base_url.to_owned(),
        appid: "wxd678efh567hg6787".into(),
        mchid: "1230000109".into(),
        merchant_serial: merchant.serial_hex.clone(),
        merchant_key: RsaSigningKey::from_pem(&fixture("wechat_merchant.key.pem")).expect("key"),
        apiv3_key: APIV3_KEY.to_vec(),
        verifier: Verifier::new([(platform.serial_hex.clone(), platform.public_key.clone())].into()),
        notify_url: "http://127.0.0.1:8080/notify/wechat".into(),
        public_key_id: None,
    }
}

/// The simulator on a free port and a client configured for it; `adjust` changes the client.
fn setup(adjust: impl FnOnce(&mut WechatConfig)) -> Setup {
    let clock = Arc::new(ManualClock::new(Utc::now().trunc_subsecs(0)));
    let simulator = Simulator {
        wechat: Some(WechatSim::new(sim_config(REFUND_SETTLES_AFTER), clock.clone())),
        ..Default::default()
    };
    let server = sim::start("127.0.0.1:0", simulator).expect("simulator starts");
    let base_url = format!("http://127.0.0.1:{}", server.port);
    let mut config = client_config(&base_url);
    adjust(&mut config);
    let client = WechatPay::new(config, clock.clone(), std::time::Duration::from_secs(5)).expect("client");
    Setup { client, server, clock, base_url }
}

fn message(n: &Delivery) -> SignedMessage<'_> {
    let header = |name| n.inbound().header(name).expect("signed header");
    SignedMessage {
        timestamp: header("Wechatpay-Timestamp"),
        nonce: header("Wechatpay-Nonce"),
        signature: header("Wechatpay-Signature"),
        serial: header("Wechatpay-Serial"),
        body: &n.body,
    }
}

fn wechat(s: &Setup) -> &WechatSim {
    s.server.simulator.wechat.as_ref().expect("the WeChat simulator")
}

/// Opens an order of `amount`, has the payer pay it, and returns the payment the client sees.
async fn paid_order(s: &Setup, out_trade_no: &str, amount: Fen) -> ChannelPayment {
    let request = OrderRequest { amount, ..order(out_trade_no, &s.clock) };
    let created = s.client.create_order(&request).await.expect("prepay");
    wechat(s).pay(&code_of(&created.pay_url)).expect("payer pays");
    match s.client.query(out_trade_no).await {
        Ok(OrderStatus::Paid(payment)) => payment,
        other => panic!("paid, got {other:?}"),
    }
}

fn refund_of(payment: &ChannelPayment, out_refund_no: &str, amount: Fen, clock: &ManualClock) -> RefundRequest {
    RefundRequest {
        out_trade_no: payment.out_trade_no.clone(),
        channel_txn_id: payment.channel_txn_id.clone(),
        out_refund_no: out_refund_no.into(),
        requested_at: clock.now(),
        flow: crate::channels::Flow::Qr,
        paid: payment.amount,
        amount,
        reason: "罚款已撤销".into(),
    }
}

/// A signed GET to the simulator outside the client, for what the client does not expose (the
/// raw answer): its status and JSON.
async fn signed_get(s: &Setup, path: &str) -> (u16, serde_json::Value) {
    let response = signed_request(s, path).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// A signed GET to the simulator outside the client: the raw response.
async fn signed_request(s: &Setup, path: &str) -> reqwest::Response {
    let key = RsaSigningKey::from_pem(&fixture("wechat_merchant.key.pem")).expect("key");
    let (timestamp, nonce) = (s.clock.now().timestamp(), nonce());
    let signature = key.sign_base64(request_message("GET", path, timestamp, &nonce, "").as_bytes()).expect("signs");
    let authorization = Authorization {
        mchid: "1230000109".into(),
        nonce_str: nonce,
        timestamp: timestamp.to_string(),
        serial_no: cert("wechat_merchant.cert.pem").serial_hex,
        signature,
    };
    let http = crate::channels::http_client(std::time::Duration::from_secs(5)).expect("client");
    http.get(format!("{}{path}", s.base_url))
        .header("Authorization", authorization.header_value())
        .send()
        .await
        .expect("answers")
}

/// Whether `result` is WeChat's refusal with that status and code.
fn refused<T: std::fmt::Debug>(result: &Result<T, ChannelError>, status: u16, code: &str) -> bool {
    matches!(result, Err(ChannelError::Refused { status: s, code: c, .. }) if *s == status && c == code)
}
