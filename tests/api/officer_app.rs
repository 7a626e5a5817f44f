//! The officer's app at `/officer/`: served by finepay with its manifest, service worker, icons
//! and cache headers; the handheld's list of its day; and, in headless Chromium at 360 px, the
//! officer's work — sign in, issue a motor-vehicle fine and print it over a (stand-in) Bluetooth
//! printer, issue a pedestrian fine and show its code, void, switch to English — and a fine
//! queued while the network is off that is issued once, however the retries fall.

use crate::helpers::{TestApp, error_of, motor_fine, spawn_app};
use crate::webdriver::{Browser, PHONE_WIDTH, Tools};
use finepay::bill::escpos::reader::{self, Command};
use finepay::credentials::Binding;
use serde_json::{Value, json};

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.get(format!("{}{path}", app.address)).send().await.expect("sent")
}

#[actix_web::test]
async fn the_app_is_served_with_its_manifest_worker_icons_and_cache_headers() {
    let app = spawn_app().await;
    let redirect = get(&app, "/officer").await;
    assert_eq!((redirect.status().as_u16(), header(&redirect, "location")), (308, "/officer/".to_owned()));

    let page = get(&app, "/officer/").await;
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&page, "cache-control"), "no-cache", "revalidated whenever there is a network");
    assert!(header(&page, "content-security-policy").contains("script-src 'self'"));
    let etag = header(&page, "etag");
    let html = page.text().await.expect("the page");
    let again =
        app.http.get(format!("{}/officer/", app.address)).header("If-None-Match", &etag).send().await.expect("sent");
    assert_eq!(again.status(), 304, "an unchanged page is not sent again");

    // Every file the page names is there; the versioned ones are cached for a year.
    let named = |prefix: &str| {
        let at = html.find(prefix).unwrap_or_else(|| panic!("the page names {prefix}"));
        html[at..].split('"').next().unwrap_or_default().to_owned()
    };
    for (file, content_type) in
        [("app.js?v=", "text/javascript; charset=utf-8"), ("app.css?v=", "text/css; charset=utf-8")]
    {
        let response = get(&app, &format!("/officer/{}", named(file))).await;
        assert_eq!(response.status(), 200, "{file}");
        assert_eq!(header(&response, "content-type"), content_type);
        assert_eq!(header(&response, "cache-control"), "public, max-age=31536000, immutable");
    }
    let manifest: Value = get(&app, "/officer/manifest.webmanifest").await.json().await.expect("a JSON manifest");
    assert_eq!((manifest["start_url"].as_str(), manifest["display"].as_str()), (Some("/officer/"), Some("standalone")));
    for icon in manifest["icons"].as_array().expect("icons") {
        let response = get(&app, &format!("/officer/{}", icon["src"].as_str().expect("src"))).await;
        let size: u32 =
            icon["sizes"].as_str().and_then(|s| s.split('x').next()).and_then(|s| s.parse().ok()).expect("a size");
        let png = png::Decoder::new(std::io::Cursor::new(response.bytes().await.expect("the icon")))
            .read_info()
            .expect("a PNG")
            .info()
            .clone();
        assert_eq!((png.width, png.height), (size, size));
    }
    let worker = get(&app, "/officer/sw.js").await;
    assert_eq!(header(&worker, "cache-control"), "no-cache");
    let worker = worker.text().await.expect("the worker");
    assert!(
        worker.contains(&named("app.js?v=")) && worker.contains("finepay-officer-"),
        "the worker keeps this build's shell"
    );
    assert_eq!(get(&app, "/officer/secrets.txt").await.status(), 404);
}

