//! Property tests of Alipay's payment notifications, form bodies anyone can POST to the notify
//! URL: any body is refused (an `Err`, never a panic), and a notification signed by Alipay's
//! notification rule with the simulator's test key, for any amount and order number, verifies to
//! exactly that payment — and stops verifying when any one byte of its body changes, unless the
//! change only re-spells the same form (`%3A` as `%3a`, `+` as a space).

use super::AlipayClient;
use super::protocol::{
    CHARSET, NOTIFY_TYPE, Params, SIGN_TYPE, VERSION, beijing_time, encode_form, parse_form, sign_notification, status,
};
use super::tests::{APP_ID, SELLER_ID, client_config, signing_key};
use crate::channels::crypto::RsaSigningKey;
use crate::channels::{ChannelPayment, Inbound, PaymentChannel};
use crate::domain::Fen;
use crate::domain::proptest_support::cases;
use crate::domain::time::{Clock, ManualClock};
use chrono::{SubsecRound, Utc};
use proptest::prelude::*;
use std::sync::{Arc, LazyLock};

/// finepay's client with the simulator's test keys (as `tests.rs` configures it), Alipay's own
/// signing key, and the clock the notifications are dated by. Made once.
struct Alipay {
    client: AlipayClient,
    signing_key: RsaSigningKey,
    clock: Arc<ManualClock>,
}

fn alipay() -> &'static Alipay {
    static ALIPAY: LazyLock<Alipay> = LazyLock::new(|| {
        let clock = Arc::new(ManualClock::new(Utc::now().trunc_subsecs(0)));
        // Port 9 (discard): nothing here calls the channel.
        let client =
            AlipayClient::new(client_config(9), clock.clone(), std::time::Duration::from_secs(5)).expect("client");
        let signing_key = signing_key("alipay_platform.key.pem");
        Alipay { client, signing_key, clock }
    });
    &ALIPAY
}

impl Alipay {
    /// The `trade_status_sync` notification of `out_trade_no` paid now, in the shape the
    /// simulator sends, signed by the notification rule; and the payment it says.
    fn paid(&self, out_trade_no: &str, trade_no: &str, amount: i64, subject: &str) -> (Vec<u8>, ChannelPayment) {
        let now = self.clock.now();
        let yuan = Fen(amount).yuan_text();
        let fund_bill_list = serde_json::json!([{"amount": yuan, "fundChannel": "ALIPAYACCOUNT"}]).to_string();
        let mut params: Params = [
            ("notify_time", beijing_time(now)),
            ("notify_type", NOTIFY_TYPE.into()),
            ("notify_id", "ac05099524730693a8b330c5ecf72da9".into()),
            ("app_id", APP_ID.into()),
            ("auth_app_id", APP_ID.into()),
            ("charset", CHARSET.into()),
            ("version", VERSION.into()),
            ("sign_type", SIGN_TYPE.into()),
            ("trade_no", trade_no.into()),
            ("out_trade_no", out_trade_no.into()),
            ("buyer_id", "2088102177846880".into()),
            ("buyer_logon_id", "159****5620".into()),
            ("seller_id", SELLER_ID.into()),
            ("trade_status", status::TRADE_SUCCESS.into()),
            ("total_amount", yuan.clone()),
            ("receipt_amount", yuan.clone()),
            ("invoice_amount", yuan.clone()),
            ("buyer_pay_amount", yuan),
            ("point_amount", "0.00".into()),
            ("subject", subject.into()),
            ("gmt_create", beijing_time(now)),
            ("gmt_payment", beijing_time(now)),
            ("fund_bill_list", fund_bill_list),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
        sign_notification(&mut params, &self.signing_key).expect("signs");
        let payment = ChannelPayment {
            out_trade_no: out_trade_no.into(),
            channel_txn_id: trade_no.into(),
            amount: Fen(amount),
            paid_at: now,
        };
        (encode_form(&params).into_bytes(), payment)
    }
}

fn verify(body: &[u8]) -> Result<ChannelPayment, crate::channels::NotifyError> {
    alipay().client.verify_notification(&Inbound { headers: &[], body })
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_body_is_refused_never_a_panic(body in proptest::collection::vec(any::<u8>(), 0..1024)) {
        prop_assert!(verify(&body).is_err());
    }

    #[test]
    fn any_form_claiming_an_rsa2_signature_is_refused_never_a_panic(
        fields in proptest::collection::vec(("(app_id|seller_id|trade_status|total_amount|gmt_payment|out_trade_no|trade_no|notify_type|charset|[a-z_]{1,10})", "[A-Za-z0-9%+:. -]{0,30}"), 0..12),
        sign in "[A-Za-z0-9%+/=]{0,400}",
    ) {
        let mut body: Vec<String> = fields.iter().map(|(key, value)| format!("{key}={value}")).collect();
        body.push(format!("sign_type={SIGN_TYPE}&sign={sign}"));
        prop_assert!(verify(body.join("&").as_bytes()).is_err());
    }
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn a_signed_notification_verifies_to_its_payment_and_no_changed_byte_does(
        amount in 1i64..1_000_000_000,
        out_trade_no in "[0-9]{19}A[0-9]{2}",
        trade_no in "2026[0-9]{4}22001[0-9]{15}",
        subject in "\\PC{1,30}",
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8),
    ) {
        let (body, payment) = alipay().paid(&out_trade_no, &trade_no, amount, &subject);
        prop_assert_eq!(verify(&body), Ok(payment));
        let original = parse_form(&body).expect("a form");
        for (at, mask) in flips {
            let mut changed = body.clone();
            let at = at.index(changed.len());
            changed[at] ^= mask;
            let same_form = parse_form(&changed).is_ok_and(|params| params == original);
            prop_assert!(verify(&changed).is_err() || same_form, "byte {} changed by {:#04x}", at, mask);
        }
    }

    #[test]
    fn a_signed_notification_with_any_field_changed_is_refused(
        amount in 1i64..1_000_000_000,
        out_trade_no in "[0-9]{19}A[0-9]{2}",
        field in prop::sample::select(vec!["sign", "sign_type", "app_id", "out_trade_no", "trade_no", "total_amount", "gmt_payment", "trade_status", "notify_type", "subject"]),
        value in "\\PC{0,40}",
    ) {
        let (body, _) = alipay().paid(&out_trade_no, "2026112022001412345678901234", amount, "交通违法罚款");
        let mut params = parse_form(&body).expect("a form");
        let slot = params.get_mut(field).expect("the notification has it");
        prop_assume!(*slot != value);
        *slot = value;
        prop_assert!(verify(encode_form(&params).as_bytes()).is_err());
    }
}
