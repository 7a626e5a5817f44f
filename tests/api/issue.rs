//! Issuing fines: what a handheld gets back, what is stored, and decision numbers that never
//! repeat, even when many fines are issued at once.

use crate::helpers::{motor_fine, pedestrian_fine, spawn_app, spawn_app_with};
use chrono::{DateTime, Duration};
use finepay::domain::DecisionNo;
use finepay::domain::time::shanghai_date;
use std::collections::HashSet;

#[actix_web::test]
async fn issuing_a_motor_vehicle_fine_returns_the_bill() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let fine = app.issue_ok(&token, "key-1", &motor_fine(&app)).await;

    let no = fine["decision_no"].as_str().expect("decision_no");
    let parsed = DecisionNo::parse(no).expect("check digits are valid");
    assert_eq!(parsed.district(), "110105");
    assert_eq!(&no[6..12], shanghai_date(app.now()).format("%y%m%d").to_string());
    assert_eq!(&no[12..17], "00001", "the first fine of the day has serial 1");
    assert_eq!(fine["status"], "awaiting_payment");
    assert_eq!(fine["amount_fen"], 20000);
    assert_eq!(fine["violation"]["code"], "1625");
    assert_eq!(fine["violation"]["points"], 6);
    assert_eq!(fine["verification_code"].as_str().map(str::len), Some(6));

    let issued = DateTime::parse_from_rfc3339(fine["issued_at"].as_str().expect("issued_at")).expect("RFC 3339");
    let expires =
        DateTime::parse_from_rfc3339(fine["qr_expires_at"].as_str().expect("qr_expires_at")).expect("RFC 3339");
    assert_eq!(expires - issued, Duration::hours(4), "the shipped window is four hours");
    assert!(fine["issued_at"].as_str().is_some_and(|t| t.ends_with("+08:00")), "times are in Asia/Shanghai");

    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    assert!(pay_url.starts_with("HTTP://127.0.0.1:8080/P/"), "{pay_url}");
    assert_eq!(pay_url, pay_url.to_ascii_uppercase(), "the QR code holds the upper-case URL");
    assert_eq!(fine["links"]["qr_png"], format!("/api/v1/fines/{no}/qr.png"));
    assert_eq!(fine["links"]["bill_png"], format!("/api/v1/fines/{no}/bill.png"));

    // GET shows the same fine, and the issue is in the audit log.
    let read: serde_json::Value = app.get(&token, &format!("/api/v1/fines/{no}")).await.json().await.expect("JSON");
    assert_eq!(read, fine);
    assert_eq!(app.audit_actions(no), vec!["fine.issue"]);
}

#[actix_web::test]
async fn a_district_without_qr_payment_sends_the_fine_to_the_bank() {
    let app = spawn_app().await;
    // 110109 has no qr_payment_from; 110115 starts in the future.
    for district in ["110109", "110115"] {
        let token = app.officer(district);
        let fine = app.issue_ok(&token, "k", &motor_fine(&app)).await;
        assert_eq!(fine["status"], "payable_at_bank", "{district}");
        assert!(fine["pay_url"].is_null());
        assert!(fine["qr_expires_at"].is_null());
        assert!(fine["links"]["qr_png"].is_null());
        assert!(fine["links"]["qr_svg"].is_null());
        assert!(fine["links"]["bill_png"].is_string(), "the bill is still printed");
    }
}

#[actix_web::test]
async fn pedestrians_get_the_code_on_screen_and_their_own_range() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let fine = app.issue_ok(&token, "p1", &pedestrian_fine(&app)).await;
    assert_eq!(fine["delivery"], "screen");
    assert_eq!(fine["subject"]["kind"], "pedestrian");
    assert!(fine["subject"]["plate"].is_null());
    assert!(fine["amount_fen"].as_i64().is_some_and(|a| (500..=5000).contains(&a)));

    let mut body = pedestrian_fine(&app);
    body["amount_fen"] = 5000.into();
    let fine = app.issue_ok(&token, "p2", &body).await;
    assert_eq!(fine["amount_fen"], 5000, "an officer may set an amount inside the range");
}