#[actix_web::test]
async fn the_handheld_lists_its_own_fines_of_a_day() {
    let app = spawn_app().await;
    let handheld = app.officer("110105");
    let other = app.credential(&Binding::Officer {
        officer_id: "0043".into(),
        device_id: "hh-other".into(),
        district_code: "110105".into(),
    });
    let first = app.issue_ok(&handheld, "one", &motor_fine(&app)).await;
    app.clock.advance(chrono::Duration::minutes(5));
    let second = app.issue_ok(&handheld, "two", &motor_fine(&app)).await;
    app.issue_ok(&other, "three", &motor_fine(&app)).await;

    let today: Value = app.get(&handheld, "/api/v1/fines").await.json().await.expect("JSON");
    let listed: Vec<&str> =
        today["fines"].as_array().expect("fines").iter().filter_map(|f| f["decision_no"].as_str()).collect();
    assert_eq!(
        listed,
        [&second["decision_no"], &first["decision_no"]].map(|n| n.as_str().unwrap_or_default()),
        "its own, newest first"
    );
    assert_eq!(today["fines"][0]["status"], "awaiting_payment");
    let date = today["date"].as_str().expect("date").to_owned();
    let same: Value = app.get(&handheld, &format!("/api/v1/fines?date={date}")).await.json().await.expect("JSON");
    assert_eq!(same["fines"].as_array().map(Vec::len), Some(2));
    let yesterday: Value = app.get(&handheld, "/api/v1/fines?date=2020-01-01").await.json().await.expect("JSON");
    assert_eq!(yesterday["fines"], json!([]));

    for bad in
        ["date=2026-13-01", "date=today", "when=now", "date=-262143-01-01", "date=+262142-12-31", "date=1999-12-31"]
    {
        let (status, code) = error_of(app.get(&handheld, &format!("/api/v1/fines?{bad}")).await).await;
        assert_eq!((status, code.as_str()), (400, "invalid_request"), "{bad}");
    }
    let admin = app.credential(&Binding::Admin { name: "desk".into() });
    assert_eq!(error_of(app.get(&admin, "/api/v1/fines").await).await.0, 403, "an admin has no handheld");
    assert_eq!(error_of(get(&app, "/api/v1/fines").await).await, (401, "unauthorized".to_owned()));
}

/// A Bluetooth printer's stand-in, put in the page before its scripts run: it takes what the
/// app writes to it, chunk by chunk, into `window.__printed`.
const BLUETOOTH_PRINTER: &str = r"
window.__printed = [];
const characteristic = {
  properties: { write: true, writeWithoutResponse: true },
  writeValueWithoutResponse: async (data) => { window.__printed.push(Array.from(data)); },
  writeValue: async (data) => { window.__printed.push(Array.from(data)); },
};
const server = {
  getPrimaryService: async (uuid) => {
    if (uuid !== '000018f0-0000-1000-8000-00805f9b34fb') throw new DOMException('no such service', 'NotFoundError');
    return { getCharacteristics: async () => [characteristic] };
  },
};
const device = { name: 'stand-in printer', gatt: { connected: false, async connect() { this.connected = true; return server; } } };
Object.defineProperty(navigator, 'bluetooth', {
  configurable: true,
  value: { requestDevice: async (options) => { window.__requested = options; return device; } },
});
";

/// The outbox's requests, as the app keeps them in IndexedDB.
const OUTBOX: &str = r"
const done = arguments[arguments.length - 1];
const opened = indexedDB.open('finepay-officer', 1);
opened.onsuccess = () => {
  const all = opened.result.transaction('outbox').objectStore('outbox').getAll();
  all.onsuccess = () => done(all.result);
};
opened.onerror = () => done(null);
";

async fn open_app(app: &TestApp, tools: &Tools) -> Browser {
    let browser = Browser::start(tools, "zh-CN,zh", Some(crate::browser::ANDROID)).await;
    browser.cdp("Page.addScriptToEvaluateOnNewDocument", json!({"source": BLUETOOTH_PRINTER})).await;
    browser.goto(&format!("{}/officer/", app.address)).await;
    browser
}

async fn sign_in(browser: &Browser, token: &str) {
    browser.type_into("#token", token).await;
    browser.click_on("#signin-form button[type=submit]").await;
    browser.wait("#issue-form select[name=violation_code] option").await;
}

/// Fills the form for a fine of `kind` at `place` and sends it.
async fn issue(browser: &Browser, code: &str, kind: &str, plate: Option<&str>, place: &str) {
    browser.click_on(&format!("input[name=kind][value={kind}]")).await;
    browser.clear("#violation-search").await;
    browser.type_into("#violation-search", code).await;
    browser.click_on(&format!("select[name=violation_code] option[value='{code}']")).await;
    if let Some(plate) = plate {
        browser.clear("input[name=plate]").await;
        browser.type_into("input[name=plate]", plate).await;
    }
    browser.type_into("input[name=location]", place).await;
    browser.click_on("#issue-form button[type=submit]").await;
}

