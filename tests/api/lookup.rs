//! The lookup page: decision number + verification code lead to the same page as the QR code;
//! wrong numbers and wrong codes get one answer; limits per client address and per decision
//! number hold, and lift once their window has passed.

use crate::helpers::{TestApp, error_of, motor_fine, spawn_app, spawn_app_with};
use chrono::{Duration, NaiveDate};
use finepay::domain::{DecisionNo, DistrictCode};
use serde_json::{Value, json};

async fn lookup_json(app: &TestApp, body: &Value, client: Option<&str>) -> reqwest::Response {
    let mut request = app.http.post(format!("{}/lookup", app.address)).json(body);
    if let Some(address) = client {
        request = request.header("X-Real-IP", address);
    }
    request.send().await.expect("request sent")
}

async fn lookup_form(app: &TestApp, form: &[(&str, &str)], query: &str) -> reqwest::Response {
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    app.http
        .post(format!("{}/lookup{query}", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("request sent")
}

fn wrong_code(code: &str) -> String {
    let last = code.as_bytes()[5] - b'0';
    format!("{}{}", &code[..5], (last + 1) % 10)
}

/// A well-formed decision number that no fine has.
fn unknown_decision_no() -> String {
    let district = DistrictCode::parse("110105").expect("district");
    let date = NaiveDate::from_ymd_opt(2026, 1, 2).expect("date");
    DecisionNo::new(&district, date, 99_998).expect("number").as_str().to_owned()
}

#[actix_web::test]
async fn a_decision_number_and_its_code_lead_to_the_qr_codes_page() {
    let app = spawn_app_with(&[("lookup.attempts_per_address", "100")]).await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "lookup-1", &motor_fine(&app)).await;
    let (no, code) = (fine["decision_no"].as_str().expect("no"), fine["verification_code"].as_str().expect("code"));
    let before = app.counts();

    let found = lookup_json(&app, &json!({"decision_no": no, "verification_code": code}), None).await;
    assert_eq!(found.status(), 200);
    assert_eq!(found.headers()["cache-control"], "no-store");
    let found: Value = found.json().await.expect("json");
    assert_eq!(found["decision_no"], no);
    assert_eq!(found["pay_url"], fine["pay_url"], "the same page as the QR code's");
    let page: Value = app.page_json(found["pay_url"].as_str().expect("url")).await.json().await.expect("page");
    assert_eq!(page["decision_no"], no);
    assert_eq!(page["qr_active"], true);

    // A wrong code and an unknown number get the same answer.
    let wrong =
        error_of(lookup_json(&app, &json!({"decision_no": no, "verification_code": wrong_code(code)}), None).await)
            .await;
    let unknown = error_of(
        lookup_json(&app, &json!({"decision_no": unknown_decision_no(), "verification_code": code}), None).await,
    )
    .await;
    assert_eq!(wrong, (404, "not_found".to_owned()));
    assert_eq!(unknown, wrong);

    // Malformed input is named.
    let mistyped = format!("{}{}", &no[..18], (no.as_bytes()[18] - b'0' + 1) % 10);
    let cases = [
        (json!({"decision_no": mistyped, "verification_code": code}), 422, "bad_decision_number"),
        (json!({"decision_no": "12345", "verification_code": code}), 422, "bad_decision_number"),
        (json!({"decision_no": no, "verification_code": "12ab56"}), 422, "invalid_verification_code"),
        (json!({"decision_no": no, "verification_code": "1234567"}), 422, "invalid_verification_code"),
        (json!({"decision_no": no}), 400, "invalid_request"),
        (json!({"decision_no": no, "verification_code": 123456}), 400, "invalid_request"),
        (json!({"decision_no": no, "verification_code": code, "extra": 1}), 400, "invalid_request"),
    ];
    for (body, status, error) in cases {
        assert_eq!(error_of(lookup_json(&app, &body, None).await).await, (status, error.to_owned()), "{body}");
    }
    let garbage = app
        .http
        .post(format!("{}/lookup", app.address))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(error_of(garbage).await, (400, "invalid_request".to_owned()));
    assert_eq!(app.counts(), before, "a lookup writes nothing");
}

#[actix_web::test]
async fn the_form_redirects_to_the_page_or_says_what_was_wrong() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "lookup-form", &motor_fine(&app)).await;
    let (no, code) = (fine["decision_no"].as_str().expect("no"), fine["verification_code"].as_str().expect("code"));

    let form = app
        .http
        .get(format!("{}/lookup", app.address))
        .header("Accept-Language", "en-GB,en;q=0.9")
        .send()
        .await
        .expect("sent");
    assert_eq!(form.status(), 200);
    let form = form.text().await.expect("html");
    assert!(form.contains("Find a fine") && form.contains("name=\"verification_code\""), "{form}");

    // Spaces typed into the number are forgiven; the answer is the QR code's page.
    let spaced = format!("{} {} {}", &no[..6], &no[6..14], &no[14..]);
    let found = lookup_form(&app, &[("decision_no", &spaced), ("verification_code", code)], "").await;
    assert_eq!(found.status(), 303);
    let location = found.headers()["location"].to_str().expect("location").to_owned();
    let qr_path = app.public_path(fine["pay_url"].as_str().expect("url"));
    assert_eq!(format!("{}{location}", app.address), qr_path.replacen("/P/", "/p/", 1));
    let page = app.http.get(format!("{}{location}", app.address)).send().await.expect("sent");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains(no));

    // The language the form was in carries over to the page.
    let found = lookup_form(&app, &[("decision_no", no), ("verification_code", code)], "?lang=en").await;
    assert!(found.headers()["location"].to_str().expect("location").ends_with("?lang=en"));

    let refused = lookup_form(&app, &[("decision_no", no), ("verification_code", &wrong_code(code))], "?lang=en").await;
    assert_eq!(refused.status(), 404);
    let html = refused.text().await.expect("html");
    assert!(html.contains("<title>Error: Find a fine</title>"), "GOV.UK's 'Error:' in the title: {html}");
    assert!(
        html.contains("id=\"error-summary\"")
            && html.contains("<a href=\"#decision_no\">No fine has this decision number"),
        "{html}"
    );
    assert!(html.contains(&format!("value=\"{no}\"")), "the number stays in the form");

    // Each field's error beside it, linked from the summary; a missing field says so.
    let refused = lookup_form(&app, &[("verification_code", code)], "?lang=zh").await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("html");
    assert!(html.contains("<title>错误：查询罚款</title>"), "{html}");
    assert!(html.contains("id=\"decision_no-error\"") && html.contains("请填写决定书编号"), "{html}");
    assert!(
        html.contains("aria-invalid=\"true\"")
            && html.contains("aria-describedby=\"decision_no-hint decision_no-error\""),
        "{html}"
    );
    assert!(!html.contains("id=\"verification_code-error\""), "the code was given: {html}");

    // Nineteen digits whose check digits fail are a typo, and said to be one.
    let mut typo: Vec<u8> = no.bytes().collect();
    typo[10] = if typo[10] == b'9' { b'0' } else { typo[10] + 1 };
    let typo = String::from_utf8(typo).expect("digits");
    let refused = lookup_form(&app, &[("decision_no", &typo), ("verification_code", code)], "?lang=en").await;
    let html = refused.text().await.expect("html");
    assert!(html.contains("This decision number is mistyped: its check digits do not match"), "{html}");
    assert!(!html.contains("has 19 digits"), "{html}");
    let short = lookup_form(&app, &[("decision_no", "110105"), ("verification_code", "12")], "?lang=en").await;
    let html = short.text().await.expect("html");
    assert!(html.contains("A decision number has 19 digits"), "{html}");
    let form =
        app.http.get(format!("{}/lookup?lang=en", app.address)).send().await.expect("sent").text().await.expect("html");
    assert!(
        form.contains("printed at the top of the bill") && form.contains("printed large below the QR code"),
        "where to find them: {form}"
    );
    assert!(!form.contains("id=\"error-summary\""), "no errors on a fresh form: {form}");

    // A forged QR link points the payer at the lookup page.
    let forged = app.http.get(format!("{}/p/AAAAAAAAAAAAAAAAAAAAAAAAAA", app.address)).send().await.expect("sent");
    assert_eq!(forged.status(), 404);
    assert!(forged.text().await.expect("html").contains("href=\"/lookup?lang=zh\""));
}

