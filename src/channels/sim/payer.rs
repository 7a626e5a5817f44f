//! The payer's side of the simulator, and its fault knobs (docs/channels.md, "The simulator"):
//!
//! - `GET /sim/{channel}/pay?pr=<code>` — the wallet page a phone shows after scanning: the order
//!   and a Pay button (a form posting back to the same address);
//! - `POST /sim/pay` `{"pay_url", "notify_copies", "delay_ms", "drop_notification"}` — pays as a
//!   payer would and sends the channel's notification(s) to the merchant;
//! - `POST /sim/faults` — duplicates, delays, reordering, drops, signature probes, slow or failing
//!   merchant APIs, for every later payment and call.
//!
//! Notifications are delivered the way each channel does: resent on its own schedule (scaled by
//! `simulator.retry_scale`) until the merchant's reply counts as received.

use super::{Delivery, PayError, SimPayment, Simulator, WalletOrder};
use crate::channels::ChannelKind;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// What the payer side needs from each simulated channel.
pub(super) trait PayerSide: Send + Sync {
    fn wallet(&self, code: &str) -> Result<WalletOrder, PayError>;
    fn pay(&self, code: &str) -> Result<SimPayment, PayError>;
    fn retry_schedule(&self) -> &'static [Duration];
    fn accepts(&self, status: u16, body: &[u8]) -> bool;
    fn probe(&self, notification: &Delivery) -> Delivery;
    fn resend(&self, notification: &Delivery) -> Delivery;
}

/// Each simulated channel's payer side is its own `wallet`, `pay`, schedule, reply rule and probe.
macro_rules! payer_side {
    ($sim:ty) => {
        impl PayerSide for $sim {
            fn wallet(&self, code: &str) -> Result<WalletOrder, PayError> {
                <$sim>::wallet(self, code)
            }
            fn pay(&self, code: &str) -> Result<SimPayment, PayError> {
                <$sim>::pay(self, code)
            }
            fn retry_schedule(&self) -> &'static [Duration] {
                <$sim>::RETRY_SCHEDULE
            }
            fn accepts(&self, status: u16, body: &[u8]) -> bool {
                <$sim>::accepts(status, body)
            }
            fn probe(&self, notification: &Delivery) -> Delivery {
                <$sim>::probe(notification)
            }
            fn resend(&self, notification: &Delivery) -> Delivery {
                <$sim>::resend(self, notification)
            }
        }
    };
}

payer_side!(super::wechat::WechatSim);
payer_side!(super::alipay::AlipaySim);
payer_side!(super::unionpay::UnionpaySim);

/// The fault knobs. All off by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Extra copies of every notification.
    pub duplicates: u32,
    /// Wait before the first send of every notification.
    pub delay_ms: u64,
    /// Each copy waits a further random 0..reorder_ms, so copies and payments arrive out of order.
    pub reorder_ms: u64,
    /// Share of notifications never sent (0.0–1.0): the merchant must query.
    pub drop_rate: f64,
    /// Send a `WECHATPAY/SIGNTEST/`-style probe (an unverifiable copy) before each notification.
    pub probes: bool,
    /// Merchant API answers are this much slower.
    pub api_delay_ms: u64,
    /// Share of merchant API calls answered with a server error (0.0–1.0).
    pub api_failure_rate: f64,
    /// The channels whose merchant API the two knobs above affect ("wechat", "alipay",
    /// "unionpay"); empty: all three.
    pub api_fault_channels: Vec<String>,
}

/// The simulator's payer-side state: its faults, the delivery client and the retry scale.
pub struct PayerState {
    faults: Mutex<Faults>,
    http: reqwest::Client,
    retry_scale: f64,
}

impl PayerState {
    pub fn new(retry_scale: f64) -> Self {
        let http = crate::channels::http_client(Duration::from_secs(10)).unwrap_or_default();
        PayerState { faults: Mutex::new(Faults::default()), http, retry_scale }
    }

