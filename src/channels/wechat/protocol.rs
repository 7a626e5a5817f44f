//! WeChat Pay API v3 on the wire, shared by finepay's client and the simulator: the request
//! signature (five lines, SHA256withRSA, `Authorization: WECHATPAY2-SHA256-RSA2048 …`), the
//! response and notification signature (three lines, key chosen by `Wechatpay-Serial`, ±300 s),
//! the AES-256-GCM notification resource, and the transaction JSON.

use crate::channels::NotifyError;
use crate::channels::crypto::{RsaPublicKey, aes_gcm_decrypt, aes_gcm_encrypt};
use data_encoding::{BASE64, HEXUPPER};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub(crate) const AUTH_SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
/// How far a signed timestamp may be from now, either way.
pub(crate) const MAX_SKEW_SECONDS: i64 = 300;
/// WeChat's probe traffic carries signatures with this prefix; they must fail verification.
pub(crate) const PROBE_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// The string a merchant signs for a request: method, path with query, timestamp, nonce, body.
pub(crate) fn request_message(method: &str, path_and_query: &str, timestamp: i64, nonce: &str, body: &str) -> String {
    format!("{method}\n{path_and_query}\n{timestamp}\n{nonce}\n{body}\n")
}

/// The string WeChat signs for a response or a notification: timestamp, nonce, raw body.
pub(crate) fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// The `Authorization` header's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization {
    pub mchid: String,
    pub nonce_str: String,
    pub timestamp: String,
    pub serial_no: String,
    pub signature: String,
}

impl Authorization {
    pub(crate) fn header_value(&self) -> String {
        format!(
            "{AUTH_SCHEME} mchid=\"{}\",nonce_str=\"{}\",timestamp=\"{}\",serial_no=\"{}\",signature=\"{}\"",
            self.mchid, self.nonce_str, self.timestamp, self.serial_no, self.signature
        )
    }

    /// Parses the header; its five items may come in any order.
    pub(crate) fn parse(header: &str) -> Option<Authorization> {
        let items = header.strip_prefix(AUTH_SCHEME)?.trim();
        let mut fields = BTreeMap::new();
        for item in items.split(',') {
            let (name, value) = item.trim().split_once('=')?;
            fields.insert(name.trim(), value.trim().trim_matches('"'));
        }
        let mut take = |name: &str| fields.remove(name).map(str::to_owned);
        Some(Authorization {
            mchid: take("mchid")?,
            nonce_str: take("nonce_str")?,
            timestamp: take("timestamp")?,
            serial_no: take("serial_no")?,
            signature: take("signature")?,
        })
    }
}

/// The `Wechatpay-Signature-Type` of the signatures finepay verifies: RSA-2048 over SHA-256.
/// WeChat Pay names the scheme of every signed answer and notification in this header; another
/// scheme (SM2 with SM3, say) is one finepay cannot check.
pub const SIGNATURE_TYPE: &str = "WECHATPAY2-SHA256-RSA2048";

/// Whether a `Wechatpay-Signature-Type` header, if sent, names the scheme finepay verifies.
pub fn known_signature_type(header: Option<&str>) -> bool {
    header.is_none_or(|scheme| scheme == SIGNATURE_TYPE)
}

/// A signed response or notification: the `Wechatpay-*` headers and the raw body.
#[derive(Debug, Clone, Copy)]
pub struct SignedMessage<'a> {
    pub timestamp: &'a str,
    pub nonce: &'a str,
    pub signature: &'a str,
    pub serial: &'a str,
    pub body: &'a [u8],
}

/// WeChat's keys by serial: platform certificates (hex serials) and the WeChat Pay public key
/// (`PUB_KEY_ID_…`), both at once while WeChat moves callbacks from one to the other.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    keys: BTreeMap<String, RsaPublicKey>,
}

impl Verifier {
    pub fn new(keys: BTreeMap<String, RsaPublicKey>) -> Self {
        Verifier { keys }
    }

