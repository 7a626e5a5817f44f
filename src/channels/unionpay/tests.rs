//! finepay's UnionPay client against the simulator, over HTTP on a free port: the protocol both
//! ways (signed requests, answers verified through `signPubKeyCert`, signed back notifications)
//! and the rules the real gateway enforces.

use super::protocol::{FILE_TRANS_PATH, Fields, encode_form, parse_form, sign_message};
use super::{UnionpayClient, UnionpayConfig};
use crate::channels::crypto::{Certificate, RsaSigningKey};
use crate::channels::sim::{self, Delivery, PayError, Simulator};
use crate::channels::sim::{UnionpaySim, UnionpaySimConfig};
use crate::channels::simulator_fixture as fixture;
use crate::channels::{
    ChannelError, ChannelPayment, CloseOutcome, Flow, NotifyError, OrderRef, OrderRequest, OrderStatus, PaymentChannel,
    RefundRequest, RefundStatus, StatementKind, StatementLine,
};
use crate::channels::{pay_code_of as code_of, test_order as order};
use crate::domain::Fen;
use crate::domain::time::{Clock, ManualClock, SHANGHAI, shanghai_date};
use chrono::{DateTime, Days, Duration, NaiveDate, SubsecRound, TimeZone, Utc};
use std::sync::Arc;

pub(super) const MER_ID: &str = "777290058110048";
const REFUND_SETTLES_AFTER: Duration = Duration::minutes(2);

pub(super) fn cert(name: &str) -> Certificate {
    Certificate::from_pem(&fixture(name)).expect("certificate")
}

pub(super) fn key(name: &str) -> RsaSigningKey {
    RsaSigningKey::from_pem(&fixture(name)).expect("key")
}

struct Setup {
    client: UnionpayClient,
    server: sim::SimServer,
    clock: Arc<ManualClock>,
}

/// The simulator on a free port, signing with `signer` (`unionpay_sign` unless a test needs
/// another certificate), and a client configured for it.
fn setup(signer: &str) -> Setup {
    let clock = Arc::new(ManualClock::new(Utc::now().trunc_subsecs(0)));
    let merchant = cert("unionpay_merchant.cert.pem");
    let simulator = Simulator {
        unionpay: Some(UnionpaySim::new(
            UnionpaySimConfig {
                mer_id: MER_ID.into(),
                merchant_certs: [(merchant.serial_decimal.clone(), merchant.public_key.clone())].into(),
                signing_key: key(&format!("{signer}.key.pem")),
                signing_cert_pem: fixture(&format!("{signer}.cert.pem")),
                pay_link_base: "http://127.0.0.1/sim/unionpay/pay".into(),
                refund_settles_after: REFUND_SETTLES_AFTER,
            },
            clock.clone(),
        )),
        ..Default::default()
    };
    let server = sim::start("127.0.0.1:0", simulator).expect("simulator starts");
    Setup { client: client_with(server.port, clock.clone(), |_| {}), server, clock }
}

/// Another client of the same simulator and clock, changed by `adjust`.
fn client(s: &Setup, adjust: impl FnOnce(&mut UnionpayConfig)) -> UnionpayClient {
    client_with(s.server.port, s.clock.clone(), adjust)
}

/// finepay's client of the simulator at `port`, configured as in production but for `adjust`.
pub(super) fn client_with(
    port: u16,
    clock: Arc<ManualClock>,
    adjust: impl FnOnce(&mut UnionpayConfig),
) -> UnionpayClient {
    let mut config = UnionpayConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        file_transfer_url: format!("http://127.0.0.1:{port}{FILE_TRANS_PATH}"),
        mer_id: MER_ID.into(),
        cert_id: cert("unionpay_merchant.cert.pem").serial_decimal,
        signing_key: key("unionpay_merchant.key.pem"),
        root: cert("unionpay_root.cert.pem"),
        middle: cert("unionpay_middle.cert.pem"),
        validate_cn_name: true,
        back_url: "http://127.0.0.1:8080/notify/unionpay".into(),
    };
    adjust(&mut config);
    UnionpayClient::new(config, clock, std::time::Duration::from_secs(5)).expect("client")
}

fn unionpay(s: &Setup) -> &UnionpaySim {
    s.server.simulator.unionpay.as_ref().expect("the UnionPay simulator")
}

