//! The ALL trade bill format on its own: the official sample rows (WeChat Pay's trade bill documentation, verbatim),
//! refund lines, and every way a file is refused.

use crate::channels::wechat::bill::{
    BillMeta, DETAIL_COLUMNS, SUMMARY_COLUMNS, check_digest, parse_trade_bill, sha1_hex,
};
use crate::channels::{ChannelError, StatementKind, StatementLine};
use crate::domain::Fen;
use chrono::{DateTime, Utc};

const HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const SUMMARY_HEADER: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";
const SUCCESS_HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注";
const SAMPLE_DETAIL: &str = "`2021-01-28 17:07:11,`wx81be3101902f7cb2,`1601959334,`0,`,`4200000925202101284997714292,`S20210128170702357723,`ofyak5q…,`NATIVE,`SUCCESS,`OTHERS,`CNY,`0.01,`0.00,`0,`0,`0.00,`0.00,`,`,`for testing,`cipher code,`0.00000,`1.00%,`0.01,`0.00,`";
/// The summary of a file with three such lines.
const SAMPLE_SUMMARY: &str = "`3,`0.03,`0.00,`0.00,`0.00000,`0.03,`0.00";
/// A refund of that payment, the same day, in the same layout.
const REFUND_DETAIL: &str = "`2021-01-28 18:00:00,`wx81be3101902f7cb2,`1601959334,`0,`,`4200000925202101284997714292,`S20210128170702357723,`ofyak5q…,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300000000000000000000000001,`R20210128180000,`0.01,`0.00,`ORIGINAL,`SUCCESS,`for testing,`cipher code,`0.00000,`1.00%,`0.00,`0.01,`";

fn file(details: &[&str], summary: &str) -> String {
    let mut file = format!("{HEADER}\n");
    for line in details {
        file += &format!("{line}\n");
    }
    file + &format!("{SUMMARY_HEADER}\n{summary}\n")
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("a time").with_timezone(&Utc)
}

fn sample_payment() -> StatementLine {
    StatementLine {
        kind: StatementKind::Payment,
        out_trade_no: "S20210128170702357723".into(),
        channel_txn_id: "4200000925202101284997714292".into(),
        out_refund_no: None,
        amount: Fen(1),
        at: utc("2021-01-28T17:07:11+08:00"),
    }
}

fn refused(file: &str) -> bool {
    matches!(parse_trade_bill(file.as_bytes()), Err(ChannelError::Malformed(_)))
}

#[test]
fn the_layout_is_the_official_one() {
    assert_eq!(DETAIL_COLUMNS.join(","), HEADER);
    assert_eq!(SUMMARY_COLUMNS.join(","), SUMMARY_HEADER);
}

#[test]
fn the_official_sample_reads_as_payments_in_utc() {
    let bill = file(&[SAMPLE_DETAIL, SAMPLE_DETAIL, SAMPLE_DETAIL], SAMPLE_SUMMARY);
    assert_eq!(parse_trade_bill(bill.as_bytes()), Ok(vec![sample_payment(); 3]));
    // As Windows and Excel leave it: a byte-order mark and CRLF line ends.
    let crlf = format!("\u{feff}{}", bill.replace('\n', "\r\n"));
    assert_eq!(parse_trade_bill(crlf.as_bytes()), Ok(vec![sample_payment(); 3]));
}

#[test]
fn refund_lines_read_as_refunds() {
    let bill = file(&[SAMPLE_DETAIL, REFUND_DETAIL], "`2,`0.01,`0.01,`0.00,`0.00000,`0.01,`0.01");
    let refund = StatementLine {
        kind: StatementKind::Refund,
        out_refund_no: Some("R20210128180000".into()),
        at: utc("2021-01-28T18:00:00+08:00"),
        ..sample_payment()
    };
    assert_eq!(parse_trade_bill(bill.as_bytes()), Ok(vec![sample_payment(), refund]));
    let anonymous = REFUND_DETAIL.replace("`R20210128180000,", "`,");
    assert!(refused(&file(&[SAMPLE_DETAIL, &anonymous], "`2,`0.01,`0.01,`0.00,`0.00000,`0.01,`0.01")));
}