#[actix_web::test]
async fn a_fine_without_qr_payment_is_found_and_its_page_says_where_to_pay() {
    let app = spawn_app().await;
    let officer = app.officer("110109");
    let mut body = motor_fine(&app);
    body["location"] = json!("门头沟区滨河路");
    let fine = app.issue_ok(&officer, "lookup-bank", &body).await;
    assert!(fine["pay_url"].is_null(), "no QR code on this bill");
    let (no, code) = (fine["decision_no"].as_str().expect("no"), fine["verification_code"].as_str().expect("code"));

    let found: Value = lookup_json(&app, &json!({"decision_no": no, "verification_code": code}), None)
        .await
        .json()
        .await
        .expect("json");
    let page: Value = app.page_json(found["pay_url"].as_str().expect("url")).await.json().await.expect("page");
    assert_eq!(page["decision_no"], no);
    assert_eq!(page["qr_active"], false);
    assert_eq!(page["channels"], json!([]));
    assert_eq!(page["amount_due_at_bank_fen"], fine["amount_fen"]);
}

#[actix_web::test]
async fn lookups_are_limited_per_client_address() {
    let app = spawn_app_with(&[
        ("lookup.attempts_per_address", "3"),
        ("lookup.window", "10m"),
        ("server.client_address_header", "X-Real-IP"),
    ])
    .await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "lookup-limit", &motor_fine(&app)).await;
    let (no, code) = (fine["decision_no"].as_str().expect("no"), fine["verification_code"].as_str().expect("code"));
    let right = json!({"decision_no": no, "verification_code": code});
    let wrong = json!({"decision_no": no, "verification_code": wrong_code(code)});

    for _ in 0..2 {
        assert_eq!(error_of(lookup_json(&app, &wrong, Some("198.51.100.7")).await).await.0, 404);
    }
    assert_eq!(lookup_json(&app, &right, Some("198.51.100.7")).await.status(), 200, "right ones count too");
    let limited = lookup_json(&app, &right, Some("198.51.100.7")).await;
    assert_eq!(limited.status(), 429);
    let retry_after: i64 = limited.headers()["retry-after"].to_str().expect("header").parse().expect("seconds");
    assert!((1..=200).contains(&retry_after), "one attempt's worth of a 10-minute window: {retry_after}");
    let body: Value = limited.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(body["error"]["details"]["retry_after_seconds"], retry_after);

    // Another address has its own allowance; the limited one gets it back after the window.
    assert_eq!(lookup_json(&app, &right, Some("203.0.113.9")).await.status(), 200);
    app.clock.advance(Duration::seconds(retry_after));
    assert_eq!(lookup_json(&app, &right, Some("198.51.100.7")).await.status(), 200);
    assert_eq!(lookup_json(&app, &right, Some("198.51.100.7")).await.status(), 429);

    // The form is answered in HTML, with the same status and Retry-After.
    let limited = app
        .http
        .post(format!("{}/lookup?lang=en", app.address))
        .header("X-Real-IP", "198.51.100.7")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("decision_no={no}&verification_code={code}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(limited.status(), 429);
    let wait: u64 = limited.headers()["retry-after"].to_str().expect("header").parse().expect("seconds");
    let html = limited.text().await.expect("html");
    assert!(html.contains(&format!("Try again in {} minutes", wait.div_ceil(60).max(1))), "how long to wait: {html}");
    assert!(
        html.contains(&format!("<fieldset disabled data-retry-after=\"{wait}\" id=\"limited\">")),
        "the form is off until then, and the page's script turns it on after: {html}"
    );
    assert!(!html.contains("http-equiv=\"refresh\""), "no timed refresh (WCAG 2.2.1)");
}

