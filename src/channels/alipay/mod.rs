//! Alipay Face-to-Face (当面付) on the classic OpenAPI gateway: the wire protocol, the daily bill
//! file, and finepay's client.

pub mod bill;
pub mod client;
pub mod protocol;

pub use client::{AlipayClient, AlipayConfig};

#[cfg(test)]
mod tests;
