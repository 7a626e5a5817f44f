//! Test harness: every test gets its own finepay on port 0 with its own database — a temporary
//! SQLite file, or, when FINEPAY_TEST_POSTGRES_URL is set, a fresh PostgreSQL schema dropped when
//! the test ends — and a clock the test moves by hand.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use finepay::app::Application;
use finepay::app::Settings;
use finepay::channels::sim::{Delivery, SimPayment};
use finepay::credentials::{self, Binding};
use finepay::db::schema::{audit_log, fines, idempotency_keys};
use finepay::domain::time::{Clock, ManualClock};
use finepay::http::AppState;
use finepay::jobs::{Job, RunOutcome};
use serde_json::{Value, json};
use std::sync::Arc;

/// A clock that only moves when a test moves it.
/// The database behind one test; dropping it removes everything the test wrote.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        base_url: String,
        schema: String,
        url: String,
    },
    /// Another instance's way into a database a first `TestDb` owns: dropping it removes nothing.
    Shared {
        url: String,
    },
}

impl TestDb {
    pub fn new() -> TestDb {
        match std::env::var("FINEPAY_TEST_POSTGRES_URL") {
            Ok(base_url) if !base_url.is_empty() => {
                let schema = format!("t_{}", random_suffix());
                let mut conn = PgConnection::establish(&base_url).expect("FINEPAY_TEST_POSTGRES_URL connects");
                conn.batch_execute(&format!("CREATE SCHEMA {schema}")).expect("create test schema");
                let separator = if base_url.contains('?') { '&' } else { '?' };
                // application_name tags this test's sessions, so a test can find (and drop) only its own.
                let url = format!("{base_url}{separator}options=-csearch_path%3D{schema}&application_name={schema}");
                TestDb::Postgres { base_url, schema, url }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/finepay.db", dir.path().display());
                TestDb::Sqlite { _dir: dir, url }
            }
        }
    }

    /// The same database, for a second instance (it must not outlive this one).
    pub fn shared(&self) -> TestDb {
        TestDb::Shared { url: self.url().to_owned() }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } | TestDb::Shared { url } => url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { base_url, schema, .. } = self
            && let Ok(mut conn) = PgConnection::establish(base_url)
        {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub ctx: actix_web::web::Data<AppState>,
    pub clock: Arc<ManualClock>,
    pub db: TestDb,
    /// The channel simulator `serve` started (it shares the test's clock), and its address.
    pub simulator: actix_web::web::Data<finepay::channels::sim::Simulator>,
    pub simulator_address: String,
    server: Option<(actix_web::dev::ServerHandle, std::thread::JoinHandle<()>)>,
}

/// Stops the server when the test ends. Its workers hold the application context, and with it
/// the database pool and its open connections: a server left running would keep them for the
/// rest of the test process (and exhaust PostgreSQL's max_connections).
impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((handle, thread)) = self.server.take() {
            // The Stop command is sent at once; the server's own thread carries it out.
            drop(handle.stop(false));
            let _ = thread.join();
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts finepay with the shipped configuration plus `overrides` (dotted key, value).
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_on(TestDb::new(), overrides).await
}

/// As [`spawn_app_with`], with finepay's public address its real one (a free port chosen first),
/// so that the addresses it gives the channels — return URLs, the OAuth `redirect_uri`, the H5
/// page a `Referer` names — lead back to it, as a browser following them needs.
pub async fn spawn_app_public(overrides: &[(&str, &str)]) -> TestApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let (listen, base) = (format!("127.0.0.1:{port}"), format!("http://127.0.0.1:{port}"));
    let mut all = vec![("server.listen", listen.as_str()), ("server.public_base_url", base.as_str())];
    all.extend_from_slice(overrides);
    spawn_app_with(&all).await
}

