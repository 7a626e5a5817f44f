//! Alipay's classic OpenAPI gateway (`/gateway.do`) on the wire, shared by finepay's client and the
//! simulator: the two signing rules (a request signs every parameter but `sign`; a notification
//! leaves out `sign_type` as well), form bodies read once with duplicates refused, answers whose
//! signature covers the raw text of their `*_response` member, and Beijing wall-clock times.

use crate::channels::crypto::{CryptoError, RsaPublicKey, RsaSigningKey};
use crate::domain::time::SHANGHAI;
use crate::errors::Why;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

pub(crate) const GATEWAY_PATH: &str = "/gateway.do";
pub(crate) const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded;charset=utf-8";
/// SHA256withRSA; `RSA` would be the legacy SHA1 scheme, which finepay neither sends nor accepts.
pub(crate) const SIGN_TYPE: &str = "RSA2";
pub(crate) const CHARSET: &str = "utf-8";
pub(crate) const FORMAT: &str = "JSON";
pub(crate) const VERSION: &str = "1.0";

pub(crate) const PRECREATE: &str = "alipay.trade.precreate";
pub(crate) const WAP_PAY: &str = "alipay.trade.wap.pay";
/// The method a `wap.pay` return carries back to `return_url`.
pub(crate) const WAP_PAY_RETURN: &str = "alipay.trade.wap.pay.return";
/// The mobile-site payment product (手机网站支付).
pub(crate) const QUICK_WAP_WAY: &str = "QUICK_WAP_WAY";
pub(crate) const QUERY: &str = "alipay.trade.query";
pub(crate) const CLOSE: &str = "alipay.trade.close";
pub(crate) const REFUND: &str = "alipay.trade.refund";
pub(crate) const REFUND_QUERY: &str = "alipay.trade.fastpay.refund.query";
pub(crate) const BILL_URL_QUERY: &str = "alipay.data.dataservice.bill.downloadurl.query";

/// The fixed product code of Face-to-Face (当面付).
pub(crate) const FACE_TO_FACE: &str = "FACE_TO_FACE_PAYMENT";
pub(crate) const NOTIFY_TYPE: &str = "trade_status_sync";
/// The only reply that stops Alipay resending a notification: these seven bytes, nothing else.
pub(crate) const NOTIFY_ACK: &str = "success";

/// The gateway's answer codes and the `sub_code`s finepay acts on.
pub(crate) mod codes {
    pub(crate) const SUCCESS: &str = "10000";
    pub(crate) const MISSING_ARGUMENTS: &str = "40001";
    pub(crate) const INVALID_ARGUMENTS: &str = "40002";
    pub(crate) const BUSINESS_FAILED: &str = "40004";
    pub(crate) const TRADE_NOT_EXIST: &str = "ACQ.TRADE_NOT_EXIST";
    pub(crate) const TRADE_HAS_SUCCESS: &str = "ACQ.TRADE_HAS_SUCCESS";
    pub(crate) const TRADE_STATUS_ERROR: &str = "ACQ.TRADE_STATUS_ERROR";
    pub(crate) const INVALID_SIGNATURE: &str = "isv.invalid-signature";
}

/// `trade_status` values. Only TRADE_SUCCESS and TRADE_FINISHED mean paid; TRADE_CLOSED is an
/// unpaid timeout or close, or a full refund.
pub(crate) mod status {
    pub(crate) const WAIT_BUYER_PAY: &str = "WAIT_BUYER_PAY";
    pub(crate) const TRADE_SUCCESS: &str = "TRADE_SUCCESS";
    pub(crate) const TRADE_FINISHED: &str = "TRADE_FINISHED";
    pub(crate) const TRADE_CLOSED: &str = "TRADE_CLOSED";
    pub(crate) const REFUND_SUCCESS: &str = "REFUND_SUCCESS";

    pub(crate) fn is_paid(trade_status: &str) -> bool {
        trade_status == TRADE_SUCCESS || trade_status == TRADE_FINISHED
    }
}

/// Request or notification parameters, sorted by key as both signing rules want them.
pub(crate) type Params = BTreeMap<String, String>;

/// The string a merchant signs for a request: every non-empty parameter except `sign` —
/// `sign_type` included — as raw (not URL-encoded) `k=v`, sorted, joined by `&`.
pub(crate) fn request_sign_content(params: &Params) -> String {
    sign_content(params, &["sign"])
}

/// The string Alipay signs for a notification: as a request's, but without `sign_type` too.
pub(crate) fn notification_sign_content(params: &Params) -> String {
    sign_content(params, &["sign", "sign_type"])
}

fn sign_content(params: &Params, left_out: &[&str]) -> String {
    let signed = params.iter().filter(|(key, value)| !value.is_empty() && !left_out.contains(&key.as_str()));
    signed.map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join("&")
}

