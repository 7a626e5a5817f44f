//! The simulated UnionPay ACP 5.1.0 gateway: what the real one enforces, with local keys. Merchant
//! signatures are checked (`11`), `txnTime` must be within five minutes of the gateway's clock, an
//! `orderId` repeated with other fields is refused (`12`) while an identical repeat returns the
//! same QR, nobody pays after `payTimeout`, refunds succeed a configured delay after they are
//! asked for, every answer is signed with UnionPay's key and carries its certificate, and back
//! notifications go out for successful payments only. A query or a refund names the business type
//! of the transaction it is about (`000000` QR, `000201` gateway); another is refused. The daily
//! statement (file transfer) is in `bill`; the mobile web cashier (`frontTransReq`) in `front`.

mod bill;
mod front;

use crate::channels::ChannelKind;
use crate::channels::crypto::{RsaPublicKey, RsaSigningKey};
use crate::channels::sim::{Delivery, PayError, SimPayment, WalletOrder};
use crate::channels::unionpay::protocol::{
    BACK_TRANS_PATH, BIZ_GATEWAY, BIZ_QR, CURRENCY_CNY, ENCODING, FILE_TRANS_PATH, FORM_CONTENT_TYPE, FRONT_TRANS_PATH,
    Fields, QUERY_PATH, SIGN_METHOD_RSA, VERSION, code, encode_answer, encode_form, fields_of, parse_beijing_time,
    parse_fen, parse_form, sign_message, signed_by, signing_string,
};
use crate::domain::Fen;
use crate::domain::time::{Clock, SHANGHAI};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// How far `txnTime` may be from the gateway's clock. ACP only says it must be the current time;
/// five minutes is this simulator's reading of that.
pub(super) const TXN_TIME_TOLERANCE: Duration = Duration::minutes(5);

pub struct UnionpaySimConfig {
    pub mer_id: String,
    /// Merchant signing certificates' public keys by `certId` (the certificate's decimal serial).
    pub merchant_certs: BTreeMap<String, RsaPublicKey>,
    /// UnionPay's signing key, and its certificate (PEM) sent as `signPubKeyCert`.
    pub signing_key: RsaSigningKey,
    pub signing_cert_pem: String,
    /// Prefix of the payer's pay links, e.g. `http://127.0.0.1:8081/sim/unionpay/pay`.
    pub pay_link_base: String,
    /// How long after it is asked for a refund succeeds, on the simulator's clock.
    pub refund_settles_after: Duration,
}

pub struct UnionpaySim {
    config: UnionpaySimConfig,
    clock: Arc<dyn Clock>,
    book: Mutex<Book>,
}

/// Orders and refunds by `orderId` (one namespace per merchant, as at UnionPay).
#[derive(Default)]
struct Book {
    orders: HashMap<String, SimOrder>,
    refunds: HashMap<String, SimRefund>,
}

struct SimOrder {
    /// `07` a consumption QR, `01` a mobile web payment.
    txn_sub_type: &'static str,
    biz_type: &'static str,
    /// Where the cashier's "return to merchant" posts the result (mobile web only).
    front_url: Option<String>,
    /// The signed fields a repeat must match.
    fingerprint: String,
    txn_time: String,
    amount: i64,
    description: String,
    pay_timeout: DateTime<Utc>,
    back_url: String,
    pay_code: String,
    payment: Option<Booked>,
}

struct SimRefund {
    /// The business type of the payment refunded, which the refund and its queries name too.
    biz_type: &'static str,
    fingerprint: String,
    txn_time: String,
    orig_qry_id: String,
    amount: i64,
    booked: Booked,
    settles_at: DateTime<Utc>,
}

/// A transaction UnionPay booked: its id and trace, and when (the day's statement lists it).
struct Booked {
    query_id: String,
    trace_no: String,
    trace_time: String,
    settle_date: String,
    at: DateTime<Utc>,
}