/// As [`spawn_app_with`], over a database the test prepared itself (the CLI tests do). The server
/// runs in its own actix system on its own thread, so that it can be stopped when the test ends.
pub async fn spawn_app_on(db: TestDb, overrides: &[(&str, &str)]) -> TestApp {
    let mut all = vec![
        ("server.listen", "127.0.0.1:0"),
        ("database.url", db.url()),
        ("database.pool_size", "8"),
        ("simulator.listen", "127.0.0.1:0"),
        ("channels.notify_base_url", "loopback"),
        ("channels.refund_retry", "200ms"),
        // Tests run the jobs they look at themselves (`run_job`), on the test's clock; the
        // refunds job stays on, woken whenever a refund is scheduled.
        ("jobs.expire", ""),
        ("jobs.reconcile", ""),
        ("jobs.prune", ""),
        ("jobs.bank_inbox", ""),
    ];
    all.extend_from_slice(overrides);
    let settings = Settings::load_with_overrides(None, &all).expect("test settings are valid");
    let clock = Arc::new(ManualClock::new(Utc::now().trunc_subsecs(0)));
    let (started, start) = std::sync::mpsc::channel();
    let server_clock = clock.clone();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build_with_clock(settings, server_clock).expect("finepay starts");
            let sim = app.simulator().expect("the test configuration starts the simulator");
            let sim = (sim.port, sim.simulator.clone());
            if started.send((app.port(), app.context(), app.handle(), sim)).is_ok() {
                let _ = app.run_until_stopped().await;
            }
        });
    });
    let (port, ctx, handle, (sim_port, simulator)) = start.recv().expect("finepay starts");
    let address = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let simulator_address = format!("http://127.0.0.1:{sim_port}");
    TestApp { address, http, ctx, clock, db, simulator, simulator_address, server: Some((handle, thread)) }
}

/// Row counts of the tables a refused request must leave untouched.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct RowCounts {
    pub fines: i64,
    pub idempotency: i64,
    pub audit: i64,
}

impl TestApp {
    /// A live officer credential for `district`; returns its bearer token.
    pub fn officer(&self, district: &str) -> String {
        self.credential(&Binding::Officer {
            officer_id: "0042".into(),
            device_id: format!("hh-{district}"),
            district_code: district.into(),
        })
    }

    pub fn credential(&self, binding: &Binding) -> String {
        let mut conn = self.ctx.pool.get().expect("connection");
        credentials::create(&self.ctx.pool, &mut conn, binding, "cli", Utc::now()).expect("credential").1
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn counts(&self) -> RowCounts {
        let mut conn = self.ctx.pool.get().expect("connection");
        let credential_audit = audit_log::table
            .filter(audit_log::action.like("credential.%"))
            .count()
            .get_result::<i64>(&mut *conn)
            .expect("count");
        RowCounts {
            fines: fines::table.count().get_result(&mut *conn).expect("count fines"),
            idempotency: idempotency_keys::table.count().get_result(&mut *conn).expect("count keys"),
            audit: audit_log::table.count().get_result::<i64>(&mut *conn).expect("count audit") - credential_audit,
        }
    }

    pub fn audit_actions(&self, decision_no: &str) -> Vec<String> {
        let mut conn = self.ctx.pool.get().expect("connection");
        finepay::db::audit::for_fine(&mut conn, decision_no).expect("audit").into_iter().map(|r| r.action).collect()
    }

    pub async fn issue(&self, token: &str, key: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/fines", self.address))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Issues `body` and returns the 201 body.
    pub async fn issue_ok(&self, token: &str, key: &str, body: &Value) -> Value {
        let response = self.issue(token, key, body).await;
        assert_eq!(response.status(), 201, "issue refused: {:?}", response.text().await);
        response.json().await.expect("JSON body")
    }

    /// Voids the fine as the officer of `token`, which must succeed.
    pub async fn void_ok(&self, token: &str, decision_no: &str, reason: &str) {
        let voided = self
            .http
            .post(format!("{}/api/v1/fines/{decision_no}/void", self.address))
            .bearer_auth(token)
            .json(&json!({"reason": reason}))
            .send()
            .await
            .expect("sent");
        assert_eq!(voided.status(), 200, "voiding {decision_no}");
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.address)).bearer_auth(token).send().await.expect("request sent")
    }

    /// The public page for a pay URL, asked for as JSON.
    pub async fn page_json(&self, pay_url: &str) -> reqwest::Response {
        self.http
            .get(self.public_path(pay_url))
            .header("Accept", "application/json")
            .send()
            .await
            .expect("request sent")
    }

    /// The pay URL with this test server's address in place of the configured public base URL.
    pub fn public_path(&self, pay_url: &str) -> String {
        let token = pay_url.rsplit('/').next().expect("token");
        format!("{}/P/{token}", self.address)
    }
}

/// The channels, in the order the pay page offers them.
pub const CHANNELS: [&str; 3] = ["wechat", "alipay", "unionpay"];

/// Each channel's reply to a notification that finepay took.
pub fn taken(channel: &str) -> (u16, String) {
    match channel {
        "wechat" => (204, String::new()),
        "alipay" => (200, "success".into()),
        _ => (200, "ok".into()),
    }
}

/// Paying through the simulator, as a payer and as the channel would.
impl TestApp {
    /// `POST /p/{token}/pay` as JSON.
    pub async fn open_order(&self, pay_url: &str, channel: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/pay", self.public_path(pay_url)))
            .json(&json!({"channel": channel}))
            .send()
            .await
            .expect("request sent")
    }

