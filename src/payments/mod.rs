//! Paying a fine by QR: opening channel orders, recording what the channels report exactly once,
//! querying them when a notification may have been lost, and refunding what cannot pay a fine.
//! The channels' wire formats stay in `crate::channels`; this module sees only the
//! `PaymentChannel` trait.

mod apply;
mod channel_set;
mod close;
mod flows;
mod open;
mod query;
mod refunds;

pub(crate) use apply::{
    ApplyError, PaymentSource, PaymentWriter, Recorded, ReportedPayment, record as record_payment, refund_number,
    start_writer as start_payment_writer,
};
pub(crate) use channel_set::{ChannelSet, ChannelSetupError, Endpoints};
pub(crate) use close::{OrderCloser, OrderClosing, close_order};
pub(crate) use flows::{Client, Route, choose as choose_flow};
pub(crate) use open::{
    OpenError, out_trade_no, payable, payer_digest, prepare as prepare_order, request as request_order,
};
pub(crate) use query::{RecentQueries, Settled, settle_open_orders, settle_order};
pub(crate) use refunds::RefundDriver;

use crate::channels::ChannelError;
use crate::errors::Why;
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
