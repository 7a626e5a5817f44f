//! The fine's life as a state machine. Every transition in the database is one conditional
//! update guarded by the expected current status, so two writers can never both win.
//!
//! ```text
//! awaiting_payment ── pay in window ──► paid
//!        │ window ends
//!        ▼
//! payable_at_bank ─── bank record ────► paid
//! (either) ────────── void ───────────► void
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FineStatus {
    AwaitingPayment,
    PayableAtBank,
    Paid,
    Void,
}

impl FineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FineStatus::AwaitingPayment => "awaiting_payment",
            FineStatus::PayableAtBank => "payable_at_bank",
            FineStatus::Paid => "paid",
            FineStatus::Void => "void",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "awaiting_payment" => Some(FineStatus::AwaitingPayment),
            "payable_at_bank" => Some(FineStatus::PayableAtBank),
            "paid" => Some(FineStatus::Paid),
            "void" => Some(FineStatus::Void),
            _ => None,
        }
    }

    /// A fine can be voided only while nobody has paid it.
    pub fn can_void(self) -> bool {
        matches!(self, FineStatus::AwaitingPayment | FineStatus::PayableAtBank)
    }
}

/// How the bill reaches the offender: printed, or shown on the handheld's screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Print,
    Screen,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Print => "print",
            Delivery::Screen => "screen",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unpaid_fines_can_be_voided() {
        assert!(FineStatus::AwaitingPayment.can_void());
        assert!(FineStatus::PayableAtBank.can_void());
        assert!(!FineStatus::Paid.can_void());
        assert!(!FineStatus::Void.can_void());
    }

    #[test]
    fn names_round_trip() {
        for s in [FineStatus::AwaitingPayment, FineStatus::PayableAtBank, FineStatus::Paid, FineStatus::Void] {
            assert_eq!(FineStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(FineStatus::parse("paid "), None);
    }
}
