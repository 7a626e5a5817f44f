//! Refunds: accepted as PROCESSING, SUCCESS once settled, once per `out_refund_no`, never more
//! than was paid, and only of paid orders.

use super::*;
use crate::channels::RefundStatus;

#[actix_web::test]
async fn a_refund_is_processing_until_it_settles_and_the_order_shows_refund() {
    let s = setup(|_| {});
    let payment = paid_order(&s, "1101052611210000883W01", Fen(20000)).await;
    let refund = refund_of(&payment, "1101052611210000883R01", Fen(5000), &s.clock);
    let asked_at = s.clock.now();
    assert_eq!(s.client.refund(&refund).await, Ok(RefundStatus::Processing));
    assert_eq!(s.client.query_refund(&refund.out_refund_no).await, Ok(RefundStatus::Processing));

    // The order's trade_state is REFUND from the moment a refund is asked for; it stays paid.
    let (status, transaction) =
        signed_get(&s, "/v3/pay/transactions/out-trade-no/1101052611210000883W01?mchid=1230000109").await;
    assert_eq!((status, transaction["trade_state"].as_str()), (200, Some("REFUND")));
    assert_eq!(s.client.query(&payment.out_trade_no).await, Ok(OrderStatus::Paid(payment.clone())));

    s.clock.advance(REFUND_SETTLES_AFTER);
    let settled = s.client.query_refund(&refund.out_refund_no).await.expect("query");
    let RefundStatus::Succeeded { channel_refund_id, at } = settled else { panic!("settled, got {settled:?}") };
    assert!(channel_refund_id.starts_with("50") && channel_refund_id.len() == 29, "{channel_refund_id}");
    assert_eq!(at, asked_at + REFUND_SETTLES_AFTER);
}

#[actix_web::test]
async fn a_refund_number_refunds_once() {
    let s = setup(|_| {});
    let payment = paid_order(&s, "1101052611210000984W01", Fen(20000)).await;
    let refund = refund_of(&payment, "1101052611210000984R01", Fen(5000), &s.clock);
    assert_eq!(s.client.refund(&refund).await, Ok(RefundStatus::Processing));
    assert_eq!(s.client.refund(&refund).await, Ok(RefundStatus::Processing), "a retry");
    let (_, first) = signed_get(&s, "/v3/refund/domestic/refunds/1101052611210000984R01").await;

    s.clock.advance(REFUND_SETTLES_AFTER);
    let repeated = s.client.refund(&refund).await.expect("a retry after settling");
    let RefundStatus::Succeeded { channel_refund_id, .. } = &repeated else { panic!("settled, got {repeated:?}") };
    assert_eq!(Some(channel_refund_id.as_str()), first["refund_id"].as_str(), "the same refund");
    assert_eq!(s.client.query_refund(&refund.out_refund_no).await, Ok(repeated));

    // The same number with other parameters is refused, not a second refund.
    let changed = RefundRequest { amount: Fen(6000), ..refund.clone() };
    assert!(refused(&s.client.refund(&changed).await, 400, "INVALID_REQUEST"));
    // One refund of 50.00 was taken: exactly 150.00 remain.
    let too_much = refund_of(&payment, "1101052611210000984R02", Fen(15001), &s.clock);
    assert!(refused(&s.client.refund(&too_much).await, 400, "INVALID_REQUEST"));
    let rest = refund_of(&payment, "1101052611210000984R03", Fen(15000), &s.clock);
    assert_eq!(s.client.refund(&rest).await, Ok(RefundStatus::Processing));
}

#[actix_web::test]
async fn refunds_beyond_the_payment_of_unpaid_or_unknown_orders_are_refused() {
    let s = setup(|_| {});
    let payment = paid_order(&s, "1101052611210001085W01", Fen(20000)).await;
    let over = refund_of(&payment, "1101052611210001085R01", Fen(20001), &s.clock);
    assert!(refused(&s.client.refund(&over).await, 400, "INVALID_REQUEST"), "more than was paid");
    let wrong_total =
        RefundRequest { paid: Fen(10000), ..refund_of(&payment, "1101052611210001085R02", Fen(100), &s.clock) };
    assert!(refused(&s.client.refund(&wrong_total).await, 400, "INVALID_REQUEST"), "not the order's amount");
    let bad_number = refund_of(&payment, "退款#1", Fen(100), &s.clock);
    assert!(refused(&s.client.refund(&bad_number).await, 400, "PARAM_ERROR"));

    let unpaid = order("1101052611210001085W02", &s.clock);
    s.client.create_order(&unpaid).await.expect("prepay");
    let of_unpaid = RefundRequest {
        out_trade_no: unpaid.out_trade_no.clone(),
        channel_txn_id: "4200000000000000000000000000".into(),
        ..refund_of(&payment, "1101052611210001085R03", Fen(100), &s.clock)
    };
    assert!(refused(&s.client.refund(&of_unpaid).await, 400, "INVALID_REQUEST"), "an unpaid order");
    let of_unknown = RefundRequest { out_trade_no: "1101059999999999999W01".into(), ..of_unpaid.clone() };
    assert!(refused(&s.client.refund(&of_unknown).await, 404, "RESOURCE_NOT_EXISTS"));
    assert!(refused(&s.client.query_refund("1101059999999999999R01").await, 404, "RESOURCE_NOT_EXISTS"));
    // None of these took anything: the whole payment can still be refunded.
    let whole = refund_of(&payment, "1101052611210001085R04", Fen(20000), &s.clock);
    assert_eq!(s.client.refund(&whole).await, Ok(RefundStatus::Processing));
}
