//! The simulated Alipay gateway (`POST /gateway.do`): what the real one enforces, with local keys.
//! Requests are checked by the request signing rule (`isv.invalid-signature`), app id and
//! timestamp; every answer is signed over its raw `*_response` text. A precreated order has no
//! trade until the payer scans its QR (query and close say `ACQ.TRADE_NOT_EXIST` until then, and
//! closing does not stop the QR); the QR expires on its own clock. Refunds are idempotent by
//! `out_request_no` and done at once; notifications are signed by the notification rule and
//! resent until the merchant answers `success`; a day's bill is a zip of GBK CSV behind a URL of
//! this server that lives 30 seconds. `alipay.trade.wap.pay` is a page: the gateway, opened by
//! the payer's browser (GET or POST), shows the cashier, and paying sends the browser to the
//! merchant's `return_url` with signed parameters. The merchant API is in `gateway`, the cashier
//! in `wap`; here are the orders and trades they work on, and the payer's side of a QR.

mod gateway;
mod wap;

use crate::channels::ChannelKind;
use crate::channels::alipay::protocol::{
    CHARSET, FACE_TO_FACE, FORM_CONTENT_TYPE, GATEWAY_PATH, NOTIFY_ACK, NOTIFY_TYPE, Params, SIGN_TYPE, VERSION,
    beijing_time, encode_form, sign_notification, status,
};
use crate::channels::crypto::{RsaPublicKey, RsaSigningKey};
use crate::channels::sim::{Delivery, PayError, SimPayment, WalletOrder};
use crate::domain::Fen;
use crate::domain::time::{Clock, SHANGHAI, shanghai_date};
use actix_web::web;
use chrono::{DateTime, Days, Duration, NaiveTime, TimeZone, Utc};
use data_encoding::{BASE64, HEXLOWER};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A QR precreated without an explicit expiry stops working after two hours unscanned.
pub(super) const DEFAULT_QR_LIFE: Duration = Duration::hours(2);
/// How long a scanned, unpaid trade lives when neither `time_expire` nor `timeout_express` says:
/// the longest `timeout_express` allows (the simulator's assumption; the reference names none).
pub(super) const DEFAULT_TRADE_LIFE: Duration = Duration::days(15);
/// A bill download URL works for 30 seconds after it is issued.
pub(super) const BILL_URL_LIFE: Duration = Duration::seconds(30);

pub struct AlipaySimConfig {
    pub app_id: String,
    /// The merchant's Alipay user id (`2088…`).
    pub seller_id: String,
    /// The app public key the merchant uploaded: it checks request signatures.
    pub app_public_key: RsaPublicKey,
    /// Alipay's own key: it signs answers and notifications.
    pub signing_key: RsaSigningKey,
    /// Prefix of the payer's pay links, e.g. `http://127.0.0.1:8081/sim/alipay/pay`.
    pub pay_link_base: String,
}

pub struct AlipaySim {
    config: AlipaySimConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Precreated orders by `out_trade_no`.
    orders: HashMap<String, SimOrder>,
    /// Issued bill downloads by token.
    bills: HashMap<String, IssuedBill>,
}

struct SimOrder {
    /// `FACE_TO_FACE_PAYMENT` (a precreated QR) or `QUICK_WAP_WAY` (a cashier page).
    product: &'static str,
    /// The parameters a repeat must match.
    fingerprint: String,
    subject: String,
    amount: Fen,
    notify_url: String,
    code: String,
    qr_expires_at: DateTime<Utc>,
    time_expire: Option<DateTime<Utc>>,
    timeout_express: Option<String>,
    /// Where the cashier sends the payer after paying (wap.pay only).
    return_url: Option<String>,
    /// None until the payer scans.
    trade: Option<Trade>,
}

#[derive(Debug, Clone)]
struct Trade {
    trade_no: String,
    buyer_id: String,
    buyer_logon_id: String,
    created_at: DateTime<Utc>,
    /// Unpaid at this moment, the trade closes.
    deadline: DateTime<Utc>,
    paid_at: Option<DateTime<Utc>>,
    /// Closed by the merchant, or by a full refund.
    closed: bool,
    refunds: Vec<SimRefund>,
}

#[derive(Debug, Clone)]
struct SimRefund {
    out_request_no: String,
    amount: Fen,
    at: DateTime<Utc>,
}

struct IssuedBill {
    issued_at: DateTime<Utc>,
    file_name: String,
    zip: Vec<u8>,
}

impl Trade {
    fn status(&self, now: DateTime<Utc>) -> &'static str {
        match self.paid_at {
            _ if self.closed => status::TRADE_CLOSED,
            Some(_) => status::TRADE_SUCCESS,
            None if now >= self.deadline => status::TRADE_CLOSED,
            None => status::WAIT_BUYER_PAY,
        }
    }

    fn refunded(&self) -> Fen {
        Fen(self.refunds.iter().map(|refund| refund.amount.get()).sum())
    }
}

