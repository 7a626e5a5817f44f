//! Voiding a fine issued in error: allowed only before payment, one conditional update, audited.
//! Voiding a fine that is already void answers with the fine as it is, so a retry or a double tap
//! is not an error, whichever request won.

use crate::credentials::Principal;
use crate::db::fines::{self, FineRow};
use crate::db::{DbConnection, DbPool, LostRace, audit};
use crate::domain::FineStatus;
use crate::domain::time::Clock;
use chrono::SubsecRound;

#[derive(Debug, thiserror::Error)]
pub enum VoidError {
    #[error("no such fine")]
    NotFound,
    #[error("the fine is paid; a paid fine cannot be voided")]
    AlreadyPaid,
    #[error("a reason of 1 to 500 characters is required")]
    InvalidReason,
    #[error("fine {0} has a status finepay does not know")]
    UnknownStatus(String),
    #[error("the fine kept changing while it was being voided; retry")]
    Changed,
    #[error("the database failed")]
    Database(#[from] diesel::result::Error),
}

pub(crate) fn void(
    pool: &DbPool,
    clock: &dyn Clock,
    conn: &mut DbConnection,
    principal: &Principal,
    decision_no: &str,
    reason: &str,
) -> Result<FineRow, VoidError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(VoidError::InvalidReason);
    }
    pool.write_retrying(conn, |conn| void_once(clock, conn, principal, decision_no, reason))
}

/// Another writer moved the fine between this void's read and its update (a payment arrived, the
/// window ended): the void runs again on what is stored now.
impl LostRace for VoidError {
    fn lost_race(&self) -> bool {
        match self {
            VoidError::Changed => true,
            VoidError::Database(e) => e.lost_race(),
            _ => false,
        }
    }
}

fn void_once(
    clock: &dyn Clock,
    conn: &mut DbConnection,
    principal: &Principal,
    decision_no: &str,
    reason: &str,
) -> Result<FineRow, VoidError> {
    let fine = fines::find(conn, decision_no)?.ok_or(VoidError::NotFound)?;
    if !super::readable_by(&fine, principal) {
        return Err(VoidError::NotFound);
    }
    if !status_of(&fine)?.can_void() {
        return settled(fine);
    }
    let now = clock.now().trunc_subsecs(0);
    // Guarded by the status just read: if another writer changed it in between (a payment, a
    // concurrent void), nothing is updated and the fine's new status decides the answer.
    if !fines::void(conn, decision_no, &fine.status, now.naive_utc(), reason)? {
        let now_stored = fines::find(conn, decision_no)?.ok_or(VoidError::NotFound)?;
        return settled(now_stored);
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
}

fn status_of(fine: &FineRow) -> Result<FineStatus, VoidError> {
    FineStatus::parse(&fine.status).ok_or_else(|| VoidError::UnknownStatus(fine.decision_no.clone()))
}

/// The answer for a fine that can no longer be voided by this request.
fn settled(fine: FineRow) -> Result<FineRow, VoidError> {
    match status_of(&fine)? {
        FineStatus::Void => Ok(fine),
        FineStatus::Paid => Err(VoidError::AlreadyPaid),
        // Still voidable: another writer moved it between states (say, to payable_at_bank).
        FineStatus::AwaitingPayment | FineStatus::PayableAtBank => Err(VoidError::Changed),
    }
}

#[cfg(test)]
mod tests;