#[actix_web::test]
async fn the_end_of_business_day_policy_sets_the_window() {
    let app = spawn_app_with(&[("qr.policy", "end_of_business_day"), ("qr.business_day_end", "17:30")]).await;
    app.clock.set(DateTime::parse_from_rfc3339("2026-11-21T09:00:00+08:00").expect("time").to_utc());
    let token = app.officer("110105");
    let fine = app.issue_ok(&token, "k", &motor_fine(&app)).await;
    assert_eq!(fine["qr_expires_at"], "2026-11-21T17:30:00+08:00");
}

#[actix_web::test]
async fn concurrent_issuing_never_repeats_a_decision_number() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let body = motor_fine(&app);
    let requests = (0..60).map(|i| {
        let (app, token, body) = (&app, &token, &body);
        async move { app.issue_ok(token, &format!("key-{i}"), body).await }
    });
    let fines = futures_util::future::join_all(requests).await;
    let numbers: HashSet<String> = fines.iter().map(|f| f["decision_no"].as_str().expect("no").to_owned()).collect();
    assert_eq!(numbers.len(), 60, "every fine has its own decision number");
    let serials: HashSet<u32> = numbers.iter().map(|n| n[12..17].parse().expect("serial")).collect();
    assert_eq!(serials, (1..=60).collect(), "serials are 1..=60 with no gap and no repeat");
    assert_eq!(app.counts().fines, 60);
}

#[actix_web::test]
async fn serials_are_per_district_and_per_day() {
    let app = spawn_app().await;
    let chaoyang = app.officer("110105");
    let haidian = app.officer("110108");
    let a = app.issue_ok(&chaoyang, "a", &motor_fine(&app)).await;
    let b = app.issue_ok(&haidian, "b", &motor_fine(&app)).await;
    assert_eq!(&a["decision_no"].as_str().expect("no")[12..17], "00001");
    assert_eq!(&b["decision_no"].as_str().expect("no")[12..17], "00001");

    app.clock.advance(Duration::days(1));
    let c = app.issue_ok(&chaoyang, "c", &motor_fine(&app)).await;
    let no = c["decision_no"].as_str().expect("no");
    assert_eq!(&no[12..17], "00001", "a new day starts again at 1");
    assert_eq!(&no[6..12], shanghai_date(app.now()).format("%y%m%d").to_string());
}

#[actix_web::test]
async fn a_district_past_99999_fines_a_day_is_refused_not_wrapped() {
    use diesel::prelude::*;
    use finepay::db::schema::decision_serials::dsl::*;
    let app = spawn_app().await;
    let token = app.officer("110105");
    let today = shanghai_date(app.now());
    {
        let mut conn = app.ctx.pool.get().expect("connection");
        diesel::insert_into(decision_serials)
            .values((district_code.eq("110105"), issue_date.eq(today), last_serial.eq(99_998_i64)))
            .execute(&mut *conn)
            .expect("counter set");
    }
    let body = motor_fine(&app);
    let answers = futures_util::future::join_all((0..3).map(|i| {
        let (app, token, body) = (&app, &token, &body);
        async move { app.issue(token, &format!("late-{i}"), body).await }
    }))
    .await;
    let mut issued = Vec::new();
    let mut refused = 0;
    for answer in answers {
        match answer.status().as_u16() {
            201 => issued.push(answer.json::<serde_json::Value>().await.expect("JSON")),
            _ => {
                let (status, code) = crate::helpers::error_of(answer).await;
                assert_eq!((status, code.as_str()), (409, "decision_numbers_exhausted"));
                refused += 1;
            }
        }
    }
    assert_eq!((issued.len(), refused), (1, 2));
    assert_eq!(&issued[0]["decision_no"].as_str().expect("no")[12..17], "99999");
    assert_eq!(app.counts().fines, 1, "refused fines leave nothing behind");
}
