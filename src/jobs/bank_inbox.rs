//! `bank_inbox`: imports the end-of-day statements banks drop into `bank.inbox`, one folder per
//! bank code (`<inbox>/<bank>/<file>`). Each file ends in `done/` or `failed/` exactly once, with
//! its report: it is first claimed — moved to `importing/` under a name of bounded length — and
//! only a claimed file is imported, so a file that cannot be moved is never imported again and
//! again. A file still being written — its name starts with a dot or ends in `.part` — is left for
//! the next run. A file left in `importing/` by a run that was killed is imported again first
//! (the lines recorded before change nothing), and the killed run's statement is marked
//! `interrupted`. An import touches its file after every batch, and a file in `importing/` touched
//! within the last two minutes is another run's, still going (a run on another instance that
//! took the job's lease while a long import went on), and is left to it. What lies in the inbox
//! and names no bank is reported every run.

use super::lease::Lease;
use super::{JobEnv, JobError, background};
use crate::bank::{ImportReport, ImportStatus, Importer, valid_bank_code};
use serde::Serialize;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Where a claimed file waits while it is imported.
const IMPORTING: &str = "importing";

/// How recently a file in `importing/` must have been touched to be a live import's.
const IN_USE_FOR: std::time::Duration = std::time::Duration::from_secs(120);

/// The longest file name kept whole: a name filed away gains the statement id in front and
/// `.report.json` behind, and must stay within the file system's 255 bytes.
const MAX_NAME_BYTES: usize = 100;

#[derive(Debug, Default, Serialize)]
pub(super) struct InboxReport {
    pub imported: Vec<FileOutcome>,
    /// Files that could not be claimed, read or filed away, with why.
    pub failed: Vec<String>,
    /// What lies in the inbox and names no bank's folder: left alone, and said every run.
    pub skipped: Vec<String>,
    /// Imports found killed midway, now marked `interrupted`.
    pub interrupted: Vec<i64>,
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
    let recovering = env.clone();
    report.interrupted = background::run(move || {
        let marked = crate::bank::recover_interrupted(&recovering.pool, recovering.clock.now())
            .map_err(|e| JobError::Runtime("marking interrupted imports", crate::errors::Why::of(e)))?;
        Ok(marked.into_iter().map(|row| row.id).collect())
    })
    .await?;
    let waiting = waiting_files(&inbox);
    for name in &waiting.skipped {
        log::warn!("bank inbox: {name} is not a bank's folder (a folder per bank code is expected); left alone");
    }
    report.skipped = waiting.skipped;
    for (bank, file) in waiting.files {
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

/// What a run finds in the inbox.
#[derive(Debug, Default)]
struct Waiting {
    /// (bank, file): each bank's files left in `importing/` first, then its new files, in order.
    files: Vec<(String, PathBuf)>,
    skipped: Vec<String>,
}

fn waiting_files(inbox: &Path) -> Waiting {
    let mut waiting = Waiting::default();
    let Ok(banks) = std::fs::read_dir(inbox) else { return waiting };
    let mut banks: Vec<_> = banks.flatten().collect();
    banks.sort_by_key(|entry| entry.file_name());
    for bank in banks {
        let name = bank.file_name().to_string_lossy().into_owned();
        if !valid_bank_code(&name) || !bank.path().is_dir() {
            waiting.skipped.push(name);
            continue;
        }
        for folder in [bank.path().join(IMPORTING), bank.path()] {
            let mut files = finished_files(&folder);
            files.retain(|file| !in_use(file));
            files.sort();
            waiting.files.extend(files.into_iter().map(|file| (name.clone(), file)));
        }
    }
    waiting
}

/// The files in `folder` that are written to the end (not hidden, not `.part`).
fn finished_files(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else { return Vec::new() };
    entries
        .flatten()
        .filter(|entry| {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let in_progress = file_name.starts_with('.') || file_name.ends_with(".part");
            let reserved = [IMPORTING, "done", "failed"].contains(&file_name.as_str());
            !in_progress && !reserved && entry.path().is_file()
        })
        .map(|entry| entry.path())
        .collect()
}

/// Whether `file` is claimed and an import touched it within [`IN_USE_FOR`].
fn in_use(file: &Path) -> bool {
    let claimed = file.parent().and_then(Path::file_name).is_some_and(|folder| folder == IMPORTING);
    let touched = std::fs::metadata(file).and_then(|m| m.modified()).ok();
    claimed && touched.and_then(|at| at.elapsed().ok()).is_some_and(|age| age < IN_USE_FOR)
}

/// Says that the import of the claimed file is alive (see [`in_use`]).
fn touch(file: &std::fs::File) {
    let _ = file.set_modified(std::time::SystemTime::now());
}

/// `name` whole when it is short enough, else its start and its end (where the extension is)
/// around a `~`, each cut at a character boundary.
fn bounded_name(name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_owned();
    }
    let mut head = MAX_NAME_BYTES * 2 / 3;
    while !name.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = name.len() - (MAX_NAME_BYTES - head - 1);
    while !name.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}~{}", &name[..head], &name[tail..])
}

