//! UnionPay ACP 5.1.0 (全渠道) on the wire, shared by finepay's client and the simulator: flat
//! `key=value` messages (requests and notifications form-encoded, synchronous answers raw), the
//! signature (sorted string → lowercase hex SHA-256 → SHA256withRSA over that hex text), and the
//! check of UnionPay's messages through the certificate they carry (`signPubKeyCert`), which must
//! chain to UnionPay's middle and root certificates and name UnionPay in its CN.

use crate::channels::crypto::{Certificate, CryptoError, RsaPublicKey, RsaSigningKey};
use crate::channels::{ChannelPayment, NotifyError};
use crate::domain::Fen;
use crate::domain::time::SHANGHAI;
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Utc};
use data_encoding::HEXLOWER;
use ring::digest::{SHA256, digest};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Applying for a consumption QR, refunds (退货): the back-end transaction endpoint.
pub(crate) const BACK_TRANS_PATH: &str = "/gateway/api/backTransReq.do";
/// Mobile web payment (手机网页支付): the payer's browser posts the signed order here and gets
/// UnionPay's cashier page.
pub(crate) const FRONT_TRANS_PATH: &str = "/gateway/api/frontTransReq.do";
/// `bizType` of a consumption QR (and finepay's queries and refunds).
pub(crate) const BIZ_QR: &str = "000000";
/// `bizType` of a B2C gateway or mobile web payment.
pub(crate) const BIZ_GATEWAY: &str = "000201";
/// `channelType` of a phone (`07` would be a PC or tablet).
pub(crate) const CHANNEL_PHONE: &str = "08";
/// The state of an earlier transaction, named by its `orderId` and `txnTime`.
pub(crate) const QUERY_PATH: &str = "/gateway/api/queryTrans.do";
/// File transfer (`txnType=76`): the daily statement file. UnionPay's current SDK configuration
/// sends these to a host of their own (`fileTransUrl`); this path is the one its older
/// configurations name on the gateway, and the one finepay uses on `base_url`.
pub const FILE_TRANS_PATH: &str = "/gateway/api/fileTransRequest.do";

pub(crate) const VERSION: &str = "5.1.0";
pub(crate) const ENCODING: &str = "UTF-8";
/// RSA with certificates (`11` would be SHA-256 with a shared key, `12` SM3).
pub(crate) const SIGN_METHOD_RSA: &str = "01";
pub(crate) const CURRENCY_CNY: &str = "156";
pub(crate) const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded;charset=UTF-8";

/// The third `@`-separated part of the CN of UnionPay's signing certificates.
pub(crate) const UNIONPAY_CN: &str = "中国银联股份有限公司";
/// The third part in UnionPay's test environment: accepted only when the CN check is relaxed.
pub(crate) const TEST_ENVIRONMENT_CN: &str = "00040000:SIGN";

/// `respCode` and `origRespCode` values. ACP's full list is behind registration; these are the
/// ones its demos name, with the meanings the demos give them.
pub(crate) mod code {
    pub(crate) const SUCCESS: &str = "00";
    /// 有缺陷的成功: money moved; treated as success, as the demos do.
    pub(crate) const PARTIAL_SUCCESS: &str = "A6";
    pub(crate) const FAILED: &str = "01";
    /// 03 communication timeout, 04 state unknown, 05 accepted — ask again later.
    pub(crate) const PROCESSING: [&str; 3] = ["03", "04", "05"];
    pub(crate) const ACCEPTED: &str = "05";
    pub(crate) const FORMAT_ERROR: &str = "10";
    pub(crate) const SIGNATURE_FAILED: &str = "11";
    pub(crate) const DUPLICATE: &str = "12";
    pub(crate) const MISSING_FIELD: &str = "13";
    pub(crate) const NO_SUCH_TRANSACTION: &str = "34";
    pub(crate) const ORIGINAL_MISMATCH: &str = "36";
    /// 文件不存在: no statement file for that day (yet), as public integrations read it.
    pub(crate) const FILE_NOT_FOUND: &str = "98";