impl AlipaySim {
    /// Intervals between a notification's first send and each resend: 4m, 10m, 10m, 1h, 2h, 6h,
    /// 15h — eight sends in about 25 hours.
    pub const RETRY_SCHEDULE: &'static [std::time::Duration] = &[
        std::time::Duration::from_secs(4 * 60),
        std::time::Duration::from_secs(10 * 60),
        std::time::Duration::from_secs(10 * 60),
        std::time::Duration::from_secs(3600),
        std::time::Duration::from_secs(2 * 3600),
        std::time::Duration::from_secs(6 * 3600),
        std::time::Duration::from_secs(15 * 3600),
    ];

    pub fn new(config: AlipaySimConfig, clock: Arc<dyn Clock>) -> Self {
        AlipaySim { config, clock, state: Mutex::new(State::default()) }
    }

    pub fn configure(cfg: &mut web::ServiceConfig) {
        cfg.route(GATEWAY_PATH, web::post().to(gateway::gateway))
            .route(GATEWAY_PATH, web::get().to(gateway::gateway))
            .route(wap::PAY_PATH, web::post().to(wap::pay))
            .route("/sim/alipay/bill/{token}", web::get().to(gateway::bill_file));
    }

    /// Only the seven bytes `success` stop the resends.
    pub fn accepts(status: u16, body: &[u8]) -> bool {
        status == 200 && body == NOTIFY_ACK.as_bytes()
    }

    /// The notification as sent again: as it was first sent (finepay applies no freshness
    /// window to this channel's notifications, only its signature and its own order).
    pub fn resend(&self, notification: &Delivery) -> Delivery {
        notification.clone()
    }

    /// A copy of `notification` with a well-formed but false `sign`.
    pub fn probe(notification: &Delivery) -> Delivery {
        let forged = BASE64.encode(&[0u8; 256]);
        let pairs = form_urlencoded::parse(&notification.body)
            .map(|(key, value)| if key == "sign" { (key, forged.as_str().into()) } else { (key, value) });
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        Delivery { body: body.into_bytes(), ..notification.clone() }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The payer scans: the first scan of a live QR creates the trade (WAIT_BUYER_PAY).
    pub fn wallet(&self, code: &str) -> Result<WalletOrder, PayError> {
        let now = self.clock.now();
        let mut state = self.state();
        let (out_trade_no, order) = find_code(&mut state, code, FACE_TO_FACE)?;
        let payable = scan(order, now)?.status(now) == status::WAIT_BUYER_PAY;
        Ok(WalletOrder {
            channel: ChannelKind::Alipay,
            out_trade_no: out_trade_no.clone(),
            description: order.subject.clone(),
            amount: order.amount,
            payable,
        })
    }

    /// The payer scans (if not yet) and pays; the result carries the signed notification.
    pub fn pay(&self, code: &str) -> Result<SimPayment, PayError> {
        self.pay_order(code, FACE_TO_FACE)
    }

    /// The payer pays the order of `product` behind `code`.
    fn pay_order(&self, code: &str, product: &str) -> Result<SimPayment, PayError> {
        let now = self.clock.now();
        let mut state = self.state();
        let (out_trade_no, order) = find_code(&mut state, code, product)?;
        let trade = scan(order, now)?;
        if trade.status(now) != status::WAIT_BUYER_PAY {
            return Err(PayError::NotPayable);
        }
        let paid = Trade { paid_at: Some(now), ..trade.clone() };
        let notification = self.notification(out_trade_no, order, &paid, now).ok_or(PayError::NotPayable)?;
        order.trade = Some(paid);
        Ok(SimPayment { out_trade_no: out_trade_no.clone(), notification })
    }

    /// The `trade_status_sync` notification of a paid trade, signed by the notification rule.
    fn notification(
        &self,
        out_trade_no: &str,
        order: &SimOrder,
        trade: &Trade,
        now: DateTime<Utc>,
    ) -> Option<Delivery> {
        let amount = order.amount.yuan_text();
        let fund_bill_list = serde_json::json!([{"amount": amount, "fundChannel": "ALIPAYACCOUNT"}]).to_string();
        let mut params: Params = [
            ("notify_time", beijing_time(now)),
            ("notify_type", NOTIFY_TYPE.into()),
            ("notify_id", HEXLOWER.encode(&random_bytes::<16>())),
            ("app_id", self.config.app_id.clone()),
            ("auth_app_id", self.config.app_id.clone()),
            ("charset", CHARSET.into()),
            ("version", VERSION.into()),
            ("sign_type", SIGN_TYPE.into()),
            ("trade_no", trade.trade_no.clone()),
            ("out_trade_no", out_trade_no.to_owned()),
            ("buyer_id", trade.buyer_id.clone()),
            ("buyer_logon_id", trade.buyer_logon_id.clone()),
            ("seller_id", self.config.seller_id.clone()),
            ("trade_status", status::TRADE_SUCCESS.into()),
            ("total_amount", amount.clone()),
            ("receipt_amount", amount.clone()),
            ("invoice_amount", amount.clone()),
            ("buyer_pay_amount", amount),
            ("point_amount", "0.00".into()),
            ("subject", order.subject.clone()),
            ("gmt_create", beijing_time(trade.created_at)),
            ("gmt_payment", beijing_time(trade.paid_at?)),
            ("fund_bill_list", fund_bill_list),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
        sign_notification(&mut params, &self.config.signing_key).ok()?;
        Some(Delivery {
            url: order.notify_url.clone(),
            headers: Vec::new(),
            content_type: FORM_CONTENT_TYPE.into(),
            body: encode_form(&params).into_bytes(),
        })
    }
}

/// The order of `product` whose payer code is `code`.
fn find_code<'a>(state: &'a mut State, code: &str, product: &str) -> Result<(&'a String, &'a mut SimOrder), PayError> {
    state.orders.iter_mut().find(|(_, o)| o.code == code && o.product == product).ok_or(PayError::UnknownCode)
}