fn refused_with(result: Result<impl std::fmt::Debug, ChannelError>, expected: &str) {
    match result {
        Err(ChannelError::Refused { status: 200, code, .. }) if code == expected => {}
        other => panic!("expected respCode {expected}, got {other:?}"),
    }
}

#[actix_web::test]
async fn an_order_is_created_queried_paid_and_reported_paid_when_closed() {
    let s = setup("unionpay_sign");
    let request = order("1101052611210000176U01", &s.clock);
    let created = s.client.create_order(&request).await.expect("QR applied for");
    assert!(created.pay_url.starts_with("http://127.0.0.1/sim/unionpay/pay?pr="), "{}", created.pay_url);
    assert_eq!(s.client.query(&request.reference()).await, Ok(OrderStatus::Open));
    // An identical repeat returns the same code; the same orderId with other fields is refused.
    assert_eq!(s.client.create_order(&request).await.expect("repeat").pay_url, created.pay_url);
    refused_with(s.client.create_order(&OrderRequest { amount: Fen(100), ..request.clone() }).await, "12");

    let code = code_of(&created.pay_url);
    let shown = unionpay(&s).wallet(&code).expect("the wallet shows the order");
    assert_eq!((shown.amount, shown.payable), (Fen(20000), true));
    assert_eq!(shown.description, "交通违法罚款 1101052611210000176");
    s.clock.advance(Duration::minutes(3));
    let paid = unionpay(&s).pay(&code).expect("payer pays");
    assert_eq!(paid.notification.url, "http://127.0.0.1:8080/notify/unionpay");

    let status = s.client.query(&request.reference()).await.expect("query");
    let OrderStatus::Paid(payment) = status else { panic!("paid, got {status:?}") };
    assert_eq!(payment.out_trade_no, request.out_trade_no);
    assert_eq!(payment.amount, Fen(20000));
    assert_eq!(payment.paid_at, s.clock.now());
    assert!(payment.channel_txn_id.len() == 21 && payment.channel_txn_id.bytes().all(|b| b.is_ascii_digit()));
    // The notification says the same, verified over its raw body.
    assert_eq!(s.client.verify_notification(&paid.notification.inbound()), Ok(payment));
    assert_eq!(s.client.close(&request.reference()).await, Ok(CloseOutcome::AlreadyPaid));
    assert_eq!(unionpay(&s).pay(&code).err(), Some(PayError::NotPayable));
    assert!(!unionpay(&s).wallet(&code).expect("still shown").payable);
    assert_eq!(unionpay(&s).pay("000").err(), Some(PayError::UnknownCode));
}

#[actix_web::test]
async fn unknown_orders_are_not_found_and_unpaid_ones_stay_payable_until_pay_timeout() {
    let s = setup("unionpay_sign");
    let unknown = OrderRef { out_trade_no: "1101059999999999999U01".into(), opened_at: s.clock.now(), flow: Flow::Qr };
    assert_eq!(s.client.query(&unknown).await, Ok(OrderStatus::NotFound));
    assert_eq!(s.client.close(&unknown).await, Ok(CloseOutcome::NotFound));

    let request =
        OrderRequest { pay_by: s.clock.now() + Duration::hours(1), ..order("1101052611210000277U01", &s.clock) };
    let code = code_of(&s.client.create_order(&request).await.expect("QR").pay_url);
    // ACP names an order by number and send time: another time is another (unknown) order.
    let other_time = OrderRef { opened_at: request.opened_at - Duration::seconds(1), ..request.reference() };
    assert_eq!(s.client.query(&other_time).await, Ok(OrderStatus::NotFound));
    // "Closing" cannot stop UnionPay: the order stays payable until payTimeout.
    assert_eq!(s.client.close(&request.reference()).await, Ok(CloseOutcome::Closed));
    s.clock.advance(Duration::hours(1));
    assert!(unionpay(&s).wallet(&code).expect("shown").payable, "payable at payTimeout itself");
    s.clock.advance(Duration::seconds(1));
    assert_eq!(unionpay(&s).pay(&code).err(), Some(PayError::NotPayable));
    assert_eq!(s.client.query(&request.reference()).await, Ok(OrderStatus::Closed));
}