/// The decision number the result shows, once it shows one.
async fn shown_decision_no(browser: &Browser) -> String {
    let shown = browser.wait_for("the issued fine", "const r = document.querySelector('#result:not([hidden])[data-decision-no]'); return r && r.dataset.decisionNo;").await;
    shown.as_str().unwrap_or_default().to_owned()
}

#[actix_web::test]
async fn an_officer_issues_prints_shows_and_voids_from_the_handheld() {
    let Some(tools) = Tools::find() else { return };
    let app = spawn_app().await;
    let token = app.officer("110105");
    let browser = open_app(&app, &tools).await;
    browser.screenshot("officer-signin").await;
    sign_in(&browser, &token).await;

    // A motor vehicle: the plate typed after the province picked from the grid.
    browser.click_on("#province").await;
    browser.click_on("#provinces button:nth-child(3)").await; // 沪
    issue(&browser, "1625", "motor_vehicle", Some("b12345"), "朝阳区建国路与东三环交叉口").await;
    let motor = shown_decision_no(&browser).await;
    let fine: Value = app.get(&token, &format!("/api/v1/fines/{motor}")).await.json().await.expect("JSON");
    assert_eq!(fine["subject"]["plate"], "沪B12345");
    assert_eq!(fine["violation"]["code"], "1625");
    browser.assert_fits_phone(&["#result-no"]).await;
    browser.screenshot("officer-issued").await;

    browser.click_on("#result-print").await;
    let printed = browser.wait_for("the bill sent to the printer", "return window.__printed.length > 0 && document.querySelector('#notice').textContent.length > 0 && window.__printed").await;
    let bytes: Vec<u8> = printed
        .as_array()
        .expect("chunks")
        .iter()
        .flat_map(|c| c.as_array().expect("bytes").iter().map(|b| b.as_u64().unwrap_or(0) as u8))
        .collect();
    assert!(
        printed.as_array().expect("chunks").iter().all(|c| c.as_array().map_or(0, Vec::len) <= 100),
        "chunks a printer takes"
    );
    let commands = reader::read(&bytes).expect("the printer reads every byte");
    assert_eq!(commands[..2], [Command::Init, Command::ChineseMode]);
    let stored: Vec<_> =
        commands.iter().filter_map(|c| if let Command::QrStore(p) = c { Some(p.clone()) } else { None }).collect();
    assert_eq!(
        stored,
        [fine["pay_url"].as_str().expect("pay_url").as_bytes().to_vec()],
        "the printer's QR holds pay_url"
    );
    assert!(reader::lines(&commands).join("").contains("沪B12345"));

    // A pedestrian: the code on the screen.
    browser.click_on("#result-new").await;
    issue(&browser, "3001", "pedestrian", None, "建国门内大街").await;
    let pedestrian = shown_decision_no(&browser).await;
    assert_ne!(pedestrian, motor);
    browser.click_on("#result-show").await;
    browser.wait_for("the code's image", "const i = document.querySelector('#code:not([hidden]) #code-image'); return i && i.complete && i.naturalWidth > 0;").await;
    let pedestrian_fine: Value =
        app.get(&token, &format!("/api/v1/fines/{pedestrian}")).await.json().await.expect("JSON");
    assert_eq!(browser.text("#code-no").await, pedestrian);
    assert_eq!(
        browser.text("#code-verification").await,
        pedestrian_fine["verification_code"].as_str().unwrap_or_default()
    );
    assert!(browser.text("#code-countdown").await.starts_with("3:59:"), "four hours to pay");
    browser.assert_fits_phone(&["#code-no", "#code-verification"]).await;
    browser.screenshot("officer-code").await;
    browser.click_on("#code-close").await;

    // Today's list, then void the motor-vehicle fine with a reason.
    browser.click_on("#tabs [data-view=today]").await;
    browser.wait(&format!("#today-list li[data-decision-no='{pedestrian}']")).await;
    let rows = browser.script("return Array.from(document.querySelectorAll('#today-list li[data-decision-no]'), r => r.dataset.decisionNo)", json!([])).await;
    assert_eq!(rows, json!([pedestrian, motor]), "newest first");
    browser.click_on(&format!("li[data-decision-no='{motor}'] [data-action=void]")).await;
    browser.type_into(&format!("li[data-decision-no='{motor}'] input[name=reason]"), "号牌录入错误").await;
    browser.click_on(&format!("li[data-decision-no='{motor}'] [data-action=void-confirm]")).await;
    browser.wait(&format!("li[data-decision-no='{motor}'] .state[data-status=void]")).await;
    let voided: Value = app.get(&token, &format!("/api/v1/fines/{motor}")).await.json().await.expect("JSON");
    assert_eq!((voided["status"].as_str(), voided["void_reason"].as_str()), (Some("void"), Some("号牌录入错误")));

    // Gloves: every control is at least 48 px high.
    let small = browser.script("return Array.from(document.querySelectorAll('button, input, select')).filter(e => e.offsetParent && e.getBoundingClientRect().height < 48 && !['radio','checkbox'].includes(e.type)).map(e => e.id || e.textContent)", json!([])).await;
    assert_eq!(small, json!([]), "tap targets");
    browser.screenshot("officer-today").await;

    // English by the switch, kept across a reload.
    browser.click_on("#lang").await;
    assert_eq!(browser.text("#tabs [data-view=today]").await, "Today's fines");
    browser.goto(&format!("{}/officer/", app.address)).await;
    assert_eq!(browser.text("#tabs [data-view=issue]").await, "Issue");
    assert_eq!(PHONE_WIDTH, 360);
    browser.quit().await;
}

