//! finepay's UnionPay ACP client: apply for a consumption QR with `payTimeout` at the fine's
//! window end, or sign a mobile web payment (`frontTransReq`) for the payer's browser to post;
//! query by `orderId` + `txnTime` (with the business type of the order's flow); "close" (a query:
//! ACP has no close for an unpaid QR); refunds (退货, asynchronous: accepted now, confirmed by a
//! later query); the back notification — verified over the raw form body before anything in it is
//! read — and the daily statement (file transfer). Every answer is verified through its
//! `signPubKeyCert` before it is believed; the statement file comes inside such an answer.

use super::bill::{FILE_TYPE_STATEMENT, read_file_content, settle_date, statement_is_due};
use super::protocol::{
    BACK_TRANS_PATH, BIZ_GATEWAY, BIZ_QR, CHANNEL_PHONE, CURRENCY_CNY, ENCODING, FORM_CONTENT_TYPE, FRONT_TRANS_PATH,
    Fields, QUERY_PATH, SIGN_METHOD_RSA, VERSION, Verifier, beijing_time, code, encode_form, field, fields_of,
    parse_answer, parse_form, payment_of, sign_request, trace_instant,
};
use crate::channels::crypto::{Certificate, RsaSigningKey};
use crate::channels::{
    ChannelError, ChannelKind, ChannelPayment, CloseOutcome, CreatedOrder, Flow, Inbound, NotifyError, OrderRef,
    OrderRequest, OrderStatus, PaymentChannel, RefundRequest, RefundStatus, Reply, Start, Started, StatementLine,
};
use crate::domain::time::{Clock, shanghai_date};
use crate::errors::Why;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

pub struct UnionpayConfig {
    /// Without a trailing slash, e.g. `https://gateway.95516.com`.
    pub base_url: String,
    /// Where statement files are asked for (`fileTransRequest`): UnionPay serves them from a
    /// host of its own (https://filedownload.95516.com/).
    pub file_transfer_url: String,
    pub mer_id: String,
    /// The decimal serial of the merchant signing certificate (`Certificate::serial_decimal`).
    pub cert_id: String,
    pub signing_key: RsaSigningKey,
    /// UnionPay's root and middle certificates: `signPubKeyCert` must chain to them.
    pub root: Certificate,
    pub middle: Certificate,
    /// Require UnionPay's name in the signing certificate's CN. Off only for UnionPay's test
    /// environment, whose certificates say `00040000:SIGN` there instead.
    pub validate_cn_name: bool,
    /// Where UnionPay sends back notifications. No query string: UnionPay would sign the form
    /// without it, and frameworks that merge it into the fields break verification.
    pub back_url: String,
}

