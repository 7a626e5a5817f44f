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

pub(crate) use crate::domain::bank_code::valid_bank_code;
