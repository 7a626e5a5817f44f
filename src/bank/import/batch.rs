//! One batch of statement lines in one write transaction. What needs no database — checking a
//! line, finding the fine its texts name — is done before the transaction, so no lock is held for
//! it; inside, the batch's records are read in a few queries, each line is decided by
//! [`settle::record_in`] in file order against that [`BatchBook`], and what the lines made is
//! written at the end.

use super::{BadLine, ImportError, ImportReport, Importer};
use crate::bank::book::Book;
use crate::bank::book::batch::{self as book, BatchBook};
use crate::bank::reference::{Named, Resolved, find_decision_no};
use crate::bank::settle::{self, BankReport, Outcome, Recorded, Source};
use crate::bank::statement::{Direction, EntryStatus, StatementLine};
use crate::db::LostRace;
use crate::db::{DbConnection, bank_payments};
use crate::domain::DecisionNo;
use crate::domain::time::SHANGHAI;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

/// Records `lines` in one write transaction, yielding to request writes on SQLite; their counts
/// are added to `report` once it committed.
pub(super) fn record(
    importer: &Importer<'_>,
    conn: &mut DbConnection,
    lines: &[StatementLine],
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let prepared: Vec<Prepared> = lines.iter().map(prepare).collect();
    let keys = Keys::of(lines, &prepared);
    let statement_id = report.statement_id;
    let bank_code = report.bank_code.clone();
    let now = importer.now.naive_utc();
    // A batch that lost a race runs again: another instance recorded the same entries first (the
    // same file twice at once), and the batch finds them recorded; or a payment or a void
    // committed since the batch read a fine it settles, and the batch settles each fine by its
    // own conditional update as it goes, the update's row count deciding it.
    let mut runs = 0;
    let tally = importer.pool.write_in_background_retrying(conn, |conn| {
        runs += 1;
        let settle_at_once = runs > 1;
        let mut book = BatchBook::new(conn, &bank_code, settle_at_once);
        book.prefetch(&keys.references, &keys.decision_nos, &keys.reversed)?;
        let mut tally = Tally::default();
        for (line, prepared) in lines.iter().zip(&prepared) {
            let result = match prepared {
                Prepared::Skip(result) => result.clone(),
                Prepared::Payment(payment) => {
                    let resolved =
                        payment.named.resolve(|no| Ok::<_, BatchFailed>(book.fine(no.as_str())?.is_some()))?;
                    let matched = matches!(resolved, Resolved::One(_));
                    let report = payment.report(line, &bank_code, statement_id, &resolved);
                    match settle::record_in(&mut book, &importer.rule, &report, importer.actor, now)? {
                        Recorded::New { outcome, .. } => LineResult::Recorded { outcome, matched },
                        Recorded::Repeat(_) => LineResult::Repeated { matched },
                        // Only posts are refused; a statement line is always stored.
                        Recorded::Refused(implausible) => LineResult::Bad(format!("dated {}", implausible.as_str())),
                    }
                }
            };
            tally.add(line, result);
        }
        book.flush()?;
        Ok::<_, BatchFailed>(tally)
    })?;
    tally.into_report(report);
    Ok(())
}

/// A statement batch's failure. Losing a race to another writer — a key recorded first, or a fine
/// changed since the batch read it ([`book::FineChangedMeanwhile`]) — runs the batch again.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct BatchFailed(#[from] diesel::result::Error);

impl LostRace for BatchFailed {
    fn lost_race(&self) -> bool {
        self.0.lost_race() || book::is_lost_race(&self.0)
    }
}

impl From<BatchFailed> for ImportError {
    fn from(e: BatchFailed) -> Self {
        e.0.into()
    }
}

/// PostgreSQL plans a batch's lookups from its statistics of `bank_payments`. An import that grows
/// the table far past what they say — the first statement into a fresh table: a million rows where
/// they say none — would have its lookups planned as for an empty table, a scan of the whole table
/// per batch, the import slowing as it goes. Autovacuum analyses a table soon after such growth,
/// where it runs; an import does not wait for it: once its own rows outnumber what the statistics
/// knew, it has the table analysed (a sample of 30,000 rows, a fraction of a second), so about
/// ten times over a million lines into an empty table, never for a day's lines into a full one.
pub(super) struct Statistics {
    /// Rows the planner takes the table to hold; `None` on SQLite, which plans without them.
    known: Option<f64>,
    added: f64,
}

/// Rows an import adds before the table is analysed, however empty it was.
const FIRST_ANALYSIS: f64 = 2000.0;

impl Statistics {
    pub(super) fn read(conn: &mut DbConnection) -> Result<Self, ImportError> {
        Ok(Statistics { known: bank_payments::planner_rows(conn)?, added: 0.0 })
    }

    /// After a batch of `lines` committed.
    pub(super) fn grew(&mut self, conn: &mut DbConnection, lines: usize) {
        let Some(known) = self.known else { return };
        self.added += lines as f64;
        if self.added >= known.max(FIRST_ANALYSIS) {
            // Only the plans depend on it: a failure is logged, the import goes on.
            if let Err(e) = bank_payments::analyze(conn) {
                log::warn!("statement import: analysing bank_payments failed: {e}");
            }
            self.known = Some(known + self.added);
            self.added = 0.0;
        }
    }
}

