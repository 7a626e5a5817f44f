//! finepay as separate processes: `finepay serve` instances (two on PostgreSQL, one on SQLite)
//! sharing one database and one `finepay channel-sim`, with every job scheduled each second and
//! three-second QR windows, under a load of issuing and paying. One instance is killed with
//! SIGKILL mid-run and started again. Afterwards: every fine acknowledged exists once, every
//! payment the payers made is recorded once and applied at most once per fine, every fine whose
//! window ended unpaid was handed to the banks exactly once, and no job step happened twice.

use crate::helpers::TestDb;
use diesel::prelude::*;
use finepay::db::schema::{audit_log, channel_orders, fines, idempotency_keys, payments};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A `finepay` process this test started; killed (SIGKILL) when dropped.
struct Process {
    child: Child,
    port: u16,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `finepay args…` from the crate root with only the FINEPAY__ variables given here.
fn command(args: &[&str], env: &[(String, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_finepay"));
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args(args).env_remove("FINEPAY_CONFIG");
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| n.starts_with("FINEPAY__")) {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().map(|(k, v)| (k, v))).env("RUST_LOG", "info,actix_web=warn");
    command
}

/// Starts a process and waits for the line (on stdout or stderr) that names its port; the rest
/// of its output is drained so it never blocks on a full pipe.
fn start(mut command: Command, marker: &'static str) -> Process {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("finepay starts");
    let (found, port) = mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ] {
        let found = found.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if let Some(rest) = line.split(marker).nth(1) {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = found.send(digits.parse::<u16>().ok());
                }
                if line.contains("ERROR") || line.contains("panicked") || line.starts_with("Error") {
                    eprintln!("[finepay] {line}");
                }
            }
        });
    }
    drop(found); // a process that exits before naming its port ends the wait at once
    let port = port.recv_timeout(Duration::from_secs(30)).ok().flatten().expect("the process names its port");
    Process { child, port }
}

fn settings(db: &TestDb, sim_port: u16) -> Vec<(String, String)> {
    let sim = format!("http://127.0.0.1:{sim_port}");
    [
        ("DATABASE__URL", db.url().to_owned()),
        ("DATABASE__POOL_SIZE", "6".into()),
        ("SERVER__LISTEN", "127.0.0.1:0".into()),
        ("SERVER__WORKERS", "2".into()),
        ("SIMULATOR__ENABLED", "false".into()),
        ("CHANNELS__NOTIFY_BASE_URL", "loopback".into()),
        ("CHANNELS__WECHAT__BASE_URL", sim.clone()),
        ("CHANNELS__WECHAT__OAUTH_AUTHORIZE_URL", format!("{sim}/connect/oauth2/authorize")),
        ("CHANNELS__WECHAT__OAUTH_TOKEN_URL", format!("{sim}/sns/oauth2/access_token")),
        ("CHANNELS__ALIPAY__GATEWAY_URL", format!("{sim}/gateway.do")),
        ("CHANNELS__UNIONPAY__BASE_URL", sim.clone()),
        ("CHANNELS__UNIONPAY__FILE_TRANSFER_URL", format!("{sim}/gateway/api/fileTransRequest.do")),
        ("CHANNELS__REFUND_RETRY", "1s".into()),
        ("QR__VALIDITY", "3s".into()),
        ("JOBS__EXPIRE", "* * * * * *".into()),
        ("JOBS__REFUNDS", "* * * * * *".into()),
        ("JOBS__PRUNE", "* * * * * *".into()),
        ("JOBS__RECONCILE", String::new()),
        ("SCHEDULER__LEASE", "2s".into()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("FINEPAY__{k}"), v))
    .collect()
}

fn serve(env: &[(String, String)]) -> Process {
    start(command(&["serve"], env), "finepay listening on port ")
}

/// What the load saw acknowledged.
#[derive(Default)]
struct Acknowledged {
    /// Idempotency key → decision number, for every issue answered 201/200.
    fines: HashMap<String, String>,
    /// The orders the simulated payers paid.
    paid_orders: HashSet<String>,
}

