//! Fines as the officer API sees them: issuing (idempotent, with decision numbers and QR
//! windows), reading, and voiding. Each use case runs as one database transaction.

pub mod bill;
pub mod issue;
pub mod issue_write;
pub mod view;
pub mod void;

use crate::db::fines::FineRow;

/// Whether `principal` may see `row`: officers see only their own district's fines, admins all.
pub fn readable_by(row: &FineRow, principal: &crate::credentials::Principal) -> bool {
    match &principal.binding {
        crate::credentials::Binding::Officer { district_code, .. } => &row.district_code == district_code,
        crate::credentials::Binding::Admin { .. } => true,
        crate::credentials::Binding::Bank { .. } => false,
    }
}
