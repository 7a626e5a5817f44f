//! Every page a driver can meet, checked by axe-core against WCAG 2.1 A and AA in headless
//! Chromium: on a 360-px phone and a 1280-px desktop, in Chinese and in English, in every state
//! (fresh, paying, "I have paid" checked, paid and its receipt, expired, bank-only, void, lookup
//! errors, rate-limited, 404, a channel down). axe-core comes from npm, installed beforehand and
//! read from FINEPAY_AXE_JS (`.ci/run` installs it; nothing is downloaded here); without it the
//! test says "skipped" and passes, unless FINEPAY_REQUIRE_BROWSER=1. With FINEPAY_SCREENSHOTS set,
//! the docs' screenshots are saved as `page-<state>-<lang>-<width>.png`.

use crate::browser::ANDROID;
use crate::helpers::{TestApp, motor_fine, pedestrian_fine, spawn_app_with, taken};
use crate::webdriver::{Browser, PHONE_WIDTH, Tools};
use finepay::domain::DecisionNo;
use serde_json::{Value, json};

/// axe-core's script, from FINEPAY_AXE_JS.
pub(crate) fn axe_source() -> Option<String> {
    let path = std::env::var("FINEPAY_AXE_JS").ok().filter(|p| !p.is_empty());
    let required = std::env::var("FINEPAY_REQUIRE_BROWSER").as_deref() == Ok("1");
    match path {
        Some(path) => Some(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("FINEPAY_AXE_JS={path}: {e}"))),
        None => {
            assert!(
                !required,
                "FINEPAY_REQUIRE_BROWSER=1 but FINEPAY_AXE_JS is not set: npm install axe-core and point it at axe.min.js"
            );
            println!("skipped: FINEPAY_AXE_JS is not set (axe-core's axe.min.js)");
            None
        }
    }
}

/// Runs axe on the page with WCAG 2.1 A and AA rules; the violations, each as one line.
const RUN_AXE: &str = "const done = arguments[arguments.length - 1];
    axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                       resultTypes: ['violations']})
      .then(r => done(r.violations.flatMap(v => v.nodes.map(n =>
               v.id + ' (' + v.impact + ') ' + n.target.join(' ') + ': ' + n.failureSummary))),
            e => done(['axe failed: ' + e]));";

/// The WCAG 2.1 A and AA violations axe finds on the browser's page, each as one line.
pub(crate) async fn violations(browser: &Browser, axe: &str) -> Vec<String> {
    let present = browser.script("return typeof window.axe", json!([])).await;
    if present != "object" {
        browser.script(axe, json!([])).await;
    }
    serde_json::from_value(browser.script_async(RUN_AXE, json!([])).await).expect("a list")
}

struct Check<'a> {
    browser: &'a Browser,
    axe: &'a str,
    lang: &'a str,
    width: i64,
}

impl Check<'_> {
    /// The page at `url` (waiting for `ready`) has no WCAG 2.1 AA violations and fits the screen.
    async fn page(&self, state: &str, url: &str, ready: &str) {
        self.browser.goto(url).await;
        self.here(state, ready).await;
    }

    /// The page the browser is on now.
    async fn here(&self, state: &str, ready: &str) {
        self.browser.wait(ready).await;
        let lang = self.browser.script("return document.documentElement.lang", json!([])).await;
        assert_eq!(lang, if self.lang == "zh" { "zh-CN" } else { "en" }, "{state}: the page's language");
        if self.width == PHONE_WIDTH {
            self.browser.assert_fits_phone(&[]).await;
        }
        let violations = violations(self.browser, self.axe).await;
        assert!(
            violations.is_empty(),
            "{state} ({}, {} px) breaks WCAG 2.1 AA:\n{}",
            self.lang,
            self.width,
            violations.join("\n")
        );
        if in_the_docs(state, self.lang, self.width) {
            self.browser.screenshot(&format!("page-{state}-{}-{}", self.lang, self.width)).await;
        }
    }
}

/// The screenshots docs/driver-pages.md shows: every state on a phone in Chinese; the main ones in
/// English; the pay page and the receipt on a desktop.
fn in_the_docs(state: &str, lang: &str, width: i64) -> bool {
    match (lang, width) {
        ("zh", PHONE_WIDTH) => true,
        ("en", PHONE_WIDTH) => ["fresh", "expired", "bank-only", "receipt", "lookup-errors"].contains(&state),
        (_, _) => (state, lang) == ("fresh", "en") || (state, lang) == ("receipt", "zh"),
    }
}

