//! WeChat Pay API v3, Native (scan to pay): the wire protocol, the trade bill format and finepay's
//! client.

pub(super) mod bill;
pub(super) mod client;
pub(super) mod protocol;

pub use client::{WechatConfig, WechatPay};

#[cfg(test)]
mod tests;
