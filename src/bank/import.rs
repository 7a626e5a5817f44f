//! Importing a bank's end-of-day statement: the file is streamed (memory does not grow with its
//! size), its lines recorded a batch per write transaction by the rules of [`super::settle`]
//! (see `batch`), and the import's report kept with it. Entries are independent facts keyed by the
//! bank's entry reference, so a file imported twice, or again after a truncated copy, changes
//! nothing twice.

mod batch;

use super::settle::Outcome;
use super::statement::{Format, LineError, StatementError, StatementLine, StatementReader};
use crate::db::bank_statements::{self, NewStatement};
use crate::db::{DbConnection, DbPool};
use crate::domain::surcharge::SurchargeRule;
use chrono::{DateTime, Utc};
use ring::digest;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::time::Instant;

/// How much may follow the end of a camt document (whitespace, a signature block) before the
/// file is taken for something else with a statement in front.
const TRAILING_LIMIT: u64 = 1 << 20;

/// How long an import may go without touching its statement before it is taken for killed.
/// A batch takes well under a second; this is minutes, to leave no doubt.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::minutes(10);

/// Marks the imports that were killed midway (see `bank_statements::mark_interrupted`); the
/// ones marked, each logged. Their lines up to the last batch are recorded: importing the file
/// again records the rest, and the lines already recorded change nothing.
pub fn recover_interrupted(
    pool: &DbPool,
    now: DateTime<Utc>,
) -> Result<Vec<bank_statements::StatementRow>, ImportError> {
    let mut conn = pool.get()?;
    let marked =
        pool.write(&mut conn, |conn| bank_statements::mark_interrupted(conn, (now - STALE_AFTER).naive_utc()))?;
    for row in &marked {
        log::warn!(
            "statement {} of bank {} ({}) was interrupted midway; import the file again to record the rest",
            row.id,
            row.bank_code,
            row.file_name
        );
    }
    Ok(marked)
}

/// The most line errors a report lists (all are counted).
const LISTED_ERRORS: usize = 100;

/// How an import ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Every line was read (bad lines are listed in the report).
    Complete,
    /// The file broke off or went bad part-way: the lines before were recorded.
    Malformed,
    /// Not a statement of a known kind: nothing was recorded.
    Refused,
}

impl ImportStatus {
    fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Complete => "complete",
            ImportStatus::Malformed => "malformed",
            ImportStatus::Refused => "refused",
        }
    }
}

/// What an import did, line by line counted.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub statement_id: i64,
    pub bank_code: String,
    pub file_name: String,
    pub format: Option<&'static str>,
    pub status: ImportStatus,
    pub bytes: u64,
    pub sha256: String,
    /// Lines (CSV rows, camt entries) read, good or bad.
    pub lines_read: u64,
    /// Credit lines that named a fine (a decision number or RF reference was found), repeats
    /// included: a line recorded before, by an earlier import or earlier in the file, counts too.
    pub matched: u64,
    /// Lines in each end state, recorded by this import.
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Fen newly settled by this import.
    pub settled_fen: i64,
    /// Lines recorded by an earlier import of the same entries (they changed nothing now).
    pub repeated: u64,
    /// Debits that are not reversals: not payments to finepay.
    pub skipped_debits: u64,
    /// Pending or information-only entries: only booked entries settle.
    pub skipped_not_booked: u64,
    /// Lines that could not be used (listed, up to a hundred, in `errors`).
    pub bad_lines: u64,
    pub errors: Vec<BadLine>,
    /// Why the file was refused or where it broke off.
    pub error: Option<String>,
}

impl ImportReport {
    fn new(statement_id: i64, bank_code: &str, file_name: &str) -> Self {
        ImportReport {
            statement_id,
            bank_code: bank_code.to_owned(),
            file_name: file_name.to_owned(),
            format: None,
            status: ImportStatus::Complete,
            bytes: 0,
            sha256: String::new(),
            lines_read: 0,
            matched: 0,
            outcomes: Outcome::ALL.iter().map(|o| (o.as_str(), 0)).collect(),
            settled_fen: 0,
            repeated: 0,
            skipped_debits: 0,
            skipped_not_booked: 0,
            bad_lines: 0,
            errors: Vec::new(),
            error: None,
        }
    }

    pub fn count(&self, outcome: Outcome) -> u64 {
        self.outcomes.get(outcome.as_str()).copied().unwrap_or(0)
    }

    fn bad_line(&mut self, error: impl Into<BadLine>) {
        self.bad_lines += 1;
        if self.errors.len() < LISTED_ERRORS {
            self.errors.push(error.into());
        }
    }
}

/// A line that could not be used, as the report lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadLine {
    pub line_no: u64,
    pub entry_ref: Option<String>,
    pub message: String,
}

impl From<LineError> for BadLine {
    fn from(e: LineError) -> Self {
        BadLine { line_no: e.line_no, entry_ref: e.entry_ref, message: e.message }
    }
}

/// Who imports, and how.
pub struct Importer<'a> {
    pub pool: &'a DbPool,
    pub rule: SurchargeRule,
    pub batch: usize,
    /// Written to the audit log for each fine settled.
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

