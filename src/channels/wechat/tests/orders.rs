//! Orders (prepay, query, close, code and deadline rules, signatures both ways) and the payer's
//! side of the simulator (wallet, pay, notifications, probes, resend rules).

use super::*;
use crate::channels::sim::{PayError, WalletOrder};
use crate::channels::wechat::protocol::PROBE_PREFIX;
use crate::channels::{ChannelKind, CloseOutcome, NotifyError, PaymentChannel};

#[actix_web::test]
async fn an_order_is_created_queried_paid_and_cannot_be_closed_once_paid() {
    let s = setup(|_| {});
    let request = order("1101052611210000176W01", &s.clock);
    let first = s.client.create_order(&request).await.expect("prepay");
    assert!(first.pay_url.starts_with("weixin://wxpay/bizpayurl?pr="), "a code for WeChat's camera: {}", first.pay_url);
    assert_eq!(s.client.query(&request.out_trade_no).await, Ok(OrderStatus::Open));
    // An identical repeat issues a new code, and the old one stops working (WeChat's re-entry
    // rule); a changed one is refused.
    let created = s.client.create_order(&request).await.expect("repeat");
    assert_ne!(created.pay_url, first.pay_url);
    assert_eq!(wechat(&s).pay(&code_of(&first.pay_url)).err(), Some(PayError::UnknownCode));
    let changed = OrderRequest { amount: Fen(100), ..request.clone() };
    assert!(matches!(s.client.create_order(&changed).await, Err(ChannelError::Refused { status: 400, .. })));

    let paid = wechat(&s).pay(&code_of(&created.pay_url)).expect("payer pays");
    let status = s.client.query(&request.out_trade_no).await.expect("query");
    let OrderStatus::Paid(payment) = status else { panic!("paid, got {status:?}") };
    assert_eq!(payment.amount, Fen(20000));
    assert!(payment.channel_txn_id.starts_with("4200") && payment.channel_txn_id.len() == 28);
    assert_eq!(payment.paid_at, s.clock.now());
    // The notification says the same, verified and decrypted.
    assert_eq!(s.client.parse_notification(&message(&paid.notification)), Ok(payment));
    assert_eq!(s.client.close(&request.out_trade_no).await, Ok(CloseOutcome::AlreadyPaid));
    assert_eq!(wechat(&s).pay(&code_of(&created.pay_url)).err(), Some(PayError::NotPayable));
}

#[actix_web::test]
async fn closing_ends_an_order_and_unknown_orders_are_not_found() {
    let s = setup(|_| {});
    let request = order("1101052611210000277W01", &s.clock);
    let created = s.client.create_order(&request).await.expect("prepay");
    assert_eq!(s.client.close(&request.out_trade_no).await, Ok(CloseOutcome::Closed));
    assert_eq!(s.client.query(&request.out_trade_no).await, Ok(OrderStatus::Closed));
    assert_eq!(wechat(&s).pay(&code_of(&created.pay_url)).err(), Some(PayError::NotPayable));
    assert_eq!(s.client.query("1101059999999999999W01").await, Ok(OrderStatus::NotFound));
    assert_eq!(s.client.close("1101059999999999999W01").await, Ok(CloseOutcome::NotFound));
}

#[actix_web::test]
async fn codes_live_two_hours_and_orders_until_their_deadline() {
    let s = setup(|_| {});
    let request = order("1101052611210000378W01", &s.clock);
    let first = s.client.create_order(&request).await.expect("prepay").pay_url;
    s.clock.advance(Duration::hours(2));
    assert_eq!(wechat(&s).pay(&code_of(&first)).err(), Some(PayError::CodeExpired));
    // The same prepay again renews the code, as the real API does within time_expire.
    let renewed = s.client.create_order(&request).await.expect("renewed").pay_url;
    assert_ne!(renewed, first);

    // An order whose deadline passed cannot be paid, even with a fresh code.
    let late = OrderRequest {
        out_trade_no: "1101052611210000378W02".into(),
        pay_by: s.clock.now() + Duration::hours(1),
        ..request.clone()
    };
    let late_code = s.client.create_order(&late).await.expect("prepay").pay_url;
    s.clock.advance(Duration::hours(1));
    assert_eq!(wechat(&s).pay(&code_of(&late_code)).err(), Some(PayError::NotPayable), "past pay_by");
    // The renewed code of the first order is an hour old and its order still open: it pays.
    assert!(wechat(&s).pay(&code_of(&renewed)).is_ok());
}

#[actix_web::test]
async fn requests_with_a_wrong_key_are_refused_and_unverifiable_answers_rejected() {
    // The merchant signs with a key WeChat does not hold for that serial.
    let s = setup(|c| c.merchant_key = RsaSigningKey::from_pem(&fixture("alipay_app.key.pem")).expect("key"));
    let refused = s.client.create_order(&order("1101052611210000479W01", &s.clock)).await;
    assert!(
        matches!(refused, Err(ChannelError::Refused { status: 401, ref code, .. }) if code == "SIGN_ERROR"),
        "{refused:?}"
    );

    // finepay does not hold the key that signed the answer: it must not believe it.
    let s = setup(|c| {
        let other = cert("wechat_merchant.cert.pem");
        c.verifier = Verifier::new([(cert("wechat_platform.cert.pem").serial_hex, other.public_key)].into());
    });
    let unverified = s.client.create_order(&order("1101052611210000479W02", &s.clock)).await;
    assert!(matches!(unverified, Err(ChannelError::Unverified(_))), "{unverified:?}");
    assert!(s.base_url.starts_with("http://127.0.0.1:"));
}