    pub(crate) fn is_success(code: &str) -> bool {
        code == SUCCESS || code == PARTIAL_SUCCESS
    }

    pub(crate) fn is_processing(code: &str) -> bool {
        PROCESSING.contains(&code)
    }
}

/// A message's fields by name, in ASCII order (the order they are signed in).
pub(crate) type Fields = BTreeMap<String, String>;

/// Fields from literal pairs.
pub(crate) fn fields_of(pairs: &[(&str, &str)]) -> Fields {
    pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
}

/// A field that must be there.
pub(crate) fn field<'a>(fields: &'a Fields, name: &str) -> Result<&'a str, String> {
    fields.get(name).map(String::as_str).ok_or_else(|| format!("no {name}"))
}

/// The string both sides sign: every field but `signature`, sorted by name, `name=value` joined
/// by `&`, values raw (neither encoded nor escaped).
pub(crate) fn signing_string(fields: &Fields) -> String {
    join(fields.iter().filter(|(name, _)| name.as_str() != "signature"))
}

/// Lowercase hex of SHA-256 over the signing string. RSA signs this 64-character text, not the
/// binary digest — the mistake ACP's own SDK comments warn about.
pub(crate) fn digest_hex(signing_string: &str) -> String {
    HEXLOWER.encode(digest(&SHA256, signing_string.as_bytes()).as_ref())
}

/// A merchant's request, signed: blank values dropped and the rest trimmed (what is signed is
/// what is sent), `certId` set to the decimal serial of the signing certificate.
pub(crate) fn sign_request(fields: Fields, cert_id: &str, key: &RsaSigningKey) -> Result<Fields, CryptoError> {
    let mut fields = without_blanks(fields);
    fields.insert("certId".into(), cert_id.into());
    seal(fields, key)
}

/// UnionPay's answer or notification, signed and carrying its certificate as `signPubKeyCert`.
pub(crate) fn sign_message(fields: Fields, cert_pem: &str, key: &RsaSigningKey) -> Result<Fields, CryptoError> {
    let mut fields = without_blanks(fields);
    fields.insert("signPubKeyCert".into(), cert_pem.trim().into());
    seal(fields, key)
}

fn without_blanks(fields: Fields) -> Fields {
    fields
        .into_iter()
        .filter_map(|(name, value)| {
            let value = value.trim();
            (!value.is_empty()).then(|| (name, value.to_owned()))
        })
        .collect()
}

fn seal(mut fields: Fields, key: &RsaSigningKey) -> Result<Fields, CryptoError> {
    let signature = key.sign_base64(digest_hex(&signing_string(&fields)).as_bytes())?;
    fields.insert("signature".into(), signature);
    Ok(fields)
}

/// Whether `key` made the message's `signature` (the simulator checking a merchant's request).
pub(crate) fn signed_by(fields: &Fields, key: &RsaPublicKey) -> bool {
    fields
        .get("signature")
        .is_some_and(|signature| key.verify_base64(digest_hex(&signing_string(fields)).as_bytes(), signature))
}

/// Checks UnionPay's answers and notifications as ACP's SDK does for version 5.1.0.
#[derive(Debug, Clone)]
pub(crate) struct Verifier {
    root: Certificate,
    middle: Certificate,
    validate_cn_name: bool,
    /// Signing certificates already found to chain to `middle` and `root`, by their PEM text.
    /// Every message carries its certificate, and checking the chain costs two RSA verifications
    /// per message; UnionPay signs with one certificate (two while it rolls them over).
    chained: Arc<Mutex<Vec<Chained>>>,
}

/// A signing certificate's PEM text as a message carried it, and the certificate.
type Chained = (String, Arc<Certificate>);

/// How many chained certificates [`Verifier`] remembers; the oldest is forgotten first.
const CHAINED_REMEMBERED: usize = 4;