/// Adds `sign` to a request's parameters.
pub(crate) fn sign_request(params: &mut Params, key: &RsaSigningKey) -> Result<(), CryptoError> {
    let sign = key.sign_base64(request_sign_content(params).as_bytes())?;
    params.insert("sign".into(), sign);
    Ok(())
}

/// Adds `sign` to a notification's parameters.
pub(crate) fn sign_notification(params: &mut Params, key: &RsaSigningKey) -> Result<(), CryptoError> {
    let sign = key.sign_base64(notification_sign_content(params).as_bytes())?;
    params.insert("sign".into(), sign);
    Ok(())
}

/// True only for a request carrying a valid `sign` by `key`; an absent `sign` fails.
pub(crate) fn request_is_signed_by(params: &Params, key: &RsaPublicKey) -> bool {
    params.get("sign").is_some_and(|sign| key.verify_base64(request_sign_content(params).as_bytes(), sign))
}

/// True only for a notification carrying a valid `sign` by `key`; an absent `sign` fails.
pub(crate) fn notification_is_signed_by(params: &Params, key: &RsaPublicKey) -> bool {
    params.get("sign").is_some_and(|sign| key.verify_base64(notification_sign_content(params).as_bytes(), sign))
}

/// Reads a form body (or query string), URL-decoding keys and values (`+` is a space). A key
/// given twice is refused: which of the two was signed would be anyone's guess.
pub(crate) fn parse_form(form: &[u8]) -> Result<Params, String> {
    let mut params = Params::new();
    for (key, value) in form_urlencoded::parse(form) {
        if params.insert(key.to_string(), value.into_owned()).is_some() {
            return Err(format!("the parameter {key} appears twice"));
        }
    }
    Ok(params)
}

/// A form body with every value URL-encoded for transport.
pub(crate) fn encode_form(params: &Params) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
}

/// The member an answer to `method` comes in: `alipay.trade.query` → `alipay_trade_query_response`.
pub(crate) fn response_root(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// The member gateway-level errors come in when there is no method to name.
pub(crate) const ERROR_ROOT: &str = "error_response";

/// An answer's signed part: the exact text of its response member, and the sibling `sign`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignedAnswer<'a> {
    pub content: &'a str,
    pub sign: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AnswerError {
    #[error("the answer is not a JSON object: {0}")]
    NotJson(#[source] Why),
    #[error("the answer has neither {0} nor error_response")]
    NoResponse(String),
    #[error("the answer carries {0} more than once")]
    Repeated(String),
}

/// Cuts the signed text out of an answer body without re-serializing anything: the value of
/// `root` (or of `error_response`) exactly as it stands in `body`. A member that appears twice
/// is refused, as Alipay's own extractor does (otherwise a second copy could ride on the first
/// one's signature).
pub(crate) fn split_answer<'a>(body: &'a str, root: &str) -> Result<SignedAnswer<'a>, AnswerError> {
    let Members(members) = serde_json::from_str(body).map_err(|e| AnswerError::NotJson(Why::of(e)))?;
    let single = |name: &str| -> Result<Option<&'a RawValue>, AnswerError> {
        let mut found = members.iter().filter(|(key, _)| key == name).map(|(_, value)| *value);
        match (found.next(), found.next()) {
            (Some(_), Some(_)) => Err(AnswerError::Repeated(name.to_owned())),
            (value, _) => Ok(value),
        }
    };
    let content = match single(root)? {
        Some(value) => value,
        None => single(ERROR_ROOT)?.ok_or_else(|| AnswerError::NoResponse(root.to_owned()))?,
    };
    let sign = match single("sign")? {
        Some(raw) => Some(serde_json::from_str::<String>(raw.get()).map_err(|e| AnswerError::NotJson(Why::of(e)))?),
        None => None,
    };
    Ok(SignedAnswer { content: content.get(), sign })
}

/// An answer body as Alipay writes it: the response member, then `sign` over its exact text.
pub(crate) fn answer_body(root: &str, content: &str, sign: &str) -> String {
    let quote = |text: &str| serde_json::Value::from(text).to_string();
    format!("{{{}:{content},\"sign\":{}}}", quote(root), quote(sign))
}

/// A JSON object's members in order, values as raw text, duplicates kept (so they can be seen).
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// What every answer says about itself.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Outcome {
    pub code: String,
    #[serde(default)]
    pub msg: String,
    #[serde(default)]
    pub sub_code: Option<String>,
    #[serde(default)]
    pub sub_msg: Option<String>,
}

const WALL_CLOCK: &str = "%Y-%m-%d %H:%M:%S";

/// `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8), as every Alipay time is written.
pub(crate) fn beijing_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&SHANGHAI).format(WALL_CLOCK).to_string()
}

