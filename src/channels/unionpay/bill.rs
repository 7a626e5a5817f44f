//! UnionPay ACP's daily statement (对账文件, the file transfer `txnType=76`), both ways: the
//! answer's `fileContent` (Base64 of a zlib-deflated zip), the zip, and in it the general
//! transaction flow file `INN<yymmdd>88ZM_<merId>` ("ZM"): one fixed-width line per transaction,
//! fields in a set order at set widths in bytes (the file is GBK), one space between fields. Read
//! here for reconciliation; written here, in the same layout, for the simulator. A file that does
//! not read cleanly is refused whole: reconciliation must never work from half a statement.
//!
//! Confirmed from public sources (ACP's own 《全渠道平台接入接口规范 第3部分 文件接口》 is behind
//! registration):
//! * the request (`txnType=76`, `txnSubType=01` 对账文件下载, `fileType`, `settleDate=MMDD`):
//!   UnionPay's open-platform page for the file transfer interface and its SDK demos
//!   (`fileType=00`);
//! * `fileContent` is Base64 of the zip deflated with the zlib wrapper: the SDK's
//!   `deCodeFileContent` (Base64, then `java.util.zip.Inflater`) and daxpay's reader;
//! * the ZM layout: the width table of the SDK demo's `parseZMFile` (42 fields, widths in bytes,
//!   the cursor skipping one byte between fields, the file read as GBK), with the field names of
//!   public readers (daxpay, liao47) whose widths agree with it;
//! * the transaction codes `S22` (consumption) and `S30` (退货, refund): daxpay's reader;
//! * `respCode=98` when there is no file: two public integrations read it as "no statement".
//!
//! Assumed, and written down where it is used: amounts in fen, right-aligned and zero-padded;
//! text left-aligned and padded with spaces; 交易传输时间 is `traceTime` (Beijing); a refund's
//! line names the paid order in 原始交易订单号 and its `queryId` in 原交易查询流水号; the blank
//! reserved tail may be cut short (liao47's reader allows it), nothing else may; a day's file is
//! ready from 10:00 (Beijing) the next day, as this project assumes for WeChat and Alipay.
//!
//! Not settled: whether UnionPay's settlement day is the calendar day (as here and in the
//! simulator) or runs from 23:00 the evening before (lines of that evening are read, not refused);
//! and a longer layout that daxpay and liao47 read, which splits the reserved tail into five
//! fields one byte longer in all (608 bytes): such lines are refused, failing closed.

