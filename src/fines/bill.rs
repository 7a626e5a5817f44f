//! What a fine's printed bill says. Thermal printers' fonts differ, so the bill is drawn in ASCII
//! and reads the same everywhere; the layout itself is `qr::bill`'s job.

use crate::db::fines::FineRow;
use crate::domain::surcharge::SurchargeRule;
use crate::domain::time::{shanghai_date, shanghai_wall_clock, utc};
use crate::domain::{Catalogue, Fen};
use crate::qr::{BillContent, QrMatrix, RenderError, bill_png};

/// The bill for a 58 mm thermal printer, with `qr` when the fine can be paid by QR code.
pub(crate) fn render(
    fine: &FineRow,
    catalogue: &Catalogue,
    rule: &SurchargeRule,
    qr: Option<&QrMatrix>,
) -> Result<Vec<u8>, RenderError> {
    let violation = catalogue.get(&fine.violation_code).map(|v| v.description_en.as_str()).unwrap_or_default();
    let deadline = match fine.qr_expires_at {
        Some(at) if qr.is_some() => {
            format!("Pay by QR before {} (UTC+8)", shanghai_wall_clock(utc(at)))
        }
        _ => {
            let due = shanghai_date(utc(fine.issued_at)) + chrono::Days::new(rule.grace_days.unsigned_abs());
            format!("Pay at an agent bank by {due}")
        }
    };
    let footer = format!(
        "After {} days a surcharge of {}% of the fine per day applies, up to the fine.",
        rule.grace_days,
        rule.daily_rate_bp as f64 / 100.0
    );
    bill_png(&BillContent {
        header: &format!("TRAFFIC FINE - DISTRICT {}", fine.district_code),
        decision_no: &fine.decision_no,
        violation: &format!("{} {violation}", fine.violation_code),
        amount: &Fen(fine.amount_fen).to_string(),
        deadline: &deadline,
        qr,
        no_qr_note: "Pay at an agent bank or online banking with the decision number",
        verification_code: &fine.verification_code,
        footer: &footer,
    })
}
