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
