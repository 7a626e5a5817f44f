//! finepay's WeChat Pay client against the simulator, over HTTP on a free port: the protocol both
//! ways (signed requests, verified answers, sealed notifications) and the rules the real API
//! enforces.

use super::protocol::{PROBE_PREFIX, SignedMessage, Verifier};
use super::{WechatConfig, WechatPay};
use crate::channels::crypto::{Certificate, RsaSigningKey};
use crate::channels::sim::wechat::{WechatSim, WechatSimConfig};
use crate::channels::sim::{self, Delivery, PayError, Simulator};
use crate::channels::{ChannelError, CloseOutcome, NotifyError, OrderRequest, OrderStatus};
use crate::domain::Fen;
use crate::domain::time::Clock;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use std::sync::{Arc, Mutex};

const APIV3_KEY: &[u8] = b"finepay-simulator-apiv3-key-0032";

struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

impl TestClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock") += by;
    }
}

use crate::channels::simulator_fixture as fixture;

fn cert(name: &str) -> Certificate {
    Certificate::from_pem(&fixture(name)).expect("certificate")
}

struct Setup {
    client: WechatPay,
    server: sim::SimServer,
    clock: Arc<TestClock>,
    base_url: String,
}

/// The simulator on a free port and a client configured for it; `adjust` changes the client.
fn setup(adjust: impl FnOnce(&mut WechatConfig)) -> Setup {
    let clock = Arc::new(TestClock(Mutex::new(Utc::now().trunc_subsecs(0))));
    let merchant = cert("wechat_merchant.cert.pem");
    let platform = cert("wechat_platform.cert.pem");
    let simulator = Simulator {
        wechat: Some(WechatSim::new(
            WechatSimConfig {
                appid: "wxd678efh567hg6787".into(),
                mchid: "1230000109".into(),
                merchant_keys: [(merchant.serial_hex.clone(), merchant.public_key.clone())].into(),
                signing_serial: platform.serial_hex.clone(),
                signing_key: RsaSigningKey::from_pem(&fixture("wechat_platform.key.pem")).expect("key"),
                apiv3_key: APIV3_KEY.to_vec(),
                pay_link_base: "http://127.0.0.1/sim/wechat/pay".into(),
            },
            clock.clone(),
        )),
        ..Simulator::default()
    };
    let server = sim::start("127.0.0.1:0", simulator).expect("simulator starts");
    let base_url = format!("http://127.0.0.1:{}", server.port);
    let mut config = WechatConfig {
        base_url: base_url.clone(),
        appid: "wxd678efh567hg6787".into(),
        mchid: "1230000109".into(),
        merchant_serial: merchant.serial_hex.clone(),
        merchant_key: RsaSigningKey::from_pem(&fixture("wechat_merchant.key.pem")).expect("key"),
        apiv3_key: APIV3_KEY.to_vec(),
        verifier: Verifier::new([(platform.serial_hex.clone(), platform.public_key.clone())].into()),
        notify_url: "http://127.0.0.1:8080/notify/wechat".into(),
        public_key_id: None,
    };
    adjust(&mut config);
    let client = WechatPay::new(config, clock.clone(), std::time::Duration::from_secs(5)).expect("client");
    Setup { client, server, clock, base_url }
}

fn order(out_trade_no: &str, clock: &TestClock) -> OrderRequest {
    OrderRequest {
        out_trade_no: out_trade_no.into(),
        description: "交通违法罚款 1101052611210000176".into(),
        amount: Fen(20000),
        pay_by: clock.now() + Duration::hours(4),
        opened_at: clock.now(),
    }
}