    pub fn faults(&self) -> Faults {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Default for PayerState {
    fn default() -> Self {
        PayerState::new(1.0)
    }
}

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sim/{channel}/pay", web::get().to(wallet_page))
        .route("/sim/{channel}/pay", web::post().to(wallet_pay))
        .route("/sim/pay", web::post().to(pay))
        .route("/sim/faults", web::post().to(set_faults))
        .route("/sim/faults", web::get().to(get_faults));
}

/// A uniform random number in [0, 1).
fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    let _ = SystemRandom::new().fill(&mut bytes);
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

fn payer<'a>(sim: &'a Simulator, channel: &str) -> Option<&'a dyn PayerSide> {
    match ChannelKind::parse(channel)? {
        ChannelKind::Wechat => sim.wechat.as_ref().map(|s| s as &dyn PayerSide),
        ChannelKind::Alipay => sim.alipay.as_ref().map(|s| s as &dyn PayerSide),
        ChannelKind::Unionpay => sim.unionpay.as_ref().map(|s| s as &dyn PayerSide),
    }
}

/// What the payer pays: any answer of finepay's pay API, as the payer's app or browser takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayAnswer {
    /// A code scanned or a link opened: a `qr_content` or a redirect `url`.
    Link(String),
    /// A form the browser posts.
    Form { action: String, fields: Vec<(String, String)> },
    /// `WeixinJSBridge`'s parameters.
    Jsapi(crate::channels::JsapiParams),
}

impl Simulator {
    /// The payer pays the order behind a simulator pay link; returns the notification the channel
    /// would send for it, without sending it (tests and benchmarks deliver it themselves).
    pub fn pay_link(&self, pay_url: &str) -> Result<SimPayment, PayError> {
        self.pay_answer(&PayAnswer::Link(pay_url.to_owned())).map(|(_, payment)| payment)
    }

    /// The payer pays what `answer` leads to, checked as its channel checks it; returns the
    /// channel and the notification it would send.
    pub fn pay_answer(&self, answer: &PayAnswer) -> Result<(ChannelKind, SimPayment), PayError> {
        let wechat = || self.wechat.as_ref().ok_or(PayError::UnknownCode);
        let alipay = || self.alipay.as_ref().ok_or(PayError::UnknownCode);
        let unionpay = || self.unionpay.as_ref().ok_or(PayError::UnknownCode);
        match answer {
            PayAnswer::Jsapi(params) => Ok((ChannelKind::Wechat, wechat()?.pay_jsapi(params)?)),
            PayAnswer::Link(link) if link.contains(super::wechat::H5_PATH) => {
                let prepay_id = query_value(link, "prepay_id").ok_or(PayError::UnknownCode)?;
                Ok((ChannelKind::Wechat, wechat()?.pay_h5(&prepay_id)?))
            }
            PayAnswer::Link(link) if is_alipay_gateway(link) => {
                let query = link.split_once('?').map(|(_, query)| query).unwrap_or_default();
                Ok((ChannelKind::Alipay, alipay()?.pay_wap(query.as_bytes(), b"")?))
            }
            PayAnswer::Form { action, fields } if is_alipay_gateway(action) => {
                let query = action.split_once('?').map(|(_, query)| query).unwrap_or_default();
                let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
                Ok((ChannelKind::Alipay, alipay()?.pay_wap(query.as_bytes(), body.as_bytes())?))
            }
            PayAnswer::Form { action, fields } if action.ends_with(crate::channels::unionpay::FRONT_TRANS_PATH) => {
                let fields = fields.iter().cloned().collect();
                Ok((ChannelKind::Unionpay, unionpay()?.pay_front(&fields)?))
            }
            PayAnswer::Link(link) => {
                let (channel, code) = parse_pay_link(link).ok_or(PayError::UnknownCode)?;
                let kind = ChannelKind::parse(&channel).ok_or(PayError::UnknownCode)?;
                Ok((kind, payer(self, &channel).ok_or(PayError::UnknownCode)?.pay(&code)?))
            }
            PayAnswer::Form { .. } => Err(PayError::UnknownCode),
        }
    }
}

/// Whether `url` is Alipay's gateway (a wap.pay request the browser carries).
fn is_alipay_gateway(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    path.ends_with(crate::channels::alipay::protocol::GATEWAY_PATH)
}

/// The value of `name` in a URL's query, percent-decoded.
pub(crate) fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next()?;
    form_urlencoded::parse(query.as_bytes()).find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

