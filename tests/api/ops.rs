//! Operations endpoints: liveness, readiness, Prometheus metrics and the OpenAPI document.

use crate::helpers::{TestApp, motor_fine, spawn_app};
use serde_json::Value;

async fn get_plain(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.get(format!("{}{path}", app.address)).send().await.expect("request sent")
}

#[actix_web::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    assert_eq!(get_plain(&app, "/healthz").await.status(), 200);
    let ready = get_plain(&app, "/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("JSON");
    assert_eq!(body["status"], "ready");
}

#[actix_web::test]
async fn metrics_count_requests_and_fines() {
    let app = spawn_app().await;
    let before = get_plain(&app, "/metrics").await.text().await.expect("body");
    assert!(before.contains("finepay_fines_issued_total 0"), "{before}");

    app.issue_ok(&app.officer("110105"), "k", &motor_fine(&app)).await;
    let response = get_plain(&app, "/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.expect("body");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&"finepay_fines_issued_total 1"), "{text}");
    assert!(
        lines.contains(&r#"finepay_http_requests_total{route="/api/v1/fines",method="POST",status="201"} 1"#),
        "{text}"
    );
    assert!(
        lines.contains(&r#"finepay_http_request_duration_seconds_bucket{route="/api/v1/fines",le="+Inf"} 1"#),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .filter(|l| l.starts_with(r#"finepay_http_request_duration_seconds_bucket{route="/api/v1/fines""#))
            .count()
            > 1,
        "a histogram has several buckets: {text}"
    );
}

#[actix_web::test]
async fn the_openapi_document_describes_the_api() {
    let app = spawn_app().await;
    let response = get_plain(&app, "/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.expect("JSON");
    let paths = &doc["paths"];
    assert!(paths["/api/v1/fines"]["post"].is_object(), "POST /api/v1/fines");
    assert!(paths["/p/{token}"]["get"].is_object(), "GET /p/{{token}}");
    assert!(paths["/api/v1/fines/{decision_no}/bill.png"]["get"].is_object(), "GET bill.png");
    assert!(paths["/api/v1/fines/{decision_no}/void"]["post"].is_object(), "POST void");
}

#[actix_web::test]
async fn unknown_methods_do_not_grow_the_metrics() {
    let app = spawn_app().await;
    for method in ["FOOBAR1", "FOOBAR2", "FOOBAR3"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let answer = app.http.request(method, format!("{}/healthz", app.address)).send().await.expect("sent");
        assert_eq!(answer.status(), 405);
        assert_eq!(answer.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET"), "a 405 names what is");
    }
    let text = get_plain(&app, "/metrics").await.text().await.expect("body");
    assert!(!text.contains("FOOBAR"), "{text}");
    assert!(
        text.lines().any(|l| l == r#"finepay_http_requests_total{route="/healthz",method="other",status="405"} 3"#),
        "{text}"
    );
}
