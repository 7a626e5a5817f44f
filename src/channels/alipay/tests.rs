//! finepay's Alipay client against the simulator, over HTTP on a free port: the protocol both ways
//! (signed requests, answers verified over their raw text, notifications by their own rule) and
//! the rules the real gateway enforces — no trade before the scan, the QR's own expiry, refunds
//! once per `out_request_no`, and the next day's bill behind a 30-second URL.

use super::protocol::{Params, encode_form, parse_form, sign_notification, sign_request};
use super::{AlipayClient, AlipayConfig};
use crate::channels::crypto::{RsaPublicKey, RsaSigningKey};
use crate::channels::sim::{self, Delivery, PayError, Simulator};
use crate::channels::sim::{AlipaySim, AlipaySimConfig};
use crate::channels::simulator_fixture as fixture;
use crate::channels::{
    ChannelError, ChannelKind, ChannelPayment, CloseOutcome, NotifyError, OrderRequest, OrderStatus, PaymentChannel,
    RefundRequest, RefundStatus, StatementKind, StatementLine,
};
use crate::channels::{pay_code_of as code_of, test_order as order};
use crate::domain::Fen;
use crate::domain::time::{Clock, ManualClock, shanghai_date};
use chrono::Duration;
use std::sync::Arc;

pub(super) const APP_ID: &str = "2021000117694410";
pub(super) const SELLER_ID: &str = "2088102119685838";

pub(super) fn signing_key(name: &str) -> RsaSigningKey {
    RsaSigningKey::from_pem(&fixture(name)).expect("private key")
}

fn public_key(name: &str) -> RsaPublicKey {
    RsaPublicKey::from_pem(&fixture(name)).expect("public key")
}

struct Setup {
    client: AlipayClient,
    server: sim::SimServer,
    clock: Arc<ManualClock>,
}

impl Setup {
    fn alipay(&self) -> &AlipaySim {
        self.server.simulator.alipay.as_ref().expect("the Alipay simulator")
    }

    /// Another client of the same simulator, configured by `adjust`, on its own `clock`.
    fn client(&self, clock: Arc<dyn Clock>, adjust: impl FnOnce(&mut AlipayConfig)) -> AlipayClient {
        let mut config = client_config(self.server.port);
        adjust(&mut config);
        AlipayClient::new(config, clock, std::time::Duration::from_secs(5)).expect("client")
    }
}

/// finepay's client configuration for the simulator at `port`.
pub(super) fn client_config(port: u16) -> AlipayConfig {
    AlipayConfig {
        gateway_url: format!("http://127.0.0.1:{port}/gateway.do"),
        app_id: APP_ID.into(),
        seller_id: SELLER_ID.into(),
        app_private_key: signing_key("alipay_app.key.pem"),
        alipay_public_key: public_key("alipay_platform.pub.pem"),
        notify_url: "http://127.0.0.1:8080/notify/alipay".into(),
    }
}

/// The simulator on a free port and a client for it, at 09:00 Beijing on 2026-11-20.
fn setup(adjust: impl FnOnce(&mut AlipayConfig)) -> Setup {
    let start = super::protocol::parse_beijing_time("2026-11-20 09:00:00").expect("start");
    let clock = Arc::new(ManualClock::new(start));
    let simulator = Simulator {
        alipay: Some(AlipaySim::new(
            AlipaySimConfig {
                app_id: APP_ID.into(),
                seller_id: SELLER_ID.into(),
                app_public_key: public_key("alipay_app.pub.pem"),
                signing_key: signing_key("alipay_platform.key.pem"),
                pay_link_base: "http://127.0.0.1/sim/alipay/pay".into(),
            },
            clock.clone(),
        )),
        ..Simulator::default()
    };
    let server = sim::start("127.0.0.1:0", simulator).expect("simulator starts");
    let mut config = client_config(server.port);
    adjust(&mut config);
    let client = AlipayClient::new(config, clock.clone(), std::time::Duration::from_secs(5)).expect("client");
    Setup { client, server, clock }
}

