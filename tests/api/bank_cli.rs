//! `finepay bank import FILE` and `finepay bank outstanding` run as an operator runs them, against
//! a test database: the summary table's figures, the exit status, a second import of the same
//! file, files that are no statement, bad arguments, a 200 MB file in constant memory, and the
//! list of fines payable at banks.

use crate::bank::{
    BANK_DISTRICT, Bank, CSV_HEADER, bank_fine, bank_payment_rows, csv_line, exception_list, fine_status, payment,
};
use crate::bank_statements::{Ntry, camt054, rf, today};
use crate::cli::{finepay, finepay_command, stdout};
use crate::helpers::{TestApp, motor_fine, spawn_app};
use diesel::prelude::*;
use finepay::db::schema::bank_statements;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The summary table's rows, key to value (the key is padded, then two spaces, then the value);
/// the lines under it (bad lines, why it stopped) have no such gap and are left out.
fn summary(output: &Output) -> BTreeMap<String, String> {
    stdout(output)
        .lines()
        .filter_map(|line| line.split_once("  "))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

/// Asserts the table's `figures` (key, value), naming the table on failure.
fn assert_figures(output: &Output, figures: &[(&str, &str)]) {
    let table = summary(output);
    for (key, value) in figures {
        assert_eq!(table.get(*key).map(String::as_str), Some(*value), "{key} in\n{}", stdout(output));
    }
}

fn import(app: &TestApp, file: &Path, bank: &str) -> Output {
    finepay(&app.db, &["bank", "import", file.to_str().expect("UTF-8 path"), "--bank", bank])
}

fn statement_rows(app: &TestApp) -> i64 {
    let mut conn = app.ctx.pool.get().expect("connection");
    bank_statements::table.count().get_result(&mut *conn).expect("count")
}

#[actix_web::test]
async fn bank_import_prints_the_summary_and_importing_the_file_again_changes_nothing() {
    let app = spawn_app().await;
    let (a, b) = (bank_fine(&app).await, bank_fine(&app).await);
    let now = app.now().to_rfc3339();
    let mut csv = String::from(CSV_HEADER);
    csv += &csv_line("E1", &now, 20_000, "C,BOOK,", "T1", &rf(&a));
    csv += &csv_line("E2", &now, 20_000, "C,BOOK,", "T2", &format!("罚款 {b}"));
    csv += &csv_line("E3", &now, 5_000, "C,BOOK,", "T3", "no reference");
    csv += &csv_line("E4", &now, 150, "D,BOOK,", "T4", "fee");
    csv += "E5,2026-11-21,200.00,C,BOOK,,T5,x\n";
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("icbc-day.csv");
    std::fs::write(&file, &csv).expect("written");

    let first = import(&app, &file, "ICBC");
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    let bytes = csv.len().to_string();
    assert_figures(
        &first,
        &[
            ("bank", "ICBC"),
            ("format", "csv"),
            ("status", "complete"),
            ("bytes", &bytes),
            ("lines read", "5"),
            ("matched", "2"),
            ("settled", "2"),
            ("unmatched", "1"),
            ("amount mismatch", "0"),
            ("settled (yuan)", "400.00"),
            ("repeated (imported before)", "0"),
            ("debits skipped", "1"),
            ("not booked, skipped", "0"),
            ("bad lines", "1"),
        ],
    );
    assert!(
        stdout(&first).contains("line 6: amount_fen \"200.00\" is not a whole number of fen"),
        "{}",
        stdout(&first)
    );
    assert!(summary(&first)["statement"].ends_with(" icbc-day.csv"));
    assert_eq!(fine_status(&app, &a), ("paid".into(), Some("bank".into())));
    assert_eq!(fine_status(&app, &b), ("paid".into(), Some("bank".into())));
    assert_eq!(bank_payment_rows(&app), 3);
    assert_eq!(exception_list(&app), [("unmatched".to_owned(), "E3".to_owned())]);
    let audit = app.counts().audit;

    // Again: the three recorded lines are repeats; the debit and the bad line are what they were.
    let again = import(&app, &file, "ICBC");
    assert_eq!(again.status.code(), Some(0));
    assert_figures(
        &again,
        &[
            ("status", "complete"),
            ("lines read", "5"),
            ("matched", "2"),
            ("settled", "0"),
            ("unmatched", "0"),
            ("settled (yuan)", "0.00"),
            ("repeated (imported before)", "3"),
            ("debits skipped", "1"),
            ("bad lines", "1"),
        ],
    );
    assert_ne!(summary(&again)["statement"], summary(&first)["statement"], "each import is its own statement");
    assert_eq!(bank_payment_rows(&app), 3);
    assert_eq!(exception_list(&app).len(), 1);
    assert_eq!(app.counts().audit, audit);

    // The same entries under another bank's code are that bank's: none of its lines are repeats.
    let other = import(&app, &file, "BOC");
    assert_figures(&other, &[("repeated (imported before)", "0"), ("duplicate payment", "2"), ("unmatched", "1")]);
}

#[actix_web::test]
async fn bank_import_of_a_file_that_is_no_statement_or_breaks_off_exits_1() {
    let app = spawn_app().await;
    let (first, second) = (bank_fine(&app).await, bank_fine(&app).await);
    let notification = camt054(&[Ntry::credit("N-1", rf(&first)), Ntry::credit("N-2", rf(&second))], &today(&app));
    let truncated = notification[..notification.find("<AcctSvcrRef>N-2").expect("second entry")].to_owned();
    let dir = tempfile::tempdir().expect("temp dir");
    // (file, content, status, the line that says why)
    let cases: [(&str, String, &str, &str); 5] = [
        ("notes.txt", "hello, world\n".into(), "refused", "refused: not a statement"),
        ("empty.csv", String::new(), "refused", "refused: not a statement"),
        (
            "report.xml",
            notification.replace("camt.054.001.08", "camt.052.001.08"),
            "refused",
            "refused: not a statement",
        ),
        ("other.csv", "date,amount,text\n2026-11-21,200.00,fine\n".into(), "refused", "refused: not a statement"),
        ("cut.xml", truncated, "malformed", "stopped: the statement is malformed at byte"),
    ];
    for (name, content, status, why) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, content).expect("written");
        let output = import(&app, &file, "ICBC");
        assert_eq!(output.status.code(), Some(1), "{name}: {}", stdout(&output));
        assert_figures(&output, &[("status", status)]);
        assert!(stdout(&output).contains(why), "{name}: {}", stdout(&output));
    }
    // Only the file that broke off recorded anything: the entry before the break.
    assert_eq!(bank_payment_rows(&app), 1);
    assert_eq!(fine_status(&app, &first).0, "paid");
    assert_eq!(fine_status(&app, &second).0, "payable_at_bank");
}

