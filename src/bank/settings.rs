//! What the bank channel is configured with (`[bank]`): the late surcharge's local rule and how
//! statements arrive.

use crate::domain::surcharge::SurchargeRule;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct BankSettings {
    pub surcharge: SurchargeRule,
    /// The largest statement `POST /bank/v1/statements` takes, in bytes.
    pub max_statement_bytes: u64,
    /// Statements dropped here (in a folder named by the bank's code) are imported by the
    /// `bank_inbox` job; none: no inbox.
    pub inbox: Option<PathBuf>,
    /// Statement lines recorded per write transaction.
    pub import_batch: usize,
}
