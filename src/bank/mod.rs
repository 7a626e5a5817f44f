//! The bank channel for late payers: what a fine costs at a bank today, recording the payments
//! banks report (in real time or on their statements), and importing those statements.

pub mod book;
pub mod cli;
pub mod import;
pub mod outstanding;
pub mod payment;
pub mod reference;
mod settings;
pub mod settle;
pub mod statement;
#[cfg(test)]
mod tests;

pub use settings::BankSettings;

/// A bank's code as credentials and statements carry it: 1 to 16 ASCII letters or digits (it also
/// names the bank's inbox folder, so nothing else is allowed).
pub fn valid_bank_code(code: &str) -> bool {
    (1..=16).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
}
