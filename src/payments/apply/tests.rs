//! The refund decisions of recording a payment: a payment made inside the QR window pays its fine
//! (even when its notification comes after the window); one made after the window, or for a fine
//! already paid or void, is recorded and its refund scheduled, for the whole amount, to the
//! channel it came from; a repeat changes nothing; a report that does not fit the order is refused
//! and writes nothing.

use super::*;
use crate::db::channel_orders::NewChannelOrder;
use crate::db::fines::NewFine;
use crate::db::testing::temp_pool;
use chrono::{Duration, NaiveDateTime, TimeZone};

const FINE: &str = "1101052611210000176";

fn at(hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, hour, minute, second).single().expect("a time")
}

/// A ¥200 fine issued at 01:00 whose window ends at 05:00, with its WeChat order.
fn fine_with_an_order(conn: &mut DbConnection, status: &str) -> String {
    let issued: NaiveDateTime = at(1, 0, 0).naive_utc();
    let fine = NewFine {
        decision_no: FINE,
        status,
        qr_expires_at: Some(at(5, 0, 0).naive_utc()),
        ..NewFine::template(issued)
    };
    fines::insert(conn, &fine).expect("fine");
    let number = format!("{FINE}W01");
    channel_orders::open(
        conn,
        &NewChannelOrder {
            out_trade_no: &number,
            decision_no: FINE,
            channel: "wechat",
            flow: "qr",
            payer: None,
            amount_fen: 20000,
            pay_by: at(5, 0, 0).naive_utc(),
            opened_at: issued,
            status: "open",
            updated_at: issued,
        },
    )
    .expect("order");
    number
}

fn reported(out_trade_no: &str, txn: &str, amount_fen: i64, paid_at: DateTime<Utc>) -> ReportedPayment {
    ReportedPayment {
        channel: ChannelKind::Wechat,
        payment: ChannelPayment {
            out_trade_no: out_trade_no.to_owned(),
            channel_txn_id: txn.to_owned(),
            amount: crate::domain::Fen(amount_fen),
            paid_at,
        },
        source: PaymentSource::Notification,
    }
}

fn status_of(conn: &mut DbConnection) -> String {
    fines::find(conn, FINE).expect("read").expect("the fine").status
}

#[test]
fn a_payment_inside_the_window_pays_the_fine_once() {
    let (_dir, pool) = temp_pool();
    let mut conn = pool.get().expect("connection");
    let order = fine_with_an_order(&mut conn, "awaiting_payment");
    let payment = reported(&order, "4200001", 20000, at(4, 59, 59));
    let recorded = record_one(&mut conn, &payment, at(5, 30, 0)).expect("recorded");
    assert!(matches!(recorded, Recorded::Applied { .. }), "{recorded:?}");
    assert_eq!(status_of(&mut conn), "paid");
    let again = record_one(&mut conn, &payment, at(5, 31, 0)).expect("a repeat");
    assert!(matches!(again, Recorded::AlreadyKnown), "{again:?}");
    assert_eq!(payments::for_fine(&mut conn, FINE).expect("payments").len(), 1);
    assert!(refunds::for_fine(&mut conn, FINE).expect("refunds").is_empty());
}

#[test]
fn a_payment_made_in_time_is_honoured_after_the_fine_went_to_the_banks() {
    let (_dir, pool) = temp_pool();
    let mut conn = pool.get().expect("connection");
    let order = fine_with_an_order(&mut conn, "payable_at_bank");
    let recorded = record_one(&mut conn, &reported(&order, "4200002", 20000, at(4, 0, 0)), at(6, 0, 0));
    assert!(matches!(recorded, Ok(Recorded::Applied { .. })), "{recorded:?}");
    assert_eq!(status_of(&mut conn), "paid");
}

#[test]
fn a_payment_at_or_after_the_window_end_is_refunded_in_full_to_its_channel() {
    for paid_at in [at(5, 0, 0), at(5, 0, 1), at(9, 0, 0)] {
        let (_dir, pool) = temp_pool();
        let mut conn = pool.get().expect("connection");
        let order = fine_with_an_order(&mut conn, "payable_at_bank");
        let recorded =
            record_one(&mut conn, &reported(&order, "4200003", 20000, paid_at), paid_at + Duration::minutes(1));
        let Ok(Recorded::Refunding { reason, .. }) = recorded else { panic!("paid at {paid_at}: {recorded:?}") };
        assert_eq!(reason, "paid after the QR window had ended");
        assert_eq!(status_of(&mut conn), "payable_at_bank", "the fine stays unpaid");
        let refunds = refunds::for_fine(&mut conn, FINE).expect("refunds");
        assert_eq!(refunds.len(), 1);
        assert_eq!((refunds[0].channel.as_str(), refunds[0].amount_fen), ("wechat", 20000));
        assert_eq!(refunds[0].status, "pending");
        let payment = payments::find(&mut conn, "wechat", "4200003").expect("read").expect("recorded");
        assert_eq!(payment.outcome, "refund", "recorded as a payment to return");
    }
}

#[test]
fn a_second_payment_of_a_paid_fine_and_a_payment_of_a_void_one_are_refunded() {
    for (status, reason) in [("paid", "the fine was already paid"), ("void", "the fine was void")] {
        let (_dir, pool) = temp_pool();
        let mut conn = pool.get().expect("connection");
        let order = fine_with_an_order(&mut conn, status);
        let recorded = record_one(&mut conn, &reported(&order, "4200004", 20000, at(2, 0, 0)), at(2, 0, 5));
        let Ok(Recorded::Refunding { reason: why, out_refund_no }) = recorded else { panic!("{status}: {recorded:?}") };
        assert_eq!(why, reason);
        assert_eq!(out_refund_no, refund_number(&order));
        assert_eq!(status_of(&mut conn), status, "the fine's state is kept");
    }
}

#[test]
fn a_report_that_does_not_fit_the_order_writes_nothing() {
    let (_dir, pool) = temp_pool();
    let mut conn = pool.get().expect("connection");
    let order = fine_with_an_order(&mut conn, "awaiting_payment");
    let short = record_one(&mut conn, &reported(&order, "4200005", 19999, at(2, 0, 0)), at(2, 0, 1));
    assert!(matches!(short, Err(ApplyError::AmountMismatch { expected: 20000, reported: 19999, .. })), "{short:?}");
    let unknown = record_one(&mut conn, &reported("no-such-order", "4200006", 20000, at(2, 0, 0)), at(2, 0, 1));
    assert!(matches!(unknown, Err(ApplyError::UnknownOrder(_))), "{unknown:?}");
    assert!(unknown.as_ref().is_err_and(ApplyError::is_refusal));
    assert_eq!(status_of(&mut conn), "awaiting_payment");
    assert!(payments::for_fine(&mut conn, FINE).expect("payments").is_empty());
}