/// The channel and code of a code scanned: WeChat's `weixin://wxpay/bizpayurl?pr={code}`, or a
/// simulator wallet link `…/sim/{channel}/pay?pr={code}`.
fn parse_pay_link(pay_url: &str) -> Option<(String, String)> {
    if let Some(code) = pay_url.strip_prefix(super::wechat::NATIVE_CODE_PREFIX) {
        return Some(("wechat".into(), code.to_owned()));
    }
    let (path, query) = pay_url.split_once('?')?;
    let channel = path.strip_suffix("/pay")?.rsplit('/').next()?.to_owned();
    let code = query.split('&').find_map(|pair| pair.strip_prefix("pr="))?.to_owned();
    Some((channel, code))
}

fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({"error": {"code": code, "message": message, "details": {}}}))
}

fn pay_error(e: &PayError) -> HttpResponse {
    let code = match e {
        PayError::UnknownCode => "unknown_code",
        PayError::CodeExpired => "code_expired",
        PayError::NotPayable => "not_payable",
        PayError::Refused(_) => "refused",
    };
    error(StatusCode::CONFLICT, code, &e.to_string())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayRequest {
    /// A `qr_content` or a redirect `url` (the name is the one the first simulator took).
    #[serde(default)]
    pay_url: Option<String>,
    #[serde(default)]
    form: Option<FormAnswer>,
    #[serde(default)]
    jsapi: Option<crate::channels::JsapiParams>,
    #[serde(default = "one")]
    notify_copies: u32,
    #[serde(default)]
    delay_ms: u64,
    #[serde(default)]
    drop_notification: bool,
}

#[derive(Debug, Deserialize)]
struct FormAnswer {
    action: String,
    fields: std::collections::BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

/// How one payment's notification goes out.
struct Sending {
    copies: u32,
    delay: Duration,
    dropped: bool,
}

async fn pay(sim: web::Data<Simulator>, body: web::Bytes) -> HttpResponse {
    let request: PayRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    if request.notify_copies > 20 || request.delay_ms > 3_600_000 {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "at most 20 copies and one hour of delay");
    }
    let answer = match (request.pay_url, request.form, request.jsapi) {
        (Some(link), None, None) => PayAnswer::Link(link),
        (None, Some(form), None) => PayAnswer::Form { action: form.action, fields: form.fields.into_iter().collect() },
        (None, None, Some(params)) => PayAnswer::Jsapi(params),
        _ => return error(StatusCode::BAD_REQUEST, "invalid_request", "give one of pay_url, form and jsapi"),
    };
    let faults = sim.payer.faults();
    let sending = Sending {
        copies: request.notify_copies + faults.duplicates,
        delay: Duration::from_millis(request.delay_ms + faults.delay_ms),
        dropped: request.drop_notification || random_unit() < faults.drop_rate,
    };
    match sim.pay_answer(&answer) {
        Ok((kind, payment)) => HttpResponse::Ok().json(send_notifications(&sim, kind.as_str(), payment, sending)),
        Err(PayError::UnknownCode) if matches!(answer, PayAnswer::Link(_)) => {
            error(StatusCode::BAD_REQUEST, "invalid_request", "not a simulator pay link")
        }
        Err(e) => pay_error(&e),
    }
}

#[derive(Debug, Serialize)]
struct Paid {
    channel: String,
    out_trade_no: String,
    notification: &'static str,
}

fn pay_and_notify(
    sim: &web::Data<Simulator>,
    channel: &str,
    code: &str,
    sending: Sending,
) -> Result<Paid, HttpResponse> {
    let side = payer(sim, channel).ok_or_else(|| error(StatusCode::NOT_FOUND, "not_found", "no such channel"))?;
    let payment = side.pay(code).map_err(|e| pay_error(&e))?;
    Ok(send_notifications(sim, channel, payment, sending))
}

/// Sends the notification of `payment` as the faults and `sending` say, in the background.
fn send_notifications(sim: &web::Data<Simulator>, channel: &str, payment: SimPayment, sending: Sending) -> Paid {
    let notification = if sending.dropped { "dropped" } else { "queued" };
    if !sending.dropped {
        let faults = sim.payer.faults();
        for _ in 0..sending.copies.max(1) {
            let jitter = Duration::from_millis((random_unit() * faults.reorder_ms as f64) as u64);
            let sim = sim.clone();
            let (channel, delivery, probe) = (channel.to_owned(), payment.notification.clone(), faults.probes);
            actix_web::rt::spawn(async move {
                tokio::time::sleep(sending.delay + jitter).await;
                deliver(&sim, &channel, &delivery, probe).await;
            });
        }
    }
    Paid { channel: channel.to_owned(), out_trade_no: payment.out_trade_no, notification }
}

/// Sends the notification of a payment made on a channel's own page (a cashier, a bridge), under
/// the faults switched on.
pub(crate) fn notify_in_background(sim: &web::Data<Simulator>, channel: &str, payment: SimPayment) {
    let faults = sim.payer.faults();
    let sending = Sending {
        copies: 1 + faults.duplicates,
        delay: Duration::from_millis(faults.delay_ms),
        dropped: random_unit() < faults.drop_rate,
    };
    send_notifications(sim, channel, payment, sending);
}

/// Sends one notification (after a probe, if asked) and resends it on the channel's schedule
/// until the merchant's reply counts as received or the schedule is spent.
async fn deliver(sim: &Simulator, channel: &str, notification: &Delivery, probe: bool) {
    let Some(side) = payer(sim, channel) else { return };
    if probe {
        let _ = send(&sim.payer.http, &side.probe(notification)).await;
    }
    let mut waits = side.retry_schedule().iter();
    let mut sending = notification.clone();
    loop {
        match send(&sim.payer.http, &sending).await {
            Some((status, body)) if side.accepts(status, &body) => return,
            Some((status, _)) => log::debug!("{channel} notification to {}: HTTP {status}", notification.url),
            None => log::debug!("{channel} notification to {}: no answer", notification.url),
        }
        let Some(wait) = waits.next() else {
            log::warn!("{channel} notification for {} given up after its schedule", notification.url);
            return;
        };
        tokio::time::sleep(wait.mul_f64(sim.payer.retry_scale)).await;
        sending = side.resend(notification);
    }
}

async fn send(http: &reqwest::Client, notification: &Delivery) -> Option<(u16, Vec<u8>)> {
    let mut request = http.post(&notification.url).header("Content-Type", &notification.content_type);
    for (name, value) in &notification.headers {
        request = request.header(name, value);
    }
    let response = request.body(notification.body.clone()).send().await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.bytes().await.ok()?.to_vec()))
}