#[test]
fn a_summary_that_disagrees_with_the_lines_is_refused() {
    assert!(refused(&file(&[SAMPLE_DETAIL], SAMPLE_SUMMARY)), "three lines counted, one there");
    let three = [SAMPLE_DETAIL; 3];
    assert!(refused(&file(&three, "`3,`0.04,`0.00,`0.00,`0.00000,`0.03,`0.00")), "应结订单总金额");
    assert!(refused(&file(&three, "`3,`0.03,`0.01,`0.00,`0.00000,`0.03,`0.00")), "退款总金额");
    assert!(refused(&file(&three, "`3,`0.03,`0.00,`0.00,`0.00000,`0.02,`0.00")), "订单总金额");
    assert!(refused(&file(&three, "`3,`0.03,`0.00,`0.00,`0.00000,`0.03,`0.00,`")), "a summary field too many");
    assert!(refused(&format!("{HEADER}\n{SAMPLE_DETAIL}\n")), "no summary");
}

#[test]
fn unknown_layouts_and_unreadable_lines_are_refused() {
    let three = |line: &str| file(&[line, SAMPLE_DETAIL, SAMPLE_DETAIL], SAMPLE_SUMMARY);
    assert!(!refused(&three(SAMPLE_DETAIL)));
    let success_bill = three(SAMPLE_DETAIL).replacen(HEADER, SUCCESS_HEADER, 1);
    assert!(refused(&success_bill), "the SUCCESS layout");
    let legacy = three(SAMPLE_DETAIL).replacen("应结订单金额", "总金额", 1);
    assert!(refused(&legacy), "a legacy column set");
    assert!(refused(&three(SAMPLE_DETAIL.strip_suffix(",`").expect("a last field"))), "26 fields");
    assert!(refused(&three(&format!("{SAMPLE_DETAIL},`"))), "28 fields");
    assert!(refused(&three(&SAMPLE_DETAIL.replacen("`0.01", "`0.010", 1))), "three decimals");
    assert!(refused(&three(&SAMPLE_DETAIL.replace("`0.01", "`-0.01"))), "a sign");
    assert!(refused(&three(&SAMPLE_DETAIL.replacen("`0.01", "`1e-2", 1))), "an exponent");
    assert!(refused(&three(&SAMPLE_DETAIL.replacen("`NATIVE", "NATIVE", 1))), "a field without its backtick");
    assert!(refused(&three(&SAMPLE_DETAIL.replacen("`SUCCESS", "`REVOKED", 1))), "another trade state");
    assert!(refused(&three(&SAMPLE_DETAIL.replacen("17:07:11", "17:07", 1))), "a time without seconds");
    assert!(refused(""), "empty");
    assert!(matches!(parse_trade_bill(b"\xff\xfe"), Err(ChannelError::Malformed(_))), "not UTF-8");
}

#[test]
fn the_file_must_match_the_signed_sha1() {
    let bill = file(&[SAMPLE_DETAIL; 3], SAMPLE_SUMMARY);
    let meta = BillMeta {
        hash_type: "SHA1".into(),
        hash_value: sha1_hex(bill.as_bytes()).to_uppercase(),
        download_url: "https://api.mch.weixin.qq.com/v3/billdownload/file?token=x".into(),
    };
    assert_eq!(check_digest(bill.as_bytes(), &meta), Ok(()));
    let tampered = bill.replacen("`0.01", "`1.01", 1);
    assert!(matches!(check_digest(tampered.as_bytes(), &meta), Err(ChannelError::Unverified(_))));
    let md5 = BillMeta { hash_type: "MD5".into(), ..meta };
    assert!(matches!(check_digest(bill.as_bytes(), &md5), Err(ChannelError::Unverified(_))));
    // The SHA1 of "abc" (FIPS 180 test vector).
    assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
}