impl Booked {
    fn at(now: DateTime<Utc>) -> Booked {
        let local = now.with_timezone(&SHANGHAI);
        Booked {
            at: now,
            // 21 digits led by the time, the shape of real queryIds.
            query_id: format!("{}{}", local.format("%y%m%d%H%M%S"), random_digits(9)),
            trace_no: random_digits(6),
            trace_time: local.format("%m%d%H%M%S").to_string(),
            settle_date: local.format("%m%d").to_string(),
        }
    }

    fn fields(&self, amount: i64) -> Fields {
        fields_of(&[
            ("queryId", &self.query_id),
            ("traceNo", &self.trace_no),
            ("traceTime", &self.trace_time),
            ("settleDate", &self.settle_date),
            ("settleAmt", &amount.to_string()),
            ("settleCurrencyCode", CURRENCY_CNY),
        ])
    }
}

/// A refused request: `respCode` and `respMsg`.
type Refusal = (&'static str, String);

/// `txnSubType` of a consumption by QR code.
const QR_CONSUMPTION: &str = "07";

impl UnionpaySim {
    /// Intervals between a back notification's sends: the first, then four resends (ACP demos:
    /// five sends in all, 0, 1, 2 and 4 minutes apart).
    pub const RETRY_SCHEDULE: &'static [std::time::Duration] = &[
        std::time::Duration::from_secs(0),
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(120),
        std::time::Duration::from_secs(240),
    ];

    pub fn new(config: UnionpaySimConfig, clock: Arc<dyn Clock>) -> Self {
        UnionpaySim { config, clock, book: Mutex::new(Book::default()) }
    }

    pub fn configure(cfg: &mut web::ServiceConfig) {
        cfg.route(BACK_TRANS_PATH, web::post().to(back_trans))
            .route(FRONT_TRANS_PATH, web::post().to(front::front_trans))
            .route(front::PAY_PATH, web::post().to(front::pay))
            .route(QUERY_PATH, web::post().to(query_trans))
            .route(FILE_TRANS_PATH, web::post().to(bill::file_trans));
    }

    /// UnionPay counts HTTP 200 or 302 as received, whatever the body.
    pub fn accepts(status: u16, _body: &[u8]) -> bool {
        status == 200 || status == 302
    }

    /// The notification as sent again: as it was first sent (finepay applies no freshness
    /// window to this channel's notifications, only its signature and its own order).
    pub fn resend(&self, notification: &Delivery) -> Delivery {
        notification.clone()
    }

    /// A copy of `notification` whose signature is well-formed Base64 made by no key.
    pub fn probe(notification: &Delivery) -> Delivery {
        let mut probe = notification.clone();
        if let Ok(mut fields) = parse_form(&notification.body) {
            let length = fields.get("signature").map_or(344, String::len);
            fields.insert("signature".into(), "A".repeat(length));
            probe.body = encode_form(&fields).into_bytes();
        }
        probe
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The order behind a pay link's code, as the payer's app shows it.
    pub fn wallet(&self, pay_code: &str) -> Result<WalletOrder, PayError> {
        let now = self.clock.now();
        let book = self.book();
        let (order_id, order) = book
            .orders
            .iter()
            .find(|(_, o)| o.pay_code == pay_code && o.txn_sub_type == QR_CONSUMPTION)
            .ok_or(PayError::UnknownCode)?;
        Ok(WalletOrder {
            channel: ChannelKind::Unionpay,
            out_trade_no: order_id.clone(),
            description: order.description.clone(),
            amount: Fen(order.amount),
            payable: order.payment.is_none() && now <= order.pay_timeout,
        })
    }

    /// The payer pays: the order is paid now, and UnionPay's signed back notification is ready.
    pub fn pay(&self, pay_code: &str) -> Result<SimPayment, PayError> {
        self.pay_order(pay_code, QR_CONSUMPTION).map(|(payment, _)| payment)
    }

    /// The payer pays the order of `txn_sub_type` behind `pay_code`: the back notification, and
    /// its signed fields (which the cashier's "return to merchant" posts to `frontUrl` too).
    fn pay_order(&self, pay_code: &str, txn_sub_type: &str) -> Result<(SimPayment, Fields), PayError> {
        let now = self.clock.now();
        let mut book = self.book();
        let (order_id, order) = book
            .orders
            .iter_mut()
            .find(|(_, o)| o.pay_code == pay_code && o.txn_sub_type == txn_sub_type)
            .ok_or(PayError::UnknownCode)?;
        if order.payment.is_some() || now > order.pay_timeout {
            return Err(PayError::NotPayable);
        }
        let booked = Booked::at(now);
        let mut fields = fields_of(&[
            ("version", VERSION),
            ("encoding", ENCODING),
            ("signMethod", SIGN_METHOD_RSA),
            ("txnType", "01"),
            ("txnSubType", order.txn_sub_type),
            ("bizType", order.biz_type),
            ("accessType", "0"),
            ("merId", &self.config.mer_id),
            ("orderId", order_id),
            ("txnTime", &order.txn_time),
            ("txnAmt", &order.amount.to_string()),
            ("currencyCode", CURRENCY_CNY),
            ("respCode", code::SUCCESS),
            ("respMsg", "成功[0000000]"),
        ]);
        fields.extend(booked.fields(order.amount));
        let signed = sign_message(fields, &self.config.signing_cert_pem, &self.config.signing_key)
            .map_err(|_| PayError::NotPayable)?;
        order.payment = Some(booked);
        let notification = Delivery {
            url: order.back_url.clone(),
            headers: Vec::new(),
            content_type: FORM_CONTENT_TYPE.into(),
            body: encode_form(&signed).into_bytes(),
        };
        Ok((SimPayment { out_trade_no: order_id.clone(), notification }, signed))
    }

    /// Authenticates the form, lets `serve` answer it, and signs the answer.
    fn handle(&self, body: &[u8], serve: fn(&Self, &Fields, DateTime<Utc>) -> Result<Fields, Refusal>) -> HttpResponse {
        let (request, outcome) = match parse_form(body) {
            Ok(request) => {
                let outcome = self.authenticate(&request).and_then(|()| serve(self, &request, self.clock.now()));
                (request, outcome)
            }
            Err(e) => (Fields::new(), Err((code::FORMAT_ERROR, format!("报文格式错误：{e}")))),
        };
        self.answer(&request, outcome)
    }

    /// ACP's checks before anything else: the merchant's signature by a known certificate, then
    /// the message's version, signing method and merchant.
    fn authenticate(&self, request: &Fields) -> Result<(), Refusal> {
        let key = request
            .get("certId")
            .and_then(|cert_id| self.config.merchant_certs.get(cert_id))
            .ok_or_else(|| (code::SIGNATURE_FAILED, "验证签名失败：certId不存在".to_owned()))?;
        if !signed_by(request, key) {
            return Err((code::SIGNATURE_FAILED, "验证签名失败".into()));
        }
        let expected = [
            ("version", VERSION),
            ("encoding", ENCODING),
            ("signMethod", SIGN_METHOD_RSA),
            ("accessType", "0"),
            ("merId", self.config.mer_id.as_str()),
        ];
        for (name, value) in expected {
            if required(request, name)? != value {
                return Err((code::FORMAT_ERROR, format!("{name}不正确")));
            }
        }
        biz_type(request, &[BIZ_QR, BIZ_GATEWAY]).map(|_| ())
    }

    /// Every answer echoes the request's identifying fields and is signed by UnionPay.
    fn answer(&self, request: &Fields, outcome: Result<Fields, Refusal>) -> HttpResponse {
        const ECHOED: [&str; 10] = [
            "version",
            "encoding",
            "signMethod",
            "txnType",
            "txnSubType",
            "bizType",
            "accessType",
            "merId",
            "orderId",
            "txnTime",
        ];
        let mut fields: Fields = request
            .iter()
            .filter(|(name, _)| ECHOED.contains(&name.as_str()))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        let (resp_code, resp_msg, extra) = match outcome {
            Ok(extra) => (code::SUCCESS, "成功[0000000]".to_owned(), extra),
            Err((resp_code, resp_msg)) => (resp_code, resp_msg, Fields::new()),
        };
        fields.extend(extra);
        fields.insert("respCode".into(), resp_code.into());
        fields.insert("respMsg".into(), resp_msg);
        match sign_message(fields, &self.config.signing_cert_pem, &self.config.signing_key) {
            Ok(signed) => HttpResponse::Ok().content_type("text/plain;charset=UTF-8").body(encode_answer(&signed)),
            Err(_) => HttpResponse::InternalServerError().finish(),
        }
    }

    /// `txnTime` must be the current time, give or take [`TXN_TIME_TOLERANCE`].
    fn fresh_txn_time<'a>(&self, request: &'a Fields, now: DateTime<Utc>) -> Result<&'a str, Refusal> {
        let text = required(request, "txnTime")?;
        let sent = parse_beijing_time(text).ok_or_else(|| (code::FORMAT_ERROR, "txnTime格式错误".to_owned()))?;
        if (now - sent).abs() > TXN_TIME_TOLERANCE {
            return Err((code::FORMAT_ERROR, "txnTime与当前时间相差过大".into()));
        }
        Ok(text)
    }

    /// 主扫申码: a consumption QR for the order.
    fn apply_qr(&self, request: &Fields, now: DateTime<Utc>) -> Result<Fields, Refusal> {
        biz_type(request, &[BIZ_QR])?;
        let order_id = order_id(request)?;
        let txn_time = self.fresh_txn_time(request, now)?;
        let amount = amount(request)?;
        let back_url = back_url(request)?;
        let pay_timeout = pay_timeout(request, now)?;
        let order = SimOrder {
            txn_sub_type: QR_CONSUMPTION,
            biz_type: BIZ_QR,
            front_url: None,
            fingerprint: fingerprint(request),
            txn_time: txn_time.to_owned(),
            amount,
            description: commodity_name(request),
            pay_timeout,
            back_url: back_url.to_owned(),
            pay_code: random_digits(24),
            payment: None,
        };
        let pay_code = self.book_order(order_id, order)?;
        Ok(fields_of(&[("qrCode", &format!("{}?pr={pay_code}", self.config.pay_link_base))]))
    }

    /// Books a new order under `order_id`, or finds the identical one booked before; answers its
    /// pay code. The same `orderId` with other fields, or already paid, is refused (`12`).
    fn book_order(&self, order_id: &str, order: SimOrder) -> Result<String, Refusal> {
        let mut book = self.book();
        if book.refunds.contains_key(order_id) {
            return Err((code::DUPLICATE, "重复交易".into()));
        }
        match book.orders.get(order_id) {
            Some(booked) if booked.fingerprint != order.fingerprint => {
                Err((code::DUPLICATE, "重复交易：交易要素与原交易不一致".into()))
            }
            Some(booked) if booked.payment.is_some() => Err((code::DUPLICATE, "重复交易：订单已支付".into())),
            Some(booked) => Ok(booked.pay_code.clone()),
            None => {
                let pay_code = order.pay_code.clone();
                book.orders.insert(order_id.to_owned(), order);
                Ok(pay_code)
            }
        }
    }

    /// 退货: a refund of (part of) a payment named by its `queryId`; the same `orderId` with the
    /// same fields is the same refund.
    fn refund(&self, request: &Fields, now: DateTime<Utc>) -> Result<Fields, Refusal> {
        let order_id = order_id(request)?;
        let txn_time = self.fresh_txn_time(request, now)?;
        let amount = amount(request)?;
        back_url(request)?;
        let orig_qry_id = required(request, "origQryId")?;
        let fingerprint = fingerprint(request);
        let mut book = self.book();
        if book.orders.contains_key(order_id) {
            return Err((code::DUPLICATE, "重复交易".into()));
        }
        if let Some(refund) = book.refunds.get(order_id) {
            if refund.fingerprint != fingerprint {
                return Err((code::DUPLICATE, "重复交易：交易要素与原交易不一致".into()));
            }
            return Ok(fields_of(&[("queryId", &refund.booked.query_id)]));
        }
        let paid = book
            .orders
            .values()
            .find(|o| o.payment.as_ref().is_some_and(|p| p.query_id == orig_qry_id))
            .ok_or_else(|| (code::NO_SUCH_TRANSACTION, "原交易不存在".to_owned()))?;
        let biz_type = biz_type(request, &[paid.biz_type])?;
        let refunded: i64 = book.refunds.values().filter(|r| r.orig_qry_id == orig_qry_id).map(|r| r.amount).sum();
        if refunded + amount > paid.amount {
            return Err((code::ORIGINAL_MISMATCH, "退货金额超过原交易可退金额".into()));
        }
        let booked = Booked::at(now);
        let answer = fields_of(&[("queryId", &booked.query_id)]);
        let refund = SimRefund {
            biz_type,
            fingerprint,
            txn_time: txn_time.to_owned(),
            orig_qry_id: orig_qry_id.to_owned(),
            amount,
            booked,
            settles_at: now + self.config.refund_settles_after,
        };
        book.refunds.insert(order_id.to_owned(), refund);
        Ok(answer)
    }

    /// queryTrans: the state of the order or refund sent as `orderId` at `txnTime`. An unpaid
    /// order is "accepted" (05) until its `payTimeout` and failed (01) after it.
    fn query(&self, request: &Fields, now: DateTime<Utc>) -> Result<Fields, Refusal> {
        let order_id = required(request, "orderId")?;
        let txn_time = required(request, "txnTime")?;
        let book = self.book();
        const PAID: (&str, &str) = (code::SUCCESS, "成功[0000000]");
        const PENDING: (&str, &str) = (code::ACCEPTED, "交易已受理，请稍后查询交易结果");
        let (mut answer, amount, (outcome, message)) =
            if let Some(order) = book.orders.get(order_id).filter(|o| o.txn_time == txn_time) {
                biz_type(request, &[order.biz_type])?;
                match &order.payment {
                    Some(booked) => (booked.fields(order.amount), order.amount, PAID),
                    None if now <= order.pay_timeout => (Fields::new(), order.amount, PENDING),
                    None => (Fields::new(), order.amount, (code::FAILED, "交易失败：超过支付时限")),
                }
            } else if let Some(refund) = book.refunds.get(order_id).filter(|r| r.txn_time == txn_time) {
                biz_type(request, &[refund.biz_type])?;
                let mut answer = refund.booked.fields(refund.amount);
                answer.insert("origQryId".into(), refund.orig_qry_id.clone());
                (answer, refund.amount, if now >= refund.settles_at { PAID } else { PENDING })
            } else {
                return Err((code::NO_SUCH_TRANSACTION, "查无此交易".into()));
            };
        answer.extend(fields_of(&[
            ("txnAmt", &amount.to_string()),
            ("currencyCode", CURRENCY_CNY),
            ("origRespCode", outcome),
            ("origRespMsg", message),
        ]));
        Ok(answer)
    }
}