fn refused_with(result: Result<impl std::fmt::Debug, ChannelError>, sub_code: &str) {
    assert!(matches!(&result, Err(ChannelError::Refused { code, .. }) if code == sub_code), "{result:?}");
}

/// Opens `out_trade_no` and has the payer scan and pay it.
async fn paid_order(s: &Setup, out_trade_no: &str) -> (ChannelPayment, Delivery) {
    let created = s.client.create_order(&order(out_trade_no, &s.clock)).await.expect("precreate");
    let notification = s.alipay().pay(&code_of(&created.pay_url)).expect("payer pays").notification;
    let OrderStatus::Paid(payment) = s.client.query(out_trade_no).await.expect("query") else { panic!("not paid") };
    (payment, notification)
}

#[actix_web::test]
async fn an_order_has_no_trade_until_scanned_then_is_paid_and_cannot_be_closed() {
    let s = setup(|_| {});
    assert_eq!(s.client.kind(), ChannelKind::Alipay);
    let request = order("1101052611200000176A01", &s.clock);
    let created = s.client.create_order(&request).await.expect("precreate");
    assert!(created.pay_url.starts_with("http://127.0.0.1/sim/alipay/pay?pr="), "{}", created.pay_url);
    // An identical repeat returns the same code; a changed one is refused.
    assert_eq!(s.client.create_order(&request).await.expect("repeat").pay_url, created.pay_url);
    let changed = OrderRequest { amount: Fen(100), ..request.clone() };
    refused_with(s.client.create_order(&changed).await, "ACQ.CONTEXT_INCONSISTENT");

    assert_eq!(s.client.query(&request.out_trade_no).await, Ok(OrderStatus::NotFound), "not started");
    let code = code_of(&created.pay_url);
    let shown = s.alipay().wallet(&code).expect("the payer scans");
    assert_eq!(
        (shown.amount, shown.payable, shown.description.as_str()),
        (Fen(20000), true, "交通违法罚款 1101052611200000176")
    );
    assert_eq!(s.client.query(&request.out_trade_no).await, Ok(OrderStatus::Open));

    s.clock.advance(Duration::minutes(3));
    let paid = s.alipay().pay(&code).expect("payer pays");
    let status = s.client.query(&request.out_trade_no).await.expect("query");
    let OrderStatus::Paid(payment) = status else { panic!("paid, got {status:?}") };
    assert_eq!((payment.amount, payment.paid_at), (Fen(20000), s.clock.now()));
    assert!(payment.channel_txn_id.len() == 28 && payment.channel_txn_id.starts_with("20261120"));
    // The notification says the same, once verified.
    assert_eq!(paid.notification.url, "http://127.0.0.1:8080/notify/alipay");
    assert_eq!(s.client.verify_notification(&paid.notification.inbound()), Ok(payment));
    let accepted = s.client.accepted_reply();
    assert!(AlipaySim::accepts(accepted.status, accepted.body.as_bytes()) && accepted.body == "success");

    assert_eq!(s.client.close(&request.out_trade_no).await, Ok(CloseOutcome::AlreadyPaid));
    assert_eq!(s.alipay().pay(&code).err(), Some(PayError::NotPayable));
    refused_with(s.client.create_order(&request).await, "ACQ.TRADE_HAS_SUCCESS");
}

