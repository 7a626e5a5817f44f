//! The pay page end to end in a real browser — Debian's headless Chromium driven over WebDriver —
//! because what the HTTP tests cannot see is what a payer's phone does: follow the continue page's
//! refresh to the wallet, submit the forms, pick the language from its own preferences and lay the
//! page out on a 360-px-wide screen. The few WebDriver commands needed are spoken here over
//! `reqwest`, so the test needs no client library and nothing that downloads a browser.
//!
//! Without chromium and chromedriver the tests say "skipped: no chromium" and pass, unless
//! FINEPAY_REQUIRE_BROWSER=1 (CI) makes that a failure. FINEPAY_SCREENSHOTS=<dir> saves the
//! screenshots the README shows.

use crate::helpers::{CHANNELS, TestApp, error_of, motor_fine, spawn_app};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The phone screen the pages must fit, in CSS pixels.
const PHONE_WIDTH: i64 = 360;
/// How long any one condition may take to come true.
const DEADLINE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);

#[actix_web::test]
async fn the_pay_page_follows_the_browsers_language_and_its_switch_and_fits_a_phone() {
    let Some(tools) = Tools::find() else { return };
    let app = spawn_app().await;
    let fine = app.issue_ok(&app.officer("110105"), "browser-lang", &motor_fine(&app)).await;
    let page_url = app.public_path(fine["pay_url"].as_str().expect("pay_url"));

    for (preference, lang, other) in [("zh-CN,zh", ZH, EN), ("en-US,en", EN, ZH)] {
        let browser = Browser::start(&tools, preference).await;
        browser.goto(&page_url).await;
        browser.wait(lang.selector).await;
        assert_eq!(browser.text("header h1").await, lang.title, "Accept-Language {preference}");
        assert_eq!(browser.text("#state").await, lang.pending);
        browser.assert_fits_phone(&["#decision-no"]).await;
        browser.screenshot(lang.screenshot).await;

        // The switch in the header shows the page in the other language.
        let switch = browser.wait("#lang-switch").await;
        browser.click(&switch).await;
        browser.wait(other.selector).await;
        assert_eq!(browser.text("header h1").await, other.title, "switched from {preference}");
        assert_eq!(browser.text("#state").await, other.pending);
        browser.assert_fits_phone(&["#decision-no"]).await;
        browser.quit().await;
    }
}

#[actix_web::test]
async fn a_payer_pays_through_each_channel_in_the_browser_and_the_code_dies() {
    let Some(tools) = Tools::find() else { return };
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let browser = Browser::start(&tools, "zh-CN,zh").await;
    // WeChat's Native code is no web page (weixin://): a phone pays WeChat by JSAPI or H5.
    for (n, channel) in CHANNELS.into_iter().filter(|channel| *channel != "wechat").enumerate() {
        let fine = app.issue_ok(&officer, &format!("browser-pay-{channel}"), &motor_fine(&app)).await;
        // Screenshots of the first channel's pages are enough for the README.
        pay_in_the_browser(&app, &officer, &browser, &fine, channel, n == 0).await;
    }
    browser.quit().await;
}

