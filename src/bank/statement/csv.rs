//! The CSV statement, for banks that export no camt file. Its format:
//!
//! - UTF-8 (a leading byte-order mark is tolerated), comma-separated, quoted as RFC 4180 says:
//!   a field holding a comma, quote or line break is enclosed in `"`, a `"` inside it doubled.
//!   Lines end in LF or CRLF; blank lines are skipped.
//! - The first line is exactly this header, the columns in this order:
//!   `entry_ref,booked_at,amount_fen,direction,status,reversal,transaction_ref,reference`
//! - `entry_ref`: the bank's unique reference of the booking (required).
//! - `booked_at`: an RFC 3339 time with its offset (`2026-11-21T10:15:00+08:00`) or a date
//!   (`2026-11-21`).
//! - `amount_fen`: the amount as a positive whole number of fen (`20000` is CNY 200.00).
//! - `direction`: `C` (credit, money in) or `D` (debit).
//! - `status`: `BOOK` (also when empty), `PDNG` (pending) or `INFO`.
//! - `reversal`: `1` or `true` when the line cancels an earlier one; empty, `0` or `false` if not.
//! - `transaction_ref`: optional; on a reversal, the reference of the transaction it cancels.
//! - `reference`: the payer's free text, containing the decision number or its RF reference.
//! - Amounts are in CNY.
//!
//! A row that breaks these rules is a `LineError` carrying the line it starts on, and reading goes
//! on with the next line. That includes broken quoting inside a line: a quote within an unquoted
//! field, or text after a closing quote. The file stops being read (`Malformed`) when it ends
//! inside a quoted field (a quote never closed, which would otherwise swallow the rows after it),
//! when one row passes 64 KiB, or at bytes that are not UTF-8 (a GBK export: every row would fail).

use super::bounded::{self, Bounded};
use super::values;
use super::{Direction, EntryStatus, Item, LineError, StatementError, StatementLine};
use std::io::BufRead;

pub(super) const HEADER: &str = "entry_ref,booked_at,amount_fen,direction,status,reversal,transaction_ref,reference";
const COLUMNS: usize = 8;

/// A reader of our own rather than the `csv` crate: csv-core reads broken quoting leniently,
/// turning `"200"00` into 20000 and letting a quote left open at the end swallow the rows after
/// it without an error. A payment file must refuse both, and this state machine is small.
pub(super) struct CsvReader<R> {
    input: Bounded<R>,
    /// The current row's fields, unquoted, back to back; field `i` ends at `ends[i]`.
    row: Vec<u8>,
    ends: Vec<usize>,
    line: u64,
    bytes: u64,
    done: bool,
}

/// Where a row starts, and the first quoting rule it broke.
struct RowStart {
    line_no: u64,
    at_byte: u64,
    broken: Option<&'static str>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: its end, or the first of a doubled pair.
    QuoteInQuoted,
}

impl<R: BufRead> CsvReader<R> {
    pub(super) fn new(mut input: Bounded<R>) -> Result<Self, StatementError> {
        let bom = input.fill_buf()?.starts_with(super::UTF8_BOM);
        if bom {
            input.consume(super::UTF8_BOM.len());
        }
        let bytes = if bom { super::UTF8_BOM.len() as u64 } else { 0 };
        let mut reader = CsvReader { input, row: Vec::new(), ends: Vec::new(), line: 1, bytes, done: false };
        let header = match reader.read_row() {
            Ok(Some(start)) => {
                let row = std::str::from_utf8(&reader.row).unwrap_or_default();
                start.broken.is_none() && fields(row, &reader.ends).eq(HEADER.split(','))
            }
            Ok(None) => return Err(StatementError::NotAStatement("the CSV file is empty".to_owned())),
            Err(StatementError::Malformed { .. }) => false,
            Err(error) => return Err(error),
        };
        if !header {
            return Err(StatementError::NotAStatement(format!("the first line of a CSV statement must be {HEADER}")));
        }
        Ok(reader)
    }

    pub(super) fn next_item(&mut self) -> Result<Option<Item>, StatementError> {
        if self.done {
            return Ok(None);
        }
        let start = match self.read_row() {
            Ok(Some(start)) => start,
            Ok(None) => {
                self.done = true;
                return Ok(None);
            }
            Err(error) => {
                self.done = true;
                return Err(error);
            }
        };
        let line_no = start.line_no;
        let Ok(row) = std::str::from_utf8(&self.row) else {
            self.done = true;
            let message = format!("line {line_no} is not UTF-8 (the statement must be exported as UTF-8)");
            return Err(StatementError::Malformed { at_byte: start.at_byte, message });
        };
        let mut columns = [""; COLUMNS];
        for (column, field) in columns.iter_mut().zip(fields(row, &self.ends)) {
            *column = field;
        }
        let line = match start.broken {
            Some(broken) => Err(broken.to_owned()),
            None if self.ends.len() != COLUMNS => Err(format!("expected {COLUMNS} columns, found {}", self.ends.len())),
            None => parse_row(line_no, columns),
        };
        let entry_ref = Some(columns[0]).filter(|entry_ref| !entry_ref.is_empty()).map(str::to_owned);
        Ok(Some(line.map_err(|message| LineError { line_no, entry_ref, message })))
    }

