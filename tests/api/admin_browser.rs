//! The desk in headless Chromium, as a clerk uses it: sign in with the admin token, open the
//! exceptions queue, decide one with the form, and see it resolved; open the credentials, make a
//! bank's and revoke an officer's — in Chinese, the desk's language. Screenshots for the docs with
//! FINEPAY_SCREENSHOTS.

use crate::accessibility::{axe_source, violations};
use crate::admin::admin;
use crate::admin_exceptions::raise_with;
use crate::helpers::{TestApp, spawn_app};
use crate::webdriver::{Browser, Tools};

#[actix_web::test]
async fn a_clerk_signs_in_and_resolves_an_exception_in_the_browser() {
    let Some(tools) = Tools::find() else { return };
    let app = spawn_app().await;
    let (actor, token) = admin(&app);
    let remittance = r#"{"remittance": ["交通罚款 京A12345 110105"], "bank": "ICBC"}"#;
    let id = raise_with(&app, ("unmatched", "bank:ICBC", "stmt-42"), None, remittance);

    let browser = Browser::start_at(&tools, "zh-CN,zh", None, 1280).await;
    sign_in(&browser, &app, &token).await;
    assert_eq!(browser.text("#signed-in-as").await, "finance");
    let axe = axe_source();
    if let Some(axe) = &axe {
        let found = violations(&browser, axe).await;
        assert!(found.is_empty(), "the overview breaks WCAG 2.1 AA:\n{}", found.join("\n"));
    }
    browser.screenshot("desk-overview-zh").await;

    browser.click_on("#queue-link").await;
    browser.wait(&format!("#exception-{id}")).await;
    assert!(browser.text(&format!("#exception-{id}")).await.contains("交通罚款 京A12345 110105"));
    browser
        .script(
            "document.getElementById(arguments[0]).value = 'written_off'",
            serde_json::json!([format!("decision-{id}")]),
        )
        .await;
    browser.type_into(&format!("#note-{id}"), "附言所列罚单已在柜台另行缴清，款项已退回付款人").await;
    if let Some(axe) = &axe {
        let found = violations(&browser, axe).await;
        assert!(found.is_empty(), "the queue breaks WCAG 2.1 AA:\n{}", found.join("\n"));
    }
    browser.screenshot("desk-exceptions-zh").await;
    browser.click_on(&format!("#resolve-{id}")).await;
    browser.wait("#done").await;
    assert_eq!(browser.text("#done").await, format!("异常 #{id} 已处理。"));

    let mut conn = app.ctx.pool.get().expect("connection");
    let row = finepay::db::exceptions::find(&mut conn, id).expect("read").expect("the exception");
    assert_eq!(row.resolved_by.as_deref(), Some(actor.as_str()));
    assert!(row.resolution.is_some_and(|r| r.starts_with("written_off: 附言所列罚单")));
    browser.quit().await;
}

/// Signs the browser in to the desk with `token`.
pub(crate) async fn sign_in(browser: &Browser, app: &TestApp, token: &str) {
    browser.goto(&format!("{}/admin", app.address)).await;
    browser.type_into("#token", token).await;
    browser.click_on("#sign-in").await;
    browser.wait("#signed-in-as").await;
}

#[actix_web::test]
async fn an_admin_makes_a_banks_credential_and_revokes_an_officers_in_the_browser() {
    let Some(tools) = Tools::find() else { return };
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let officer = app.officer("110105");
    let officer_id = {
        let mut conn = app.ctx.pool.get().expect("connection");
        let rows = finepay::credentials::list(&mut conn, &Default::default()).expect("credentials");
        rows.into_iter().find(|row| row.role == "officer").expect("the officer's").id
    };
    assert_eq!(app.get(&officer, "/api/v1/violations").await.status(), 200);

    let browser = Browser::start_at(&tools, "zh-CN,zh", None, 1280).await;
    sign_in(&browser, &app, &token).await;
    browser.click_on("#credentials-link").await;
    browser.wait(&format!("#credential-{officer_id}")).await;
    assert!(browser.text(&format!("#credential-{officer_id}")).await.contains("警号 0042 · 终端 hh-110105"));
    let axe = axe_source();
    if let Some(axe) = &axe {
        let found = violations(&browser, axe).await;
        assert!(found.is_empty(), "the credentials break WCAG 2.1 AA:\n{}", found.join("\n"));
    }
    browser.screenshot("desk-credentials-zh").await;

    // A bank's: the token is shown once, and works.
    browser.type_into("#bank-code", "CCB").await;
    browser.click_on("#create-bank").await;
    let bank = browser.text("#new-token").await;
    assert!(browser.text("#token-warning").await.contains("它不会再显示"));
    if let Some(axe) = &axe {
        let found = violations(&browser, axe).await;
        assert!(found.is_empty(), "the new token's page breaks WCAG 2.1 AA:\n{}", found.join("\n"));
    }
    let outstanding = app.get(&bank, "/bank/v1/outstanding").await;
    assert_eq!(outstanding.status(), 200, "the bank's new token works");

    // The officer's, revoked with its button: its next request is refused.
    browser.click_on("#back-to-credentials").await;
    browser.click_on(&format!("#revoke-{officer_id}")).await;
    browser.wait("#done").await;
    assert_eq!(browser.text("#done").await, format!("凭证 {officer_id} 已停用，其令牌即刻失效。"));
    assert_eq!(app.get(&officer, "/api/v1/violations").await.status(), 401, "its next request is refused");
    browser.quit().await;
}