#[actix_web::test]
async fn wrong_codes_are_limited_per_decision_number_across_addresses() {
    let app = spawn_app_with(&[
        ("lookup.failures_per_fine", "2"),
        ("lookup.window", "1h"),
        ("server.client_address_header", "X-Real-IP"),
    ])
    .await;
    let officer = app.officer("110105");
    let target = app.issue_ok(&officer, "guessed", &motor_fine(&app)).await;
    let other = app.issue_ok(&officer, "not-guessed", &motor_fine(&app)).await;
    let (no, code) = (target["decision_no"].as_str().expect("no"), target["verification_code"].as_str().expect("code"));

    // Two guessers from different addresses use up the number's allowance of wrong codes...
    for (i, address) in ["192.0.2.1", "192.0.2.2"].into_iter().enumerate() {
        let guess = json!({"decision_no": no, "verification_code": format!("{:06}", (code.parse::<u32>().expect("digits") + 1 + i as u32) % 1_000_000)});
        assert_eq!(error_of(lookup_json(&app, &guess, Some(address)).await).await.0, 404);
    }
    // ...so a third address is refused even with the right code: the guessing stops here.
    let right = json!({"decision_no": no, "verification_code": code});
    assert_eq!(error_of(lookup_json(&app, &right, Some("192.0.2.3")).await).await, (429, "rate_limited".to_owned()));
    // Other fines are not affected, and right codes never use up the allowance.
    let other_right = json!({"decision_no": other["decision_no"], "verification_code": other["verification_code"]});
    for _ in 0..3 {
        assert_eq!(lookup_json(&app, &other_right, Some("192.0.2.3")).await.status(), 200);
    }
    app.clock.advance(Duration::minutes(31));
    assert_eq!(lookup_json(&app, &right, Some("192.0.2.3")).await.status(), 200, "half the window gives one back");
}

