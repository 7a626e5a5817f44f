//! Fines as the officer API sees them: issuing (idempotent, with decision numbers and QR
//! windows), reading, and voiding. Each use case runs as one database transaction.

mod bill;
mod issue;
mod issue_write;
mod payment_list;
mod view;
mod void;

pub(crate) use bill::{BillSources, facts as bill_facts};
pub(crate) use issue::{IssueError, IssueRequest, request_hash};
pub(crate) use issue_write::{IssueEnv, IssueInput, IssueWriter, issue, start_writer as start_issue_writer};
pub(crate) use payment_list::{PaymentView, payments_of};
pub(crate) use view::{FineView, ViewContext};
pub(crate) use void::{VoidError, void};

use crate::db::fines::FineRow;

/// Whether `principal` may see `row`: officers see only their own district's fines, admins all.
pub(crate) fn readable_by(row: &FineRow, principal: &crate::credentials::Principal) -> bool {
    match &principal.binding {
        crate::credentials::Binding::Officer { district_code, .. } => &row.district_code == district_code,
        crate::credentials::Binding::Admin { .. } => true,
        crate::credentials::Binding::Bank { .. } => false,
    }
}