use super::protocol::parse_beijing_time;
use crate::channels::{ChannelError, StatementKind, StatementLine};
use crate::domain::Fen;
use crate::domain::time::{SHANGHAI, shanghai_date};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use data_encoding::BASE64;
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use std::io::{Cursor, Read, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// The ZM file's fields in order, each with its width in bytes: the SDK demo's `parseZMFile`
/// table. `X+n12` amounts are a sign (`C` credit, `D` debit) then 12 digits.
pub(crate) const ZM_FIELDS: [(&str, usize); 42] = [
    ("交易代码", 3),
    ("代理机构标识码", 11),
    ("发送机构标识码", 11),
    ("系统跟踪号", 6),
    ("交易传输时间", 10),
    ("帐号", 19),
    ("交易金额", 12),
    ("商户类别", 4),
    ("终端类型", 2),
    ("查询流水号", 21),
    ("支付方式（旧）", 2),
    ("商户订单号", 32),
    ("支付卡类型", 2),
    ("原始交易的系统跟踪号", 6),
    ("原始交易日期时间", 10),
    ("商户手续费", 13),
    ("结算金额", 13),
    ("支付方式", 4),
    ("集团商户代码", 15),
    ("交易类型", 2),
    ("交易子类", 2),
    ("业务类型", 6),
    ("帐号类型", 2),
    ("账单类型", 4),
    ("账单号码", 32),
    ("交互方式", 1),
    ("原交易查询流水号", 21),
    ("商户代码", 15),
    ("分账入账方式", 1),
    ("二级商户代码", 15),
    ("二级商户简称", 32),
    ("二级商户分账入账金额", 13),
    ("清算净额", 13),
    ("终端号", 8),
    ("商户自定义域", 32),
    ("优惠金额", 13),
    ("发票金额", 13),
    ("分期付款附加手续费", 12),
    ("分期付款期数", 2),
    ("交易介质", 1),
    ("原始交易订单号", 32),
    ("保留使用", 98),
];

/// Positions in a ZM line, named after `ZM_FIELDS`.
pub(crate) mod field {
    pub(crate) const TXN_CODE: usize = 0;
    pub(crate) const TRACE_NO: usize = 3;
    pub(crate) const TRACE_TIME: usize = 4;
    pub(crate) const ACCOUNT: usize = 5;
    pub(crate) const AMOUNT: usize = 6;
    pub(crate) const MERCHANT_CATEGORY: usize = 7;
    pub(crate) const TERMINAL_TYPE: usize = 8;
    pub(crate) const QUERY_ID: usize = 9;
    pub(crate) const ORDER_ID: usize = 11;
    pub(crate) const ORIG_TRACE_NO: usize = 13;
    pub(crate) const ORIG_TRACE_TIME: usize = 14;
    pub(crate) const FEE: usize = 15;
    pub(crate) const SETTLE_AMOUNT: usize = 16;
    pub(crate) const TXN_TYPE: usize = 19;
    pub(crate) const TXN_SUB_TYPE: usize = 20;
    pub(crate) const BIZ_TYPE: usize = 21;
    pub(crate) const ORIG_QUERY_ID: usize = 26;
    pub(crate) const MER_ID: usize = 27;
    pub(crate) const NET_AMOUNT: usize = 32;
    pub(crate) const ORIG_ORDER_ID: usize = 40;
    pub(crate) const RESERVED: usize = 41;
}

/// Where field `index` starts in a line: the widths before it, and one space after each.
pub(crate) const fn field_start(index: usize) -> usize {
    let mut start = 0;
    let mut at = 0;
    while at < index {
        start += ZM_FIELDS[at].1 + 1;
        at += 1;
    }
    start
}

/// A whole line, without its line end.
pub(crate) const LINE_LENGTH: usize = field_start(field::RESERVED) + ZM_FIELDS[field::RESERVED].1;
/// A line whose blank reserved tail was cut off entirely: it ends with 原始交易订单号.
pub(crate) const SHORTEST_LINE: usize = field_start(field::RESERVED) - 1;
const _: () = assert!(LINE_LENGTH == 607 && SHORTEST_LINE == 508, "the SDK's widths add up to 566 bytes");

/// `fileType` 00: the merchant's ordinary statement files (the SDK demos' value; the only one
/// the simulator makes).
pub(crate) const FILE_TYPE_STATEMENT: &str = "00";

/// The transaction codes finepay's transactions carry: consumption (the paid QR) and 退货.
pub(crate) const CONSUMPTION: &str = "S22";
pub(crate) const REFUND: &str = "S30";

/// A file far larger than any day's statement is refused rather than inflated into memory.
pub(crate) const MAX_FILE_BYTES: u64 = 64 << 20;

/// When a day's file is ready: 10:00 (Beijing) the next day (an assumption, see the header).
pub(crate) const STATEMENT_READY_AT: NaiveTime = match NaiveTime::from_hms_opt(10, 0, 0) {
    Some(time) => time,
    None => panic!("10:00 is a valid time"),
};

fn malformed(what: impl std::fmt::Display) -> ChannelError {
    ChannelError::Malformed(format!("UnionPay statement: {what}").into())
}

/// Whether `day`'s file should exist at `now`: from then on, "no file" means "no transactions".
pub(crate) fn statement_is_due(day: NaiveDate, now: DateTime<Utc>) -> bool {
    day.succ_opt()
        .and_then(|next| SHANGHAI.from_local_datetime(&next.and_time(STATEMENT_READY_AT)).single())
        .is_some_and(|ready| now >= ready)
}

/// `settleDate` for a Beijing calendar day: `MMDD`.
pub(crate) fn settle_date(day: NaiveDate) -> String {
    day.format("%m%d").to_string()
}

/// The name of the zip (`fileName`), of the ZM file and of the error-transaction (ZME) file in it.
pub(crate) fn zip_file_name(mer_id: &str, day: NaiveDate) -> String {
    format!("{mer_id}_{}.zip", day.format("%Y%m%d"))
}

pub(crate) fn zm_file_name(mer_id: &str, day: NaiveDate) -> String {
    format!("INN{}88ZM_{mer_id}", day.format("%y%m%d"))
}

fn zme_file_name(mer_id: &str, day: NaiveDate) -> String {
    format!("INN{}88ZME_{mer_id}", day.format("%y%m%d"))
}

/// The ZM file among the zip's files: `INN…ZM_…` (the ZME file, `…ZME_…`, lists error
/// transactions, which finepay's reconciliation does not read).
fn is_general_flow(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.starts_with("INN") && base.contains("ZM_")
}

/// The statement lines in an answer's `fileContent`.
pub(crate) fn read_file_content(file_content: &str, day: NaiveDate) -> Result<Vec<StatementLine>, ChannelError> {
    read_statement_zip(&decode_file_content(file_content)?, day)
}

/// `fileContent` back to the zip: Base64 (line breaks ignored), then zlib inflation, capped at
/// [`MAX_FILE_BYTES`]. A stream that is cut short or followed by anything is refused.
pub(crate) fn decode_file_content(file_content: &str) -> Result<Vec<u8>, ChannelError> {
    let text: Vec<u8> = file_content.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let compressed = BASE64.decode(&text).map_err(|e| malformed(format!("fileContent is not Base64: {e}")))?;
    let mut decoder = ZlibDecoder::new(compressed.as_slice());
    let mut zip = Vec::new();
    (&mut decoder)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut zip)
        .map_err(|e| malformed(format!("fileContent does not inflate: {e}")))?;
    if zip.len() as u64 > MAX_FILE_BYTES {
        return Err(malformed("the file is implausibly large"));
    }
    if decoder.total_in() != compressed.len() as u64 {
        return Err(malformed("fileContent goes on after its compressed stream"));
    }
    Ok(zip)
}

