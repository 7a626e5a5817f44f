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
use indicatif::{MultiProgress, ProgressBar, ProgressFinish, ProgressStyle};
use std::io::{BufReader, Write};
use std::path::Path;

/// The read buffer over a statement file: large reads, few system calls.
pub const READ_BUFFER: usize = 256 * 1024;

/// Imports the statement at `path` for `bank_code`; prints the summary to stdout. `bar` (see
/// [`statement_bar`]) moves with the bytes read and ends full when the whole file was imported.
pub fn import_file(
    pool: &DbPool,
    settings: &BankSettings,
    bar: &ProgressBar,
    path: &Path,
    bank_code: &str,
    format: Option<Format>,
) -> anyhow::Result<ImportReport> {
    anyhow::ensure!(super::valid_bank_code(bank_code), "bank code {bank_code:?} must be 1 to 16 letters or digits");
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let metadata = file.metadata().with_context(|| format!("reading {}", path.display()))?;
    // A folder opens on Linux and fails only when read: it would be imported as a refused file.
    anyhow::ensure!(!metadata.is_dir(), "{} is a folder, not a statement file", path.display());
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let actor = format!("cli:bank:{bank_code}");
    let importer = Importer::new(pool, settings, &actor, chrono::Utc::now());
    bar.set_length(metadata.len());
    let input = BufReader::with_capacity(READ_BUFFER, bar.wrap_read(file));
    let report = importer.import(bank_code, &name, format, input, &mut |report| {
        bar.set_message(format!("{} lines", report.lines_read));
    });
    match &report {
        Ok(report) if report.status == ImportStatus::Complete => bar.finish(),
        _ => bar.abandon(),
    }
    let report = report?;
    print!("{}", summary_table(&report));
    Ok(report)
}

/// A bar for a statement's import, `[#####-----]  48%  12.0 MB/25.0 MB  230000 lines`, drawn on
/// standard error when it is a terminal, among `bars` (which log lines are written around).
pub fn statement_bar(bars: &MultiProgress) -> ProgressBar {
    let style = ProgressStyle::with_template("[{bar:30}] {percent:>3}%  {decimal_bytes}/{decimal_total_bytes}  {msg}")
        .map(|style| style.progress_chars("#-"))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    // A bar dropped unfinished (the file could not be opened) is cleared, not drawn full.
    bars.add(ProgressBar::new(0).with_style(style).with_finish(ProgressFinish::AndClear))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The bar follows the bytes the import reads and is full once the file was imported whole.
    #[test]
    fn the_progress_bar_ends_full_with_every_byte_read() {
        let (dir, pool) = crate::db::testing::temp_pool();
        let statement = dir.path().join("statement.csv");
        std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/statements/statement.csv"), &statement)
            .expect("the sample statement");
        let size = std::fs::metadata(&statement).expect("size").len();
        let settings =
            BankSettings { surcharge: Default::default(), max_statement_bytes: 1 << 20, inbox: None, import_batch: 2 };
        let bar = ProgressBar::hidden();
        let report = import_file(&pool, &settings, &bar, &statement, "ICBC", None).expect("imported");
        assert_eq!(report.status, ImportStatus::Complete);
        assert!(report.lines_read >= 2, "{report:?}");
        assert_eq!((bar.position(), bar.length()), (size, Some(size)));
        assert!(bar.is_finished());
    }
}
