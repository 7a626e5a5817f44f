//! The `bank_inbox` job: statements dropped in `<inbox>/<bank code>/` are imported once each and
//! filed away with their reports; files still being written, hidden files and folders that name
//! no bank are left alone.

use crate::bank::{CSV_HEADER, bank_payment_rows, csv_line};
use crate::bank_statements::{assert_paid_at_bank, assert_unpaid, bank_fines, binary_garbage, recorded};
use crate::helpers::spawn_app_with;
use finepay::jobs::Job;
use serde_json::{Value, json};

/// The file names in `dir`, sorted.
fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("a folder")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn sha256_hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

#[tokio::test]
async fn the_bank_inbox_job_imports_each_finished_file_once_and_files_it_away_with_its_report() {
    let inbox = tempfile::tempdir().expect("temp dir");
    let app = spawn_app_with(&[("bank.inbox", inbox.path().to_str().expect("UTF-8 path"))]).await;
    let numbers = bank_fines(&app, 6).await;
    let [a, b, partial, hidden, foreign, stray] = <[String; 6]>::try_from(numbers).expect("six");
    let now = app.now().to_rfc3339();
    let statement =
        |entry_ref: &str, no: &str| format!("{CSV_HEADER}{}", csv_line(entry_ref, &now, 20_000, "C,BOOK,", "", no));

    let icbc = inbox.path().join("ICBC");
    std::fs::create_dir_all(&icbc).expect("ICBC folder");
    let day1 = format!("{}{}", statement("D1-1", &a), csv_line("D1-2", &now, 20_000, "C,BOOK,", "", &b));
    let junk = binary_garbage(10_000);
    let files: [(std::path::PathBuf, Vec<u8>); 6] = [
        (icbc.join("day1.csv"), day1.clone().into_bytes()),
        (icbc.join("junk.csv"), junk.clone()),
        // Still being written (by convention) and hidden: left alone.
        (icbc.join("day2.csv.part"), statement("D2-1", &partial).into_bytes()),
        (icbc.join(".hidden"), statement("H-1", &hidden).into_bytes()),
        // A folder that is no bank code, and a file outside any bank's folder: ignored.
        (inbox.path().join("NOT-A-BANK").join("day1.csv"), statement("F-1", &foreign).into_bytes()),
        (inbox.path().join("stray.csv"), statement("S-1", &stray).into_bytes()),
    ];
    for (path, content) in &files {
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("folder");
        std::fs::write(path, content).expect("written");
    }

    let report = app.run_job(Job::BankInbox).await;
    assert_eq!(report["failed"], json!([]), "{report}");
    assert_eq!(report["skipped"], json!(["NOT-A-BANK", "stray.csv"]), "{report}");
    let imported = report["imported"].as_array().expect("imported");
    assert_eq!(imported.len(), 2, "{report}");
    let (good, bad) = (&imported[0], &imported[1]);
    let good_id = good["statement_id"].as_i64().expect("id");
    let bad_id = bad["statement_id"].as_i64().expect("id");
    let done_name = format!("{good_id}-day1.csv");
    let failed_name = format!("{bad_id}-junk.csv");
    assert_eq!(
        (good["bank"].clone(), good["file"].clone(), good["status"].clone()),
        (json!("ICBC"), json!("day1.csv"), json!("complete"))
    );
    assert_eq!(
        (good["lines_read"].clone(), good["settled"].clone(), good["exceptions"].clone()),
        (json!(2), json!(2), json!(0))
    );
    assert_eq!(good["moved_to"], icbc.join("done").join(&done_name).display().to_string());
    assert_eq!(
        (bad["file"].clone(), bad["status"].clone(), bad["lines_read"].clone()),
        (json!("junk.csv"), json!("refused"), json!(0))
    );
    assert_eq!(bad["moved_to"], icbc.join("failed").join(&failed_name).display().to_string());

    // Filed away, content intact, each with its report beside it.
    assert_eq!(listing(&icbc), [".hidden", "day2.csv.part", "done", "failed"]);
    assert_eq!(listing(&icbc.join("done")), [done_name.clone(), format!("{done_name}.report.json")]);
    assert_eq!(listing(&icbc.join("failed")), [failed_name.clone(), format!("{failed_name}.report.json")]);
    assert_eq!(std::fs::read(icbc.join("done").join(&done_name)).expect("moved"), day1.as_bytes());
    assert_eq!(std::fs::read(icbc.join("failed").join(&failed_name)).expect("moved"), junk);
    let read_report = |path: std::path::PathBuf| -> Value {
        serde_json::from_slice(&std::fs::read(path).expect("a report")).expect("JSON report")
    };
    let done_report = read_report(icbc.join("done").join(format!("{done_name}.report.json")));
    assert_eq!(
        (done_report["statement_id"].clone(), done_report["bank_code"].clone(), done_report["file_name"].clone()),
        (json!(good_id), json!("ICBC"), json!("day1.csv"))
    );
    assert_eq!(
        (done_report["status"].clone(), done_report["outcomes"]["settled"].clone()),
        (json!("complete"), json!(2))
    );
    assert_eq!(done_report["sha256"], sha256_hex(day1.as_bytes()));
    assert_eq!(done_report["bytes"], day1.len());
    let failed_report = read_report(icbc.join("failed").join(format!("{failed_name}.report.json")));
    assert_eq!(failed_report["status"], "refused");
    assert!(failed_report["error"].as_str().expect("why").contains("not a statement"), "{failed_report}");
    for (path, content) in &files[2..] {
        assert_eq!(&std::fs::read(path).expect("still there"), content, "{} untouched", path.display());
    }

    assert_paid_at_bank(&app, &[a, b]);
    assert_unpaid(&app, &[partial.clone(), hidden, foreign, stray], "not imported");
    let references: Vec<String> = recorded(&app).into_iter().map(|(reference, _, _)| reference).collect();
    assert_eq!(references, ["D1-1", "D1-2"]);

    // Nothing new: the job does nothing.
    let again = app.run_job(Job::BankInbox).await;
    assert_eq!(
        again,
        json!({"imported": [], "failed": [], "skipped": ["NOT-A-BANK", "stray.csv"], "interrupted": []}),
        "what names no bank is said every run"
    );
    assert_eq!(listing(&icbc), [".hidden", "day2.csv.part", "done", "failed"]);
    assert_eq!(listing(&icbc.join("done")).len(), 2);
    assert_eq!(bank_payment_rows(&app), 2);

    // The upload finishes (renamed into place): the next run takes it.
    std::fs::rename(icbc.join("day2.csv.part"), icbc.join("day2.csv")).expect("renamed");
    let later = app.run_job(Job::BankInbox).await;
    assert_eq!(later["imported"][0]["file"], "day2.csv", "{later}");
    assert_eq!(later["imported"][0]["settled"], 1);
    assert_paid_at_bank(&app, &[partial]);
    assert_eq!(listing(&icbc), [".hidden", "done", "failed"]);
}