#[actix_web::test]
async fn every_drivers_page_meets_wcag_21_aa_on_a_phone_and_a_desktop_in_both_languages() {
    let Some(tools) = Tools::find() else { return };
    let Some(axe) = axe_source() else { return };
    for lang in ["zh", "en"] {
        for width in [PHONE_WIDTH, 1280] {
            every_state(&tools, &axe, lang, width).await;
        }
    }
}

async fn every_state(tools: &Tools, axe: &str, lang: &str, width: i64) {
    // One lookup per address: the second is rate-limited.
    let app = spawn_app_with(&[("lookup.attempts_per_address", "1")]).await;
    let languages = if lang == "zh" { "zh-CN,zh" } else { "en-US,en" };
    let user_agent = (width == PHONE_WIDTH).then_some(ANDROID);
    let browser = Browser::start_at(tools, languages, user_agent, width).await;
    let check = Check { browser: &browser, axe, lang, width };
    let officer = app.officer("110105");
    let fresh = app.issue_ok(&officer, "a11y-fresh", &motor_fine(&app)).await;
    let fresh_page = page_of(&app, &fresh);

    check.page("fresh", &fresh_page, "#pay-wechat").await;
    check.page("paying", &format!("{fresh_page}?back=1"), "#confirming").await;
    check.page("checked", &format!("{fresh_page}?check=1"), "#confirming").await;

    // A channel that does not answer: the tap gets a page saying what to do.
    app.set_sim_faults(json!({"api_failure_rate": 1.0, "api_fault_channels": ["wechat"]})).await;
    check.browser.goto(&fresh_page).await;
    check.browser.click_on("#pay-wechat").await;
    check.here("channel-down", "#problem").await;
    app.set_sim_faults(json!({})).await;

    let paid = app.issue_ok(&officer, "a11y-paid", &motor_fine(&app)).await;
    let receipt_url = pay(&app, &paid).await;
    check.page("paid", &page_of(&app, &paid), "#paid-title").await;
    check.page("receipt", &receipt_url, "#verify-qr").await;
    // Printed, the receipt is one A4 page.
    let pdf = browser.print_a4().await;
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    let pages = pdf.windows(11).filter(|w| w == b"/Type /Page").count()
        - pdf.windows(12).filter(|w| w == b"/Type /Pages").count();
    assert_eq!(pages, 1, "the receipt prints on one A4 page ({lang}, {width} px)");

    let void = app.issue_ok(&officer, "a11y-void", &motor_fine(&app)).await;
    let no = void["decision_no"].as_str().expect("no");
    app.void_ok(&officer, no, "issued in error").await;
    check.page("void", &page_of(&app, &void), "#void-note").await;

    // A district without QR payment: its page is reached by the lookup, or this signed link.
    let bank_only = app.issue_ok(&app.officer("110109"), "a11y-bank", &pedestrian_fine(&app)).await;
    let no = DecisionNo::parse(bank_only["decision_no"].as_str().expect("no")).expect("a number");
    let token = app.ctx.signer.sign_with(&no, app.ctx.signer.current_key()).expect("a token");
    check.page("bank-only", &format!("{}/p/{token}", app.address), "#where-to-pay").await;

    check.page("not-found", &format!("{}/no/such/page", app.address), "#lookup-link").await;

    check.browser.goto(&format!("{}/lookup", app.address)).await;
    check.browser.type_into("#decision_no", "1101052612060000130").await;
    check.browser.type_into("#verification_code", "12").await;
    check.browser.click_on("#lookup").await;
    check.here("lookup-errors", "#error-summary").await;
    check.browser.type_into("#verification_code", "3456").await;
    check.browser.click_on("#lookup").await;
    check.here("rate-limited", "fieldset[disabled]").await;

    app.clock.advance(chrono::Duration::hours(4) + chrono::Duration::seconds(1));
    check.page("expired", &fresh_page, "#where-to-pay").await;
    browser.quit().await;
}

/// The fine's page on this server.
fn page_of(app: &TestApp, fine: &Value) -> String {
    app.public_path(fine["pay_url"].as_str().expect("pay_url"))
}

/// Pays the fine with Alipay through the simulator; its receipt's address.
async fn pay(app: &TestApp, fine: &Value) -> String {
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    let link = app.channel_pay_link(pay_url, "alipay").await;
    let paid = app.sim_pay(&link);
    assert_eq!(app.deliver(&paid.notification).await, taken("alipay"));
    let page: Value = app.page_json(pay_url).await.json().await.expect("JSON");
    format!("{}{}", app.address, page["receipt"]["url"].as_str().expect("a receipt"))
}
