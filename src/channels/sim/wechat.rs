//! The simulated WeChat Pay v3 merchant API: what the real one enforces, with local keys. Request
//! signatures are checked (401 `SIGN_ERROR`), answers are signed with the platform key, a repeated
//! prepay with identical parameters returns the order's current `code_url` (renewed once the code
//! is two hours old, whatever `time_expire` says), changed parameters are refused, a paid order
//! cannot be closed (`ORDERPAID`), and payment notifications are signed and AES-256-GCM sealed.
//! Refunds and the trade bill have their own files; the payer's side (wallet, pay, the
//! notification's resend rules and probes) is here.

mod bill;
mod refunds;

use crate::channels::ChannelKind;
use crate::channels::crypto::{RsaPublicKey, RsaSigningKey};
use crate::channels::sim::{Delivery, PayError, SimPayment, WalletOrder};
use crate::channels::wechat::protocol::{
    Authorization, ErrorBody, MAX_SKEW_SECONDS, Notification, PROBE_PREFIX, Resource, Transaction, TransactionAmount,
    nonce, request_message, response_message,
};
use crate::domain::Fen;
use crate::domain::time::{Clock, rfc3339};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A Native `code_url` stops working two hours after it was issued.
pub(super) const CODE_URL_LIFE: Duration = Duration::hours(2);

pub struct WechatSimConfig {
    pub appid: String,
    pub mchid: String,
    /// Merchant API certificates' public keys by serial, to check request signatures.
    pub merchant_keys: BTreeMap<String, RsaPublicKey>,
    /// The serial (or `PUB_KEY_ID_…`) and key that sign answers and notifications.
    pub signing_serial: String,
    pub signing_key: RsaSigningKey,
    pub apiv3_key: Vec<u8>,
    /// Prefix of the payer's pay links, e.g. `http://127.0.0.1:8081/sim/wechat/pay`.
    pub pay_link_base: String,
    /// How long an accepted refund stays PROCESSING before it is SUCCESS (on the simulator's
    /// clock; WeChat says balance refunds arrive within minutes, bank cards within days).
    pub refund_settles_after: Duration,
}

/// The simulated WeChat Pay. Locks are taken in field order (orders, refunds, bills).
pub struct WechatSim {
    config: WechatSimConfig,
    clock: Arc<dyn Clock>,
    orders: Mutex<HashMap<String, SimOrder>>,
    /// By `out_refund_no`.
    refunds: Mutex<HashMap<String, refunds::SimRefund>>,
    /// Bill files waiting to be downloaded, by download token.
    bills: Mutex<HashMap<String, bill::BillDownload>>,
}

#[derive(Debug, Clone)]
struct SimOrder {
    /// The parameters a repeated prepay must match.
    fingerprint: String,
    description: String,
    amount: i64,
    /// What refunds of this order have taken back, in fen.
    refunded: i64,
    time_expire: DateTime<Utc>,
    notify_url: String,
    state: SimState,
    code: String,
    code_issued_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SimState {
    NotPaid,
    Paid { transaction_id: String, at: DateTime<Utc> },
    Closed,
}

#[derive(Debug, Deserialize)]
struct PrepayBody {
    appid: String,
    mchid: String,
    description: String,
    out_trade_no: String,
    time_expire: Option<String>,
    notify_url: String,
    amount: PrepayAmount,
}

#[derive(Debug, Deserialize)]
struct PrepayAmount {
    total: i64,
    #[serde(default)]
    currency: Option<String>,
}

/// A notification's signed parts: the `Wechatpay-*` headers and the body.
#[derive(Debug, Clone)]
pub struct SignedNotification {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
    pub body: Vec<u8>,
}

impl SignedNotification {
    /// The notification as an HTTP request to `url`.
    pub fn delivery(self, url: &str) -> Delivery {
        Delivery {
            url: url.to_owned(),
            headers: vec![
                ("Wechatpay-Timestamp".into(), self.timestamp),
                ("Wechatpay-Nonce".into(), self.nonce),
                ("Wechatpay-Signature".into(), self.signature),
                ("Wechatpay-Serial".into(), self.serial),
            ],
            content_type: "application/json".into(),
            body: self.body,
        }
    }
}

impl WechatSim {
    pub fn new(config: WechatSimConfig, clock: Arc<dyn Clock>) -> Self {
        WechatSim {
            config,
            clock,
            orders: Mutex::new(HashMap::new()),
            refunds: Mutex::new(HashMap::new()),
            bills: Mutex::new(HashMap::new()),
        }
    }

