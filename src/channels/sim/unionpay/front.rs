//! Mobile web payment (手机网页支付): the payer's browser posts the merchant's signed form to
//! `/gateway/api/frontTransReq.do` and gets UnionPay's cashier. The form is checked as a back-end
//! request is (the merchant's signature, `txnTime` now, an `orderId` not reused with other fields)
//! and as a gateway payment (`txnType 01`, `txnSubType 01`, `bizType 000201`, `channelType 08` or
//! `07`, `frontUrl` and `backUrl`, `payTimeout` ahead). Paying sends the back notification; the
//! success page's "返回商户" (return to merchant) posts the same signed fields to `frontUrl`, as
//! UnionPay's page does when the payer taps it. A refusal is UnionPay's error page.

use super::{
    Refusal, SimOrder, UnionpaySim, amount, back_url, biz_type, commodity_name, fingerprint, order_id, pay_timeout,
    random_digits, required, transaction_kind,
};
use crate::channels::sim::{CodeForm, PayError, SimPayment, Simulator, cashier_page, escape, hidden_inputs, html_page};
use crate::channels::unionpay::protocol::{BIZ_GATEWAY, Fields, code, parse_form};
use crate::domain::Fen;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

/// The cashier's Pay button posts here.
pub(super) const PAY_PATH: &str = "/sim/unionpay/front/pay";

/// `txnSubType` of a consumption through the gateway's cashier.
const CASHIER_CONSUMPTION: &str = "01";

/// An opened cashier: the order's pay code and what the page shows.
struct Cashier {
    pay_code: String,
    description: String,
    amount: Fen,
}

impl UnionpaySim {
    /// The payer's browser posts the form; the gateway opens the cashier (or refuses).
    fn open_cashier(&self, request: &Fields) -> Result<Cashier, Refusal> {
        self.authenticate(request)?;
        let now = self.clock.now();
        if transaction_kind(request) != ("01", CASHIER_CONSUMPTION) {
            return Err((code::FORMAT_ERROR, "交易类型不支持".into()));
        }
        let biz_type = biz_type(request, &[BIZ_GATEWAY])?;
        if !["07", "08"].contains(&required(request, "channelType")?) {
            return Err((code::FORMAT_ERROR, "channelType不正确".into()));
        }
        let order_id = order_id(request)?;
        let txn_time = self.fresh_txn_time(request, now)?;
        let amount = amount(request)?;
        let back_url = back_url(request)?;
        let front_url = required(request, "frontUrl")?;
        if !front_url.starts_with("http") {
            return Err((code::FORMAT_ERROR, "frontUrl格式错误".into()));
        }
        let order = SimOrder {
            txn_sub_type: CASHIER_CONSUMPTION,
            biz_type,
            front_url: Some(front_url.to_owned()),
            fingerprint: fingerprint(request),
            txn_time: txn_time.to_owned(),
            amount,
            description: commodity_name(request),
            pay_timeout: pay_timeout(request, now)?,
            back_url: back_url.to_owned(),
            pay_code: random_digits(24),
            payment: None,
        };
        let description = order.description.clone();
        let pay_code = self.book_order(order_id, order)?;
        Ok(Cashier { pay_code, description, amount: Fen(amount) })
    }

    /// The payer opens the cashier of a mobile web form and pays at once (`POST /sim/pay` with
    /// the form): what the gateway would refuse is refused.
    pub fn pay_front(&self, request: &Fields) -> Result<SimPayment, PayError> {
        let cashier = self.open_cashier(request).map_err(|(_, message)| PayError::Refused(message))?;
        self.pay_order(&cashier.pay_code, CASHIER_CONSUMPTION).map(|(payment, _)| payment)
    }

    /// Where "return to merchant" posts, for the order behind `pay_code`.
    fn front_url(&self, pay_code: &str) -> Option<String> {
        self.book().orders.values().find(|order| order.pay_code == pay_code)?.front_url.clone()
    }
}

/// `POST /gateway/api/frontTransReq.do`, from the payer's browser.
pub(super) async fn front_trans(sim: web::Data<Simulator>, body: web::Bytes) -> HttpResponse {
    let Some(unionpay) = sim.unionpay.as_ref() else { return HttpResponse::NotFound().finish() };
    let opened = parse_form(&body)
        .map_err(|e| (code::FORMAT_ERROR, format!("报文格式错误：{e}")))
        .and_then(|request| unionpay.open_cashier(&request));
    match opened {
        Ok(cashier) => {
            let fields = [("code", cashier.pay_code.as_str())];
            cashier_page("云闪付 UnionPay", &cashier.description, cashier.amount, PAY_PATH, &fields, "")
        }
        Err((resp_code, message)) => {
            let body = format!("<p id=\"message\">{}</p><p>应答码 {resp_code}</p>", escape(&message));
            html_page(StatusCode::OK, "银联在线支付", &body)
        }
    }
}

/// The cashier's Pay button: pays, sends the back notification, and shows the success page whose
/// "return to merchant" posts the signed result to `frontUrl`.
pub(super) async fn pay(sim: web::Data<Simulator>, form: web::Form<CodeForm>) -> HttpResponse {
    let Some(unionpay) = sim.unionpay.as_ref() else { return HttpResponse::NotFound().finish() };
    match unionpay.pay_order(&form.code, CASHIER_CONSUMPTION) {
        Ok((payment, signed)) => {
            crate::channels::sim::notify_in_background(&sim, "unionpay", payment);
            let inputs = hidden_inputs(signed.iter().map(|(name, value)| (name.as_str(), value.as_str())));
            let front_url = unionpay.front_url(&form.code).unwrap_or_default();
            let body = format!(
                "<p id=\"paid\">支付成功 Payment successful</p><form method=\"post\" action=\"{}\">{inputs}\
                 <button id=\"return\" type=\"submit\">返回商户 Return to merchant</button></form>",
                escape(&front_url)
            );
            html_page(StatusCode::OK, "银联在线支付", &body)
        }
        Err(e) => html_page(
            StatusCode::CONFLICT,
            "银联在线支付",
            &format!("<p id=\"message\">{}</p>", escape(&e.to_string())),
        ),
    }
}