#[actix_web::test]
async fn a_fine_queued_while_offline_is_issued_once_when_the_network_is_back() {
    let Some(tools) = Tools::find() else { return };
    let app = spawn_app().await;
    let token = app.officer("110105");
    let browser = open_app(&app, &tools).await;
    sign_in(&browser, &token).await;

    browser.cdp("Network.enable", json!({})).await;
    let offline = json!({"offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1});
    browser.cdp("Network.emulateNetworkConditions", offline).await;
    issue(&browser, "1625", "motor_vehicle", Some("A12345"), "东三环中路").await;
    browser.wait("#queue:not([hidden]) li[data-state=waiting]").await;
    browser.screenshot("officer-queued").await;
    let kept = browser.script_async(OUTBOX, json!([])).await;
    let kept = kept.as_array().expect("the outbox");
    assert_eq!(kept.len(), 1, "one request kept on the handheld: {kept:?}");
    assert!(
        kept[0]["owner"].as_str().is_some_and(|o| !o.is_empty() && !o.contains(&token)),
        "kept under a digest of its token"
    );
    assert!(
        browser.find_all("#result:not([hidden])").await.is_empty(),
        "nothing to print before the server has answered"
    );
    assert_eq!(app.counts().fines, 0);

    // The first try reached finepay after all and only its answer was lost: finepay has the fine
    // under the handheld's key.
    let key = kept[0]["key"].as_str().expect("the Idempotency-Key").to_owned();
    let reached = app.issue_ok(&token, &key, &kept[0]["body"]).await;

    let online = json!({"offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1});
    browser.cdp("Network.emulateNetworkConditions", online).await;
    let no = reached["decision_no"].as_str().unwrap_or_default().to_owned();
    browser.wait_for("the emptied queue", "return document.querySelector('#queue').hidden").await;
    let said = browser.text("#notice").await;
    assert!(said.contains(&no), "the retry got the same fine, and says so: {said}");
    assert!(browser.find_all("#result:not([hidden])").await.is_empty(), "the screen stays on the next stop");
    assert_eq!(app.counts().fines, 1, "one stop, one fine");
    let today: Value = app.get(&token, "/api/v1/fines").await.json().await.expect("JSON");
    assert_eq!(today["fines"].as_array().map(Vec::len), Some(1));
    // It is printed from today's list.
    browser.click_on("#tabs [data-view=today]").await;
    browser.click_on(&format!("li[data-decision-no='{no}'] [data-action=print]")).await;
    browser.wait_for("the queued fine's bill printed", "return window.__printed.length > 0").await;
    browser.quit().await;
}

#[actix_web::test]
async fn without_bluetooth_or_serial_the_pdf_goes_to_the_print_dialog() {
    let Some(tools) = Tools::find() else { return };
    let app = spawn_app().await;
    let token = app.officer("110105");
    let browser = Browser::start(&tools, "zh-CN,zh", Some(crate::browser::ANDROID)).await;
    let no_printers = "Object.defineProperty(navigator, 'bluetooth', {value: undefined, configurable: true}); \
                       Object.defineProperty(navigator, 'serial', {value: undefined, configurable: true}); \
                       window.print = () => { window.__printDialog = true; };";
    browser.cdp("Page.addScriptToEvaluateOnNewDocument", json!({"source": no_printers})).await;
    browser.goto(&format!("{}/officer/#token={token}", app.address)).await;
    browser.wait("#issue-form select[name=violation_code] option").await;
    assert!(!browser.url().await.contains("token="), "the token leaves the address bar");
    // A gloved double tap on 开具罚单 is one request, one fine.
    browser.clear("#violation-search").await;
    browser.type_into("#violation-search", "1625").await;
    browser.click_on("select[name=violation_code] option[value='1625']").await;
    browser.type_into("input[name=plate]", "A12345").await;
    browser.type_into("input[name=location]", "东三环中路").await;
    browser
        .script("const b = document.querySelector('#issue-form button[type=submit]'); b.click(); b.click();", json!([]))
        .await;
    let no = shown_decision_no(&browser).await;
    assert_eq!(app.counts().fines, 1, "one fine for two taps");
    browser.click_on("#result-print").await;
    let sent = format!(
        "const f = document.querySelector(\"iframe[data-bill-pdf='{no}'][data-printed]\"); return f && [f.src, f.dataset.printed]"
    );
    let frame = browser.wait_for("the bill's PDF in a frame, sent to print", &sent).await;
    assert!(frame[0].as_str().unwrap_or_default().starts_with("blob:"), "{frame}");
    browser.quit().await;
}

/// A serial printer's stand-in (Web Serial), where there is no Bluetooth: what the app writes to
/// the port it opened lands in `window.__printed`.
const SERIAL_PRINTER: &str = r"
Object.defineProperty(navigator, 'bluetooth', { value: undefined, configurable: true });
window.__printed = [];
const port = {
  opened: null,
  async open(options) { this.opened = options; },
  async close() { window.__closed = true; },
  writable: { getWriter: () => ({ write: async (data) => { window.__printed.push(Array.from(data)); }, releaseLock() {} }) },
};
Object.defineProperty(navigator, 'serial', {
  configurable: true,
  value: { requestPort: async () => { window.__port = port; return port; } },
});
";

#[actix_web::test]
async fn without_bluetooth_the_bill_goes_to_a_serial_printer() {
    let Some(tools) = Tools::find() else { return };
    let app = spawn_app().await;
    let token = app.officer("110105");
    let browser = Browser::start(&tools, "zh-CN,zh", Some(crate::browser::ANDROID)).await;
    browser.cdp("Page.addScriptToEvaluateOnNewDocument", json!({"source": SERIAL_PRINTER})).await;
    browser.goto(&format!("{}/officer/", app.address)).await;
    sign_in(&browser, &token).await;
    issue(&browser, "1625", "motor_vehicle", Some("A12345"), "东三环中路").await;
    let no = shown_decision_no(&browser).await;
    browser.click_on("#result-print").await;
    let printed = browser.wait_for("the bill written to the port", "return window.__closed && window.__printed").await;
    let bytes: Vec<u8> = printed
        .as_array()
        .expect("writes")
        .iter()
        .flat_map(|w| w.as_array().expect("bytes").iter().map(|b| u8::try_from(b.as_u64().unwrap_or(0)).unwrap_or(0)))
        .collect();
    let commands = reader::read(&bytes).expect("the printer reads every byte");
    assert!(reader::lines(&commands).join("").contains(&no), "the bill of the fine just issued");
    let opened = browser.script("return window.__port.opened", json!([])).await;
    assert_eq!(opened["baudRate"], 9600);
    browser.quit().await;
}
