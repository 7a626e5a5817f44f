//! Property tests of UnionPay's back notifications, form bodies anyone can POST to the notify URL
//! and which carry the certificate they were signed with: any body, and any text or DER bytes as
//! that certificate, is refused (an `Err`, never a panic); and a notification signed with the
//! simulator's test certificate for any amount and order number verifies to exactly that payment
//! — and stops verifying when any one byte of its body changes, unless the change only re-spells
//! the same form (`%3A` as `%3a`, `+` as a space).

use super::UnionpayClient;
use super::protocol::{
    CURRENCY_CNY, ENCODING, Fields, SIGN_METHOD_RSA, VERSION, beijing_time, code, encode_form, fields_of, parse_form,
    sign_message,
};
use super::tests::{MER_ID, client_with, key};
use crate::channels::crypto::RsaSigningKey;
use crate::channels::simulator_fixture as fixture;
use crate::channels::{ChannelPayment, Inbound, NotifyError, PaymentChannel};
use crate::domain::Fen;
use crate::domain::proptest_support::cases;
use crate::domain::time::{Clock, ManualClock, SHANGHAI};
use chrono::{SubsecRound, Utc};
use data_encoding::BASE64_MIME;
use proptest::prelude::*;
use std::sync::{Arc, LazyLock};

/// finepay's client with the simulator's test certificates (as `tests.rs` configures it), the
/// simulator's signing certificate and key, and the clock; no server is started. Made once.
struct Unionpay {
    client: UnionpayClient,
    signing_cert_pem: String,
    signing_key: RsaSigningKey,
    clock: Arc<ManualClock>,
}

fn unionpay() -> &'static Unionpay {
    static UNIONPAY: LazyLock<Unionpay> = LazyLock::new(|| {
        let clock = Arc::new(ManualClock::new(Utc::now().trunc_subsecs(0)));
        // Port 9 (discard): nothing here calls the channel.
        let client = client_with(9, clock.clone(), |_| {});
        Unionpay {
            client,
            signing_cert_pem: fixture("unionpay_sign.cert.pem"),
            signing_key: key("unionpay_sign.key.pem"),
            clock,
        }
    });
    &UNIONPAY
}

impl Unionpay {
    /// The signed fields of a successful QR consumption of `order_id` paid now, in the shape the
    /// simulator sends; and the payment they say.
    fn paid(&self, order_id: &str, query_id: &str, amount: i64) -> (Fields, ChannelPayment) {
        let now = self.clock.now();
        let local = now.with_timezone(&SHANGHAI);
        let fields = fields_of(&[
            ("version", VERSION),
            ("encoding", ENCODING),
            ("signMethod", SIGN_METHOD_RSA),
            ("txnType", "01"),
            ("txnSubType", "07"),
            ("bizType", "000000"),
            ("accessType", "0"),
            ("merId", MER_ID),
            ("orderId", order_id),
            ("txnTime", &beijing_time(now)),
            ("txnAmt", &amount.to_string()),
            ("currencyCode", CURRENCY_CNY),
            ("respCode", code::SUCCESS),
            ("respMsg", "成功[0000000]"),
            ("queryId", query_id),
            ("traceNo", "123456"),
            ("traceTime", &local.format("%m%d%H%M%S").to_string()),
            ("settleDate", &local.format("%m%d").to_string()),
            ("settleAmt", &amount.to_string()),
            ("settleCurrencyCode", CURRENCY_CNY),
        ]);
        let signed = sign_message(fields, &self.signing_cert_pem, &self.signing_key).expect("signs");
        let payment = ChannelPayment {
            out_trade_no: order_id.into(),
            channel_txn_id: query_id.into(),
            amount: Fen(amount),
            paid_at: now,
        };
        (signed, payment)
    }
}

fn verify(body: &[u8]) -> Result<ChannelPayment, NotifyError> {
    unionpay().client.verify_notification(&Inbound { headers: &[], body })
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_body_is_refused_never_a_panic(body in proptest::collection::vec(any::<u8>(), 0..1024)) {
        prop_assert!(verify(&body).is_err());
    }

    #[test]
    fn any_form_with_a_signature_and_certificate_is_refused_never_a_panic(
        fields in proptest::collection::vec(("(merId|txnType|txnSubType|respCode|orderId|queryId|txnAmt|txnTime|traceTime|[a-zA-Z]{1,10})", "[A-Za-z0-9%+:. -]{0,30}"), 0..12),
        signature in "[A-Za-z0-9%+/=]{0,400}",
        certificate in "\\PC{0,200}",
    ) {
        let mut body: Vec<String> = fields.iter().map(|(name, value)| format!("{name}={value}")).collect();
        let mut tail = Fields::new();
        tail.insert("signature".into(), signature);
        tail.insert("signPubKeyCert".into(), certificate);
        body.push(encode_form(&tail));
        prop_assert!(verify(body.join("&").as_bytes()).is_err());
    }
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn a_signed_notification_verifies_to_its_payment_and_no_changed_byte_does(
        amount in 1i64..1_000_000_000,
        order_id in "[0-9]{19}U[0-9]{2}",
        query_id in "[0-9]{21}",
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8),
    ) {
        let (fields, payment) = unionpay().paid(&order_id, &query_id, amount);
        let body = encode_form(&fields).into_bytes();
        prop_assert_eq!(verify(&body), Ok(payment));
        for (at, mask) in flips {
            let mut changed = body.clone();
            let at = at.index(changed.len());
            changed[at] ^= mask;
            let same_form = parse_form(&changed).is_ok_and(|form| form == fields);
            prop_assert!(verify(&changed).is_err() || same_form, "byte {} changed by {:#04x}", at, mask);
        }
    }

    #[test]
    fn a_signed_notification_carrying_any_other_certificate_is_refused_never_a_panic(
        amount in 1i64..1_000_000_000,
        der in proptest::collection::vec(any::<u8>(), 0..1200),
        cut in any::<prop::sample::Index>(),
        as_pem in any::<bool>(),
    ) {
        let (mut fields, _) = unionpay().paid("1101052611210000580U01", "261121100000123456789", amount);
        let original = fields["signPubKeyCert"].clone();
        let certificate = if as_pem {
            format!("-----BEGIN CERTIFICATE-----\n{}-----END CERTIFICATE-----", BASE64_MIME.encode(&der))
        } else {
            // The real certificate, cut short.
            original[..cut.index(original.len())].to_owned()
        };
        fields.insert("signPubKeyCert".into(), certificate);
        prop_assert!(verify(encode_form(&fields).as_bytes()).is_err());
    }
}
