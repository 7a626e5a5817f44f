//! What every request handler shares: the settings the handlers read, the database pool, the QR
//! signer and render cache, metrics, the clock, the payment channels and the writers. Built once
//! at start by the composition root. Nothing in it is state another instance would need: all of
//! that lives in the database.

use super::lookup::LookupLimits;
use super::metrics::Metrics;
use super::settings::{AdminSettings, ServerSettings};
use crate::bank::BankSettings;
use crate::bill::BillSettings;
use crate::db::DbPool;
use crate::domain::time::Clock;
use crate::domain::{Catalogue, Districts};
use crate::fines::{IssueWriter, ViewContext};
use crate::jobs::{Job, JobEnv};
use crate::payments::{ChannelSet, OrderCloser, PaymentWriter, RecentQueries};
use crate::qr::{QrSigner, RenderCache};
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct AppState {
    pub server: ServerSettings,
    /// How long the desk's sessions last.
    pub admin: AdminSettings,
    pub catalogue: Catalogue,
    pub districts: Districts,
    /// Who issues the bills and the font they are drawn with.
    pub bill: BillSettings,
    /// The late surcharge's rule and how statements are taken.
    pub bank: BankSettings,
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
    /// Closes the channel orders of a fine that can no longer be paid by QR.
    pub closer: OrderCloser,
    /// When the pay page last asked a channel about each order (pages poll; channels are asked
    /// at most every few seconds).
    pub recent_queries: RecentQueries,
    /// Wakes the refund driver when a refund was just scheduled.
    pub refund_wake: Arc<tokio::sync::Notify>,
    /// What the scheduled jobs work with (tests run jobs through it).
    pub jobs: JobEnv,
    /// When each job that is switched on runs.
    pub schedules: BTreeMap<Job, cron::Schedule>,
    /// The lookup page's limits (per client address, per decision number).
    pub lookup_limits: LookupLimits,
}

impl AppState {
    /// What the officer API's fine views are built with.
    pub fn view(&self) -> ViewContext<'_> {
        ViewContext::new(&self.signer, &self.server.public_base_url, &self.catalogue)
    }
}
