//! Alipay's daily trade bill (`bill_type=trade`) as its download URL serves it: a zip of GBK CSV
//! files, of which the business detail (业务明细) lists the day's payments and refunds between `#`
//! comment lines and `#` totals. Read here for reconciliation; written here, in the same layout,
//! for the simulator.

use super::protocol::{beijing_time, parse_beijing_time};
use crate::channels::{ChannelError, StatementKind, StatementLine};
use crate::domain::Fen;
use crate::domain::time::SHANGHAI;
use chrono::{DateTime, Days, NaiveDate, Utc};
use encoding_rs::GBK;
use std::io::{Cursor, Read, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// The detail file's 25 columns.
pub(crate) const DETAIL_HEADER: [&str; 25] = [
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
];

const PAYMENT: &str = "交易";
const REFUND: &str = "退款";
const PAYMENTS_TOTAL: &str = "#交易合计：";
const REFUNDS_TOTAL: &str = "#退款合计：";
/// A file far larger than any day's bill is refused rather than inflated into memory.
const MAX_FILE_BYTES: u64 = 64 << 20;

fn malformed(what: impl std::fmt::Display) -> ChannelError {
    ChannelError::Malformed(format!("Alipay bill: {what}").into())
}

/// The statement lines of a downloaded bill. The detail file is found by its header row, not by
/// its name: Alipay writes the zip's file names in GBK without the flag that says so.
pub(crate) fn read_bill_zip(zip_bytes: &[u8]) -> Result<Vec<StatementLine>, ChannelError> {
    let mut archive = ZipArchive::new(Cursor::new(zip_bytes)).map_err(malformed)?;
    let mut details = Vec::new();
    for index in 0..archive.len() {
        let file = archive.by_index(index).map_err(malformed)?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(malformed)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(malformed("a file in the zip is implausibly large"));
        }
        let text = GBK
            .decode_without_bom_handling_and_without_replacement(&bytes)
            .ok_or_else(|| malformed("a file in the zip is not GBK text"))?;
        if text.lines().any(|line| first_field(line) == DETAIL_HEADER[0]) {
            details.push(text.into_owned());
        }
    }
    match details.as_slice() {
        [detail] => parse_detail(detail),
        [] => Err(malformed("no business detail file in the zip")),
        _ => Err(malformed("several business detail files in the zip")),
    }
}

fn first_field(line: &str) -> &str {
    line.split(',').next().unwrap_or_default().trim()
}

/// The detail file's payments (交易) and refunds (退款), amounts exact in fen, times from
/// 完成时间 (Beijing). The totals lines' counts must agree with the lines read, so a cut-off
/// file is an error rather than a short statement.
pub(crate) fn parse_detail(text: &str) -> Result<Vec<StatementLine>, ChannelError> {
    let mut lines = text.lines();
    let header = lines
        .by_ref()
        .find(|line| first_field(line) == DETAIL_HEADER[0])
        .ok_or_else(|| malformed("no detail header"))?;
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    let column = |name: &str| columns.iter().position(|c| *c == name).ok_or_else(|| malformed(format!("no {name}")));
    let trade_no_at = column("支付宝交易号")?;
    let out_trade_no_at = column("商户订单号")?;
    let kind_at = column("业务类型")?;
    let finished_at = column("完成时间")?;
    let amount_at = column("订单金额（元）")?;
    let request_no_at = column("退款批次号/请求号")?;

    let mut statement = Vec::new();
    let (mut list_ended, mut payments_total, mut refunds_total) = (false, None, None);
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('#') {
            list_ended = true;
            payments_total = payments_total.or(count_after(line, PAYMENTS_TOTAL));
            refunds_total = refunds_total.or(count_after(line, REFUNDS_TOTAL));
            continue;
        }
        if list_ended {
            return Err(malformed("a detail line after the list's end"));
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let field = |at: usize| fields.get(at).copied().ok_or_else(|| malformed(format!("a short line: {line}")));
        let kind = match field(kind_at)? {
            PAYMENT => StatementKind::Payment,
            REFUND => StatementKind::Refund,
            other => return Err(malformed(format!("unknown 业务类型 {other}"))),
        };
        // Refund lines carry negative amounts; the kind already says which way the money went.
        let amount_text = field(amount_at)?;
        let amount = Fen::parse_yuan(amount_text.strip_prefix('-').unwrap_or(amount_text))
            .ok_or_else(|| malformed(format!("amount {amount_text}")))?;
        let finished = field(finished_at)?;
        let at = parse_beijing_time(finished).ok_or_else(|| malformed(format!("time {finished}")))?;
        let out_refund_no = match kind {
            StatementKind::Payment => None,
            StatementKind::Refund => match field(request_no_at)? {
                "" => return Err(malformed(format!("a refund without its request number: {line}"))),
                number => Some(number.to_owned()),
            },
        };
        statement.push(StatementLine {
            kind,
            out_trade_no: field(out_trade_no_at)?.to_owned(),
            channel_txn_id: field(trade_no_at)?.to_owned(),
            out_refund_no,
            amount,
            at,
        });
    }
    let count = |kind| statement.iter().filter(|line| line.kind == kind).count();
    for (total, kind) in [(payments_total, StatementKind::Payment), (refunds_total, StatementKind::Refund)] {
        if total.is_some_and(|total| total != count(kind)) {
            return Err(malformed(format!("the totals count {total:?} {kind:?} lines, the list {}", count(kind))));
        }
    }
    Ok(statement)
}

