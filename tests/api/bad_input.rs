//! Malformed, unauthorised and out-of-range requests: each gets its precise 4xx code in the
//! documented JSON shape, credentials are checked before the body, and none of them writes a
//! fine, an idempotency record or an audit entry.

use crate::helpers::{TestApp, error_of, motor_fine, pedestrian_fine, spawn_app};
use chrono::{Duration, Utc};
use finepay::credentials::{self, Binding};
use finepay::domain::time::shanghai_date;
use finepay::domain::{DecisionNo, DistrictCode};
use reqwest::RequestBuilder;
use serde_json::{Value, json};

const LIMIT: usize = 65536;

/// POST /api/v1/fines with a bearer token, an Idempotency-Key and a raw JSON body.
fn post_raw(app: &TestApp, token: &str, key: &str, body: impl Into<String>) -> RequestBuilder {
    app.http
        .post(format!("{}/api/v1/fines", app.address))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .body(body.into())
}

fn post_json(app: &TestApp, token: &str, key: &str, body: &Value) -> RequestBuilder {
    post_raw(app, token, key, body.to_string())
}

/// The valid motor-vehicle request with one change applied.
fn motor_with(app: &TestApp, change: impl FnOnce(&mut Value)) -> Value {
    let mut body = motor_fine(app);
    change(&mut body);
    body
}

fn remove(value: &mut Value, field: &str) {
    value.as_object_mut().expect("an object").remove(field).expect("the field was there");
}