/// Rows of `bank_statements`: (id, status), by id.
fn statements(app: &crate::helpers::TestApp) -> Vec<(i64, String)> {
    use diesel::prelude::*;
    use finepay::db::schema::bank_statements;
    let mut conn = app.ctx.pool.get().expect("connection");
    bank_statements::table
        .order(bank_statements::id)
        .select((bank_statements::id, bank_statements::status))
        .load(&mut *conn)
        .expect("statements")
}

#[tokio::test]
async fn a_file_ends_in_done_or_failed_exactly_once_whatever_its_name() {
    let inbox = tempfile::tempdir().expect("temp dir");
    let app = spawn_app_with(&[("bank.inbox", inbox.path().to_str().expect("UTF-8 path"))]).await;
    let [long_named, blocked] = <[String; 2]>::try_from(bank_fines(&app, 2).await).expect("two");
    let now = app.now().to_rfc3339();
    let icbc = inbox.path().join("ICBC");
    std::fs::create_dir_all(&icbc).expect("ICBC folder");
    // 240 characters: with the statement id and `.report.json` it would pass 255 bytes.
    let long_name = format!("{}.csv", "d".repeat(236));
    let content = format!("{CSV_HEADER}{}", csv_line("L-1", &now, 20_000, "C,BOOK,", "", &long_named));
    std::fs::write(icbc.join(&long_name), &content).expect("written");

    let report = app.run_job(Job::BankInbox).await;
    assert_eq!(report["failed"], json!([]), "{report}");
    assert_eq!(report["imported"][0]["status"], "complete", "{report}");
    assert_eq!(report["imported"][0]["file"], long_name.as_str());
    assert_paid_at_bank(&app, std::slice::from_ref(&long_named));
    let filed = listing(&icbc.join("done"));
    assert_eq!(filed.len(), 2, "{filed:?}");
    assert!(filed.iter().all(|name| name.len() < 255 && name.ends_with(".csv") || name.ends_with(".report.json")));
    assert_eq!(listing(&icbc), ["done"], "nothing left behind");
    let again = app.run_job(Job::BankInbox).await;
    assert_eq!(again["imported"], json!([]), "imported once: {again}");
    assert_eq!(statements(&app).len(), 1);

    // A bank folder where nothing can be moved (here `importing` is taken by a file): the
    // statement is not imported, on this run or any other, and each run says why.
    let ccb = inbox.path().join("CCB");
    std::fs::create_dir_all(&ccb).expect("CCB folder");
    std::fs::write(ccb.join("importing"), b"in the way").expect("written");
    let stuck = format!("{CSV_HEADER}{}", csv_line("B-1", &now, 20_000, "C,BOOK,", "", &blocked));
    std::fs::write(ccb.join("day.csv"), &stuck).expect("written");
    for _ in 0..2 {
        let run = app.run_job(Job::BankInbox).await;
        assert_eq!(run["imported"], json!([]), "{run}");
        let failed = run["failed"].as_array().expect("failed");
        assert!(failed.len() == 1 && failed[0].as_str().is_some_and(|f| f.contains("importing")), "{run}");
    }
    assert_eq!(statements(&app).len(), 1, "never imported");
    assert_unpaid(&app, std::slice::from_ref(&blocked), "not imported");
    assert_eq!(std::fs::read(ccb.join("day.csv")).expect("still there"), stuck.as_bytes());
}

