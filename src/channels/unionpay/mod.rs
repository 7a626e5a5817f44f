//! UnionPay ACP 5.1.0 (全渠道), consumption QR (主扫申码) and mobile web payment (手机网页支付):
//! the wire protocol, the daily statement file, and finepay's client.
//!
//! ACP cannot close an unpaid consumption QR: the order stays payable until its `payTimeout`,
//! which finepay sets to the end of the fine's QR window, and UnionPay itself refuses payment
//! after that. A bill voided earlier can therefore still be paid until the window ends; such a
//! payment arrives like any other and finepay refunds it.

pub(super) mod bill;
pub(super) mod client;
pub(super) mod protocol;

pub use client::{UnionpayClient, UnionpayConfig};
pub(crate) use protocol::FRONT_TRANS_PATH;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
