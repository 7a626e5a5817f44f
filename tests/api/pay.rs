//! Paying a fine by QR through the simulated channels: the order opened from the pay page, the
//! channel's notification applied once, the receipt, the dead code, the lost notification found
//! by querying, and a payment for a void fine refunded.

use crate::helpers::{CHANNELS, error_of, motor_fine, spawn_app, taken};
use serde_json::Value;

#[actix_web::test]
async fn each_channel_pays_a_fine_once_and_kills_its_code() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    for (n, channel) in CHANNELS.into_iter().enumerate() {
        let fine = app.issue_ok(&officer, &format!("pay-1-{channel}"), &motor_fine(&app)).await;
        paid_once_through(&app, &officer, &fine, channel).await;
        assert_eq!(app.payment_counts(), (n as i64 + 1, 0));
    }
}

async fn paid_once_through(app: &crate::helpers::TestApp, officer: &str, fine: &Value, channel: &str) {
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    let page: Value = app.page_json(pay_url).await.json().await.expect("JSON");
    assert_eq!(page["channels"], serde_json::json!(CHANNELS));
    assert!(page["receipt"].is_null());

    let link = app.channel_pay_link(pay_url, channel).await;
    // Asking again reuses the same order and link.
    assert_eq!(app.channel_pay_link(pay_url, channel).await, link);

    let paid = app.sim_pay(&link);
    assert_eq!(app.deliver(&paid.notification).await, taken(channel));
    // Every copy after the first changes nothing.
    for _ in 0..2 {
        assert_eq!(app.deliver(&paid.notification).await, taken(channel));
    }

    let page: Value = app.page_json(pay_url).await.json().await.expect("JSON");
    assert_eq!(page["status"], "paid");
    assert_eq!(page["qr_active"], false);
    assert_eq!(page["channels"], serde_json::json!([]));
    let receipt = &page["receipt"];
    assert_eq!(receipt["amount_fen"], fine["amount_fen"]);
    assert_eq!(receipt["channel"], channel);
    assert_eq!(receipt["decision_no"], fine["decision_no"]);

    let url = format!("{}{}", app.address, receipt["url"].as_str().expect("receipt url"));
    let shown: Value =
        app.http.get(&url).header("Accept", "application/json").send().await.expect("sent").json().await.expect("json");
    assert_eq!(&shown, receipt);
    let html = app.http.get(&url).send().await.expect("sent").text().await.expect("html");
    assert!(html.contains(receipt["receipt_no"].as_str().expect("no")), "the receipt page names its number");

    // The code is dead: no new order, and the officer API agrees.
    assert_eq!(error_of(app.open_order(pay_url, channel).await).await, (409, "already_paid".into()));
    let no = fine["decision_no"].as_str().expect("no");
    let stored: Value = app.get(officer, &format!("/api/v1/fines/{no}")).await.json().await.expect("json");
    assert_eq!(stored["status"], "paid");
    assert_eq!(stored["paid_channel"], channel);
    assert!(app.audit_actions(no).contains(&"fine.paid".to_owned()));
}

#[actix_web::test]
async fn a_lost_notification_is_found_when_the_payer_comes_back() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "pay-2", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    let link = app.channel_pay_link(pay_url, "wechat").await;
    let _lost = app.sim_pay(&link);

    let page: Value = app.page_json(pay_url).await.json().await.expect("JSON");
    assert_eq!(page["status"], "paid", "the page asked the channel");
    assert_eq!(page["receipt"]["channel"], "wechat");
    assert_eq!(app.payment_counts(), (1, 0));
}

#[actix_web::test]
async fn orders_cannot_be_opened_for_unknown_channels_dead_codes_or_forged_tokens() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "pay-3", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    assert_eq!(error_of(app.open_order(pay_url, "paypal").await).await, (422, "unknown_channel".into()));
    let garbage = app
        .http
        .post(format!("{}/pay", app.public_path(pay_url)))
        .header("Content-Type", "application/json")
        .body("{\"channel\":")
        .send()
        .await
        .expect("sent");
    assert_eq!(error_of(garbage).await, (400, "invalid_request".into()));
    let forged = format!("{}/P/{}/pay", app.address, "A".repeat(31));
    let response = app.http.post(forged).json(&serde_json::json!({"channel": "wechat"})).send().await.expect("sent");
    assert_eq!(error_of(response).await, (404, "not_found".into()));

    app.clock.advance(chrono::Duration::hours(4));
    assert_eq!(error_of(app.open_order(pay_url, "wechat").await).await, (409, "qr_expired".into()));
    assert_eq!(app.payment_counts(), (0, 0));
}