fn code_of(pay_url: &str) -> String {
    pay_url.split("pr=").nth(1).expect("pr").to_owned()
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

#[actix_web::test]
async fn an_order_is_created_queried_paid_and_cannot_be_closed_once_paid() {
    let s = setup(|_| {});
    let request = order("1101052611210000176W01", &s.clock);
    let created = s.client.create_order(&request).await.expect("prepay");
    assert!(created.pay_url.contains("pr="), "{}", created.pay_url);
    assert_eq!(s.client.query(&request.out_trade_no).await, Ok(OrderStatus::Open));
    // An identical repeat returns the same code; a changed one is refused.
    assert_eq!(s.client.create_order(&request).await.expect("repeat").pay_url, created.pay_url);
    let changed = OrderRequest { amount: Fen(100), ..request.clone() };
    assert!(matches!(s.client.create_order(&changed).await, Err(ChannelError::Refused { status: 400, .. })));

    let paid = wechat(&s).pay(&code_of(&created.pay_url)).expect("payer pays");
    let status = s.client.query(&request.out_trade_no).await.expect("query");
    let OrderStatus::Paid(payment) = status else { panic!("paid, got {status:?}") };
    assert_eq!(payment.amount, Fen(20000));
    assert!(payment.channel_txn_id.starts_with("4200") && payment.channel_txn_id.len() == 28);
    assert_eq!(payment.paid_at, s.clock.now());
    // The notification says the same, verified and decrypted.
    assert_eq!(s.client.parse_notification(&message(&paid.notification)), Ok(payment));
    assert_eq!(s.client.close(&request.out_trade_no).await, Ok(CloseOutcome::AlreadyPaid));
    assert_eq!(wechat(&s).pay(&code_of(&created.pay_url)).err(), Some(PayError::NotPayable));
}

#[actix_web::test]
async fn closing_ends_an_order_and_unknown_orders_are_not_found() {
    let s = setup(|_| {});
    let request = order("1101052611210000277W01", &s.clock);
    let created = s.client.create_order(&request).await.expect("prepay");
    assert_eq!(s.client.close(&request.out_trade_no).await, Ok(CloseOutcome::Closed));
    assert_eq!(s.client.query(&request.out_trade_no).await, Ok(OrderStatus::Closed));
    assert_eq!(wechat(&s).pay(&code_of(&created.pay_url)).err(), Some(PayError::NotPayable));
    assert_eq!(s.client.query("1101059999999999999W01").await, Ok(OrderStatus::NotFound));
    assert_eq!(s.client.close("1101059999999999999W01").await, Ok(CloseOutcome::NotFound));
}

#[actix_web::test]
async fn codes_live_two_hours_and_orders_until_their_deadline() {
    let s = setup(|_| {});
    let request = order("1101052611210000378W01", &s.clock);
    let first = s.client.create_order(&request).await.expect("prepay").pay_url;
    s.clock.advance(Duration::hours(2));
    assert_eq!(wechat(&s).pay(&code_of(&first)).err(), Some(PayError::CodeExpired));
    // The same prepay again renews the code, as the real API does within time_expire.
    let renewed = s.client.create_order(&request).await.expect("renewed").pay_url;
    assert_ne!(renewed, first);

    // An order whose deadline passed cannot be paid, even with a fresh code.
    let late = OrderRequest {
        out_trade_no: "1101052611210000378W02".into(),
        pay_by: s.clock.now() + Duration::hours(1),
        ..request.clone()
    };
    let late_code = s.client.create_order(&late).await.expect("prepay").pay_url;
    s.clock.advance(Duration::hours(1));
    assert_eq!(wechat(&s).pay(&code_of(&late_code)).err(), Some(PayError::NotPayable), "past pay_by");
    // The renewed code of the first order is an hour old and its order still open: it pays.
    assert!(wechat(&s).pay(&code_of(&renewed)).is_ok());
}

#[actix_web::test]
async fn requests_with_a_wrong_key_are_refused_and_unverifiable_answers_rejected() {
    // The merchant signs with a key WeChat does not hold for that serial.
    let s = setup(|c| c.merchant_key = RsaSigningKey::from_pem(&fixture("alipay_app.key.pem")).expect("key"));
    let refused = s.client.create_order(&order("1101052611210000479W01", &s.clock)).await;
    assert!(
        matches!(refused, Err(ChannelError::Refused { status: 401, ref code, .. }) if code == "SIGN_ERROR"),
        "{refused:?}"
    );

    // finepay does not hold the key that signed the answer: it must not believe it.
    let s = setup(|c| {
        let other = cert("wechat_merchant.cert.pem");
        c.verifier = Verifier::new([(cert("wechat_platform.cert.pem").serial_hex, other.public_key)].into());
    });
    let unverified = s.client.create_order(&order("1101052611210000479W02", &s.clock)).await;
    assert!(matches!(unverified, Err(ChannelError::Unverified(_))), "{unverified:?}");
    assert!(s.base_url.starts_with("http://127.0.0.1:"));
}

#[actix_web::test]
async fn forged_stale_probing_or_foreign_notifications_are_refused() {
    let s = setup(|_| {});
    let request = order("1101052611210000580W01", &s.clock);
    let code = code_of(&s.client.create_order(&request).await.expect("prepay").pay_url);
    let paid = wechat(&s).pay(&code).expect("pays").notification;
    assert!(s.client.parse_notification(&message(&paid)).is_ok());

    let mut tampered = paid.body.clone();
    let at = tampered.iter().position(|b| *b == b'S').expect("a letter to change");
    tampered[at] = b'T';
    assert_eq!(
        s.client.parse_notification(&SignedMessage { body: &tampered, ..message(&paid) }),
        Err(NotifyError::BadSignature)
    );
    let probe = format!("{PROBE_PREFIX}{}", message(&paid).signature);
    assert_eq!(
        s.client.parse_notification(&SignedMessage { signature: &probe, ..message(&paid) }),
        Err(NotifyError::BadSignature)
    );
    assert_eq!(
        s.client.parse_notification(&SignedMessage { serial: "PUB_KEY_ID_0000", ..message(&paid) }),
        Err(NotifyError::UnknownKey("PUB_KEY_ID_0000".into()))
    );
    // A client with another APIv3 key cannot open it; one for another merchant refuses it.
    let other_key = setup(|c| c.apiv3_key = b"another-apiv3-key-of-32-bytes!!!".to_vec());
    other_key.clock.advance(s.clock.now() - other_key.clock.now());
    assert_eq!(other_key.client.parse_notification(&message(&paid)), Err(NotifyError::Undecryptable));
    let other_merchant = setup(|c| c.mchid = "1999999999".into());
    other_merchant.clock.advance(s.clock.now() - other_merchant.clock.now());
    assert_eq!(other_merchant.client.parse_notification(&message(&paid)), Err(NotifyError::WrongMerchant));

    s.clock.advance(Duration::seconds(300));
    assert_eq!(s.client.parse_notification(&message(&paid)), Err(NotifyError::Stale), "a replay five minutes later");
}
