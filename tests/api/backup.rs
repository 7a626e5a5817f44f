//! `finepay backup FILE`: SQLite's online backup taken while the daemon serves and issues, then
//! restored — a daemon started on the copy finds every fine acknowledged before the backup began.
//! On PostgreSQL the command says to use pg_dump and copies nothing.

use crate::cli::{finepay, stdout};
use crate::helpers::{TestDb, motor_fine, spawn_app, spawn_app_on};

#[actix_web::test]
async fn a_backup_taken_while_serving_restores_every_acknowledged_fine() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("finepay.bak");
    let file_arg = file.to_str().expect("UTF-8 path").to_owned();
    if matches!(app.db, TestDb::Postgres { .. }) {
        let output = finepay(&app.db, &["backup", &file_arg]);
        assert_eq!(output.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"), "{output:?}");
        assert!(!file.exists(), "nothing copied");
        return;
    }
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let fine = app.issue_ok(&officer, &format!("before-{i}"), &motor_fine(&app)).await;
        acknowledged.push(fine["decision_no"].as_str().expect("decision_no").to_owned());
    }
    // The daemon keeps issuing while the backup runs.
    let busy = {
        let (http, address, officer, body) = (app.http.clone(), app.address.clone(), officer.clone(), motor_fine(&app));
        tokio::spawn(async move {
            let mut issued = 0;
            for i in 0..40 {
                let response = http
                    .post(format!("{address}/api/v1/fines"))
                    .bearer_auth(&officer)
                    .header("Idempotency-Key", format!("during-{i}"))
                    .json(&body)
                    .send()
                    .await
                    .expect("sent");
                issued += usize::from(response.status() == 201);
            }
            issued
        })
    };
    let db_for_backup = app.db.url().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        crate::cli::finepay_command_url(&db_for_backup, &["backup", &file_arg]).output().expect("runs")
    })
    .await
    .expect("backup ran");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout(&output).starts_with("backed up "), "{}", stdout(&output));
    assert_eq!(busy.await.expect("issuing ran"), 40, "the daemon kept serving");
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("listing")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["finepay.bak"], "no half-written copy is left");

    // A second backup to the same file is refused; the first is untouched.
    let again = finepay(&app.db, &["backup", file.to_str().expect("UTF-8")]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // Restored: a daemon on the copy serves every fine acknowledged before the backup.
    let restored_dir = tempfile::tempdir().expect("temp dir");
    let restored_path = restored_dir.path().join("finepay.db");
    std::fs::copy(&file, &restored_path).expect("restored");
    let restored = TestDb::Sqlite { url: format!("sqlite://{}", restored_path.display()), _dir: restored_dir };
    let on_copy = spawn_app_on(restored, &[]).await;
    let officer_on_copy = on_copy.officer("110105");
    for no in &acknowledged {
        let response = on_copy.get(&officer_on_copy, &format!("/api/v1/fines/{no}")).await;
        assert_eq!(response.status(), 200, "{no} is in the backup");
    }
    assert!(on_copy.counts().fines >= acknowledged.len() as i64);
}
