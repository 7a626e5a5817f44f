//! A fine at the desk: found by decision number, receipt number or plate, and shown whole — its
//! facts, its timeline from the audit trail and the orders, its payments with their receipts, its
//! hand-over and bank settlement — to the signed-in browser; and a clerk finding a fine by plate
//! in headless Chromium.

use crate::accessibility::{axe_source, violations};
use crate::admin::{admin, no_of, pay, pay_at_bank};
use crate::admin_page::signed_in;
use crate::helpers::{TestApp, motor_fine, spawn_app, unescape_html, visible_text};
use crate::webdriver::{Browser, Tools};
use chrono::Duration;
use finepay::jobs::Job;

/// A desk page as the signed-in browser gets it: (status, Location, HTML).
async fn desk_get(app: &TestApp, cookie: &str, path: &str) -> (u16, String, String) {
    let response = app.http.get(format!("{}{path}", app.address)).header("Cookie", cookie).send().await.expect("sent");
    let status = response.status().as_u16();
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (status, location, response.text().await.expect("body"))
}

/// What a reader sees, its spacing made single.
fn read(html: &str) -> String {
    visible_text(&unescape_html(html)).split_whitespace().collect::<Vec<_>>().join(" ")
}

fn receipt_of(app: &TestApp, no: &str) -> String {
    let mut conn = app.ctx.pool.get().expect("connection");
    let payments = finepay::db::payments::for_fine(&mut conn, no).expect("payments");
    payments[0].receipt_no.clone().expect("a receipt")
}

#[actix_web::test]
async fn a_paid_fines_page_shows_its_facts_timeline_payment_and_receipt() {
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let cookie = signed_in(&app, &token).await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "f-1", &motor_fine(&app)).await;
    let no = no_of(&fine);
    pay(&app, &fine, "alipay").await;
    let receipt = receipt_of(&app, &no);

    let (status, _, html) = desk_get(&app, &cookie, &format!("/admin/fines/{no}?lang=en")).await;
    assert_eq!(status, 200, "{html}");
    let text = read(&html);
    assert!(text.contains(&format!("Fine {no}")), "{text}");
    assert!(text.contains("State: paid (paid)"), "{text}");
    assert!(text.contains("京A12345"), "the desk sees the whole plate: {text}");
    assert!(text.contains("1625 "), "the violation: {text}");
    // The timeline, in order: issued, the order opened, the payment, the order paid.
    let issued = text.find("issued (fine.issue)").expect("issued");
    let opened = text.find("payment order opened (order.opened)").expect("order opened");
    let paid = text.find("paid online (fine.paid)").expect("paid");
    assert!(issued < opened && opened < paid, "{text}");
    assert!(text.contains("payment order paid (order.paid)"), "{text}");
    assert!(html.contains(&format!("href=\"/r/{receipt}\"")), "a link to the receipt: {html}");
    assert!(text.contains("applied (applied)"), "the payment's outcome: {text}");
    assert!(!html.contains("bill-link"), "a paid fine has no bill to pay");
    assert!(!html.contains("pay-link"), "nor a pay page");
    let utc_time = |w: &[u8]| w[5] == b'Z' && w[2] == b':' && [0, 1, 3, 4].iter().all(|&i| w[i].is_ascii_digit());
    assert!(!text.contains("+00:00") && !text.as_bytes().windows(6).any(utc_time), "Beijing times only: {text}");

    // Chinese by default.
    let (_, _, html) = desk_get(&app, &cookie, &format!("/admin/fines/{no}")).await;
    let text = read(&html);
    assert!(text.contains(&format!("罚单 {no}")) && text.contains("扫码缴款入账 (fine.paid)"), "{text}");
}

#[actix_web::test]
async fn a_fine_handed_to_the_banks_shows_what_is_due_and_its_settlement() {
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let cookie = signed_in(&app, &token).await;
    let officer = app.officer("110105");
    let no = no_of(&app.issue_ok(&officer, "f-2", &motor_fine(&app)).await);

    let (_, _, html) = desk_get(&app, &cookie, &format!("/admin/fines/{no}?lang=en")).await;
    assert!(html.contains("id=\"pay-link\"") && html.contains("id=\"bill-link\""), "{html}");
    let bill = app.http.get(format!("{}/admin/fines/{no}/bill.png", app.address)).header("Cookie", &cookie);
    let bill = bill.send().await.expect("sent");
    assert_eq!(bill.status(), 200);
    assert_eq!(bill.headers()["content-type"], "image/png");
    assert!(bill.bytes().await.expect("png").starts_with(b"\x89PNG"));

    app.clock.advance(Duration::hours(4) + Duration::seconds(1));
    app.run_job(Job::Expire).await;
    let cookie = signed_in(&app, &token).await; // the desk was idle for four hours
    let (_, _, html) = desk_get(&app, &cookie, &format!("/admin/fines/{no}?lang=en")).await;
    let text = read(&html);
    assert!(text.contains("payable at a bank (payable_at_bank)"), "{text}");
    assert!(text.contains("Due at a bank today (surcharge included) ¥200.00"), "{text}");
    assert!(text.contains("window ended, handed to the banks (fine.payable_at_bank)"), "{text}");
    assert!(!html.contains("id=\"pay-link\""), "the code no longer works: {html}");

    pay_at_bank(&app, &no).await;
    let (_, _, html) = desk_get(&app, &cookie, &format!("/admin/fines/{no}?lang=en")).await;
    let text = read(&html);
    assert!(text.contains("paid at a bank (fine.paid_at_bank)"), "{text}");
    assert!(text.contains(&format!("ICBC B-{no} ¥200.00 ¥200.00")), "the bank's line, amount and due: {text}");
    let bill = app.http.get(format!("{}/admin/fines/{no}/bill.png", app.address)).header("Cookie", &cookie);
    assert_eq!(bill.send().await.expect("sent").status(), 409, "a paid fine's bill is not drawn again");
}