#[tokio::test]
async fn an_import_killed_midway_is_marked_interrupted_and_its_file_imported_again() {
    let inbox = tempfile::tempdir().expect("temp dir");
    let app = spawn_app_with(&[("bank.inbox", inbox.path().to_str().expect("UTF-8 path"))]).await;
    let [first, second] = <[String; 2]>::try_from(bank_fines(&app, 2).await).expect("two");
    let now = app.now().to_rfc3339();
    // What a run killed after its first batch leaves: the file in `importing/`, its first line
    // recorded, and its statement `importing`.
    let icbc = inbox.path().join("ICBC");
    std::fs::create_dir_all(icbc.join("importing")).expect("importing folder");
    let first_line = csv_line("K-1", &now, 20_000, "C,BOOK,", "", &first);
    let left_first = icbc.join("importing").join("day.csv");
    std::fs::write(&left_first, format!("{CSV_HEADER}{first_line}")).expect("written");
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(300);
    std::fs::File::options().write(true).open(&left_first).expect("opened").set_modified(long_ago).expect("aged");
    let killed = app.run_job(Job::BankInbox).await;
    assert_eq!(killed["imported"][0]["settled"], 1, "{killed}");
    {
        use diesel::prelude::*;
        use finepay::db::schema::bank_statements;
        let mut conn = app.ctx.pool.get().expect("connection");
        diesel::update(bank_statements::table)
            .set(bank_statements::status.eq("importing"))
            .execute(&mut *conn)
            .expect("as if killed");
    }
    let whole = format!("{CSV_HEADER}{first_line}{}", csv_line("K-2", &now, 20_000, "C,BOOK,", "", &second));
    std::fs::create_dir_all(icbc.join("importing")).expect("importing folder");
    let left = icbc.join("importing").join("day.csv");
    std::fs::write(&left, &whole).expect("left behind");

    // A claimed file touched a moment ago is a live import's (another instance's run): left to it.
    let busy = app.run_job(Job::BankInbox).await;
    assert_eq!((busy["imported"].clone(), busy["failed"].clone()), (json!([]), json!([])), "{busy}");
    // Untouched for five minutes, it was left by a run that died: taken up. Its statement,
    // touched a moment ago, may still be running: not marked yet.
    let aged = std::time::SystemTime::now() - std::time::Duration::from_secs(300);
    std::fs::File::options().write(true).open(&left).expect("opened").set_modified(aged).expect("aged");
    let soon = app.run_job(Job::BankInbox).await;
    assert_eq!(soon["interrupted"], json!([]), "{soon}");
    assert_eq!(soon["imported"][0]["file"], "day.csv", "picked up again: {soon}");
    assert_eq!(
        (soon["imported"][0]["settled"].clone(), soon["imported"][0]["status"].clone()),
        (json!(1), json!("complete"))
    );
    assert_paid_at_bank(&app, &[first, second]);
    assert_eq!(listing(&icbc), ["done"]);
    let rows = statements(&app);
    assert_eq!(rows[0].1, "importing");
    // Ten minutes on without a sign of life, it is marked.
    app.clock.advance(chrono::Duration::minutes(11));
    let later = app.run_job(Job::BankInbox).await;
    assert_eq!(later["interrupted"], json!([rows[0].0]), "{later}");
    assert_eq!(statements(&app).iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(), ["interrupted", "complete"]);
}
