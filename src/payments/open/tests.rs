//! Opening a fine's channel order: only while the QR code is live — to the second — and only for
//! an unpaid, unvoided fine; one order per fine and channel however often it is asked.

use super::*;
use crate::db::fines::NewFine;
use crate::db::testing::temp_pool;
use chrono::{Duration, NaiveDate, NaiveDateTime};

const FINE: &str = "1101052611210000176";

fn window_end() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 21).and_then(|d| d.and_hms_opt(5, 0, 0)).expect("a time")
}

fn with_fine(status: &str) -> (tempfile::TempDir, DbPool) {
    let (dir, pool) = temp_pool();
    let mut conn = pool.get().expect("connection");
    let fine = NewFine {
        decision_no: FINE,
        status,
        qr_expires_at: Some(window_end()),
        ..NewFine::template(window_end() - Duration::hours(4))
    };
    fines::insert(&mut conn, &fine).expect("fine");
    (dir, pool)
}

#[test]
fn an_order_opens_until_the_last_second_of_the_window() {
    let (_dir, pool) = with_fine("awaiting_payment");
    let mut conn = pool.get().expect("connection");
    let last_second = window_end().and_utc() - Duration::seconds(1);
    let order = prepare(&pool, &mut conn, FINE, (ChannelKind::Alipay, Flow::Qr), None, last_second).expect("open");
    assert_eq!((order.amount_fen, order.pay_by), (20000, window_end()), "the channel's deadline is the window's end");
    let same = prepare(&pool, &mut conn, FINE, (ChannelKind::Alipay, Flow::Qr), None, last_second).expect("open");
    assert_eq!(same.out_trade_no, order.out_trade_no, "one order per fine and channel");
    let at_the_end = prepare(&pool, &mut conn, FINE, (ChannelKind::Wechat, Flow::Qr), None, window_end().and_utc());
    assert!(matches!(at_the_end, Err(OpenError::Expired)), "{at_the_end:?}");
}

#[test]
fn a_fine_that_cannot_be_paid_by_qr_opens_no_order() {
    for (status, refused) in [("paid", "AlreadyPaid"), ("void", "Void"), ("payable_at_bank", "Expired")] {
        let (_dir, pool) = with_fine(status);
        let mut conn = pool.get().expect("connection");
        let early = window_end().and_utc() - Duration::hours(1);
        let answer = prepare(&pool, &mut conn, FINE, (ChannelKind::Unionpay, Flow::Qr), None, early).expect_err(status);
        assert!(format!("{answer:?}").starts_with(refused), "{status}: {answer:?}");
        assert!(channel_orders::for_fine(&mut conn, FINE).expect("orders").is_empty());
    }
}

/// A flow has orders of its own, numbered apart from the QR code's; UnionPay's mobile web form,
/// dated when first sent, takes a new attempt once it is too old to send again.
#[test]
fn each_flow_has_its_own_orders_and_a_stale_form_a_new_attempt() {
    let (_dir, pool) = with_fine("awaiting_payment");
    let mut conn = pool.get().expect("connection");
    let early = window_end().and_utc() - Duration::hours(3);
    let qr = prepare(&pool, &mut conn, FINE, (ChannelKind::Wechat, Flow::Qr), None, early).expect("QR");
    let h5 = prepare(&pool, &mut conn, FINE, (ChannelKind::Wechat, Flow::H5), None, early).expect("H5");
    assert_eq!((qr.out_trade_no.as_str(), qr.flow.as_str()), ("1101052611210000176W01", "qr"));
    assert_eq!((h5.out_trade_no.as_str(), h5.flow.as_str()), ("1101052611210000176W21", "h5"));
    let form = prepare(&pool, &mut conn, FINE, (ChannelKind::Unionpay, Flow::MobileWeb), None, early).expect("form");
    let soon =
        prepare(&pool, &mut conn, FINE, (ChannelKind::Unionpay, Flow::MobileWeb), None, early + Duration::minutes(3));
    assert_eq!(soon.expect("the same form").out_trade_no, form.out_trade_no);
    let later =
        prepare(&pool, &mut conn, FINE, (ChannelKind::Unionpay, Flow::MobileWeb), None, early + Duration::minutes(5));
    assert_eq!(later.expect("a new attempt").out_trade_no, "1101052611210000176U42");
    assert_eq!(channel_orders::for_fine(&mut conn, FINE).expect("orders").len(), 4);
}

#[test]
fn a_jsapi_order_is_one_payers_and_another_payer_gets_their_own() {
    let (_dir, pool) = with_fine("awaiting_payment");
    let mut conn = pool.get().expect("connection");
    let at = window_end().and_utc() - Duration::hours(3);
    let jsapi = (ChannelKind::Wechat, Flow::Jsapi);
    let first = prepare(&pool, &mut conn, FINE, jsapi, Some("payer-a"), at).expect("A's order");
    let again = prepare(&pool, &mut conn, FINE, jsapi, Some("payer-a"), at).expect("A again");
    assert_eq!(again.out_trade_no, first.out_trade_no);
    let other = prepare(&pool, &mut conn, FINE, jsapi, Some("payer-b"), at).expect("B's order");
    assert_eq!(
        (first.out_trade_no.as_str(), other.out_trade_no.as_str()),
        ("1101052611210000176W11", "1101052611210000176W12")
    );
    assert_eq!(other.payer.as_deref(), Some("payer-b"));
    // A's stays open beside B's, and is A's again.
    assert_eq!(
        prepare(&pool, &mut conn, FINE, jsapi, Some("payer-a"), at).expect("A").out_trade_no,
        first.out_trade_no
    );
}