impl Verifier {
    pub(crate) fn new(root: Certificate, middle: Certificate, validate_cn_name: bool) -> Self {
        Verifier { root, middle, validate_cn_name, chained: Arc::default() }
    }

    /// Fails closed. A missing signature or certificate is `MissingHeaders`; a certificate that
    /// does not chain to the configured middle and root, is outside its validity at `now_unix`
    /// or does not name UnionPay is `UnknownKey` (its serial); then the signature must verify
    /// over the signing string, which includes `signPubKeyCert` itself.
    pub(crate) fn verify(&self, fields: &Fields, now_unix: u64) -> Result<(), NotifyError> {
        let (Some(cert_pem), Some(signature)) = (fields.get("signPubKeyCert"), fields.get("signature")) else {
            return Err(NotifyError::MissingHeaders);
        };
        let cert = self.chained_certificate(cert_pem)?;
        let current = [&cert, &self.middle, &self.root].iter().all(|c| c.valid_at(now_unix));
        if !current || !names_unionpay(&cert.subject_cn, self.validate_cn_name) {
            return Err(NotifyError::UnknownKey(cert.serial_decimal.clone()));
        }
        if cert.public_key.verify_base64(digest_hex(&signing_string(fields)).as_bytes(), signature) {
            Ok(())
        } else {
            Err(NotifyError::BadSignature)
        }
    }

    /// The certificate in `pem`, if it chains to the configured middle and root certificates.
    /// Validity dates and the CN are the caller's to check, at every use.
    fn chained_certificate(&self, pem: &str) -> Result<Arc<Certificate>, NotifyError> {
        let remembered =
            |chained: &[Chained]| chained.iter().find(|(known, _)| known == pem).map(|(_, cert)| cert.clone());
        if let Some(cert) = remembered(&self.chained.lock().unwrap_or_else(PoisonError::into_inner)) {
            return Ok(cert);
        }
        let cert =
            Certificate::from_pem(pem).map_err(|e| NotifyError::Malformed(format!("signPubKeyCert: {e}").into()))?;
        if !(cert.is_signed_by(&self.middle) && self.middle.is_signed_by(&self.root)) {
            return Err(NotifyError::UnknownKey(cert.serial_decimal));
        }
        let cert = Arc::new(cert);
        let mut chained = self.chained.lock().unwrap_or_else(PoisonError::into_inner);
        if remembered(&chained).is_none() {
            if chained.len() == CHAINED_REMEMBERED {
                chained.remove(0);
            }
            chained.push((pem.to_owned(), cert.clone()));
        }
        Ok(cert)
    }
}

/// The SDK's owner check: the CN's third `@`-separated part is UnionPay's name, or — with the
/// check relaxed, as for UnionPay's test environment — `00040000:SIGN`.
pub(crate) fn names_unionpay(cn: &str, validate_cn_name: bool) -> bool {
    match cn.split('@').nth(2) {
        Some(UNIONPAY_CN) => true,
        Some(TEST_ENVIRONMENT_CN) => !validate_cn_name,
        _ => false,
    }
}

/// A form-encoded body (requests and notifications), decoded. A name sent twice is refused:
/// which of the two values was signed cannot be known.
pub(crate) fn parse_form(body: &[u8]) -> Result<Fields, String> {
    let mut fields = Fields::new();
    for (name, value) in form_urlencoded::parse(body) {
        if fields.insert(name.clone().into_owned(), value.into_owned()).is_some() {
            return Err(format!("{name} appears twice"));
        }
    }
    if fields.is_empty() { Err("an empty form".into()) } else { Ok(fields) }
}

pub(crate) fn encode_form(fields: &Fields) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()
}