    /// Fails closed: an unknown serial, a stale or unparsable timestamp, a probe or a wrong
    /// signature are all refusals.
    pub fn verify(&self, message: &SignedMessage<'_>, now_unix: i64) -> Result<(), NotifyError> {
        let key = self.keys.get(message.serial).ok_or_else(|| NotifyError::UnknownKey(message.serial.to_owned()))?;
        let timestamp: i64 = message.timestamp.trim().parse().map_err(|_| NotifyError::Stale)?;
        if (now_unix - timestamp).abs() >= MAX_SKEW_SECONDS {
            return Err(NotifyError::Stale);
        }
        if message.signature.starts_with(PROBE_PREFIX) {
            return Err(NotifyError::BadSignature);
        }
        let signed = response_message(message.timestamp, message.nonce, message.body);
        if key.verify_base64(&signed, message.signature) { Ok(()) } else { Err(NotifyError::BadSignature) }
    }
}

/// 32 upper-case hex characters from the system CSPRNG, as the official SDKs send.
pub(crate) fn nonce() -> String {
    let mut bytes = [0u8; 16];
    // A failing system RNG leaves a zero nonce, which only weakens replay detection, never
    // authenticity (the signature still covers timestamp and body).
    let _ = SystemRandom::new().fill(&mut bytes);
    HEXUPPER.encode(&bytes)
}

/// The notification envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Notification {
    pub id: String,
    pub create_time: String,
    pub event_type: String,
    pub resource_type: String,
    pub resource: Resource,
    #[serde(default)]
    pub summary: String,
}

/// The encrypted part of a notification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Resource {
    pub algorithm: String,
    pub ciphertext: String,
    #[serde(default)]
    pub associated_data: String,
    pub nonce: String,
    #[serde(default)]
    pub original_type: String,
}

pub(crate) const RESOURCE_ALGORITHM: &str = "AEAD_AES_256_GCM";

impl Resource {
    /// Opens the resource with the 32-byte APIv3 key (its ASCII bytes, not hex-decoded).
    pub(crate) fn decrypt(&self, apiv3_key: &[u8]) -> Result<Vec<u8>, NotifyError> {
        if self.algorithm != RESOURCE_ALGORITHM {
            return Err(NotifyError::Malformed(format!("algorithm {}", self.algorithm).into()));
        }
        let sealed = BASE64.decode(self.ciphertext.as_bytes()).map_err(|_| NotifyError::Undecryptable)?;
        aes_gcm_decrypt(apiv3_key, self.nonce.as_bytes(), self.associated_data.as_bytes(), &sealed)
            .map_err(|_| NotifyError::Undecryptable)
    }

    pub(crate) fn seal(apiv3_key: &[u8], associated_data: &str, plaintext: &[u8]) -> Option<Resource> {
        let nonce = nonce()[..12].to_owned();
        let sealed = aes_gcm_encrypt(apiv3_key, nonce.as_bytes(), associated_data.as_bytes(), plaintext).ok()?;
        Some(Resource {
            algorithm: RESOURCE_ALGORITHM.into(),
            ciphertext: BASE64.encode(&sealed),
            associated_data: associated_data.into(),
            nonce,
            original_type: "transaction".into(),
        })
    }
}

/// A transaction, as query answers and payment notifications carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub appid: String,
    pub mchid: String,
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub trade_type: String,
    pub trade_state: String,
    #[serde(default)]
    pub trade_state_desc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// The payer's bank or wallet (`OTHERS`, `CMB_CREDIT`, …) once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<TransactionAmount>,
}

/// Who paid: their `openid` under the merchant's `appid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    pub openid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionAmount {
    pub total: i64,
    #[serde(default)]
    pub payer_total: i64,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub payer_currency: String,
}

/// A refund, as the refund and refund query answers carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Refund {
    pub refund_id: String,
    pub out_refund_no: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    /// `ORIGINAL` (back where the money came from), `BALANCE`, `OTHER_BALANCE`, `OTHER_BANKCARD`.
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub user_received_account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    #[serde(default)]
    pub create_time: String,
    /// `SUCCESS`, `CLOSED`, `PROCESSING` or `ABNORMAL`.
    pub status: String,
    pub amount: RefundAmount,
}

