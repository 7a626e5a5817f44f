//! WeChat Pay's daily trade bill (交易账单) of type ALL, both ways: the file as the bill download
//! serves it (every field behind a backtick, amounts in yuan, times in Beijing wall time, detail
//! lines then a summary line), its SHA1 check, and its reading into statement lines. A file that
//! does not add up is refused whole: reconciliation must never work from half a statement.

use crate::channels::{ChannelError, StatementKind, StatementLine};
use crate::domain::Fen;
use crate::domain::time::SHANGHAI;
use chrono::{DateTime, NaiveDateTime, Utc};
use data_encoding::HEXLOWER;
use serde::{Deserialize, Serialize};

/// The columns of an ALL bill's detail lines, verbatim from the official format page.
pub(crate) const DETAIL_COLUMNS: [&str; 27] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];

/// The columns of an ALL bill's summary line.
pub(crate) const SUMMARY_COLUMNS: [&str; 7] =
    ["总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额"];

/// Positions in a detail line, named after `DETAIL_COLUMNS`.
pub(crate) mod column {
    pub(crate) const TIME: usize = 0;
    pub(crate) const APPID: usize = 1;
    pub(crate) const MCHID: usize = 2;
    pub(crate) const SUB_MCHID: usize = 3;
    pub(crate) const TRANSACTION_ID: usize = 5;
    pub(crate) const OUT_TRADE_NO: usize = 6;
    pub(crate) const OPENID: usize = 7;
    pub(crate) const TRADE_TYPE: usize = 8;
    pub(crate) const TRADE_STATE: usize = 9;
    pub(crate) const BANK: usize = 10;
    pub(crate) const CURRENCY: usize = 11;
    pub(crate) const SETTLEMENT_AMOUNT: usize = 12;
    pub(crate) const COUPON_AMOUNT: usize = 13;
    pub(crate) const REFUND_ID: usize = 14;
    pub(crate) const OUT_REFUND_NO: usize = 15;
    pub(crate) const REFUND_AMOUNT: usize = 16;
    pub(crate) const RECHARGE_REFUND_AMOUNT: usize = 17;
    pub(crate) const REFUND_TYPE: usize = 18;
    pub(crate) const REFUND_STATUS: usize = 19;
    pub(crate) const GOODS: usize = 20;
    pub(crate) const FEE: usize = 22;
    pub(crate) const FEE_RATE: usize = 23;
    pub(crate) const ORDER_AMOUNT: usize = 24;
    pub(crate) const REQUESTED_REFUND_AMOUNT: usize = 25;
}

pub(crate) type DetailLine = [String; DETAIL_COLUMNS.len()];
pub(crate) type SummaryLine = [String; SUMMARY_COLUMNS.len()];

/// The answer to "apply for a trade bill": where to download the file and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillMeta {
    pub hash_type: String,
    pub hash_value: String,
    pub download_url: String,
}

/// The file's SHA1 in lower-case hex, as `hash_value` carries it.
pub(crate) fn sha1_hex(file: &[u8]) -> String {
    HEXLOWER.encode(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, file).as_ref())
}

/// The downloaded file is the one the (verified) bill answer described. The download itself is
/// not signed, so this digest is all that vouches for the file.
pub(crate) fn check_digest(file: &[u8], bill: &BillMeta) -> Result<(), ChannelError> {
    if bill.hash_type != "SHA1" {
        return Err(ChannelError::Unverified(format!("unknown bill hash type {}", bill.hash_type).into()));
    }
    if !sha1_hex(file).eq_ignore_ascii_case(&bill.hash_value) {
        return Err(ChannelError::Unverified("the bill file does not match its SHA1".into()));
    }
    Ok(())
}

/// A bill time: Beijing wall time to the second.
pub(crate) fn bill_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&SHANGHAI).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The whole file: detail header, detail lines, summary header, summary line.
pub(crate) fn format_bill(details: &[DetailLine], summary: &SummaryLine) -> String {
    let mut file = DETAIL_COLUMNS.join(",") + "\n";
    for line in details {
        file += &format_line(line);
    }
    file += &(SUMMARY_COLUMNS.join(",") + "\n");
    file += &format_line(summary);
    file
}

/// One line, each field behind a backtick. The format has no quoting, so a comma or line break in
/// free text (a description) would split it; such characters are written as their full-width or
/// blank look-alikes instead.
fn format_line(fields: &[String]) -> String {
    let fields: Vec<String> =
        fields.iter().map(|f| format!("`{}", f.replace(',', "，").replace(['\r', '\n'], " "))).collect();
    fields.join(",") + "\n"
}