/// The trade a scan of `order`'s QR shows: created by the first scan while the QR lives.
fn scan(order: &mut SimOrder, now: DateTime<Utc>) -> Result<&mut Trade, PayError> {
    if order.trade.is_none() {
        if now >= order.qr_expires_at {
            return Err(PayError::CodeExpired);
        }
        // time_expire wins; timeout_express counts from now, the trade's creation.
        let deadline = order
            .time_expire
            .or_else(|| order.timeout_express.as_deref().and_then(|text| express_deadline(text, now)))
            .unwrap_or(now + DEFAULT_TRADE_LIFE);
        let digits: String = random_bytes::<20>().iter().map(|b| char::from(b'0' + b % 10)).collect();
        order.trade = Some(Trade {
            // 28 digits: the Beijing date, then Alipay's fixed-looking middle, then a serial.
            trade_no: format!("{}22001{}", shanghai_date(now).format("%Y%m%d"), &digits[..15]),
            buyer_id: format!("2088{}", &digits[8..20]),
            buyer_logon_id: format!("159******{}", &digits[..2]),
            created_at: now,
            deadline,
            paid_at: None,
            closed: false,
            refunds: Vec::new(),
        });
    }
    order.trade.as_mut().ok_or(PayError::UnknownCode)
}

/// `90m`, `4h`, `15d` (whole numbers, 1 minute to 15 days) or `1c` (the end of today, Beijing)
/// after `from`.
fn express_deadline(text: &str, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if text == "1c" {
        let tomorrow = shanghai_date(from).checked_add_days(Days::new(1))?;
        return Some(SHANGHAI.from_local_datetime(&tomorrow.and_time(NaiveTime::MIN)).single()?.with_timezone(&Utc));
    }
    let (number, minutes_per_unit) = [('m', 1), ('h', 60), ('d', 24 * 60)]
        .into_iter()
        .find_map(|(unit, per)| Some((text.strip_suffix(unit)?, per)))?;
    if number.is_empty() || number.len() > 6 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let minutes = number.parse::<i64>().ok()? * minutes_per_unit;
    (1..=15 * 24 * 60).contains(&minutes).then(|| from + Duration::minutes(minutes))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // A failing system RNG leaves zeros: ids in a simulator, never secrets.
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::alipay::protocol::parse_beijing_time;

    #[test]
    fn expiry_spans_are_whole_units_from_one_minute_to_fifteen_days() {
        let from = parse_beijing_time("2026-11-21 22:30:00").expect("time");
        assert_eq!(express_deadline("90m", from), Some(from + Duration::minutes(90)));
        assert_eq!(express_deadline("4h", from), Some(from + Duration::hours(4)));
        assert_eq!(express_deadline("15d", from), Some(from + Duration::days(15)));
        assert_eq!(express_deadline("1c", from), parse_beijing_time("2026-11-22 00:00:00"));
        for bad in ["0m", "16d", "1.5h", "h", "90", "-5m", "2c", "９0m"] {
            assert_eq!(express_deadline(bad, from), None, "{bad}");
        }
    }

    #[test]
    fn merchants_are_answered_only_by_exactly_success() {
        assert!(AlipaySim::accepts(200, b"success"));
        for (status, body) in [(200, &b"success\n"[..]), (200, b"SUCCESS"), (200, b"fail"), (500, b"success")] {
            assert!(!AlipaySim::accepts(status, body), "{status} {body:?}");
        }
        let total: u64 = AlipaySim::RETRY_SCHEDULE.iter().map(|d| d.as_secs()).sum();
        assert_eq!(total, 24 * 3600 + 24 * 60, "eight sends over about 25 hours");
    }
}