async fn back_trans(sim: web::Data<super::Simulator>, body: web::Bytes) -> HttpResponse {
    let Some(sim) = sim.unionpay.as_ref() else { return HttpResponse::NotFound().finish() };
    sim.handle(&body, |sim, request, now| match transaction_kind(request) {
        ("01", "07") => sim.apply_qr(request, now),
        ("04", "00") => sim.refund(request, now),
        _ => Err((code::FORMAT_ERROR, "交易类型不支持".into())),
    })
}

async fn query_trans(sim: web::Data<super::Simulator>, body: web::Bytes) -> HttpResponse {
    let Some(sim) = sim.unionpay.as_ref() else { return HttpResponse::NotFound().finish() };
    sim.handle(&body, |sim, request, now| match transaction_kind(request) {
        ("00", "00") => sim.query(request, now),
        _ => Err((code::FORMAT_ERROR, "交易类型不支持".into())),
    })
}

/// `bizType`, one of `allowed`.
fn biz_type(request: &Fields, allowed: &[&'static str]) -> Result<&'static str, Refusal> {
    let given = required(request, "bizType")?;
    allowed.iter().copied().find(|biz| *biz == given).ok_or_else(|| (code::FORMAT_ERROR, "bizType不正确".to_owned()))
}

/// `payTimeout`, which must be in the future.
fn pay_timeout(request: &Fields, now: DateTime<Utc>) -> Result<DateTime<Utc>, Refusal> {
    parse_beijing_time(required(request, "payTimeout")?)
        .filter(|at| *at > now)
        .ok_or_else(|| (code::FORMAT_ERROR, "payTimeout格式错误或已过".to_owned()))
}

/// `txnType` and `txnSubType`.
fn transaction_kind(request: &Fields) -> (&str, &str) {
    let get = |name: &str| request.get(name).map_or("", String::as_str);
    (get("txnType"), get("txnSubType"))
}

fn required<'a>(request: &'a Fields, name: &str) -> Result<&'a str, Refusal> {
    request.get(name).map(String::as_str).ok_or_else(|| (code::MISSING_FIELD, format!("{name}缺失")))
}

