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

use crate::channels::ChannelError;
use crate::errors::Why;
use apply::ApplyError;
use std::sync::Arc;

/// What stopped a step of the back office on one channel order or refund — asking the channel,
/// or storing what it said. The step is tried again later (by the job that took it).
#[derive(Debug, Clone, thiserror::Error)]
pub enum WorkError {
    #[error("the order's channel: {0}")]
    NoChannel(String),
    #[error("the channel: {0}")]
    Channel(#[from] ChannelError),
    #[error("the channel said the order was paid when asked to close it, and its query found no payment")]
    PaidButNotFound,
    #[error("the channel says paid; recording the payment: {0}")]
    Record(#[from] ApplyError),
    #[error("the database failed")]
    Database(#[source] Arc<diesel::result::Error>),
    #[error("no database connection")]
    Pool(#[source] Arc<crate::db::PoolError>),
    #[error("the blocking task stopped")]
    Task(#[source] Why),
}

impl From<diesel::result::Error> for WorkError {
    fn from(e: diesel::result::Error) -> Self {
        WorkError::Database(Arc::new(e))
    }
}

impl From<crate::db::PoolError> for WorkError {
    fn from(e: crate::db::PoolError) -> Self {
        WorkError::Pool(Arc::new(e))
    }
}

impl From<tokio::task::JoinError> for WorkError {
    fn from(e: tokio::task::JoinError) -> Self {
        WorkError::Task(Why::of(e))
    }
}