    pub fn configure(cfg: &mut web::ServiceConfig) {
        cfg.route("/v3/pay/transactions/native", web::post().to(prepay))
            .route("/v3/pay/transactions/out-trade-no/{out_trade_no}", web::get().to(query))
            .route("/v3/pay/transactions/out-trade-no/{out_trade_no}/close", web::post().to(close))
            .route("/v3/refund/domestic/refunds", web::post().to(refunds::create))
            .route("/v3/refund/domestic/refunds/{out_refund_no}", web::get().to(refunds::query))
            .route("/v3/bill/tradebill", web::get().to(bill::apply))
            .route(bill::DOWNLOAD_PATH, web::get().to(bill::download));
    }

    fn orders(&self) -> MutexGuard<'_, HashMap<String, SimOrder>> {
        self.orders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn refunds(&self) -> MutexGuard<'_, HashMap<String, refunds::SimRefund>> {
        self.refunds.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bills(&self) -> MutexGuard<'_, HashMap<String, bill::BillDownload>> {
        self.bills.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the payer's phone shows after scanning a pay link. WeChat refuses at the scan what it
    /// would refuse at payment, so an order it shows can be paid.
    pub fn wallet(&self, code: &str) -> Result<WalletOrder, PayError> {
        let now = self.clock.now();
        let mut orders = self.orders();
        let (out_trade_no, order) = payable(&mut orders, code, now)?;
        Ok(WalletOrder {
            channel: ChannelKind::Wechat,
            out_trade_no: out_trade_no.clone(),
            description: order.description.clone(),
            amount: Fen(order.amount),
            payable: true,
        })
    }

    /// The payer pays the order behind a pay link's code.
    pub fn pay(&self, code: &str) -> Result<SimPayment, PayError> {
        let now = self.clock.now();
        let mut orders = self.orders();
        let (out_trade_no, order) = payable(&mut orders, code, now)?;
        // WeChat transaction ids are 28 digits starting 4200.
        let transaction_id = format!("4200{}", random_digits(24));
        order.state = SimState::Paid { transaction_id, at: now };
        let transaction = self.transaction(out_trade_no, order);
        let notification = self.notification(&transaction, now).ok_or(PayError::NotPayable)?;
        Ok(SimPayment { out_trade_no: out_trade_no.clone(), notification: notification.delivery(&order.notify_url) })
    }

    /// The waits between a notification's sends while the merchant has not taken it (first send
    /// to first resend, then resend to resend): 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/
    /// 6h/6h, 24h4m in all.
    pub const RETRY_SCHEDULE: &'static [std::time::Duration] = &[
        std::time::Duration::from_secs(15),
        std::time::Duration::from_secs(15),
        std::time::Duration::from_secs(30),
        std::time::Duration::from_secs(3 * 60),
        std::time::Duration::from_secs(10 * 60),
        std::time::Duration::from_secs(20 * 60),
        std::time::Duration::from_secs(30 * 60),
        std::time::Duration::from_secs(30 * 60),
        std::time::Duration::from_secs(30 * 60),
        std::time::Duration::from_secs(60 * 60),
        std::time::Duration::from_secs(3 * 3600),
        std::time::Duration::from_secs(3 * 3600),
        std::time::Duration::from_secs(3 * 3600),
        std::time::Duration::from_secs(6 * 3600),
        std::time::Duration::from_secs(6 * 3600),
    ];

    /// WeChat looks at the status only: any 2xx means received, even with `{"code":"FAIL"}`.
    pub fn accepts(status: u16, _body: &[u8]) -> bool {
        (200..300).contains(&status)
    }

    /// The notification as WeChat's signature probes send it: a `Wechatpay-Signature` starting
    /// `WECHATPAY/SIGNTEST/`, which the merchant must refuse.
    pub fn probe(notification: &Delivery) -> Delivery {
        let mut probe = notification.clone();
        for (name, value) in &mut probe.headers {
            if name.eq_ignore_ascii_case("Wechatpay-Signature") {
                *value = format!("{PROBE_PREFIX}{value}");
            }
        }
        probe
    }

    /// The notification as WeChat sends it again: the same body under a fresh timestamp, nonce
    /// and signature. WeChat signs every send, so a resend hours after the payment still passes
    /// the merchant's ±300 s check.
    pub fn resend(&self, notification: &Delivery) -> Delivery {
        let (timestamp, nonce) = (self.clock.now().timestamp().to_string(), nonce());
        let Ok(signature) =
            self.config.signing_key.sign_base64(&response_message(&timestamp, &nonce, &notification.body))
        else {
            return notification.clone();
        };
        let mut again = notification.clone();
        for (name, value) in &mut again.headers {
            match name.as_str() {
                "Wechatpay-Timestamp" => *value = timestamp.clone(),
                "Wechatpay-Nonce" => *value = nonce.clone(),
                "Wechatpay-Signature" => *value = signature.clone(),
                _ => {}
            }
        }
        again
    }

