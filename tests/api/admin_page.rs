//! The admin dashboard: the headline share, the SVG charts, the open exceptions and the
//! reconciliation reports, read with a bearer token or after signing in with the form, whose
//! cookie reads the page and nothing else.

use crate::admin::{admin, no_of, pay, pay_at_bank};
use crate::admin_exceptions::{raise, raise_with};
use crate::helpers::{TestApp, motor_fine, spawn_app, spawn_app_with};
use chrono::{Duration, Utc};
use finepay::credentials::Binding;
use finepay::db::reconciliation::{self, ReportRow};
use finepay::domain::time::shanghai_date;

/// The page as an English-speaking browser asks for it (the desk's own default is Chinese).
async fn page(app: &TestApp, token: Option<&str>, cookie: Option<&str>, query: &str) -> (u16, Vec<String>, String) {
    let mut request = app.http.get(format!("{}/admin{query}", app.address)).header("Accept-Language", "en");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    let cookies = set_cookies(&response);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(content_type, "text/html; charset=utf-8", "{status}");
    (status, cookies, response.text().await.expect("html"))
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
}

pub(crate) async fn sign_in(app: &TestApp, token: &str) -> reqwest::Response {
    let url = format!("{}/admin/login", app.address);
    app.http.post(url).header("Accept-Language", "en").form(&[("token", token)]).send().await.expect("sent")
}