#[actix_web::test]
async fn stale_send_times_wrong_keys_and_unknown_certificates_are_refused() {
    let s = setup("unionpay_sign");
    let stale =
        OrderRequest { opened_at: s.clock.now() - Duration::minutes(6), ..order("1101052611210000378U01", &s.clock) };
    refused_with(s.client.create_order(&stale).await, "10");
    let fresh = OrderRequest { opened_at: s.clock.now() - Duration::minutes(4), ..stale };
    assert!(s.client.create_order(&fresh).await.is_ok(), "four minutes is still now");

    let wrong_key = client(&s, |c| c.signing_key = key("alipay_app.key.pem"));
    refused_with(wrong_key.create_order(&order("1101052611210000378U02", &s.clock)).await, "11");
    let unknown_cert = client(&s, |c| c.cert_id = "1234567890".into());
    refused_with(unknown_cert.create_order(&order("1101052611210000378U03", &s.clock)).await, "11");
    // Neither reached the book.
    let never = order("1101052611210000378U02", &s.clock).reference();
    assert_eq!(s.client.query(&never).await, Ok(OrderStatus::NotFound));
}

#[actix_web::test]
async fn answers_signed_outside_unionpays_chain_or_name_are_not_believed() {
    let request = |s: &Setup| order("1101052611210000479U01", &s.clock);
    let unverified =
        |result: Result<_, ChannelError>| assert!(matches!(result, Err(ChannelError::Unverified(_))), "{result:?}");

    let self_signed = setup("wechat_platform");
    unverified(self_signed.client.create_order(&request(&self_signed)).await);

    // Chained to UnionPay's root, but the CN names someone else: refused however strict.
    let other_cn = setup("unionpay_other_cn");
    unverified(other_cn.client.create_order(&request(&other_cn)).await);
    let relaxed = client(&other_cn, |c| c.validate_cn_name = false);
    unverified(relaxed.create_order(&request(&other_cn)).await);

    // The test environment's `00040000:SIGN` CN passes only with the CN check relaxed.
    let test_env = setup("unionpay_test_cn");
    unverified(test_env.client.create_order(&request(&test_env)).await);
    let relaxed = client(&test_env, |c| c.validate_cn_name = false);
    assert!(relaxed.create_order(&request(&test_env)).await.is_ok());

    // Root and middle swapped in the configuration: nothing chains.
    let s = setup("unionpay_sign");
    let swapped = client(&s, |c| std::mem::swap(&mut c.root, &mut c.middle));
    unverified(swapped.create_order(&request(&s)).await);
}

/// The notification's fields changed by `change`, re-encoded; signed again by UnionPay's key
/// when `resign`.
fn altered(notification: &Delivery, resign: bool, change: impl FnOnce(&mut Fields)) -> Delivery {
    let mut fields = parse_form(&notification.body).expect("form");
    change(&mut fields);
    if resign {
        fields.remove("signature");
        let cert_pem = fields.remove("signPubKeyCert").expect("cert");
        fields = sign_message(fields, &cert_pem, &key("unionpay_sign.key.pem")).expect("signs");
    }
    Delivery { body: encode_form(&fields).into_bytes(), ..notification.clone() }
}