    pub(super) fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Reads the next non-blank row into `row` and `ends`; `None` at the end of the file.
    fn read_row(&mut self) -> Result<Option<RowStart>, StatementError> {
        self.input.start_token();
        self.row.clear();
        self.ends.clear();
        let mut start = RowStart { line_no: self.line, at_byte: self.bytes, broken: None };
        let mut quoting = Quoting::FieldStart;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(error) if bounded::is_too_long(&error) => {
                    let message = format!("the row on line {} is longer than 64 KiB", start.line_no);
                    return Err(StatementError::Malformed { at_byte: self.bytes, message });
                }
                Err(error) => return Err(StatementError::Io(error)),
            };
            if chunk.is_empty() {
                return match quoting {
                    Quoting::Quoted => {
                        let message = format!("the file ends inside a quoted field of line {}", start.line_no);
                        Err(StatementError::Malformed { at_byte: self.bytes, message })
                    }
                    Quoting::FieldStart if self.ends.is_empty() => Ok(None),
                    _ => {
                        self.ends.push(self.row.len());
                        Ok(Some(start))
                    }
                };
            }
            let mut used = 0;
            // Some(true) at the row's end, Some(false) at a blank line.
            let mut line_ended = None;
            for &byte in chunk {
                used += 1;
                if byte == b'\n' {
                    self.line += 1;
                }
                quoting = match (quoting, byte) {
                    (Quoting::Quoted, b'"') => Quoting::QuoteInQuoted,
                    (Quoting::Quoted, _) => {
                        self.row.push(byte);
                        Quoting::Quoted
                    }
                    (Quoting::QuoteInQuoted, b'"') => {
                        self.row.push(b'"');
                        Quoting::Quoted
                    }
                    (Quoting::FieldStart, b'"') => Quoting::Quoted,
                    // CR only ever belongs to a CRLF line end outside quotes.
                    (_, b'\r') => quoting,
                    (_, b',') => {
                        self.ends.push(self.row.len());
                        Quoting::FieldStart
                    }
                    (Quoting::FieldStart, b'\n') if self.ends.is_empty() && self.row.is_empty() => {
                        line_ended = Some(false);
                        break;
                    }
                    (_, b'\n') => {
                        self.ends.push(self.row.len());
                        line_ended = Some(true);
                        break;
                    }
                    (Quoting::QuoteInQuoted, _) | (Quoting::Unquoted, b'"') => {
                        let broken = if quoting == Quoting::Unquoted {
                            "a quote inside an unquoted field (quote the whole field and double the quote)"
                        } else {
                            "text after the closing quote of a field"
                        };
                        start.broken.get_or_insert(broken);
                        self.row.push(byte);
                        Quoting::Unquoted
                    }
                    (Quoting::FieldStart | Quoting::Unquoted, _) => {
                        self.row.push(byte);
                        Quoting::Unquoted
                    }
                };
            }
            self.input.consume(used);
            self.bytes += used as u64;
            match line_ended {
                Some(true) => return Ok(Some(start)),
                // A blank line: the row starts on the next one, and so does its length cap.
                Some(false) => {
                    self.input.start_token();
                    start.line_no = self.line;
                    start.at_byte = self.bytes;
                }
                None => {}
            }
        }
    }
}

/// The fields of a row; their boundaries are at ASCII commas, hence at character boundaries.
fn fields<'a>(row: &'a str, ends: &'a [usize]) -> impl Iterator<Item = &'a str> {
    ends.iter().scan(0, move |from, &end| {
        let field = row.get(*from..end).unwrap_or_default();
        *from = end;
        Some(field)
    })
}

fn parse_row(line_no: u64, columns: [&str; COLUMNS]) -> Result<StatementLine, String> {
    let [entry_ref, booked_at, amount_fen, direction, status, reversal, transaction_ref, reference] = columns;
    if entry_ref.is_empty() {
        return Err("entry_ref is empty".to_owned());
    }
    let (booked_on, booked_at) = values::date_or_instant(booked_at)?;
    let amount_fen = values::fen_amount(amount_fen)?;
    let direction = match direction {
        "C" => Direction::Credit,
        "D" => Direction::Debit,
        other => return Err(format!("direction {other:?} is neither C nor D")),
    };
    let status = match status {
        "" | "BOOK" => EntryStatus::Booked,
        "PDNG" => EntryStatus::Pending,
        "INFO" => EntryStatus::Info,
        other => return Err(format!("status {other:?} is not BOOK, PDNG or INFO")),
    };
    let reversal = match reversal {
        "" | "0" | "false" => false,
        "1" | "true" => true,
        other => return Err(format!("reversal {other:?} is not empty, 0, 1, true or false")),
    };
    Ok(StatementLine {
        line_no,
        entry_ref: entry_ref.to_owned(),
        booked_on,
        booked_at,
        amount_fen,
        currency: "CNY".to_owned(),
        direction,
        status,
        reversal,
        transaction_ref: Some(transaction_ref).filter(|text| !text.is_empty()).map(str::to_owned),
        references: if reference.is_empty() { Vec::new() } else { vec![reference.to_owned()] },
    })
}

#[cfg(test)]
mod tests;
