//! finepay's Alipay Face-to-Face client: precreate with an explicit QR expiry at the fine's window
//! end, query and close (where "trade does not exist" means the payer never scanned), refunds by
//! `out_request_no`, the payment notification — verified over the raw form before anything in it
//! is read — and the daily trade bill. Every answer's signature is checked over its raw text.

use super::bill::read_bill_zip;
use super::protocol::{AnswerError, Params};
use super::protocol::{
    BILL_URL_QUERY, BillUrlAnswer, BillUrlBiz, CHARSET, CLOSE, FACE_TO_FACE, FORM_CONTENT_TYPE, FORMAT, NOTIFY_ACK,
    NOTIFY_TYPE, Outcome, PRECREATE, PrecreateAnswer, PrecreateBiz, QUERY, QUICK_WAP_WAY, REFUND, REFUND_QUERY,
    RefundAnswer, RefundBiz, RefundQueryAnswer, RefundQueryBiz, SIGN_TYPE, TradeAnswer, TradeRef, VERSION, WAP_PAY,
    WapPayBiz, beijing_time, codes, encode_form, notification_is_signed_by, parse_beijing_time, parse_form,
    response_root, sign_request, split_answer, status,
};
use crate::channels::crypto::{RsaPublicKey, RsaSigningKey};
use crate::channels::{
    ChannelError, ChannelKind, ChannelPayment, CloseOutcome, CreatedOrder, Inbound, NotifyError, OrderRef,
    OrderRequest, OrderStatus, PaymentChannel, RefundRequest, RefundStatus, Reply, Start, Started, StatementLine,
};
use crate::domain::Fen;
use crate::domain::time::Clock;
use crate::errors::Why;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

pub struct AlipayConfig {
    /// The gateway itself, e.g. `https://openapi.alipay.com/gateway.do`.
    pub gateway_url: String,
    pub app_id: String,
    /// The merchant's Alipay user id (`2088…`), which notifications carry as `seller_id`.
    pub seller_id: String,
    /// The app's private key: it signs requests (RSA2).
    pub app_private_key: RsaSigningKey,
    /// The Alipay public key — not the app's own public key — that answers and notifications
    /// are verified with.
    pub alipay_public_key: RsaPublicKey,
    pub notify_url: String,
}

pub struct AlipayClient {
    config: AlipayConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

/// `qr_code_timeout_express` accepts 1 minute to 15 days, in whole units.
const QR_EXPRESS_MINUTES: std::ops::RangeInclusive<i64> = 1..=15 * 24 * 60;

impl AlipayClient {
    pub fn new(config: AlipayConfig, clock: Arc<dyn Clock>, timeout: Duration) -> Result<Self, ChannelError> {
        Ok(AlipayClient { config, http: crate::channels::http_client(timeout)?, clock })
    }

    /// `alipay.trade.wap.pay`, a page-redirect API: signed here, carried by the payer's browser to
    /// the gateway as a GET (all parameters in the query, as the SDKs' `pageExecute(…, "GET")`),
    /// where Alipay's cashier (or its app, if installed) takes the payment. The trade's expiry is
    /// absolute at `pay_by`; a repeat, for the same order, is the same trade to Alipay.
    pub fn start_wap(&self, order: &OrderRequest, return_url: &str, quit_url: &str) -> Result<String, ChannelError> {
        let biz = WapPayBiz {
            out_trade_no: order.out_trade_no.clone(),
            total_amount: order.amount.yuan_text(),
            subject: order.description.clone(),
            product_code: QUICK_WAP_WAY.into(),
            quit_url: Some(quit_url.to_owned()),
            time_expire: Some(beijing_time(order.pay_by)),
        };
        let params =
            self.signed(WAP_PAY, &biz, &[("notify_url", &self.config.notify_url), ("return_url", return_url)])?;
        Ok(format!("{}?{}", self.config.gateway_url, encode_form(&params)))
    }