    /// Opens the order and returns the channel's pay link.
    pub async fn channel_pay_link(&self, pay_url: &str, channel: &str) -> String {
        let response = self.open_order(pay_url, channel).await;
        assert_eq!(response.status(), 200, "opening the order: {:?}", response.text().await);
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["channel"], channel);
        body["qr_content"].as_str().expect("qr_content").to_owned()
    }

    /// The payer pays at the simulated channel; returns the notification it would send.
    pub fn sim_pay(&self, channel_pay_link: &str) -> SimPayment {
        self.simulator.pay_link(channel_pay_link).expect("the simulated payer pays")
    }

    /// Delivers a notification to finepay as the channel does; returns (status, body).
    pub async fn deliver(&self, notification: &Delivery) -> (u16, String) {
        let mut request = self.http.post(&notification.url).header("Content-Type", &notification.content_type);
        for (name, value) in &notification.headers {
            request = request.header(name, value);
        }
        let response = request.body(notification.body.clone()).send().await.expect("notification sent");
        (response.status().as_u16(), response.text().await.expect("reply"))
    }

    /// Wakes the refund driver, moving the test clock on by `step` each time, until `done` holds
    /// (at most 100 rounds; the caller asserts what it expected).
    pub async fn drive_refunds_until(&self, step: Duration, done: impl Fn() -> bool) {
        for _ in 0..100 {
            if done() {
                return;
            }
            self.clock.advance(step);
            self.ctx.refund_wake.notify_one();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Runs a scheduled job once, now, as `finepay jobs run` does; its report.
    pub async fn run_job(&self, job: Job) -> Value {
        match finepay::jobs::run_once(&self.ctx.jobs, job).await.expect("the job runs") {
            RunOutcome::Ran { report } => report,
            RunOutcome::Busy => panic!("job {} is held by another runner", job.as_str()),
        }
    }

    /// Sets the simulator's fault knobs (`POST /sim/faults`).
    pub async fn set_sim_faults(&self, faults: Value) {
        let url = format!("{}/sim/faults", self.simulator_address);
        let answer = self.http.post(url).json(&faults).send().await.expect("sent");
        assert_eq!(answer.status(), 200, "the simulator takes {faults}");
    }

    /// Every refund's status, oldest first.
    pub fn refund_statuses(&self) -> Vec<String> {
        use finepay::db::schema::refunds;
        let mut conn = self.ctx.pool.get().expect("connection");
        refunds::table.order(refunds::requested_at).select(refunds::status).load(&mut *conn).expect("refunds")
    }

    /// (payments, refunds) rows.
    pub fn payment_counts(&self) -> (i64, i64) {
        use finepay::db::schema::{payments, refunds};
        let mut conn = self.ctx.pool.get().expect("connection");
        (
            payments::table.count().get_result(&mut *conn).expect("count payments"),
            refunds::table.count().get_result(&mut *conn).expect("count refunds"),
        )
    }
}

/// A valid motor-vehicle fine request, occurring now on the app's clock.
pub fn motor_fine(app: &TestApp) -> Value {
    json!({
        "violation_code": "1625",
        "subject": {"kind": "motor_vehicle", "plate": "京A12345", "plate_type": "02"},
        "location": "朝阳区建国路与东三环交叉口",
        "occurred_at": (app.now() - Duration::minutes(2)).to_rfc3339(),
        "delivery": "print"
    })
}

/// A valid pedestrian fine request.
pub fn pedestrian_fine(app: &TestApp) -> Value {
    json!({
        "violation_code": "3001",
        "subject": {"kind": "pedestrian"},
        "location": "建国门内大街",
        "occurred_at": app.now().to_rfc3339()
    })
}

/// The body of an error response: (code, message).
pub async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("errors are JSON");
    let code = body["error"]["code"].as_str().expect("error.code").to_owned();
    assert!(body["error"]["message"].is_string(), "error.message");
    assert!(body["error"]["details"].is_object(), "error.details");
    (status, code)
}

/// Text from an HTML attribute, its character references undone (the pages escape `/` too).
pub fn unescape_html(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&#x22;", "\"")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// What a reader sees: the HTML without its tags and their attributes, scripts and styles. (The
/// countdown element carries the "expired" wording in an attribute for its script, unseen.)
pub fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let tag = &rest[start..];
        let skip_to = ["<script", "<style"]
            .iter()
            .find(|open| tag.starts_with(*open))
            .and_then(|open| tag.find(&format!("</{}>", &open[1..])))
            .unwrap_or(0);
        rest = tag[skip_to..].find('>').map_or("", |end| &tag[skip_to + end + 1..]);
        text.push(' ');
    }
    text.push_str(rest);
    text
}
