//! finepay's WeChat Pay v3 client: Native prepay with `time_expire` at the fine's window end,
//! query by `out_trade_no`, close (where `ORDERPAID` is a payment, not an error), and the payment
//! notification — verified over the raw body, decrypted, and checked against this merchant —
//! refunds, and the daily trade bill. Every response is verified before it is believed; the bill
//! file, which WeChat does not sign, is checked against the SHA1 of the signed answer.

use super::bill::{BillMeta, check_digest, parse_trade_bill};
use super::protocol::{
    Authorization, ErrorBody, Notification, Refund, SignedMessage, Transaction, Verifier, known_signature_type, nonce,
    request_message,
};
use crate::channels::crypto::RsaSigningKey;
use crate::channels::{
    ChannelError, ChannelKind, ChannelPayment, CloseOutcome, CreatedOrder, Inbound, JsapiParams, NotifyError, OrderRef,
    OrderRequest, OrderStatus, PaymentChannel, RefundRequest, RefundStatus, Reply, Start, Started, StatementLine,
};
use crate::domain::Fen;
use crate::domain::time::{Clock, SHANGHAI, rfc3339};
use crate::errors::Why;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use reqwest::Method;
use std::sync::Arc;
use std::time::Duration;

pub struct WechatConfig {
    /// Without a trailing slash, e.g. `https://api.mch.weixin.qq.com`.
    pub base_url: String,
    pub appid: String,
    pub mchid: String,
    /// The serial of the merchant API certificate whose key signs requests.
    pub merchant_serial: String,
    pub merchant_key: RsaSigningKey,
    /// The 32-byte APIv3 key that notification resources are encrypted with.
    pub apiv3_key: Vec<u8>,
    /// WeChat's keys by serial: platform certificates and/or the WeChat Pay public key.
    pub verifier: Verifier,
    /// Where WeChat sends payment notifications (no query string allowed).
    pub notify_url: String,
    /// In public-key mode, its id (`PUB_KEY_ID_…`), sent so WeChat signs responses with it.
    pub public_key_id: Option<String>,
}

pub struct WechatPay {
    config: WechatConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

/// What a call returned, already verified.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl WechatPay {
    pub fn new(config: WechatConfig, clock: Arc<dyn Clock>, timeout: Duration) -> Result<Self, ChannelError> {
        Ok(WechatPay { config, http: crate::channels::http_client(timeout)?, clock })
    }

    /// Native prepay: the payer's `code_url`. Calling again with identical parameters returns
    /// the order's current code, which is how a code older than WeChat's 2 hours is renewed.
    pub async fn create_order(&self, order: &OrderRequest) -> Result<CreatedOrder, ChannelError> {
        let answer = self.prepay("native", self.prepay_body(order)).await?;
        let pay_url = answer["code_url"].as_str().ok_or_else(|| ChannelError::Malformed("no code_url".into()))?;
        Ok(CreatedOrder { pay_url: pay_url.to_owned() })
    }

    /// JSAPI prepay for the payer `openid` (from OAuth under this merchant's `appid`), and the
    /// parameters the page hands `WeixinJSBridge`, signed here with the merchant's key: the page
    /// never holds a key. A `prepay_id` lives two hours; a repeat returns the order's current one.
    pub async fn start_jsapi(&self, order: &OrderRequest, openid: &str) -> Result<JsapiParams, ChannelError> {
        let mut body = self.prepay_body(order);
        body["payer"] = serde_json::json!({ "openid": openid });
        let answer = self.prepay("jsapi", body).await?;
        let prepay_id = answer["prepay_id"].as_str().ok_or_else(|| ChannelError::Malformed("no prepay_id".into()))?;
        let (time_stamp, nonce_str, package) =
            (self.clock.now().timestamp().to_string(), nonce(), format!("prepay_id={prepay_id}"));
        let message = JsapiParams::message(&self.config.appid, &time_stamp, &nonce_str, &package);
        let pay_sign = self
            .config
            .merchant_key
            .sign_base64(message.as_bytes())
            .map_err(|e| ChannelError::Transport(Why::of(e)))?;
        Ok(JsapiParams {
            app_id: self.config.appid.clone(),
            time_stamp,
            nonce_str,
            package,
            sign_type: "RSA".into(),
            pay_sign,
        })
    }