#[actix_web::test]
async fn malformed_and_unauthorised_requests_are_refused_without_writing() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let bank = app.credential(&Binding::Bank { bank_code: "ICBC".into() });
    let admin = app.credential(&Binding::Admin { name: "ops".into() });
    let revoked = {
        let mut conn = app.ctx.pool.get().expect("connection");
        let binding =
            Binding::Officer { officer_id: "0099".into(), device_id: "hh-lost".into(), district_code: "110105".into() };
        let (id, token) =
            credentials::create(&app.ctx.pool, &mut conn, &binding, "cli", Utc::now()).expect("credential");
        let revoked = credentials::revoke(&app.ctx.pool, &mut conn, &id, "cli", Utc::now()).expect("revoke");
        assert_eq!(revoked, credentials::Revocation::Revoked, "the credential was live");
        token
    };

    // A positive control: the request every case below spoils in one way is itself accepted.
    let control = app.issue_ok(&officer, "control", &motor_fine(&app)).await;
    let existing = control["decision_no"].as_str().expect("decision_no").to_owned();
    let baseline = app.counts();
    assert_eq!(baseline.fines, 1);

    let today = shanghai_date(app.now());
    let unknown_no = DecisionNo::new(&DistrictCode::parse("110105").expect("district"), today, 7).expect("number");
    let url = |path: &str| format!("{}{path}", app.address);
    let valid = motor_fine(&app).to_string();
    let oversized = format!("{valid}{}", " ".repeat(LIMIT + 1 - valid.len()));

    let cases: Vec<(&str, RequestBuilder, u16, &str)> = vec![
        // The body's shape.
        ("body not JSON", post_raw(&app, &officer, "c1", "violation_code=1625"), 400, "invalid_request"),
        ("JSON array", post_raw(&app, &officer, "c2", format!("[{valid}]")), 400, "invalid_request"),
        ("empty body", post_raw(&app, &officer, "c3", ""), 400, "invalid_request"),
        (
            "violation_code is a number",
            post_json(&app, &officer, "c4", &motor_with(&app, |b| b["violation_code"] = json!(1625))),
            400,
            "invalid_request",
        ),
        (
            "occurred_at is a number",
            post_json(&app, &officer, "c5", &motor_with(&app, |b| b["occurred_at"] = json!(1_763_688_600))),
            400,
            "invalid_request",
        ),
        (
            "occurred_at is not RFC 3339",
            post_json(&app, &officer, "c6", &motor_with(&app, |b| b["occurred_at"] = json!("21/11/2026 09:30"))),
            400,
            "invalid_request",
        ),
        (
            "violation_code missing",
            post_json(&app, &officer, "c7", &motor_with(&app, |b| remove(b, "violation_code"))),
            400,
            "invalid_request",
        ),
        (
            "subject missing",
            post_json(&app, &officer, "c8", &motor_with(&app, |b| remove(b, "subject"))),
            400,
            "invalid_request",
        ),
        (
            "subject.kind missing",
            post_json(&app, &officer, "c9", &motor_with(&app, |b| remove(&mut b["subject"], "kind"))),
            400,
            "invalid_request",
        ),
        (
            "subject.kind unknown",
            post_json(&app, &officer, "c10", &motor_with(&app, |b| b["subject"]["kind"] = json!("tractor"))),
            400,
            "invalid_request",
        ),
        (
            "location missing",
            post_json(&app, &officer, "c11", &motor_with(&app, |b| remove(b, "location"))),
            400,
            "invalid_request",
        ),
        (
            "amount_fen is a string",
            post_json(&app, &officer, "c12", &motor_with(&app, |b| b["amount_fen"] = json!("200"))),
            400,
            "invalid_request",
        ),
        // The body's content.
        (
            "location empty",
            post_json(&app, &officer, "c13", &motor_with(&app, |b| b["location"] = json!(""))),
            422,
            "invalid_location",
        ),
        (
            "location of 201 characters",
            post_json(&app, &officer, "c14", &motor_with(&app, |b| b["location"] = json!("路".repeat(201)))),
            422,
            "invalid_location",
        ),
        (
            "unknown violation code",
            post_json(&app, &officer, "c15", &motor_with(&app, |b| b["violation_code"] = json!("9999"))),
            422,
            "unknown_violation",
        ),
        (
            "pedestrian violation for a motor vehicle",
            post_json(&app, &officer, "c16", &motor_with(&app, |b| b["violation_code"] = json!("3001"))),
            422,
            "violation_not_applicable",
        ),
        (
            "motor vehicle amount 20001",
            post_json(&app, &officer, "c17", &motor_with(&app, |b| b["amount_fen"] = json!(20001))),
            422,
            "amount_out_of_range",
        ),
        (
            "motor vehicle amount 1999",
            post_json(&app, &officer, "c18", &motor_with(&app, |b| b["amount_fen"] = json!(1999))),
            422,
            "amount_out_of_range",
        ),
        (
            "pedestrian amount 5001",
            post_json(&app, &officer, "c19", &{
                let mut b = pedestrian_fine(&app);
                b["amount_fen"] = json!(5001);
                b
            }),
            422,
            "amount_out_of_range",
        ),
        (
            "motor vehicle without plate",
            post_json(&app, &officer, "c20", &motor_with(&app, |b| remove(&mut b["subject"], "plate"))),
            422,
            "invalid_plate",
        ),
        (
            "plate without province",
            post_json(&app, &officer, "c21", &motor_with(&app, |b| b["subject"]["plate"] = json!("XA12345"))),
            422,
            "invalid_plate",
        ),
        (
            "plate without authority letter",
            post_json(&app, &officer, "c22", &motor_with(&app, |b| b["subject"]["plate"] = json!("京112345"))),
            422,
            "invalid_plate",
        ),
        (
            "plate too short",
            post_json(&app, &officer, "c23", &motor_with(&app, |b| b["subject"]["plate"] = json!("京A1234"))),
            422,
            "invalid_plate",
        ),
        (
            "plate with the letter O",
            post_json(&app, &officer, "c24", &motor_with(&app, |b| b["subject"]["plate"] = json!("京AO2345"))),
            422,
            "invalid_plate",
        ),
        (
            "plate_type of one digit",
            post_json(&app, &officer, "c25", &motor_with(&app, |b| b["subject"]["plate_type"] = json!("2"))),
            422,
            "invalid_plate",
        ),
        (
            "occurred_at an hour ahead",
            post_json(
                &app,
                &officer,
                "c26",
                &motor_with(&app, |b| b["occurred_at"] = json!((app.now() + Duration::hours(1)).to_rfc3339())),
            ),
            422,
            "invalid_occurred_at",
        ),
        (
            "occurred_at two days ago",
            post_json(
                &app,
                &officer,
                "c27",
                &motor_with(&app, |b| b["occurred_at"] = json!((app.now() - Duration::days(2)).to_rfc3339())),
            ),
            422,
            "invalid_occurred_at",
        ),
        ("body over 64 KiB", post_raw(&app, &officer, "c28", oversized), 413, "payload_too_large"),
        // Credentials, before anything in the body.
        (
            "no Authorization header",
            app.http
                .post(url("/api/v1/fines"))
                .header("Idempotency-Key", "c29")
                .header("Content-Type", "application/json")
                .body(valid.clone()),
            401,
            "unauthorized",
        ),
        ("unknown token", post_raw(&app, "garbage", "c30", valid.clone()), 401, "unauthorized"),
        ("revoked token", post_raw(&app, &revoked, "c31", valid.clone()), 401, "unauthorized"),
        (
            "no token and a body that is not JSON",
            app.http.post(url("/api/v1/fines")).header("Idempotency-Key", "c32").body("{not json"),
            401,
            "unauthorized",
        ),
        ("bank credential issuing", post_raw(&app, &bank, "c33", valid.clone()), 403, "forbidden"),
        ("admin credential issuing", post_raw(&app, &admin, "c34", valid.clone()), 403, "forbidden"),
        ("bank credential and a body that is not JSON", post_raw(&app, &bank, "c35", "{not json"), 403, "forbidden"),
        (
            "officer of 110105 naming district 110108",
            post_json(&app, &officer, "c36", &motor_with(&app, |b| b["district"] = json!("110108"))),
            403,
            "forbidden",
        ),
        // Idempotency-Key.
        (
            "Idempotency-Key missing",
            app.http
                .post(url("/api/v1/fines"))
                .bearer_auth(&officer)
                .header("Content-Type", "application/json")
                .body(valid.clone()),
            400,
            "invalid_request",
        ),
        (
            "Idempotency-Key of 65 characters",
            post_raw(&app, &officer, &"k".repeat(65), valid.clone()),
            400,
            "invalid_request",
        ),
        ("Idempotency-Key with a space", post_raw(&app, &officer, "two words", valid.clone()), 400, "invalid_request"),
        // Decision numbers in the path.
        (
            "GET with bad check digits",
            app.http.get(url("/api/v1/fines/1101052611210000177")).bearer_auth(&officer),
            422,
            "bad_decision_number",
        ),
        (
            "GET with 5 digits",
            app.http.get(url("/api/v1/fines/12345")).bearer_auth(&officer),
            422,
            "bad_decision_number",
        ),
        (
            "GET a valid but unknown number",
            app.http.get(url(&format!("/api/v1/fines/{unknown_no}"))).bearer_auth(&officer),
            404,
            "not_found",
        ),
        (
            "GET by a bank credential",
            app.http.get(url(&format!("/api/v1/fines/{existing}"))).bearer_auth(&bank),
            403,
            "forbidden",
        ),
        (
            "void with bad check digits",
            app.http
                .post(url("/api/v1/fines/1101052611210000177/void"))
                .bearer_auth(&officer)
                .json(&json!({"reason": "issued in error"})),
            422,
            "bad_decision_number",
        ),
        (
            "void without a token",
            app.http.post(url(&format!("/api/v1/fines/{existing}/void"))).json(&json!({"reason": "issued in error"})),
            401,
            "unauthorized",
        ),
        (
            "void whose body is not JSON",
            app.http.post(url(&format!("/api/v1/fines/{existing}/void"))).bearer_auth(&officer).body("reason"),
            400,
            "invalid_request",
        ),
        // Routing.
        ("unknown path", app.http.get(url("/api/v1/nothing-here")).bearer_auth(&officer), 404, "not_found"),
        (
            "DELETE on the fines collection",
            app.http.delete(url("/api/v1/fines")).bearer_auth(&officer),
            405,
            "method_not_allowed",
        ),
    ];
    assert!(cases.len() >= 32, "{} cases", cases.len());

    let mut failures = Vec::new();
    for (name, request, status, code) in cases {
        let response = request.send().await.expect("request sent");
        let got = error_of(response).await;
        if got != (status, code.to_owned()) {
            failures.push(format!("{name}: expected {status} {code}, got {} {}", got.0, got.1));
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(app.counts(), baseline, "refused requests wrote nothing");
}

#[actix_web::test]
async fn the_body_limit_is_64_kib_exactly() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let valid = motor_fine(&app).to_string();
    // Trailing whitespace is still valid JSON, so only the size differs between the two.
    let at_limit = format!("{valid}{}", " ".repeat(LIMIT - valid.len()));
    let over_limit = format!("{at_limit} ");
    assert_eq!((at_limit.len(), over_limit.len()), (LIMIT, LIMIT + 1));

    let response = post_raw(&app, &officer, "over", over_limit).send().await.expect("request sent");
    let (status, code) = error_of(response).await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"));
    assert_eq!(app.counts().fines, 0);

    let response = post_raw(&app, &officer, "at", at_limit).send().await.expect("request sent");
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    assert_eq!(app.counts().fines, 1);
}

