//! Reconciliation at the desk: each statement day and channel with both sides' totals and the
//! exceptions raised, the bank statements imported with each line's outcome, and a statement
//! uploaded from the browser — imported as the bank's own upload is, under the admin's name, only
//! with the session and its CSRF token; and a clerk uploading one in headless Chromium.

use crate::accessibility::{axe_source, violations};
use crate::admin::{admin, pay};
use crate::admin_page::{csrf_of, signed_in};
use crate::bank::{Bank, CSV_HEADER, bank_fine, csv_line, fine_status};
use crate::helpers::{TestApp, motor_fine, spawn_app, unescape_html, visible_text};
use crate::webdriver::{Browser, Tools};
use chrono::Duration;
use diesel::prelude::*;
use finepay::db::schema::{audit_log, bank_statements};
use finepay::jobs::Job;
use serde_json::Value;

/// What a reader sees, its spacing made single.
fn read(html: &str) -> String {
    visible_text(&unescape_html(html)).split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn desk_get(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let response = app.http.get(format!("{}{path}", app.address)).header("Cookie", cookie).send().await.expect("sent");
    (response.status().as_u16(), response.text().await.expect("body"))
}

async fn upload(app: &TestApp, cookie: Option<&str>, csrf: &str, query: &str, body: String) -> reqwest::Response {
    let mut request = app
        .http
        .post(format!("{}/admin/reconciliation/statements?{query}", app.address))
        .header("X-CSRF-Token", csrf)
        .header("Content-Type", "text/csv")
        .body(body);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    request.send().await.expect("sent")
}

fn statements(app: &TestApp) -> i64 {
    bank_statements::table.count().get_result(&mut *app.ctx.pool.get().expect("connection")).expect("count")
}

#[tokio::test]
async fn the_desk_shows_each_days_totals_exceptions_and_the_statements_lines() {
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "r-1", &motor_fine(&app)).await;
    pay(&app, &fine, "wechat").await;
    let bank = Bank::new(&app, "ICBC");
    let at_bank = bank_fine(&app).await;
    let now = app.now().to_rfc3339();
    let mut csv = String::from(CSV_HEADER);
    csv += &csv_line("S1", &now, 20000, "C,BOOK,", "T1", &at_bank);
    csv += &csv_line("S2", &now, 20000, "C,BOOK,", "T2", "罚款 no number");
    assert_eq!(bank.upload("text/csv", csv).await.status(), 200);
    // The next morning the channels' statements of the day are reconciled.
    app.clock.advance(Duration::days(1));
    app.run_job(Job::Reconcile).await;
    let day = finepay::domain::time::shanghai_date(app.now() - Duration::days(1)).to_string();

    let cookie = signed_in(&app, &token).await;
    let (status, html) = desk_get(&app, &cookie, "/admin/reconciliation?lang=en").await;
    assert_eq!(status, 200, "{html}");
    let text = read(&html);
    assert!(text.contains(&format!("{day} wechat balanced (balanced) 1 · ¥200.00 1 · ¥200.00 ¥0.00")), "{text}");
    // The bank's statement, imported yesterday (Beijing), and its lines' outcomes.
    let id: i64 = bank_statements::table
        .select(bank_statements::id)
        .first(&mut *app.ctx.pool.get().expect("connection"))
        .expect("the statement");
    assert!(html.contains(&format!("id=\"statement-{id}\"")), "{html}");
    assert!(text.contains("applied (settled): 1") && text.contains("names no fine (unmatched): 1"), "{text}");

    let (status, html) = desk_get(&app, &cookie, &format!("/admin/reconciliation/statements/{id}?lang=en")).await;
    assert_eq!(status, 200);
    let text = read(&html);
    assert!(text.contains(&format!("¥200.00 ¥200.00 {at_bank} applied (settled)")), "{text}");
    assert!(text.contains("S2") && text.contains("names no fine (unmatched)"), "{text}");
    assert!(html.contains(&format!("href=\"/admin/fines/{at_bank}?lang=en\"")), "{html}");

    // Chinese by default; bad parameters are refused; an unknown statement is not there.
    let (_, zh) = desk_get(&app, &cookie, "/admin/reconciliation").await;
    assert!(read(&zh).contains("已平 (balanced)"), "{zh}");
    for bad in ["?from=2026-13-01", "?channel=paypal", "?from=2020-01-01&to=2026-12-01"] {
        assert_eq!(desk_get(&app, &cookie, &format!("/admin/reconciliation{bad}")).await.0, 400, "{bad}");
    }
    assert_eq!(desk_get(&app, &cookie, "/admin/reconciliation/statements/999").await.0, 404);
    let officer_reads = app.http.get(format!("{}/admin/reconciliation", app.address)).bearer_auth(&officer);
    assert_eq!(officer_reads.send().await.expect("sent").status(), 403);
}