    /// H5 prepay, for a mobile browser outside WeChat: the payer's address goes in `scene_info`
    /// (WeChat checks it when they pay), and `redirect_url` on the answer's `h5_url` brings the
    /// browser back to `return_url`. An `h5_url` lives five minutes: it is asked for at each tap.
    pub async fn start_h5(
        &self,
        order: &OrderRequest,
        payer_ip: &str,
        return_url: &str,
    ) -> Result<String, ChannelError> {
        let mut body = self.prepay_body(order);
        body["scene_info"] = serde_json::json!({ "payer_client_ip": payer_ip, "h5_info": { "type": "Wap" } });
        let answer = self.prepay("h5", body).await?;
        let h5_url = answer["h5_url"].as_str().ok_or_else(|| ChannelError::Malformed("no h5_url".into()))?;
        let back: String = form_urlencoded::byte_serialize(return_url.as_bytes()).collect();
        Ok(format!("{h5_url}&redirect_url={back}"))
    }

    /// The fields every prepay sends for `order`: the same at every call, so a repeat is the same
    /// order to WeChat.
    fn prepay_body(&self, order: &OrderRequest) -> serde_json::Value {
        serde_json::json!({
            "appid": self.config.appid,
            "mchid": self.config.mchid,
            "description": order.description,
            "out_trade_no": order.out_trade_no,
            "time_expire": rfc3339(order.pay_by),
            "notify_url": self.config.notify_url,
            "amount": {"total": order.amount.get(), "currency": "CNY"},
        })
    }

    async fn prepay(&self, trade_type: &str, body: serde_json::Value) -> Result<serde_json::Value, ChannelError> {
        let answer =
            self.call(Method::POST, &format!("/v3/pay/transactions/{trade_type}"), Some(body.to_string())).await?;
        parse(&answer.body)
    }

    pub async fn query(&self, out_trade_no: &str) -> Result<OrderStatus, ChannelError> {
        let path = format!("/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={}", self.config.mchid);
        let answer = match self.call(Method::GET, &path, None).await {
            Err(ChannelError::Refused { code, .. }) if code == "ORDER_NOT_EXIST" => return Ok(OrderStatus::NotFound),
            other => other?,
        };
        let transaction: Transaction = parse(&answer.body)?;
        self.check_merchant(&transaction).map_err(|e| ChannelError::Unverified(Why::of(e)))?;
        Ok(match transaction.trade_state.as_str() {
            "SUCCESS" | "REFUND" => {
                OrderStatus::Paid(payment_of(&transaction).map_err(|e| ChannelError::Malformed(Why::of(e)))?)
            }
            "CLOSED" | "REVOKED" | "PAYERROR" => OrderStatus::Closed,
            _ => OrderStatus::Open,
        })
    }

    pub async fn close(&self, out_trade_no: &str) -> Result<CloseOutcome, ChannelError> {
        let path = format!("/v3/pay/transactions/out-trade-no/{out_trade_no}/close");
        let body = serde_json::json!({"mchid": self.config.mchid}).to_string();
        match self.call(Method::POST, &path, Some(body)).await {
            Ok(answer) if answer.status == 204 || answer.status == 200 => Ok(CloseOutcome::Closed),
            Ok(answer) => Err(ChannelError::Malformed(format!("close answered HTTP {}", answer.status).into())),
            Err(ChannelError::Refused { code, .. }) if code == "ORDERPAID" => Ok(CloseOutcome::AlreadyPaid),
            Err(ChannelError::Refused { code, .. }) if code == "ORDER_NOT_EXIST" => Ok(CloseOutcome::NotFound),
            Err(e) => Err(e),
        }
    }