/// The `N` of a totals line such as `#交易合计：2笔，商家实收：250.50元，…`.
fn count_after(line: &str, prefix: &str) -> Option<usize> {
    line.strip_prefix(prefix)?.split('笔').next()?.trim().parse().ok()
}

/// A payment or refund as the simulator writes it into a bill.
#[derive(Debug, Clone)]
pub(crate) struct BillRow {
    pub kind: StatementKind,
    pub trade_no: String,
    pub out_trade_no: String,
    /// For refunds: the `out_request_no` it was asked with.
    pub out_request_no: Option<String>,
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub amount: Fen,
    /// The payer's masked account, as the bill shows it.
    pub buyer: String,
}

/// The zip Alipay serves for `account`'s trade bill of `day`: the detail and summary files in GBK.
pub(crate) fn write_bill_zip(
    account: &str,
    day: NaiveDate,
    rows: &[BillRow],
    exported_at: DateTime<Utc>,
) -> Result<Vec<u8>, ChannelError> {
    let stem = format!("{account}_{}", day.format("%Y%m%d"));
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, text) in [
        (format!("{stem}_业务明细.csv"), detail_text(account, day, rows, exported_at)),
        (format!("{stem}_业务明细(汇总).csv"), summary_text(account, day, rows, exported_at)),
    ] {
        zip.start_file(name, options).map_err(malformed)?;
        zip.write_all(&GBK.encode(&text).0).map_err(malformed)?;
    }
    Ok(zip.finish().map_err(malformed)?.into_inner())
}

fn signed_amount(row: &BillRow) -> Fen {
    match row.kind {
        StatementKind::Payment => row.amount,
        StatementKind::Refund => Fen(-row.amount.get()),
    }
}

fn preamble(title: &str, account: &str, day: NaiveDate) -> String {
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    format!(
        "#支付宝{title}查询\r\n#账号：[{account}0156]\r\n#起始日期：[{} 00:00:00]   终止日期：[{} 00:00:00]\r\n",
        day.format("%Y年%m月%d日"),
        next.format("%Y年%m月%d日")
    )
}

fn exported_line(at: DateTime<Utc>) -> String {
    at.with_timezone(&SHANGHAI).format("#导出时间：[%Y年%m月%d日 %H:%M:%S]\r\n").to_string()
}

