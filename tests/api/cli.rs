//! The `finepay` binary: migrations and credentials from the command line, with tokens that the
//! server then accepts (and refuses once revoked).

use crate::helpers::{TestDb, error_of, motor_fine, spawn_app_on};
use std::process::{Command, Output};

/// `finepay args…`, to be run from the crate root (where config/ lives) against `db` only.
pub fn finepay_command(db: &TestDb, args: &[&str]) -> Command {
    finepay_command_url(db.url(), args)
}

/// As [`finepay_command`], against the database at `url`.
pub fn finepay_command_url(url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_finepay"));
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args(args).env_remove("FINEPAY_CONFIG");
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| n.starts_with("FINEPAY__")) {
            command.env_remove(name);
        }
    }
    command.env("FINEPAY__DATABASE__URL", url);
    command
}

/// Runs `finepay args…` against `db` to its end.
pub fn finepay(db: &TestDb, args: &[&str]) -> Output {
    finepay_command(db, args).output().expect("finepay runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout")
}

fn assert_success(output: &Output, what: &str) {
    assert!(output.status.success(), "{what} failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// The token printed by `credentials add`, checked to be the only line on stdout.
fn single_token(output: &Output, prefix: &str) -> String {
    assert_success(output, "credentials add");
    let out = stdout(output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stdout: {out:?}");
    let token = lines[0];
    let secret = token.strip_prefix(prefix).unwrap_or_else(|| panic!("{token:?} starts with {prefix}"));
    assert_eq!(secret.len(), 32, "{token}");
    assert!(secret.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)), "{token}");
    token.to_owned()
}

#[actix_web::test]
async fn credentials_from_the_command_line_work_against_the_server() {
    let db = TestDb::new();
    assert_success(&finepay(&db, &["migrate"]), "migrate");

    let officer = single_token(
        &finepay(
            &db,
            &["credentials", "add", "--role", "officer", "--officer", "7", "--device", "d1", "--district", "110105"],
        ),
        "fpo_",
    );
    let refused = finepay(
        &db,
        &["credentials", "add", "--role", "officer", "--officer", "7", "--device", "d1", "--district", "999999"],
    );
    assert!(!refused.status.success(), "an unknown district is refused");
    assert!(refused.stdout.is_empty(), "nothing on stdout: {:?}", stdout(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("999999"), "stderr says why");
    let bank = single_token(&finepay(&db, &["credentials", "add", "--role", "bank", "--bank", "ICBC"]), "fpb_");
    let admin = single_token(&finepay(&db, &["credentials", "add", "--role", "admin", "--name", "ops"]), "fpa_");

    let list = finepay(&db, &["credentials", "list"]);
    assert_success(&list, "credentials list");
    let listing = stdout(&list);
    let rows: Vec<Vec<&str>> = listing.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 3, "three credentials, the refused one was not created: {listing}");
    let mut roles: Vec<&str> = rows.iter().map(|r| r[1]).collect();
    roles.sort_unstable();
    assert_eq!(roles, ["admin", "bank", "officer"], "{listing}");
    assert!(rows.iter().all(|r| r[0].starts_with("cred_")), "{listing}");
    for token in [&officer, &bank, &admin] {
        assert!(!listing.contains(token.as_str()), "list never shows a token");
        assert!(!listing.contains(&token[4..]), "nor any part of one");
    }
    let officer_id = rows.iter().find(|r| r[1] == "officer").expect("officer row")[0].to_owned();

    // A server on the same database accepts the officer token…
    let app = spawn_app_on(db, &[]).await;
    let fine = app.issue_ok(&officer, "cli-1", &motor_fine(&app)).await;
    assert_eq!(&fine["decision_no"].as_str().expect("no")[..6], "110105", "bound to the district given");

    // …until it is revoked, at once.
    let revoke = finepay(&app.db, &["credentials", "revoke", &officer_id]);
    assert_success(&revoke, "credentials revoke");
    let (status, code) = error_of(app.issue(&officer, "cli-2", &motor_fine(&app)).await).await;
    assert_eq!((status, code.as_str()), (401, "unauthorized"));
    assert_eq!(app.counts().fines, 1);

    let again = finepay(&app.db, &["credentials", "revoke", &officer_id]);
    assert!(!again.status.success(), "revoking twice fails");
    let listing = stdout(&finepay(&app.db, &["credentials", "list"]));
    let officer_row = listing.lines().find(|l| l.starts_with(&officer_id)).expect("still listed");
    assert!(officer_row.contains("revoked"), "{officer_row}");
}

/// The modules a terminal QR code in half blocks stands for: each character is two modules, one
/// above the other (`█` both dark, `▀` the upper, `▄` the lower, a space neither).
fn terminal_modules(art: &str) -> Vec<Vec<bool>> {
    let mut rows = Vec::new();
    for line in art.lines().filter(|l| l.contains('\u{1b}')) {
        let cells: String = line.replace("\u{1b}[30;47m", "").replace("\u{1b}[0m", "");
        let (upper, lower): (Vec<bool>, Vec<bool>) =
            cells.chars().map(|c| (matches!(c, '█' | '▀'), matches!(c, '█' | '▄'))).unzip();
        rows.push(upper);
        rows.push(lower);
    }
    rows
}

#[test]
fn an_officer_credential_comes_with_a_qr_code_that_signs_the_handheld_in() {
    let db = TestDb::new();
    let args =
        ["credentials", "add", "--role", "officer", "--officer", "7", "--device", "d1", "--district", "110105", "--qr"];
    let output = finepay(&db, &args);
    let token = single_token(&output, "fpo_");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let modules = terminal_modules(&stderr);
    assert!(modules.len() > 20, "a code on standard error:\n{stderr}");
    // Drawn four pixels a module, as a camera would see the screen.
    let (width, height) = (modules[0].len() * 4, modules.len() * 4);
    let grey: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .map(|(x, y)| if modules[y / 4].get(x / 4).copied().unwrap_or(false) { 0 } else { 255 })
        .collect();
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
    let found: Vec<String> =
        image.detect_grids().iter().filter_map(|g| g.decode().ok().map(|(_, text)| text)).collect();
    assert_eq!(found, [format!("http://127.0.0.1:8080/officer/#token={token}")]);

    let bank = finepay(&db, &["credentials", "add", "--role", "bank", "--bank", "ICBC", "--qr"]);
    assert!(!bank.status.success() && bank.stdout.is_empty(), "--qr is for officers");
}

#[actix_web::test]
async fn channel_sim_serves_the_simulator_alone() {
    use std::io::BufRead;
    let mut command = Command::new(env!("CARGO_BIN_EXE_finepay"));
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args(["channel-sim"]).env_remove("FINEPAY_CONFIG");
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| n.starts_with("FINEPAY__")) {
            command.env_remove(name);
        }
    }
    let child = command
        .env("FINEPAY__SIMULATOR__LISTEN", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("finepay channel-sim starts");
    // Stopped by its own process id however the test ends.
    let mut running = Running(child);
    let mut first = String::new();
    let stdout = running.0.stdout.take().expect("stdout");
    std::io::BufReader::new(stdout).read_line(&mut first).expect("a line");
    let address = first.trim().strip_prefix("channel simulator on ").expect("its address").to_owned();
    let http = finepay::channels::http_client(std::time::Duration::from_secs(5)).expect("client");
    let faults = http.get(format!("{address}/sim/faults")).send().await.expect("answers");
    assert_eq!(faults.status(), 200);
    let body: serde_json::Value = faults.json().await.expect("JSON");
    assert_eq!(body["drop_rate"], 0.0);
}

struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `finepay bench pay` and `bench page` run end to end on a few requests (every answer checked
/// by the bench itself, which fails on a wrong one) and print their tables with a ratio.
#[actix_web::test]
async fn the_pay_and_page_benchmarks_run_and_check_their_answers() {
    let db = TestDb::new();
    let postgres = std::env::var("FINEPAY_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty());
    for which in ["pay", "page"] {
        let mut args = vec!["bench", which, "--requests", "30", "--warmup", "3", "--concurrency", "4"];
        if let Some(url) = &postgres {
            args.extend(["--no-sqlite", "--postgres-url", url]);
        }
        let output = finepay(&db, &args);
        assert_success(&output, which);
        let table = stdout(&output);
        let backend = if postgres.is_some() { "postgres" } else { "sqlite" };
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| {which}: ")))
            .unwrap_or_else(|| panic!("no {which} row in {table}"));
        assert!(row.contains(&format!("| {backend} | 30 | 4 |")), "{row}");
        assert!(row.contains("**"), "the row has its ratio: {row}");
    }
}

#[actix_web::test]
async fn jobs_run_from_the_command_line_and_show_their_last_run() {
    let db = TestDb::new();
    assert_success(&finepay(&db, &["migrate"]), "migrate");
    let ran = finepay(&db, &["jobs", "run", "prune"]);
    assert_success(&ran, "jobs run prune");
    let report: serde_json::Value = serde_json::from_str(stdout(&ran).trim()).expect("JSON on stdout");
    assert_eq!(
        report,
        serde_json::json!({"outcome": "ran", "report": {"idempotency_records_deleted": 0, "oauth_states_deleted": 0, "rate_limits_deleted": 0, "admin_sessions_deleted": 0}})
    );
    let ran = finepay(&db, &["jobs", "run", "expire"]);
    assert_success(&ran, "jobs run expire");
    assert!(stdout(&ran).contains("\"fines_handed_over\":0"), "{}", stdout(&ran));

    let status = finepay(&db, &["jobs", "status"]);
    assert_success(&status, "jobs status");
    let table = stdout(&status);
    assert!(table.starts_with("JOB") && table.lines().next().is_some_and(|h| h.contains("(+08:00)")), "{table}");
    let prune = table.lines().find(|l| l.starts_with("prune")).unwrap_or_else(|| panic!("{table}"));
    assert!(prune.contains("idempotency_records_deleted"), "the last outcome is shown: {prune}");
    assert!(!finepay(&db, &["jobs", "run", "nightly"]).status.success(), "an unknown job is refused");
}