    /// Asks for a refund by `out_refund_no` (WeChat refunds each number once; a repeat reports it).
    pub async fn refund(&self, refund: &RefundRequest) -> Result<RefundStatus, ChannelError> {
        let body = serde_json::json!({
            "transaction_id": refund.channel_txn_id,
            "out_trade_no": refund.out_trade_no,
            "out_refund_no": refund.out_refund_no,
            "reason": refund.reason,
            "amount": {"refund": refund.amount.get(), "total": refund.paid.get(), "currency": "CNY"},
        })
        .to_string();
        let answer = self.call(Method::POST, "/v3/refund/domestic/refunds", Some(body)).await?;
        refund_status(&answer.body, &refund.out_refund_no)
    }

    pub async fn query_refund(&self, out_refund_no: &str) -> Result<RefundStatus, ChannelError> {
        let path = format!("/v3/refund/domestic/refunds/{out_refund_no}");
        let answer = self.call(Method::GET, &path, None).await?;
        refund_status(&answer.body, out_refund_no)
    }

    /// The payments and refunds WeChat booked on `day` (a Beijing calendar day), from its ALL
    /// trade bill. A day that has ended with nothing on it is an empty statement.
    pub async fn download_bill(&self, day: NaiveDate) -> Result<Vec<StatementLine>, ChannelError> {
        match self.apply_trade_bill(day).await {
            // WeChat answers NO_STATEMENT_EXIST both for a bill not made yet and for a day without
            // transactions; once the bill is due, only the second is left.
            Err(ChannelError::Refused { code, .. })
                if code == "NO_STATEMENT_EXIST" && bill_is_due(day, self.clock.now()) =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(e),
            Ok(bill) => self.fetch_trade_bill(&bill).await,
        }
    }

    /// Asks for `day`'s ALL trade bill: where to download it, and its SHA1.
    pub async fn apply_trade_bill(&self, day: NaiveDate) -> Result<BillMeta, ChannelError> {
        let path = format!("/v3/bill/tradebill?bill_date={}&bill_type=ALL", day.format("%Y-%m-%d"));
        parse(&self.call(Method::GET, &path, None).await?.body)
    }

    /// Downloads the bill `apply_trade_bill` described (a signed request, an unsigned answer),
    /// checks it against the SHA1 that came in the signed answer, and reads it.
    pub async fn fetch_trade_bill(&self, bill: &BillMeta) -> Result<Vec<StatementLine>, ChannelError> {
        let url = reqwest::Url::parse(&bill.download_url)
            .map_err(|e| ChannelError::Malformed(format!("download_url {}: {e}", bill.download_url).into()))?;
        let path_and_query = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let response = self.send(Method::GET, url.as_str(), &path_and_query, None).await?;
        let status = response.status().as_u16();
        let file = response.bytes().await.map_err(|e| ChannelError::Transport(Why::of(e)))?;
        if !(200..300).contains(&status) {
            return Err(refusal(status, &file));
        }
        check_digest(&file, bill)?;
        parse_trade_bill(&file)
    }

    /// A payment notification, verified over the raw body before anything in it is read.
    pub fn parse_notification(&self, message: &SignedMessage<'_>) -> Result<ChannelPayment, NotifyError> {
        self.config.verifier.verify(message, self.clock.now().timestamp())?;
        let notification: Notification =
            serde_json::from_slice(message.body).map_err(|e| NotifyError::Malformed(Why::of(e)))?;
        if notification.event_type != "TRANSACTION.SUCCESS" {
            return Err(NotifyError::NotPaid(notification.event_type));
        }
        let plain = notification.resource.decrypt(&self.config.apiv3_key)?;
        let transaction: Transaction =
            serde_json::from_slice(&plain).map_err(|e| NotifyError::Malformed(Why::of(e)))?;
        self.check_merchant(&transaction)?;
        if transaction.trade_state != "SUCCESS" {
            return Err(NotifyError::NotPaid(transaction.trade_state));
        }
        payment_of(&transaction)
    }

    fn check_merchant(&self, transaction: &Transaction) -> Result<(), NotifyError> {
        if transaction.appid != self.config.appid || transaction.mchid != self.config.mchid {
            return Err(NotifyError::WrongMerchant);
        }
        Ok(())
    }

