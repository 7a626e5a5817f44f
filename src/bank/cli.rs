//! `finepay bank import FILE` and `finepay bank outstanding`: an operator's way in when a bank
//! hands over a statement file, with a progress bar on a terminal and a summary table at the end.

use super::BankSettings;
use super::import::{ImportReport, ImportStatus, Importer};
use super::outstanding::{CSV_HEADER, OutstandingLine};
use super::settle::Outcome;
use super::statement::Format;
use crate::db::{DbPool, fines};
use crate::domain::surcharge::SurchargeRule;
use crate::domain::time::shanghai_date;
use anyhow::Context;
use std::io::{BufReader, IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// The read buffer over a statement file: large reads, few system calls.
pub const READ_BUFFER: usize = 256 * 1024;

/// Imports the statement at `path` for `bank_code`; prints the summary to stdout.
pub fn import_file(
    pool: &DbPool,
    settings: &BankSettings,
    path: &Path,
    bank_code: &str,
    format: Option<Format>,
) -> anyhow::Result<ImportReport> {
    anyhow::ensure!(super::valid_bank_code(bank_code), "bank code {bank_code:?} must be 1 to 16 letters or digits");
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let metadata = file.metadata().with_context(|| format!("reading {}", path.display()))?;
    // A folder opens on Linux and fails only when read: it would be imported as a refused file.
    anyhow::ensure!(!metadata.is_dir(), "{} is a folder, not a statement file", path.display());
    let size = metadata.len();
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let actor = format!("cli:bank:{bank_code}");
    let importer = Importer::new(pool, settings, &actor, chrono::Utc::now());
    let mut bar = ProgressBar::new(size);
    let report =
        importer.import(bank_code, &name, format, BufReader::with_capacity(READ_BUFFER, file), &mut |report| {
            bar.show(report)
        })?;
    bar.done();
    print!("{}", summary_table(&report));
    Ok(report)
}

/// Draws `[#####-----] 48%  12.0/25.0 MB  230,000 lines` on stderr, at most ten times a second,
/// when stderr is a terminal.
struct ProgressBar {
    total: u64,
    on_terminal: bool,
    last: Option<Instant>,
}

impl ProgressBar {
    fn new(total: u64) -> Self {
        ProgressBar { total, on_terminal: std::io::stderr().is_terminal(), last: None }
    }

    fn show(&mut self, report: &ImportReport) {
        if !self.on_terminal || self.last.is_some_and(|at| at.elapsed() < Duration::from_millis(100)) {
            return;
        }
        self.last = Some(Instant::now());
        let share = if self.total == 0 { 1.0 } else { (report.bytes as f64 / self.total as f64).min(1.0) };
        let filled = (share * 30.0).round() as usize;
        let _ = write!(
            std::io::stderr(),
            "\r[{}{}] {:>3.0}%  {:.1}/{:.1} MB  {} lines",
            "#".repeat(filled),
            "-".repeat(30 - filled),
            share * 100.0,
            report.bytes as f64 / 1e6,
            self.total as f64 / 1e6,
            report.lines_read
        );
    }

    fn done(&self) {
        if self.on_terminal && self.last.is_some() {
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// The report as a two-column table.
pub(super) fn summary_table(report: &ImportReport) -> String {
    let mut rows: Vec<(String, String)> = vec![
        ("statement".into(), format!("#{} {}", report.statement_id, report.file_name)),
        ("bank".into(), report.bank_code.clone()),
        ("format".into(), report.format.unwrap_or("unknown").into()),
        ("status".into(), format!("{:?}", report.status).to_lowercase()),
        ("bytes".into(), report.bytes.to_string()),
        ("lines read".into(), report.lines_read.to_string()),
        ("matched".into(), report.matched.to_string()),
    ];
    for outcome in Outcome::ALL {
        rows.push((outcome.as_str().replace('_', " "), report.count(outcome).to_string()));
    }
    rows.push(("settled (yuan)".into(), crate::domain::Fen(report.settled_fen).yuan_text()));
    rows.push(("repeated (imported before)".into(), report.repeated.to_string()));
    rows.push(("debits skipped".into(), report.skipped_debits.to_string()));
    rows.push(("not booked, skipped".into(), report.skipped_not_booked.to_string()));
    rows.push(("bad lines".into(), report.bad_lines.to_string()));
    let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    let mut text = String::new();
    for (key, value) in rows {
        text.push_str(&format!("{key:<width$}  {value}\n"));
    }
    for error in &report.errors {
        text.push_str(&format!("line {}: {}\n", error.line_no, error.message));
    }
    if report.bad_lines > report.errors.len() as u64 {
        text.push_str(&format!("… and {} more bad lines\n", report.bad_lines - report.errors.len() as u64));
    }
    if let Some(error) = &report.error {
        text.push_str(&format!(
            "{}: {error}\n",
            if report.status == ImportStatus::Refused { "refused" } else { "stopped" }
        ));
    }
    text
}

/// Writes the fines payable at banks as CSV (the same columns as `GET /bank/v1/outstanding`).
pub fn write_outstanding(pool: &DbPool, surcharge: &SurchargeRule, out: &mut dyn Write) -> anyhow::Result<u64> {
    let mut conn = pool.get()?;
    let today = shanghai_date(chrono::Utc::now());
    out.write_all(CSV_HEADER.as_bytes())?;
    let mut after = String::new();
    let mut written = 0;
    loop {
        let page = fines::payable_at_bank(&mut conn, chrono::DateTime::UNIX_EPOCH.naive_utc(), &after, 10_000)?;
        let Some(last) = page.last() else { return Ok(written) };
        after = last.decision_no.clone();
        for line in page.into_iter().filter_map(|row| OutstandingLine::of(surcharge, row, today)) {
            out.write_all(line.csv_row().as_bytes())?;
            written += 1;
        }
    }
}