#[tokio::test]
async fn a_statement_uploaded_at_the_desk_is_imported_once_under_the_admins_name() {
    let app = spawn_app().await;
    let (actor, token) = admin(&app);
    let cookie = signed_in(&app, &token).await;
    let (_, html) = desk_get(&app, &cookie, "/admin/reconciliation?lang=en").await;
    let csrf = csrf_of(&html);
    let no = bank_fine(&app).await;
    Bank::new(&app, "ICBC"); // the bank's credential: the banks the desk takes statements of
    let mut csv = String::from(CSV_HEADER);
    csv += &csv_line("U1", &app.now().to_rfc3339(), 20000, "C,BOOK,", "T1", &no);

    // Refused, and nothing imported: no session, not the session's token, no bank code.
    assert_eq!(upload(&app, None, &csrf, "bank=ICBC", csv.clone()).await.status(), 401);
    let bearer = app
        .http
        .post(format!("{}/admin/reconciliation/statements?bank=ICBC", app.address))
        .bearer_auth(&token)
        .header("X-CSRF-Token", &csrf)
        .body(csv.clone());
    assert_eq!(bearer.send().await.expect("sent").status(), 401, "the desk's upload rides on its session only");
    assert_eq!(upload(&app, Some(&cookie), "forged", "bank=ICBC", csv.clone()).await.status(), 403);
    assert_eq!(upload(&app, Some(&cookie), &csrf, "bank=I%2FC", csv.clone()).await.status(), 400);
    assert_eq!(upload(&app, Some(&cookie), &csrf, "bank=ICCB", csv.clone()).await.status(), 400, "no such bank");
    assert_eq!(upload(&app, Some(&cookie), &csrf, "bank=icbc", csv.clone()).await.status(), 400, "spelt as it is");
    assert_eq!(upload(&app, Some(&cookie), &csrf, "", csv.clone()).await.status(), 400);
    assert_eq!(statements(&app), 0);
    assert_eq!(fine_status(&app, &no).0, "payable_at_bank");

    let response = upload(&app, Some(&cookie), &csrf, "bank=ICBC&name=%E5%B7%A5%E8%A1%8C-1206.csv", csv.clone()).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("the report");
    assert_eq!(report["bank_code"], "ICBC", "{report}");
    assert_eq!(report["file_name"], "工行-1206.csv");
    assert_eq!(report["outcomes"]["settled"], 1, "{report}");
    assert_eq!(fine_status(&app, &no), ("paid".to_owned(), Some("bank".to_owned())));
    let settled_by: String = audit_log::table
        .filter(audit_log::action.eq("fine.paid_at_bank"))
        .select(audit_log::actor)
        .first(&mut *app.ctx.pool.get().expect("connection"))
        .expect("audited");
    assert_eq!(settled_by, actor);

    // The same file again: recorded before, nothing changes.
    let again: Value = upload(&app, Some(&cookie), &csrf, "bank=ICBC", csv).await.json().await.expect("report");
    assert_eq!((again["repeated"].clone(), again["outcomes"]["settled"].clone()), (1.into(), 0.into()), "{again}");

    // Not a statement: 422, as for the bank's own upload.
    let garbage = upload(&app, Some(&cookie), &csrf, "bank=ICBC", "hello\u{0}world".into()).await;
    assert_eq!(garbage.status(), 422);
}

#[tokio::test]
async fn a_clerk_uploads_a_bank_statement_in_the_browser_and_sees_its_lines() {
    let Some(tools) = Tools::find() else { return };
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let no = bank_fine(&app).await;
    Bank::new(&app, "ICBC");
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("icbc-statement.csv");
    let mut csv = String::from(CSV_HEADER);
    csv += &csv_line("B1", &app.now().to_rfc3339(), 20000, "C,BOOK,", "T1", &no);
    std::fs::write(&file, csv).expect("written");

    let browser = Browser::start_at(&tools, "zh-CN,zh", None, 1280).await;
    crate::admin_browser::sign_in(&browser, &app, &token).await;
    browser.click_on("#reconciliation-link").await;
    browser.wait("#upload-form").await;
    browser.type_into("#upload-file", file.to_str().expect("a path")).await;
    if let Some(axe) = axe_source() {
        let found = violations(&browser, &axe).await;
        assert!(found.is_empty(), "the reconciliation page breaks WCAG 2.1 AA:\n{}", found.join("\n"));
    }
    browser.click_on("#upload").await;
    browser.wait("#lines").await;
    assert!(browser.text("#statement-status").await.contains("已导入 (complete)"));
    assert!(browser.text("#lines").await.contains("已入账 (settled)"));
    assert_eq!(fine_status(&app, &no).0, "paid");
    // Back on the overview, today's import is listed with its lines' outcomes.
    browser.click_on("#back").await;
    browser.wait("#statements").await;
    assert!(browser.text("#statements").await.contains("icbc-statement.csv"));
    if let Some(axe) = axe_source() {
        let found = violations(&browser, &axe).await;
        assert!(found.is_empty(), "the reconciliation page breaks WCAG 2.1 AA:\n{}", found.join("\n"));
    }
    browser.screenshot("desk-reconciliation-zh").await;
    browser.quit().await;
}
