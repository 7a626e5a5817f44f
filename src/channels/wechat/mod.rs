//! WeChat Pay API v3, Native (scan to pay): the wire protocol, the trade bill format and finepay's
//! client.

pub mod bill;
pub mod client;
pub mod protocol;

pub use client::{WechatConfig, WechatPay};

#[cfg(test)]
mod tests;