#[actix_web::test]
async fn a_payment_made_in_the_window_is_honoured_when_its_notification_comes_late() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "pay-4", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    app.clock.advance(chrono::Duration::hours(4) - chrono::Duration::seconds(5));
    let link = app.channel_pay_link(pay_url, "wechat").await;
    app.clock.advance(chrono::Duration::seconds(4));
    let paid = app.sim_pay(&link);
    // The notification arrives after the window: the channel dated the payment inside it.
    app.clock.advance(chrono::Duration::seconds(2));
    assert_eq!(app.deliver(&paid.notification).await.0, 204);
    let page: Value = app.page_json(pay_url).await.json().await.expect("JSON");
    assert_eq!(page["status"], "paid");
    assert_eq!(app.payment_counts(), (1, 0));
}

#[actix_web::test]
async fn a_payment_for_a_voided_fine_is_recorded_and_refunded() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "pay-5", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    let no = fine["decision_no"].as_str().expect("no").to_owned();
    let link = app.channel_pay_link(pay_url, "wechat").await;
    let paid = app.sim_pay(&link);
    app.void_ok(&officer, &no, "issued to the wrong vehicle").await;
    // Whether the void's close or the notification records it first, it is recorded once.
    assert_eq!(app.deliver(&paid.notification).await.0, 204);
    assert_eq!(app.deliver(&paid.notification).await.0, 204);
    let (payments, refunds) = app.payment_counts();
    assert_eq!((payments, refunds), (1, 1));
    let page: Value = app.page_json(pay_url).await.json().await.expect("JSON");
    assert_eq!(page["status"], "void");
    assert!(page["receipt"].is_null());
    assert!(app.audit_actions(&no).contains(&"payment.refund_scheduled".to_owned()));
}

#[actix_web::test]
async fn a_second_payment_through_another_channel_is_refunded_to_its_source() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "pay-6", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    // The payer opens two channels and pays both before either notification lands.
    let wechat = app.sim_pay(&app.channel_pay_link(pay_url, "wechat").await);
    let alipay = app.sim_pay(&app.channel_pay_link(pay_url, "alipay").await);
    assert_eq!(app.deliver(&alipay.notification).await, taken("alipay"));
    assert_eq!(app.deliver(&wechat.notification).await, taken("wechat"));
    assert_eq!(app.payment_counts(), (2, 1));

    let page: Value = app.page_json(pay_url).await.json().await.expect("JSON");
    assert_eq!(page["receipt"]["channel"], "alipay", "the first recorded payment paid the fine");
    // The refund goes back through WeChat and is followed until WeChat confirms it.
    app.drive_refunds_until(chrono::Duration::seconds(2), || app.refund_statuses().join(",") == "succeeded").await;
    assert_eq!(app.refund_statuses().join(","), "succeeded");
    let no = fine["decision_no"].as_str().expect("no");
    assert!(app.audit_actions(no).contains(&"refund.succeeded".to_owned()));
}

#[actix_web::test]
async fn a_unionpay_refund_whose_first_request_was_lost_is_sent_again_dated_anew() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "pay-8", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    let alipay = app.sim_pay(&app.channel_pay_link(pay_url, "alipay").await);
    let unionpay = app.sim_pay(&app.channel_pay_link(pay_url, "unionpay").await);
    assert_eq!(app.deliver(&alipay.notification).await, taken("alipay"));
    // UnionPay's merchant API is down when the refund is first asked for.
    app.set_sim_faults(serde_json::json!({"api_failure_rate": 1.0})).await;
    assert_eq!(app.deliver(&unionpay.notification).await, taken("unionpay"));
    let refund = || {
        let mut conn = app.ctx.pool.get().expect("connection");
        let no = fine["decision_no"].as_str().expect("no");
        finepay::db::refunds::for_fine(&mut conn, no).expect("refunds").pop().expect("a refund")
    };
    app.drive_refunds_until(chrono::Duration::zero(), || refund().attempts > 0).await;
    let first = refund();
    assert_eq!((first.channel.as_str(), first.status.as_str()), ("unionpay", "pending"));
    assert!(first.attempts > 0 && first.last_error.is_some(), "the first request failed: {first:?}");
    // UnionPay is back, but only takes a request dated within minutes of its own clock: the
    // request is sent again dated anew, and followed until UnionPay settles it.
    app.set_sim_faults(serde_json::json!({})).await;
    app.clock.advance(chrono::Duration::minutes(10));
    app.drive_refunds_until(chrono::Duration::seconds(2), || refund().status == "succeeded").await;
    let done = refund();
    assert_eq!(done.status, "succeeded", "{done:?}");
    assert!(done.requested_at > first.requested_at, "sent again with a fresh date: {done:?}");
    assert_eq!(app.payment_counts(), (2, 1));
}