/// The credential is judged before anything in the path or query: an unknown token learns nothing
/// about which decision numbers are well formed, and a bank learns nothing either.
#[actix_web::test]
async fn credentials_are_checked_before_the_path_and_query() {
    let app = spawn_app().await;
    let bank = app.credential(&Binding::Bank { bank_code: "ICBC".into() });
    let bad_no = "1101052611210000177";
    let baseline = app.counts();
    let cases = [
        ("GET fine, unknown token", format!("/api/v1/fines/{bad_no}"), "garbage", 401, "unauthorized"),
        ("GET qr.svg, unknown token", format!("/api/v1/fines/{bad_no}/qr.svg"), "garbage", 401, "unauthorized"),
        ("GET qr.png, unknown token", format!("/api/v1/fines/{bad_no}/qr.png"), "garbage", 401, "unauthorized"),
        (
            "GET qr.png?px=0, unknown token",
            format!("/api/v1/fines/{bad_no}/qr.png?px=0"),
            "garbage",
            401,
            "unauthorized",
        ),
        ("GET bill.png, unknown token", format!("/api/v1/fines/{bad_no}/bill.png"), "garbage", 401, "unauthorized"),
        (
            "GET qr.png?px=1&px=2, unknown token",
            format!("/api/v1/fines/{bad_no}/qr.png?px=1&px=2"),
            "garbage",
            401,
            "unauthorized",
        ),
        ("GET fine, bank credential", format!("/api/v1/fines/{bad_no}"), bank.as_str(), 403, "forbidden"),
        (
            "GET qr.png?px=abc, bank credential",
            format!("/api/v1/fines/{bad_no}/qr.png?px=abc"),
            bank.as_str(),
            403,
            "forbidden",
        ),
    ];
    let mut failures = Vec::new();
    for (name, path, token, status, code) in cases {
        let got = error_of(app.get(token, &path).await).await;
        if got != (status, code.to_owned()) {
            failures.push(format!("{name}: expected {status} {code}, got {} {}", got.0, got.1));
        }
    }
    // Voiding already checks the token first.
    let void = app
        .http
        .post(format!("{}/api/v1/fines/{bad_no}/void", app.address))
        .bearer_auth("garbage")
        .json(&json!({"reason": "issued in error"}))
        .send()
        .await
        .expect("request sent");
    let got = error_of(void).await;
    if got != (401, "unauthorized".to_owned()) {
        failures.push(format!("void, unknown token: expected 401 unauthorized, got {} {}", got.0, got.1));
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(app.counts(), baseline);
}