    /// Signs, sends, and verifies one call. Non-2xx answers become `Refused` with WeChat's code.
    async fn call(&self, method: Method, path_and_query: &str, body: Option<String>) -> Result<Answer, ChannelError> {
        let url = format!("{}{path_and_query}", self.config.base_url);
        let response = self.send(method, &url, path_and_query, body).await?;
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (timestamp, nonce, signature, serial) = (
            header("Wechatpay-Timestamp"),
            header("Wechatpay-Nonce"),
            header("Wechatpay-Signature"),
            header("Wechatpay-Serial"),
        );
        let scheme = header("Wechatpay-Signature-Type");
        let body = response.bytes().await.map_err(|e| ChannelError::Transport(Why::of(e)))?.to_vec();
        if !(200..300).contains(&status) {
            return Err(refusal(status, &body));
        }
        if !known_signature_type(scheme.as_deref()) {
            return Err(ChannelError::Unverified(format!("signature type {scheme:?}").into()));
        }
        let (Some(timestamp), Some(nonce), Some(signature), Some(serial)) = (timestamp, nonce, signature, serial)
        else {
            return Err(ChannelError::Unverified("the answer is not signed".into()));
        };
        let signed =
            SignedMessage { timestamp: &timestamp, nonce: &nonce, signature: &signature, serial: &serial, body: &body };
        self.config
            .verifier
            .verify(&signed, self.clock.now().timestamp())
            .map_err(|e| ChannelError::Unverified(Why::of(e)))?;
        Ok(Answer { status, body })
    }

    /// Signs one request to `url` (whose path and query are `path_and_query`) and sends it.
    async fn send(
        &self,
        method: Method,
        url: &str,
        path_and_query: &str,
        body: Option<String>,
    ) -> Result<reqwest::Response, ChannelError> {
        let timestamp = self.clock.now().timestamp();
        let nonce = nonce();
        let body_text = body.clone().unwrap_or_default();
        let message = request_message(method.as_str(), path_and_query, timestamp, &nonce, &body_text);
        let signature = self
            .config
            .merchant_key
            .sign_base64(message.as_bytes())
            .map_err(|e| ChannelError::Transport(Why::of(e)))?;
        let authorization = Authorization {
            mchid: self.config.mchid.clone(),
            nonce_str: nonce,
            timestamp: timestamp.to_string(),
            serial_no: self.config.merchant_serial.clone(),
            signature,
        };
        let mut request = self
            .http
            .request(method, url)
            .header("Authorization", authorization.header_value())
            .header("Accept", "application/json")
            .header("User-Agent", "finepay");
        if let Some(id) = &self.config.public_key_id {
            request = request.header("Wechatpay-Serial", id);
        }
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body);
        }
        request.send().await.map_err(|e| ChannelError::Transport(Why::of(e)))
    }
}