#[actix_web::test]
async fn tampered_foreign_or_unsuccessful_notifications_are_refused() {
    let s = setup("unionpay_sign");
    let request = order("1101052611210000580U01", &s.clock);
    let code = code_of(&s.client.create_order(&request).await.expect("QR").pay_url);
    let paid = unionpay(&s).pay(&code).expect("pays").notification;
    let verify = |client: &UnionpayClient, n: &Delivery| client.verify_notification(&n.inbound());
    assert!(verify(&s.client, &paid).is_ok());

    let tampered = altered(&paid, false, |f| drop(f.insert("txnAmt".into(), "1".into())));
    assert_eq!(verify(&s.client, &tampered), Err(NotifyError::BadSignature));
    assert_eq!(verify(&s.client, &UnionpaySim::probe(&paid)), Err(NotifyError::BadSignature));
    let forged_cert = cert("wechat_platform.cert.pem");
    let swapped =
        altered(&paid, false, |f| drop(f.insert("signPubKeyCert".into(), fixture("wechat_platform.cert.pem"))));
    assert_eq!(verify(&s.client, &swapped), Err(NotifyError::UnknownKey(forged_cert.serial_decimal)));
    // Another certificate UnionPay's CA did issue does not carry this signature either.
    let lenient = client(&s, |c| c.validate_cn_name = false);
    let other_valid =
        altered(&paid, false, |f| drop(f.insert("signPubKeyCert".into(), fixture("unionpay_test_cn.cert.pem"))));
    assert_eq!(verify(&lenient, &other_valid), Err(NotifyError::BadSignature));
    let unsigned = altered(&paid, false, |f| drop(f.remove("signature")));
    assert_eq!(verify(&s.client, &unsigned), Err(NotifyError::MissingHeaders));

    let other_merchant = client(&s, |c| c.mer_id = "777290058119999".into());
    assert_eq!(verify(&other_merchant, &paid), Err(NotifyError::WrongMerchant));
    let failed = altered(&paid, true, |f| drop(f.insert("respCode".into(), "01".into())));
    assert!(matches!(verify(&s.client, &failed), Err(NotifyError::NotPaid(_))), "respCode 01");
    let refund = altered(&paid, true, |f| drop(f.insert("txnType".into(), "04".into())));
    assert!(matches!(verify(&s.client, &refund), Err(NotifyError::NotPaid(_))), "a refund's notification");
    let partial = altered(&paid, true, |f| drop(f.insert("respCode".into(), "A6".into())));
    assert!(verify(&s.client, &partial).is_ok(), "A6 moved the money");
    let garbage = Delivery { body: b"%%%".to_vec(), ..paid.clone() };
    assert!(verify(&s.client, &garbage).is_err());

    // UnionPay stops resending on 200 or 302 only.
    let accepted = s.client.accepted_reply();
    assert!(UnionpaySim::accepts(accepted.status, accepted.body.as_bytes()));
    let refused = s.client.refused_reply(&NotifyError::BadSignature);
    assert!(!UnionpaySim::accepts(refused.status, refused.body.as_bytes()));
    assert!(UnionpaySim::accepts(302, b""));
    assert_eq!(UnionpaySim::RETRY_SCHEDULE.len() + 1, 5, "five sends in all");
}

#[actix_web::test]
async fn refunds_are_processing_until_settled_and_a_repeat_refunds_once() {
    let s = setup("unionpay_sign");
    let request = order("1101052611210000681U01", &s.clock);
    let code = code_of(&s.client.create_order(&request).await.expect("QR").pay_url);
    unionpay(&s).pay(&code).expect("pays");
    let Ok(OrderStatus::Paid(payment)) = s.client.query(&request.reference()).await else { panic!("paid") };

    let refund = RefundRequest {
        out_trade_no: request.out_trade_no.clone(),
        channel_txn_id: payment.channel_txn_id.clone(),
        out_refund_no: "1101052611210000681R01".into(),
        requested_at: s.clock.now(),
        flow: Flow::Qr,
        paid: payment.amount,
        amount: payment.amount,
        reason: "作废".into(),
    };
    refused_with(s.client.query_refund(&refund).await, "34");
    assert_eq!(s.client.refund(&refund).await, Ok(RefundStatus::Processing));
    s.clock.advance(Duration::minutes(1));
    assert_eq!(s.client.refund(&refund).await, Ok(RefundStatus::Processing), "a repeat is the same refund");
    assert_eq!(s.client.query_refund(&refund).await, Ok(RefundStatus::Processing));
    // Only one refund happened: nothing is left to refund under another number.
    let another = RefundRequest { out_refund_no: "1101052611210000681R02".into(), amount: Fen(1), ..refund.clone() };
    refused_with(s.client.refund(&another).await, "36");
    refused_with(s.client.refund(&RefundRequest { amount: Fen(100), ..refund.clone() }).await, "12");
    let unknown = RefundRequest { channel_txn_id: "000000000000000000000".into(), ..another };
    refused_with(s.client.refund(&unknown).await, "34");

    s.clock.advance(REFUND_SETTLES_AFTER - Duration::minutes(1));
    let settled = s.client.query_refund(&refund).await.expect("query");
    let RefundStatus::Succeeded { channel_refund_id, at } = settled else { panic!("succeeded, got {settled:?}") };
    assert_ne!(channel_refund_id, payment.channel_txn_id);
    assert_eq!(at, refund.requested_at, "when UnionPay took the refund");
}

/// `day` at `hh:mm` in Beijing.
fn beijing(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let local = day.and_hms_opt(hour, minute, 0).expect("a time");
    SHANGHAI.from_local_datetime(&local).single().expect("one instant").with_timezone(&Utc)
}

