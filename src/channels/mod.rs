//! Payment channels: WeChat Pay v3, Alipay and UnionPay ACP on their real wire formats, and the
//! simulator that speaks them locally. Each channel has its own module; what they share — the
//! order and payment shapes finepay works with, and the cryptography — lives here.

pub mod crypto;
pub mod sim;
pub mod wechat;

/// A file of `config/simulator/` (the simulator's keys and certificates), for unit tests.
#[cfg(test)]
pub(crate) fn simulator_fixture(name: &str) -> String {
    let path = format!("{}/config/simulator/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

use crate::domain::Fen;
use chrono::{DateTime, Utc};

/// An order finepay asks a channel to open for one fine. Nothing personal goes to a channel: the
/// description names the decision number and a generic purpose only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub out_trade_no: String,
    pub description: String,
    pub amount: Fen,
    /// The last moment the order may be paid: the end of the fine's QR window.
    pub pay_by: DateTime<Utc>,
}

/// What the payer scans or opens to pay the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedOrder {
    pub pay_url: String,
}

/// A payment as the channel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelPayment {
    pub out_trade_no: String,
    pub channel_txn_id: String,
    pub amount: Fen,
    /// When the channel says the payer paid: what decides whether it was inside the window.
    pub paid_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderStatus {
    /// The channel has no such order (never created, or — Alipay — not yet scanned).
    NotFound,
    Open,
    Paid(ChannelPayment),
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOutcome {
    Closed,
    /// The payer paid during the race: a payment, not an error.
    AlreadyPaid,
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("the channel could not be reached: {0}")]
    Transport(String),
    #[error("the channel refused: HTTP {status} {code}: {message}")]
    Refused { status: u16, code: String, message: String },
    #[error("the channel's answer failed verification: {0}")]
    Unverified(String),
    #[error("the channel's answer does not parse: {0}")]
    Malformed(String),
}

/// Why a notification was refused. Every one gets the channel's failure reply and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("signature headers are missing")]
    MissingHeaders,
    #[error("the signature does not verify (probe, forgery or tampering)")]
    BadSignature,
    #[error("no key for serial {0}")]
    UnknownKey(String),
    #[error("the timestamp is more than 300 s from now")]
    Stale,
    #[error("the resource does not decrypt")]
    Undecryptable,
    #[error("the notification is not for this merchant")]
    WrongMerchant,
    #[error("the notification is not a successful payment: {0}")]
    NotPaid(String),
    #[error("malformed notification: {0}")]
    Malformed(String),
}
