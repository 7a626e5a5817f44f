//! What every request handler shares: settings, the database pool, the QR signer, the render
//! cache, metrics, the clock, the payment channels and the payment writer. Built once by [`crate::app::Application`]. Nothing in it is state
//! another instance would need: all of that lives in the database.

use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::time::Clock;
use crate::fines::issue_write::IssueWriter;
use crate::http::lookup::LookupLimits;
use crate::http::metrics::Metrics;
use crate::payments::ChannelSet;
use crate::payments::apply::PaymentWriter;
use crate::qr::cache::RenderCache;
use crate::qr::token::QrSigner;
use std::sync::Arc;

pub struct AppContext {
    pub settings: Settings,
    pub pool: DbPool,
    /// Writes issued fines in group-committed batches.
    pub issues: IssueWriter,
    pub signer: QrSigner,
    pub renders: RenderCache,
    pub metrics: Metrics,
    pub clock: Arc<dyn Clock>,
    /// The QR channels this instance offers.
    pub channels: ChannelSet,
    /// Records reported payments in group-committed batches.
    pub payments: PaymentWriter,
    /// Wakes the refund driver when a refund was just scheduled.
    pub refund_wake: Arc<tokio::sync::Notify>,
    /// What the scheduled jobs work with (tests run jobs through it).
    pub jobs: crate::jobs::JobEnv,
    /// The lookup page's limits (per client address, per decision number).
    pub lookup_limits: LookupLimits,
}