#[actix_web::test]
async fn two_instances_allow_together_what_one_would() {
    let limits = [
        ("lookup.attempts_per_address", "4"),
        ("lookup.failures_per_fine", "3"),
        ("lookup.window", "10m"),
        ("server.client_address_header", "X-Real-IP"),
    ];
    let first = spawn_app_with(&limits).await;
    let second = crate::helpers::spawn_app_on(first.db.shared(), &limits).await;
    let officer = first.officer("110105");
    let fine = first.issue_ok(&officer, "lookup-two", &motor_fine(&first)).await;
    let (no, code) = (fine["decision_no"].as_str().expect("no"), fine["verification_code"].as_str().expect("code"));
    let right = json!({"decision_no": no, "verification_code": code});
    let wrong = json!({"decision_no": no, "verification_code": wrong_code(code)});

    // One address, alternating between the instances: four lookups in all, not four each.
    let statuses = {
        let mut statuses = Vec::new();
        for i in 0..6 {
            let app = if i % 2 == 0 { &first } else { &second };
            statuses.push(lookup_json(app, &right, Some("198.51.100.20")).await.status().as_u16());
        }
        statuses
    };
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);

    // Wrong codes for one fine, from many addresses, on either instance: three in all.
    let mut statuses = Vec::new();
    for i in 0..5 {
        let app = if i % 2 == 0 { &second } else { &first };
        statuses.push(lookup_json(app, &wrong, Some(&format!("203.0.113.{i}"))).await.status().as_u16());
    }
    assert_eq!(statuses, [404, 404, 404, 429, 429]);
    assert_eq!(lookup_json(&first, &right, Some("203.0.113.99")).await.status(), 429, "the fine is locked on both");
    assert_eq!(lookup_json(&second, &right, Some("203.0.113.98")).await.status(), 429);
}
