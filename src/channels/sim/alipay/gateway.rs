//! The simulated gateway's merchant API at `/gateway.do`: each call's parameters read from the
//! query string and the form body, checked as Alipay checks them (presence, method, app id,
//! signature type, timestamp, the request signature), dispatched by `method`, and answered with
//! a signature over the response member's exact text; and the bill download behind its URL.

use super::{
    AlipaySim, BILL_URL_LIFE, DEFAULT_QR_LIFE, IssuedBill, SimOrder, SimRefund, State, Trade, express_deadline,
    random_bytes,
};
use crate::channels::StatementKind;
use crate::channels::alipay::bill::{BillRow, write_bill_zip};
use crate::channels::alipay::protocol::{
    BILL_URL_QUERY, BillUrlAnswer, BillUrlBiz, CHARSET, CLOSE, ERROR_ROOT, FACE_TO_FACE, FORMAT, PRECREATE, Params,
    PrecreateAnswer, PrecreateBiz, QUERY, REFUND, REFUND_QUERY, RefundAnswer, RefundBiz, RefundQueryAnswer,
    RefundQueryBiz, SIGN_TYPE, TradeAnswer, TradeRef, WAP_PAY, answer_body, beijing_time, codes, parse_beijing_time,
    parse_form, request_is_signed_by, request_sign_content, response_root, status,
};
use crate::domain::Fen;
use crate::domain::time::{SHANGHAI, shanghai_date};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Days, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use data_encoding::HEXLOWER;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A request whose `timestamp` is further than this from now is refused (the simulator's
/// assumption, after the 30 minutes Alipay's global gateway documents).
const TIMESTAMP_TOLERANCE: Duration = Duration::minutes(30);
/// A day's bill is ready at 10:00 (Beijing) the next day.
const BILL_READY_AT: NaiveTime = match NaiveTime::from_hms_opt(10, 0, 0) {
    Some(time) => time,
    None => panic!("10:00 is a valid time"),
};
const METHODS: [&str; 6] = [PRECREATE, QUERY, CLOSE, REFUND, REFUND_QUERY, BILL_URL_QUERY];

/// A gateway refusal: `code` with its `sub_code` and a message.
pub(super) struct Refusal {
    pub code: &'static str,
    pub sub_code: &'static str,
    pub sub_msg: String,
}

impl Refusal {
    fn missing(sub_code: &'static str) -> Self {
        Refusal { code: codes::MISSING_ARGUMENTS, sub_code, sub_msg: "缺少必选参数".into() }
    }

    fn invalid(sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        Refusal { code: codes::INVALID_ARGUMENTS, sub_code, sub_msg: sub_msg.into() }
    }

    pub(super) fn business(sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        Refusal { code: codes::BUSINESS_FAILED, sub_code, sub_msg: sub_msg.into() }
    }

    pub(super) fn bad_parameter(what: &str) -> Self {
        Refusal::business("ACQ.INVALID_PARAMETER", format!("参数无效：{what}"))
    }

    fn trade_not_exist() -> Self {
        Refusal::business(codes::TRADE_NOT_EXIST, "交易不存在")
    }

    pub(super) fn system() -> Self {
        Refusal { code: "20000", sub_code: "isp.unknow-error", sub_msg: "系统繁忙".into() }
    }

    fn msg(&self) -> &'static str {
        match self.code {
            codes::MISSING_ARGUMENTS => "Missing Required Arguments",
            codes::INVALID_ARGUMENTS => "Invalid Arguments",
            codes::BUSINESS_FAILED => "Business Failed",
            _ => "Service Currently Unavailable",
        }
    }
}

impl AlipaySim {
    /// One gateway call: parameters from the query string and the form body together (Alipay's
    /// SDKs put the common ones in the URL), checked, dispatched, and answered signed.
    fn serve(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        let params = match read_params(req.query_string().as_bytes(), body) {
            Ok(params) => params,
            Err(refusal) => return self.respond(ERROR_ROOT, Err(refusal)),
        };
        let method = params.get("method").map(String::as_str).unwrap_or_default();
        if method == WAP_PAY {
            return self.wap_page(&params);
        }
        let root = if METHODS.contains(&method) { response_root(method) } else { ERROR_ROOT.to_owned() };
        let result = self.authenticate(&params).and_then(|()| match method {
            PRECREATE => self.precreate(biz(&params)?, params.get("notify_url")),
            QUERY => self.query(&biz(&params)?),
            CLOSE => self.close(&biz(&params)?),
            REFUND => self.refund(biz(&params)?),
            REFUND_QUERY => self.refund_query(&biz(&params)?),
            BILL_URL_QUERY => self.bill_url(&biz(&params)?, req),
            _ => Err(Refusal::invalid("isv.invalid-method", "不存在的方法名")),
        });
        self.respond(&root, result)
    }

