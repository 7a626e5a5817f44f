//! `alipay.trade.wap.pay` (手机网站支付), a page rather than an API: the payer's browser carries
//! the merchant's signed request to the gateway (GET with every parameter in the query, or a
//! posted form), and the gateway answers with its cashier. The request is checked as any gateway
//! call (app, signature, timestamp) and as an order (number, amount, subject, `QUICK_WAP_WAY`,
//! `time_expire` in the future); the trade exists from the cashier's first opening. Paying sends
//! the asynchronous notification and the browser to `return_url` with the synchronous return's
//! parameters (`method=alipay.trade.wap.pay.return`, no `trade_status`), signed as notifications
//! are; quitting goes to `quit_url`. A refusal is Alipay's error page, not a JSON answer.

use super::gateway::{Refusal, biz, check_order, check_time_expire, read_params};
use super::{AlipaySim, DEFAULT_TRADE_LIFE, SimOrder, random_bytes, scan};
use crate::channels::alipay::protocol::{
    CHARSET, Params, QUICK_WAP_WAY, SIGN_TYPE, VERSION, WAP_PAY, WAP_PAY_RETURN, WapPayBiz, beijing_time, codes,
    encode_form, sign_notification, status,
};
use crate::channels::sim::{CodeForm, PayError, SimPayment, Simulator, escape, html_page};
use crate::domain::Fen;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use data_encoding::HEXLOWER;

/// The cashier's Pay button posts here.
pub(super) const PAY_PATH: &str = "/sim/alipay/wap/pay";

/// A cashier opened: the order's payer code and what the page shows.
struct Cashier {
    code: String,
    subject: String,
    amount: Fen,
    quit_url: Option<String>,
}

impl AlipaySim {
    /// The gateway's answer to a wap.pay request: the cashier, or Alipay's error page.
    pub(super) fn wap_page(&self, params: &Params) -> HttpResponse {
        match self.open_wap(params) {
            Ok(cashier) => cashier_page(&cashier),
            Err(refusal) => error_page(&refusal),
        }
    }

    /// The payer opens the cashier of a wap.pay request — its query string and form body, as
    /// the browser carries them — and pays at once (`POST /sim/pay` with the redirect URL or the
    /// form): what the cashier would refuse is refused.
    pub fn pay_wap(&self, query: &[u8], body: &[u8]) -> Result<SimPayment, PayError> {
        let refused = |refusal: Refusal| PayError::Refused(refusal.sub_msg);
        let params = read_params(query, body).map_err(refused)?;
        if params.get("method").map(String::as_str) != Some(WAP_PAY) {
            return Err(PayError::UnknownCode);
        }
        let cashier = self.open_wap(&params).map_err(refused)?;
        self.pay_order(&cashier.code, QUICK_WAP_WAY)
    }