    /// Precreate: the QR's `qr_code`. No trade exists at Alipay until the payer scans it, and
    /// `timeout_express` would only count from that scan, so the QR gets its own expiry: the
    /// absolute `time_expire` (which wins) at `pay_by`, and the same span as
    /// `qr_code_timeout_express` from the first call (repeats send the same values, so a repeat
    /// is identical and returns the same code).
    pub async fn create_order(&self, order: &OrderRequest) -> Result<CreatedOrder, ChannelError> {
        let minutes = (order.pay_by - order.opened_at).num_minutes();
        let biz = PrecreateBiz {
            out_trade_no: order.out_trade_no.clone(),
            total_amount: order.amount.yuan_text(),
            subject: order.description.clone(),
            product_code: Some(FACE_TO_FACE.into()),
            qr_code_timeout_express: Some(format!(
                "{}m",
                minutes.clamp(*QR_EXPRESS_MINUTES.start(), *QR_EXPRESS_MINUTES.end())
            )),
            time_expire: Some(beijing_time(order.pay_by)),
            timeout_express: None,
        };
        let created: PrecreateAnswer = self.call(PRECREATE, &biz, Some(&self.config.notify_url)).await?;
        if created.out_trade_no != order.out_trade_no {
            return Err(ChannelError::Malformed(format!("precreate answered for {}", created.out_trade_no).into()));
        }
        Ok(CreatedOrder { pay_url: created.qr_code })
    }

    /// Before the payer scans, Alipay has no trade: `NotFound` means "not started", not an error.
    /// `Closed` covers a full refund too (Alipay closes a fully refunded trade).
    pub async fn query(&self, out_trade_no: &str) -> Result<OrderStatus, ChannelError> {
        let trade = match self.call::<TradeAnswer>(QUERY, &by_out_trade_no(out_trade_no), None).await {
            Err(ChannelError::Refused { code, .. }) if code == codes::TRADE_NOT_EXIST => {
                return Ok(OrderStatus::NotFound);
            }
            other => other?,
        };
        if trade.out_trade_no != out_trade_no {
            return Err(ChannelError::Malformed(format!("query answered for {}", trade.out_trade_no).into()));
        }
        match trade.trade_status.as_str() {
            status::WAIT_BUYER_PAY => Ok(OrderStatus::Open),
            status::TRADE_CLOSED => Ok(OrderStatus::Closed),
            paid if status::is_paid(paid) => {
                let paid_at = trade.send_pay_date.as_deref().unwrap_or_default();
                Ok(OrderStatus::Paid(ChannelPayment {
                    out_trade_no: trade.out_trade_no.clone(),
                    channel_txn_id: trade.trade_no.clone(),
                    amount: yuan(&trade.total_amount).map_err(|e| ChannelError::Malformed(e.into()))?,
                    paid_at: parse_beijing_time(paid_at).ok_or_else(|| {
                        ChannelError::Malformed(format!("a paid trade with send_pay_date {paid_at:?}").into())
                    })?,
                }))
            }
            other => Err(ChannelError::Malformed(format!("trade_status {other}").into())),
        }
    }

