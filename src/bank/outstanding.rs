//! The list of fines payable at banks, as the bank API and `finepay bank outstanding` give it: each
//! fine with its RF creditor reference (ISO 11649, from the decision number) and today's amount.

use crate::db::fines::OutstandingFine;
use crate::domain::DecisionNo;
use crate::domain::rf_reference::rf_for_decision;
use crate::domain::surcharge::Quote;
use crate::domain::surcharge::SurchargeRule;
use crate::domain::time::{rfc3339, utc};
use chrono::NaiveDate;
use serde_json::{Value, json};

pub const CSV_HEADER: &str =
    "decision_no,rf_reference,district_code,fine_fen,surcharge_fen,amount_due_fen,due_date,payable_since\n";

pub struct OutstandingLine {
    row: OutstandingFine,
    rf_reference: String,
    quote: Quote,
}

impl OutstandingLine {
    /// The line of `row` quoted for `today`; none for a row whose number is not well formed.
    pub fn of(rule: &SurchargeRule, row: OutstandingFine, today: NaiveDate) -> Option<Self> {
        let rf_reference = rf_for_decision(&DecisionNo::parse(&row.decision_no).ok()?);
        let quote = rule.amount_due(row.amount_fen, utc(row.issued_at), today);
        Some(OutstandingLine { row, rf_reference, quote })
    }

    pub fn decision_no(&self) -> &str {
        &self.row.decision_no
    }

    /// One CSV row under [`CSV_HEADER`]; no field can hold a comma or a quote.
    pub fn csv_row(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{}\n",
            self.row.decision_no,
            self.rf_reference,
            self.row.district_code,
            self.quote.fine_fen,
            self.quote.surcharge_fen,
            self.quote.total_fen,
            self.quote.due_date,
            rfc3339(utc(self.row.updated_at))
        )
    }

    pub fn json(&self) -> Value {
        json!({
            "decision_no": self.row.decision_no,
            "rf_reference": self.rf_reference,
            "district_code": self.row.district_code,
            "fine_fen": self.quote.fine_fen,
            "surcharge_fen": self.quote.surcharge_fen,
            "amount_due_fen": self.quote.total_fen,
            "due_date": self.quote.due_date,
            "payable_since": rfc3339(utc(self.row.updated_at)),
        })
    }
}