#[actix_web::test]
async fn forged_stale_probing_or_foreign_notifications_are_refused() {
    let s = setup(|_| {});
    let request = order("1101052611210000580W01", &s.clock);
    let code = code_of(&s.client.create_order(&request).await.expect("prepay").pay_url);
    let paid = wechat(&s).pay(&code).expect("pays").notification;
    assert!(s.client.parse_notification(&message(&paid)).is_ok());

    let mut tampered = paid.body.clone();
    let at = tampered.iter().position(|b| *b == b'S').expect("a letter to change");
    tampered[at] = b'T';
    assert_eq!(
        s.client.parse_notification(&SignedMessage { body: &tampered, ..message(&paid) }),
        Err(NotifyError::BadSignature)
    );
    let probe = format!("{PROBE_PREFIX}{}", message(&paid).signature);
    assert_eq!(
        s.client.parse_notification(&SignedMessage { signature: &probe, ..message(&paid) }),
        Err(NotifyError::BadSignature)
    );
    assert_eq!(
        s.client.parse_notification(&SignedMessage { serial: "PUB_KEY_ID_0000", ..message(&paid) }),
        Err(NotifyError::UnknownKey("PUB_KEY_ID_0000".into()))
    );
    // A client with another APIv3 key cannot open it; one for another merchant refuses it.
    let other_key = setup(|c| c.apiv3_key = b"another-apiv3-key-of-32-bytes!!!".to_vec());
    other_key.clock.advance(s.clock.now() - other_key.clock.now());
    assert_eq!(other_key.client.parse_notification(&message(&paid)), Err(NotifyError::Undecryptable));
    let other_merchant = setup(|c| c.mchid = "1999999999".into());
    other_merchant.clock.advance(s.clock.now() - other_merchant.clock.now());
    assert_eq!(other_merchant.client.parse_notification(&message(&paid)), Err(NotifyError::WrongMerchant));

    s.clock.advance(Duration::seconds(300));
    assert_eq!(s.client.parse_notification(&message(&paid)), Err(NotifyError::Stale), "a replay five minutes later");
    // WeChat's own resend, hours later, is signed afresh: the same payment, and it passes.
    s.clock.advance(Duration::hours(3));
    let resent = wechat(&s).resend(&paid);
    assert_eq!(resent.body, paid.body);
    assert_ne!(message(&resent).timestamp, message(&paid).timestamp);
    let first = s.client.parse_notification(&message(&paid));
    assert_eq!(first, Err(NotifyError::Stale));
    assert!(s.client.parse_notification(&message(&resent)).is_ok(), "a fresh signature over the same body");
}

#[actix_web::test]
async fn the_wallet_shows_the_order_behind_a_code_and_changes_nothing() {
    let s = setup(|_| {});
    let request = order("1101052611210000681W01", &s.clock);
    let code = code_of(&s.client.create_order(&request).await.expect("prepay").pay_url);
    let shown = WalletOrder {
        channel: ChannelKind::Wechat,
        out_trade_no: request.out_trade_no.clone(),
        description: request.description.clone(),
        amount: Fen(20000),
        payable: true,
    };
    assert_eq!(wechat(&s).wallet(&code), Ok(shown.clone()));
    assert_eq!(wechat(&s).wallet(&code), Ok(shown), "looking twice changes nothing");
    assert_eq!(s.client.query(&request.out_trade_no).await, Ok(OrderStatus::Open));
    assert_eq!(wechat(&s).wallet("no-such-code"), Err(PayError::UnknownCode));

    wechat(&s).pay(&code).expect("pays");
    assert_eq!(wechat(&s).wallet(&code), Err(PayError::NotPayable), "a paid order");
    let other = order("1101052611210000681W02", &s.clock);
    let other_code = code_of(&s.client.create_order(&other).await.expect("prepay").pay_url);
    s.clock.advance(Duration::hours(2));
    assert_eq!(wechat(&s).wallet(&other_code), Err(PayError::CodeExpired));
}

#[actix_web::test]
async fn probes_are_refused_and_any_2xx_reply_counts_as_received() {
    let s = setup(|_| {});
    let request = order("1101052611210000782W01", &s.clock);
    let code = code_of(&s.client.create_order(&request).await.expect("prepay").pay_url);
    let notification = wechat(&s).pay(&code).expect("pays").notification;
    assert!(s.client.verify_notification(&notification.inbound()).is_ok());

    let probe = WechatSim::probe(&notification);
    assert!(probe.inbound().header("Wechatpay-Signature").is_some_and(|v| v.starts_with(PROBE_PREFIX)));
    assert_eq!(probe.body, notification.body, "only the signature differs");
    assert_eq!(s.client.verify_notification(&probe.inbound()), Err(NotifyError::BadSignature));

    // WeChat reads the status only: a 200 saying FAIL is received, a 4xx/5xx is resent.
    assert!(WechatSim::accepts(200, r#"{"code":"FAIL","message":"失败"}"#.as_bytes()));
    assert!(WechatSim::accepts(204, b""));
    assert!(!WechatSim::accepts(401, br#"{"code":"FAIL"}"#));
    assert!(!WechatSim::accepts(500, b""));
    let schedule = WechatSim::RETRY_SCHEDULE;
    assert_eq!(schedule.len(), 15);
    assert_eq!(schedule.iter().sum::<std::time::Duration>(), std::time::Duration::from_secs(24 * 3600 + 4 * 60));
}