/// Moves a new file to `importing/` beside it (a file already there stays where it is); the path
/// to import from. A file that cannot be moved is not imported.
fn claim(path: &Path) -> Result<PathBuf, String> {
    let folder = path.parent().unwrap_or(Path::new("."));
    if folder.file_name().is_some_and(|name| name == IMPORTING) {
        return Ok(path.to_owned());
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let importing = folder.join(IMPORTING);
    std::fs::create_dir_all(&importing).map_err(|e| format!("making {IMPORTING}/: {e}"))?;
    let claimed = importing.join(bounded_name(&name));
    if claimed.exists() {
        return Err(format!("{} is already waiting in {IMPORTING}/; not imported", claimed.display()));
    }
    std::fs::rename(path, &claimed).map_err(|e| format!("moving it to {IMPORTING}/ (not imported): {e}"))?;
    Ok(claimed)
}

fn import_one(env: &JobEnv, bank: &str, found: &Path) -> Result<FileOutcome, String> {
    let name = found.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let path = &claim(found)?;
    let file = std::fs::File::open(path).map_err(|e| format!("opening: {e}"))?;
    let alive = file.try_clone().map_err(|e| format!("opening: {e}"))?;
    touch(&alive);
    let actor = format!("system:bank_inbox:{bank}");
    let importer = Importer::new(&env.pool, &env.bank, &actor, env.clock.now());
    let report = importer
        .import(bank, &name, None, BufReader::with_capacity(crate::bank::READ_BUFFER, file), &mut |_| touch(&alive))
        .map_err(|e| crate::errors::chain(&e))?;
    let moved_to = file_away(path, &bounded_name(&name), &report).map_err(|e| format!("moving it away: {e}"))?;
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

/// Moves the claimed file to `done/` or `failed/` in its bank's folder, named by its statement id
/// (so two files of one name never collide), with its report as `<that name>.report.json`.
fn file_away(path: &Path, name: &str, report: &ImportReport) -> std::io::Result<PathBuf> {
    let folder = if report.status == ImportStatus::Complete { "done" } else { "failed" };
    let importing = path.parent().unwrap_or(Path::new("."));
    let target_dir = importing.parent().unwrap_or(Path::new(".")).join(folder);
    std::fs::create_dir_all(&target_dir)?;
    let target = target_dir.join(format!("{}-{name}", report.statement_id));
    let report_text = serde_json::to_vec_pretty(report).unwrap_or_default();
    std::fs::write(target_dir.join(format!("{}-{name}.report.json", report.statement_id)), report_text)?;
    std::fs::rename(path, &target)?;
    // Tidy: `importing/` goes when it is empty (it stays while another file waits in it).
    let _ = std::fs::remove_dir(importing);
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::bounded_name;

    #[test]
    fn a_long_file_name_keeps_its_start_and_extension_within_the_bound() {
        assert_eq!(bounded_name("day1.csv"), "day1.csv");
        let long = format!("{}.camt053.xml", "对账单".repeat(80));
        let bounded = bounded_name(&long);
        assert!(bounded.len() <= super::MAX_NAME_BYTES, "{} bytes", bounded.len());
        assert!(bounded.starts_with("对账单") && bounded.ends_with(".camt053.xml"), "{bounded}");
        let exact = "a".repeat(super::MAX_NAME_BYTES);
        assert_eq!(bounded_name(&exact), exact);
        let over = "b".repeat(super::MAX_NAME_BYTES + 1);
        assert_eq!(bounded_name(&over).len(), super::MAX_NAME_BYTES);
    }
}
