//! The trade bill end to end: asked for with a signed call, downloaded with a signed GET whose
//! unsigned answer is checked against the SHA1, read into statement lines.

use super::*;
use crate::channels::wechat::bill::{BillMeta, sha1_hex};
use crate::channels::{StatementKind, StatementLine};
use crate::domain::time::SHANGHAI;
use chrono::{NaiveDate, TimeZone};

/// Beijing wall time on `day`.
fn beijing(day: NaiveDate, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    let local = day.and_hms_opt(h, m, s).expect("a time");
    SHANGHAI.from_local_datetime(&local).single().expect("one instant").with_timezone(&Utc)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

fn payment_line(payment: &ChannelPayment) -> StatementLine {
    StatementLine {
        kind: StatementKind::Payment,
        out_trade_no: payment.out_trade_no.clone(),
        channel_txn_id: payment.channel_txn_id.clone(),
        out_refund_no: None,
        amount: payment.amount,
        at: payment.paid_at,
    }
}

#[actix_web::test]
async fn a_days_bill_lists_its_payments_and_refunds() {
    let s = setup(|_| {});
    let d = day(2026, 3, 14);
    s.clock.set(beijing(d, 0, 0, 0) - Duration::seconds(1));
    let day_before = paid_order(&s, "1101052603130000001W01", Fen(10000)).await;
    s.clock.set(beijing(d, 9, 15, 0));
    let first = paid_order(&s, "1101052603140000002W01", Fen(20000)).await;
    s.clock.set(beijing(d, 13, 40, 7));
    let second = paid_order(&s, "1101052603140000003W01", Fen(15050)).await;
    s.client.create_order(&order("1101052603140000004W01", &s.clock)).await.expect("an order nobody pays");
    s.clock.set(beijing(d, 23, 59, 59));
    let refund = refund_of(&second, "1101052603140000003R01", Fen(5050), &s.clock);
    s.client.refund(&refund).await.expect("refund asked for");

    s.clock.set(beijing(d.succ_opt().expect("a next day"), 10, 0, 0));
    let bill = s.client.download_bill(d).await.expect("the bill");
    let refund_line = StatementLine {
        kind: StatementKind::Refund,
        out_refund_no: Some(refund.out_refund_no.clone()),
        amount: Fen(5050),
        at: beijing(d, 23, 59, 59),
        ..payment_line(&second)
    };
    assert_eq!(bill, vec![payment_line(&first), payment_line(&second), refund_line]);
    assert_eq!(first.paid_at, beijing(d, 9, 15, 0));
    assert_eq!(s.client.download_bill(d.pred_opt().expect("a day before")).await, Ok(vec![payment_line(&day_before)]));
}

#[actix_web::test]
async fn bills_exist_only_for_ended_days_of_the_last_three_months() {
    let s = setup(|_| {});
    let today = day(2026, 3, 14);
    s.clock.set(beijing(today, 9, 0, 0));
    paid_order(&s, "1101052603140000005W01", Fen(20000)).await;
    assert!(refused(&s.client.download_bill(today).await, 400, "NO_STATEMENT_EXIST"), "bills are T+1");
    assert!(refused(&s.client.download_bill(day(2026, 3, 20)).await, 400, "NO_STATEMENT_EXIST"));
    assert!(refused(&s.client.download_bill(day(2025, 12, 13)).await, 400, "INVALID_REQUEST"), "over 3 months");
    // A past day without transactions has no bill at WeChat: an empty statement once it is due
    // (10:00 the next day), a refusal before.
    let yesterday = day(2026, 3, 13);
    assert!(refused(&s.client.download_bill(yesterday).await, 400, "NO_STATEMENT_EXIST"));
    s.clock.set(beijing(today, 10, 0, 0));
    assert_eq!(s.client.download_bill(yesterday).await, Ok(vec![]));
}

#[actix_web::test]
async fn download_urls_need_a_signature_and_expire_after_five_minutes() {
    let s = setup(|_| {});
    let d = day(2026, 3, 14);
    s.clock.set(beijing(d, 12, 0, 0));
    let payment = paid_order(&s, "1101052603140000006W01", Fen(20000)).await;
    s.clock.set(beijing(d, 12, 0, 0) + Duration::days(1));
    let bill = s.client.apply_trade_bill(d).await.expect("bill answer");
    assert_eq!(bill.hash_type, "SHA1");
    assert!(bill.download_url.starts_with(&format!("{}/v3/billdownload/file?token=", s.base_url)));
    let unsigned = crate::channels::http_client(std::time::Duration::from_secs(5))
        .expect("client")
        .get(&bill.download_url)
        .send()
        .await
        .expect("answers");
    assert_eq!(unsigned.status().as_u16(), 401, "the download is a signed request");

    s.clock.advance(Duration::minutes(5) - Duration::seconds(1));
    assert_eq!(s.client.fetch_trade_bill(&bill).await, Ok(vec![payment_line(&payment)]));
    s.clock.advance(Duration::seconds(1));
    assert!(refused(&s.client.fetch_trade_bill(&bill).await, 400, "INVALID_REQUEST"), "expired");
}

#[actix_web::test]
async fn a_file_that_does_not_match_its_sha1_is_unverified() {
    let s = setup(|_| {});
    let d = day(2026, 3, 14);
    s.clock.set(beijing(d, 12, 0, 0));
    paid_order(&s, "1101052603140000007W01", Fen(20000)).await;
    s.clock.set(beijing(d, 12, 0, 0) + Duration::days(1));
    let bill = s.client.apply_trade_bill(d).await.expect("bill answer");
    // As if the file had been changed on the way: it no longer hashes to the signed value.
    let tampered = BillMeta { hash_value: sha1_hex(b"another file"), ..bill.clone() };
    assert!(matches!(s.client.fetch_trade_bill(&tampered).await, Err(ChannelError::Unverified(_))));
    let other_hash = BillMeta { hash_type: "MD5".into(), ..bill.clone() };
    assert!(matches!(s.client.fetch_trade_bill(&other_hash).await, Err(ChannelError::Unverified(_))));
    assert!(s.client.fetch_trade_bill(&bill).await.is_ok());
}
