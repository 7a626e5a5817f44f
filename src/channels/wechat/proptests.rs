//! Property tests of WeChat Pay's payment notifications, which anyone can POST to the notify URL:
//! any body under any `Wechatpay-*` header values is refused (an `Err`, never a panic), and a
//! notification the simulator signs and seals with its test keys for any amount and order number
//! verifies to exactly that payment — and stops verifying when any one byte of its body or any
//! one of its signature headers changes.

use super::WechatPay;
use super::protocol::{Payer, SIGNATURE_TYPE, Transaction, TransactionAmount};
use super::tests::{client_config, sim_config};
use crate::channels::sim::{Delivery, WechatSim};
use crate::channels::{ChannelPayment, Inbound, PaymentChannel};
use crate::domain::Fen;
use crate::domain::proptest_support::cases;
use crate::domain::time::{Clock, ManualClock, rfc3339};
use chrono::{SubsecRound, Utc};
use proptest::prelude::*;
use std::sync::{Arc, LazyLock};

const APPID: &str = "wxd678efh567hg6787";
const MCHID: &str = "1230000109";
const NOTIFY_URL: &str = "http://127.0.0.1:8080/notify/wechat";
const HEADERS: [&str; 5] =
    ["Wechatpay-Signature-Type", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial"];

/// finepay's client and the simulator that signs its notifications, with the simulator's test
/// keys (as `tests/mod.rs` configures them), on one clock; no server is started. Made once.
struct Wechat {
    client: WechatPay,
    sim: WechatSim,
    clock: Arc<ManualClock>,
}

fn wechat() -> &'static Wechat {
    static WECHAT: LazyLock<Wechat> = LazyLock::new(setup);
    &WECHAT
}

fn setup() -> Wechat {
    let clock = Arc::new(ManualClock::new(Utc::now().trunc_subsecs(0)));
    let sim = WechatSim::new(sim_config(chrono::Duration::minutes(1)), clock.clone());
    // Port 9 (discard): nothing here calls the channel.
    let client = WechatPay::new(client_config("http://127.0.0.1:9"), clock.clone(), std::time::Duration::from_secs(5))
        .expect("client");
    Wechat { client, sim, clock }
}

impl Wechat {
    /// The TRANSACTION.SUCCESS notification of `out_trade_no` paid now, and the payment it says.
    fn paid(&self, out_trade_no: &str, transaction_id: &str, amount: i64) -> (Delivery, ChannelPayment) {
        let now = self.clock.now();
        let transaction = Transaction {
            appid: APPID.into(),
            mchid: MCHID.into(),
            out_trade_no: out_trade_no.into(),
            transaction_id: Some(transaction_id.into()),
            trade_type: "NATIVE".into(),
            trade_state: "SUCCESS".into(),
            trade_state_desc: "支付成功".into(),
            success_time: Some(rfc3339(now)),
            bank_type: Some("OTHERS".into()),
            payer: Some(Payer { openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into() }),
            amount: Some(TransactionAmount {
                total: amount,
                payer_total: amount,
                currency: "CNY".into(),
                payer_currency: "CNY".into(),
            }),
        };
        let delivery = self.sim.notification(&transaction, now).expect("the simulator signs").delivery(NOTIFY_URL);
        let payment = ChannelPayment {
            out_trade_no: out_trade_no.into(),
            channel_txn_id: transaction_id.into(),
            amount: Fen(amount),
            paid_at: now,
        };
        (delivery, payment)
    }
}

/// A header value: the accepted scheme, a timestamp, or anything.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![Just(SIGNATURE_TYPE.to_owned()), "[0-9]{1,12}", "[A-Za-z0-9+/=]{0,400}", "\\PC{0,80}",]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![4 => prop::sample::select(HEADERS.to_vec()).prop_map(str::to_owned), 1 => "[A-Za-z-]{1,20}"];
    proptest::collection::vec((name, header_value()), 0..7)
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_body_under_any_headers_is_refused_never_a_panic(
        body in proptest::collection::vec(any::<u8>(), 0..1024),
        headers in headers(),
    ) {
        let w = wechat();
        let outcome = w.client.verify_notification(&Inbound { headers: &headers, body: &body });
        prop_assert!(outcome.is_err(), "accepted: {:?}", outcome);
    }

    #[test]
    fn any_json_body_under_any_headers_is_refused_never_a_panic(
        body in "\\{(\"(id|event_type|resource|ciphertext|nonce|associated_data|algorithm)\":(\"[A-Za-z0-9+/=.]{0,40}\"|\\{\\}|[0-9]{1,5}),?){0,8}\\}",
        headers in headers(),
    ) {
        let w = wechat();
        let outcome = w.client.verify_notification(&Inbound { headers: &headers, body: body.as_bytes() });
        prop_assert!(outcome.is_err(), "accepted: {:?}", outcome);
    }
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn a_signed_notification_verifies_to_its_payment_and_no_changed_byte_does(
        amount in 1i64..1_000_000_000,
        out_trade_no in "[0-9]{19}W[0-9]{2}",
        transaction_id in "4200[0-9]{24}",
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8),
    ) {
        let w = wechat();
        let (delivery, payment) = w.paid(&out_trade_no, &transaction_id, amount);
        prop_assert_eq!(w.client.verify_notification(&delivery.inbound()), Ok(payment));
        for (at, mask) in flips {
            let mut body = delivery.body.clone();
            let at = at.index(body.len());
            body[at] ^= mask;
            let changed = Inbound { headers: &delivery.headers, body: &body };
            prop_assert!(w.client.verify_notification(&changed).is_err(), "byte {} changed by {:#04x}", at, mask);
        }
    }

    #[test]
    fn a_signed_notification_with_any_signature_header_changed_is_refused(
        amount in 1i64..1_000_000_000,
        out_trade_no in "[0-9]{19}W[0-9]{2}",
        which in prop::sample::select(HEADERS[1..].to_vec()),
        value in header_value(),
    ) {
        let w = wechat();
        let (delivery, _) = w.paid(&out_trade_no, "4200000000000000000000000001", amount);
        let mut headers = delivery.headers.clone();
        let slot = headers.iter_mut().find(|(name, _)| name == which).expect("the simulator sends it");
        prop_assume!(slot.1 != value);
        slot.1 = value;
        let outcome = w.client.verify_notification(&Inbound { headers: &headers, body: &delivery.body });
        prop_assert!(outcome.is_err(), "accepted: {:?}", outcome);
    }
}
