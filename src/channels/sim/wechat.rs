//! The simulated WeChat Pay v3 merchant API: what the real one enforces, with local keys. Request
//! signatures are checked (401 `SIGN_ERROR`), answers are signed with the platform key and name
//! their scheme (`Wechatpay-Signature-Type`), prepay comes in three trade types — Native, JSAPI
//! and H5 — each with the handle the payer's side opens (a `weixin://` code, a `prepay_id`, an
//! `h5_url`) and its life; an order number is one trade type's (another is refused as used), a
//! repeat with identical parameters returns a fresh handle (Native's replaces the old code),
//! changed parameters are refused, a paid order cannot be closed (`ORDERPAID`), and payment
//! notifications are signed and AES-256-GCM sealed. Refunds, the trade bill and the payer's phone
//! (OAuth, the H5 cashier, the JSAPI bridge) have their own files.

mod bill;
mod phone;

pub(super) use phone::H5_PATH;
mod refunds;

use crate::channels::ChannelKind;
use crate::channels::crypto::{RsaPublicKey, RsaSigningKey};
use crate::channels::sim::{Delivery, PayError, SimPayment, WalletOrder};
use crate::channels::wechat::protocol::{
    Authorization, ErrorBody, MAX_SKEW_SECONDS, Notification, PROBE_PREFIX, Payer, Resource, SIGNATURE_TYPE,
    Transaction, TransactionAmount, nonce, request_message, response_message,
};
use crate::domain::Fen;
use crate::domain::time::{Clock, rfc3339};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A Native `code_url` and a JSAPI `prepay_id` stop working two hours after they were issued.
pub(super) const CODE_URL_LIFE: Duration = Duration::hours(2);

/// An `h5_url` stops working five minutes after it was issued.
pub(super) const H5_URL_LIFE: Duration = Duration::minutes(5);

/// What WeChat's app shows when a `code_url` is tapped or long-pressed instead of scanned.
pub const NATIVE_CODE_PREFIX: &str = "weixin://wxpay/bizpayurl?pr=";

/// The prepay trade types, by the path they are asked for on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TradeType {
    Native,
    Jsapi,
    H5,
}

impl TradeType {
    /// As transactions name it.
    fn as_str(self) -> &'static str {
        match self {
            TradeType::Native => "NATIVE",
            TradeType::Jsapi => "JSAPI",
            TradeType::H5 => "MWEB",
        }
    }

    fn handle_life(self) -> Duration {
        match self {
            TradeType::Native | TradeType::Jsapi => CODE_URL_LIFE,
            TradeType::H5 => H5_URL_LIFE,
        }
    }
}

pub struct WechatSimConfig {
    pub appid: String,
    pub mchid: String,
    /// Merchant API certificates' public keys by serial, to check request signatures.
    pub merchant_keys: BTreeMap<String, RsaPublicKey>,
    /// The serial (or `PUB_KEY_ID_…`) and key that sign answers and notifications.
    pub signing_serial: String,
    pub signing_key: RsaSigningKey,
    pub apiv3_key: Vec<u8>,
    /// The simulator's own address, e.g. `http://127.0.0.1:8081`: its H5 cashier, OAuth pages
    /// and JSAPI bridge are there.
    pub public_url: String,
    /// The official account's secret, which the OAuth code exchange checks.
    pub app_secret: String,
    /// The merchant's H5 payment domain (`https://pay.example.gov.cn`): an `h5_url` opened from
    /// a page elsewhere, or from no page, is refused; OAuth returns only there.
    pub web_domain: String,
    /// The platform certificate (PEM), which `GET /v3/certificates` hands out, sealed.
    pub platform_certificate: String,
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
    /// OAuth: the codes handed out, and the payers' openids under this appid.
    oauth: Mutex<phone::OauthState>,
}

#[derive(Debug, Clone)]
struct SimOrder {
    trade_type: TradeType,
    /// The parameters a repeated prepay must match.
    fingerprint: String,
    description: String,
    amount: i64,
    /// What refunds of this order have taken back, in fen.
    refunded: i64,
    time_expire: DateTime<Utc>,
    notify_url: String,
    state: SimState,
    /// JSAPI's payer from the prepay; for the other types, whoever paid.
    payer: Option<String>,
    /// What the payer's side opens: Native's code, JSAPI's and H5's `prepay_id`.
    handle: String,
    handle_issued_at: DateTime<Utc>,
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
    #[serde(default)]
    payer: Option<PrepayPayer>,
    #[serde(default)]
    scene_info: Option<SceneInfo>,
}

#[derive(Debug, Deserialize)]
struct PrepayPayer {
    openid: String,
}

#[derive(Debug, Deserialize)]
struct SceneInfo {
    payer_client_ip: String,
    #[serde(default)]
    h5_info: Option<H5Info>,
}

