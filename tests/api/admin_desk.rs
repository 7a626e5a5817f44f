//! The exceptions queue at the desk, in the browser's session: filters that reach every
//! exception, what a clerk needs to decide, and the decision — taken once, with the session's
//! CSRF token, audited under the admin's name.

use crate::admin::admin;
use crate::admin_exceptions::{raise, raise_with};
use crate::admin_page::{csrf_of, signed_in};
use crate::helpers::{TestApp, spawn_app, unescape_html};
use diesel::prelude::*;
use finepay::db::schema::audit_log;

async fn queue(app: &TestApp, cookie: &str, query: &str) -> (u16, String) {
    let url = format!("{}/admin/exceptions{query}", app.address);
    let response = app.http.get(url).header("Cookie", cookie).send().await.expect("sent");
    let status = response.status().as_u16();
    (status, unescape_html(&response.text().await.expect("html")))
}

async fn decide(app: &TestApp, cookie: &str, id: i64, form: &[(&str, &str)]) -> reqwest::Response {
    let url = format!("{}/admin/exceptions/{id}/resolve?lang=en", app.address);
    app.http.post(url).header("Cookie", cookie).form(form).send().await.expect("sent")
}

#[actix_web::test]
async fn the_queue_filters_and_shows_what_a_clerk_needs_to_decide() {
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let cookie = signed_in(&app, &token).await;
    let remittance = r#"{"remittance": ["交通罚款 京A12345"], "bank": "ICBC"}"#;
    let bank = raise_with(&app, ("unmatched", "bank:ICBC", "stmt-1"), None, remittance);
    let wechat = raise(&app, "amount_mismatch", "wechat", "4200001", Some("1101052612060000013"));

    let (status, zh) = queue(&app, &cookie, "").await;
    assert_eq!(status, 200);
    assert!(zh.contains("<h1>异常处理</h1>") && zh.contains("未匹配到罚单 (unmatched)"), "{zh}");
    assert!(zh.contains("交通罚款 京A12345"), "the payer's remittance text");
    assert!(zh.contains(&format!(r#"id="exception-{bank}""#)) && zh.contains(&format!(r#"id="exception-{wechat}""#)));
    assert!(zh.contains(&format!(r#"action="/admin/exceptions/{wechat}/resolve?lang=zh""#)), "a decision form");

    for (query, shown, hidden) in [
        ("?district=110105", wechat, bank),
        ("?source=bank:ICBC", bank, wechat),
        ("?kind=amount_mismatch&lang=en", wechat, bank),
    ] {
        let (status, page) = queue(&app, &cookie, query).await;
        assert_eq!(status, 200, "{query}");
        assert!(page.contains(&format!(r#"id="exception-{shown}""#)), "{query}: {page}");
        assert!(!page.contains(&format!(r#"id="exception-{hidden}""#)), "{query}");
    }
    let today = finepay::domain::time::shanghai_date(app.now());
    let tomorrow = today.succ_opt().expect("a day");
    let (_, raised_today) = queue(&app, &cookie, &format!("?from={today}&to={today}")).await;
    assert!(raised_today.contains(&format!(r#"id="exception-{bank}""#)));
    let (_, later) = queue(&app, &cookie, &format!("?from={tomorrow}")).await;
    assert!(later.contains(r#"id="no-exceptions""#), "{later}");
    for bad in ["?district=11", "?from=2026-13-01", "?status=closed", "?from=2026-12-06&to=2026-12-01"] {
        assert_eq!(queue(&app, &cookie, bad).await.0, 400, "{bad}");
    }
    // Without a session: the sign-in form.
    let anonymous = app.http.get(format!("{}/admin/exceptions", app.address)).send().await.expect("sent");
    assert!(anonymous.text().await.expect("html").contains(r#"id="sign-in""#));
}

#[actix_web::test]
async fn a_decision_is_taken_once_with_the_sessions_own_form_and_audited_under_the_admins_name() {
    let app = spawn_app().await;
    let (actor, token) = admin(&app);
    let cookie = signed_in(&app, &token).await;
    let id = raise(&app, "amount_mismatch", "alipay", "2026120622001", Some("1101052612060000013"));
    let (_, page) = queue(&app, &cookie, "?lang=en").await;
    let csrf = csrf_of(&page);
    let open = |app: &TestApp| {
        let mut conn = app.ctx.pool.get().expect("connection");
        finepay::db::exceptions::find(&mut conn, id).expect("read").expect("the exception").resolved_at.is_none()
    };

    // Refused, nothing changed: another site's form, no decision, no note, no such exception,
    // a bearer token (the form needs the session).
    for (form, status) in [
        (vec![("decision", "written_off"), ("note", "x")], 403),
        (vec![("csrf", "A".repeat(32).as_str()), ("decision", "written_off"), ("note", "x")], 403),
        (vec![("csrf", csrf.as_str()), ("decision", "refund"), ("note", "x")], 400),
        (vec![("csrf", csrf.as_str()), ("decision", "handled"), ("note", "  ")], 400),
    ] {
        assert_eq!(decide(&app, &cookie, id, &form).await.status(), status, "{form:?}");
        assert!(open(&app));
    }
    let unknown = decide(&app, &cookie, 999_999, &[("csrf", &csrf), ("decision", "handled"), ("note", "x")]).await;
    assert_eq!(unknown.status(), 404);
    let bearer = app
        .http
        .post(format!("{}/admin/exceptions/{id}/resolve", app.address))
        .bearer_auth(&token)
        .form(&[("csrf", ""), ("decision", "handled"), ("note", "x")])
        .send()
        .await
        .expect("sent");
    assert_eq!(bearer.status(), 401);
    assert!(open(&app));

    // A note of more than 500 characters, or with a control character, is refused.
    let long = "长".repeat(501);
    for bad in [long.as_str(), "bank\u{0}fee"] {
        let refused = decide(&app, &cookie, id, &[("csrf", &csrf), ("decision", "handled"), ("note", bad)]).await;
        assert_eq!(refused.status(), 400);
        assert!(open(&app));
    }
    let note = "差额 1 分为银行手续费 / bank fee";
    // Taken from a filtered page: back to the queue as the clerk had it.
    let url = format!("{}/admin/exceptions/{id}/resolve?source=alipay&done=3&lang=en", app.address);
    let form = [("csrf", csrf.as_str()), ("decision", "written_off"), ("note", note)];
    let taken = app.http.post(url).header("Cookie", &cookie).form(&form).send().await.expect("sent");
    assert_eq!(taken.status(), 303);
    let back = taken.headers()["location"].to_str().expect("location").to_owned();
    assert_eq!(back, format!("/admin/exceptions?source=alipay&lang=en&done={id}"));
    assert!(!open(&app));
    let (_, done) = queue(&app, &cookie, &format!("?lang=en&done={id}&status=resolved")).await;
    assert!(done.contains(&format!("Exception #{id} is resolved.")), "{done}");
    assert!(done.contains(&format!("written_off: {note}")) && done.contains(&actor), "{done}");

    // A second decision changes nothing and says who decided.
    let again = decide(&app, &cookie, id, &[("csrf", &csrf), ("decision", "handled"), ("note", "again")]).await;
    assert_eq!(again.status(), 409);
    assert!(unescape_html(&again.text().await.expect("html")).contains(&format!("resolved by {actor}")));

    // A note of exactly 500 characters is taken.
    let other = raise(&app, "missing_at_channel", "wechat", "4200009", None);
    let full = "满".repeat(500);
    let taken = decide(&app, &cookie, other, &[("csrf", &csrf), ("decision", "handled"), ("note", &full)]).await;
    assert_eq!(taken.status(), 303);

    let mut conn = app.ctx.pool.get().expect("connection");
    let entries: Vec<(String, String)> = audit_log::table
        .filter(audit_log::action.eq("exception.resolve"))
        .select((audit_log::actor, audit_log::details))
        .load(&mut *conn)
        .expect("audit");
    assert_eq!(entries.len(), 2, "audited once each");
    assert_eq!(entries[0].0, actor, "under the admin's name");
    let signed_in: i64 = audit_log::table
        .filter(audit_log::action.eq("desk.sign_in"))
        .filter(audit_log::actor.eq(&actor))
        .count()
        .get_result(&mut *conn)
        .expect("audit");
    assert_eq!(signed_in, 1, "signing in is audited too");
    assert!(entries[0].1.contains("written_off"), "{}", entries[0].1);
}
