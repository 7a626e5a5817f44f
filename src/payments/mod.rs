//! Paying a fine by QR: opening channel orders, recording what the channels report exactly once,
//! querying them when a notification may have been lost, and refunding what cannot pay a fine.
//! The channels' wire formats stay in `crate::channels`; this module sees only the
//! `PaymentChannel` trait.

pub mod apply;
pub mod channel_set;
pub mod close;
pub mod open;
pub mod query;
pub mod refunds;

pub use channel_set::ChannelSet;