    /// Closing a trade that does not exist (never scanned) answers `NotFound`: close the order
    /// locally — the QR's own expiry is what keeps a later scan from paying it. A paid trade
    /// answers `AlreadyPaid`; Alipay may say so with `ACQ.TRADE_STATUS_ERROR`, which also covers
    /// a trade already closed, so that answer is settled by a query.
    pub async fn close(&self, out_trade_no: &str) -> Result<CloseOutcome, ChannelError> {
        #[derive(serde::Deserialize)]
        struct Closed {}
        match self.call::<Closed>(CLOSE, &by_out_trade_no(out_trade_no), None).await {
            Ok(Closed {}) => Ok(CloseOutcome::Closed),
            Err(ChannelError::Refused { code, .. }) if code == codes::TRADE_NOT_EXIST => Ok(CloseOutcome::NotFound),
            Err(ChannelError::Refused { code, .. }) if code == codes::TRADE_HAS_SUCCESS => {
                Ok(CloseOutcome::AlreadyPaid)
            }
            Err(ChannelError::Refused { status, code, message }) if code == codes::TRADE_STATUS_ERROR => {
                match self.query(out_trade_no).await? {
                    OrderStatus::Paid(_) => Ok(CloseOutcome::AlreadyPaid),
                    OrderStatus::Closed => Ok(CloseOutcome::Closed),
                    OrderStatus::NotFound => Ok(CloseOutcome::NotFound),
                    OrderStatus::Open => Err(ChannelError::Refused { status, code, message }),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Refunds by `out_request_no` = `out_refund_no`: the same number again refunds once.
    /// Alipay has no refund number of its own; the refund is known by the trade's `trade_no`
    /// and finepay's number. An answer that moved no money (`fund_change` N, as a repeat gets)
    /// is settled by a refund query.
    pub async fn refund(&self, refund: &RefundRequest) -> Result<RefundStatus, ChannelError> {
        let biz = RefundBiz {
            trade: trade_of(refund),
            refund_amount: refund.amount.yuan_text(),
            refund_reason: Some(refund.reason.clone()),
            out_request_no: Some(refund.out_refund_no.clone()),
        };
        let answer: RefundAnswer = self.call(REFUND, &biz, None).await?;
        if answer.fund_change != "Y" {
            return self.query_refund(refund).await;
        }
        let at = answer.gmt_refund_pay.as_deref().and_then(parse_beijing_time);
        let at =
            at.ok_or_else(|| ChannelError::Malformed("a refund that moved money without gmt_refund_pay".into()))?;
        Ok(RefundStatus::Succeeded { channel_refund_id: answer.trade_no, at })
    }

    pub async fn query_refund(&self, refund: &RefundRequest) -> Result<RefundStatus, ChannelError> {
        let biz = RefundQueryBiz {
            trade: trade_of(refund),
            out_request_no: refund.out_refund_no.clone(),
            query_options: vec!["gmt_refund_pay".into()],
        };
        let answer: RefundQueryAnswer = self.call(REFUND_QUERY, &biz, None).await?;
        refund_status(refund, &answer)
    }

    /// A payment notification, verified over the raw form body before anything in it is read:
    /// the notification rule (every field but `sign` and `sign_type`, URL-decoded, sorted) with
    /// the Alipay public key, then this merchant's `app_id` and `seller_id`, then a paid status.
    pub fn parse_notification(&self, body: &[u8]) -> Result<ChannelPayment, NotifyError> {
        let params = parse_form(body).map_err(|e| NotifyError::Malformed(e.into()))?;
        // Alipay carries the signature in the form; without it there is nothing to verify.
        if params.get("sign").is_none_or(String::is_empty) {
            return Err(NotifyError::MissingHeaders);
        }
        if params.get("sign_type").map(String::as_str) != Some(SIGN_TYPE) {
            return Err(NotifyError::BadSignature);
        }
        if !notification_is_signed_by(&params, &self.config.alipay_public_key) {
            return Err(NotifyError::BadSignature);
        }
        let field = |name: &str| params.get(name).map(String::as_str).filter(|value| !value.is_empty());
        let required = |name: &str| field(name).ok_or_else(|| NotifyError::Malformed(format!("no {name}").into()));
        if required("app_id")? != self.config.app_id
            || field("seller_id").is_some_and(|seller| seller != self.config.seller_id)
        {
            return Err(NotifyError::WrongMerchant);
        }
        if let Some(charset) = field("charset").filter(|charset| !charset.eq_ignore_ascii_case(CHARSET)) {
            return Err(NotifyError::Malformed(format!("charset {charset}").into()));
        }
        let notify_type = required("notify_type")?;
        if notify_type != NOTIFY_TYPE {
            return Err(NotifyError::NotPaid(format!("notify_type {notify_type}")));
        }
        let trade_status = required("trade_status")?;
        if !status::is_paid(trade_status) {
            return Err(NotifyError::NotPaid(trade_status.to_owned()));
        }
        let paid_at = required("gmt_payment")?;
        Ok(ChannelPayment {
            out_trade_no: required("out_trade_no")?.to_owned(),
            channel_txn_id: required("trade_no")?.to_owned(),
            amount: yuan(required("total_amount")?).map_err(|e| NotifyError::Malformed(e.into()))?,
            paid_at: parse_beijing_time(paid_at)
                .ok_or_else(|| NotifyError::Malformed(format!("gmt_payment {paid_at}").into()))?,
        })
    }

    /// The day's trade bill (Beijing day): its payments and refunds. Bills are ready the next
    /// day (after 10:00); the download URL lives 30 seconds, so it is fetched at once.
    pub async fn download_bill(&self, day: NaiveDate) -> Result<Vec<StatementLine>, ChannelError> {
        let url = self.bill_url(day).await?;
        self.fetch_bill(&url).await
    }

    /// The signed download URL of the day's trade bill.
    pub async fn bill_url(&self, day: NaiveDate) -> Result<String, ChannelError> {
        let biz = BillUrlBiz { bill_type: "trade".into(), bill_date: day.format("%Y-%m-%d").to_string() };
        let answer: BillUrlAnswer = self.call(BILL_URL_QUERY, &biz, None).await?;
        Ok(answer.bill_download_url)
    }

    /// Downloads and reads a bill from the URL Alipay gave (the file itself is not signed; the
    /// URL came in a verified answer).
    pub async fn fetch_bill(&self, url: &str) -> Result<Vec<StatementLine>, ChannelError> {
        let response = self.http.get(url).send().await.map_err(|e| ChannelError::Transport(Why::of(e)))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| ChannelError::Transport(Why::of(e)))?;
        if status != 200 {
            let message: String = String::from_utf8_lossy(&body).chars().take(200).collect();
            return Err(ChannelError::Refused { status, code: "BILL_DOWNLOAD".into(), message });
        }
        read_bill_zip(&body)
    }

    /// The gateway parameters of a call to `method` with `biz` and the common parameters `extra`,
    /// signed with the app's key (RSA2).
    fn signed(&self, method: &str, biz: &impl Serialize, extra: &[(&str, &str)]) -> Result<Params, ChannelError> {
        let biz_content = serde_json::to_string(biz).map_err(|e| ChannelError::Malformed(Why::of(e)))?;
        let mut params: Params = [
            ("app_id", self.config.app_id.as_str()),
            ("method", method),
            ("format", FORMAT),
            ("charset", CHARSET),
            ("sign_type", SIGN_TYPE),
            ("version", VERSION),
            ("biz_content", &biz_content),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
        params.insert("timestamp".into(), beijing_time(self.clock.now()));
        sign_request(&mut params, &self.config.app_private_key).map_err(|e| ChannelError::Transport(Why::of(e)))?;
        Ok(params)
    }

    /// Signs, sends and verifies one gateway call; `T` is read from the verified response member.
    /// Gateway answers other than `10000` become `Refused` with their `sub_code`.
    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        biz: &impl Serialize,
        notify_url: Option<&str>,
    ) -> Result<T, ChannelError> {
        let extra: Vec<(&str, &str)> = notify_url.map(|url| ("notify_url", url)).into_iter().collect();
        let params = self.signed(method, biz, &extra)?;

        let response = self
            .http
            .post(&self.config.gateway_url)
            .header("Content-Type", FORM_CONTENT_TYPE)
            .header("User-Agent", "finepay")
            .body(encode_form(&params))
            .send()
            .await
            .map_err(|e| ChannelError::Transport(Why::of(e)))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| ChannelError::Transport(Why::of(e)))?;
        // The gateway answers 200 even for refusals; anything else did not come from it.
        if status != 200 {
            return Err(ChannelError::Transport(format!("the gateway answered HTTP {status}").into()));
        }
        let text = std::str::from_utf8(&body).map_err(|_| ChannelError::Malformed("the answer is not UTF-8".into()))?;
        let answer = split_answer(text, &response_root(method)).map_err(|e| match e {
            AnswerError::Repeated(_) => ChannelError::Unverified(Why::of(e)),
            _ => ChannelError::Malformed(Why::of(e)),
        })?;
        let sign = answer.sign.ok_or_else(|| ChannelError::Unverified("the answer is not signed".into()))?;
        if !self.config.alipay_public_key.verify_base64(answer.content.as_bytes(), &sign) {
            return Err(ChannelError::Unverified("the answer's signature does not verify".into()));
        }
        let outcome: Outcome = serde_json::from_str(answer.content).map_err(|e| ChannelError::Malformed(Why::of(e)))?;
        if outcome.code != codes::SUCCESS {
            return Err(ChannelError::Refused {
                status,
                code: outcome.sub_code.clone().unwrap_or_else(|| outcome.code.clone()),
                message: format!("{} {}: {}", outcome.code, outcome.msg, outcome.sub_msg.unwrap_or_default()),
            });
        }
        serde_json::from_str(answer.content).map_err(|e| ChannelError::Malformed(Why::of(e)))
    }
}

fn by_out_trade_no(out_trade_no: &str) -> TradeRef {
    TradeRef { out_trade_no: Some(out_trade_no.to_owned()), trade_no: None }
}

fn trade_of(refund: &RefundRequest) -> TradeRef {
    TradeRef {
        out_trade_no: Some(refund.out_trade_no.clone()),
        trade_no: Some(refund.channel_txn_id.clone()).filter(|no| !no.is_empty()),
    }
}

fn yuan(text: &str) -> Result<Fen, String> {
    Fen::parse_yuan(text).ok_or_else(|| format!("amount {text:?}"))
}

/// A refund query's answer as a state. Alipay answers success with no refund in it when it has
/// none by that number (the refund never arrived, or failed), and leaves `refund_status` out
/// while the refund is not done.
fn refund_status(refund: &RefundRequest, answer: &RefundQueryAnswer) -> Result<RefundStatus, ChannelError> {
    if answer.out_request_no.as_deref() != Some(refund.out_refund_no.as_str()) {
        return Ok(RefundStatus::Failed(format!("Alipay holds no refund {}", refund.out_refund_no)));
    }
    if let Some(amount) = answer.refund_amount.as_deref() {
        let amount = yuan(amount).map_err(|e| ChannelError::Malformed(e.into()))?;
        if amount != refund.amount {
            return Ok(RefundStatus::Failed(format!("Alipay refunded {amount}, not {}", refund.amount)));
        }
    }
    match answer.refund_status.as_deref() {
        None | Some("") => Ok(RefundStatus::Processing),
        Some(status::REFUND_SUCCESS) => {
            let at: Option<DateTime<Utc>> = answer.gmt_refund_pay.as_deref().and_then(parse_beijing_time);
            let at = at.ok_or_else(|| ChannelError::Malformed("a done refund without gmt_refund_pay".into()))?;
            let channel_refund_id = answer.trade_no.clone().unwrap_or_else(|| refund.channel_txn_id.clone());
            Ok(RefundStatus::Succeeded { channel_refund_id, at })
        }
        Some(other) => Ok(RefundStatus::Failed(other.to_owned())),
    }
}

impl PaymentChannel for AlipayClient {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Alipay
    }

    fn start<'a>(&'a self, order: &'a OrderRequest, how: &'a Start) -> BoxFuture<'a, Result<Started, ChannelError>> {
        Box::pin(async move {
            match how {
                Start::Qr => Ok(Started::Qr(AlipayClient::create_order(self, order).await?.pay_url)),
                Start::Wap { return_url, quit_url } => {
                    Ok(Started::Redirect(self.start_wap(order, return_url, quit_url)?))
                }
                other => Err(crate::channels::no_such_flow(self.kind(), other.flow())),
            }
        })
    }