/// Opens `out_trade_no` and pays it now; the payment as the query reports it.
async fn paid(s: &Setup, out_trade_no: &str) -> ChannelPayment {
    let request = order(out_trade_no, &s.clock);
    let code = code_of(&s.client.create_order(&request).await.expect("QR").pay_url);
    unionpay(s).pay(&code).expect("pays");
    match s.client.query(&request.reference()).await {
        Ok(OrderStatus::Paid(payment)) => payment,
        other => panic!("paid, got {other:?}"),
    }
}

fn not_asked(result: Result<Vec<StatementLine>, ChannelError>) {
    assert!(matches!(&result, Err(ChannelError::Refused { code, .. }) if code == "NOT_ASKED"), "{result:?}");
}

#[actix_web::test]
async fn the_statement_lists_the_days_payments_and_refunds_once_its_file_is_made() {
    let s = setup("unionpay_sign");
    // Tomorrow morning, Beijing: after the fixtures' certificates begin, and well inside one day.
    let day = shanghai_date(s.clock.now()) + Days::new(1);
    s.clock.set(beijing(day, 9, 0));
    let first = paid(&s, "1101052611210000782U01").await;
    s.clock.advance(Duration::minutes(10));
    let second = paid(&s, "1101052611210000883U01").await;
    s.clock.advance(Duration::minutes(10));
    let refund = RefundRequest {
        out_trade_no: first.out_trade_no.clone(),
        channel_txn_id: first.channel_txn_id.clone(),
        out_refund_no: "1101052611210000782R01".into(),
        requested_at: s.clock.now(),
        flow: Flow::Qr,
        paid: first.amount,
        amount: Fen(5000),
        reason: "撤销处罚".into(),
    };
    assert_eq!(s.client.refund(&refund).await, Ok(RefundStatus::Processing));
    s.clock.advance(REFUND_SETTLES_AFTER);
    let Ok(RefundStatus::Succeeded { at: refunded_at, .. }) = s.client.query_refund(&refund).await else {
        panic!("the refund settles")
    };

    // The day is not over: finepay does not ask, and says so.
    not_asked(s.client.statement(day).await);
    // The next morning, before the file is made: UnionPay's own "no file", a refusal.
    let next = day + Days::new(1);
    s.clock.set(beijing(next, 9, 30));
    let late = paid(&s, "1101052611220000984U01").await;
    refused_with(s.client.statement(day).await, "98");

    s.clock.set(beijing(next, 10, 0));
    let payment_line = |payment: &ChannelPayment| StatementLine {
        kind: StatementKind::Payment,
        out_trade_no: payment.out_trade_no.clone(),
        channel_txn_id: payment.channel_txn_id.clone(),
        out_refund_no: None,
        amount: payment.amount,
        at: payment.paid_at,
    };
    let refund_line = StatementLine {
        kind: StatementKind::Refund,
        out_trade_no: first.out_trade_no.clone(),
        channel_txn_id: first.channel_txn_id.clone(),
        out_refund_no: Some(refund.out_refund_no.clone()),
        amount: Fen(5000),
        at: refunded_at,
    };
    assert_eq!(s.client.statement(day).await, Ok(vec![payment_line(&first), payment_line(&second), refund_line]));
    // The payment of the next day is on the next day's statement only.
    s.clock.set(beijing(next + Days::new(1), 10, 0));
    assert_eq!(s.client.statement(next).await, Ok(vec![payment_line(&late)]));
}

#[actix_web::test]
async fn a_day_without_transactions_is_empty_and_days_settle_date_cannot_name_are_not_asked_for() {
    let s = setup("unionpay_sign");
    let day = shanghai_date(s.clock.now()) + Days::new(1);
    s.clock.set(beijing(day, 9, 0));
    paid(&s, "1101052611210001085U01").await;
    s.clock.set(beijing(day + Days::new(1), 10, 0));
    let yesterday = day - Days::new(1);
    assert_eq!(s.client.statement(yesterday).await, Ok(Vec::new()), "made, and nothing on it");
    assert_eq!(s.client.statement(day).await.map(|lines| lines.len()), Ok(1));
    not_asked(s.client.statement(day + Days::new(1)).await);
    not_asked(s.client.statement(day + Days::new(30)).await);
    // A year back, its MMDD would name this year's day just as well: not asked.
    not_asked(s.client.statement(day - Days::new(365)).await);
}