fn detail_text(account: &str, day: NaiveDate, rows: &[BillRow], exported_at: DateTime<Utc>) -> String {
    let rule = "-".repeat(41);
    let mut text = preamble("业务明细", account, day);
    text += &format!("#{rule}业务明细列表{rule}\r\n{}\r\n", DETAIL_HEADER.join(","));
    for row in rows {
        let kind = if row.kind == StatementKind::Payment { PAYMENT } else { REFUND };
        let amount = signed_amount(row).yuan_text();
        let request_no = row.out_request_no.as_deref().unwrap_or_default();
        // Text columns end in a tab, as in Alipay's files (it keeps spreadsheets from reading
        // long numbers as numbers).
        let fields = [
            format!("{}\t", row.trade_no),
            format!("{}\t", row.out_trade_no),
            format!("{kind}\t"),
            row.subject.replace(',', "，"),
            beijing_time(row.created_at),
            beijing_time(row.finished_at),
            "\t".into(),
            "\t".into(),
            "\t".into(),
            "\t".into(),
            format!("{}\t", row.buyer),
            amount.clone(),
            amount,
            "0.00".into(),
            "0.00".into(),
            "0.00".into(),
            "0.00".into(),
            "0.00".into(),
            String::new(),
            "0.00\t".into(),
            "0.00".into(),
            format!("{request_no}\t"),
            "0.00".into(),
            "0.00".into(),
            String::new(),
        ];
        text += &fields.join(",");
        text += "\r\n";
    }
    text += &format!("#{rule}业务明细列表结束{}\r\n", "-".repeat(36));
    for (label, kind) in [(PAYMENTS_TOTAL, StatementKind::Payment), (REFUNDS_TOTAL, StatementKind::Refund)] {
        let of_kind: Vec<&BillRow> = rows.iter().filter(|row| row.kind == kind).collect();
        let sum = Fen(of_kind.iter().map(|row| signed_amount(row).get()).sum());
        text += &format!("{label}{}笔，商家实收：{}元，商家优惠：0.00元\r\n", of_kind.len(), sum.yuan_text());
    }
    text + &exported_line(exported_at)
}