/// A synchronous answer: raw `name=value` pairs split at `&` outside `{…}` and `[…]` (values
/// such as `riskRateInfo` nest pairs), values not decoded — as ACP's SDK reads them.
pub(crate) fn parse_answer(body: &str) -> Result<Fields, String> {
    let mut fields = Fields::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (at, byte) in body.bytes().enumerate().chain([(body.len(), b'&')]) {
        match byte {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'&' if depth == 0 => {
                let (name, value) = body[start..at].split_once('=').ok_or("a pair without '='")?;
                if name.is_empty() || fields.insert(name.to_owned(), value.to_owned()).is_some() {
                    return Err(format!("an empty or repeated name {name:?}"));
                }
                start = at + 1;
            }
            _ => {}
        }
    }
    Ok(fields)
}

/// An answer as UnionPay writes it (the simulator's side of [`parse_answer`]).
pub(crate) fn encode_answer(fields: &Fields) -> String {
    join(fields.iter())
}

fn join<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    pairs.map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("&")
}

/// `YYYYMMDDhhmmss` in Beijing time, as `txnTime` and `payTimeout` are written.
pub(crate) fn beijing_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&SHANGHAI).format("%Y%m%d%H%M%S").to_string()
}

pub(crate) fn parse_beijing_time(text: &str) -> Option<DateTime<Utc>> {
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M%S").ok()?;
    Some(SHANGHAI.from_local_datetime(&local).single()?.with_timezone(&Utc))
}

/// `traceTime` (`MMDDhhmmss`, Beijing) carries no year: it is `txnTime`'s year, or the next one
/// when that would put it more than a day before `txnTime` (sent on 31 December, paid on
/// 1 January) or on a 29 February that year lacks.
pub(crate) fn trace_instant(trace_time: &str, txn_time: &str) -> Option<DateTime<Utc>> {
    let sent = parse_beijing_time(txn_time)?;
    let year = sent.with_timezone(&SHANGHAI).year();
    [year, year + 1]
        .into_iter()
        .filter_map(|y| parse_beijing_time(&format!("{y:04}{trace_time}")))
        .find(|at| *at >= sent - Duration::days(1))
}

/// An amount in fen as ACP writes it: digits only.
pub(crate) fn parse_fen(text: &str) -> Option<Fen> {
    if text.is_empty() || text.len() > 15 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().map(Fen)
}

