//! Alipay Face-to-Face (当面付) on the classic OpenAPI gateway: the wire protocol, the daily bill
//! file, and finepay's client.

pub(super) mod bill;
pub(super) mod client;
pub(super) mod protocol;

pub use client::{AlipayClient, AlipayConfig};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
