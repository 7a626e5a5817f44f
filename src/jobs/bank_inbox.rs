//! `bank_inbox`: imports the end-of-day statements banks drop into `bank.inbox`, one folder per
//! bank code (`<inbox>/<bank>/<file>`). Each file is imported once and moved with its report to
//! `done/` (or `failed/` when it was refused or broke off); a file still being written — its name
//! starts with a dot or ends in `.part` — is left for the next run.

use super::lease::Lease;
use super::{JobEnv, JobError, background};
use crate::bank::{ImportReport, ImportStatus, Importer, valid_bank_code};
use serde::Serialize;
use std::io::BufReader;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Serialize)]
pub(super) struct InboxReport {
    pub imported: Vec<FileOutcome>,
    /// Files that could not be opened or moved (they stay where they are).
    pub failed: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct FileOutcome {
    pub bank: String,
    pub file: String,
    pub statement_id: i64,
    pub status: ImportStatus,
    pub lines_read: u64,
    pub settled: u64,
    pub exceptions: u64,
    pub moved_to: String,
}

pub(super) async fn run(env: &JobEnv, lease: &Lease) -> Result<InboxReport, JobError> {
    let Some(inbox) = env.bank.inbox.clone() else { return Ok(InboxReport::default()) };
    let mut report = InboxReport::default();
    for (bank, file) in waiting_files(&inbox) {
        lease.renew_if_due().await?;
        let env_for_file = env.clone();
        let path = file.clone();
        let bank_for_file = bank.clone();
        let done = background::run(move || Ok(import_one(&env_for_file, &bank_for_file, &path))).await?;
        match done {
            Ok(outcome) => report.imported.push(outcome),
            Err(why) => {
                log::warn!("bank inbox: {}: {why}", file.display());
                report.failed.push(format!("{}: {why}", file.display()));
            }
        }
    }
    Ok(report)
}

/// The statements waiting, bank by bank, file names in order.
fn waiting_files(inbox: &Path) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    let Ok(banks) = std::fs::read_dir(inbox) else { return files };
    for bank in banks.flatten() {
        let name = bank.file_name().to_string_lossy().into_owned();
        if !valid_bank_code(&name) || !bank.path().is_dir() {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(bank.path()) else { continue };
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let in_progress = file_name.starts_with('.') || file_name.ends_with(".part");
            if !in_progress && entry.path().is_file() {
                files.push((name.clone(), entry.path()));
            }
        }
    }
    files.sort();
    files
}

fn import_one(env: &JobEnv, bank: &str, path: &Path) -> Result<FileOutcome, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("opening: {e}"))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let actor = format!("system:bank_inbox:{bank}");
    let importer = Importer::new(&env.pool, &env.bank, &actor, env.clock.now());
    let report = importer
        .import(bank, &name, None, BufReader::with_capacity(crate::bank::READ_BUFFER, file), &mut |_| {})
        .map_err(|e| crate::errors::chain(&e))?;
    let moved_to = file_away(path, &name, &report).map_err(|e| format!("moving it away: {e}"))?;
    let exceptions = crate::bank::Outcome::ALL.iter().filter(|o| o.is_exception()).map(|o| report.count(*o)).sum();
    Ok(FileOutcome {
        bank: bank.to_owned(),
        file: name,
        statement_id: report.statement_id,
        status: report.status,
        lines_read: report.lines_read,
        settled: report.count(crate::bank::Outcome::Settled),
        exceptions,
        moved_to: moved_to.display().to_string(),
    })
}

/// Moves the file to `done/` or `failed/` beside it, named by its statement id (so two files of
/// one name never collide), with its report as `<that name>.report.json`.
fn file_away(path: &Path, name: &str, report: &ImportReport) -> std::io::Result<PathBuf> {
    let folder = if report.status == ImportStatus::Complete { "done" } else { "failed" };
    let target_dir = path.parent().unwrap_or(Path::new(".")).join(folder);
    std::fs::create_dir_all(&target_dir)?;
    let target = target_dir.join(format!("{}-{name}", report.statement_id));
    let report_text = serde_json::to_vec_pretty(report).unwrap_or_default();
    std::fs::write(target_dir.join(format!("{}-{name}.report.json", report.statement_id)), report_text)?;
    std::fs::rename(path, &target)?;
    Ok(target)
}
