//! WeChat Pay API v3, Native (scan to pay): the wire protocol and finepay's client.

pub mod client;
pub mod protocol;

pub use client::{WechatConfig, WechatPay};

#[cfg(test)]
mod tests;