/// Opens the QR's URL, pays through `channel`'s wallet page, and follows the receipt; then checks
/// the fine is paid and its code dead, in the browser and over the API.
async fn pay_in_the_browser(
    app: &TestApp,
    officer: &str,
    browser: &Browser,
    fine: &Value,
    channel: &str,
    screenshots: bool,
) {
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    let page_url = app.public_path(pay_url);
    let amount = yuan(fine["amount_fen"].as_i64().expect("amount_fen"));

    browser.goto(&page_url).await;
    let button = browser.wait(&format!("#pay-{channel}")).await;
    browser.click(&button).await;
    // The continue page refreshes to the channel's pay link: the simulator's wallet page.
    let wallet = format!("{}/sim/{channel}/pay?pr=", app.simulator_address);
    let pay = browser.wait("#pay").await;
    assert!(browser.url().await.starts_with(&wallet), "{channel}: on the wallet page");
    assert!(
        browser.text("body").await.contains(&amount.replace('¥', "CNY ")),
        "{channel}: the wallet shows the amount"
    );
    browser.assert_fits_phone(&[]).await;
    if screenshots {
        browser.screenshot("wallet").await;
    }
    browser.click(&pay).await;
    browser.wait("#paid").await;

    // Back on the QR's page: the receipt instead of the buttons.
    browser.goto(&page_url).await;
    browser.wait("#receipt").await;
    assert!(browser.text("#receipt").await.contains(&amount), "{channel}: the receipt on the page shows the amount");
    let link = browser.wait("#receipt-link").await;
    let receipt_no = browser.element_text(&link).await;
    browser.click(&link).await;
    browser.wait("#receipt-no").await;
    assert_eq!(browser.url().await, format!("{}/r/{receipt_no}", app.address));
    assert_eq!(browser.text("#receipt-no").await, receipt_no);
    assert_eq!(browser.text(".amount").await, amount, "{channel}: the receipt's amount");
    browser.assert_fits_phone(&["#receipt-no", "#decision-no"]).await;
    if screenshots {
        browser.screenshot("receipt").await;
    }

    // The officer's API says paid, through this channel.
    let no = fine["decision_no"].as_str().expect("decision_no");
    let stored: Value = app.get(officer, &format!("/api/v1/fines/{no}")).await.json().await.expect("JSON");
    assert_eq!((stored["status"].as_str(), stored["paid_channel"].as_str()), (Some("paid"), Some(channel)));

    // Scanned again, the code is dead: it says paid, offers no channel, and refuses a new order.
    browser.goto(&page_url).await;
    browser.wait("#receipt").await;
    assert_eq!(browser.text("#state").await, "已缴款", "{channel}: the page says paid");
    assert!(browser.find_all("#pay-wechat, #pay-alipay, #pay-unionpay, form.channels").await.is_empty());
    browser.assert_fits_phone(&["#receipt-link", "#decision-no"]).await;
    if screenshots {
        browser.screenshot("dead-code").await;
    }
    assert_eq!(error_of(app.open_order(pay_url, channel).await).await, (409, "already_paid".into()));
}

fn yuan(fen: i64) -> String {
    format!("¥{}.{:02}", fen / 100, fen % 100)
}

/// What tells the two languages apart on the pay page.
struct Words {
    selector: &'static str,
    title: &'static str,
    pending: &'static str,
    screenshot: &'static str,
}

const ZH: Words = Words {
    selector: "html[lang='zh-CN']",
    title: "交通违法罚款缴纳",
    pending: "待缴款：二维码有效",
    screenshot: "pay-page-zh",
};

const EN: Words = Words {
    selector: "html[lang='en']",
    title: "Traffic fine payment",
    pending: "Awaiting payment: this code is valid",
    screenshot: "pay-page-en",
};

/// Where chromium and chromedriver are, if they are there.
struct Tools {
    chromium: String,
    chromedriver: String,
}

impl Tools {
    /// `None` (and a note) when either is missing; a failure instead under FINEPAY_REQUIRE_BROWSER=1.
    fn find() -> Option<Tools> {
        let path =
            |var: &str, default: &str| std::env::var(var).ok().filter(|p| !p.is_empty()).unwrap_or(default.into());
        let tools = Tools {
            chromium: path("FINEPAY_CHROMIUM", "/usr/bin/chromium"),
            chromedriver: path("FINEPAY_CHROMEDRIVER", "/usr/bin/chromedriver"),
        };
        let missing: Vec<&str> = [&tools.chromium, &tools.chromedriver]
            .into_iter()
            .filter(|p| !std::path::Path::new(p).is_file())
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return Some(tools);
        }
        assert!(
            std::env::var("FINEPAY_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "FINEPAY_REQUIRE_BROWSER=1 but {} missing: install Debian's chromium and chromium-driver \
             (or set FINEPAY_CHROMIUM / FINEPAY_CHROMEDRIVER)",
            missing.join(" and ")
        );
        println!("skipped: no chromium ({} missing)", missing.join(" and "));
        None
    }
}