/// A successful consumption as query answers and payment notifications describe it.
pub(crate) fn payment_of(fields: &Fields) -> Result<ChannelPayment, String> {
    let txn_amt = field(fields, "txnAmt")?;
    let trace_time = field(fields, "traceTime")?;
    Ok(ChannelPayment {
        out_trade_no: field(fields, "orderId")?.to_owned(),
        channel_txn_id: field(fields, "queryId")?.to_owned(),
        amount: parse_fen(txn_amt).ok_or_else(|| format!("txnAmt {txn_amt:?}"))?,
        paid_at: trace_instant(trace_time, field(fields, "txnTime")?)
            .ok_or_else(|| format!("traceTime {trace_time:?}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::simulator_fixture as fixture;

    fn cert(name: &str) -> Certificate {
        Certificate::from_pem(&fixture(name)).expect("certificate")
    }

    fn key(name: &str) -> RsaSigningKey {
        RsaSigningKey::from_pem(&fixture(name)).expect("key")
    }

    fn apply_qr_request() -> Fields {
        fields_of(&[
            ("version", "5.1.0"),
            ("encoding", "UTF-8"),
            ("signMethod", "01"),
            ("txnType", "01"),
            ("txnSubType", "07"),
            ("bizType", "000000"),
            ("channelType", "08"),
            ("accessType", "0"),
            ("merId", "777290058110048"),
            ("orderId", "1101052611210000176U01"),
            ("txnTime", "20261121173000"),
            ("txnAmt", " 20000 "),
            ("currencyCode", "156"),
            ("backUrl", "http://127.0.0.1:8080/notify/unionpay"),
            ("payTimeout", "20261121213000"),
            ("riskRateInfo", "{commodityName=交通违法罚款}"),
            ("reqReserved", "  "),
        ])
    }

    /// The expected values were computed outside Rust: Python's hashlib for the digest, and
    /// `openssl dgst -sha256 -sign unionpay_merchant.key.pem` over the hex text for the signature.
    #[test]
    fn requests_sign_the_hex_digest_of_the_sorted_string() {
        let merchant = cert("unionpay_merchant.cert.pem");
        assert_eq!(merchant.serial_decimal, "429220256662184326289674944112852054564199206028");
        let signed = sign_request(apply_qr_request(), &merchant.serial_decimal, &key("unionpay_merchant.key.pem"))
            .expect("signs");
        assert!(!signed.contains_key("reqReserved"), "blank values are dropped");
        assert_eq!(signed["txnAmt"], "20000", "values are trimmed");
        let string = signing_string(&signed);
        assert_eq!(
            string,
            "accessType=0&backUrl=http://127.0.0.1:8080/notify/unionpay&bizType=000000\
             &certId=429220256662184326289674944112852054564199206028&channelType=08&currencyCode=156\
             &encoding=UTF-8&merId=777290058110048&orderId=1101052611210000176U01&payTimeout=20261121213000\
             &riskRateInfo={commodityName=交通违法罚款}&signMethod=01&txnAmt=20000&txnSubType=07\
             &txnTime=20261121173000&txnType=01&version=5.1.0"
        );
        assert_eq!(digest_hex(&string), "991eeb0a63da99e655c22ae5bf6075004f8dbfbf2d4f8e03f642bb35a123e4f5");
        assert_eq!(
            signed["signature"],
            "AqOHxnNEYg8gGlRqe3NfQnPKvD0GvIaf5mt+OPqVfW4eWlWPLrtPrG7uE5QyM0KccVhHcVTs9BXcrSI3uws5qIeAA5/RE8tL\
             xpUDFnULytjHBHMm3TPEr6jiw9CeWqf6I7C8dCqwHsHUKZzxFK03CtyaWxOF/wvm9nvQSeMzKHYJAGjDvJyWEAFTGu2NTsik\
             FelvR7WJ56BNahPwSRsypx7O5ZIf9Rq8pQ/2MPTtNrRfjzK2WHPLSJ0G7vn6QYjNUJ7mVvePmSLIVT2ioa91vYYH9ykvOLhf\
             QYqgkoM4SSoxAs8sOupGihAyOT5vhF4aDLim7Fk3WgsrwbiP/6g2eA=="
        );
        assert!(signed_by(&signed, &merchant.public_key));
        let mut changed = signed.clone();
        changed.insert("txnAmt".into(), "20001".into());
        assert!(!signed_by(&changed, &merchant.public_key));
        assert!(!signed_by(&signed, &cert("unionpay_sign.cert.pem").public_key), "another key");
    }

    fn verifier(validate_cn_name: bool) -> Verifier {
        Verifier::new(cert("unionpay_root.cert.pem"), cert("unionpay_middle.cert.pem"), validate_cn_name)
    }

    fn signed_as(cert_name: &str, key_name: &str) -> Fields {
        let answer = fields_of(&[("respCode", "00"), ("merId", "777290058110048"), ("qrCode", "https://qr/x?pr=1")]);
        sign_message(answer, &fixture(cert_name), &key(key_name)).expect("signs")
    }

    #[test]
    fn a_remembered_certificate_is_still_checked_at_every_use() {
        let sign = cert("unionpay_sign.cert.pem");
        let now = sign.not_before_unix + 3600;
        let verifier = verifier(true);
        let good = signed_as("unionpay_sign.cert.pem", "unionpay_sign.key.pem");
        assert_eq!(verifier.verify(&good, now), Ok(()));
        assert_eq!(verifier.verify(&good, now), Ok(()), "the second time from memory");
        let unknown = |serial: &str| Err(NotifyError::UnknownKey(serial.to_owned()));
        assert_eq!(verifier.verify(&good, sign.not_after_unix + 1), unknown(&sign.serial_decimal), "expired");
        let mut tampered = good.clone();
        tampered.insert("qrCode".into(), "https://qr/x?pr=2".into());
        assert_eq!(verifier.verify(&tampered, now), Err(NotifyError::BadSignature));
        // Chains, but names someone else: refused every time, however often it comes.
        let other = signed_as("unionpay_other_cn.cert.pem", "unionpay_other_cn.key.pem");
        let other_serial = cert("unionpay_other_cn.cert.pem").serial_decimal;
        for _ in 0..2 {
            assert_eq!(verifier.verify(&other, now), unknown(&other_serial));
        }
        // Does not chain: never remembered, refused again.
        let self_signed = signed_as("wechat_platform.cert.pem", "wechat_platform.key.pem");
        let serial = cert("wechat_platform.cert.pem").serial_decimal;
        for _ in 0..2 {
            assert_eq!(verifier.verify(&self_signed, now), unknown(&serial));
        }
        assert_eq!(verifier.verify(&good, now), Ok(()));
    }

    #[test]
    fn unionpay_messages_verify_only_through_a_trusted_current_unionpay_certificate() {
        let sign = cert("unionpay_sign.cert.pem");
        let now = sign.not_before_unix + 3600;
        let good = signed_as("unionpay_sign.cert.pem", "unionpay_sign.key.pem");
        assert_eq!(verifier(true).verify(&good, now), Ok(()));
        // UnionPay writes the PEM with CRLF line ends.
        let crlf = fixture("unionpay_sign.cert.pem").replace('\n', "\r\n");
        let answer = fields_of(&[("respCode", "00")]);
        let signed = sign_message(answer, &crlf, &key("unionpay_sign.key.pem")).expect("signs");
        assert!(signed["signPubKeyCert"].contains("\r\n"));
        assert_eq!(verifier(true).verify(&signed, now), Ok(()));

        let mut tampered = good.clone();
        tampered.insert("qrCode".into(), "https://qr/x?pr=2".into());
        assert_eq!(verifier(true).verify(&tampered, now), Err(NotifyError::BadSignature));
        // The certificate is part of what is signed: the same one written differently breaks it,
        let mut rewrapped = good.clone();
        rewrapped.insert("signPubKeyCert".into(), good["signPubKeyCert"].replace('\n', "\r\n"));
        assert_eq!(verifier(true).verify(&rewrapped, now), Err(NotifyError::BadSignature));
        // and so does another valid one.
        let mut swapped = good.clone();
        swapped.insert("signPubKeyCert".into(), fixture("unionpay_test_cn.cert.pem"));
        assert_eq!(verifier(false).verify(&swapped, now), Err(NotifyError::BadSignature));

        let unknown = |serial: &str| Err(NotifyError::UnknownKey(serial.to_owned()));
        assert_eq!(verifier(true).verify(&good, sign.not_after_unix + 1), unknown(&sign.serial_decimal), "expired");
        assert_eq!(verifier(true).verify(&good, sign.not_before_unix - 1), unknown(&sign.serial_decimal), "not yet");
        // A self-signed certificate with UnionPay's key would not help a forger either.
        let self_signed = signed_as("wechat_platform.cert.pem", "wechat_platform.key.pem");
        let serial = cert("wechat_platform.cert.pem").serial_decimal;
        assert_eq!(verifier(true).verify(&self_signed, now), unknown(&serial), "does not chain");
        let middle_as_root = Verifier::new(cert("unionpay_middle.cert.pem"), cert("unionpay_middle.cert.pem"), true);
        assert_eq!(middle_as_root.verify(&good, now), unknown(&sign.serial_decimal), "middle not under root");

        let other = signed_as("unionpay_other_cn.cert.pem", "unionpay_other_cn.key.pem");
        let other_serial = cert("unionpay_other_cn.cert.pem").serial_decimal;
        assert_eq!(verifier(true).verify(&other, now), unknown(&other_serial), "chains, but not UnionPay's CN");
        assert_eq!(verifier(false).verify(&other, now), unknown(&other_serial), "not even relaxed");
        let test_env = signed_as("unionpay_test_cn.cert.pem", "unionpay_test_cn.key.pem");
        let test_serial = cert("unionpay_test_cn.cert.pem").serial_decimal;
        assert_eq!(verifier(true).verify(&test_env, now), unknown(&test_serial), "00040000:SIGN needs relaxing");
        assert_eq!(verifier(false).verify(&test_env, now), Ok(()));

        let mut unsigned = good.clone();
        unsigned.remove("signature");
        assert_eq!(verifier(true).verify(&unsigned, now), Err(NotifyError::MissingHeaders));
        let mut no_cert = good.clone();
        no_cert.remove("signPubKeyCert");
        assert_eq!(verifier(true).verify(&no_cert, now), Err(NotifyError::MissingHeaders));
        let mut garbage = good;
        garbage.insert("signPubKeyCert".into(), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into());
        assert!(matches!(verifier(true).verify(&garbage, now), Err(NotifyError::Malformed(_))));
    }

    #[test]
    fn the_cn_names_unionpay_in_its_third_part() {
        assert!(names_unionpay("041@Z12345678@中国银联股份有限公司@00040000:SIGN", true));
        assert!(!names_unionpay("041@Z12345678@00040000:SIGN", true));
        assert!(names_unionpay("041@Z12345678@00040000:SIGN", false));
        assert!(!names_unionpay("中国银联股份有限公司", false));
        assert!(!names_unionpay("041@中国银联股份有限公司@x@y", false));
    }

    #[test]
    fn answers_split_outside_braces_and_forms_refuse_repeated_names() {
        let answer = parse_answer("a=1&riskRateInfo={x=1&y=2}&cert=-----BEGIN==\r\nAB+/=&e=").expect("parses");
        assert_eq!(answer["riskRateInfo"], "{x=1&y=2}");
        assert_eq!(answer["cert"], "-----BEGIN==\r\nAB+/=");
        assert_eq!(answer["e"], "");
        assert_eq!(parse_answer(&encode_answer(&answer)), Ok(answer));
        assert!(parse_answer("a=1&a=2").is_err());
        assert!(parse_answer("a=1&b").is_err());
        assert!(parse_answer("").is_err());

        let form = fields_of(&[("signature", "ab+/=="), ("riskRateInfo", "{commodityName=罚款 & more}")]);
        assert_eq!(parse_form(encode_form(&form).as_bytes()), Ok(form));
        assert!(parse_form(b"merId=1&merId=2").is_err());
        assert!(parse_form(b"").is_err());
    }

    #[test]
    fn trace_times_take_their_year_from_the_transaction() {
        let at = |text| parse_beijing_time(text).expect("time");
        assert_eq!(trace_instant("1121173512", "20261121173000"), Some(at("20261121173512")));
        assert_eq!(trace_instant("0101000500", "20261231235500"), Some(at("20270101000500")), "year rollover");
        assert_eq!(trace_instant("1121172959", "20261121173000"), Some(at("20261121172959")), "clocks differ");
        assert_eq!(trace_instant("0229120000", "20270228120000"), Some(at("20280229120000")));
        assert_eq!(trace_instant("1321000000", "20261121173000"), None);
        assert_eq!(trace_instant("11211735", "20261121173000"), None);
        assert_eq!(beijing_time(at("20261121173000")), "20261121173000");
        assert_eq!(at("20261121173000").to_rfc3339(), "2026-11-21T09:30:00+00:00");
        assert_eq!(parse_beijing_time("2026112117300"), None);
        assert_eq!(parse_beijing_time("+0261121173000"), None);
        assert_eq!(parse_fen("20000"), Some(Fen(20000)));
        assert_eq!(parse_fen("-1"), None);
        assert_eq!(parse_fen("200.00"), None);
    }
}
