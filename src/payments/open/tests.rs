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
    let order = prepare(&pool, &mut conn, FINE, ChannelKind::Alipay, last_second).expect("open");
    assert_eq!((order.amount_fen, order.pay_by), (20000, window_end()), "the channel's deadline is the window's end");
    let same = prepare(&pool, &mut conn, FINE, ChannelKind::Alipay, last_second).expect("open");
    assert_eq!(same.out_trade_no, order.out_trade_no, "one order per fine and channel");
    let at_the_end = prepare(&pool, &mut conn, FINE, ChannelKind::Wechat, window_end().and_utc());
    assert!(matches!(at_the_end, Err(OpenError::Expired)), "{at_the_end:?}");
}

#[test]
fn a_fine_that_cannot_be_paid_by_qr_opens_no_order() {
    for (status, refused) in [("paid", "AlreadyPaid"), ("void", "Void"), ("payable_at_bank", "Expired")] {
        let (_dir, pool) = with_fine(status);
        let mut conn = pool.get().expect("connection");
        let early = window_end().and_utc() - Duration::hours(1);
        let answer = prepare(&pool, &mut conn, FINE, ChannelKind::Unionpay, early).expect_err(status);
        assert!(format!("{answer:?}").starts_with(refused), "{status}: {answer:?}");
        assert!(channel_orders::for_fine(&mut conn, FINE).expect("orders").is_empty());
    }
}