    /// A signed, sealed TRANSACTION.SUCCESS notification for `transaction`.
    pub fn notification(&self, transaction: &Transaction, now: DateTime<Utc>) -> Option<SignedNotification> {
        let plain = serde_json::to_vec(transaction).ok()?;
        let resource = Resource::seal(&self.config.apiv3_key, "transaction", &plain)?;
        let envelope = Notification {
            id: format!("EV-{}", nonce()),
            create_time: rfc3339(now),
            event_type: "TRANSACTION.SUCCESS".into(),
            resource_type: "encrypt-resource".into(),
            resource,
            summary: "支付成功".into(),
        };
        let body = serde_json::to_vec(&envelope).ok()?;
        let (timestamp, nonce) = (now.timestamp().to_string(), nonce());
        let signature = self.config.signing_key.sign_base64(&response_message(&timestamp, &nonce, &body)).ok()?;
        Some(SignedNotification { timestamp, nonce, signature, serial: self.config.signing_serial.clone(), body })
    }

    fn transaction(&self, out_trade_no: &str, order: &SimOrder) -> Transaction {
        let (trade_state, desc, transaction_id, success_time) = match &order.state {
            SimState::NotPaid => ("NOTPAY", "订单未支付", None, None),
            SimState::Closed => ("CLOSED", "订单已关闭", None, None),
            // REFUND: a refund was asked for, whether or not it has arrived yet.
            SimState::Paid { transaction_id, at } if order.refunded > 0 => {
                ("REFUND", "转入退款", Some(transaction_id.clone()), Some(rfc3339(*at)))
            }
            SimState::Paid { transaction_id, at } => {
                ("SUCCESS", "支付成功", Some(transaction_id.clone()), Some(rfc3339(*at)))
            }
        };
        Transaction {
            appid: self.config.appid.clone(),
            mchid: self.config.mchid.clone(),
            out_trade_no: out_trade_no.to_owned(),
            transaction_id,
            trade_type: "NATIVE".into(),
            trade_state: trade_state.into(),
            trade_state_desc: desc.into(),
            success_time,
            amount: Some(TransactionAmount { total: order.amount, payer_total: order.amount, currency: "CNY".into() }),
        }
    }

    /// Checks the merchant's request signature as WeChat does.
    fn authenticate(&self, req: &HttpRequest, body: &[u8]) -> Result<(), HttpResponse> {
        let refuse = |message: &str| self.error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", message);
        let header = req
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| refuse("签名错误：缺少Authorization"))?;
        let auth = Authorization::parse(header).ok_or_else(|| refuse("Authorization格式不正确"))?;
        if auth.mchid != self.config.mchid {
            return Err(refuse("商户号不匹配"));
        }
        let key = self.config.merchant_keys.get(&auth.serial_no).ok_or_else(|| refuse("证书序列号不存在"))?;
        let timestamp: i64 = auth.timestamp.parse().map_err(|_| refuse("timestamp格式不正确"))?;
        if (self.clock.now().timestamp() - timestamp).abs() >= MAX_SKEW_SECONDS {
            return Err(refuse("Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"));
        }
        let path = req.uri().path_and_query().map_or(req.path(), |p| p.as_str());
        let body = std::str::from_utf8(body).map_err(|_| refuse("body不是UTF-8"))?;
        let message = request_message(req.method().as_str(), path, timestamp, &auth.nonce_str, body);
        if !key.verify_base64(message.as_bytes(), &auth.signature) {
            return Err(refuse("签名错误"));
        }
        Ok(())
    }

    /// An answer signed with the platform key, as every WeChat Pay answer is.
    fn signed(&self, status: StatusCode, body: Vec<u8>) -> HttpResponse {
        let (timestamp, nonce) = (self.clock.now().timestamp().to_string(), nonce());
        let signature =
            self.config.signing_key.sign_base64(&response_message(&timestamp, &nonce, &body)).unwrap_or_default();
        let request_id = format!("sim-{}", &nonce[..16]);
        let mut response = HttpResponse::build(status);
        response
            .insert_header(("Wechatpay-Timestamp", timestamp))
            .insert_header(("Wechatpay-Nonce", nonce))
            .insert_header(("Wechatpay-Signature", signature))
            .insert_header(("Wechatpay-Serial", self.config.signing_serial.clone()))
            .insert_header(("Request-ID", request_id));
        if body.is_empty() { response.finish() } else { response.content_type("application/json").body(body) }
    }

    fn error(&self, status: StatusCode, code: &str, message: &str) -> HttpResponse {
        let body = serde_json::to_vec(&ErrorBody { code: code.into(), message: message.into() }).unwrap_or_default();
        self.signed(status, body)
    }

    fn json(&self, value: &impl serde::Serialize) -> HttpResponse {
        self.signed(StatusCode::OK, serde_json::to_vec(value).unwrap_or_default())
    }
}

