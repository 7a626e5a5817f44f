//! The public page a bill's QR code opens: JSON and HTML, in Chinese and English, active to the
//! second, revealing nothing about forged tokens and never the full plate.

use crate::helpers::{TestApp, motor_fine, spawn_app, spawn_app_with, visible_text};
use chrono::Duration;
use finepay::domain::time::shanghai_date;
use finepay::domain::{DecisionNo, DistrictCode};
use serde_json::{Value, json};

/// The page as HTML, with an optional Accept-Language and query string.
async fn page_html(app: &TestApp, pay_url: &str, accept_language: Option<&str>, query: &str) -> reqwest::Response {
    let mut request = app.http.get(format!("{}{query}", app.public_path(pay_url)));
    if let Some(lang) = accept_language {
        request = request.header("Accept-Language", lang);
    }
    request.send().await.expect("request sent")
}

async fn html_text(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    response.text().await.expect("body")
}

async fn page(app: &TestApp, pay_url: &str) -> Value {
    let response = app.page_json(pay_url).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

fn token_of(pay_url: &str) -> &str {
    pay_url.rsplit('/').next().expect("token")
}

#[actix_web::test]
async fn the_page_shows_the_fine_as_json() {
    let app = spawn_app().await;
    let fine = app.issue_ok(&app.officer("110105"), "k", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");

    let body = page(&app, pay_url).await;
    assert_eq!(body["decision_no"], fine["decision_no"]);
    assert_eq!(body["status"], "awaiting_payment");
    assert_eq!(body["qr_active"], true);
    assert_eq!(body["amount_fen"], 20000);
    assert_eq!(body["qr_expires_at"], fine["qr_expires_at"]);
    assert_eq!(body["masked_plate"], "京A***45");
    assert!(body["channels"].is_array(), "{body}");
    assert!(body["receipt"].is_null());
    assert!(!body.to_string().contains("京A12345"), "the JSON never shows the full plate");

    // People type the lower-case URL.
    let lower = format!("{}/p/{}", app.address, token_of(pay_url).to_ascii_lowercase());
    let response = app.http.get(lower).header("Accept", "application/json").send().await.expect("request sent");
    assert_eq!(response.status(), 200);
    let lower_body: Value = response.json().await.expect("JSON");
    assert_eq!(lower_body, body);
}

#[actix_web::test]
async fn the_html_page_speaks_chinese_or_english_and_masks_the_plate() {
    let app = spawn_app().await;
    let fine = app.issue_ok(&app.officer("110105"), "k", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");

    let zh = html_text(page_html(&app, pay_url, None, "").await).await;
    assert!(visible_text(&zh).contains("前扫码缴款"), "Chinese is the default");
    assert!(visible_text(&zh).contains("京A***45"));
    assert!(!visible_text(&zh).contains("二维码已过期"));

    let en = html_text(page_html(&app, pay_url, Some("en-US,en;q=0.9"), "").await).await;
    assert!(visible_text(&en).contains("Pay with this code by"), "English from Accept-Language");
    assert!(!visible_text(&en).contains("This code expired at"), "not expired yet");
    assert!(!en.contains("前扫码缴款"));

    let switched = html_text(page_html(&app, pay_url, Some("zh-CN,zh;q=0.9"), "?lang=en").await).await;
    assert!(visible_text(&switched).contains("Pay with this code by"), "?lang=en overrides Accept-Language");
    assert!(!switched.contains("前扫码缴款"));

    app.clock.advance(Duration::hours(5));
    let expired = html_text(page_html(&app, pay_url, Some("en"), "").await).await;
    let seen = visible_text(&expired);
    assert!(seen.contains("This code expired at"), "{seen}");
    assert!(!seen.contains("Pay with this code by"));
    assert!(seen.contains(fine["decision_no"].as_str().expect("no")), "the decision number for the bank");

    for html in [&zh, &en, &switched, &expired] {
        assert!(!html.contains("京A12345"), "the full plate never appears, not even in markup");
    }
}

#[actix_web::test]
async fn the_code_expires_to_the_second() {
    let app = spawn_app_with(&[("qr.validity", "90s")]).await;
    let fine = app.issue_ok(&app.officer("110105"), "k", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    let expires =
        chrono::DateTime::parse_from_rfc3339(fine["qr_expires_at"].as_str().expect("qr_expires_at")).expect("RFC 3339");
    assert_eq!(expires.to_utc(), app.now() + Duration::seconds(90));

    app.clock.advance(Duration::seconds(89));
    let body = page(&app, pay_url).await;
    assert_eq!((body["qr_active"].clone(), body["status"].clone()), (json!(true), json!("awaiting_payment")));
    let html = visible_text(&html_text(page_html(&app, pay_url, Some("en"), "").await).await);
    assert!(html.contains("Pay with this code by"));
    assert!(!html.contains("This code expired at"));
    assert!(html.contains("00:00:01"), "one second left on the countdown: {html}");

    app.clock.advance(Duration::seconds(1));
    assert_eq!(app.now(), expires.to_utc(), "exactly at qr_expires_at");
    let body = page(&app, pay_url).await;
    assert_eq!(body["qr_active"], false, "inactive from the second the window ends");
    assert_eq!(body["status"], "awaiting_payment", "no scheduler has run: the stored status is unchanged");
    let html = visible_text(&html_text(page_html(&app, pay_url, Some("en"), "").await).await);
    assert!(html.contains("This code expired at"));
    assert!(html.contains("Amount due today ("));
    assert!(html.contains("¥200.00"), "the amount due at a bank");
    assert!(!html.contains("Pay with this code by"));
}

#[actix_web::test]
async fn forged_and_unknown_tokens_get_the_same_404() {
    let app = spawn_app().await;
    let fine = app.issue_ok(&app.officer("110105"), "k", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    let token = token_of(pay_url);
    assert_eq!(token.len(), 31);
    assert_eq!(app.page_json(pay_url).await.status(), 200, "the genuine token works");

    let mut forged = token.to_owned().into_bytes();
    forged[20] = if forged[20] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ASCII");
    let random = "ABCDEFGHIJKLMNOPQRSTUVWXYZ23456";
    let short = &token[..30];
    // A genuinely signed token for a decision number that was never issued.
    let never_issued = DecisionNo::new(&DistrictCode::parse("110105").expect("district"), shanghai_date(app.now()), 7)
        .expect("number");
    let signed = app.ctx.signer.sign_with(&never_issued, app.ctx.signer.current_key()).expect("current key");

    let mut bodies = Vec::new();
    for candidate in [forged.as_str(), random, short, signed.as_str()] {
        let url = format!("HTTP://EXAMPLE/P/{candidate}");
        let response = app.page_json(&url).await;
        assert_eq!(response.status(), 404, "{candidate}");
        bodies.push(response.text().await.expect("body"));

        let response = page_html(&app, &url, None, "").await;
        assert_eq!(response.status(), 404, "{candidate}");
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let html = response.text().await.expect("body");
        assert!(html.contains("未找到"), "the 404 page");
    }
    let error: Value = serde_json::from_str(&bodies[0]).expect("JSON");
    assert_eq!(error["error"]["code"], "not_found");
    assert!(bodies.iter().all(|b| *b == bodies[0]), "no hint which tokens are forged: {bodies:?}");
}

#[actix_web::test]
async fn a_void_fine_shows_void() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "k", &motor_fine(&app)).await;
    let no = fine["decision_no"].as_str().expect("no");
    app.void_ok(&officer, no, "issued in error").await;

    let body = page(&app, fine["pay_url"].as_str().expect("pay_url")).await;
    assert_eq!(body["status"], "void");
    assert_eq!(body["qr_active"], false);
    let html = visible_text(
        &html_text(page_html(&app, fine["pay_url"].as_str().expect("pay_url"), Some("en"), "").await).await,
    );
    assert!(html.contains("This fine was cancelled: nothing to pay") && html.contains("you owe nothing"), "{html}");
    assert!(!html.contains("Pay with this code by"));
    assert!(!html.contains("CNY") && !html.contains("200.00"), "no amount on a cancelled fine: {html}");
}

#[actix_web::test]
async fn the_page_is_neither_cached_nor_referred_nor_framed() {
    let app = spawn_app().await;
    let fine = app.issue_ok(&app.officer("110105"), "k", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    for response in [app.page_json(pay_url).await, page_html(&app, pay_url, None, "").await] {
        assert_eq!(response.status(), 200);
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"));
        let csp = header("content-security-policy").expect("a Content-Security-Policy");
        assert!(csp.contains("default-src"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
}
