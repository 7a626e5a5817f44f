//! A headless Chromium driven over WebDriver for the browser tests: Debian's chromium and
//! chromedriver, the few WebDriver (and DevTools) commands the tests need spoken over `reqwest`,
//! so nothing needs a client library or downloads a browser.

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The phone screen the pages must fit, in CSS pixels.
pub const PHONE_WIDTH: i64 = 360;
/// How long any one condition may take to come true.
pub const DEADLINE: Duration = Duration::from_secs(15);
pub const POLL: Duration = Duration::from_millis(100);

/// Where chromium and chromedriver are, if they are there.
pub struct Tools {
    chromium: String,
    chromedriver: String,
}

impl Tools {
    /// `None` (and a note) when either is missing; a failure instead under FINEPAY_REQUIRE_BROWSER=1.
    pub fn find() -> Option<Tools> {
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
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>/session/<id>`
    session: String,
}

/// How many lines the text of the element `arguments[0]` selects takes.
const LINES: &str = "const text = document.createRange(); \
                     text.selectNodeContents(document.querySelector(arguments[0])); \
                     return new Set(Array.from(text.getClientRects(), r => Math.round(r.top))).size;";

/// The elements (at most 8) whose content is wider than their box, as `tag#id.class content/box`.
const OVERFLOWING: &str = "return Array.from(document.querySelectorAll('body *')) \
                           .filter(e => e.scrollWidth > e.clientWidth + 1) \
                           .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + e.scrollWidth + '/' + e.clientWidth) \
                           .slice(0, 8);";

/// A screen `width` CSS px wide (a phone's below 1000), with `user_agent` if given.
fn mobile_emulation(user_agent: Option<&str>, width: i64) -> Value {
    let mut emulation = json!({"deviceMetrics": {"width": width, "height": 800, "pixelRatio": 1}});
    if width >= 1000 {
        emulation["deviceMetrics"]["mobile"] = json!(false);
        emulation["deviceMetrics"]["touch"] = json!(false);
    }
    if let Some(user_agent) = user_agent {
        emulation["userAgent"] = json!(user_agent);
    }
    emulation
}

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium as a 360 × 800 phone screen whose
    /// language preference (its Accept-Language) is `languages`, saying it is `user_agent` (else
    /// headless Chromium's own, a desktop's).
    pub async fn start(tools: &Tools, languages: &str, user_agent: Option<&str>) -> Browser {
        Browser::start_at(tools, languages, user_agent, PHONE_WIDTH).await
    }

    /// As [`Browser::start`], on a screen `width` CSS px wide (1280: a desktop's).
    pub async fn start_at(tools: &Tools, languages: &str, user_agent: Option<&str>, width: i64) -> Browser {
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
                         format!("--window-size={width},800")],
                "mobileEmulation": mobile_emulation(user_agent, width),
                "prefs": {"intl.accept_languages": languages},
            },
        }}});
        let created = browser.call(reqwest::Method::POST, &format!("{base}/session"), Some(capabilities)).await;
        let id = created.expect("a Chromium session")["sessionId"].as_str().expect("sessionId").to_owned();
        browser.session = format!("{base}/session/{id}");
        browser
    }

    /// A DevTools command to the page (chromedriver's `goog/cdp/execute`).
    pub async fn cdp(&self, cmd: &str, params: Value) {
        self.command(reqwest::Method::POST, "/goog/cdp/execute", Some(json!({"cmd": cmd, "params": params}))).await;
    }

    /// One WebDriver command; its `value`, or the driver's error and message.
    pub async fn call(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> Result<Value, String> {
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

    pub async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.session);
        self.call(method, &url, body).await.unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
    }

    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub async fn url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// The references of every element matching `css` now (possibly none).
    pub async fn find_all(&self, css: &str) -> Vec<String> {
        let query = json!({"using": "css selector", "value": css});
        let found = self.command(reqwest::Method::POST, "/elements", Some(query)).await;
        found.as_array().into_iter().flatten().filter_map(|e| e[ELEMENT].as_str().map(str::to_owned)).collect()
    }

    /// Polls until an element matches `css` (the page may still be loading or redirecting).
    pub async fn wait(&self, css: &str) -> String {
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

    pub async fn click(&self, element: &str) {
        self.command(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    pub async fn element_text(&self, element: &str) -> String {
        let text = self.command(reqwest::Method::GET, &format!("/element/{element}/text"), None).await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// The rendered text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait(css).await;
        self.element_text(&element).await
    }

    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.command(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": args}))).await
    }

    /// A script that ends by calling its last argument with the value to return.
    pub async fn script_async(&self, script: &str, args: Value) -> Value {
        self.command(reqwest::Method::POST, "/execute/async", Some(json!({"script": script, "args": args}))).await
    }

    /// Types `text` into the first element matching `css`, after what it holds.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.wait(css).await;
        self.command(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({"text": text}))).await;
    }

    /// Clears the first element matching `css`.
    pub async fn clear(&self, css: &str) {
        let element = self.wait(css).await;
        self.command(reqwest::Method::POST, &format!("/element/{element}/clear"), Some(json!({}))).await;
    }

    /// Clicks the first element matching `css`, once there; again if the page drew it anew
    /// between finding and clicking it (a list refreshed from the server).
    pub async fn click_on(&self, css: &str) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let element = self.wait(css).await;
            let url = format!("{}/element/{element}/click", self.session);
            match self.call(reqwest::Method::POST, &url, Some(json!({}))).await {
                Ok(_) => return,
                Err(e) if e.contains("stale element") && Instant::now() < deadline => tokio::time::sleep(POLL).await,
                Err(e) => panic!("clicking {css}: {e}"),
            }
        }
    }

    /// Polls until `script` returns something other than null, false or an empty string or list.
    pub async fn wait_for(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let value = self.script(script, json!([])).await;
            let empty = value.is_null() || value == false || value == "" || value.as_array().is_some_and(Vec::is_empty);
            if !empty {
                return value;
            }
            assert!(Instant::now() < deadline, "{what}: not within {DEADLINE:?} on {}", self.url().await);
            tokio::time::sleep(POLL).await;
        }
    }

    /// The page is laid out for the phone's width, nothing sticks out sideways, and each of the
    /// `numbers` (CSS selectors of numbers a payer may read out or copy down) is on one line.
    pub async fn assert_fits_phone(&self, numbers: &[&str]) {
        let sizes = self.script("return [window.innerWidth, document.documentElement.scrollWidth]", json!([])).await;
        let (viewport, content) = (sizes[0].as_i64().unwrap_or(0), sizes[1].as_i64().unwrap_or(i64::MAX));
        let url = self.url().await;
        // What sticks out, named in the failure: elements whose content is wider than their box.
        let wide = self.script(OVERFLOWING, json!([])).await;
        assert!(viewport <= PHONE_WIDTH, "the window is {viewport} px wide, not a phone's {PHONE_WIDTH}: {wide}");
        assert!(content <= PHONE_WIDTH, "{url} scrolls sideways: {content} px wide: {wide}");
        for css in numbers {
            self.wait(css).await;
            let lines = self.script(LINES, json!([css])).await;
            assert_eq!(lines, 1, "{css} on {url} is broken over lines: {:?}", self.text(css).await);
        }
    }

    /// The page printed to PDF on A4 paper (WebDriver's Print Page), as the browser's print would.
    pub async fn print_a4(&self) -> Vec<u8> {
        let page = json!({"page": {"width": 21.0, "height": 29.7}, "background": true});
        let pdf = self.command(reqwest::Method::POST, "/print", Some(page)).await;
        data_encoding::BASE64.decode(pdf.as_str().unwrap_or_default().as_bytes()).expect("base64 PDF")
    }

    /// Saves the screen as `<name>.png` under FINEPAY_SCREENSHOTS, when that is set.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("FINEPAY_SCREENSHOTS").filter(|d| !d.is_empty()) else { return };
        let png = self.command(reqwest::Method::GET, "/screenshot", None).await;
        let png = data_encoding::BASE64.decode(png.as_str().unwrap_or_default().as_bytes()).expect("base64 PNG");
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("the screenshot is written");
    }

    /// Ends the session (Chromium exits) and chromedriver.
    pub async fn quit(mut self) {
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