/// A refund's amounts in fen: `total` is the order's, `refund` this refund's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RefundAmount {
    pub total: i64,
    pub refund: i64,
    #[serde(default)]
    pub payer_total: i64,
    #[serde(default)]
    pub payer_refund: i64,
    #[serde(default)]
    pub settlement_total: i64,
    #[serde(default)]
    pub settlement_refund: i64,
    #[serde(default)]
    pub discount_refund: i64,
    #[serde(default)]
    pub currency: String,
}

/// WeChat's error body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ErrorBody {
    pub code: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::crypto::{Certificate, RsaSigningKey};

    use crate::channels::simulator_fixture as fixture;

    #[test]
    fn authorization_round_trips_in_any_order() {
        let auth = Authorization {
            mchid: "1230000109".into(),
            nonce_str: "AF14".into(),
            timestamp: "1611368330".into(),
            serial_no: "477E".into(),
            signature: "c2ln+/=".into(),
        };
        assert_eq!(Authorization::parse(&auth.header_value()), Some(auth.clone()));
        let shuffled = format!(
            "{AUTH_SCHEME} signature=\"c2ln+/=\",serial_no=\"477E\",timestamp=\"1611368330\",nonce_str=\"AF14\",mchid=\"1230000109\""
        );
        assert_eq!(Authorization::parse(&shuffled), Some(auth));
        assert_eq!(Authorization::parse("Bearer x"), None);
        assert_eq!(Authorization::parse(&format!("{AUTH_SCHEME} mchid=\"1\"")), None);
    }

    #[test]
    fn verification_fails_closed() {
        let key = RsaSigningKey::from_pem(&fixture("wechat_platform.key.pem")).expect("key");
        let cert = Certificate::from_pem(&fixture("wechat_platform.cert.pem")).expect("cert");
        let verifier = Verifier::new([(cert.serial_hex.clone(), cert.public_key.clone())].into());
        let body = br#"{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}"#;
        let signature = key.sign_base64(&response_message("1700000000", "n1", body)).expect("signs");
        let message = SignedMessage {
            timestamp: "1700000000",
            nonce: "n1",
            signature: &signature,
            serial: &cert.serial_hex,
            body,
        };
        assert_eq!(verifier.verify(&message, 1_700_000_100), Ok(()));
        assert_eq!(verifier.verify(&message, 1_700_000_300), Err(NotifyError::Stale), "300 s is too late");
        assert_eq!(verifier.verify(&message, 1_699_999_700), Err(NotifyError::Stale), "and too early");
        assert_eq!(
            verifier.verify(&SignedMessage { serial: "ABC", ..message }, 1_700_000_000),
            Err(NotifyError::UnknownKey("ABC".into()))
        );
        assert_eq!(
            verifier.verify(&SignedMessage { body: b"{}", ..message }, 1_700_000_000),
            Err(NotifyError::BadSignature)
        );
        assert_eq!(
            verifier.verify(&SignedMessage { nonce: "n2", ..message }, 1_700_000_000),
            Err(NotifyError::BadSignature)
        );
        let probe = format!("{PROBE_PREFIX}{signature}");
        assert_eq!(
            verifier.verify(&SignedMessage { signature: &probe, ..message }, 1_700_000_000),
            Err(NotifyError::BadSignature)
        );
        assert_eq!(
            verifier.verify(&SignedMessage { timestamp: "soon", ..message }, 1_700_000_000),
            Err(NotifyError::Stale)
        );
    }

    #[test]
    fn resources_seal_and_open_with_the_apiv3_key_only() {
        let key = b"AES256Key-32Characters1234567890";
        let resource = Resource::seal(key, "transaction", br#"{"trade_state":"SUCCESS"}"#).expect("seals");
        assert_eq!(resource.nonce.len(), 12);
        assert_eq!(resource.decrypt(key).expect("opens"), br#"{"trade_state":"SUCCESS"}"#);
        assert_eq!(resource.decrypt(b"AES256Key-32Characters1234567891"), Err(NotifyError::Undecryptable));
        let other = Resource { associated_data: "certificate".into(), ..resource.clone() };
        assert_eq!(other.decrypt(key), Err(NotifyError::Undecryptable));
        let wrong = Resource { algorithm: "AEAD_AES_128_GCM".into(), ..resource };
        assert!(matches!(wrong.decrypt(key), Err(NotifyError::Malformed(_))));
    }
}
