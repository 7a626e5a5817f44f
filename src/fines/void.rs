//! Voiding a fine issued in error: allowed only before payment, one conditional update, audited.
//! Voiding a fine that is already void answers with the fine as it is (a retry is not an error).

use crate::context::AppContext;
use crate::credentials::Principal;
use crate::db::fines::{self, FineRow};
use crate::db::{DbConnection, audit};
use crate::domain::FineStatus;
use chrono::SubsecRound;

#[derive(Debug, thiserror::Error)]
pub enum VoidError {
    #[error("no such fine")]
    NotFound,
    #[error("the fine is paid; a paid fine cannot be voided")]
    AlreadyPaid,
    #[error("a reason of 1 to 500 characters is required")]
    InvalidReason,
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

pub fn void(
    ctx: &AppContext,
    conn: &mut DbConnection,
    principal: &Principal,
    decision_no: &str,
    reason: &str,
) -> Result<FineRow, VoidError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(VoidError::InvalidReason);
    }
    ctx.pool.write(conn, |conn| {
        let fine = fines::find(conn, decision_no)?.ok_or(VoidError::NotFound)?;
        if !super::readable_by(&fine, principal) {
            return Err(VoidError::NotFound);
        }
        let status = FineStatus::parse(&fine.status);
        match status {
            Some(FineStatus::Void) => return Ok(fine),
            Some(FineStatus::Paid) | None => return Err(VoidError::AlreadyPaid),
            Some(FineStatus::AwaitingPayment | FineStatus::PayableAtBank) => {}
        }
        let now = ctx.clock.now().trunc_subsecs(0);
        // Guarded by the status read above: a payment landing in between makes this a no-op.
        if !fines::void(conn, decision_no, &fine.status, now.naive_utc(), reason)? {
            return Err(VoidError::AlreadyPaid);
        }
        let details = serde_json::json!({"from": fine.status, "reason": reason}).to_string();
        let actor = principal.actor();
        audit::record(
            conn,
            &audit::NewAuditEntry {
                at: now.naive_utc(),
                actor: &actor,
                action: "fine.void",
                decision_no: Some(decision_no),
                details: &details,
            },
        )?;
        fines::find(conn, decision_no)?.ok_or(VoidError::NotFound)
    })
}