/// One chromedriver process and one Chromium session in it. Dropping it ends both, so a failing
/// test leaves no browser behind.
struct Browser {
    driver: Child,
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>/session/<id>`
    session: String,
}

/// How many lines the text of the element `arguments[0]` selects takes.
const LINES: &str = "const text = document.createRange(); \
                     text.selectNodeContents(document.querySelector(arguments[0])); \
                     return new Set(Array.from(text.getClientRects(), r => Math.round(r.top))).size;";

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium as a 360 × 800 phone screen whose
    /// language preference (its Accept-Language) is `languages`.
    async fn start(tools: &Tools, languages: &str) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let driver = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", tools.chromedriver));
        let base = format!("http://127.0.0.1:{port}");
        let mut browser = Browser { driver, http: reqwest::Client::new(), session: String::new() };
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Ok(Some(status)) = browser.driver.try_wait() {
                panic!("chromedriver exited at start: {status}");
            }
            let ready = browser.http.get(format!("{base}/status")).send().await;
            if let Ok(response) = ready
                && let Ok(body) = response.json::<Value>().await
                && body["value"]["ready"] == true
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not get ready in {DEADLINE:?}");
            tokio::time::sleep(POLL).await;
        }
        // Chromium keeps a desktop window at least 500 px wide whatever --window-size says; the
        // emulated phone screen is what makes the page lay out at 360 px (and honour its viewport).
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": tools.chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         format!("--window-size={PHONE_WIDTH},800")],
                "mobileEmulation": {"deviceMetrics": {"width": PHONE_WIDTH, "height": 800, "pixelRatio": 1}},
                "prefs": {"intl.accept_languages": languages},
            },
        }}});
        let created = browser.call(reqwest::Method::POST, &format!("{base}/session"), Some(capabilities)).await;
        let id = created.expect("a Chromium session")["sessionId"].as_str().expect("sessionId").to_owned();
        browser.session = format!("{base}/session/{id}");
        browser
    }

    /// One WebDriver command; its `value`, or the driver's error and message.
    async fn call(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
        let ok = response.status().is_success();
        let mut answer: Value = response.json().await.map_err(|e| format!("{url}: {e}"))?;
        let value = answer["value"].take();
        if ok { Ok(value) } else { Err(format!("{}: {}", value["error"], value["message"])) }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.session);
        self.call(method, &url, body).await.unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
    }

    async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    async fn url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// The references of every element matching `css` now (possibly none).
    async fn find_all(&self, css: &str) -> Vec<String> {
        let query = json!({"using": "css selector", "value": css});
        let found = self.command(reqwest::Method::POST, "/elements", Some(query)).await;
        found.as_array().into_iter().flatten().filter_map(|e| e[ELEMENT].as_str().map(str::to_owned)).collect()
    }

    /// Polls until an element matches `css` (the page may still be loading or redirecting).
    async fn wait(&self, css: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(element) = self.find_all(css).await.into_iter().next() {
                return element;
            }
            if Instant::now() >= deadline {
                let title = self.command(reqwest::Method::GET, "/title", None).await;
                panic!("no {css} within {DEADLINE:?}; at {} ({title})", self.url().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn click(&self, element: &str) {
        self.command(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    async fn element_text(&self, element: &str) -> String {
        let text = self.command(reqwest::Method::GET, &format!("/element/{element}/text"), None).await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// The rendered text of the first element matching `css`.
    async fn text(&self, css: &str) -> String {
        let element = self.wait(css).await;
        self.element_text(&element).await
    }

    async fn script(&self, script: &str, args: Value) -> Value {
        self.command(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": args}))).await
    }

    /// The page is laid out for the phone's width, nothing sticks out sideways, and each of the
    /// `numbers` (CSS selectors of numbers a payer may read out or copy down) is on one line.
    async fn assert_fits_phone(&self, numbers: &[&str]) {
        let sizes = self.script("return [window.innerWidth, document.documentElement.scrollWidth]", json!([])).await;
        let (viewport, content) = (sizes[0].as_i64().unwrap_or(0), sizes[1].as_i64().unwrap_or(i64::MAX));
        let url = self.url().await;
        assert!(viewport <= PHONE_WIDTH, "the window is {viewport} px wide, not a phone's {PHONE_WIDTH}");
        assert!(content <= PHONE_WIDTH, "{url} scrolls sideways: {content} px wide");
        for css in numbers {
            self.wait(css).await;
            let lines = self.script(LINES, json!([css])).await;
            assert_eq!(lines, 1, "{css} on {url} is broken over lines: {:?}", self.text(css).await);
        }
    }

    /// Saves the screen as `<name>.png` under FINEPAY_SCREENSHOTS, when that is set.
    async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("FINEPAY_SCREENSHOTS").filter(|d| !d.is_empty()) else { return };
        let png = self.command(reqwest::Method::GET, "/screenshot", None).await;
        let png = data_encoding::BASE64.decode(png.as_str().unwrap_or_default().as_bytes()).expect("base64 PNG");
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("the screenshot is written");
    }

    /// Ends the session (Chromium exits) and chromedriver.
    async fn quit(mut self) {
        let session = std::mem::take(&mut self.session);
        if !session.is_empty() {
            self.call(reqwest::Method::DELETE, &session, None).await.expect("the session ends");
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that failed midway still closes its Chromium. Drop cannot await, and the test's
        // runtime is the one blocked here, so the request goes from a thread with its own.
        let session = std::mem::take(&mut self.session);
        if !session.is_empty() {
            let closed = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                runtime.block_on(async {
                    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().ok()?;
                    client.delete(&session).send().await.ok()
                })
            });
            let _ = closed.join();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
