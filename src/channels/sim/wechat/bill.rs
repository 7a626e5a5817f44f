//! The simulated trade bill. `GET /v3/bill/tradebill` answers, for a Beijing day that has ended
//! (bills are T+1) and lies within the last three months, where to download that day's ALL bill
//! and its SHA1. The download URL is served here too: it takes a signed GET like every call,
//! answers unsigned like WeChat's, and lives five minutes on the simulator's clock. The file lists
//! the day's payments and the refunds asked for that day, then a summary that adds them up.

use super::refunds::SimRefund;
use super::{SimOrder, SimState, WechatSim};
use crate::channels::sim::Simulator;
use crate::channels::wechat::bill::{BillMeta, DetailLine, SummaryLine, bill_time, column, format_bill, sha1_hex};
use crate::channels::wechat::protocol::nonce;
use crate::domain::Fen;
use crate::domain::time::shanghai_date;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use serde::Deserialize;

pub(super) const DOWNLOAD_PATH: &str = "/v3/billdownload/file";
/// Newer WeChat documents give a download URL five minutes (older ones said 30 seconds).
const DOWNLOAD_URL_LIFE: Duration = Duration::minutes(5);
/// Bills are kept for three months.
const BILL_HISTORY: Months = Months::new(3);
/// The simulator's one payer, as the bill's 用户标识 (openid) shows them.
const PAYER_OPENID: &str = "oSimulatedPayer000000000000";
/// The simulated merchant's fee: 0.60 %, rounded to the fen, printed with five decimals.
const FEE_BASIS_POINTS: i64 = 60;
const FEE_RATE: &str = "0.60%";