#[actix_web::test]
async fn the_desk_finds_fines_by_decision_number_receipt_number_and_exact_plate() {
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let cookie = signed_in(&app, &token).await;
    let officer = app.officer("110105");
    let first = app.issue_ok(&officer, "s-1", &motor_fine(&app)).await;
    app.clock.advance(Duration::minutes(5));
    let mut other_plate = motor_fine(&app);
    other_plate["subject"]["plate"] = "京B54321".into();
    let second = app.issue_ok(&officer, "s-2", &motor_fine(&app)).await;
    app.issue_ok(&officer, "s-3", &other_plate).await;
    pay(&app, &first, "wechat").await;
    let receipt = receipt_of(&app, &no_of(&first));

    let fine_page = |no: &str| format!("/admin/fines/{no}?lang=en");
    let (status, location, _) = desk_get(&app, &cookie, &format!("/admin/fines?lang=en&q={}", no_of(&first))).await;
    assert_eq!((status, location), (303, fine_page(&no_of(&first))));
    let (status, location, _) = desk_get(&app, &cookie, &format!("/admin/fines?lang=en&q={}", receipt)).await;
    assert_eq!((status, location), (303, fine_page(&no_of(&first))), "by receipt number");
    let lower = receipt.to_ascii_lowercase();
    let (status, location, _) = desk_get(&app, &cookie, &format!("/admin/fines?lang=en&q=+{lower}+")).await;
    assert_eq!((status, location), (303, fine_page(&no_of(&first))), "as typed, in lower case with spaces");

    // A plate, typed in lower case: exactly its fines, newest first.
    let (status, _, html) = desk_get(&app, &cookie, "/admin/fines?lang=en&q=%E4%BA%ACa12345").await;
    assert_eq!(status, 200);
    let text = read(&html);
    assert!(text.contains("Fines of plate 京A12345 (newest first)"), "{text}");
    let (at_first, at_second) = (text.find(&no_of(&first)), text.find(&no_of(&second)));
    assert!(at_second.expect("the second") < at_first.expect("the first"), "newest first: {text}");
    assert_eq!(html.matches("href=\"/admin/fines/").count(), 2, "not the other plate's: {html}");

    for nothing in ["京A99999", "1101052612060009999", "RCPT-NOTHING"] {
        let (status, _, html) = desk_get(&app, &cookie, &format!("/admin/fines?lang=en&q={nothing}")).await;
        assert_eq!(status, 200, "{nothing}");
        assert!(html.contains("id=\"nothing-found\""), "{nothing}: {html}");
    }
    let long = "x".repeat(65);
    let (status, _, _) = desk_get(&app, &cookie, &format!("/admin/fines?lang=en&q={long}")).await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn a_fine_page_needs_an_admin_and_names_a_fine() {
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let cookie = signed_in(&app, &token).await;
    let officer = app.officer("110105");
    let no = no_of(&app.issue_ok(&officer, "n-1", &motor_fine(&app)).await);

    let (status, _, html) = desk_get(&app, "", &format!("/admin/fines/{no}?lang=en")).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"token\"") && !html.contains(&no), "the sign-in form, nothing of the fine");
    let by_officer = app.http.get(format!("{}/admin/fines/{no}", app.address)).bearer_auth(&officer);
    assert_eq!(by_officer.send().await.expect("sent").status(), 403);
    let bill = app.http.get(format!("{}/admin/fines/{no}/bill.png", app.address)).bearer_auth(&officer);
    assert_eq!(bill.send().await.expect("sent").status(), 403, "the desk's bill is the desk's");
    for missing in ["1101052612060009999", "not-a-number", "%3Cscript%3E"] {
        let (status, _, _) = desk_get(&app, &cookie, &format!("/admin/fines/{missing}")).await;
        assert_eq!(status, 404, "{missing}");
    }
    // curl with the admin's token reads it too.
    let by_admin = app.http.get(format!("{}/admin/fines/{no}", app.address)).bearer_auth(&token);
    assert_eq!(by_admin.send().await.expect("sent").status(), 200);
}

#[actix_web::test]
async fn a_clerk_finds_a_fine_by_plate_in_the_browser() {
    let Some(tools) = Tools::find() else { return };
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "b-1", &motor_fine(&app)).await;
    let no = no_of(&fine);
    pay(&app, &fine, "wechat").await;

    let browser = Browser::start_at(&tools, "zh-CN,zh", None, 1280).await;
    crate::admin_browser::sign_in(&browser, &app, &token).await;
    browser.click_on("#fines-link").await;
    browser.wait("#q").await;
    browser.type_into("#q", "京a12345").await;
    browser.click_on("#search").await;
    browser.wait("#results").await;
    assert!(browser.text("#results-title").await.contains("京A12345"));
    browser.click_on(&format!("a[href^='/admin/fines/{no}']")).await;
    browser.wait("#timeline").await;
    assert_eq!(browser.text("#fine-status").await, "已缴款 (paid)");
    assert!(browser.text("#timeline").await.contains("扫码缴款入账 (fine.paid)"));
    if let Some(axe) = axe_source() {
        let found = violations(&browser, &axe).await;
        assert!(found.is_empty(), "the fine's page breaks WCAG 2.1 AA:\n{}", found.join("\n"));
    }
    browser.screenshot("desk-fine-zh").await;
    browser.quit().await;
}