pub struct UnionpayClient {
    config: UnionpayConfig,
    verifier: Verifier,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl UnionpayClient {
    pub fn new(config: UnionpayConfig, clock: Arc<dyn Clock>, timeout: Duration) -> Result<Self, ChannelError> {
        let verifier = Verifier::new(config.root.clone(), config.middle.clone(), config.validate_cn_name);
        Ok(UnionpayClient { config, verifier, http: crate::channels::http_client(timeout)?, clock })
    }

    /// Applies for the order's consumption QR. A repeat sends the same `txnTime` (when the order
    /// was first sent), so it is identical and UnionPay answers with the same code.
    pub async fn create_order(&self, order: &OrderRequest) -> Result<CreatedOrder, ChannelError> {
        let mut fields = self.common("01", "07", &order.out_trade_no, order.opened_at);
        fields.extend(fields_of(&[
            ("channelType", "08"),
            ("txnAmt", &order.amount.get().to_string()),
            ("currencyCode", CURRENCY_CNY),
            ("backUrl", &self.config.back_url),
            ("payTimeout", &beijing_time(order.pay_by)),
            ("riskRateInfo", &format!("{{commodityName={}}}", nestable(&order.description))),
        ]));
        let answer = self.call(BACK_TRANS_PATH, fields).await?;
        if answer.get("respCode").map(String::as_str) != Some(code::SUCCESS) {
            return Err(refused(&answer));
        }
        let qr_code = field(&answer, "qrCode").map_err(|e| ChannelError::Malformed(e.into()))?;
        Ok(CreatedOrder { pay_url: qr_code.to_owned() })
    }

    /// Mobile web payment (手机网页支付): the signed form the payer's browser posts to UnionPay's
    /// `frontTransReq.do`, which answers with its cashier; after paying, the payer's "return to
    /// merchant" posts the signed result to `front_url` (a signal for the page only: payment is
    /// known from the back notification or a query). `txnTime` is when the order was first sent,
    /// which UnionPay requires to be now: the caller makes a new order once the form is stale.
    pub fn start_mobile_web(&self, order: &OrderRequest, front_url: &str) -> Result<Started, ChannelError> {
        let mut fields = self.common("01", "01", &order.out_trade_no, order.opened_at);
        fields.extend(fields_of(&[
            ("bizType", BIZ_GATEWAY),
            ("channelType", CHANNEL_PHONE),
            ("txnAmt", &order.amount.get().to_string()),
            ("currencyCode", CURRENCY_CNY),
            ("frontUrl", front_url),
            ("backUrl", &self.config.back_url),
            ("payTimeout", &beijing_time(order.pay_by)),
            ("riskRateInfo", &format!("{{commodityName={}}}", nestable(&order.description))),
        ]));
        let signed = sign_request(fields, &self.config.cert_id, &self.config.signing_key)
            .map_err(|e| ChannelError::Transport(Why::of(e)))?;
        Ok(Started::Form {
            action: format!("{}{FRONT_TRANS_PATH}", self.config.base_url),
            fields: signed.into_iter().collect(),
        })
    }

    /// The order's state. Assumption (ACP's code list is not public): UnionPay reports an unpaid
    /// QR order as processing (`origRespCode` 05) until `payTimeout` and as failed afterwards, as
    /// its demos say ("after payTimeout, anything but 00/A6 is a failure"). A processing code is
    /// `Open`; the caller, who knows the window's end, treats it as over once that has passed.
    pub async fn query(&self, order: &OrderRef) -> Result<OrderStatus, ChannelError> {
        let Some(answer) = self.query_trans(&order.out_trade_no, order.opened_at, order.flow).await? else {
            return Ok(OrderStatus::NotFound);
        };
        let outcome = field(&answer, "origRespCode").map_err(|e| ChannelError::Malformed(e.into()))?;
        Ok(if code::is_success(outcome) {
            OrderStatus::Paid(payment_of(&answer).map_err(|e| ChannelError::Malformed(e.into()))?)
        } else if code::is_processing(outcome) {
            OrderStatus::Open
        } else {
            OrderStatus::Closed
        })
    }

    /// ACP has nothing that closes an unpaid consumption QR, so this only reports: a paid order
    /// is `AlreadyPaid`, an unknown one `NotFound`, any other `Closed` as far as finepay is
    /// concerned — UnionPay keeps it payable until `payTimeout` (see the module header).
    pub async fn close(&self, order: &OrderRef) -> Result<CloseOutcome, ChannelError> {
        Ok(match self.query(order).await? {
            OrderStatus::Paid(_) => CloseOutcome::AlreadyPaid,
            OrderStatus::NotFound => CloseOutcome::NotFound,
            OrderStatus::Open | OrderStatus::Closed => CloseOutcome::Closed,
        })
    }

    /// 退货 for the payment `channel_txn_id` (its `queryId`), named by `out_refund_no` and the
    /// time it was first asked for: a repeat is the same refund. ACP refunds are asynchronous, so
    /// an accepted one is `Processing` until [`UnionpayClient::query_refund`] says otherwise.
    pub async fn refund(&self, refund: &RefundRequest) -> Result<RefundStatus, ChannelError> {
        let mut fields = self.common("04", "00", &refund.out_refund_no, refund.requested_at);
        fields.extend(fields_of(&[
            ("bizType", biz_type(refund.flow)),
            ("channelType", "08"),
            ("origQryId", &refund.channel_txn_id),
            ("txnAmt", &refund.amount.get().to_string()),
            ("currencyCode", CURRENCY_CNY),
            ("backUrl", &self.config.back_url),
        ]));
        let answer = self.call(BACK_TRANS_PATH, fields).await?;
        match answer.get("respCode").map(String::as_str) {
            Some(accepted) if accepted == code::SUCCESS || code::is_processing(accepted) => {
                Ok(RefundStatus::Processing)
            }
            _ => Err(refused(&answer)),
        }
    }

    /// The refund's state. ACP gives no completion time: a succeeded refund's `at` is its
    /// `traceTime`, when UnionPay took it. A refund UnionPay does not know (`34`) is a refusal,
    /// so the caller asks for it again (the same request is the same refund).
    pub async fn query_refund(&self, refund: &RefundRequest) -> Result<RefundStatus, ChannelError> {
        let Some(answer) = self.query_trans(&refund.out_refund_no, refund.requested_at, refund.flow).await? else {
            return Err(ChannelError::Refused {
                status: 200,
                code: code::NO_SUCH_TRANSACTION.into(),
                message: "UnionPay has no such refund".into(),
            });
        };
        let outcome = field(&answer, "origRespCode").map_err(|e| ChannelError::Malformed(e.into()))?;
        if code::is_processing(outcome) {
            return Ok(RefundStatus::Processing);
        }
        if !code::is_success(outcome) {
            let message = answer.get("origRespMsg").map_or("", String::as_str);
            return Ok(RefundStatus::Failed(format!("origRespCode {outcome}: {message}")));
        }
        let malformed =
            |what: &str| ChannelError::Malformed(format!("a succeeded refund without a valid {what}").into());
        let query_id = field(&answer, "queryId").map_err(|_| malformed("queryId"))?;
        let at = field(&answer, "traceTime")
            .ok()
            .zip(answer.get("txnTime"))
            .and_then(|(trace, sent)| trace_instant(trace, sent))
            .ok_or_else(|| malformed("traceTime"))?;
        Ok(RefundStatus::Succeeded { channel_refund_id: query_id.to_owned(), at })
    }

    /// The payments and refunds UnionPay booked on `day` (Beijing), from its statement file
    /// (`txnType=76`, `fileType=00`). `settleDate` names the day by month and day only, so a day
    /// that has not ended, or one too far back to name without doubt, is not asked for at all.
    /// `98` (no file) is an empty statement once the file is due, and a refusal before.
    pub async fn download_statement(&self, day: NaiveDate) -> Result<Vec<StatementLine>, ChannelError> {
        let now = self.clock.now();
        let today = shanghai_date(now);
        if day >= today {
            return Err(not_asked(day, "the day has not ended (statements are made the next day)"));
        }
        if (today - day).num_days() > STATEMENT_HISTORY_DAYS {
            return Err(not_asked(day, "settleDate (MMDD) cannot name a day that far back"));
        }
        let settle_date = settle_date(day);
        let mut fields = self.base("76", "01", now);
        fields.extend(fields_of(&[("settleDate", &settle_date), ("fileType", FILE_TYPE_STATEMENT)]));
        let answer = self.call_at(&self.config.file_transfer_url, fields).await?;
        match answer.get("respCode").map(String::as_str) {
            Some(code::SUCCESS) => {
                if answer.get("settleDate").is_some_and(|answered| *answered != settle_date) {
                    return Err(ChannelError::Unverified("the statement answer is about another day".into()));
                }
                read_file_content(field(&answer, "fileContent").map_err(|e| ChannelError::Malformed(e.into()))?, day)
            }
            Some(code::FILE_NOT_FOUND) if statement_is_due(day, now) => Ok(Vec::new()),
            _ => Err(refused(&answer)),
        }
    }

    /// A back notification, verified over the raw form body (never merged with URL parameters)
    /// before anything in it is read; only a successful consumption QR payment for this merchant
    /// is a payment.
    pub fn parse_notification(&self, body: &[u8]) -> Result<ChannelPayment, NotifyError> {
        let fields = parse_form(body).map_err(|e| NotifyError::Malformed(e.into()))?;
        self.verifier.verify(&fields, self.now_unix())?;
        if fields.get("merId") != Some(&self.config.mer_id) {
            return Err(NotifyError::WrongMerchant);
        }
        let get = |name: &str| fields.get(name).map_or("", String::as_str);
        // A consumption by QR (07) or by the mobile web cashier (01).
        if get("txnType") != "01" || !["07", "01"].contains(&get("txnSubType")) {
            return Err(NotifyError::NotPaid(format!("txnType {} txnSubType {}", get("txnType"), get("txnSubType"))));
        }
        if !code::is_success(get("respCode")) {
            return Err(NotifyError::NotPaid(format!("respCode {}", get("respCode"))));
        }
        payment_of(&fields).map_err(|e| NotifyError::Malformed(e.into()))
    }

    /// queryTrans for `order_id` sent at `sent_at`, of the business type of `flow`; `None` when
    /// UnionPay has no such transaction.
    async fn query_trans(
        &self,
        order_id: &str,
        sent_at: DateTime<Utc>,
        flow: Flow,
    ) -> Result<Option<Fields>, ChannelError> {
        let mut fields = self.common("00", "00", order_id, sent_at);
        fields.insert("bizType".into(), biz_type(flow).into());
        let answer = self.call(QUERY_PATH, fields).await?;
        match answer.get("respCode").map(String::as_str) {
            Some(code::SUCCESS) => Ok(Some(answer)),
            Some(code::NO_SUCH_TRANSACTION) => Ok(None),
            _ => Err(refused(&answer)),
        }
    }

    /// The fields every transaction request carries: the common ones and the `orderId`.
    fn common(&self, txn_type: &str, txn_sub_type: &str, order_id: &str, txn_time: DateTime<Utc>) -> Fields {
        let mut fields = self.base(txn_type, txn_sub_type, txn_time);
        fields.insert("orderId".into(), order_id.into());
        fields
    }

    /// The fields every request carries, file transfers (which name no order) included.
    fn base(&self, txn_type: &str, txn_sub_type: &str, txn_time: DateTime<Utc>) -> Fields {
        fields_of(&[
            ("version", VERSION),
            ("encoding", ENCODING),
            ("signMethod", SIGN_METHOD_RSA),
            ("txnType", txn_type),
            ("txnSubType", txn_sub_type),
            ("bizType", BIZ_QR),
            ("accessType", "0"),
            ("merId", &self.config.mer_id),
            ("txnTime", &beijing_time(txn_time)),
        ])
    }

    /// Signs and sends one request; the answer is verified, and must be about this merchant's
    /// order, before it is returned. Its `respCode` is the caller's to judge.
    async fn call(&self, path: &str, fields: Fields) -> Result<Fields, ChannelError> {
        self.call_at(&format!("{}{path}", self.config.base_url), fields).await
    }

    /// As [`Self::call`], to a whole URL (file transfers have a host of their own).
    async fn call_at(&self, url: &str, fields: Fields) -> Result<Fields, ChannelError> {
        let order_id = fields.get("orderId").cloned();
        let signed = sign_request(fields, &self.config.cert_id, &self.config.signing_key)
            .map_err(|e| ChannelError::Transport(Why::of(e)))?;
        let response = self
            .http
            .post(url)
            .header("Content-Type", FORM_CONTENT_TYPE)
            .header("User-Agent", "finepay")
            .body(encode_form(&signed))
            .send()
            .await
            .map_err(|e| ChannelError::Transport(Why::of(e)))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| ChannelError::Transport(Why::of(e)))?;
        if status != 200 {
            let message = String::from_utf8_lossy(&body).chars().take(200).collect();
            return Err(ChannelError::Refused { status, code: "HTTP".into(), message });
        }
        let text = std::str::from_utf8(&body).map_err(|e| ChannelError::Malformed(Why::of(e)))?;
        let answer = parse_answer(text.trim()).map_err(|e| ChannelError::Malformed(e.into()))?;
        self.verifier.verify(&answer, self.now_unix()).map_err(|e| ChannelError::Unverified(Why::of(e)))?;
        if answer.get("merId") != Some(&self.config.mer_id) || answer.get("orderId") != order_id.as_ref() {
            return Err(ChannelError::Unverified("the answer is about another merchant or order".into()));
        }
        Ok(answer)
    }