fn summary_text(account: &str, day: NaiveDate, rows: &[BillRow], exported_at: DateTime<Utc>) -> String {
    let rule = "-".repeat(41);
    let payments = rows.iter().filter(|row| row.kind == StatementKind::Payment).count();
    let net = Fen(rows.iter().map(|row| signed_amount(row).get()).sum()).yuan_text();
    let mut text = preamble("业务汇总", account, day);
    text += &format!("#{rule}业务汇总列表{rule}\r\n");
    text += "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）\r\n";
    text += &format!("合计,,{payments},{},{net},{net},0.00,0.00,0.00,0.00,0.00,{net}\r\n", rows.len() - payments);
    text += &format!("#{rule}业务汇总列表结束{}\r\n", "-".repeat(36));
    text + &exported_line(exported_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A day's detail file in Alipay's layout: comment lines, the header, tab-suffixed text
    /// columns, a negative refund line, the list's end and the totals.
    const SAMPLE: &str = "#支付宝业务明细查询\r
#账号：[20881234567890120156]\r
#起始日期：[2026年11月20日 00:00:00]   终止日期：[2026年11月21日 00:00:00]\r
#-----------------------------------------业务明细列表----------------------------------------\r
支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\r
2026112022001412345678901234\t,1101052611200000176A01\t,交易\t,交通违法罚款 1101052611200000176,2026-11-20 09:15:02,2026-11-20 09:15:09,\t,\t,\t,\t,159******89\t,200.00,200.00,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,0.00,0.00,\r
2026112022001412345678905678\t,1101052611200000277A01\t,交易\t,交通违法罚款 1101052611200000277,2026-11-20 23:59:50,2026-11-20 23:59:59,\t,\t,\t,\t,abc***@163.com\t,50.5,50.50,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,0.00,0.00,\r
2026112022001412345678901234\t,1101052611200000176A01\t,退款\t,交通违法罚款 1101052611200000176,2026-11-20 15:00:00,2026-11-20 15:00:01,\t,\t,\t,\t,159******89\t,-200.00,-200.00,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,R1101052611200000176A01\t,0.00,0.00,\r
#-----------------------------------------业务明细列表结束------------------------------------\r
#交易合计：2笔，商家实收：250.50元，商家优惠：0.00元\r
#退款合计：1笔，商家实收：-200.00元，商家优惠：0.00元\r
#导出时间：[2026年11月21日 10:05:00]\r
";

    fn at(beijing: &str) -> DateTime<Utc> {
        parse_beijing_time(beijing).expect("a time")
    }

    fn expected() -> Vec<StatementLine> {
        vec![
            StatementLine {
                kind: StatementKind::Payment,
                out_trade_no: "1101052611200000176A01".into(),
                channel_txn_id: "2026112022001412345678901234".into(),
                out_refund_no: None,
                amount: Fen(20000),
                at: at("2026-11-20 09:15:09"),
            },
            StatementLine {
                kind: StatementKind::Payment,
                out_trade_no: "1101052611200000277A01".into(),
                channel_txn_id: "2026112022001412345678905678".into(),
                out_refund_no: None,
                amount: Fen(5050),
                at: at("2026-11-20 23:59:59"),
            },
            StatementLine {
                kind: StatementKind::Refund,
                out_trade_no: "1101052611200000176A01".into(),
                channel_txn_id: "2026112022001412345678901234".into(),
                out_refund_no: Some("R1101052611200000176A01".into()),
                amount: Fen(20000),
                at: at("2026-11-20 15:00:01"),
            },
        ]
    }

    /// A zip as Alipay serves it, built here independently of `write_bill_zip`.
    fn zipped(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in files {
            zip.start_file(*name, SimpleFileOptions::default()).expect("entry");
            zip.write_all(bytes).expect("writes");
        }
        zip.finish().expect("zip").into_inner()
    }

    #[test]
    fn the_detail_file_reads_into_exact_statement_lines() {
        assert_eq!(parse_detail(SAMPLE), Ok(expected()));
        assert_eq!(expected()[1].at.to_rfc3339(), "2026-11-20T15:59:59+00:00", "Beijing time");
    }

    #[test]
    fn the_detail_is_found_in_the_zip_and_decoded_from_gbk() {
        let summary = "#支付宝业务汇总查询\r\n门店编号,门店名称,交易订单总笔数\r\n合计,,2\r\n";
        let gbk = |text: &str| GBK.encode(text).0.into_owned();
        let bill = zipped(&[("a.csv", &gbk(summary)), ("b.csv", &gbk(SAMPLE))]);
        assert_eq!(read_bill_zip(&bill), Ok(expected()));

        let utf8_would_break = zipped(&[("b.csv", &[0xFF, 0xFE, 0x00])]);
        assert!(matches!(read_bill_zip(&utf8_would_break), Err(ChannelError::Malformed(_))));
        assert!(matches!(read_bill_zip(&zipped(&[("a.csv", &gbk(summary))])), Err(ChannelError::Malformed(_))));
        assert!(matches!(read_bill_zip(b"<html>expired</html>"), Err(ChannelError::Malformed(_))));
    }

    #[test]
    fn cut_off_or_unknown_content_is_refused() {
        let cut = SAMPLE.replace("#交易合计：2笔", "#交易合计：3笔");
        assert!(matches!(parse_detail(&cut), Err(ChannelError::Malformed(_))));
        let unknown = SAMPLE.replacen(",交易\t,", ",结算\t,", 1);
        assert!(matches!(parse_detail(&unknown), Err(ChannelError::Malformed(_))));
        let float = SAMPLE.replacen(",200.00,200.00,", ",2e2,200.00,", 1);
        assert!(matches!(parse_detail(&float), Err(ChannelError::Malformed(_))));
        let no_request_no = SAMPLE.replace("R1101052611200000176A01\t", "\t");
        assert!(matches!(parse_detail(&no_request_no), Err(ChannelError::Malformed(_))));
        assert!(matches!(parse_detail("#支付宝业务明细查询\r\n"), Err(ChannelError::Malformed(_))));
    }

    #[test]
    fn written_bills_read_back() {
        let line = |kind, amount, at_text: &str, request_no: Option<&str>| BillRow {
            kind,
            trade_no: "2026112022001412345678901234".into(),
            out_trade_no: "1101052611200000176A01".into(),
            out_request_no: request_no.map(String::from),
            subject: "交通违法罚款, 1101052611200000176".into(),
            created_at: at(at_text),
            finished_at: at(at_text),
            amount: Fen(amount),
            buyer: "159******89".into(),
        };
        let rows = [
            line(StatementKind::Payment, 20000, "2026-11-20 09:15:09", None),
            line(StatementKind::Refund, 5000, "2026-11-20 15:00:01", Some("R1")),
        ];
        let day = NaiveDate::from_ymd_opt(2026, 11, 20).expect("date");
        let bill = write_bill_zip("2088123456789012", day, &rows, at("2026-11-21 10:05:00")).expect("writes");
        let read = read_bill_zip(&bill).expect("reads");
        assert_eq!(read.len(), 2);
        assert_eq!((read[0].amount, read[0].at), (Fen(20000), rows[0].finished_at));
        assert_eq!((read[1].kind, read[1].amount), (StatementKind::Refund, Fen(5000)));
        assert_eq!(read[1].out_refund_no.as_deref(), Some("R1"));
    }
}