#[derive(Debug, Deserialize)]
struct H5Info {
    #[serde(rename = "type")]
    kind: String,
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
                ("Wechatpay-Signature-Type".into(), SIGNATURE_TYPE.into()),
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
            oauth: Mutex::new(phone::OauthState::default()),
        }
    }

    pub fn configure(cfg: &mut web::ServiceConfig) {
        cfg.route("/v3/pay/transactions/native", web::post().to(prepay_native))
            .route("/v3/pay/transactions/jsapi", web::post().to(prepay_jsapi))
            .route("/v3/pay/transactions/h5", web::post().to(prepay_h5))
            .route("/v3/certificates", web::get().to(certificates))
            .route("/v3/pay/transactions/out-trade-no/{out_trade_no}", web::get().to(query))
            .route("/v3/pay/transactions/out-trade-no/{out_trade_no}/close", web::post().to(close))
            .route("/v3/refund/domestic/refunds", web::post().to(refunds::create))
            .route("/v3/refund/domestic/refunds/{out_refund_no}", web::get().to(refunds::query))
            .route("/v3/bill/tradebill", web::get().to(bill::apply))
            .route(bill::DOWNLOAD_PATH, web::get().to(bill::download));
        phone::configure(cfg);
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
        let (out_trade_no, order) = payable(&mut orders, TradeType::Native, code, now)?;
        Ok(WalletOrder {
            channel: ChannelKind::Wechat,
            out_trade_no: out_trade_no.clone(),
            description: order.description.clone(),
            amount: Fen(order.amount),
            payable: true,
        })
    }

    /// The payer pays the order behind a Native code (scanned with WeChat's camera).
    pub fn pay(&self, code: &str) -> Result<SimPayment, PayError> {
        self.pay_handle(TradeType::Native, code, None)
    }

    /// Pays the order behind the handle of a prepay of `trade_type`, as `payer` (an openid) or a
    /// payer of its own.
    fn pay_handle(&self, trade_type: TradeType, handle: &str, payer: Option<&str>) -> Result<SimPayment, PayError> {
        let now = self.clock.now();
        let mut orders = self.orders();
        let (out_trade_no, order) = payable(&mut orders, trade_type, handle, now)?;
        // A JSAPI order is its payer's: WeChat's app pays it only for the account it names.
        if let (Some(named), Some(paying)) = (order.payer.as_deref(), payer)
            && named != paying
        {
            return Err(PayError::Refused("支付用户与下单用户不一致".into()));
        }
        // WeChat transaction ids are 28 digits starting 4200.
        let transaction_id = format!("4200{}", random_digits(24));
        order.state = SimState::Paid { transaction_id, at: now };
        if order.payer.is_none() {
            order.payer = Some(payer.map_or_else(phone::new_openid, str::to_owned));
        }
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
        let paid = success_time.is_some();
        Transaction {
            appid: self.config.appid.clone(),
            mchid: self.config.mchid.clone(),
            out_trade_no: out_trade_no.to_owned(),
            transaction_id,
            trade_type: order.trade_type.as_str().into(),
            trade_state: trade_state.into(),
            trade_state_desc: desc.into(),
            success_time,
            bank_type: paid.then(|| "OTHERS".into()),
            payer: order
                .payer
                .clone()
                .filter(|_| paid || order.trade_type == TradeType::Jsapi)
                .map(|openid| Payer { openid }),
            amount: Some(TransactionAmount {
                total: order.amount,
                payer_total: if paid { order.amount } else { 0 },
                currency: "CNY".into(),
                payer_currency: "CNY".into(),
            }),
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
            .insert_header(("Wechatpay-Signature-Type", SIGNATURE_TYPE))
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

/// The order behind a handle of `trade_type`, if the payer can pay it at `now`.
fn payable<'a>(
    orders: &'a mut HashMap<String, SimOrder>,
    trade_type: TradeType,
    handle: &str,
    now: DateTime<Utc>,
) -> Result<(&'a String, &'a mut SimOrder), PayError> {
    let (out_trade_no, order) = orders
        .iter_mut()
        .find(|(_, o)| o.trade_type == trade_type && o.handle == handle)
        .ok_or(PayError::UnknownCode)?;
    if now >= order.handle_issued_at + trade_type.handle_life() {
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

async fn prepay_native(sim: web::Data<super::Simulator>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    prepay(sim, req, body, TradeType::Native)
}

async fn prepay_jsapi(sim: web::Data<super::Simulator>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    prepay(sim, req, body, TradeType::Jsapi)
}

async fn prepay_h5(sim: web::Data<super::Simulator>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    prepay(sim, req, body, TradeType::H5)
}

/// A `prepay_id` as WeChat writes them: `wx`, the time to the second, then random digits.
fn new_prepay_id(now: DateTime<Utc>) -> String {
    format!("wx{}{}", now.with_timezone(&crate::domain::time::SHANGHAI).format("%d%H%M%S"), random_digits(24))
}

fn prepay(sim: web::Data<super::Simulator>, req: HttpRequest, body: web::Bytes, trade_type: TradeType) -> HttpResponse {
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
    let payer = match (trade_type, &order.payer) {
        (TradeType::Jsapi, None) => return bad("JSAPI下单缺少payer.openid"),
        (TradeType::Jsapi, Some(payer)) if !sim.knows_openid(&payer.openid) => {
            return bad("openid与appid不匹配");
        }
        (TradeType::Jsapi, Some(payer)) => Some(payer.openid.clone()),
        _ => None,
    };
    if trade_type == TradeType::H5 {
        let scene = order.scene_info.as_ref();
        if scene.is_none_or(|s| s.payer_client_ip.parse::<std::net::IpAddr>().is_err()) {
            return bad("H5下单缺少scene_info.payer_client_ip");
        }
        if !scene
            .and_then(|s| s.h5_info.as_ref())
            .is_some_and(|h5| ["iOS", "Android", "Wap"].contains(&h5.kind.as_str()))
        {
            return bad("H5下单缺少scene_info.h5_info.type");
        }
    }
    let now = sim.clock.now();
    let requested = match order.time_expire.as_deref().map(DateTime::parse_from_rfc3339) {
        None => now + Duration::days(7),
        Some(Ok(at)) => at.with_timezone(&Utc),
        Some(Err(_)) => return bad("time_expire格式不正确"),
    };
    // WeChat raises a deadline under a minute away to one minute and caps it at 90 days.
    let time_expire = requested.max(now + Duration::minutes(1)).min(now + Duration::days(90));
    let fingerprint = format!(
        "{}|{}|{}|{:?}|{:?}",
        order.description, order.amount.total, order.notify_url, order.time_expire, payer
    );
    let mut orders = sim.orders();
    let existing = orders.get_mut(&order.out_trade_no);
    let handle = match existing {
        Some(found) if found.trade_type != trade_type => {
            return sim.error(StatusCode::BAD_REQUEST, "OUT_TRADE_NO_USED", "商户订单号重复");
        }
        Some(found) if found.fingerprint != fingerprint => {
            return sim.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "订单号重复，参数与原订单不一致");
        }
        Some(found) if found.state != SimState::NotPaid => {
            let code = if matches!(found.state, SimState::Paid { .. }) { "ORDERPAID" } else { "ORDER_CLOSED" };
            return sim.error(StatusCode::BAD_REQUEST, code, "订单已支付或已关闭");
        }
        Some(found) => {
            // A Native re-entry issues a new code and the old one stops working; an H5 re-entry a
            // new h5_url; a JSAPI one the current prepay_id while it lives.
            if trade_type != TradeType::Jsapi || now >= found.handle_issued_at + CODE_URL_LIFE {
                found.handle = if trade_type == TradeType::Native { nonce() } else { new_prepay_id(now) };
                found.handle_issued_at = now;
            }
            found.handle.clone()
        }
        None => {
            let handle = if trade_type == TradeType::Native { nonce() } else { new_prepay_id(now) };
            orders.insert(
                order.out_trade_no.clone(),
                SimOrder {
                    trade_type,
                    fingerprint,
                    description: order.description,
                    amount: order.amount.total,
                    refunded: 0,
                    time_expire,
                    notify_url: order.notify_url,
                    state: SimState::NotPaid,
                    payer,
                    handle: handle.clone(),
                    handle_issued_at: now,
                },
            );
            handle
        }
    };
    drop(orders);
    match trade_type {
        TradeType::Native => sim.json(&serde_json::json!({"code_url": format!("{NATIVE_CODE_PREFIX}{handle}")})),
        TradeType::Jsapi => sim.json(&serde_json::json!({"prepay_id": handle})),
        TradeType::H5 => {
            let package = &nonce()[..10];
            let h5_url = format!("{}{}?prepay_id={handle}&package={package}", sim.config.public_url, phone::H5_PATH);
            sim.json(&serde_json::json!({"h5_url": h5_url}))
        }
    }
}

/// `GET /v3/certificates`: the platform certificates, each sealed with the APIv3 key, as WeChat
/// Pay hands them to a merchant who downloads them to verify answers with.
async fn certificates(sim: web::Data<super::Simulator>, req: HttpRequest) -> HttpResponse {
    let Some(sim) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    if let Err(refused) = sim.authenticate(&req, b"") {
        return refused;
    }
    let Some(sealed) = Resource::seal(&sim.config.apiv3_key, "certificate", sim.config.platform_certificate.as_bytes())
    else {
        return sim.error(StatusCode::INTERNAL_SERVER_ERROR, "SYSTEM_ERROR", "系统错误");
    };
    let now = sim.clock.now();
    sim.json(&serde_json::json!({"data": [{
        "serial_no": sim.config.signing_serial,
        "effective_time": rfc3339(now - Duration::days(30)),
        "expire_time": rfc3339(now + Duration::days(5 * 365)),
        "encrypt_certificate": {
            "algorithm": sealed.algorithm,
            "nonce": sealed.nonce,
            "associated_data": sealed.associated_data,
            "ciphertext": sealed.ciphertext,
        },
    }]}))
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