    fn now_unix(&self) -> u64 {
        u64::try_from(self.clock.now().timestamp()).unwrap_or(0)
    }
}

impl PaymentChannel for UnionpayClient {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Unionpay
    }

    fn start<'a>(&'a self, order: &'a OrderRequest, how: &'a Start) -> BoxFuture<'a, Result<Started, ChannelError>> {
        Box::pin(async move {
            match how {
                Start::Qr => Ok(Started::Qr(UnionpayClient::create_order(self, order).await?.pay_url)),
                Start::MobileWeb { front_url } => self.start_mobile_web(order, front_url),
                other => Err(crate::channels::no_such_flow(self.kind(), other.flow())),
            }
        })
    }

    fn query<'a>(&'a self, order: &'a OrderRef) -> BoxFuture<'a, Result<OrderStatus, ChannelError>> {
        Box::pin(UnionpayClient::query(self, order))
    }

    fn close<'a>(&'a self, order: &'a OrderRef) -> BoxFuture<'a, Result<CloseOutcome, ChannelError>> {
        Box::pin(UnionpayClient::close(self, order))
    }

    fn refund<'a>(&'a self, refund: &'a RefundRequest) -> BoxFuture<'a, Result<RefundStatus, ChannelError>> {
        Box::pin(UnionpayClient::refund(self, refund))
    }

    fn query_refund<'a>(&'a self, refund: &'a RefundRequest) -> BoxFuture<'a, Result<RefundStatus, ChannelError>> {
        Box::pin(UnionpayClient::query_refund(self, refund))
    }

    fn statement(&self, day: NaiveDate) -> BoxFuture<'_, Result<Vec<StatementLine>, ChannelError>> {
        Box::pin(UnionpayClient::download_statement(self, day))
    }

    fn verify_notification(&self, inbound: &Inbound<'_>) -> Result<ChannelPayment, NotifyError> {
        self.parse_notification(inbound.body)
    }

    /// UnionPay takes HTTP 200 (or 302) as received; its demos answer `ok`.
    fn accepted_reply(&self) -> Reply {
        Reply { status: 200, content_type: "text/plain", body: "ok".into() }
    }

    /// Anything but 200/302 makes UnionPay send again on its schedule.
    fn refused_reply(&self, _error: &NotifyError) -> Reply {
        Reply { status: 400, content_type: "text/plain", body: "fail".into() }
    }
}