#[actix_web::test]
async fn the_page_buttons_lead_to_the_wallet_whose_pay_button_settles_the_fine() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "pay-7", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    let page = app.http.get(app.public_path(pay_url)).send().await.expect("sent").text().await.expect("html");
    for channel in CHANNELS {
        assert!(page.contains(&format!("value=\"{channel}\"")), "a button for {channel}");
    }
    // The button posts a form. A desktop (a second screen) gets the channel's own code to scan,
    // as an image with what it holds.
    let form = app
        .http
        .post(format!("{}/pay", app.public_path(pay_url)))
        .form(&[("channel", "unionpay")])
        .send()
        .await
        .expect("sent");
    assert_eq!(form.status(), 200);
    let next = form.text().await.expect("html");
    assert!(next.contains("id=\"channel-qr\" src=\"data:image"), "{next}");
    let link = next.split("data-content=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("the code");
    let link = crate::helpers::unescape_html(link);
    assert!(link.starts_with(&format!("{}/sim/unionpay/pay?pr=", app.simulator_address)), "{link}");

    // The wallet shows the order; its Pay button pays, and the simulator notifies finepay.
    let wallet = app.http.get(&link).send().await.expect("sent").text().await.expect("html");
    assert!(wallet.contains("CNY 200.00") && wallet.contains("id=\"pay\""), "{wallet}");
    let paid = app.http.post(&link).send().await.expect("sent").text().await.expect("html");
    assert!(paid.contains("id=\"paid\""), "{paid}");
    let mut status = String::new();
    for _ in 0..100 {
        let (payments, _) = app.payment_counts();
        if payments == 1 {
            let fine: Value = app.page_json(pay_url).await.json().await.expect("JSON");
            status = fine["status"].as_str().unwrap_or_default().to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, "paid", "the notification arrived by itself");

    // A button pressed after the fine is paid leads back to the page, which shows the receipt.
    let late = app
        .http
        .post(format!("{}/pay", app.public_path(pay_url)))
        .form(&[("channel", "wechat")])
        .send()
        .await
        .expect("sent");
    assert_eq!(late.status(), 303);
    let page = app.http.get(app.public_path(pay_url)).send().await.expect("sent").text().await.expect("html");
    assert!(page.contains("id=\"receipt\"") && !page.contains("value=\"wechat\""), "receipt, no buttons");
}

#[actix_web::test]
async fn simulated_faults_drop_notifications_and_fail_channel_apis() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "pay-8", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    let faults = |body: Value| {
        let request = app.http.post(format!("{}/sim/faults", app.simulator_address)).json(&body);
        async move { request.send().await.expect("sent").status().as_u16() }
    };
    assert_eq!(faults(serde_json::json!({"drop_rate": 2.0})).await, 400, "rates are 0 to 1");

    // A failing channel API: opening the order answers 503, nothing is paid; the page's button
    // gets a page that says what to do, in the page's language.
    assert_eq!(faults(serde_json::json!({"api_failure_rate": 1.0})).await, 200);
    assert_eq!(error_of(app.open_order(pay_url, "wechat").await).await, (503, "channel_unavailable".into()));
    let tapped = app
        .http
        .post(format!("{}/pay?lang=en", app.public_path(pay_url)))
        .form(&[("channel", "alipay")])
        .send()
        .await
        .expect("sent");
    assert_eq!(tapped.status(), 503);
    let page = tapped.text().await.expect("html");
    assert!(page.contains("The payment channel is not available right now") && page.contains("agent bank"), "{page}");

    // Every notification dropped: the payment is still found, by asking the channel.
    assert_eq!(faults(serde_json::json!({"drop_rate": 1.0})).await, 200);
    let link = app.channel_pay_link(pay_url, "wechat").await;
    let paid: Value = app
        .http
        .post(format!("{}/sim/pay", app.simulator_address))
        .json(&serde_json::json!({"pay_url": link}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(paid["notification"], "dropped");
    assert_eq!(app.payment_counts(), (0, 0));
    let page: Value = app.page_json(pay_url).await.json().await.expect("JSON");
    assert_eq!(page["status"], "paid");
    assert_eq!(app.payment_counts(), (1, 0));
}
