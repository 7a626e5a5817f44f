//! WeChat Pay API v3 — Native (scan to pay), JSAPI (inside WeChat) and H5 (other mobile
//! browsers): the wire protocol, the trade bill format, finepay's client, and the official
//! account's web OAuth that JSAPI needs.

pub(super) mod bill;
pub(super) mod client;
mod oauth;
pub(super) mod protocol;

pub use client::{WechatConfig, WechatPay};
pub use oauth::WechatOauth;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