/// `fileContent` for a zip, as UnionPay sends it (the simulator's side of
/// [`decode_file_content`]).
pub(crate) fn encode_file_content(zip: &[u8]) -> Result<String, ChannelError> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(zip).map_err(malformed)?;
    Ok(BASE64.encode(&encoder.finish().map_err(malformed)?))
}

/// The statement lines of the zip's ZM file, which must be there exactly once.
pub(crate) fn read_statement_zip(zip_bytes: &[u8], day: NaiveDate) -> Result<Vec<StatementLine>, ChannelError> {
    let mut archive = ZipArchive::new(Cursor::new(zip_bytes)).map_err(|e| malformed(format!("not a zip: {e}")))?;
    let mut flows = Vec::new();
    for index in 0..archive.len() {
        let file = archive.by_index(index).map_err(malformed)?;
        if !is_general_flow(file.name()) {
            continue;
        }
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(malformed)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(malformed("the ZM file is implausibly large"));
        }
        flows.push(bytes);
    }
    match flows.as_slice() {
        [flow] => parse_zm(flow, day),
        [] => Err(malformed("no ZM file in the zip")),
        _ => Err(malformed("several ZM files in the zip")),
    }
}

/// Reads a ZM file of `day`: every line a consumption (`S22`, a payment) or a refund (`S30`).
/// Lines end in LF or CRLF; empty lines are skipped. Any other transaction code, a line of
/// another length or with a field out of place, an amount that is not 12 digits, or a time
/// not within a day of `day` refuses the whole file.
pub(crate) fn parse_zm(file: &[u8], day: NaiveDate) -> Result<Vec<StatementLine>, ChannelError> {
    let mut statement = Vec::new();
    for (index, line) in file.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        statement.push(read_line(line, day).map_err(|e| malformed(format!("ZM line {}: {e}", index + 1)))?);
    }
    Ok(statement)
}

