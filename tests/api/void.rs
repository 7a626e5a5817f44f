//! Voiding a fine issued in error: once, audited, idempotent on retry, and the QR code dies with it.

use crate::helpers::{TestApp, error_of, motor_fine, spawn_app};
use finepay::domain::time::shanghai_date;
use finepay::domain::{DecisionNo, DistrictCode};
use serde_json::{Value, json};

async fn void(app: &TestApp, token: &str, no: &str, body: &Value) -> reqwest::Response {
    app.http
        .post(format!("{}/api/v1/fines/{no}/void", app.address))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request sent")
}

#[actix_web::test]
async fn voiding_closes_the_fine_once() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let fine = app.issue_ok(&token, "k", &motor_fine(&app)).await;
    let no = fine["decision_no"].as_str().expect("no");
    let reason = json!({"reason": "issued in error"});

    let response = void(&app, &token, no, &reason).await;
    assert_eq!(response.status(), 200);
    let voided: Value = response.json().await.expect("JSON");
    assert_eq!(voided["decision_no"], no);
    assert_eq!(voided["status"], "void");
    assert_eq!(voided["void_reason"], "issued in error");
    assert!(voided["voided_at"].is_string());
    assert_eq!(app.audit_actions(no), vec!["fine.issue", "fine.void"]);
    let read: Value = app.get(&token, &format!("/api/v1/fines/{no}")).await.json().await.expect("JSON");
    assert_eq!(read, voided, "GET shows the void fine");

    // A retry answers with the fine as it is and writes nothing more.
    let counts = app.counts();
    for retry in [reason.clone(), json!({"reason": "a second reason"})] {
        let again = void(&app, &token, no, &retry).await;
        assert_eq!(again.status(), 200);
        let again: Value = again.json().await.expect("JSON");
        assert_eq!(again, voided, "the fine as it is: the first reason stands");
    }
    assert_eq!(app.audit_actions(no), vec!["fine.issue", "fine.void"]);
    assert_eq!(app.counts(), counts);

    let page: Value = app.page_json(fine["pay_url"].as_str().expect("pay_url")).await.json().await.expect("JSON");
    assert_eq!(page["status"], "void");
    assert_eq!(page["qr_active"], false);

    for link in ["qr_png", "qr_svg", "bill_png"] {
        let (status, code) = error_of(app.get(&token, fine["links"][link].as_str().expect("link")).await).await;
        assert_eq!((status, code.as_str()), (409, "fine_void"), "{link}");
    }
}

#[actix_web::test]
async fn a_void_needs_a_reason() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let fine = app.issue_ok(&token, "k", &motor_fine(&app)).await;
    let no = fine["decision_no"].as_str().expect("no");
    let baseline = app.counts();

    let (status, code) = error_of(void(&app, &token, no, &json!({})).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"), "missing reason");
    let (status, code) = error_of(void(&app, &token, no, &json!({"reason": 5})).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"), "reason is a number");
    let (status, code) = error_of(void(&app, &token, no, &json!({"reason": "  "})).await).await;
    assert_eq!((status, code.as_str()), (422, "invalid_reason"), "blank reason");
    let (status, code) = error_of(void(&app, &token, no, &json!({"reason": "x".repeat(501)})).await).await;
    assert_eq!((status, code.as_str()), (422, "invalid_reason"), "reason of 501 characters");

    assert_eq!(app.counts(), baseline);
    let read: Value = app.get(&token, &format!("/api/v1/fines/{no}")).await.json().await.expect("JSON");
    assert_eq!(read["status"], "awaiting_payment");
}

#[actix_web::test]
async fn only_the_issuing_district_voids_a_known_fine() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let fine = app.issue_ok(&token, "k", &motor_fine(&app)).await;
    let no = fine["decision_no"].as_str().expect("no");
    let reason = json!({"reason": "issued in error"});
    let baseline = app.counts();

    let stranger = app.officer("110108");
    let (status, code) = error_of(void(&app, &stranger, no, &reason).await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"), "another district's fine");

    let unknown =
        DecisionNo::new(&DistrictCode::parse("110105").expect("district"), shanghai_date(app.now()), 9).expect("no");
    let (status, code) = error_of(void(&app, &token, unknown.as_str(), &reason).await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"), "an unknown fine");

    assert_eq!(app.counts(), baseline);
    assert_eq!(app.audit_actions(no), vec!["fine.issue"]);
    let read: Value = app.get(&token, &format!("/api/v1/fines/{no}")).await.json().await.expect("JSON");
    assert_eq!(read["status"], "awaiting_payment");
}

#[actix_web::test]
async fn concurrent_voids_of_one_fine_all_succeed_once() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let mut numbers = Vec::new();
    for i in 0..10 {
        let fine = app.issue_ok(&token, &format!("v-{i}"), &motor_fine(&app)).await;
        numbers.push(fine["decision_no"].as_str().expect("no").to_owned());
    }
    // Four handhelds' double taps per fine, all at once.
    let requests = numbers.iter().flat_map(|no| std::iter::repeat_n(no, 4)).map(|no| {
        let (app, token) = (&app, &token);
        async move { void(app, token, no, &json!({"reason": "double tap"})).await }
    });
    for answer in futures_util::future::join_all(requests).await {
        assert_eq!(answer.status(), 200, "a void racing a void is still a void: {:?}", answer.text().await);
    }
    for no in &numbers {
        assert_eq!(app.audit_actions(no), vec!["fine.issue", "fine.void"], "voided exactly once");
    }
}