async fn set_faults(sim: web::Data<Simulator>, body: web::Bytes) -> HttpResponse {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(faults) => faults,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    let rates = [faults.drop_rate, faults.api_failure_rate];
    if rates.iter().any(|r| !(0.0..=1.0).contains(r)) || faults.duplicates > 20 {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "rates are 0.0–1.0; at most 20 duplicates");
    }
    *sim.payer.faults.lock().unwrap_or_else(PoisonError::into_inner) = faults.clone();
    HttpResponse::Ok().json(faults)
}

async fn get_faults(sim: web::Data<Simulator>) -> HttpResponse {
    HttpResponse::Ok().json(sim.payer.faults())
}

/// Slows down or fails merchant API calls as the faults say (never the payer side).
pub(super) async fn api_faults(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    let faults = req.app_data::<web::Data<Simulator>>().map(|sim| sim.payer.faults()).unwrap_or_default();
    let hit = faults.api_fault_channels.is_empty()
        || api_channel(req.path()).is_some_and(|name| faults.api_fault_channels.iter().any(|c| c == name));
    if !req.path().starts_with("/sim/") && hit {
        if faults.api_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(faults.api_delay_ms)).await;
        }
        if random_unit() < faults.api_failure_rate {
            let response = HttpResponse::ServiceUnavailable().content_type("text/plain").body("simulated failure");
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Which channel's merchant API a simulator path belongs to.
fn api_channel(path: &str) -> Option<&'static str> {
    if path.starts_with("/v3/") {
        Some("wechat")
    } else if path.starts_with("/gateway.do") {
        Some("alipay")
    } else if path.starts_with("/gateway/") {
        Some("unionpay")
    } else {
        None
    }
}

#[derive(Debug, Deserialize)]
struct WalletQuery {
    pr: String,
}

