//! The bank channel for late payers: what a fine costs at a bank today, recording the payments
//! banks report (in real time or on their statements), and importing those statements.

mod book;
mod cli;
mod import;
mod outstanding;
mod payment;
mod reference;
mod settings;
mod settle;
mod statement;
#[cfg(test)]
mod tests;

pub use settings::BankSettings;

pub use statement::Format;

pub(crate) use cli::{READ_BUFFER, import_file, statement_bar, write_outstanding};
pub(crate) use import::{ImportError, ImportReport, ImportStatus, Importer, recover_interrupted};
pub(crate) use outstanding::{CSV_HEADER, OutstandingLine};
pub(crate) use payment::{PaymentError, PostedPayment, record as record_posted_payment};
pub(crate) use settle::Outcome;
pub(crate) use statement::StatementReader;

/// A bank's code as credentials and statements carry it: 1 to 16 ASCII letters or digits (it also
/// names the bank's inbox folder, so nothing else is allowed).
pub(crate) fn valid_bank_code(code: &str) -> bool {
    (1..=16).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
}