pub(crate) fn parse_beijing_time(text: &str) -> Option<DateTime<Utc>> {
    let local = NaiveDateTime::parse_from_str(text.trim(), WALL_CLOCK).ok()?;
    Some(SHANGHAI.from_local_datetime(&local).single()?.with_timezone(&Utc))
}

/// `biz_content` of `alipay.trade.wap.pay`. `return_url` and `notify_url` are not here: they are
/// common parameters, signed with the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WapPayBiz {
    pub out_trade_no: String,
    pub total_amount: String,
    pub subject: String,
    pub product_code: String,
    /// Where the payer lands on quitting the cashier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quit_url: Option<String>,
    /// The trade's last payable moment, absolute, Beijing time (`yyyy-MM-dd HH:mm:ss`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<String>,
}

/// `biz_content` of `alipay.trade.precreate`. Amounts are yuan with two decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PrecreateBiz {
    pub out_trade_no: String,
    pub total_amount: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    /// The QR's life from its generation (`90m`, `4h`, `1d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code_timeout_express: Option<String>,
    /// The trade's last payable moment, absolute, Beijing time; it wins over `timeout_express`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<String>,
    /// The trade's life from its creation — for precreate, from the scan, not from this call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_express: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PrecreateAnswer {
    pub out_trade_no: String,
    pub qr_code: String,
}

/// A trade named by Alipay's `trade_no` (which wins) or the merchant's `out_trade_no`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct TradeRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TradeAnswer {
    pub trade_no: String,
    pub out_trade_no: String,
    pub trade_status: String,
    pub total_amount: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_logon_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_pay_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_amount: Option<String>,
    /// When the payer paid; present once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_pay_date: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RefundBiz {
    #[serde(flatten)]
    pub trade: TradeRef,
    pub refund_amount: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
    /// The refund's idempotency key: the same number again refunds once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_request_no: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RefundAnswer {
    pub trade_no: String,
    pub out_trade_no: String,
    /// `Y` when this call moved money; a repeat of a done refund says `N`.
    pub fund_change: String,
    /// Everything refunded on the trade so far.
    pub refund_fee: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmt_refund_pay: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_logon_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RefundQueryBiz {
    #[serde(flatten)]
    pub trade: TradeRef,
    pub out_request_no: String,
    /// `gmt_refund_pay` is only answered when asked for here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_options: Vec<String>,
}