#[actix_web::test]
async fn closing_finds_no_trade_before_the_scan_and_closes_one_after_it() {
    let s = setup(|_| {});
    let request = order("1101052611200000277A01", &s.clock);
    let code = code_of(&s.client.create_order(&request).await.expect("precreate").pay_url);
    assert_eq!(s.client.close(&request.out_trade_no).await, Ok(CloseOutcome::NotFound));
    // Closing before the scan changes nothing at Alipay: the QR still scans (its own expiry is
    // what ends it), and the trade it creates can then be closed.
    assert!(s.alipay().wallet(&code).expect("still scans").payable);
    assert_eq!(s.client.close(&request.out_trade_no).await, Ok(CloseOutcome::Closed));
    assert_eq!(s.client.query(&request.out_trade_no).await, Ok(OrderStatus::Closed));
    assert_eq!(s.alipay().pay(&code).err(), Some(PayError::NotPayable));
    assert!(!s.alipay().wallet(&code).expect("shows the trade").payable);
    assert_eq!(s.client.close(&request.out_trade_no).await, Ok(CloseOutcome::Closed), "closing twice");
    refused_with(s.client.create_order(&request).await, "ACQ.TRADE_HAS_CLOSE");

    assert_eq!(s.client.query("1101059999999999999A01").await, Ok(OrderStatus::NotFound));
    assert_eq!(s.client.close("1101059999999999999A01").await, Ok(CloseOutcome::NotFound));
    assert_eq!(s.alipay().wallet("no-such-code").err(), Some(PayError::UnknownCode));
}

#[actix_web::test]
async fn the_qr_expires_at_pay_by_and_a_scanned_unpaid_trade_closes_then() {
    let s = setup(|_| {});
    let scanned_late =
        OrderRequest { pay_by: s.clock.now() + Duration::hours(1), ..order("1101052611200000378A01", &s.clock) };
    let late_scan_code = code_of(&s.client.create_order(&scanned_late).await.expect("precreate").pay_url);
    let scanned_early = OrderRequest { out_trade_no: "1101052611200000378A02".into(), ..scanned_late.clone() };
    let early_scan_code = code_of(&s.client.create_order(&scanned_early).await.expect("precreate").pay_url);
    assert!(s.alipay().wallet(&early_scan_code).expect("scans").payable);

    s.clock.advance(Duration::minutes(59));
    assert!(s.alipay().wallet(&late_scan_code).expect("a minute left").payable);
    s.clock.advance(Duration::minutes(1));
    // The late scan made a trade too; both close at time_expire, unpaid.
    assert_eq!(s.alipay().pay(&late_scan_code).err(), Some(PayError::NotPayable));
    assert_eq!(s.client.query(&scanned_early.out_trade_no).await, Ok(OrderStatus::Closed));
    assert_eq!(s.alipay().pay(&early_scan_code).err(), Some(PayError::NotPayable));

    let late = OrderRequest {
        out_trade_no: "1101052611200000378A03".into(),
        pay_by: s.clock.now() + Duration::minutes(30),
        opened_at: s.clock.now(),
        ..scanned_late
    };
    let late_code = code_of(&s.client.create_order(&late).await.expect("precreate").pay_url);
    s.clock.advance(Duration::minutes(30));
    assert_eq!(s.alipay().wallet(&late_code).err(), Some(PayError::CodeExpired), "never scanned, now expired");
    assert_eq!(s.alipay().pay(&late_code).err(), Some(PayError::CodeExpired));
    assert_eq!(s.client.query(&late.out_trade_no).await, Ok(OrderStatus::NotFound));
}

fn refund_of(payment: &ChannelPayment, out_refund_no: &str, amount: Fen, clock: &ManualClock) -> RefundRequest {
    RefundRequest {
        out_trade_no: payment.out_trade_no.clone(),
        channel_txn_id: payment.channel_txn_id.clone(),
        out_refund_no: out_refund_no.into(),
        requested_at: clock.now(),
        flow: crate::channels::Flow::Qr,
        paid: payment.amount,
        amount,
        reason: "处罚决定撤销".into(),
    }
}

