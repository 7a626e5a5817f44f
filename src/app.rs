//! The application: connects the database, applies migrations, binds the listener (port 0 picks
//! a free one, as the tests do) and serves until stopped. `main.rs` and the tests both start
//! finepay through here, so the tests exercise the production wiring.

use crate::config::Settings;
use crate::context::AppContext;
use crate::db::{DbPool, migrate};
use crate::domain::time::{Clock, SystemClock};
use crate::fines::issue_write::{self, IssueEnv};
use crate::http::{self, metrics};
use crate::qr::cache::RenderCache;
use crate::qr::token::QrSigner;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use std::net::TcpListener;
use std::sync::Arc;

pub struct Application {
    port: u16,
    server: Server,
    context: web::Data<AppContext>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] crate::db::PoolError),
    #[error(transparent)]
    Migrate(#[from] migrate::MigrateError),
    #[error("binding {address}: {source}")]
    Bind { address: String, source: std::io::Error },
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
        let address = settings.server.listen.clone();
        let listener =
            TcpListener::bind(&address).map_err(|source| StartError::Bind { address: address.clone(), source })?;
        let port = listener.local_addr().map_err(|source| StartError::Bind { address, source })?.port();
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let issues = issue_write::start_writer(
            &pool,
            IssueEnv { settings: settings.clone(), signer: QrSigner::new(&settings.qr), clock: clock.clone() },
        )
        .map_err(|source| StartError::Bind { address: "issue writer thread".into(), source })?;
        let context = web::Data::new(AppContext {
            issues,
            signer: QrSigner::new(&settings.qr),
            renders: RenderCache::new(settings.qr.render_cache_entries),
            metrics: metrics::Metrics::default(),
            pool,
            clock,
            settings,
        });
        let app_context = context.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_context.clone())
                .wrap(from_fn(metrics::track))
                .configure(http::configure)
                .default_service(web::to(http::fallback))
        })
        .workers(workers)
        .listen(listener)
        .map_err(|source| StartError::Bind { address: format!("port {port}"), source })?
        .run();
        log::info!("finepay listening on port {port} ({} database, {workers} workers)", context.pool.backend().name());
        Ok(Application { port, server, context })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn context(&self) -> web::Data<AppContext> {
        self.context.clone()
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