    /// Checks what the gateway checks before any business: presence, method, app, signature
    /// type, charset, format, timestamp, and the request signature.
    pub(super) fn authenticate(&self, params: &Params) -> Result<(), Refusal> {
        let required = [
            ("method", "isv.missing-method"),
            ("app_id", "isv.missing-app-id"),
            ("sign_type", "isv.missing-signature-type"),
            ("sign", "isv.missing-signature"),
            ("timestamp", "isv.missing-timestamp"),
        ];
        for (name, sub_code) in required {
            if params.get(name).is_none_or(String::is_empty) {
                return Err(Refusal::missing(sub_code));
            }
        }
        let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
        if !METHODS.contains(&param("method")) && param("method") != WAP_PAY {
            return Err(Refusal::invalid("isv.invalid-method", "不存在的方法名"));
        }
        if param("app_id") != self.config.app_id {
            return Err(Refusal::invalid("isv.invalid-app-id", "无效的AppID参数"));
        }
        if param("sign_type") != SIGN_TYPE {
            return Err(Refusal::invalid("isv.invalid-signature-type", "无效的签名类型"));
        }
        if params.get("charset").is_some_and(|charset| !charset.eq_ignore_ascii_case(CHARSET)) {
            return Err(Refusal::invalid("isv.invalid-charset", "字符集错误"));
        }
        if params.get("format").is_some_and(|format| !format.eq_ignore_ascii_case(FORMAT)) {
            return Err(Refusal::invalid("isv.invalid-format", "无效的数据格式"));
        }
        let fresh = parse_beijing_time(param("timestamp"))
            .is_some_and(|at| (self.clock.now() - at).abs() <= TIMESTAMP_TOLERANCE);
        if !fresh {
            return Err(Refusal::invalid("isv.invalid-timestamp", "非法的时间戳参数"));
        }
        if !request_is_signed_by(params, &self.config.app_public_key) {
            let message = format!(
                "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{}",
                request_sign_content(params)
            );
            return Err(Refusal::invalid(codes::INVALID_SIGNATURE, message));
        }
        Ok(())
    }

    /// The answer body: `{"<root>":{…},"sign":"…"}`, signed over the member's exact text.
    fn respond(&self, root: &str, result: Result<Value, Refusal>) -> HttpResponse {
        let content = match result {
            Ok(Value::Object(mut fields)) => {
                fields.insert("code".into(), codes::SUCCESS.into());
                fields.insert("msg".into(), "Success".into());
                Value::Object(fields)
            }
            Ok(_) => return self.respond(root, Err(Refusal::system())),
            Err(refusal) => serde_json::json!({
                "code": refusal.code, "msg": refusal.msg(), "sub_code": refusal.sub_code, "sub_msg": refusal.sub_msg,
            }),
        }
        .to_string();
        match self.config.signing_key.sign_base64(content.as_bytes()) {
            Ok(sign) => HttpResponse::Ok()
                .content_type("application/json;charset=utf-8")
                .body(answer_body(root, &content, &sign)),
            Err(_) => HttpResponse::InternalServerError().finish(),
        }
    }