fn read_line(line: &[u8], day: NaiveDate) -> Result<StatementLine, String> {
    if !(SHORTEST_LINE..=LINE_LENGTH).contains(&line.len()) {
        return Err(format!("{} bytes, the layout has {LINE_LENGTH}", line.len()));
    }
    // Every field is followed by a space: a line with a field too long or too short is refused
    // rather than read from the wrong columns.
    for (index, (name, _)) in ZM_FIELDS.iter().enumerate().skip(1) {
        if line.get(field_start(index) - 1).is_some_and(|b| *b != b' ') {
            return Err(format!("no space before {name}"));
        }
    }
    let raw = |index: usize| -> Result<&str, String> {
        let start = field_start(index);
        let bytes = &line[start..start + ZM_FIELDS[index].1];
        std::str::from_utf8(bytes)
            .ok()
            .filter(|text| text.is_ascii())
            .ok_or_else(|| format!("{} is not ASCII", ZM_FIELDS[index].0))
    };
    let text = |index: usize| raw(index).map(|value| value.trim_matches(' '));
    let required = |index: usize| match text(index)? {
        "" => Err(format!("no {}", ZM_FIELDS[index].0)),
        value => Ok(value.to_owned()),
    };

    let kind = match text(field::TXN_CODE)? {
        CONSUMPTION => StatementKind::Payment,
        REFUND => StatementKind::Refund,
        other => return Err(format!("unknown 交易代码 {other:?}")),
    };
    let amount_text = raw(field::AMOUNT)?;
    let amount = amount_text
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| amount_text.parse().ok())
        .flatten()
        .map(Fen)
        .ok_or_else(|| format!("交易金额 {amount_text:?} is not 12 digits"))?;
    let trace_time = raw(field::TRACE_TIME)?;
    let at = instant_near(trace_time, day).ok_or_else(|| format!("交易传输时间 {trace_time:?} is not on {day}"))?;
    let (out_trade_no, channel_txn_id, out_refund_no) = match kind {
        StatementKind::Payment => (required(field::ORDER_ID)?, required(field::QUERY_ID)?, None),
        // A refund names its own orderId (finepay's refund number) and queryId; the statement
        // line names the payment it refunds, as WeChat's and Alipay's do.
        StatementKind::Refund => {
            required(field::QUERY_ID)?;
            (required(field::ORIG_ORDER_ID)?, required(field::ORIG_QUERY_ID)?, Some(required(field::ORDER_ID)?))
        }
    };
    Ok(StatementLine { kind, out_trade_no, channel_txn_id, out_refund_no, amount, at })
}

/// `MMDDhhmmss` (Beijing) within a day of `day` (UnionPay's settlement day may begin the evening
/// before): its year is `day`'s, or the one before or after across New Year.
fn instant_near(trace_time: &str, day: NaiveDate) -> Option<DateTime<Utc>> {
    if trace_time.len() != 10 {
        return None;
    }
    (day.year() - 1..=day.year() + 1)
        .filter_map(|year| parse_beijing_time(&format!("{year:04}{trace_time}")))
        .find(|at| (shanghai_date(*at) - day).num_days().abs() <= 1)
}

/// A payment or refund as the simulator writes it into the ZM file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZmRecord {
    pub kind: StatementKind,
    pub mer_id: String,
    /// `traceNo` and `traceTime` (`MMDDhhmmss`, Beijing) of the transaction.
    pub trace_no: String,
    pub trace_time: String,
    pub query_id: String,
    /// The transaction's `orderId`: the order's number, or a refund's own number.
    pub order_id: String,
    pub amount: Fen,
    /// For refunds: the payment refunded.
    pub original: Option<OriginalPayment>,
}

/// The payment a refund refunds, as the refund's line names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OriginalPayment {
    pub query_id: String,
    pub order_id: String,
    pub trace_no: String,
    pub trace_time: String,
}

/// The simulated payer's card, masked as statements show cards.
const MASKED_CARD: &str = "6216********0000";
/// ISO 18245 merchant category 9222: fines.
const MERCHANT_CATEGORY_FINES: &str = "9222";

impl ZmRecord {
    /// The record's whole ZM line (every field at its width, the reserved tail blank), without
    /// its line end. Fields the simulator has nothing for stay blank.
    pub(crate) fn line(&self) -> Result<String, ChannelError> {
        let amount = u64::try_from(self.amount.get()).map_err(|_| malformed("a negative amount"))?;
        let (code, txn_type, txn_sub_type, credit) = match self.kind {
            StatementKind::Payment => (CONSUMPTION, "01", "07", 'C'),
            StatementKind::Refund => (REFUND, "04", "00", 'D'),
        };
        let mut values = vec![
            (field::TXN_CODE, code.to_owned()),
            (field::TRACE_NO, self.trace_no.clone()),
            (field::TRACE_TIME, self.trace_time.clone()),
            (field::ACCOUNT, MASKED_CARD.to_owned()),
            (field::AMOUNT, format!("{amount:012}")),
            (field::MERCHANT_CATEGORY, MERCHANT_CATEGORY_FINES.to_owned()),
            // The simulator's payers pay on their phones (channelType 08).
            (field::TERMINAL_TYPE, "08".to_owned()),
            (field::QUERY_ID, self.query_id.clone()),
            (field::ORDER_ID, self.order_id.clone()),
            (field::FEE, "D000000000000".to_owned()),
            (field::SETTLE_AMOUNT, format!("{credit}{amount:012}")),
            (field::TXN_TYPE, txn_type.to_owned()),
            (field::TXN_SUB_TYPE, txn_sub_type.to_owned()),
            (field::BIZ_TYPE, "000000".to_owned()),
            (field::MER_ID, self.mer_id.clone()),
            (field::NET_AMOUNT, format!("{credit}{amount:012}")),
        ];
        if let Some(original) = &self.original {
            values.extend([
                (field::ORIG_TRACE_NO, original.trace_no.clone()),
                (field::ORIG_TRACE_TIME, original.trace_time.clone()),
                (field::ORIG_QUERY_ID, original.query_id.clone()),
                (field::ORIG_ORDER_ID, original.order_id.clone()),
            ]);
        }
        layout(&values)
    }
}