/// A bill file waiting behind a download token.
#[derive(Debug)]
pub(super) struct BillDownload {
    file: Vec<u8>,
    expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct TradeBillQuery {
    bill_date: String,
    bill_type: Option<String>,
    tar_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DownloadQuery {
    token: String,
}

impl WechatSim {
    /// `day`'s ALL bill as of now, or `None` for a day without payments or refunds.
    fn trade_bill(&self, day: NaiveDate) -> Option<String> {
        let now = self.clock.now();
        let orders = self.orders();
        let refunds = self.refunds();
        // The summary's sums in fen: paid (应结 and 订单), refunded (退款 and 申请退款), fees.
        let (mut paid, mut refunded, mut fees) = (0, 0, 0);
        let mut lines: Vec<(DateTime<Utc>, DetailLine)> = Vec::new();
        for (out_trade_no, order) in orders.iter() {
            if let SimState::Paid { transaction_id, at } = &order.state
                && shanghai_date(*at) == day
            {
                let fee = (order.amount * FEE_BASIS_POINTS + 5_000) / 10_000;
                (paid, fees) = (paid + order.amount, fees + fee);
                lines.push((*at, self.payment_line(out_trade_no, transaction_id, *at, order, fee)));
            }
        }
        for (out_refund_no, refund) in refunds.iter().filter(|(_, r)| shanghai_date(r.created_at) == day) {
            let order = orders.get(&refund.out_trade_no)?;
            refunded += refund.amount;
            lines.push((refund.created_at, self.refund_line(out_refund_no, refund, order, now)));
        }
        if lines.is_empty() {
            return None;
        }
        lines.sort_by_key(|(at, _)| *at);
        let summary: SummaryLine = [
            lines.len().to_string(),
            Fen(paid).yuan_text(),
            Fen(refunded).yuan_text(),
            Fen(0).yuan_text(),
            fee_text(fees),
            Fen(paid).yuan_text(),
            Fen(refunded).yuan_text(),
        ];
        let details: Vec<DetailLine> = lines.into_iter().map(|(_, line)| line).collect();
        Some(format_bill(&details, &summary))
    }

    fn payment_line(
        &self,
        out_trade_no: &str,
        transaction_id: &str,
        at: DateTime<Utc>,
        order: &SimOrder,
        fee: i64,
    ) -> DetailLine {
        let amount = Fen(order.amount).yuan_text();
        let mut line = self.line(at, out_trade_no, transaction_id, order);
        line[column::TRADE_STATE] = "SUCCESS".into();
        line[column::SETTLEMENT_AMOUNT] = amount.clone();
        line[column::REFUND_ID] = "0".into();
        line[column::OUT_REFUND_NO] = "0".into();
        line[column::FEE] = fee_text(fee);
        line[column::ORDER_AMOUNT] = amount;
        line
    }

    /// A refund's line, on the day it was asked for, with its status as of `now` (WeChat does
    /// not update a bill once made).
    fn refund_line(&self, out_refund_no: &str, refund: &SimRefund, order: &SimOrder, now: DateTime<Utc>) -> DetailLine {
        let settled = refund.settled_at(self.config.refund_settles_after, now).is_some();
        let amount = Fen(refund.amount).yuan_text();
        let mut line = self.line(refund.created_at, &refund.out_trade_no, &refund.transaction_id, order);
        line[column::TRADE_STATE] = "REFUND".into();
        line[column::SETTLEMENT_AMOUNT] = "0.00".into();
        line[column::REFUND_ID] = refund.refund_id.clone();
        line[column::OUT_REFUND_NO] = out_refund_no.into();
        line[column::REFUND_AMOUNT] = amount.clone();
        line[column::REFUND_TYPE] = "ORIGINAL".into();
        line[column::REFUND_STATUS] = if settled { "SUCCESS" } else { "PROCESSING" }.into();
        line[column::FEE] = fee_text(0);
        line[column::ORDER_AMOUNT] = "0.00".into();
        line[column::REQUESTED_REFUND_AMOUNT] = amount;
        line
    }

    /// The fields payment and refund lines share; amounts zero, free fields empty.
    fn line(&self, at: DateTime<Utc>, out_trade_no: &str, transaction_id: &str, order: &SimOrder) -> DetailLine {
        let mut line = DetailLine::default();
        line[column::TIME] = bill_time(at);
        line[column::APPID] = self.config.appid.clone();
        line[column::MCHID] = self.config.mchid.clone();
        line[column::SUB_MCHID] = "0".into();
        line[column::TRANSACTION_ID] = transaction_id.into();
        line[column::OUT_TRADE_NO] = out_trade_no.into();
        line[column::OPENID] = PAYER_OPENID.into();
        line[column::TRADE_TYPE] = "NATIVE".into();
        line[column::BANK] = "OTHERS".into();
        line[column::CURRENCY] = "CNY".into();
        for at in [
            column::SETTLEMENT_AMOUNT,
            column::COUPON_AMOUNT,
            column::REFUND_AMOUNT,
            column::RECHARGE_REFUND_AMOUNT,
            column::ORDER_AMOUNT,
            column::REQUESTED_REFUND_AMOUNT,
        ] {
            line[at] = "0.00".into();
        }
        line[column::GOODS] = order.description.clone();
        line[column::FEE_RATE] = FEE_RATE.into();
        line
    }
}

/// A fee in fen as the bill prints fees: yuan with five decimals.
fn fee_text(fen: i64) -> String {
    format!("{}000", Fen(fen).yuan_text())
}

pub(super) async fn apply(sim: web::Data<Simulator>, req: HttpRequest) -> HttpResponse {
    let Some(sim) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    if let Err(refused) = sim.authenticate(&req, b"") {
        return refused;
    }
    let bad = |message: &str| sim.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", message);
    let Ok(query) = web::Query::<TradeBillQuery>::from_query(req.query_string()) else {
        return bad("bill_date缺失");
    };
    // The simulator makes the uncompressed ALL bill only; it refuses what it cannot make.
    if query.bill_type.as_deref().is_some_and(|t| t != "ALL") || query.tar_type.is_some() {
        return bad("模拟器只提供不压缩的ALL账单");
    }
    let Ok(day) = NaiveDate::parse_from_str(&query.bill_date, "%Y-%m-%d") else {
        return bad("bill_date格式应为yyyy-MM-dd");
    };
    let now = sim.clock.now();
    let today = shanghai_date(now);
    if day >= today {
        // WeChat Pay documents NO_STATEMENT_EXIST and STATEMENT_CREATING for bills without saying
        // which answers a day not over yet; NO_STATEMENT_EXIST ("no such bill") is the choice.
        return sim.error(StatusCode::BAD_REQUEST, "NO_STATEMENT_EXIST", "账单尚未生成");
    }
    if today.checked_sub_months(BILL_HISTORY).is_none_or(|oldest| day < oldest) {
        // A well-formed date against a business rule: WeChat's INVALID_REQUEST.
        return sim.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "仅支持三个月内的账单下载申请");
    }
    let Some(file) = sim.trade_bill(day) else {
        // WeChat makes no bill for a day without transactions.
        return sim.error(StatusCode::BAD_REQUEST, "NO_STATEMENT_EXIST", "账单文件不存在");
    };
    let token = nonce();
    let hash_value = sha1_hex(file.as_bytes());
    let mut bills = sim.bills();
    bills.retain(|_, bill| now < bill.expires_at);
    bills.insert(token.clone(), BillDownload { file: file.into_bytes(), expires_at: now + DOWNLOAD_URL_LIFE });
    drop(bills);
    let connection = req.connection_info();
    let download_url = format!("{}://{}{DOWNLOAD_PATH}?token={token}", connection.scheme(), connection.host());
    sim.json(&BillMeta { hash_type: "SHA1".into(), hash_value, download_url })
}

pub(super) async fn download(sim: web::Data<Simulator>, req: HttpRequest) -> HttpResponse {
    let Some(sim) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    if let Err(refused) = sim.authenticate(&req, b"") {
        return refused;
    }
    let Ok(query) = web::Query::<DownloadQuery>::from_query(req.query_string()) else {
        return sim.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "token缺失");
    };
    let now = sim.clock.now();
    let file = sim.bills().get(&query.token).filter(|bill| now < bill.expires_at).map(|bill| bill.file.clone());
    match file {
        // The file itself is not signed: its SHA1 came in the signed answer.
        Some(file) => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(file),
        // WeChat's code for a stale link is not documented; the link is a request it no longer takes.
        None => sim.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "下载链接已失效"),
    }
}