#[actix_web::test]
async fn the_dashboard_shows_the_headline_charts_exceptions_and_reports() {
    let app = spawn_app().await;
    let (_, admin) = admin(&app);
    let officer = app.officer("110105");
    let mut paid = Vec::new();
    for key in ["d-1", "d-2"] {
        let fine = app.issue_ok(&officer, key, &motor_fine(&app)).await;
        pay(&app, &fine, "wechat").await;
        paid.push(no_of(&fine));
    }
    let at_bank = no_of(&app.issue_ok(&officer, "d-3", &motor_fine(&app)).await);
    pay_at_bank(&app, &at_bank).await;
    app.issue_ok(&officer, "d-4", &motor_fine(&app)).await; // outstanding
    raise(&app, "amount_mismatch", "alipay", "ref-<b>&1", Some(&paid[0]));
    // A bank line that named no fine: the payer's remittance text is what a clerk matches by.
    let remittance = r#"{"remittance": ["罚款 京A12345 1101052612", "<script>"], "bank": "ICBC"}"#;
    raise_with(&app, ("unmatched", "bank:ICBC", "stmt-7"), None, remittance);
    let yesterday = shanghai_date(app.now()) - chrono::Days::new(1);
    {
        let mut conn = app.ctx.pool.get().expect("connection");
        let report = ReportRow {
            statement_date: yesterday,
            channel: "unionpay".into(),
            status: "balanced".into(),
            statement_payments: 7,
            statement_payments_fen: 140_000,
            statement_refunds: 0,
            statement_refunds_fen: 0,
            finepay_payments: 7,
            finepay_payments_fen: 140_000,
            matched: 7,
            applied: 0,
            exceptions: 0,
            error: None,
            reconciled_at: Utc::now().naive_utc(),
        };
        reconciliation::save(&mut conn, &report).expect("report saved");
    }

    let (status, cookies, html) = page(&app, Some(&admin), None, "").await;
    assert_eq!(status, 200, "{html}");
    assert!(cookies.is_empty(), "a bearer token sets no cookie");
    assert!(
        html.contains(r#"<td class="note">罚款 京A12345 1101052612 &#x2f; &lt;script&gt;</td>"#),
        "the remittance texts, escaped: {html}"
    );
    // The dashboard's district reaches its exceptions: the bank line names no fine of 110108.
    let (_, _, haidian) = page(&app, Some(&admin), None, "?district=110108").await;
    assert!(!haidian.contains("stmt-7") && !haidian.contains("ref-&lt;b&gt;"), "{haidian}");
    // The headline: of the three paid fines, two online, one at a bank.
    assert!(html.contains(r#"<span class="online" id="share-online">66.67%</span>"#), "{html}");
    assert!(html.contains(r#"<span class="bank" id="share-bank">33.33%</span>"#), "{html}");
    assert!(html.contains("2 of 3 paid fines were paid by QR code, 1 at a bank."), "{html}");
    assert!(html.contains("<td>Issued</td><td class=\"n\">4</td><td class=\"n\">¥800.00</td>"), "{html}");
    // Both charts, drawn inline, named for screen readers.
    assert_eq!(html.matches("<svg xmlns=\"http://www.w3.org/2000/svg\"").count(), 2, "{html}");
    assert!(html.contains(r#"aria-label="Fines by issue day,"#), "{html}");
    assert!(html.contains(r#"aria-label="Fines by district,"#), "{html}");
    assert!(html.contains(
        "110105 朝阳区 Chaoyang: WeChat Pay 2, Alipay 0, UnionPay 0, Paid at banks 1, Outstanding 1 (total 4)"
    ));
    assert!(!html.contains("No fines in this period") && !html.contains("NaN"), "{html}");
    assert!(!html.contains("<script"), "no script on the page");
    // The queue, escaped, and yesterday's reconciliation.
    assert!(html.contains("ref-&lt;b&gt;&amp;1") && !html.contains("ref-<b>"), "{html}");
    assert!(
        html.contains(&format!("<a href=\"/admin/fines/{0}?lang=en\">{0}</a>", paid[0])),
        "the fine's page: {html}"
    );
    assert!(html.contains(&format!("<tr><td>{yesterday}</td><td>unionpay</td><td>balanced</td><td class=\"n\">7</td><td class=\"n\">¥1400.00</td>")), "{html}");

    // A period without fines says so.
    let (status, _, empty) = page(&app, Some(&admin), None, "?from=2020-01-01&to=2020-01-31").await;
    assert_eq!(status, 200);
    assert_eq!(empty.matches(">No fines in this period</text>").count(), 2, "{empty}");
    assert!(empty.contains(r#"id="share-none""#), "{empty}");
    let (_, _, one) = page(&app, Some(&admin), None, "?district=110108").await;
    assert!(one.contains(r#"<option value="110108" selected>"#), "{one}");
    assert!(one.contains(r#"id="share-none""#), "{one}");

    for query in ["?from=2026-02-30", "?district=1", "?from=2026-11-02&to=2026-11-01"] {
        let (status, _, html) = page(&app, Some(&admin), None, query).await;
        assert_eq!(status, 400, "{query}");
        assert!(html.contains(r#"id="admin-message""#), "{query}: {html}");
    }
    let (status, _, html) = page(&app, Some(&officer), None, "").await;
    assert_eq!(status, 403);
    assert!(html.contains("An officer credential cannot open the desk") && !html.contains("<svg"), "{html}");
    let bank = app.credential(&Binding::Bank { bank_code: "ICBC".into() });
    assert_eq!(page(&app, Some(&bank), None, "").await.0, 403);
    let (status, _, html) = page(&app, Some("fpa_unknown"), None, "").await;
    assert_eq!(status, 401);
    assert!(html.contains("That token is not a live credential.") && html.contains(r#"action="/admin/login?lang=en""#));
}

#[actix_web::test]
async fn a_browser_signs_in_with_the_form_reads_with_the_cookie_and_signs_out() {
    let app = spawn_app().await;
    let (_, admin) = admin(&app);
    let officer = app.officer("110105");

    let (status, cookies, html) = page(&app, None, None, "").await;
    assert_eq!(status, 200);
    assert!(cookies.is_empty());
    assert!(html.contains(r#"<form method="post" action="/admin/login?lang=en">"#) && !html.contains("<svg"), "{html}");

    for (token, status, says) in [
        ("fpa_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 401, "That token is not a live credential."),
        ("nonsense", 401, "That token is not a live credential."),
        (officer.as_str(), 403, "An officer credential cannot open the desk"),
        ("   ", 400, "Enter an admin token."),
    ] {
        let response = sign_in(&app, token).await;
        assert_eq!(response.status(), status, "{token}");
        assert!(set_cookies(&response).is_empty(), "{token}: no cookie");
        assert!(response.text().await.expect("html").contains(says), "{token}");
    }

    let cookie = signed_in(&app, &admin).await;
    assert!(!cookie.contains(&admin), "the cookie holds a session id, never the token");

    let (status, _, html) = page(&app, None, Some(&cookie), "").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"id="sign-out""#) && html.contains("<svg"), "{html}");
    assert!(html.contains(r#"<span id="signed-in-as">finance</span>"#), "the admin's name");
    // The session reads the admin API too (what the pages link to), but changes nothing there:
    // resolving takes a bearer token.
    for path in ["/admin/api/stats", "/admin/api/exceptions", "/admin/api/jobs", "/admin/api/reconciliation"] {
        let api = app.http.get(format!("{}{path}", app.address)).header("Cookie", &cookie).send().await.expect("sent");
        assert_eq!(api.status(), 200, "{path}");
    }
    let resolve = app
        .http
        .post(format!("{}/admin/api/exceptions/1/resolve", app.address))
        .header("Cookie", &cookie)
        .json(&serde_json::json!({"resolution": "done"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resolve.status(), 401, "no change rides on the cookie");

    // Signing out needs the session's own form: without its CSRF token, nothing ends.
    for form in [vec![], vec![("csrf", "A".repeat(32))]] {
        let forged = app
            .http
            .post(format!("{}/admin/logout", app.address))
            .header("Cookie", &cookie)
            .form(&form)
            .send()
            .await
            .expect("sent");
        assert_eq!(forged.status(), 403, "{form:?}");
        assert!(set_cookies(&forged).is_empty());
        assert_eq!(page(&app, None, Some(&cookie), "").await.0, 200, "still signed in");
    }
    let out = sign_out(&app, &cookie, &csrf_of(&html)).await;
    assert_eq!(out.status(), 303);
    assert_eq!(out.headers().get("location").and_then(|v| v.to_str().ok()), Some("/admin?lang=en"));
    assert_eq!(set_cookies(&out), ["finepay_admin=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict"]);
    // The old cookie, kept by someone, is dead.
    let (status, cookies, html) = page(&app, None, Some(&cookie), "").await;
    assert_eq!(status, 401);
    assert!(html.contains("Your session has ended"), "{html}");
    assert_eq!(cookies, ["finepay_admin=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict"]);

    // A session whose credential was revoked since: over, and told why.
    let cookie = signed_in(&app, &admin).await;
    let id = {
        let mut conn = app.ctx.pool.get().expect("connection");
        let rows = finepay::credentials::list(&mut conn, &Default::default()).expect("credentials");
        let row = rows.into_iter().find(|c| c.role == "admin").expect("the admin");
        let revoked = finepay::credentials::revoke(&app.ctx.pool, &mut conn, &row.id, "cli", Utc::now());
        assert_eq!(revoked.expect("revoked"), finepay::credentials::Revocation::Revoked);
        row.id
    };
    let (status, cookies, html) = page(&app, None, Some(&cookie), "").await;
    assert_eq!(status, 401, "{id} is revoked");
    assert!(html.contains("Your session has ended"), "{html}");
    assert_eq!(cookies, ["finepay_admin=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict"]);
}

#[actix_web::test]
async fn the_desk_speaks_chinese_first_and_switches_keeping_its_filters() {
    let app = spawn_app().await;
    let (_, admin) = admin(&app);
    let url = format!("{}/admin?from=2026-12-01&to=2026-12-06&district=110105", app.address);
    let zh = app.http.get(&url).bearer_auth(&admin).send().await.expect("sent").text().await.expect("html");
    assert!(zh.contains(r#"<html lang="zh-CN">"#) && zh.contains("<h1>概览</h1>"), "{zh}");
    assert!(zh.contains("开具于 2026-12-01 至 2026-12-06 的罚单：扫码缴款与银行缴款，辖区 110105"), "{zh}");
    assert!(zh.contains("按开具日统计的罚单"), "the charts speak Chinese too");
    assert!(
        zh.contains(
            r#"href="&#x2f;admin?from=2026-12-01&amp;to=2026-12-06&amp;district=110105&amp;lang=en" id="lang-switch""#
        ),
        "the switch keeps the filters: {zh}"
    );
    let en = app.http.get(format!("{url}&lang=en")).bearer_auth(&admin).send().await.expect("sent");
    let en = en.text().await.expect("html");
    assert!(
        en.contains(r#"<html lang="en">"#) && en.contains("<h1>Overview</h1>") && en.contains("Fines by issue day")
    );
    assert!(!en.contains("按开具日统计的罚单"));
    // "All districts" is the form's empty district: no filter, not an error.
    let all = app.http.get(format!("{}/admin?district=", app.address)).bearer_auth(&admin).send().await.expect("sent");
    assert_eq!(all.status(), 200);
    // The sign-in form, in Chinese unless asked otherwise; its switch leads to a page (a refused
    // sign-in's address is a POST).
    let refused = sign_in(&app, "fpa_unknown").await.text().await.expect("html");
    assert!(refused.contains(r#"href="&#x2f;admin?lang=zh" id="lang-switch""#), "{refused}");
    let form = app.http.get(format!("{}/admin", app.address)).send().await.expect("sent").text().await.expect("html");
    assert!(form.contains("登录管理后台") && form.contains(r#"action="/admin/login?lang=zh""#), "{form}");
}

#[actix_web::test]
async fn a_session_ends_when_left_idle_and_after_a_working_day() {
    let app = spawn_app().await;
    let (_, admin) = admin(&app);
    // Idle: 30 minutes without a request.
    let cookie = signed_in(&app, &admin).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(page(&app, None, Some(&cookie), "").await.0, 200, "used within the idle limit");
    app.clock.advance(Duration::minutes(29));
    assert_eq!(page(&app, None, Some(&cookie), "").await.0, 200, "each request keeps it going");
    app.clock.advance(Duration::minutes(31));
    assert_eq!(page(&app, None, Some(&cookie), "").await.0, 401, "idle too long");

    // In use all day, it still ends after 12 hours.
    let cookie = signed_in(&app, &admin).await;
    for _ in 0..(12 * 60 / 20 - 1) {
        app.clock.advance(Duration::minutes(20));
        assert_eq!(page(&app, None, Some(&cookie), "").await.0, 200);
    }
    app.clock.advance(Duration::minutes(21));
    assert_eq!(page(&app, None, Some(&cookie), "").await.0, 401, "past the working day");

    // Two days after their last request, the prune job forgets both.
    app.clock.advance(Duration::days(2));
    let report = app.run_job(finepay::jobs::Job::Prune).await;
    assert_eq!(report["admin_sessions_deleted"], 2, "{report}");
}

/// Signs in with the form; the session's `Cookie` header.
pub(crate) async fn signed_in(app: &TestApp, token: &str) -> String {
    let response = sign_in(app, token).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers().get("location").and_then(|v| v.to_str().ok()), Some("/admin?lang=en"));
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let id = cookies[0]
        .strip_prefix("finepay_admin=")
        .and_then(|rest| rest.strip_suffix("; Path=/admin; HttpOnly; SameSite=Strict"))
        .unwrap_or_else(|| panic!("an HttpOnly, SameSite=Strict session cookie, not Secure over http: {cookies:?}"));
    assert_eq!(id.len(), 32, "160 random bits: {id}");
    format!("finepay_admin={id}")
}

/// The CSRF token the page's forms carry.
pub(crate) fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    html[at..at + html[at..].find('"').expect("its end")].to_owned()
}

async fn sign_out(app: &TestApp, cookie: &str, csrf: &str) -> reqwest::Response {
    let url = format!("{}/admin/logout?lang=en", app.address);
    app.http.post(url).header("Cookie", cookie).form(&[("csrf", csrf)]).send().await.expect("sent")
}

#[actix_web::test]
async fn the_session_cookie_is_secure_when_finepay_is_served_over_https() {
    let app = spawn_app_with(&[
        ("server.public_base_url", "https://pay.example.gov.cn"),
        ("qr.keys.1", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
    ])
    .await;
    let (_, admin) = admin(&app);
    let response = sign_in(&app, &admin).await;
    assert_eq!(response.status(), 303);
    let cookies = set_cookies(&response);
    assert!(cookies[0].ends_with("; Path=/admin; HttpOnly; SameSite=Strict; Secure"), "{cookies:?}");
    let cookie = cookies[0].split(';').next().expect("the pair").to_owned();
    let (_, _, html) = page(&app, None, Some(&cookie), "").await;
    let out = sign_out(&app, &cookie, &csrf_of(&html)).await;
    assert_eq!(set_cookies(&out), ["finepay_admin=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict; Secure"]);
}