/// Reads an ALL bill into statement lines: successful payments (by 订单金额) and refunds (by
/// 退款金额, on the day they were asked for, whatever their status then). Refuses the whole file
/// if its header is not the ALL layout, a line has the wrong number of fields or an unreadable
/// amount or time, or the summary line disagrees with the details.
pub(crate) fn parse_trade_bill(file: &[u8]) -> Result<Vec<StatementLine>, ChannelError> {
    let text = std::str::from_utf8(file).map_err(|_| malformed("the bill is not UTF-8".into()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<&str> = text.lines().collect();
    while lines.last().is_some_and(|line| line.trim().is_empty()) {
        lines.pop();
    }
    let [header, rest @ ..] = lines.as_slice() else { return Err(malformed("the bill is empty".into())) };
    if !header.split(',').eq(DETAIL_COLUMNS) {
        return Err(malformed(format!("unknown bill header: {header}")));
    }
    let [details @ .., summary_header, summary] = rest else {
        return Err(malformed("the bill has no summary".into()));
    };
    if !summary_header.split(',').eq(SUMMARY_COLUMNS) {
        return Err(malformed(format!("unknown summary header: {summary_header}")));
    }
    let mut totals = Totals::default();
    let mut statement = Vec::with_capacity(details.len());
    for (index, line) in details.iter().enumerate() {
        // Line numbers as an editor shows them: the header is line 1.
        let at_line = |e: ChannelError| match e {
            ChannelError::Malformed(m) => malformed(format!("bill line {}: {m}", index + 2)),
            other => other,
        };
        let fields = fields::<{ DETAIL_COLUMNS.len() }>(line).map_err(at_line)?;
        totals.add(&fields).map_err(at_line)?;
        statement.push(statement_line(&fields).map_err(at_line)?);
    }
    totals.check(&fields::<{ SUMMARY_COLUMNS.len() }>(summary)?)?;
    Ok(statement)
}

fn statement_line(fields: &[&str]) -> Result<StatementLine, ChannelError> {
    let (kind, out_refund_no, amount) = match fields[column::TRADE_STATE] {
        "SUCCESS" => (StatementKind::Payment, None, yuan(fields[column::ORDER_AMOUNT])?),
        "REFUND" => {
            let out_refund_no = fields[column::OUT_REFUND_NO];
            if out_refund_no.is_empty() {
                return Err(malformed("a refund without 商户退款单号".into()));
            }
            (StatementKind::Refund, Some(out_refund_no.to_owned()), yuan(fields[column::REFUND_AMOUNT])?)
        }
        other => return Err(malformed(format!("unknown 交易状态 {other}"))),
    };
    let (out_trade_no, channel_txn_id) = (fields[column::OUT_TRADE_NO], fields[column::TRANSACTION_ID]);
    if out_trade_no.is_empty() || channel_txn_id.is_empty() {
        return Err(malformed("a line without 商户订单号 or 微信订单号".into()));
    }
    let time = fields[column::TIME];
    let at = NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S")
        .ok()
        .and_then(|local| local.and_local_timezone(SHANGHAI).single())
        .ok_or_else(|| malformed(format!("unreadable 交易时间 {time}")))?;
    Ok(StatementLine {
        kind,
        out_trade_no: out_trade_no.to_owned(),
        channel_txn_id: channel_txn_id.to_owned(),
        out_refund_no,
        amount,
        at: at.with_timezone(&Utc),
    })
}

/// The sums the summary line states, added up from the detail lines.
#[derive(Debug, Default)]
struct Totals {
    lines: u64,
    settlement: i64,
    refund: i64,
    recharge_refund: i64,
    order: i64,
    requested_refund: i64,
}

impl Totals {
    fn add(&mut self, fields: &[&str]) -> Result<(), ChannelError> {
        self.lines += 1;
        for (total, at) in [
            (&mut self.settlement, column::SETTLEMENT_AMOUNT),
            (&mut self.refund, column::REFUND_AMOUNT),
            (&mut self.recharge_refund, column::RECHARGE_REFUND_AMOUNT),
            (&mut self.order, column::ORDER_AMOUNT),
            (&mut self.requested_refund, column::REQUESTED_REFUND_AMOUNT),
        ] {
            *total = total.checked_add(yuan(fields[at])?.get()).ok_or_else(|| malformed("amounts overflow".into()))?;
        }
        Ok(())
    }

    /// The summary's count and amounts against the details' (手续费, with five decimals, is not
    /// money finepay books and is not compared).
    fn check(&self, summary: &[&str]) -> Result<(), ChannelError> {
        let lines: u64 = summary[0].parse().map_err(|_| malformed(format!("unreadable 总交易单数 {}", summary[0])))?;
        if lines != self.lines {
            return Err(malformed(format!("the summary counts {lines} lines, the bill has {}", self.lines)));
        }
        for (at, total) in [
            (1, self.settlement),
            (2, self.refund),
            (3, self.recharge_refund),
            (5, self.order),
            (6, self.requested_refund),
        ] {
            let stated = yuan(summary[at])?;
            if stated != Fen(total) {
                return Err(malformed(format!(
                    "the summary's {} is {}, the lines add up to {}",
                    SUMMARY_COLUMNS[at],
                    stated.yuan_text(),
                    Fen(total).yuan_text()
                )));
            }
        }
        Ok(())
    }
}

/// A line's `N` fields, each without its leading backtick.
fn fields<const N: usize>(line: &str) -> Result<[&str; N], ChannelError> {
    let fields = line
        .split(',')
        .map(|field| field.strip_prefix('`').ok_or_else(|| malformed(format!("a field without its backtick: {field}"))))
        .collect::<Result<Vec<&str>, _>>()?;
    let count = fields.len();
    fields.try_into().map_err(|_| malformed(format!("{count} fields, the layout has {N}")))
}

fn yuan(text: &str) -> Result<Fen, ChannelError> {
    Fen::parse_yuan(text).ok_or_else(|| malformed(format!("unreadable amount {text:?}")))
}

fn malformed(message: String) -> ChannelError {
    ChannelError::Malformed(message.into())
}
