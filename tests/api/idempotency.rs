//! Idempotency of issuing: a handheld on a flaky link retries, and must never issue twice.

use crate::helpers::{error_of, motor_fine, spawn_app};
use std::collections::HashSet;

#[actix_web::test]
async fn a_retry_gets_the_same_fine_back() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let body = motor_fine(&app);
    let first = app.issue(&token, "retry-1", &body).await;
    assert_eq!(first.status(), 201);
    let first = first.text().await.expect("body");
    for _ in 0..3 {
        let again = app.issue(&token, "retry-1", &body).await;
        assert_eq!(again.status(), 200);
        assert_eq!(again.text().await.expect("body"), first, "byte-identical replay");
    }
    assert_eq!(app.counts().fines, 1);
    assert_eq!(app.counts().idempotency, 1);
}

#[actix_web::test]
async fn the_same_key_with_another_body_is_refused() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let body = motor_fine(&app);
    app.issue_ok(&token, "k", &body).await;
    let mut other = body.clone();
    other["location"] = "另一个地点".into();
    let (status, code) = error_of(app.issue(&token, "k", &other).await).await;
    assert_eq!((status, code.as_str()), (422, "idempotency_key_reused"));
    assert_eq!(app.counts().fines, 1);
}

#[actix_web::test]
async fn keys_belong_to_their_credential() {
    let app = spawn_app().await;
    let one = app.officer("110105");
    let two = app.officer("110105");
    let body = motor_fine(&app);
    let a = app.issue_ok(&one, "shared", &body).await;
    let b = app.issue_ok(&two, "shared", &body).await;
    assert_ne!(a["decision_no"], b["decision_no"]);
}

#[actix_web::test]
async fn fifty_simultaneous_retries_create_one_fine() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let body = motor_fine(&app);
    let requests = (0..50).map(|_| {
        let (app, token, body) = (&app, &token, &body);
        async move {
            let response = app.issue(token, "storm", body).await;
            (response.status().as_u16(), response.text().await.expect("body"))
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    let bodies: HashSet<&String> = answers.iter().map(|(_, body)| body).collect();
    assert_eq!(bodies.len(), 1, "all fifty answers carry the same fine");
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    let replayed = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!((created, replayed), (1, 49));
    assert_eq!(app.counts().fines, 1);
    assert_eq!(app.counts().idempotency, 1);
}

#[actix_web::test]
async fn a_late_retry_replays_even_when_the_request_would_now_be_refused() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let mut body = motor_fine(&app);
    // Just inside the 24 hours an on-the-spot offence may be issued after.
    body["occurred_at"] = (app.now() - chrono::Duration::hours(24) + chrono::Duration::seconds(60)).to_rfc3339().into();
    let first = app.issue(&token, "late", &body).await;
    assert_eq!(first.status(), 201);
    let first = first.text().await.expect("body");

    // The handheld lost the answer and retries after its link came back: the offence is now
    // older than 24 hours, but the fine exists, so the retry gets it back.
    app.clock.advance(chrono::Duration::minutes(5));
    let retry = app.issue(&token, "late", &body).await;
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.text().await.expect("body"), first);

    // A new key with the same body is judged afresh, and refused.
    let (status, code) = error_of(app.issue(&token, "late-2", &body).await).await;
    assert_eq!((status, code.as_str()), (422, "invalid_occurred_at"));
    assert_eq!(app.counts().fines, 1);
}

#[actix_web::test]
async fn issuing_survives_the_database_dropping_connections() {
    // A PostgreSQL restart or failover drops every session; the next issue must still work.
    // (SQLite has no server to lose, so there the test checks issuing before and after only.)
    let app = spawn_app().await;
    let token = app.officer("110105");
    app.issue_ok(&token, "before", &motor_fine(&app)).await;
    if let crate::helpers::TestDb::Postgres { base_url, schema, .. } = &app.db {
        use diesel::prelude::*;
        let mut admin = diesel::PgConnection::establish(base_url).expect("admin connection");
        let killed: Vec<bool> = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{schema}'"
        )))
        .load(&mut admin)
        .expect("terminate");
        assert!(!killed.is_empty(), "the app had sessions to drop");
    }
    // The first request after the drop may meet a dead pooled connection; the handheld retries.
    let mut last = 0;
    for attempt in 0..3 {
        let answer = app.issue(&token, "after", &motor_fine(&app)).await;
        last = answer.status().as_u16();
        if last == 201 || last == 200 {
            break;
        }
        assert_eq!(last, 503, "attempt {attempt}: a dropped connection is a retryable 503, never a 500");
    }
    assert!(last == 201 || last == 200, "issuing recovered, got {last}");
}