/// The order behind a pay link's code, if the payer can pay it at `now`.
fn payable<'a>(
    orders: &'a mut HashMap<String, SimOrder>,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(&'a String, &'a mut SimOrder), PayError> {
    let (out_trade_no, order) = orders.iter_mut().find(|(_, o)| o.code == code).ok_or(PayError::UnknownCode)?;
    if now >= order.code_issued_at + CODE_URL_LIFE {
        return Err(PayError::CodeExpired);
    }
    if order.state != SimState::NotPaid || now >= order.time_expire {
        return Err(PayError::NotPayable);
    }
    Ok((out_trade_no, order))
}

/// `n` (at most 32) random decimal digits, for WeChat's numeric ids.
fn random_digits(n: usize) -> String {
    nonce().bytes().take(n).map(|b| char::from(b'0' + b % 10)).collect()
}

fn valid_out_trade_no(no: &str) -> bool {
    (6..=32).contains(&no.len()) && no.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-|*".contains(&b))
}

async fn prepay(sim: web::Data<super::Simulator>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some(sim) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    if let Err(refused) = sim.authenticate(&req, &body) {
        return refused;
    }
    let bad = |message: &str| sim.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", message);
    let Ok(order) = serde_json::from_slice::<PrepayBody>(&body) else { return bad("请求体不是合法的JSON") };
    if order.appid != sim.config.appid || order.mchid != sim.config.mchid {
        return sim.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "appid和mch_id不匹配");
    }
    if !valid_out_trade_no(&order.out_trade_no) || order.amount.total <= 0 || order.description.is_empty() {
        return bad("out_trade_no、amount或description不合法");
    }
    if order.notify_url.contains('?') || !order.notify_url.starts_with("http") {
        return bad("notify_url不能携带参数");
    }
    if order.amount.currency.as_deref().is_some_and(|c| c != "CNY") {
        return bad("currency只能是CNY");
    }
    let now = sim.clock.now();
    let requested = match order.time_expire.as_deref().map(DateTime::parse_from_rfc3339) {
        None => now + Duration::days(7),
        Some(Ok(at)) => at.with_timezone(&Utc),
        Some(Err(_)) => return bad("time_expire格式不正确"),
    };
    // WeChat raises a deadline under a minute away to one minute and caps it at 90 days.
    let time_expire = requested.max(now + Duration::minutes(1)).min(now + Duration::days(90));
    let fingerprint =
        format!("{}|{}|{}|{:?}", order.description, order.amount.total, order.notify_url, order.time_expire);
    let mut orders = sim.orders();
    let existing = orders.get_mut(&order.out_trade_no);
    let code = match existing {
        Some(found) if found.fingerprint != fingerprint => {
            return sim.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "订单号重复，参数与原订单不一致");
        }
        Some(found) if found.state != SimState::NotPaid => {
            let code = if matches!(found.state, SimState::Paid { .. }) { "ORDERPAID" } else { "ORDER_CLOSED" };
            return sim.error(StatusCode::BAD_REQUEST, code, "订单已支付或已关闭");
        }
        Some(found) => {
            if now >= found.code_issued_at + CODE_URL_LIFE {
                found.code = nonce();
                found.code_issued_at = now;
            }
            found.code.clone()
        }
        None => {
            let code = nonce();
            orders.insert(
                order.out_trade_no.clone(),
                SimOrder {
                    fingerprint,
                    description: order.description,
                    amount: order.amount.total,
                    refunded: 0,
                    time_expire,
                    notify_url: order.notify_url,
                    state: SimState::NotPaid,
                    code: code.clone(),
                    code_issued_at: now,
                },
            );
            code
        }
    };
    drop(orders);
    sim.json(&serde_json::json!({"code_url": format!("{}?pr={code}", sim.config.pay_link_base)}))
}

async fn query(sim: web::Data<super::Simulator>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some(sim) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    if let Err(refused) = sim.authenticate(&req, b"") {
        return refused;
    }
    let mchid_ok = req.query_string().split('&').any(|p| p == format!("mchid={}", sim.config.mchid));
    if !mchid_ok {
        return sim.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "mchid缺失或不匹配");
    }
    let found = sim.orders().get(path.as_str()).cloned();
    match found {
        Some(order) => sim.json(&sim.transaction(&path, &order)),
        None => sim.error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在"),
    }
}

async fn close(
    sim: web::Data<super::Simulator>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let Some(sim) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    if let Err(refused) = sim.authenticate(&req, &body) {
        return refused;
    }
    let mut orders = sim.orders();
    let Some(order) = orders.get_mut(path.as_str()) else {
        drop(orders);
        return sim.error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在");
    };
    if matches!(order.state, SimState::Paid { .. }) {
        drop(orders);
        return sim.error(StatusCode::BAD_REQUEST, "ORDERPAID", "订单已支付");
    }
    order.state = SimState::Closed;
    drop(orders);
    sim.signed(StatusCode::NO_CONTENT, Vec::new())
}