/// A line with `values` at their fields, left-aligned and padded with spaces, and every other
/// field blank.
fn layout(values: &[(usize, String)]) -> Result<String, ChannelError> {
    let mut fields: Vec<String> = ZM_FIELDS.iter().map(|(_, width)| " ".repeat(*width)).collect();
    for (index, value) in values {
        let (name, width) = ZM_FIELDS[*index];
        if !value.is_ascii() || value.len() > width {
            return Err(malformed(format!("{name} cannot hold {value:?}")));
        }
        fields[*index] = format!("{value:<width$}");
    }
    Ok(fields.join(" "))
}

/// The zip UnionPay serves for `mer_id`'s statement of `day`: the ZM file with one CRLF-ended
/// line per record, and an empty ZME file (no error transactions).
pub(crate) fn write_statement_zip(mer_id: &str, day: NaiveDate, records: &[ZmRecord]) -> Result<Vec<u8>, ChannelError> {
    let mut flow = String::new();
    for record in records {
        flow += &record.line()?;
        flow += "\r\n";
    }
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, text) in [(zm_file_name(mer_id, day), flow), (zme_file_name(mer_id, day), String::new())] {
        zip.start_file(name, options).map_err(malformed)?;
        zip.write_all(text.as_bytes()).map_err(malformed)?;
    }
    Ok(zip.finish().map_err(malformed)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MER_ID: &str = "777290058110048";

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).expect("date")
    }

    fn at(beijing: &str) -> DateTime<Utc> {
        parse_beijing_time(beijing).expect("a time")
    }

    fn payment() -> ZmRecord {
        ZmRecord {
            kind: StatementKind::Payment,
            mer_id: MER_ID.into(),
            trace_no: "123456".into(),
            trace_time: "1120091509".into(),
            query_id: "261120091509123456789".into(),
            order_id: "1101052611200000176U01".into(),
            amount: Fen(20000),
            original: None,
        }
    }

    fn refund() -> ZmRecord {
        ZmRecord {
            kind: StatementKind::Refund,
            trace_no: "654321".into(),
            trace_time: "1120150001".into(),
            query_id: "261120150001987654321".into(),
            order_id: "1101052611200000176R01".into(),
            amount: Fen(5000),
            original: Some(OriginalPayment {
                query_id: "261120091509123456789".into(),
                order_id: "1101052611200000176U01".into(),
                trace_no: "123456".into(),
                trace_time: "1120091509".into(),
            }),
            ..payment()
        }
    }

    fn expected() -> Vec<StatementLine> {
        vec![
            StatementLine {
                kind: StatementKind::Payment,
                out_trade_no: "1101052611200000176U01".into(),
                channel_txn_id: "261120091509123456789".into(),
                out_refund_no: None,
                amount: Fen(20000),
                at: at("20261120091509"),
            },
            StatementLine {
                kind: StatementKind::Refund,
                out_trade_no: "1101052611200000176U01".into(),
                channel_txn_id: "261120091509123456789".into(),
                out_refund_no: Some("1101052611200000176R01".into()),
                amount: Fen(5000),
                at: at("20261120150001"),
            },
        ]
    }

    /// The two lines as the layout puts them, one CRLF after each.
    fn flow() -> Vec<u8> {
        let lines = [payment().line().expect("writes"), refund().line().expect("writes")];
        lines.iter().flat_map(|line| format!("{line}\r\n").into_bytes()).collect()
    }

    fn refused(result: Result<Vec<StatementLine>, ChannelError>) -> String {
        match result {
            Err(ChannelError::Malformed(message)) => message.to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn lines_put_every_field_at_its_column() {
        let line = refund().line().expect("writes");
        assert_eq!(line.len(), LINE_LENGTH);
        let column = |index: usize| &line[field_start(index)..field_start(index) + ZM_FIELDS[index].1];
        assert_eq!(column(field::TXN_CODE), "S30");
        assert_eq!(column(field::TRACE_NO), "654321");
        assert_eq!(column(field::TRACE_TIME), "1120150001");
        assert_eq!(column(field::AMOUNT), "000000005000");
        assert_eq!(column(field::QUERY_ID), "261120150001987654321");
        assert_eq!(column(field::ORDER_ID).trim_end(), "1101052611200000176R01");
        assert_eq!(column(field::SETTLE_AMOUNT), "D000000005000");
        assert_eq!(column(field::ORIG_QUERY_ID), "261120091509123456789");
        assert_eq!(column(field::MER_ID), MER_ID);
        assert_eq!(column(field::ORIG_ORDER_ID).trim_end(), "1101052611200000176U01");
        assert!(column(field::RESERVED).bytes().all(|b| b == b' '));
        // The columns as counted by hand from the SDK's table.
        assert_eq!((field_start(field::QUERY_ID), field_start(field::ORDER_ID)), (87, 112));
        assert_eq!((field_start(field::ORIG_QUERY_ID), field_start(field::ORIG_ORDER_ID)), (271, 476));
        let too_long = ZmRecord { order_id: "1".repeat(33), ..payment() };
        assert!(too_long.line().is_err(), "a value wider than its field is not cut");
    }

    #[test]
    fn a_written_statement_reads_back_through_zip_deflate_and_base64() {
        let zip = write_statement_zip(MER_ID, day(), &[payment(), refund()]).expect("writes");
        let content = encode_file_content(&zip).expect("encodes");
        assert_eq!(read_file_content(&content, day()), Ok(expected()));
        // Base64 broken over lines, as some encoders write it, reads the same.
        let wrapped: String = content.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c) + "\r\n").collect();
        assert_eq!(read_file_content(&wrapped, day()), Ok(expected()));
        let empty = encode_file_content(&write_statement_zip(MER_ID, day(), &[]).expect("writes")).expect("encodes");
        assert_eq!(read_file_content(&empty, day()), Ok(Vec::new()), "an empty ZM file");
    }

    #[test]
    fn the_reserved_tail_may_be_cut_short_but_nothing_else() {
        let line = payment().line().expect("writes");
        let without_tail = format!("{}\n", &line[..SHORTEST_LINE]);
        assert_eq!(parse_zm(without_tail.as_bytes(), day()), Ok(expected()[..1].to_vec()), "no reserved tail, LF only");
        // Blanks before the reserved tail are fields: a payment's blank 原始交易订单号 must be there.
        let trimmed = format!("{}\n", line.trim_end());
        assert!(refused(parse_zm(trimmed.as_bytes(), day())).contains("bytes"));
        let cut = &flow()[..300];
        assert!(refused(parse_zm(cut, day())).contains("ZM line 1: 300 bytes"));
        let long = format!("{line} \r\n");
        assert!(refused(parse_zm(long.as_bytes(), day())).contains("608 bytes"));
        // A field one byte too wide shifts every column after it.
        let shifted = format!("{} {}", &line[..4], &line[4..LINE_LENGTH - 1]);
        assert!(refused(parse_zm(shifted.as_bytes(), day())).contains("no space before"));
    }

    #[test]
    fn bad_amounts_codes_times_and_missing_numbers_are_refused() {
        let with = |index: usize, value: &str| {
            let mut line = refund().line().expect("writes").into_bytes();
            let start = field_start(index);
            line[start..start + value.len()].copy_from_slice(value.as_bytes());
            line
        };
        assert!(refused(parse_zm(&with(field::AMOUNT, "00000000500x"), day())).contains("交易金额"));
        assert!(refused(parse_zm(&with(field::AMOUNT, "-00000005000"), day())).contains("交易金额"));
        assert!(refused(parse_zm(&with(field::AMOUNT, "        5000"), day())).contains("交易金额"));
        assert!(refused(parse_zm(&with(field::TXN_CODE, "S31"), day())).contains("交易代码"));
        assert!(refused(parse_zm(&with(field::TRACE_TIME, "1122150001"), day())).contains("not on"));
        assert!(refused(parse_zm(&with(field::TRACE_TIME, "1320150001"), day())).contains("交易传输时间"));
        assert!(refused(parse_zm(&with(field::ORIG_ORDER_ID, &" ".repeat(32)), day())).contains("原始交易订单号"));
        assert!(refused(parse_zm(&with(field::ORIG_QUERY_ID, &" ".repeat(21)), day())).contains("原交易查询流水号"));
        assert!(refused(parse_zm(&with(field::ORDER_ID, "订单"), day())).contains("not ASCII"));
        // One bad line refuses the whole file, however many good ones it has.
        let mut file = flow();
        file.extend(with(field::AMOUNT, "0000000050.0"));
        assert!(refused(parse_zm(&file, day())).contains("ZM line 3"));
    }

    #[test]
    fn times_take_the_year_of_the_day_they_are_next_to() {
        let new_year = NaiveDate::from_ymd_opt(2027, 1, 1).expect("date");
        assert_eq!(instant_near("1231230500", new_year), Some(at("20261231230500")), "the evening before");
        assert_eq!(instant_near("0101000500", new_year), Some(at("20270101000500")));
        let old_year = NaiveDate::from_ymd_opt(2026, 12, 31).expect("date");
        assert_eq!(instant_near("0101000500", old_year), Some(at("20270101000500")));
        assert_eq!(
            instant_near("0229120000", NaiveDate::from_ymd_opt(2028, 2, 29).expect("date")),
            Some(at("20280229120000"))
        );
        assert_eq!(instant_near("0229120000", NaiveDate::from_ymd_opt(2027, 3, 1).expect("date")), None);
        assert_eq!(instant_near("112009150", day()), None);
    }

    #[test]
    fn garbage_content_is_refused_whole() {
        let zip = write_statement_zip(MER_ID, day(), &[payment(), refund()]).expect("writes");
        let content = encode_file_content(&zip).expect("encodes");
        assert!(refused(read_file_content("not base64!", day())).contains("Base64"));
        assert!(refused(read_file_content(&BASE64.encode(b"plain bytes"), day())).contains("inflate"));
        let compressed = BASE64.decode(content.as_bytes()).expect("base64");
        let truncated = BASE64.encode(&compressed[..compressed.len() / 2]);
        assert!(refused(read_file_content(&truncated, day())).contains("inflate"));
        let mut trailing = compressed.clone();
        trailing.extend_from_slice(b"more");
        assert!(refused(read_file_content(&BASE64.encode(&trailing), day())).contains("goes on"));
        let not_zip = encode_file_content(b"<html>error</html>").expect("encodes");
        assert!(refused(read_file_content(&not_zip, day())).contains("not a zip"));

        let zipped = |files: &[(&str, &[u8])]| {
            let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
            for (name, bytes) in files {
                zip.start_file(*name, SimpleFileOptions::default()).expect("entry");
                zip.write_all(bytes).expect("writes");
            }
            zip.finish().expect("zip").into_inner()
        };
        let flow = flow();
        let only_zme = zipped(&[("INN26112088ZME_777290058110048", &flow)]);
        assert!(refused(read_statement_zip(&only_zme, day())).contains("no ZM file"));
        let twice = zipped(&[("INN26112088ZM_777290058110048", &flow), ("a/INN26112088ZM_1", &flow)]);
        assert!(refused(read_statement_zip(&twice, day())).contains("several"));
        let beside_others = zipped(&[("readme.txt", b"x"), ("INN26112088ZM_777290058110048", &flow)]);
        assert_eq!(read_statement_zip(&beside_others, day()), Ok(expected()));
    }

    #[test]
    fn a_days_file_is_due_at_ten_the_next_morning() {
        assert!(!statement_is_due(day(), at("20261121095959")));
        assert!(statement_is_due(day(), at("20261121100000")));
        assert!(!statement_is_due(day(), at("20261120235959")));
        assert_eq!(settle_date(day()), "1120");
        assert_eq!(zm_file_name(MER_ID, day()), "INN26112088ZM_777290058110048");
        assert_eq!(zip_file_name(MER_ID, day()), "777290058110048_20261120.zip");
    }
}