/// One issue (retried with the same key on the other instance until answered), then, for most
/// fines, an order opened from the pay page and paid at the simulator.
async fn issue_and_pay(
    http: &reqwest::Client,
    ports: &[u16],
    sim_port: u16,
    officer: &str,
    n: usize,
    seen: &mut Acknowledged,
) {
    let key = format!("load-{n}");
    let body = json!({
        "violation_code": "1625",
        "subject": {"kind": "motor_vehicle", "plate": "京A12345", "plate_type": "02"},
        "location": "朝阳区建国路与东三环交叉口",
        "occurred_at": (chrono::Utc::now() - chrono::Duration::minutes(2)).to_rfc3339(),
        "delivery": "print"
    });
    let mut fine = None;
    for attempt in 0..20 {
        let port = ports[(n + attempt) % ports.len()];
        let sent = http
            .post(format!("http://127.0.0.1:{port}/api/v1/fines"))
            .bearer_auth(officer)
            .header("Idempotency-Key", &key)
            .json(&body)
            .send()
            .await;
        if let Ok(answer) = sent
            && answer.status().is_success()
            && let Ok(value) = answer.json::<Value>().await
        {
            fine = Some(value);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fine = fine.expect("some instance answers the issue");
    let no = fine["decision_no"].as_str().expect("no").to_owned();
    seen.fines.insert(key, no);
    if n % 4 == 3 {
        return; // never scanned
    }
    let channel = ["wechat", "alipay", "unionpay"][n % 3];
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    let path = &pay_url[pay_url.find("/P/").expect("QR path")..];
    let port = ports[n % ports.len()];
    // Half pay on the phone that scanned (H5, wap.pay, mobile web), half scan a second screen.
    let client = if n.is_multiple_of(2) { "mobile" } else { "desktop" };
    let Ok(opened) = http
        .post(format!("http://127.0.0.1:{port}{path}/pay"))
        .json(&json!({"channel": channel, "client": client}))
        .send()
        .await
    else {
        return; // that instance just died: the payer walks away
    };
    let Ok(opened) = opened.json::<Value>().await else { return };
    let answer = match opened["flow"].as_str() {
        Some("qr") => json!({"pay_url": opened["qr_content"]}),
        Some("redirect") => json!({"pay_url": opened["url"]}),
        Some("form") => json!({"form": {"action": opened["action"], "fields": opened["fields"]}}),
        // A refusal: the window closed meanwhile, or the instance answered an error.
        _ => {
            assert!(opened["error"]["code"].is_string(), "an answer that is neither a flow nor an error: {opened}");
            return;
        }
    };
    if n % 4 == 2 {
        return; // opened, never paid: the expire job closes it
    }
    let paid = http
        .post(format!("http://127.0.0.1:{sim_port}/sim/pay"))
        .json(&answer)
        .send()
        .await
        .expect("the simulator answers");
    if paid.status().is_success() {
        let paid: Value = paid.json().await.expect("JSON");
        seen.paid_orders.insert(paid["out_trade_no"].as_str().expect("order").to_owned());
    }
}

#[actix_web::test]
async fn instances_killed_mid_run_lose_nothing_and_do_nothing_twice() {
    let db = TestDb::new();
    let is_postgres = db.url().starts_with("postgres");
    let simulator = start(
        command(&["channel-sim"], &[("FINEPAY__SIMULATOR__LISTEN".into(), "127.0.0.1:0".into())]),
        "channel simulator on http://127.0.0.1:",
    );
    let env = settings(&db, simulator.port);
    let migrate = command(&["migrate"], &env).output().expect("migrate runs");
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let officer = command(
        &["credentials", "add", "--role", "officer", "--officer", "7", "--device", "d1", "--district", "110105"],
        &env,
    )
    .output()
    .expect("credentials add");
    let officer = String::from_utf8(officer.stdout).expect("token").trim().to_owned();

    let mut instances = vec![serve(&env)];
    if is_postgres {
        instances.push(serve(&env));
    }
    let http = finepay::channels::http_client(Duration::from_secs(10)).expect("client");
    let mut seen = Acknowledged::default();
    let started = Instant::now();
    let mut killed = false;
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(9) {
        if !killed && started.elapsed() > Duration::from_secs(3) {
            // SIGKILL: no graceful stop, whatever was in flight is cut off.
            let victim = instances.remove(0);
            drop(victim);
            killed = true;
            tokio::time::sleep(Duration::from_millis(500)).await;
            instances.push(serve(&env));
        }
        let ports: Vec<u16> = instances.iter().map(|p| p.port).collect();
        issue_and_pay(&http, &ports, simulator.port, &officer, n, &mut seen).await;
        n += 1;
    }
    assert!(seen.fines.len() > 20 && !seen.paid_orders.is_empty(), "the load ran: {} fines", seen.fines.len());

    // Let the windows end and the jobs catch up (a dead instance's lease runs out first).
    let mut conn =
        finepay::db::DbPool::connect(db.url(), 2, Duration::from_secs(5)).expect("pool").get().expect("conn");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 =
            fines::table.filter(fines::status.eq("awaiting_payment")).count().get_result(&mut *conn).expect("count");
        let open: i64 = channel_orders::table
            .filter(channel_orders::status.eq("open"))
            .count()
            .get_result(&mut *conn)
            .expect("count");
        let recorded: Vec<String> = payments::table.select(payments::out_trade_no).load(&mut *conn).expect("payments");
        let recorded: HashSet<String> = recorded.into_iter().collect();
        if waiting == 0 && open == 0 && seen.paid_orders.is_subset(&recorded) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "settled in time: {waiting} fines awaiting, {open} orders open, {} payments unrecorded",
            seen.paid_orders.difference(&recorded).count()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Every fine acknowledged exists, once: one fine per idempotency key, none without one.
    let stored: Vec<String> = fines::table.select(fines::decision_no).load(&mut *conn).expect("fines");
    let stored: HashSet<String> = stored.into_iter().collect();
    for no in seen.fines.values() {
        assert!(stored.contains(no), "acknowledged fine {no} exists");
    }
    let keys: i64 = idempotency_keys::table.count().get_result(&mut *conn).expect("keys");
    assert_eq!(keys as usize, stored.len(), "each fine has exactly one issuing request behind it");

    // Every payment made is recorded once (the primary key is the channel's transaction id: one
    // row per order paid), and no fine is paid twice.
    let paid: Vec<(String, String, String)> = payments::table
        .select((payments::out_trade_no, payments::decision_no, payments::outcome))
        .load(&mut *conn)
        .expect("payments");
    let mut per_order: HashMap<&str, usize> = HashMap::new();
    let mut applied_per_fine: HashMap<&str, usize> = HashMap::new();
    for (order, fine, outcome) in &paid {
        *per_order.entry(order).or_default() += 1;
        if outcome == "applied" {
            *applied_per_fine.entry(fine).or_default() += 1;
        }
    }
    assert!(per_order.values().all(|n| *n == 1), "one payment per order paid: {per_order:?}");
    assert!(applied_per_fine.values().all(|n| *n == 1), "no fine paid twice: {applied_per_fine:?}");
    assert_eq!(per_order.len(), seen.paid_orders.len(), "every payment made, and only those, is recorded");

    // Every window-ended fine left unpaid went to the banks exactly once; no step twice.
    let entries: Vec<(Option<String>, String)> =
        audit_log::table.select((audit_log::decision_no, audit_log::action)).load(&mut *conn).expect("audit");
    let mut steps: HashMap<(String, String), usize> = HashMap::new();
    for (no, action) in entries {
        if let Some(no) = no {
            *steps.entry((no, action)).or_default() += 1;
        }
    }
    let twice: Vec<_> = steps.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "no step recorded twice: {twice:?}");
    let statuses: Vec<(String, String)> =
        fines::table.select((fines::decision_no, fines::status)).load(&mut *conn).expect("statuses");
    for (no, status) in &statuses {
        let handed = steps.get(&(no.clone(), "fine.payable_at_bank".into())).copied().unwrap_or(0);
        match status.as_str() {
            "payable_at_bank" => assert_eq!(handed, 1, "{no} handed over once"),
            "paid" => assert!(handed <= 1, "{no}"),
            other => panic!("{no} is {other} after the run"),
        }
        let applied = applied_per_fine.get(no.as_str()).copied().unwrap_or(0);
        assert_eq!(status == "paid", applied == 1, "{no}: paid exactly when a payment applied to it");
    }
    drop(instances);
}

/// One client of the crash test: issues fines in the bank-only district and posts a bank payment
/// for each, until the server stops answering; what was acknowledged goes to `seen`.
async fn issue_and_settle_until_cut(
    http: reqwest::Client,
    port: u16,
    officer: String,
    bank: String,
    client: usize,
    round: usize,
    seen: std::sync::Arc<std::sync::Mutex<(Vec<String>, Vec<String>)>>,
) {
    let body = json!({
        "violation_code": "1625",
        "subject": {"kind": "motor_vehicle", "plate": "京A12345", "plate_type": "02"},
        "location": "建国路",
        "occurred_at": chrono::Utc::now().to_rfc3339(),
    });
    for n in 0.. {
        let key = format!("crash-{round}-{client}-{n}");
        let Ok(issued) = http
            .post(format!("http://127.0.0.1:{port}/api/v1/fines"))
            .bearer_auth(&officer)
            .header("Idempotency-Key", &key)
            .json(&body)
            .send()
            .await
        else {
            return;
        };
        if issued.status() != 201 {
            return;
        }
        let Ok(fine) = issued.json::<Value>().await else { return };
        let no = fine["decision_no"].as_str().expect("decision_no").to_owned();
        seen.lock().expect("lock").0.push(no.clone());
        let serial = format!("S-{round}-{client}-{n}");
        let payment = json!({"bank_serial": serial, "decision_no": no, "amount_fen": 20000,
                             "paid_at": chrono::Utc::now().to_rfc3339(), "method": "counter"});
        let Ok(posted) = http
            .post(format!("http://127.0.0.1:{port}/bank/v1/payments"))
            .bearer_auth(&bank)
            .json(&payment)
            .send()
            .await
        else {
            return;
        };
        if posted.status() == 201 {
            seen.lock().expect("lock").1.push(serial);
        } else {
            return;
        }
    }
}

/// SIGKILL lands, again and again, while group commits are in flight: 16 clients issue fines and
/// post bank payments, and the process is killed at a random moment, eight times. Every fine and
/// bank payment that was acknowledged is in the database afterwards. (This proves that nothing
/// acknowledged waits in memory; that it also survives a power loss is what SQLite's
/// `synchronous = FULL` adds, which a test cannot cut the power to show.)
#[actix_web::test]
async fn killed_in_the_middle_of_batch_commits_again_and_again_every_acknowledged_write_is_there() {
    use finepay::db::schema::bank_payments;
    let db = TestDb::new();
    let mut env = settings(&db, 9); // no channel is called: nothing here opens an order
    env.retain(|(k, _)| !k.starts_with("FINEPAY__JOBS__"));
    env.extend(
        ["EXPIRE", "REFUNDS", "PRUNE", "RECONCILE", "BANK_INBOX"]
            .map(|job| (format!("FINEPAY__JOBS__{job}"), String::new())),
    );
    let migrate = command(&["migrate"], &env).output().expect("migrate runs");
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let token = |args: &[&str]| {
        let out = command(args, &env).output().expect("credentials add");
        String::from_utf8(out.stdout).expect("token").trim().to_owned()
    };
    let officer =
        token(&["credentials", "add", "--role", "officer", "--officer", "7", "--device", "d1", "--district", "110109"]);
    let bank = token(&["credentials", "add", "--role", "bank", "--bank", "ICBC"]);
    // The channels' client: its TLS provider is installed, though no app was built in this process.
    let http = finepay::channels::http_client(Duration::from_secs(10)).expect("client");
    let seen = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), Vec::new())));
    for round in 0..8 {
        let server = serve(&env);
        let clients: Vec<_> = (0..16)
            .map(|client| {
                tokio::spawn(issue_and_settle_until_cut(
                    http.clone(),
                    server.port,
                    officer.clone(),
                    bank.clone(),
                    client,
                    round,
                    seen.clone(),
                ))
            })
            .collect();
        let cut_after = 150 + (round as u64 * 97) % 400;
        tokio::time::sleep(Duration::from_millis(cut_after)).await;
        drop(server); // SIGKILL
        for client in clients {
            let _ = client.await;
        }
    }
    let (fines_seen, payments_seen) = seen.lock().expect("lock").clone();
    assert!(fines_seen.len() > 50 && payments_seen.len() > 20, "the load ran: {} fines", fines_seen.len());

    let pool = finepay::db::DbPool::connect(db.url(), 2, Duration::from_secs(5)).expect("pool");
    let mut conn = pool.get().expect("conn");
    let stored: HashSet<String> =
        fines::table.select(fines::decision_no).load::<String>(&mut *conn).expect("fines").into_iter().collect();
    let lost: Vec<&String> = fines_seen.iter().filter(|no| !stored.contains(*no)).collect();
    assert!(lost.is_empty(), "acknowledged fines missing after the kills: {lost:?}");
    let recorded: HashSet<String> = bank_payments::table
        .select(bank_payments::reference)
        .load::<String>(&mut *conn)
        .expect("bank payments")
        .into_iter()
        .collect();
    let lost: Vec<&String> = payments_seen.iter().filter(|s| !recorded.contains(*s)).collect();
    assert!(lost.is_empty(), "acknowledged bank payments missing after the kills: {lost:?}");
    let paid: i64 = fines::table.filter(fines::status.eq("paid")).count().get_result(&mut *conn).expect("count");
    assert!(paid as usize >= payments_seen.len(), "every acknowledged payment settled its fine");
}