/// The mobile web form the client signs for `request`, as action and fields.
fn mobile_web_form(s: &Setup, request: &OrderRequest) -> (String, Fields) {
    let started = s.client.start_mobile_web(request, "http://127.0.0.1:8080/p/TOKEN/back").expect("signed form");
    let crate::channels::Started::Form { action, fields } = started else { panic!("a form, got {started:?}") };
    (action, fields.into_iter().collect())
}

/// The value of the hidden input `name` in a simulator page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no {name} in {page}")) + marker.len();
    page[start..].split('"').next().expect("value").replace("&quot;", "\"").replace("&amp;", "&")
}

#[actix_web::test]
async fn a_mobile_web_form_opens_the_cashier_and_paying_posts_the_signed_result_to_front_url() {
    let s = setup("unionpay_sign");
    let request = OrderRequest { flow: Flow::MobileWeb, ..order("1101052611210000176U41", &s.clock) };
    let (action, fields) = mobile_web_form(&s, &request);
    assert_eq!(action, format!("http://127.0.0.1:{}/gateway/api/frontTransReq.do", s.server.port));
    let get = |name: &str| fields.get(name).map(String::as_str);
    assert_eq!((get("txnType"), get("txnSubType"), get("bizType")), (Some("01"), Some("01"), Some("000201")));
    assert_eq!((get("channelType"), get("frontUrl")), (Some("08"), Some("http://127.0.0.1:8080/p/TOKEN/back")));
    assert!(get("signature").is_some_and(|s| !s.is_empty()) && get("certId").is_some());

    let http = reqwest::Client::new();
    let cashier = http.post(&action).form(&fields).send().await.expect("cashier").text().await.expect("page");
    assert!(cashier.contains("id=\"pay\"") && cashier.contains("200.00"), "{cashier}");
    assert_eq!(s.client.query(&request.reference()).await, Ok(OrderStatus::Open));
    // Posting the same form again (a reload) is the same order.
    let again = http.post(&action).form(&fields).send().await.expect("cashier").text().await.expect("page");
    assert_eq!(hidden(&again, "code"), hidden(&cashier, "code"));

    let pay_url = format!("http://127.0.0.1:{}/sim/unionpay/front/pay", s.server.port);
    let done = http.post(&pay_url).form(&[("code", hidden(&cashier, "code"))]).send().await.expect("pay");
    let done = done.text().await.expect("page");
    assert!(done.contains("action=\"http://127.0.0.1:8080/p/TOKEN/back\"") && done.contains("id=\"return\""));
    // What "return to merchant" posts is UnionPay's signed result, verifiable as a notification.
    let names = ["orderId", "txnSubType", "respCode", "queryId", "txnAmt", "signature", "signPubKeyCert"];
    let front: Fields = names.iter().map(|name| ((*name).to_owned(), hidden(&done, name))).collect();
    assert_eq!(front["orderId"], request.out_trade_no);
    let OrderStatus::Paid(payment) = s.client.query(&request.reference()).await.expect("query") else {
        panic!("not paid")
    };
    assert_eq!(payment.amount, Fen(20000));
    // The cashier does not open a paid order again.
    let paid_again = http.post(&action).form(&fields).send().await.expect("page").text().await.expect("page");
    assert!(paid_again.contains("订单已支付"), "{paid_again}");
}

#[actix_web::test]
async fn the_cashier_refuses_a_tampered_stale_or_paid_form() {
    let s = setup("unionpay_sign");
    let request = OrderRequest { flow: Flow::MobileWeb, ..order("1101052611210000176U41", &s.clock) };
    let (_, fields) = mobile_web_form(&s, &request);

    let mut tampered = fields.clone();
    tampered.insert("txnAmt".into(), "100".into());
    assert!(matches!(unionpay(&s).pay_front(&tampered), Err(PayError::Refused(m)) if m.contains("验证签名失败")));
    let stale =
        OrderRequest { opened_at: s.clock.now() - Duration::minutes(6), ..order("1101052611210000176U42", &s.clock) };
    let (_, stale) = mobile_web_form(&s, &stale);
    assert!(matches!(unionpay(&s).pay_front(&stale), Err(PayError::Refused(m)) if m.contains("txnTime")));
    let payment = unionpay(&s).pay_front(&fields).expect("the form pays");
    assert_eq!(s.client.verify_notification(&payment.notification.inbound()).expect("verified").amount, Fen(20000));
    assert!(matches!(unionpay(&s).pay_front(&fields), Err(PayError::Refused(m)) if m.contains("已支付")));
}