/// A refund query's answer. Alipay answers `10000` with none of these when it holds no such
/// refund, and leaves `refund_status` out while it has not succeeded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RefundQueryAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_request_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmt_refund_pay: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BillUrlBiz {
    /// `trade`: the acquiring business bill.
    pub bill_type: String,
    /// `yyyy-MM-dd` for a day.
    pub bill_date: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BillUrlAnswer {
    /// Valid for 30 seconds after it is issued.
    pub bill_download_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::simulator_fixture as fixture;

    fn precreate_params() -> Params {
        let biz = r#"{"out_trade_no":"1101052611210000176A01","total_amount":"200.00","subject":"交通违法罚款 1101052611210000176","product_code":"FACE_TO_FACE_PAYMENT"}"#;
        [
            ("app_id", "2021000117694410"),
            ("method", PRECREATE),
            ("format", FORMAT),
            ("charset", CHARSET),
            ("sign_type", SIGN_TYPE),
            ("timestamp", "2026-11-21 10:05:00"),
            ("version", VERSION),
            ("notify_url", "https://finepay.example/notify/alipay"),
            ("biz_content", biz),
            ("app_auth_token", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    const PRECREATE_CONTENT: &str = concat!(
        "app_id=2021000117694410",
        r#"&biz_content={"out_trade_no":"1101052611210000176A01","total_amount":"200.00","subject":"交通违法罚款 1101052611210000176","product_code":"FACE_TO_FACE_PAYMENT"}"#,
        "&charset=utf-8&format=JSON&method=alipay.trade.precreate",
        "&notify_url=https://finepay.example/notify/alipay&sign_type=RSA2&timestamp=2026-11-21 10:05:00&version=1.0"
    );

    /// `printf '%s' "$PRECREATE_CONTENT" | openssl dgst -sha256 -sign alipay_app.key.pem | base64 -w0`
    /// (PKCS#1 v1.5 is deterministic, so OpenSSL's signature is the one ring must produce).
    const PRECREATE_SIGN_BY_OPENSSL: &str = include_str!("../test_vectors/alipay_precreate_sign.b64");

    #[test]
    fn a_request_signs_every_nonempty_parameter_but_sign_sorted_and_raw() {
        let mut params = precreate_params();
        params.insert("sign".into(), "left out".into());
        assert_eq!(request_sign_content(&params), PRECREATE_CONTENT);
        let key = RsaSigningKey::from_pem(&fixture("alipay_app.key.pem")).expect("key");
        let mut unsigned = precreate_params();
        sign_request(&mut unsigned, &key).expect("signs");
        assert_eq!(unsigned["sign"], PRECREATE_SIGN_BY_OPENSSL.trim());
        let app_public = RsaPublicKey::from_pem(&fixture("alipay_app.pub.pem")).expect("public key");
        assert!(request_is_signed_by(&unsigned, &app_public));
        unsigned.insert("sign_type".into(), "RSA".into());
        assert!(!request_is_signed_by(&unsigned, &app_public), "sign_type is signed in a request");
    }

    #[test]
    fn a_notification_signs_everything_but_sign_and_sign_type() {
        let params: Params = [
            ("total_amount", "2.00"),
            ("trade_no", "2016071921001003030200089909"),
            ("notify_time", "2016-07-19 14:10:49"),
            ("sign_type", "RSA2"),
            ("sign", "x"),
            ("refund_fee", ""),
            ("fund_bill_list", r#"[{"amount":"2.00","fundChannel":"ALIPAYACCOUNT"}]"#),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            notification_sign_content(&params),
            r#"fund_bill_list=[{"amount":"2.00","fundChannel":"ALIPAYACCOUNT"}]&notify_time=2016-07-19 14:10:49&total_amount=2.00&trade_no=2016071921001003030200089909"#
        );
        let key = RsaSigningKey::from_pem(&fixture("alipay_platform.key.pem")).expect("key");
        let alipay = RsaPublicKey::from_pem(&fixture("alipay_platform.pub.pem")).expect("public key");
        let mut signed = params.clone();
        sign_notification(&mut signed, &key).expect("signs");
        assert!(notification_is_signed_by(&signed, &alipay));
        assert!(!request_is_signed_by(&signed, &alipay), "the two rules are not interchangeable");
        signed.insert("sign_type".into(), "RSA".into());
        assert!(notification_is_signed_by(&signed, &alipay), "sign_type is not signed in a notification");
        signed.remove("sign");
        assert!(!notification_is_signed_by(&signed, &alipay), "no sign, no belief");
    }

    #[test]
    fn forms_decode_once_and_refuse_repeated_keys() {
        let params =
            parse_form(b"a=1+2&b=%E4%BA%A4%E6%98%93&c=%5B%7B%22x%22%3A1%7D%5D&sign=ab%2Bc%2F%3D").expect("form");
        assert_eq!(params["a"], "1 2");
        assert_eq!(params["b"], "交易");
        assert_eq!(params["c"], r#"[{"x":1}]"#);
        assert_eq!(params["sign"], "ab+c/=");
        assert_eq!(parse_form(encode_form(&params).as_bytes()), Ok(params));
        assert!(parse_form(b"a=1&b=2&a=1").is_err());
    }

    #[test]
    fn the_signed_content_is_the_raw_response_text() {
        let body = r#"{"alipay_trade_query_response": {"code":"10000", "msg":"Success","total_amount":"88.80","subject":"\u4ea4"},"sign":"c2ln"}"#;
        let answer = split_answer(body, "alipay_trade_query_response").expect("splits");
        assert_eq!(answer.content, r#"{"code":"10000", "msg":"Success","total_amount":"88.80","subject":"\u4ea4"}"#);
        assert_eq!(answer.sign.as_deref(), Some("c2ln"));

        let error = r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-method"}}"#;
        let answer = split_answer(error, "alipay_trade_query_response").expect("splits");
        assert!(answer.content.starts_with(r#"{"code":"40002""#) && answer.sign.is_none());

        let twice = r#"{"alipay_trade_query_response":{"code":"10000"},"sign":"c2ln","alipay_trade_query_response":{"code":"10000","trade_status":"TRADE_SUCCESS"}}"#;
        assert!(matches!(split_answer(twice, "alipay_trade_query_response"), Err(AnswerError::Repeated(_))));
        assert!(matches!(split_answer("{}", "x_response"), Err(AnswerError::NoResponse(_))));
        assert!(matches!(split_answer("<html>", "x_response"), Err(AnswerError::NotJson(_))));

        let rebuilt = answer_body("alipay_trade_query_response", r#"{"code":"10000"}"#, "c2ln");
        assert_eq!(rebuilt, r#"{"alipay_trade_query_response":{"code":"10000"},"sign":"c2ln"}"#);
    }

    #[test]
    fn times_are_beijing_wall_clock() {
        let at = parse_beijing_time("2016-07-19 14:10:47").expect("parses");
        assert_eq!(at.to_rfc3339(), "2016-07-19T06:10:47+00:00");
        assert_eq!(beijing_time(at), "2016-07-19 14:10:47");
        assert_eq!(parse_beijing_time("2016-07-19T14:10:47"), None);
    }
}