    /// Checks a wap.pay request and opens (or reopens) its trade.
    fn open_wap(&self, params: &Params) -> Result<Cashier, Refusal> {
        self.authenticate(params)?;
        let now = self.clock.now();
        let biz: WapPayBiz = biz(params)?;
        let (notify_url, amount) =
            check_order(&biz.out_trade_no, &biz.total_amount, &biz.subject, params.get("notify_url"))?;
        if biz.product_code != QUICK_WAP_WAY {
            return Err(Refusal::bad_parameter("product_code"));
        }
        let time_expire = check_time_expire(biz.time_expire.as_deref(), now)?;
        let return_url = params.get("return_url").filter(|url| url.starts_with("http")).cloned();
        let fingerprint = format!(
            "{}|{notify_url}|{}",
            serde_json::to_string(&biz).map_err(|_| Refusal::system())?,
            return_url.as_deref().unwrap_or_default()
        );
        let mut state = self.state();
        let order = state.orders.entry(biz.out_trade_no.clone()).or_insert_with(|| SimOrder {
            product: QUICK_WAP_WAY,
            fingerprint: fingerprint.clone(),
            subject: biz.subject.clone(),
            amount,
            notify_url,
            code: HEXLOWER.encode(&random_bytes::<12>()),
            qr_expires_at: time_expire.unwrap_or(now + DEFAULT_TRADE_LIFE),
            time_expire,
            timeout_express: None,
            return_url,
            trade: None,
        });
        if order.fingerprint != fingerprint {
            return Err(Refusal::business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改"));
        }
        let trade = scan(order, now).map_err(|_| Refusal::business("ACQ.TRADE_HAS_CLOSE", "订单已超时"))?;
        match trade.status(now) {
            status::WAIT_BUYER_PAY => {}
            paid if status::is_paid(paid) => return Err(Refusal::business(codes::TRADE_HAS_SUCCESS, "交易已被支付")),
            _ => return Err(Refusal::business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")),
        }
        Ok(Cashier { code: order.code.clone(), subject: order.subject.clone(), amount, quit_url: biz.quit_url })
    }

    /// Where the cashier sends the payer after paying the order of `out_trade_no`: its
    /// `return_url` with the synchronous return's parameters, signed. None without a `return_url`.
    fn return_location(&self, out_trade_no: &str) -> Option<String> {
        let state = self.state();
        let order = state.orders.get(out_trade_no)?;
        let return_url = order.return_url.as_deref()?;
        let trade = order.trade.as_ref()?;
        let mut params: Params = [
            ("charset", CHARSET.to_owned()),
            ("out_trade_no", out_trade_no.to_owned()),
            ("method", WAP_PAY_RETURN.to_owned()),
            ("total_amount", order.amount.yuan_text()),
            ("trade_no", trade.trade_no.clone()),
            ("auth_app_id", self.config.app_id.clone()),
            ("version", VERSION.to_owned()),
            ("app_id", self.config.app_id.clone()),
            ("sign_type", SIGN_TYPE.to_owned()),
            ("seller_id", self.config.seller_id.clone()),
            ("timestamp", beijing_time(self.clock.now())),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
        sign_notification(&mut params, &self.config.signing_key).ok()?;
        let separator = if return_url.contains('?') { '&' } else { '?' };
        Some(format!("{return_url}{separator}{}", encode_form(&params)))
    }
}

fn cashier_page(cashier: &Cashier) -> HttpResponse {
    let quit = cashier
        .quit_url
        .as_deref()
        .map(|url| format!("<p><a id=\"quit\" href=\"{}\">放弃付款 Quit</a></p>", escape(url)))
        .unwrap_or_default();
    let fields = [("code", cashier.code.as_str())];
    crate::channels::sim::cashier_page("支付宝 Alipay", &cashier.subject, cashier.amount, PAY_PATH, &fields, &quit)
}

/// Alipay's error page for a page request it refuses.
fn error_page(refusal: &Refusal) -> HttpResponse {
    let body = format!(
        "<h1>支付宝 Alipay (simulated)</h1><p id=\"message\">{}</p><p>错误代码 {}</p>",
        escape(&refusal.sub_msg),
        escape(refusal.sub_code)
    );
    html_page(StatusCode::OK, "支付宝", &body)
}

/// The cashier's Pay button: pays, notifies, and sends the browser to `return_url`.
pub(super) async fn pay(sim: web::Data<Simulator>, form: web::Form<CodeForm>) -> HttpResponse {
    let Some(alipay) = sim.alipay.as_ref() else { return HttpResponse::NotFound().finish() };
    match alipay.pay_order(&form.code, QUICK_WAP_WAY) {
        Ok(payment) => {
            let location = alipay.return_location(&payment.out_trade_no);
            crate::channels::sim::notify_in_background(&sim, "alipay", payment);
            match location {
                Some(location) => HttpResponse::SeeOther().insert_header(("Location", location)).finish(),
                None => html_page(StatusCode::OK, "支付宝", "<p id=\"paid\">支付成功 Payment successful</p>"),
            }
        }
        Err(e) => {
            html_page(StatusCode::CONFLICT, "支付宝", &format!("<p id=\"message\">{}</p>", escape(&e.to_string())))
        }
    }
}