    fn query<'a>(&'a self, order: &'a OrderRef) -> BoxFuture<'a, Result<OrderStatus, ChannelError>> {
        Box::pin(AlipayClient::query(self, &order.out_trade_no))
    }

    fn close<'a>(&'a self, order: &'a OrderRef) -> BoxFuture<'a, Result<CloseOutcome, ChannelError>> {
        Box::pin(AlipayClient::close(self, &order.out_trade_no))
    }

    fn refund<'a>(&'a self, refund: &'a RefundRequest) -> BoxFuture<'a, Result<RefundStatus, ChannelError>> {
        Box::pin(AlipayClient::refund(self, refund))
    }

    fn query_refund<'a>(&'a self, refund: &'a RefundRequest) -> BoxFuture<'a, Result<RefundStatus, ChannelError>> {
        Box::pin(AlipayClient::query_refund(self, refund))
    }

    fn statement(&self, day: NaiveDate) -> BoxFuture<'_, Result<Vec<StatementLine>, ChannelError>> {
        Box::pin(AlipayClient::download_bill(self, day))
    }

    fn verify_notification(&self, inbound: &Inbound<'_>) -> Result<ChannelPayment, NotifyError> {
        self.parse_notification(inbound.body)
    }

    fn accepted_reply(&self) -> Reply {
        Reply { status: 200, content_type: "text/plain", body: NOTIFY_ACK.into() }
    }

    fn refused_reply(&self, _error: &NotifyError) -> Reply {
        // Alipay resends until the body is exactly `success`, whatever the status; the 400 is for
        // people and proxies reading the logs, the body is what makes Alipay try again.
        Reply { status: 400, content_type: "text/plain", body: "fail".into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refund() -> RefundRequest {
        RefundRequest {
            out_trade_no: "1101052611210000176A01".into(),
            channel_txn_id: "2026112122001412345678901234".into(),
            out_refund_no: "R1".into(),
            requested_at: Utc::now(),
            flow: crate::channels::Flow::Qr,
            paid: Fen(20000),
            amount: Fen(5000),
            reason: "撤销处罚".into(),
        }
    }

    #[test]
    fn refund_queries_map_to_states() {
        let done = RefundQueryAnswer {
            trade_no: Some("2026112122001412345678901234".into()),
            out_request_no: Some("R1".into()),
            refund_amount: Some("50.00".into()),
            refund_status: Some("REFUND_SUCCESS".into()),
            gmt_refund_pay: Some("2026-11-21 10:00:00".into()),
            ..RefundQueryAnswer::default()
        };
        let at = parse_beijing_time("2026-11-21 10:00:00").expect("time");
        let succeeded = RefundStatus::Succeeded { channel_refund_id: "2026112122001412345678901234".into(), at };
        assert_eq!(refund_status(&refund(), &done), Ok(succeeded));
        let pending = RefundQueryAnswer { refund_status: None, ..done.clone() };
        assert_eq!(refund_status(&refund(), &pending), Ok(RefundStatus::Processing));
        assert!(matches!(refund_status(&refund(), &RefundQueryAnswer::default()), Ok(RefundStatus::Failed(_))));
        let other_amount = RefundQueryAnswer { refund_amount: Some("200.00".into()), ..done.clone() };
        assert!(matches!(refund_status(&refund(), &other_amount), Ok(RefundStatus::Failed(_))));
        let undated = RefundQueryAnswer { gmt_refund_pay: None, ..done };
        assert!(matches!(refund_status(&refund(), &undated), Err(ChannelError::Malformed(_))));
    }
}