impl<'a> Importer<'a> {
    /// An importer with the `[bank]` settings' surcharge rule and batch size.
    pub fn new(pool: &'a DbPool, bank: &super::BankSettings, actor: &'a str, now: DateTime<Utc>) -> Self {
        Importer { pool, rule: bank.surcharge, batch: bank.import_batch, actor, now }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(#[from] crate::db::PoolError),
}

impl Importer<'_> {
    /// Imports the statement in `input` for `bank_code`. `format` is sniffed from the first bytes
    /// when not given. `progress` is called after each batch with the bytes read so far.
    pub fn import<R: BufRead>(
        &self,
        bank_code: &str,
        file_name: &str,
        format: Option<Format>,
        input: R,
        progress: &mut dyn FnMut(&ImportReport),
    ) -> Result<ImportReport, ImportError> {
        let mut conn = self.pool.get()?;
        let now = self.now.naive_utc();
        let statement_id = self.pool.write(&mut conn, |conn| {
            bank_statements::start(
                conn,
                &NewStatement {
                    bank_code,
                    format: format.map_or("unknown", Format::as_str),
                    file_name,
                    file_sha256: "",
                    file_bytes: 0,
                    status: "importing",
                    report: "{}",
                    imported_at: now,
                    touched_at: Some(now),
                },
            )
        })?;
        let mut report = ImportReport::new(statement_id, bank_code, file_name);
        let started = Instant::now();
        let mut input = Hashing::new(input);
        let format = match format {
            Some(format) => Some(format),
            None => input.fill_buf().map(Format::sniff).unwrap_or(None),
        };
        match format {
            None => {
                report.status = ImportStatus::Refused;
                report.error = Some("not a statement: neither the CSV header nor a camt.053/054 document".into());
            }
            Some(format) => {
                report.format = Some(format.as_str());
                let mut alive = |conn: &mut DbConnection, report: &ImportReport| {
                    let at = self.now + started.elapsed();
                    let touched =
                        self.pool.write(conn, |conn| bank_statements::touch(conn, statement_id, at.naive_utc()));
                    progress(report);
                    touched
                };
                self.read_lines(&mut conn, format, &mut input, &mut report, &mut alive)?;
            }
        }
        if report.status == ImportStatus::Complete {
            // The digest covers the whole file, also what the parser did not need to read (what
            // follows a camt document's end) — up to a limit: a statement is not followed by more.
            let rest = std::io::copy(&mut input.by_ref().take(TRAILING_LIMIT + 1), &mut std::io::sink());
            if rest.is_ok_and(|n| n > TRAILING_LIMIT) {
                report.status = ImportStatus::Malformed;
                report.error = Some(format!("more than {TRAILING_LIMIT} bytes follow the end of the statement"));
            }
        }
        // A refused or broken file is read no further: its digest and size are of what was read.
        (report.bytes, report.sha256) = input.finish();
        let text = serde_json::to_string(&report).unwrap_or_else(|_| "{}".into());
        self.pool.write(&mut conn, |conn| {
            bank_statements::finish(
                conn,
                statement_id,
                report.format.unwrap_or("unknown"),
                report.status.as_str(),
                &report.sha256,
                i64::try_from(report.bytes).unwrap_or(i64::MAX),
                &text,
            )
        })?;
        log::info!(
            "statement {statement_id} of bank {bank_code} ({file_name}): {} — {} lines, {} settled, {} repeated, {} bad",
            report.status.as_str(),
            report.lines_read,
            report.count(Outcome::Settled),
            report.repeated,
            report.bad_lines
        );
        Ok(report)
    }

    fn read_lines<R: BufRead>(
        &self,
        conn: &mut DbConnection,
        format: Format,
        input: R,
        report: &mut ImportReport,
        alive: &mut dyn FnMut(&mut DbConnection, &ImportReport) -> diesel::QueryResult<()>,
    ) -> Result<(), ImportError> {
        let mut reader = match StatementReader::new(format, input) {
            Ok(reader) => reader,
            Err(e) => {
                report.status = ImportStatus::Refused;
                report.error = Some(crate::errors::chain(&e));
                return Ok(());
            }
        };
        let mut statistics = batch::Statistics::read(conn)?;
        let mut batch: Vec<StatementLine> = Vec::with_capacity(self.batch);
        loop {
            let item = match reader.next_item() {
                Ok(item) => item,
                Err(e) => {
                    report.status = ImportStatus::Malformed;
                    report.error = Some(match e {
                        StatementError::Malformed { .. } => format!(
                            "{e}; the lines before it were imported — import the complete file again (lines already imported change nothing)"
                        ),
                        other => other.to_string(),
                    });
                    None
                }
            };
            let at_end = item.is_none();
            match item {
                Some(Ok(line)) => {
                    report.lines_read += 1;
                    batch.push(line);
                }
                Some(Err(error)) => {
                    report.lines_read += 1;
                    report.bad_line(error);
                }
                None => {}
            }
            if batch.len() >= self.batch || (at_end && !batch.is_empty()) {
                batch::record(self, conn, &batch, report)?;
                statistics.grew(conn, batch.len());
                self.pool.keep_wal_short(conn);
                batch.clear();
                report.bytes = reader.bytes_read();
                alive(conn, report)?;
            }
            if at_end {
                return Ok(());
            }
        }
    }
}

/// A reader that hashes (SHA-256) and counts what passes through it.
struct Hashing<R> {
    inner: R,
    digest: digest::Context,
    bytes: u64,
}

impl<R: BufRead> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing { inner, digest: digest::Context::new(&digest::SHA256), bytes: 0 }
    }

    fn finish(self) -> (u64, String) {
        (self.bytes, data_encoding::HEXLOWER.encode(self.digest.finish().as_ref()))
    }
}

impl<R: BufRead> Read for Hashing<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Hashing<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        // The bytes consumed are still at the front of the inner buffer.
        if let Ok(buffer) = self.inner.fill_buf() {
            let amount = amount.min(buffer.len());
            self.digest.update(&buffer[..amount]);
            self.bytes += amount as u64;
        }
        self.inner.consume(amount);
    }
}
