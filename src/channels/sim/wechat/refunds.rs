//! The simulated refund API. A paid order, named by `out_trade_no` or `transaction_id`, is
//! refunded once per `out_refund_no`: a repeat with the same parameters answers the same refund,
//! one with other parameters is refused. Refunds never take back more than was paid; each is
//! PROCESSING when accepted and SUCCESS once `refund_settles_after` has passed on the clock.

use super::{SimState, WechatSim, random_digits};
use crate::channels::sim::Simulator;
use crate::channels::wechat::protocol::{Refund, RefundAmount};
use crate::domain::time::rfc3339;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

/// WeChat refunds an order at most 50 times, and only within a year of payment.
const MAX_REFUNDS_PER_ORDER: usize = 50;
const REFUND_WINDOW: Duration = Duration::days(365);

#[derive(Debug, Clone)]
pub(super) struct SimRefund {
    pub(super) refund_id: String,
    pub(super) out_trade_no: String,
    pub(super) transaction_id: String,
    /// The order's amount and this refund's, in fen.
    pub(super) total: i64,
    pub(super) amount: i64,
    pub(super) created_at: DateTime<Utc>,
}

impl SimRefund {
    /// When the refund reached the payer, if it has by `now`.
    pub(super) fn settled_at(&self, settles_after: Duration, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let at = self.created_at + settles_after;
        (now >= at).then_some(at)
    }
}

#[derive(Debug, Deserialize)]
struct RefundBody {
    transaction_id: Option<String>,
    out_trade_no: Option<String>,
    out_refund_no: String,
    #[serde(default)]
    reason: String,
    amount: RefundBodyAmount,
}

#[derive(Debug, Deserialize)]
struct RefundBodyAmount {
    refund: i64,
    total: i64,
    currency: String,
}

/// Why a refund is refused: status, WeChat's code, message.
type Refusal = (StatusCode, &'static str, &'static str);

fn valid_out_refund_no(no: &str) -> bool {
    (1..=64).contains(&no.len()) && no.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b))
}

impl WechatSim {
    /// Accepts a refund, or answers the refund already made under its number.
    fn accept_refund(&self, body: &RefundBody) -> Result<SimRefund, Refusal> {
        let invalid = |message| (StatusCode::BAD_REQUEST, "INVALID_REQUEST", message);
        let now = self.clock.now();
        let mut orders = self.orders();
        let mut refunds = self.refunds();
        let named_by = |refund: &SimRefund| {
            body.out_trade_no.as_ref().is_none_or(|no| *no == refund.out_trade_no)
                && body.transaction_id.as_ref().is_none_or(|id| *id == refund.transaction_id)
        };
        if let Some(earlier) = refunds.get(&body.out_refund_no) {
            let same = named_by(earlier) && earlier.amount == body.amount.refund && earlier.total == body.amount.total;
            return if same {
                Ok(earlier.clone())
            } else {
                Err(invalid("商户退款单号重复，参数与原退款单不一致"))
            };
        }
        let not_found = (StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "订单不存在");
        let out_trade_no = match (&body.out_trade_no, &body.transaction_id) {
            (Some(out_trade_no), _) => out_trade_no.clone(),
            (None, Some(id)) => orders
                .iter()
                .find(
                    |(_, order)| matches!(&order.state, SimState::Paid { transaction_id, .. } if transaction_id == id),
                )
                .map(|(out_trade_no, _)| out_trade_no.clone())
                .ok_or(not_found)?,
            (None, None) => {
                return Err((StatusCode::BAD_REQUEST, "PARAM_ERROR", "transaction_id和out_trade_no必须二选一"));
            }
        };
        let order = orders.get_mut(&out_trade_no).ok_or(not_found)?;
        let SimState::Paid { transaction_id, at: paid_at } = &order.state else {
            return Err(invalid("订单未支付，不能退款"));
        };
        if body.transaction_id.as_ref().is_some_and(|id| id != transaction_id) {
            return Err(invalid("transaction_id与out_trade_no不匹配"));
        }
        if body.amount.total != order.amount {
            return Err(invalid("订单金额与原订单不一致"));
        }
        if now > *paid_at + REFUND_WINDOW {
            return Err(invalid("订单已超过可退款的最大期限"));
        }
        if refunds.values().filter(|r| r.out_trade_no == out_trade_no).count() >= MAX_REFUNDS_PER_ORDER {
            return Err(invalid("订单退款次数已达上限"));
        }
        if order.refunded + body.amount.refund > order.amount {
            return Err(invalid("申请退款金额超过订单可退金额"));
        }
        let refund = SimRefund {
            // WeChat refund ids are 29 digits starting 50.
            refund_id: format!("50{}", random_digits(27)),
            out_trade_no,
            transaction_id: transaction_id.clone(),
            total: order.amount,
            amount: body.amount.refund,
            created_at: now,
        };
        order.refunded += refund.amount;
        refunds.insert(body.out_refund_no.clone(), refund.clone());
        Ok(refund)
    }

    /// The refund as WeChat's refund and refund query answers show it now.
    fn refund_answer(&self, out_refund_no: &str, refund: &SimRefund) -> Refund {
        let settled_at = refund.settled_at(self.config.refund_settles_after, self.clock.now());
        Refund {
            refund_id: refund.refund_id.clone(),
            out_refund_no: out_refund_no.to_owned(),
            transaction_id: refund.transaction_id.clone(),
            out_trade_no: refund.out_trade_no.clone(),
            channel: "ORIGINAL".into(),
            user_received_account: "支付用户零钱".into(),
            success_time: settled_at.map(rfc3339),
            create_time: rfc3339(refund.created_at),
            status: if settled_at.is_some() { "SUCCESS" } else { "PROCESSING" }.into(),
            amount: RefundAmount {
                total: refund.total,
                refund: refund.amount,
                payer_total: refund.total,
                payer_refund: refund.amount,
                settlement_total: refund.total,
                settlement_refund: refund.amount,
                discount_refund: 0,
                currency: "CNY".into(),
            },
        }
    }
}

pub(super) async fn create(sim: web::Data<Simulator>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some(sim) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    if let Err(refused) = sim.authenticate(&req, &body) {
        return refused;
    }
    let bad = |message: &str| sim.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", message);
    let Ok(refund) = serde_json::from_slice::<RefundBody>(&body) else { return bad("请求体不是合法的JSON") };
    if !valid_out_refund_no(&refund.out_refund_no) {
        return bad("out_refund_no格式不正确");
    }
    if refund.amount.refund <= 0 || refund.amount.total <= 0 || refund.amount.currency != "CNY" {
        return bad("amount不合法");
    }
    if refund.reason.chars().count() > 80 {
        return bad("reason超过80个字符");
    }
    match sim.accept_refund(&refund) {
        Ok(accepted) => sim.json(&sim.refund_answer(&refund.out_refund_no, &accepted)),
        Err((status, code, message)) => sim.error(status, code, message),
    }
}

pub(super) async fn query(sim: web::Data<Simulator>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some(sim) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    if let Err(refused) = sim.authenticate(&req, b"") {
        return refused;
    }
    let found = sim.refunds().get(path.as_str()).cloned();
    match found {
        Some(refund) => sim.json(&sim.refund_answer(&path, &refund)),
        None => sim.error(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "退款单不存在"),
    }
}