/// How far back finepay asks for a statement: within a year, so that `settleDate`'s month and
/// day name one day only (how long UnionPay keeps files is not public).
const STATEMENT_HISTORY_DAYS: i64 = 360;

/// A statement finepay did not ask UnionPay for (nothing was sent): a refusal, never an empty
/// statement.
fn not_asked(day: NaiveDate, why: &str) -> ChannelError {
    ChannelError::Refused { status: 0, code: "NOT_ASKED".into(), message: format!("statement of {day}: {why}") }
}

/// Text that can sit inside a nested `{name=value}` field without ending it or adding a pair.
fn nestable(text: &str) -> String {
    text.chars().filter(|c| !matches!(c, '{' | '}' | '[' | ']' | '&' | '=')).collect()
}

/// The business type a transaction of `flow` carries, in its queries and refunds too: a gateway
/// payment (`000201`) for the mobile web cashier, else a QR consumption (`000000`).
fn biz_type(flow: Flow) -> &'static str {
    if flow == Flow::MobileWeb { BIZ_GATEWAY } else { BIZ_QR }
}

fn refused(answer: &Fields) -> ChannelError {
    let get = |name: &str| answer.get(name).cloned().unwrap_or_default();
    ChannelError::Refused { status: 200, code: get("respCode"), message: get("respMsg") }
}