async fn wallet_page(
    sim: web::Data<Simulator>,
    path: web::Path<String>,
    query: web::Query<WalletQuery>,
) -> HttpResponse {
    let Some(side) = payer(&sim, &path) else { return error(StatusCode::NOT_FOUND, "not_found", "no such channel") };
    match side.wallet(&query.pr) {
        Ok(order) => wallet_html(&order, &query.pr, None),
        Err(e) => wallet_message(&e.to_string()),
    }
}

/// The wallet's Pay button.
async fn wallet_pay(
    sim: web::Data<Simulator>,
    path: web::Path<String>,
    query: web::Query<WalletQuery>,
) -> HttpResponse {
    let faults = sim.payer.faults();
    let sending = Sending {
        copies: 1 + faults.duplicates,
        delay: Duration::from_millis(faults.delay_ms),
        dropped: random_unit() < faults.drop_rate,
    };
    let Some(side) = payer(&sim, &path) else { return error(StatusCode::NOT_FOUND, "not_found", "no such channel") };
    let order = match side.wallet(&query.pr) {
        Ok(order) => order,
        Err(e) => return wallet_message(&e.to_string()),
    };
    match pay_and_notify(&sim, &path, &query.pr, sending) {
        Ok(_) => wallet_html(
            &order,
            &query.pr,
            Some("支付成功 Payment successful. 请返回商户页面 Return to the merchant's page."),
        ),
        Err(_) => wallet_message("支付失败 The payment did not go through"),
    }
}

fn channel_name(channel: ChannelKind) -> &'static str {
    match channel {
        ChannelKind::Wechat => "微信支付 WeChat Pay (simulated)",
        ChannelKind::Alipay => "支付宝 Alipay (simulated)",
        ChannelKind::Unionpay => "云闪付 UnionPay (simulated)",
    }
}

fn wallet_html(order: &WalletOrder, code: &str, done: Option<&str>) -> HttpResponse {
    let escape = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let action = match done {
        Some(message) => format!("<p id=\"paid\" style=\"color:#1a7f37;font-weight:600\">{}</p>", escape(message)),
        None if order.payable => format!(
            "<form method=\"post\" action=\"/sim/{}/pay?pr={}\"><button id=\"pay\" type=\"submit\" \
             style=\"width:100%;min-height:48px;font-size:18px\">支付 Pay {}</button></form>",
            order.channel.as_str(),
            escape(code),
            order.amount
        ),
        None => "<p id=\"not-payable\">此订单不能支付 This order cannot be paid</p>".to_owned(),
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{name}</title></head><body style=\"font:16px system-ui,sans-serif;max-width:480px;margin:0 auto;padding:16px\">\
         <h1 style=\"font-size:20px\">{name}</h1><p>{description}</p><p style=\"font-size:28px;font-weight:700\">{amount}</p>\
         <p style=\"color:#5b6776;font-size:14px\">{number}</p>{action}</body></html>",
        name = channel_name(order.channel),
        description = escape(&order.description),
        amount = order.amount,
        number = escape(&order.out_trade_no),
    );
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html)
}

fn wallet_message(message: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Wallet</title></head><body style=\"font:16px system-ui,sans-serif;padding:16px\"><p id=\"message\">{}</p></body></html>",
        message.replace('<', "&lt;")
    );
    HttpResponse::build(StatusCode::CONFLICT).content_type("text/html; charset=utf-8").body(html)
}

#[cfg(test)]
mod tests {
    use super::parse_pay_link;

    #[test]
    fn pay_links_name_their_channel_and_code() {
        assert_eq!(
            parse_pay_link("http://127.0.0.1:8081/sim/wechat/pay?pr=ABC123"),
            Some(("wechat".into(), "ABC123".into()))
        );
        assert_eq!(
            parse_pay_link("http://127.0.0.1:8081/sim/alipay/pay?x=1&pr=Q"),
            Some(("alipay".into(), "Q".into()))
        );
        assert_eq!(parse_pay_link("http://127.0.0.1:8081/sim/alipay/pay"), None);
        assert_eq!(parse_pay_link("weixin://wxpay/bizpayurl?pr=abc"), Some(("wechat".into(), "abc".into())));
    }
}