/// A line as the transaction takes it: already settled what it is, or a payment to record.
enum Prepared {
    Skip(LineResult),
    Payment(Payment),
}

/// What a credit (or reversal) line says beyond its fields.
struct Payment {
    named: Named,
    paid_at: DateTime<Utc>,
    /// The day paid in Asia/Shanghai, which the surcharge is counted to.
    paid_on: NaiveDate,
}

impl Payment {
    fn report<'a>(
        &'a self,
        line: &'a StatementLine,
        bank_code: &'a str,
        statement_id: i64,
        resolved: &Resolved<'a>,
    ) -> BankReport<'a> {
        BankReport {
            bank_code,
            reference: &line.entry_ref,
            source: Source::Statement { statement_id },
            decision_no: match resolved {
                Resolved::One(no) | Resolved::Unknown(no) => Some(no.as_str()),
                Resolved::Nothing | Resolved::Several(_) => None,
            },
            named_several: match resolved {
                Resolved::Several(nos) => nos.iter().map(|no| no.as_str()).collect(),
                _ => Vec::new(),
            },
            amount_fen: line.amount_fen,
            paid_at: self.paid_at,
            paid_at_exact: line.booked_at.is_some(),
            paid_on: self.paid_on,
            transaction_ref: line.transaction_ref.as_deref(),
            reversal: line.reversal,
            remittance: &line.references,
        }
    }
}

fn prepare(line: &StatementLine) -> Prepared {
    if line.currency != "CNY" {
        return Prepared::Skip(LineResult::Bad(format!("currency {} is not CNY", line.currency)));
    }
    if line.status != EntryStatus::Booked {
        return Prepared::Skip(LineResult::NotBooked);
    }
    if line.direction == Direction::Debit && !line.reversal {
        return Prepared::Skip(LineResult::Debit);
    }
    let paid_at = line.booked_at.map_or_else(
        || line.booked_on.and_time(chrono::NaiveTime::MIN).and_local_timezone(SHANGHAI).single().map(|t| t.to_utc()),
        |at| Some(at.to_utc()),
    );
    let Some(paid_at) = paid_at else {
        return Prepared::Skip(LineResult::Bad("the booking date is out of range".into()));
    };
    let references: Vec<&str> = line.references.iter().map(String::as_str).collect();
    Prepared::Payment(Payment {
        named: find_decision_no(&references),
        paid_at,
        paid_on: line.booked_at.map_or(line.booked_on, |at| at.with_timezone(&SHANGHAI).date_naive()),
    })
}

/// What the batch's book reads up front.
struct Keys<'a> {
    references: Vec<&'a str>,
    decision_nos: Vec<&'a str>,
    /// The transaction references reversals name.
    reversed: Vec<&'a str>,
}

impl<'a> Keys<'a> {
    fn of(lines: &'a [StatementLine], prepared: &'a [Prepared]) -> Self {
        let mut keys = Keys { references: Vec::new(), decision_nos: Vec::new(), reversed: Vec::new() };
        for (line, prepared) in lines.iter().zip(prepared) {
            let Prepared::Payment(payment) = prepared else { continue };
            keys.references.push(&line.entry_ref);
            keys.decision_nos.extend(payment.named.candidates().map(DecisionNo::as_str));
            if line.reversal {
                keys.reversed.extend(line.transaction_ref.as_deref());
            }
        }
        for list in [&mut keys.references, &mut keys.decision_nos, &mut keys.reversed] {
            list.sort_unstable();
            list.dedup();
        }
        keys
    }
}

/// What became of one line.
#[derive(Clone)]
enum LineResult {
    /// `matched`: its texts named a fine (a decision number or RF reference was found).
    Recorded {
        outcome: Outcome,
        matched: bool,
    },
    Repeated {
        matched: bool,
    },
    Debit,
    NotBooked,
    Bad(String),
}

/// A batch's counts, added to the report only once its transaction committed.
#[derive(Default)]
struct Tally {
    outcomes: BTreeMap<&'static str, u64>,
    matched: u64,
    settled_fen: i64,
    repeated: u64,
    debits: u64,
    not_booked: u64,
    bad: Vec<BadLine>,
}

impl Tally {
    fn add(&mut self, line: &StatementLine, result: LineResult) {
        match result {
            LineResult::Recorded { outcome, matched } => {
                *self.outcomes.entry(outcome.as_str()).or_default() += 1;
                self.matched += u64::from(matched && !line.reversal);
                if outcome == Outcome::Settled {
                    self.settled_fen += line.amount_fen;
                }
            }
            LineResult::Repeated { matched } => {
                self.matched += u64::from(matched && !line.reversal);
                self.repeated += 1;
            }
            LineResult::Debit => self.debits += 1,
            LineResult::NotBooked => self.not_booked += 1,
            LineResult::Bad(message) => {
                self.bad.push(BadLine { line_no: line.line_no, entry_ref: Some(line.entry_ref.clone()), message })
            }
        }
    }

    fn into_report(self, report: &mut ImportReport) {
        for (outcome, n) in self.outcomes {
            *report.outcomes.entry(outcome).or_default() += n;
        }
        report.matched += self.matched;
        report.settled_fen += self.settled_fen;
        report.repeated += self.repeated;
        report.skipped_debits += self.debits;
        report.skipped_not_booked += self.not_booked;
        for error in self.bad {
            report.bad_line(error);
        }
    }
}