/// 8 to 40 letters and digits: ACP refuses `-` and `_`.
fn order_id(request: &Fields) -> Result<&str, Refusal> {
    let order_id = required(request, "orderId")?;
    if (8..=40).contains(&order_id.len()) && order_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(order_id)
    } else {
        Err((code::FORMAT_ERROR, "orderId格式错误".into()))
    }
}

/// A positive `txnAmt` in fen, in yuan's currency code.
fn amount(request: &Fields) -> Result<i64, Refusal> {
    let amount = parse_fen(required(request, "txnAmt")?).map(Fen::get).filter(|fen| *fen > 0);
    match (amount, required(request, "currencyCode")?) {
        (Some(fen), CURRENCY_CNY) => Ok(fen),
        _ => Err((code::FORMAT_ERROR, "txnAmt或currencyCode格式错误".into())),
    }
}

/// An HTTP(S) URL without a query string (it would break the merchant's verification).
fn back_url(request: &Fields) -> Result<&str, Refusal> {
    let url = required(request, "backUrl")?;
    if url.starts_with("http") && !url.contains('?') {
        Ok(url)
    } else {
        Err((code::FORMAT_ERROR, "backUrl格式错误".into()))
    }
}

/// The fields that make a transaction what it is: all that was signed except the certificate.
fn fingerprint(request: &Fields) -> String {
    let mut fields = request.clone();
    fields.remove("certId");
    signing_string(&fields)
}

/// `riskRateInfo={commodityName=…}`: what the payer's app shows.
fn commodity_name(request: &Fields) -> String {
    let info = request.get("riskRateInfo").map_or("", String::as_str);
    let inner = info.trim_start_matches('{').trim_end_matches('}');
    inner.split('&').find_map(|pair| pair.strip_prefix("commodityName=")).unwrap_or_default().to_owned()
}

/// `count` decimal digits from the system CSPRNG.
fn random_digits(count: usize) -> String {
    let mut bytes = vec![0u8; count];
    // A failing system RNG leaves zeros: ids that collide, in a simulator only.
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes.iter().map(|b| char::from(b'0' + b % 10)).collect()
}
