//! What every request handler shares: settings, the database pool, the QR signer, the render
//! cache, metrics and the clock. Built once by [`crate::app::Application`]. Nothing in it is state
//! another instance would need: all of that lives in the database.

use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::time::Clock;
use crate::fines::issue_write::IssueWriter;
use crate::http::metrics::Metrics;
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
}
