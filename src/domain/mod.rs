//! Pure types and rules of traffic fines: no I/O, no clock reads, no database.
//! Everything here is built at the edge from raw input ("parse, don't validate") so that the rest
//! of finepay only ever handles values that are already known to be valid.

pub mod bank_code;
pub mod catalogue;
pub mod decision_no;
pub mod district;
pub mod fine;
pub mod money;
pub mod plate;
#[cfg(test)]
pub(crate) mod proptest_support;
pub mod qr_window;
pub mod rf_reference;
pub mod secret;
pub mod surcharge;
pub mod text;
pub mod time;

pub use catalogue::{Catalogue, SubjectKind, Violation};
pub use decision_no::DecisionNo;
pub use district::{District, DistrictCode, Districts};
pub use fine::{Delivery, FineStatus};
pub use money::Fen;
pub use plate::Plate;
pub use qr_window::QrWindowPolicy;
pub use secret::Secret;