    fn precreate(&self, biz: PrecreateBiz, notify_url: Option<&String>) -> Result<Value, Refusal> {
        let now = self.clock.now();
        let (notify_url, amount) = check_order(&biz.out_trade_no, &biz.total_amount, &biz.subject, notify_url)?;
        if biz.product_code.as_deref().is_some_and(|code| code != FACE_TO_FACE) {
            return Err(Refusal::bad_parameter("product_code"));
        }
        let time_expire = check_time_expire(biz.time_expire.as_deref(), now)?;
        let qr_deadline = match biz.qr_code_timeout_express.as_deref() {
            Some(text) => {
                Some(express_deadline(text, now).ok_or_else(|| Refusal::bad_parameter("qr_code_timeout_express"))?)
            }
            None => None,
        };
        if biz.timeout_express.as_deref().is_some_and(|text| express_deadline(text, now).is_none()) {
            return Err(Refusal::bad_parameter("timeout_express"));
        }
        let fingerprint = format!("{}|{notify_url}", serde_json::to_string(&biz).map_err(|_| Refusal::system())?);

        let mut state = self.state();
        let code = match state.orders.get(&biz.out_trade_no) {
            Some(order) if order.fingerprint != fingerprint => {
                return Err(Refusal::business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改"));
            }
            Some(order) => match order.trade.as_ref().map(|trade| trade.status(now)) {
                Some(status) if status::is_paid(status) => {
                    return Err(Refusal::business(codes::TRADE_HAS_SUCCESS, "交易已被支付"));
                }
                Some(status::TRADE_CLOSED) => return Err(Refusal::business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")),
                _ => order.code.clone(),
            },
            None => {
                let code = HEXLOWER.encode(&random_bytes::<12>());
                let qr_expires_at = [time_expire, qr_deadline].into_iter().flatten().min();
                state.orders.insert(
                    biz.out_trade_no.clone(),
                    SimOrder {
                        product: FACE_TO_FACE,
                        fingerprint,
                        subject: biz.subject.clone(),
                        amount,
                        notify_url: notify_url.clone(),
                        code: code.clone(),
                        qr_expires_at: qr_expires_at.unwrap_or(now + DEFAULT_QR_LIFE),
                        time_expire,
                        timeout_express: biz.timeout_express.clone(),
                        return_url: None,
                        trade: None,
                    },
                );
                code
            }
        };
        let qr_code = format!("{}?pr={code}", self.config.pay_link_base);
        fields(PrecreateAnswer { out_trade_no: biz.out_trade_no, qr_code })
    }

    fn query(&self, which: &TradeRef) -> Result<Value, Refusal> {
        let now = self.clock.now();
        let state = self.state();
        let (out_trade_no, order, trade) = find_trade(&state, which)?;
        let paid = trade.paid_at.is_some();
        let amount = order.amount.yuan_text();
        fields(TradeAnswer {
            trade_no: trade.trade_no.clone(),
            out_trade_no: out_trade_no.to_owned(),
            trade_status: trade.status(now).into(),
            total_amount: amount.clone(),
            buyer_logon_id: Some(trade.buyer_logon_id.clone()),
            buyer_user_id: Some(trade.buyer_id.clone()),
            buyer_pay_amount: Some(if paid { amount.clone() } else { "0.00".into() }),
            receipt_amount: Some(if paid { amount } else { "0.00".into() }),
            send_pay_date: trade.paid_at.map(beijing_time),
        })
    }

    /// Only a trade waiting for payment closes; before the scan there is no trade to close.
    fn close(&self, which: &TradeRef) -> Result<Value, Refusal> {
        let now = self.clock.now();
        let mut state = self.state();
        let out_trade_no = find_trade(&state, which)?.0.to_owned();
        let trade =
            state.orders.get_mut(&out_trade_no).and_then(|o| o.trade.as_mut()).ok_or_else(Refusal::trade_not_exist)?;
        match trade.status(now) {
            status::WAIT_BUYER_PAY => trade.closed = true,
            paid if status::is_paid(paid) => return Err(Refusal::business(codes::TRADE_STATUS_ERROR, "交易已被支付")),
            _ => return Err(Refusal::business(codes::TRADE_STATUS_ERROR, "交易状态不合法")),
        }
        fields(serde_json::json!({"trade_no": trade.trade_no, "out_trade_no": out_trade_no}))
    }

    /// Refunds at once. The same `out_request_no` again answers the done refund with
    /// `fund_change` N; a refund beyond what is left, or of an unpaid trade, is refused.
    fn refund(&self, biz: RefundBiz) -> Result<Value, Refusal> {
        let now = self.clock.now();
        let amount = Fen::parse_yuan(&biz.refund_amount)
            .filter(|amount| amount.get() > 0)
            .ok_or_else(|| Refusal::bad_parameter("refund_amount"))?;
        let mut state = self.state();
        let out_trade_no = find_trade(&state, &biz.trade)?.0.to_owned();
        let order = state.orders.get_mut(&out_trade_no).ok_or_else(Refusal::trade_not_exist)?;
        let total = order.amount;
        let trade = order.trade.as_mut().ok_or_else(Refusal::trade_not_exist)?;
        // Without out_request_no Alipay takes the refund to be the whole trade's, numbered by it.
        let out_request_no = biz.out_request_no.unwrap_or_else(|| out_trade_no.clone());
        let (fund_change, at) = match trade.refunds.iter().find(|refund| refund.out_request_no == out_request_no) {
            Some(done) if done.amount != amount => {
                return Err(Refusal::bad_parameter("同一退款请求号的退款金额不一致"));
            }
            Some(done) => ("N", done.at),
            None => {
                if !status::is_paid(trade.status(now)) {
                    return Err(Refusal::business(codes::TRADE_STATUS_ERROR, "交易状态不合法"));
                }
                if trade.refunded().get() + amount.get() > total.get() {
                    return Err(Refusal::business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"));
                }
                trade.refunds.push(SimRefund { out_request_no, amount, at: now });
                trade.closed = trade.refunded() == total;
                ("Y", now)
            }
        };
        fields(RefundAnswer {
            trade_no: trade.trade_no.clone(),
            out_trade_no,
            fund_change: fund_change.into(),
            refund_fee: trade.refunded().yuan_text(),
            gmt_refund_pay: Some(beijing_time(at)),
            buyer_logon_id: Some(trade.buyer_logon_id.clone()),
        })
    }

    /// A refund by its `out_request_no`; an unknown one answers success with nothing in it.
    fn refund_query(&self, biz: &RefundQueryBiz) -> Result<Value, Refusal> {
        let state = self.state();
        let (out_trade_no, order, trade) = find_trade(&state, &biz.trade)?;
        let Some(refund) = trade.refunds.iter().find(|refund| refund.out_request_no == biz.out_request_no) else {
            return fields(RefundQueryAnswer::default());
        };
        let asked_for_time = biz.query_options.iter().any(|option| option == "gmt_refund_pay");
        fields(RefundQueryAnswer {
            trade_no: Some(trade.trade_no.clone()),
            out_trade_no: Some(out_trade_no.to_owned()),
            out_request_no: Some(refund.out_request_no.clone()),
            total_amount: Some(order.amount.yuan_text()),
            refund_amount: Some(refund.amount.yuan_text()),
            refund_status: Some(status::REFUND_SUCCESS.into()),
            gmt_refund_pay: asked_for_time.then(|| beijing_time(refund.at)),
        })
    }

    /// The download URL of a day's trade bill, on this server, valid for 30 seconds. The bill
    /// exists from 10:00 (Beijing) the next day.
    fn bill_url(&self, biz: &BillUrlBiz, req: &HttpRequest) -> Result<Value, Refusal> {
        let now = self.clock.now();
        if biz.bill_type != "trade" {
            return Err(Refusal::bad_parameter("bill_type"));
        }
        let day =
            NaiveDate::parse_from_str(&biz.bill_date, "%Y-%m-%d").map_err(|_| Refusal::bad_parameter("bill_date"))?;
        let ready_at = day
            .checked_add_days(Days::new(1))
            .and_then(|next| SHANGHAI.from_local_datetime(&next.and_time(BILL_READY_AT)).single())
            .ok_or_else(|| Refusal::bad_parameter("bill_date"))?;
        if now < ready_at {
            return Err(Refusal::business("isp.bill_not_exist", "账单不存在"));
        }
        let mut state = self.state();
        let zip =
            write_bill_zip(&self.config.seller_id, day, &bill_rows(&state, day), now).map_err(|_| Refusal::system())?;
        let token = HEXLOWER.encode(&random_bytes::<16>());
        let file_name = format!("{}_{}.csv.zip", self.config.seller_id, day.format("%Y%m%d"));
        state.bills.retain(|_, bill| now < bill.issued_at + BILL_URL_LIFE);
        state.bills.insert(token.clone(), IssuedBill { issued_at: now, file_name, zip });
        let connection = req.connection_info();
        let bill_download_url = format!("{}://{}/sim/alipay/bill/{token}", connection.scheme(), connection.host());
        fields(BillUrlAnswer { bill_download_url })
    }
}

/// What precreate and wap.pay check alike: a notify URL, the order number, amount and subject.
/// Answers the notify URL and the amount.
pub(super) fn check_order(
    out_trade_no: &str,
    total_amount: &str,
    subject: &str,
    notify_url: Option<&String>,
) -> Result<(String, Fen), Refusal> {
    // The real gateway takes orders without a notify URL; this simulator serves merchants that
    // are notified, so it insists.
    let notify_url =
        notify_url.filter(|url| url.starts_with("http")).ok_or_else(|| Refusal::bad_parameter("notify_url"))?;
    let valid_no =
        (1..=64).contains(&out_trade_no.len()) && out_trade_no.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid_no {
        return Err(Refusal::bad_parameter("out_trade_no"));
    }
    let amount = Fen::parse_yuan(total_amount)
        .filter(|amount| (1..=10_000_000_000).contains(&amount.get()))
        .ok_or_else(|| Refusal::bad_parameter("total_amount"))?;
    if subject.is_empty() || subject.chars().count() > 256 {
        return Err(Refusal::bad_parameter("subject"));
    }
    Ok((notify_url.clone(), amount))
}

/// An absolute `time_expire`, which must be in the future.
pub(super) fn check_time_expire(text: Option<&str>, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, Refusal> {
    match text {
        Some(text) => Ok(Some(
            parse_beijing_time(text).filter(|at| *at > now).ok_or_else(|| Refusal::bad_parameter("time_expire"))?,
        )),
        None => Ok(None),
    }
}

/// The parameters of a call, from the query string and the form body; a key given twice (in
/// either or across both) is refused.
pub(super) fn read_params(query: &[u8], body: &[u8]) -> Result<Params, Refusal> {
    let refuse = |message: String| Refusal::invalid("isv.invalid-parameter", message);
    let mut params = parse_form(query).map_err(refuse)?;
    for (key, value) in parse_form(body).map_err(refuse)? {
        if params.contains_key(&key) {
            return Err(refuse(format!("the parameter {key} appears twice")));
        }
        params.insert(key, value);
    }
    Ok(params)
}

pub(super) fn biz<T: DeserializeOwned>(params: &Params) -> Result<T, Refusal> {
    let text = params.get("biz_content").ok_or_else(|| Refusal::bad_parameter("biz_content"))?;
    serde_json::from_str(text).map_err(|e| Refusal::bad_parameter(&format!("biz_content: {e}")))
}

fn fields(value: impl Serialize) -> Result<Value, Refusal> {
    serde_json::to_value(value).map_err(|_| Refusal::system())
}

/// The scanned trade named by `which` (`trade_no` wins), with its order and `out_trade_no`.
fn find_trade<'a>(state: &'a State, which: &TradeRef) -> Result<(&'a str, &'a SimOrder, &'a Trade), Refusal> {
    let scanned = state.orders.iter().filter_map(|(no, order)| Some((no.as_str(), order, order.trade.as_ref()?)));
    let mut matching = scanned.filter(|(no, _, trade)| match (&which.trade_no, &which.out_trade_no) {
        (Some(trade_no), _) => *trade_no == trade.trade_no,
        (None, Some(out_trade_no)) => out_trade_no == no,
        (None, None) => false,
    });
    matching.next().ok_or_else(Refusal::trade_not_exist)
}

/// The day's payments and refunds (Beijing day), in time order.
fn bill_rows(state: &State, day: NaiveDate) -> Vec<BillRow> {
    let mut rows = Vec::new();
    for (out_trade_no, order) in &state.orders {
        let Some(trade) = &order.trade else { continue };
        let row = |kind, out_request_no, at, amount| BillRow {
            kind,
            trade_no: trade.trade_no.clone(),
            out_trade_no: out_trade_no.clone(),
            out_request_no,
            subject: order.subject.clone(),
            created_at: if kind == StatementKind::Payment { trade.created_at } else { at },
            finished_at: at,
            amount,
            buyer: trade.buyer_logon_id.clone(),
        };
        if let Some(paid_at) = trade.paid_at.filter(|at| shanghai_date(*at) == day) {
            rows.push(row(StatementKind::Payment, None, paid_at, order.amount));
        }
        for refund in trade.refunds.iter().filter(|refund| shanghai_date(refund.at) == day) {
            rows.push(row(StatementKind::Refund, Some(refund.out_request_no.clone()), refund.at, refund.amount));
        }
    }
    rows.sort_by(|a, b| (a.finished_at, &a.out_trade_no).cmp(&(b.finished_at, &b.out_trade_no)));
    rows
}

pub(super) async fn gateway(
    sim: web::Data<crate::channels::sim::Simulator>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Some(sim) = sim.alipay.as_ref() else { return HttpResponse::NotFound().finish() };
    sim.serve(&req, &body)
}

/// The bill zip behind an issued URL; past its 30 seconds, or unknown, it is refused.
pub(super) async fn bill_file(
    sim: web::Data<crate::channels::sim::Simulator>,
    token: web::Path<String>,
) -> HttpResponse {
    let Some(sim) = sim.alipay.as_ref() else { return HttpResponse::NotFound().finish() };
    let now = sim.clock.now();
    let state = sim.state();
    match state.bills.get(token.as_str()) {
        Some(bill) if now < bill.issued_at + BILL_URL_LIFE => HttpResponse::Ok()
            .content_type("application/octet-stream")
            .insert_header(("Content-Disposition", format!("attachment; filename=\"{}\"", bill.file_name)))
            .body(bill.zip.clone()),
        _ => HttpResponse::Forbidden().content_type("text/plain;charset=utf-8").body("链接已失效"),
    }
}