impl PaymentChannel for WechatPay {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Wechat
    }

    fn start<'a>(&'a self, order: &'a OrderRequest, how: &'a Start) -> BoxFuture<'a, Result<Started, ChannelError>> {
        Box::pin(async move {
            match how {
                Start::Qr => Ok(Started::Qr(WechatPay::create_order(self, order).await?.pay_url)),
                Start::Jsapi { openid } => Ok(Started::Jsapi(self.start_jsapi(order, openid).await?)),
                Start::H5 { payer_ip, return_url } => {
                    Ok(Started::Redirect(self.start_h5(order, payer_ip, return_url).await?))
                }
                other => Err(crate::channels::no_such_flow(self.kind(), other.flow())),
            }
        })
    }

    fn query<'a>(&'a self, order: &'a OrderRef) -> BoxFuture<'a, Result<OrderStatus, ChannelError>> {
        Box::pin(WechatPay::query(self, &order.out_trade_no))
    }

    fn close<'a>(&'a self, order: &'a OrderRef) -> BoxFuture<'a, Result<CloseOutcome, ChannelError>> {
        Box::pin(WechatPay::close(self, &order.out_trade_no))
    }

    fn refund<'a>(&'a self, refund: &'a RefundRequest) -> BoxFuture<'a, Result<RefundStatus, ChannelError>> {
        Box::pin(WechatPay::refund(self, refund))
    }

    fn query_refund<'a>(&'a self, refund: &'a RefundRequest) -> BoxFuture<'a, Result<RefundStatus, ChannelError>> {
        Box::pin(WechatPay::query_refund(self, &refund.out_refund_no))
    }

    fn statement(&self, day: NaiveDate) -> BoxFuture<'_, Result<Vec<StatementLine>, ChannelError>> {
        Box::pin(WechatPay::download_bill(self, day))
    }

    fn verify_notification(&self, inbound: &Inbound<'_>) -> Result<ChannelPayment, NotifyError> {
        let header = |name| inbound.header(name).ok_or(NotifyError::MissingHeaders);
        if !known_signature_type(inbound.header("Wechatpay-Signature-Type")) {
            return Err(NotifyError::BadSignature);
        }
        let message = SignedMessage {
            timestamp: header("Wechatpay-Timestamp")?,
            nonce: header("Wechatpay-Nonce")?,
            signature: header("Wechatpay-Signature")?,
            serial: header("Wechatpay-Serial")?,
            body: inbound.body,
        };
        self.parse_notification(&message)
    }

    fn accepted_reply(&self) -> Reply {
        Reply { status: 204, content_type: "application/json", body: String::new() }
    }

    fn refused_reply(&self, error: &NotifyError) -> Reply {
        // WeChat looks at the status first: anything but 2xx is resent on its schedule.
        let status = match error {
            NotifyError::MissingHeaders
            | NotifyError::BadSignature
            | NotifyError::UnknownKey(_)
            | NotifyError::Stale => 401,
            NotifyError::Unavailable => 503,
            _ => 400,
        };
        let body = serde_json::json!({"code": "FAIL", "message": error.to_string()}).to_string();
        Reply { status, content_type: "application/json", body }
    }
}

/// A non-2xx answer as `Refused` with WeChat's code and message.
fn refusal(status: u16, body: &[u8]) -> ChannelError {
    let error: ErrorBody = serde_json::from_slice(body)
        .unwrap_or(ErrorBody { code: "UNKNOWN".into(), message: String::from_utf8_lossy(body).into_owned() });
    ChannelError::Refused { status, code: error.code, message: error.message }
}

/// WeChat makes a day's bill from 09:00 the next day (Beijing) and asks merchants to fetch it
/// after 10:00.
fn bill_is_due(day: NaiveDate, now: DateTime<Utc>) -> bool {
    day.succ_opt()
        .and_then(|next| next.and_hms_opt(10, 0, 0))
        .and_then(|due| due.and_local_timezone(SHANGHAI).single())
        .is_some_and(|due| now >= due)
}

fn refund_status(body: &[u8], out_refund_no: &str) -> Result<RefundStatus, ChannelError> {
    let refund: Refund = parse(body)?;
    if refund.out_refund_no != out_refund_no {
        return Err(ChannelError::Unverified(format!("an answer about refund {}", refund.out_refund_no).into()));
    }
    Ok(match refund.status.as_str() {
        "SUCCESS" => {
            let at = refund
                .success_time
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .ok_or_else(|| ChannelError::Malformed("a successful refund without success_time".into()))?;
            RefundStatus::Succeeded { channel_refund_id: refund.refund_id, at: at.with_timezone(&Utc) }
        }
        "PROCESSING" => RefundStatus::Processing,
        other => RefundStatus::Failed(other.to_owned()),
    })
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ChannelError> {
    serde_json::from_slice(body).map_err(|e| ChannelError::Malformed(Why::of(e)))
}

fn payment_of(transaction: &Transaction) -> Result<ChannelPayment, NotifyError> {
    let missing = |what: &str| NotifyError::Malformed(format!("a paid transaction without {what}").into());
    let paid_at = transaction.success_time.as_deref().ok_or_else(|| missing("success_time"))?;
    Ok(ChannelPayment {
        out_trade_no: transaction.out_trade_no.clone(),
        channel_txn_id: transaction.transaction_id.clone().ok_or_else(|| missing("transaction_id"))?,
        amount: Fen(transaction.amount.as_ref().ok_or_else(|| missing("amount"))?.total),
        paid_at: DateTime::parse_from_rfc3339(paid_at)
            .map_err(|_| missing("a valid success_time"))?
            .with_timezone(&Utc),
    })
}
