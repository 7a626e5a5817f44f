//! The composition root: reads the settings, connects the database, applies migrations, binds the
//! listener (port 0 picks a free one, as the tests do), hands each module the parts of the
//! settings it uses, and serves until stopped. `main.rs` and the tests both start finepay through
//! here, so the tests exercise the production wiring.

pub mod commands;
mod config;
pub mod logging;

pub use config::{ConfigError, Settings};

use crate::channels::NOTIFY_LOOPBACK;
use crate::channels::sim::{self, SimServer};
use crate::db::{DbPool, migrate};
use crate::domain::time::{Clock, SystemClock};
use crate::fines::{self, IssueEnv};
use crate::http::{self, AppState, LookupLimits, Metrics};
use crate::jobs::{self, JobEnv};
use crate::payments::{
    self, ChannelSet, ChannelSetupError, Endpoints, OrderCloser, PaymentWriter, RecentQueries, RefundDriver,
};
use crate::qr::{QrSigner, RenderCache};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use std::net::TcpListener;
use std::sync::Arc;

/// The pay page asks a channel about one order at most this often, however many pages poll.
const PAGE_QUERY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

pub struct Application {
    port: u16,
    server: Server,
    context: web::Data<AppState>,
    simulator: Option<SimServer>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] crate::db::PoolError),
    #[error(transparent)]
    Migrate(#[from] migrate::MigrateError),
    #[error("marking interrupted statement imports")]
    Recover(#[from] crate::bank::ImportError),
    #[error("binding {address}")]
    Bind { address: String, source: std::io::Error },
    #[error("starting the {what} thread")]
    Spawn { what: &'static str, source: std::io::Error },
    #[error(transparent)]
    Channel(#[from] ChannelSetupError),
    #[error("starting the simulator")]
    Simulator(#[from] sim::SetupError),
}

impl Application {
    pub fn build(settings: Settings) -> Result<Application, StartError> {
        Self::build_with_clock(settings, Arc::new(SystemClock))
    }

    pub fn build_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> Result<Application, StartError> {
        let db = &settings.database;
        let pool = DbPool::connect(&db.url, db.pool_size, db.connect_timeout)?;
        let applied = migrate::run_pending(&pool)?;
        if !applied.is_empty() {
            log::info!("applied migrations: {}", applied.join(", "));
        }
        // An import killed with an earlier process is marked now, not left `importing`.
        crate::bank::recover_interrupted(&pool, clock.now())?;
        let address = settings.server.listen.clone();
        let listener =
            TcpListener::bind(&address).map_err(|source| StartError::Bind { address: address.clone(), source })?;
        let port = listener.local_addr().map_err(|source| StartError::Bind { address, source })?.port();
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let signer = QrSigner::new(settings.qr.current_key, &settings.qr.keys);
        let issues = fines::start_issue_writer(
            &pool,
            IssueEnv {
                catalogue: settings.catalogue.clone(),
                districts: settings.districts.clone(),
                qr_policy: settings.qr.policy,
                public_base_url: settings.server.public_base_url.clone(),
                signer: signer.clone(),
                clock: clock.clone(),
                write_timeout: settings.database.write_timeout,
            },
        )
        .map_err(|source| StartError::Spawn { what: "issue writer", source })?;
        let simulator = if settings.simulator.enabled { Some(start_simulator(&settings, &clock)?) } else { None };
        let simulator_url = simulator.as_ref().map(|s| format!("http://127.0.0.1:{}", s.port));
        let notify_base_url = match settings.channels.notify_base_url.as_str() {
            NOTIFY_LOOPBACK => format!("http://127.0.0.1:{port}"),
            url => url.to_owned(),
        };
        let endpoints = Endpoints { simulator_url: simulator_url.as_deref(), notify_base_url: &notify_base_url };
        let channels = ChannelSet::from_settings(&settings.channels, &endpoints, clock.clone())?;
        let payments = payments::start_payment_writer(&pool, clock.clone(), settings.database.write_timeout)
            .map_err(|source| StartError::Spawn { what: "payment writer", source })?;
        let refund_wake = Arc::new(tokio::sync::Notify::new());
        let jobs = job_env(&settings, &pool, &channels, &payments, &clock);
        jobs::start_scheduler(&jobs, &settings.jobs.schedules, &refund_wake);
        let closer = OrderCloser {
            channels: channels.clone(),
            writer: payments.clone(),
            pool: pool.clone(),
            clock: clock.clone(),
            refund_wake: refund_wake.clone(),
        };
        let context = web::Data::new(AppState {
            jobs,
            channels,
            payments,
            closer,
            refund_wake,
            recent_queries: RecentQueries::new(PAGE_QUERY_INTERVAL),
            issues,
            signer,
            lookup_limits: LookupLimits::new(&settings.lookup),
            renders: RenderCache::new(settings.qr.render_cache_entries),
            metrics: Metrics::default(),
            pool,
            clock,
            schedules: settings.jobs.schedules,
            server: settings.server,
            admin: settings.admin,
            catalogue: settings.catalogue,
            districts: settings.districts,
            bank: settings.bank,
            bill: settings.bill,
        });
        let app_context = context.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_context.clone())
                .wrap(from_fn(http::framing_guard))
                .wrap(from_fn(http::track))
                .configure(http::configure)
                .default_service(web::to(http::fallback))
        })
        .on_connect(http::mark_connection)
        .workers(workers)
        .listen(listener)
        .map_err(|source| StartError::Bind { address: format!("port {port}"), source })?
        .run();
        log::info!("finepay listening on port {port} ({} database, {workers} workers)", context.pool.backend().name());
        Ok(Application { port, server, context, simulator })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn context(&self) -> web::Data<AppState> {
        self.context.clone()
    }

    /// The simulator started beside the daemon, if `[simulator]` enables it.
    pub fn simulator(&self) -> Option<&SimServer> {
        self.simulator.as_ref()
    }

    /// Serves until the process is told to stop (SIGINT/SIGTERM finish in-flight requests).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// A handle to stop the server from elsewhere (benchmarks stop their own daemon).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// What the scheduled jobs work with, sharing the daemon's pool, channels and payment writer.
fn job_env(
    settings: &Settings,
    pool: &DbPool,
    channels: &ChannelSet,
    payments: &PaymentWriter,
    clock: &Arc<dyn Clock>,
) -> JobEnv {
    let refunds = RefundDriver {
        pool: pool.clone(),
        channels: channels.clone(),
        clock: clock.clone(),
        retry: settings.channels.refund_retry,
        retry_max: settings.channels.refund_retry_max,
    };
    JobEnv {
        pool: pool.clone(),
        channels: channels.clone(),
        payments: payments.clone(),
        refunds,
        clock: clock.clone(),
        settings: settings.jobs.scheduler.clone(),
        bank: settings.bank.clone(),
        holder: jobs::holder_name(),
    }
}

/// The jobs alone, for `finepay jobs run`: the database, the channels and a payment writer, no
/// HTTP server. Channels set to "simulator" are reached at `simulator.listen`, where the
/// simulator of a running `finepay serve` (or `finepay channel-sim`) answers.
pub fn standalone_jobs(settings: &Settings) -> Result<JobEnv, StartError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let db = &settings.database;
    let pool = DbPool::connect(&db.url, db.pool_size, db.connect_timeout)?;
    migrate::run_pending(&pool)?;
    let simulator_url = format!("http://{}", settings.simulator.listen);
    let endpoints =
        Endpoints { simulator_url: Some(&simulator_url), notify_base_url: &settings.server.public_base_url };
    let channels = ChannelSet::from_settings(&settings.channels, &endpoints, clock.clone())?;
    let payments = payments::start_payment_writer(&pool, clock.clone(), settings.database.write_timeout)
        .map_err(|source| StartError::Spawn { what: "payment writer", source })?;
    Ok(job_env(settings, &pool, &channels, &payments, &clock))
}

/// Binds the simulator's address, then builds it with pay links that name the bound port.
pub fn start_simulator(settings: &Settings, clock: &Arc<dyn Clock>) -> Result<SimServer, StartError> {
    let address = settings.simulator.listen.clone();
    let listener =
        TcpListener::bind(&address).map_err(|source| StartError::Bind { address: address.clone(), source })?;
    let port = listener.local_addr().map_err(|source| StartError::Bind { address: address.clone(), source })?.port();
    let public_url = format!("http://127.0.0.1:{port}");
    let simulator = sim::from_settings(&settings.simulator, &settings.channels, &public_url, clock.clone())?;
    let server = sim::start_on(listener, simulator).map_err(|source| StartError::Bind { address, source })?;
    log::info!("channel simulator listening on port {}", server.port);
    Ok(server)
}