#[actix_web::test]
async fn refunds_happen_once_per_request_number_and_can_be_queried() {
    let s = setup(|_| {});
    let (payment, _) = paid_order(&s, "1101052611200000479A01").await;
    let first = refund_of(&payment, "R1101052611200000479A01", Fen(5000), &s.clock);
    let done = RefundStatus::Succeeded { channel_refund_id: payment.channel_txn_id.clone(), at: s.clock.now() };
    assert_eq!(s.client.refund(&first).await, Ok(done.clone()));
    s.clock.advance(Duration::minutes(1));
    assert_eq!(s.client.refund(&first).await, Ok(done.clone()), "a repeat reports the same refund");
    assert_eq!(s.client.query_refund(&first).await, Ok(done));

    // Only 50.00 went back: 150.00 is left, and not a fen more.
    let too_much = refund_of(&payment, "R1101052611200000479A02", Fen(15001), &s.clock);
    refused_with(s.client.refund(&too_much).await, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
    let never_asked = refund_of(&payment, "R1101052611200000479A09", Fen(100), &s.clock);
    assert!(matches!(s.client.query_refund(&never_asked).await, Ok(RefundStatus::Failed(_))));
    let rest = refund_of(&payment, "R1101052611200000479A02", Fen(15000), &s.clock);
    assert!(matches!(s.client.refund(&rest).await, Ok(RefundStatus::Succeeded { .. })));
    assert_eq!(s.client.query(&payment.out_trade_no).await, Ok(OrderStatus::Closed), "fully refunded");
}

#[actix_web::test]
async fn wrong_keys_stale_requests_and_unverifiable_answers_are_refused() {
    // The app signs with a key whose public half Alipay does not hold for it.
    let s = setup(|c| c.app_private_key = signing_key("alipay_platform.key.pem"));
    refused_with(s.client.create_order(&order("1101052611200000580A01", &s.clock)).await, "isv.invalid-signature");
    let foreign_app = s.client(s.clock.clone(), |c| c.app_id = "2021000000000000".into());
    refused_with(foreign_app.query("1101052611200000580A01").await, "isv.invalid-app-id");
    let slow_clock = Arc::new(ManualClock::new(s.clock.now() - Duration::minutes(31)));
    let stale = s.client(slow_clock, |_| {});
    refused_with(stale.query("1101052611200000580A01").await, "isv.invalid-timestamp");

    // finepay verifies with the wrong key (its own app public key, a classic mistake): the
    // answer must not be believed, whatever it says.
    let s = setup(|c| c.alipay_public_key = public_key("alipay_app.pub.pem"));
    let unverified = s.client.create_order(&order("1101052611200000580A02", &s.clock)).await;
    assert!(matches!(unverified, Err(ChannelError::Unverified(_))), "{unverified:?}");
    let unverified = s.client.query("1101052611200000580A02").await;
    assert!(matches!(unverified, Err(ChannelError::Unverified(_))), "even a refusal: {unverified:?}");
}

/// `notification` with `change` applied, signed again by Alipay's key under `rule`.
fn resigned(
    notification: &Delivery,
    change: impl FnOnce(&mut Params),
    rule: fn(&mut Params, &RsaSigningKey),
) -> Delivery {
    let mut params = parse_form(&notification.body).expect("form");
    params.remove("sign");
    change(&mut params);
    rule(&mut params, &signing_key("alipay_platform.key.pem"));
    Delivery { body: encode_form(&params).into_bytes(), ..notification.clone() }
}

/// A change that sets one field.
fn set(name: &'static str, value: &'static str) -> impl FnOnce(&mut Params) {
    move |params| {
        params.insert(name.into(), value.into());
    }
}

fn notification_rule(params: &mut Params, key: &RsaSigningKey) {
    sign_notification(params, key).expect("signs");
}

fn request_rule(params: &mut Params, key: &RsaSigningKey) {
    sign_request(params, key).expect("signs");
}

#[actix_web::test]
async fn notifications_are_verified_by_their_own_rule_and_checked_against_this_merchant() {
    let s = setup(|_| {});
    let (payment, paid) = paid_order(&s, "1101052611200000681A01").await;
    // Values travel URL-encoded (a space as `+`, JSON quotes as %22) and are verified decoded.
    let body = String::from_utf8(paid.body.clone()).expect("ASCII");
    assert!(body.contains("notify_time=2026-11-20+09%3A00%3A00") && body.contains("%22fundChannel%22"), "{body}");
    assert_eq!(s.client.verify_notification(&paid.inbound()), Ok(payment));
    let check = |delivery: &Delivery| s.client.verify_notification(&delivery.inbound());

    let tampered_body = String::from_utf8(paid.body.clone()).expect("ASCII");
    let tampered_body = tampered_body.replace("total_amount=200.00", "total_amount=0.01");
    let tampered = Delivery { body: tampered_body.into_bytes(), ..paid.clone() };
    assert_ne!(tampered.body, paid.body);
    assert_eq!(check(&tampered), Err(NotifyError::BadSignature));
    assert_eq!(check(&AlipaySim::probe(&paid)), Err(NotifyError::BadSignature), "a probe");
    assert!(!AlipaySim::accepts(s.client.refused_reply(&NotifyError::BadSignature).status, b"fail"));
    let by_request_rule = resigned(&paid, |_| {}, request_rule);
    assert_eq!(check(&by_request_rule), Err(NotifyError::BadSignature), "signed with sign_type in");
    let unsigned = resigned(&paid, |_| {}, |_, _| {});
    assert_eq!(check(&unsigned), Err(NotifyError::MissingHeaders));
    let sha1 = resigned(&paid, set("sign_type", "RSA"), notification_rule);
    assert_eq!(check(&sha1), Err(NotifyError::BadSignature), "only RSA2");

    let other_app = resigned(&paid, set("app_id", "2021000000000000"), notification_rule);
    assert_eq!(check(&other_app), Err(NotifyError::WrongMerchant));
    let other_seller = resigned(&paid, set("seller_id", "2088000000000000"), notification_rule);
    assert_eq!(check(&other_seller), Err(NotifyError::WrongMerchant));
    let waiting = resigned(&paid, set("trade_status", "WAIT_BUYER_PAY"), notification_rule);
    assert_eq!(check(&waiting), Err(NotifyError::NotPaid("WAIT_BUYER_PAY".into())));
    let finished = resigned(&paid, set("trade_status", "TRADE_FINISHED"), notification_rule);
    assert!(check(&finished).is_ok(), "TRADE_FINISHED is paid too");
    let wrong_client = s.client(s.clock.clone(), |c| c.app_id = "2021000000000000".into());
    assert_eq!(wrong_client.verify_notification(&paid.inbound()), Err(NotifyError::WrongMerchant));
    let twice = Delivery { body: [paid.body.as_slice(), b"&trade_status=TRADE_SUCCESS"].concat(), ..paid.clone() };
    assert!(matches!(check(&twice), Err(NotifyError::Malformed(_))), "a field given twice");
}

#[actix_web::test]
async fn the_next_days_bill_lists_the_days_payments_and_refunds_behind_a_short_lived_url() {
    let s = setup(|_| {});
    let day = shanghai_date(s.clock.now());
    let (first, _) = paid_order(&s, "1101052611200000782A01").await;
    s.clock.advance(Duration::hours(2));
    let second_request = OrderRequest { amount: Fen(5050), ..order("1101052611200000782A02", &s.clock) };
    let second_code = code_of(&s.client.create_order(&second_request).await.expect("precreate").pay_url);
    s.alipay().pay(&second_code).expect("pays");
    let OrderStatus::Paid(second) = s.client.query(&second_request.out_trade_no).await.expect("query") else {
        panic!("not paid")
    };
    s.clock.advance(Duration::hours(1));
    let refund = refund_of(&first, "R1101052611200000782A01", Fen(8000), &s.clock);
    let RefundStatus::Succeeded { at: refunded_at, .. } = s.client.refund(&refund).await.expect("refund") else {
        panic!("not refunded")
    };
    refused_with(s.client.download_bill(day).await, "isp.bill_not_exist");

    // 10:00 the next morning (Beijing) the bill is there.
    s.clock.advance(Duration::hours(22));
    let statement = s.client.download_bill(day).await.expect("bill");
    let payment_line = |p: &ChannelPayment| StatementLine {
        kind: StatementKind::Payment,
        out_trade_no: p.out_trade_no.clone(),
        channel_txn_id: p.channel_txn_id.clone(),
        out_refund_no: None,
        amount: p.amount,
        at: p.paid_at,
    };
    let refund_line = StatementLine {
        kind: StatementKind::Refund,
        out_refund_no: Some(refund.out_refund_no.clone()),
        amount: Fen(8000),
        at: refunded_at,
        ..payment_line(&first)
    };
    assert_eq!(statement, vec![payment_line(&first), payment_line(&second), refund_line]);

    let url = s.client.bill_url(day).await.expect("url");
    s.clock.advance(Duration::seconds(30));
    let expired = s.client.fetch_bill(&url).await;
    assert!(matches!(expired, Err(ChannelError::Refused { status: 403, .. })), "{expired:?}");
}

/// The cashier the gateway shows for a wap.pay URL, fetched as the payer's browser does (GET).
async fn open_cashier(url: &str) -> String {
    reqwest::get(url).await.expect("the gateway answers").text().await.expect("a page")
}

/// The payer code in a cashier page's Pay form.
fn cashier_code(page: &str) -> String {
    let start = page.find("name=\"code\" value=\"").expect("a Pay form") + "name=\"code\" value=\"".len();
    page[start..].split('"').next().expect("code").to_owned()
}

#[actix_web::test]
async fn a_wap_pay_url_opens_the_cashier_and_paying_returns_signed_to_return_url() {
    let s = setup(|_| {});
    let request = order("1101052611200000176B21", &s.clock);
    let url = s
        .client
        .start_wap(&request, "http://127.0.0.1:8080/p/TOKEN?back=1", "http://127.0.0.1:8080/p/TOKEN")
        .expect("a signed URL");
    assert!(url.starts_with(&format!("http://127.0.0.1:{}/gateway.do?", s.server.port)), "{url}");
    let query: Params = parse_form(url.split_once('?').expect("query").1.as_bytes()).expect("form");
    assert_eq!(query.get("method").map(String::as_str), Some("alipay.trade.wap.pay"));
    assert!(query["biz_content"].contains("\"product_code\":\"QUICK_WAP_WAY\""), "{}", query["biz_content"]);
    assert!(query["biz_content"].contains("\"time_expire\":\"2026-11-20 13:00:00\""), "{}", query["biz_content"]);

    let page = open_cashier(&url).await;
    assert!(page.contains("id=\"pay\"") && page.contains("200.00"), "{page}");
    // Opening the cashier makes the trade; reopening it (a reload) is the same trade.
    assert_eq!(s.client.query(&request.out_trade_no).await.expect("query"), OrderStatus::Open);
    assert_eq!(cashier_code(&open_cashier(&url).await), cashier_code(&page));

    let pay = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let paid = pay
        .post(format!("http://127.0.0.1:{}/sim/alipay/wap/pay", s.server.port))
        .form(&[("code", cashier_code(&page))])
        .send()
        .await
        .expect("pay");
    assert_eq!(paid.status().as_u16(), 303);
    let location = paid.headers()["location"].to_str().expect("location").to_owned();
    let back = location.strip_prefix("http://127.0.0.1:8080/p/TOKEN?back=1&").expect("to return_url");
    let returned = parse_form(back.as_bytes()).expect("form");
    assert_eq!(returned.get("method").map(String::as_str), Some("alipay.trade.wap.pay.return"));
    assert_eq!(returned.get("out_trade_no"), Some(&request.out_trade_no));
    assert_eq!(returned.get("trade_status"), None, "the synchronous return carries no status");
    assert!(super::protocol::notification_is_signed_by(&returned, &public_key("alipay_platform.pub.pem")));
    let OrderStatus::Paid(payment) = s.client.query(&request.out_trade_no).await.expect("query") else {
        panic!("not paid")
    };
    assert_eq!(payment.amount, Fen(20000));
    // A paid trade's cashier does not open again.
    assert!(open_cashier(&url).await.contains("交易已被支付"));
}

#[actix_web::test]
async fn the_cashier_refuses_a_tampered_late_or_paid_request_as_alipay_does() {
    let s = setup(|_| {});
    let request = order("1101052611200000176B21", &s.clock);
    let url = s.client.start_wap(&request, "http://127.0.0.1:8080/p/T", "http://127.0.0.1:8080/p/T").expect("url");
    let query = url.split_once('?').expect("query").1;

    let tampered = query.replace("200.00", "2.00");
    let refused = s.alipay().pay_wap(tampered.as_bytes(), b"");
    assert!(matches!(&refused, Err(PayError::Refused(message)) if message.contains("验签出错")), "{refused:?}");
    assert!(open_cashier(&url.replace("200.00", "2.00")).await.contains("isv.invalid-signature"));

    // The same request as a posted form (the SDK's default page-execute) pays.
    let (protocol, application): (Vec<_>, Vec<_>) =
        parse_form(query.as_bytes()).expect("form").into_iter().partition(|(key, _)| key != "biz_content");
    let action_query = encode_form(&protocol.into_iter().collect());
    let body = encode_form(&application.into_iter().collect());
    let payment = s.alipay().pay_wap(action_query.as_bytes(), body.as_bytes()).expect("the form pays");
    s.client.parse_notification(&payment.notification.body).expect("a notification finepay accepts");
    let again = s.alipay().pay_wap(query.as_bytes(), b"");
    assert!(matches!(&again, Err(PayError::Refused(message)) if message.contains("已被支付")), "{again:?}");

    // Past time_expire, a request never opened is refused.
    let late = order("1101052611200000176B22", &s.clock);
    let url = s.client.start_wap(&late, "http://127.0.0.1:8080/p/T", "http://127.0.0.1:8080/p/T").expect("url");
    s.clock.advance(Duration::hours(4));
    let late = s.alipay().pay_wap(url.split_once('?').expect("query").1.as_bytes(), b"");
    assert!(matches!(late, Err(PayError::Refused(_))), "{late:?}");
}

#[actix_web::test]
async fn the_gateway_takes_an_api_call_by_get_as_some_sdks_send_it() {
    let s = setup(|_| {});
    let request = order("1101052611200000176A01", &s.clock);
    s.client.create_order(&request).await.expect("precreate");
    let mut params: Params = [
        ("app_id", APP_ID.to_owned()),
        ("method", "alipay.trade.close".to_owned()),
        ("charset", "utf-8".to_owned()),
        ("sign_type", "RSA2".to_owned()),
        ("version", "1.0".to_owned()),
        ("timestamp", "2026-11-20 09:00:00".to_owned()),
        ("biz_content", format!("{{\"out_trade_no\":\"{}\"}}", request.out_trade_no)),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    sign_request(&mut params, &signing_key("alipay_app.key.pem")).expect("signed");
    let url = format!("http://127.0.0.1:{}/gateway.do?{}", s.server.port, encode_form(&params));
    let answer = reqwest::get(&url).await.expect("answer").text().await.expect("text");
    // Answered, signed, as by POST: the order was never scanned, so there is no trade to close.
    assert!(answer.contains("alipay_trade_close_response") && answer.contains("ACQ.TRADE_NOT_EXIST"), "{answer}");
    assert!(answer.contains("\"sign\":"), "{answer}");
}