#[actix_web::test]
async fn bank_import_with_a_bad_bank_code_format_or_path_fails_clearly_and_records_nothing() {
    let app = spawn_app().await;
    let no = bank_fine(&app).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("day.csv");
    let csv = format!("{CSV_HEADER}{}", csv_line("E1", &app.now().to_rfc3339(), 20_000, "C,BOOK,", "", &no));
    std::fs::write(&file, csv).expect("written");
    let path = file.to_str().expect("UTF-8 path");
    let missing = dir.path().join("missing.csv");
    // (what, arguments, exit status, what stderr says)
    let cases: [(&str, Vec<&str>, i32, &str); 7] = [
        ("a dash", vec!["--bank", "IC-BC"], 1, "bank code \"IC-BC\" must be 1 to 16 letters or digits"),
        ("empty", vec!["--bank", ""], 1, "bank code \"\" must be 1 to 16 letters or digits"),
        ("17 letters", vec!["--bank", "ABCDEFGHIJKLMNOPQ"], 1, "must be 1 to 16 letters or digits"),
        ("a path", vec!["--bank", "../ICBC"], 1, "must be 1 to 16 letters or digits"),
        ("not ASCII", vec!["--bank", "工商银行"], 1, "must be 1 to 16 letters or digits"),
        ("no bank", vec![], 2, "--bank"),
        ("an unknown format", vec!["--bank", "ICBC", "--format", "xml"], 2, "invalid value 'xml'"),
    ];
    for (what, extra, code, message) in cases {
        let mut args = vec!["bank", "import", path];
        args.extend(extra);
        let output = finepay(&app.db, &args);
        assert_eq!(output.status.code(), Some(code), "{what}");
        assert!(output.stdout.is_empty(), "{what}: nothing on stdout: {}", stdout(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{what}: {stderr}");
    }
    for (what, target, message) in
        [("a missing file", &missing, "opening"), ("a folder", &dir.path().to_owned(), "is a folder")]
    {
        let output = import(&app, target, "ICBC");
        assert_eq!(output.status.code(), Some(1), "{what}");
        assert!(output.stdout.is_empty(), "{what}: nothing on stdout: {}", stdout(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message) && stderr.contains(target.to_str().expect("UTF-8")), "{what}: {stderr}");
    }

    assert_eq!(statement_rows(&app), 0, "no import was started");
    assert_eq!(fine_status(&app, &no).0, "payable_at_bank");
}

#[actix_web::test]
async fn bank_outstanding_prints_each_fine_payable_at_banks_with_a_valid_rf_reference() {
    let app = spawn_app().await;
    let empty = finepay(&app.db, &["bank", "outstanding"]);
    assert_eq!(empty.status.code(), Some(0));
    assert_eq!(stdout(&empty), CSV_HEADER_OUT, "only the header when nothing is payable");

    let bank = Bank::new(&app, "ICBC");
    let mut payable = vec![bank_fine(&app).await, bank_fine(&app).await, bank_fine(&app).await];
    payable.sort();
    let paid = bank_fine(&app).await;
    assert_eq!(bank.post(&payment("S-1", &paid, 20_000, &app)).await.status(), 201);
    let voided = bank_fine(&app).await;
    let officer = app.officer(BANK_DISTRICT);
    app.void_ok(&officer, &voided, "issued in error").await;
    // Still in its QR window: not (yet) the banks' business.
    let qr_officer = app.officer("110105");
    app.issue_ok(&qr_officer, "qr-1", &motor_fine(&app)).await;

    let output = finepay(&app.db, &["bank", "outstanding"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let text = stdout(&output);
    let mut lines = text.lines();
    assert_eq!(lines.next().map(|l| format!("{l}\n")).as_deref(), Some(CSV_HEADER_OUT));
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    let listed: Vec<&str> = rows.iter().map(|row| row[0]).collect();
    assert_eq!(listed, payable, "one line per payable fine, in decision number order:\n{text}");
    let due = (finepay::domain::time::shanghai_date(app.now()) + chrono::Days::new(15)).to_string();
    for row in rows {
        assert_eq!(row.len(), 8, "{row:?}");
        let reference = finepay::domain::rf_reference::parse_rf(row[1]).expect("a valid RF reference");
        assert_eq!(reference, row[0], "the RF reference names the fine");
        assert_eq!(row[1], rf(row[0]));
        assert_eq!(&row[2..7], [BANK_DISTRICT, "20000", "0", "20000", due.as_str()], "{row:?}");
        chrono::DateTime::parse_from_rfc3339(row[7]).expect("payable_since is RFC 3339");
    }
}

const CSV_HEADER_OUT: &str =
    "decision_no,rf_reference,district_code,fine_fen,surcharge_fen,amount_due_fen,due_date,payable_since\n";

/// Runs `command` to its end, reading its peak resident set size (VmHWM, which only grows) from
/// /proc every 20 ms while it runs; (output, the last peak read, in kB).
fn run_measuring_peak_memory(mut command: Command) -> (Output, u64) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("finepay starts");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        let hwm = std::fs::read_to_string(&status_file).ok().and_then(|text| {
            let line = text.lines().find(|line| line.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        });
        peak_kb = peak_kb.max(hwm.unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let output = Output { status, stdout: out.join().expect("stdout read"), stderr: err.join().expect("stderr read") };
    (output, peak_kb)
}

/// Writes a statement of at least `size` bytes: a line paying `first`, then blocks of lines
/// that touch no fine — a debit (a bank fee) and a bad row (an amount in yuan) in turn — and a
/// last line paying `last`. Returns (lines, debits, bad rows).
fn write_big_statement(path: &Path, now: &str, first: &str, last: &str, size: u64) -> (u64, u64, u64) {
    const BLOCK_LINES: u64 = 10_000;
    let mut block = String::new();
    for i in 0..BLOCK_LINES / 2 {
        block += &format!("FEE{i:07},{now},150,D,BOOK,,,card terminal fee {i:07} for the day's counter takings\n");
        block += &format!("BAD{i:07},{now},200.00,C,BOOK,,,fine paid in yuan by mistake with reference {i:07}\n");
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("created"));
    let head = format!("{CSV_HEADER}{}", csv_line("FIRST", now, 20_000, "C,BOOK,", "", first));
    file.write_all(head.as_bytes()).expect("written");
    let mut written = head.len() as u64;
    let mut blocks = 0;
    while written < size {
        file.write_all(block.as_bytes()).expect("written");
        written += block.len() as u64;
        blocks += 1;
    }
    file.write_all(csv_line("LAST", now, 20_000, "C,BOOK,", "", last).as_bytes()).expect("written");
    file.flush().expect("flushed");
    let half = blocks * BLOCK_LINES / 2;
    (2 + 2 * half, half, half)
}

/// The CLI reads a statement of any size as a stream. Most of this one is lines that touch no
/// fine (debits and bad rows): importing 200 MB of lines that each write a row would take minutes
/// in a debug build, and these still go through the whole parser, the hash and the batching. The
/// report must count every line, settle the first and the last, and list bad rows by line.
#[actix_web::test]
async fn a_200_mb_statement_is_imported_in_constant_memory_with_a_clear_report() {
    let app = spawn_app().await;
    let (first, last) = (bank_fine(&app).await, bank_fine(&app).await);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("icbc-year.csv");
    let (lines, debits, bad) = write_big_statement(&file, &app.now().to_rfc3339(), &first, &last, 200_000_000);
    let size = std::fs::metadata(&file).expect("written").len();
    assert!(size >= 200_000_000, "{size} bytes");

    let started = std::time::Instant::now();
    let path = file.to_str().expect("UTF-8 path");
    let (output, peak_kb) =
        run_measuring_peak_memory(finepay_command(&app.db, &["bank", "import", path, "--bank", "ICBC"]));
    eprintln!("imported {size} bytes, {lines} lines in {:.1?}; peak resident set {peak_kb} kB", started.elapsed());

    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_figures(
        &output,
        &[
            ("status", "complete"),
            ("bytes", &size.to_string()),
            ("lines read", &lines.to_string()),
            ("matched", "2"),
            ("settled", "2"),
            ("unmatched", "0"),
            ("settled (yuan)", "400.00"),
            ("debits skipped", &debits.to_string()),
            ("bad lines", &bad.to_string()),
        ],
    );
    let text = stdout(&output);
    // The first bad row is on line 4 (header, FIRST, a fee): every second line after it.
    assert!(text.contains("line 4: amount_fen \"200.00\" is not a whole number of fen"), "{text}");
    assert!(text.contains("line 202: amount_fen"), "the hundredth is listed: {text}");
    assert!(!text.contains("line 204:"), "the hundred-and-first is not");
    assert!(text.contains(&format!("… and {} more bad lines", bad - 100)), "{text}");
    assert_eq!(fine_status(&app, &first), ("paid".into(), Some("bank".into())));
    assert_eq!(fine_status(&app, &last), ("paid".into(), Some("bank".into())), "the file was read to its end");
    assert_eq!(bank_payment_rows(&app), 2, "nothing recorded for the debits and bad rows");
    assert!(exception_list(&app).is_empty());
    assert!(peak_kb > 0, "the peak was read");
    assert!(peak_kb < 100 * 1024, "peak resident set {peak_kb} kB for a {size}-byte file");
}

#[actix_web::test]
async fn a_refused_file_is_read_no_further_even_when_it_never_ends() {
    let app = spawn_app().await;
    for format in [None, Some("csv"), Some("camt.053")] {
        let mut args = vec!["bank", "import", "/dev/zero", "--bank", "ICBC"];
        if let Some(format) = format {
            args.extend(["--format", format]);
        }
        let mut child =
            finepay_command(&app.db, &args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("runs");
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("waits") {
                break status;
            }
            if started.elapsed() > std::time::Duration::from_secs(30) {
                let _ = child.kill();
                panic!("`bank import /dev/zero` ({format:?}) still reading after 30 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert_eq!(status.code(), Some(1), "{format:?}: refused");
    }
    assert_eq!(bank_payment_rows(&app), 0);
}
