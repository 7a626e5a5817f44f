//! The exceptions queue (listed, filtered, paged; resolved once, audited, with a bearer token
//! only) and a fine's audit trail, through the admin API.

use crate::admin::{admin, json_of, no_of, void};
use crate::helpers::{TestApp, error_of, motor_fine, spawn_app};
use chrono::Duration;
use diesel::prelude::*;
use finepay::db::exceptions::{self, NewException};
use finepay::db::schema::audit_log;
use finepay::domain::time::shanghai_date;
use serde_json::{Value, json};

/// Raises an exception as the reconciliation job would; its id.
pub(crate) fn raise(app: &TestApp, kind: &str, source: &str, reference: &str, decision_no: Option<&str>) -> i64 {
    raise_with(app, (kind, source, reference), decision_no, r#"{"note": "fixture"}"#)
}

/// [`raise`], with the exception's `details`.
pub(crate) fn raise_with(
    app: &TestApp,
    (kind, source, reference): (&str, &str, &str),
    decision_no: Option<&str>,
    details: &str,
) -> i64 {
    let mut conn = app.ctx.pool.get().expect("connection");
    let new = NewException {
        kind,
        source,
        reference,
        decision_no,
        statement_date: Some(shanghai_date(app.now())),
        amount_fen: None,
        expected_fen: Some(20_000),
        details,
        raised_at: app.now().naive_utc(),
    };
    assert!(exceptions::raise(&mut conn, &new).expect("raised"));
    let filter = exceptions::ListFilter {
        resolution: exceptions::Resolution::All,
        source: Some(source),
        kind: Some(kind),
        district: None,
        raised_from: None,
        raised_before: None,
        after_id: 0,
        limit: 1000,
    };
    let rows = exceptions::list(&mut conn, &filter).expect("list");
    rows.iter().find(|e| e.reference == reference).expect("the new exception").id
}

async fn list(app: &TestApp, token: &str, query: &str) -> (Vec<i64>, Value) {
    let body = json_of(app.get(token, &format!("/admin/api/exceptions?{query}")).await).await;
    let ids =
        body["exceptions"].as_array().expect("exceptions").iter().map(|e| e["id"].as_i64().expect("id")).collect();
    (ids, body["next_after_id"].clone())
}

#[actix_web::test]
async fn the_district_filter_reaches_the_exceptions() {
    let app = spawn_app().await;
    let (_, admin) = admin(&app);
    let chaoyang = raise(&app, "unmatched", "bank:ICBC", "b-1", Some("1101052612060000013"));
    let haidian = raise(&app, "unmatched", "bank:ICBC", "b-2", Some("1101082612060000016"));
    raise(&app, "paid_at_channel_unknown_here", "wechat", "w-9", None);
    assert_eq!(list(&app, &admin, "district=110105").await.0, [chaoyang]);
    assert_eq!(list(&app, &admin, "district=110108&status=all").await.0, [haidian]);
    assert_eq!(list(&app, &admin, "district=").await.0.len(), 3, "a blank district filters nothing");
    for bad in ["district=1101", "district=11010%25", "district=abcdef"] {
        let (status, code) = error_of(app.get(&admin, &format!("/admin/api/exceptions?{bad}")).await).await;
        assert_eq!((status, code.as_str()), (400, "invalid_request"), "{bad}");
    }
}

#[actix_web::test]
async fn the_exceptions_queue_lists_filters_and_pages_by_id() {
    let app = spawn_app().await;
    let (_, admin) = admin(&app);
    let e1 = raise(&app, "missing_at_channel", "wechat", "w-1", None);
    let e2 = raise(&app, "amount_mismatch", "alipay", "a-1", None);
    let e3 = raise(&app, "missing_at_channel", "unionpay", "u-1", None);

    let all = json_of(app.get(&admin, "/admin/api/exceptions").await).await;
    assert_eq!(all["next_after_id"], Value::Null);
    let first = &all["exceptions"][0];
    assert_eq!((first["id"].as_i64(), first["kind"].clone()), (Some(e1), json!("missing_at_channel")));
    assert_eq!(first["details"], json!({"note": "fixture"}), "details as JSON");
    assert!(first["raised_at"].as_str().is_some_and(|t| t.ends_with("+08:00")), "{first}");
    assert_eq!((first["resolved_at"].clone(), first["expected_fen"].clone()), (Value::Null, json!(20_000)));

    assert_eq!(list(&app, &admin, "").await, (vec![e1, e2, e3], Value::Null));
    assert_eq!(list(&app, &admin, "source=wechat").await, (vec![e1], Value::Null));
    assert_eq!(list(&app, &admin, "kind=missing_at_channel").await, (vec![e1, e3], Value::Null));
    assert_eq!(list(&app, &admin, "source=&kind=").await.0, vec![e1, e2, e3], "blank fields filter nothing");
    assert_eq!(list(&app, &admin, "limit=2").await, (vec![e1, e2], json!(e2)));
    assert_eq!(list(&app, &admin, &format!("limit=2&after_id={e2}")).await, (vec![e3], Value::Null));

    let resolve = app
        .http
        .post(format!("{}/admin/api/exceptions/{e2}/resolve", app.address))
        .bearer_auth(&admin)
        .json(&json!({"resolution": "amount confirmed with Alipay"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resolve.status(), 200);
    assert_eq!(list(&app, &admin, "").await.0, vec![e1, e3]);
    assert_eq!(list(&app, &admin, "status=open").await.0, vec![e1, e3]);
    assert_eq!(list(&app, &admin, "status=resolved").await.0, vec![e2]);
    assert_eq!(list(&app, &admin, "status=all").await.0, vec![e1, e2, e3]);

    let long = format!("source={}", "x".repeat(65));
    for (query, field) in [
        ("status=closed", "status"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("after_id=-1", "after_id"),
        ("after_id=1.5", "after_id"),
        (long.as_str(), "source"),
    ] {
        let response = app.get(&admin, &format!("/admin/api/exceptions?{query}")).await;
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(
            (body["error"]["code"].clone(), body["error"]["details"]["field"].clone()),
            (json!("invalid_request"), json!(field)),
            "{query}"
        );
    }
    let officer = app.officer("110105");
    assert_eq!(error_of(app.get(&officer, "/admin/api/exceptions").await).await, (403, "forbidden".into()));
    assert_eq!(
        error_of(app.get("fpa_unknown", "/admin/api/exceptions?limit=0").await).await,
        (401, "unauthorized".into())
    );
}

async fn resolve(app: &TestApp, token: Option<&str>, id: &str, body: &str) -> reqwest::Response {
    let mut request = app
        .http
        .post(format!("{}/admin/api/exceptions/{id}/resolve", app.address))
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("sent")
}

fn resolve_audits(app: &TestApp) -> i64 {
    let mut conn = app.ctx.pool.get().expect("connection");
    audit_log::table.filter(audit_log::action.eq("exception.resolve")).count().get_result(&mut *conn).expect("count")
}

#[actix_web::test]
async fn an_exception_is_resolved_once_audited_and_only_with_a_bearer_token() {
    let app = spawn_app().await;
    let (actor, admin) = admin(&app);
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "r-1", &motor_fine(&app)).await;
    let no = no_of(&fine);
    let id = raise(&app, "missing_at_channel", "wechat", "4200000001", Some(&no));
    let path = id.to_string();

    // Refused before anything is written: no credential, a stranger's, an officer's.
    assert_eq!(
        error_of(resolve(&app, None, &path, r#"{"resolution": "x"}"#).await).await,
        (401, "unauthorized".into())
    );
    let unknown = resolve(&app, Some("fpa_unknown"), &path, r#"{"resolution": "x"}"#).await;
    assert_eq!(error_of(unknown).await, (401, "unauthorized".into()));
    let by_officer = resolve(&app, Some(&officer), &path, r#"{"resolution": "x"}"#).await;
    assert_eq!(error_of(by_officer).await, (403, "forbidden".into()));
    // The dashboard's cookie is no credential here: a cross-site form could send it.
    let with_cookie = app
        .http
        .post(format!("{}/admin/api/exceptions/{id}/resolve", app.address))
        .header("Cookie", format!("finepay_admin={admin}"))
        .json(&json!({"resolution": "x"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(error_of(with_cookie).await, (401, "unauthorized".into()));

    let too_long = json!({"resolution": "长".repeat(501)}).to_string();
    for body in [
        "",
        r#"{"resolution":"#,
        "[1]",
        "{}",
        r#"{"resolution": 42}"#,
        r#"{"resolution": ""}"#,
        r#"{"resolution": "   "}"#,
        too_long.as_str(),
    ] {
        assert_eq!(
            error_of(resolve(&app, Some(&admin), &path, body).await).await,
            (400, "invalid_request".into()),
            "{body}"
        );
    }
    for bad_id in ["abc", "0", "-3"] {
        let response = resolve(&app, Some(&admin), bad_id, r#"{"resolution": "x"}"#).await;
        assert_eq!(error_of(response).await, (400, "invalid_request".into()), "{bad_id}");
    }
    let huge = json!({"resolution": "x".repeat(9000)}).to_string();
    assert_eq!(error_of(resolve(&app, Some(&admin), &path, &huge).await).await, (413, "payload_too_large".into()));
    let unknown_id = resolve(&app, Some(&admin), "999999", r#"{"resolution": "x"}"#).await;
    assert_eq!(error_of(unknown_id).await, (404, "not_found".into()));
    assert_eq!(resolve_audits(&app), 0, "nothing refused was written");

    let text = "长".repeat(500);
    let resolved =
        json_of(resolve(&app, Some(&admin), &path, &json!({"resolution": format!("  {text}  ")}).to_string()).await)
            .await;
    assert_eq!(resolved["id"], id);
    assert_eq!(resolved["resolved_by"], actor.as_str());
    assert_eq!(resolved["resolution"], text.as_str(), "trimmed, 500 characters kept");
    assert!(resolved["resolved_at"].as_str().is_some_and(|t| t.ends_with("+08:00")), "{resolved}");

    // Again: 409, saying by whom and when; the first resolution stands.
    app.clock.advance(Duration::minutes(5));
    let again = resolve(&app, Some(&admin), &path, r#"{"resolution": "a second opinion"}"#).await;
    assert_eq!(again.status(), 409);
    let again: Value = again.json().await.expect("JSON");
    assert_eq!(again["error"]["code"], "conflict");
    assert_eq!(again["error"]["details"]["resolved_by"], actor.as_str());
    assert_eq!(again["error"]["details"]["resolved_at"], resolved["resolved_at"]);
    assert!(again["error"]["message"].as_str().is_some_and(|m| m.contains(&actor)), "{again}");
    let shown = json_of(app.get(&admin, "/admin/api/exceptions?status=resolved").await).await;
    assert_eq!(shown["exceptions"][0]["resolution"], text.as_str());

    // Audited once, on the fine the exception is about, in the fine's trail.
    assert_eq!(resolve_audits(&app), 1);
    assert_eq!(app.audit_actions(&no), ["fine.issue", "exception.resolve"]);
    let trail = json_of(app.get(&admin, &format!("/admin/api/audit?decision_no={no}")).await).await;
    let entry = &trail["entries"][1];
    assert_eq!(entry["actor"], actor.as_str());
    assert_eq!(
        entry["details"],
        json!({"exception_id": id, "kind": "missing_at_channel", "source": "wechat", "reference": "4200000001", "resolution": text})
    );
}

#[actix_web::test]
async fn the_audit_trail_of_a_fine_is_its_entries_oldest_first() {
    let app = spawn_app().await;
    let (_, admin) = admin(&app);
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "a-1", &motor_fine(&app)).await;
    let no = no_of(&fine);
    void(&app, &officer, &no).await;

    let trail = json_of(app.get(&admin, &format!("/admin/api/audit?decision_no={no}")).await).await;
    assert_eq!(trail["decision_no"], no.as_str());
    let entries = trail["entries"].as_array().expect("entries");
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().expect("action")).collect();
    assert_eq!(actions, ["fine.issue", "fine.void"]);
    assert!(entries[0]["id"].as_i64() < entries[1]["id"].as_i64());
    assert_eq!(entries[0]["actor"], entries[1]["actor"], "the same officer issued and voided");
    assert!(entries[0]["actor"].as_str().is_some_and(|a| a.starts_with("credential:cred_")), "{trail}");
    assert!(entries[0]["at"].as_str().is_some_and(|t| t.ends_with("+08:00")), "{trail}");
    assert_eq!(entries[1]["details"], json!({"from": "awaiting_payment", "reason": "wrong person"}));

    let mut mistyped = no.clone().into_bytes();
    mistyped[18] = if mistyped[18] == b'0' { b'1' } else { b'0' };
    let mistyped = String::from_utf8(mistyped).expect("digits");
    let bad = app.get(&admin, &format!("/admin/api/audit?decision_no={mistyped}")).await;
    assert_eq!(error_of(bad).await, (422, "bad_decision_number".into()));
    assert_eq!(error_of(app.get(&admin, "/admin/api/audit").await).await, (400, "invalid_request".into()));
    let district = finepay::domain::DistrictCode::parse("110105").expect("district");
    let unissued = finepay::domain::DecisionNo::new(&district, shanghai_date(app.now()), 99_999).expect("number");
    let unknown = app.get(&admin, &format!("/admin/api/audit?decision_no={}", unissued.as_str())).await;
    assert_eq!(error_of(unknown).await, (404, "not_found".into()));
    assert_eq!(
        error_of(app.get(&officer, &format!("/admin/api/audit?decision_no={no}")).await).await,
        (403, "forbidden".into())
    );
    assert_eq!(error_of(app.get("fpa_unknown", "/admin/api/audit").await).await, (401, "unauthorized".into()));
}
