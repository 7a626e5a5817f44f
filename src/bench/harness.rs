//! What every benchmark stands on: a fresh database (a temporary SQLite file, or a fresh
//! PostgreSQL schema dropped afterwards), settings for a daemon on port 0, and peak-RSS readings
//! that can be reset between phases.

use crate::app::Settings;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub(crate) enum Target {
    Sqlite,
    Postgres(String),
}

impl Target {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Target::Sqlite => "sqlite",
            Target::Postgres(_) => "postgres",
        }
    }
}

/// A database that exists for one measurement and is removed afterwards.
pub(super) struct BenchDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Schema { base_url: String, schema: String },
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{}_{nanos}", std::process::id())
}

impl BenchDb {
    pub(super) fn fresh(target: &Target) -> anyhow::Result<BenchDb> {
        match target {
            Target::Sqlite => {
                let dir = std::env::temp_dir().join(format!("finepay-bench-{}", unique_suffix()));
                std::fs::create_dir_all(&dir)?;
                let url = format!("sqlite://{}", dir.join("bench.db").display());
                Ok(BenchDb { url, cleanup: Cleanup::Dir(dir) })
            }
            Target::Postgres(base_url) => {
                let schema = format!("bench_{}", unique_suffix());
                let mut conn = PgConnection::establish(base_url)?;
                conn.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
                let separator = if base_url.contains('?') { '&' } else { '?' };
                let url = format!("{base_url}{separator}options=-csearch_path%3D{schema}");
                Ok(BenchDb { url, cleanup: Cleanup::Schema { base_url: base_url.clone(), schema } })
            }
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { base_url, schema } => {
                if let Ok(mut conn) = PgConnection::establish(base_url) {
                    let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                }
            }
        }
    }
}

/// The shipped configuration (plus `--config`) on `db`, listening on a free loopback port.
pub(super) fn settings(config: Option<&Path>, db: &BenchDb, pool_size: usize) -> anyhow::Result<Settings> {
    settings_with(config, db, pool_size, &[])
}

/// As [`settings`], with `extra` overrides on top.
pub(super) fn settings_with(
    config: Option<&Path>,
    db: &BenchDb,
    pool_size: usize,
    extra: &[(&str, String)],
) -> anyhow::Result<Settings> {
    let pool_size = pool_size.to_string();
    let extra = extra.iter().map(|(key, value)| (*key, value.as_str()));
    Ok(Settings::load_with_overrides(
        config,
        &[
            ("server.listen", "127.0.0.1:0"),
            ("database.url", &db.url),
            ("database.pool_size", &pool_size),
            ("simulator.listen", "127.0.0.1:0"),
            ("channels.notify_base_url", "loopback"),
            // A benchmark runs the jobs it measures itself.
            ("jobs.expire", ""),
            ("jobs.reconcile", ""),
            ("jobs.refunds", ""),
            ("jobs.prune", ""),
            ("jobs.bank_inbox", ""),
        ]
        .into_iter()
        .chain(extra)
        .collect::<Vec<_>>(),
    )?)
}

/// finepay started for a benchmark, on the current actix system.
pub(super) struct Daemon {
    pub address: std::net::SocketAddr,
    pub ctx: actix_web::web::Data<crate::http::AppState>,
    pub server: actix_web::dev::ServerHandle,
    /// The channel simulator started beside it, if `[simulator]` enables it.
    pub simulator: Option<actix_web::web::Data<crate::channels::sim::Simulator>>,
}

/// Starts finepay with `settings`; call inside an actix system.
pub(super) fn start(settings: Settings) -> anyhow::Result<Daemon> {
    let app = crate::app::Application::build(settings)?;
    let daemon = Daemon {
        address: ([127, 0, 0, 1], app.port()).into(),
        ctx: app.context(),
        server: app.handle(),
        simulator: app.simulator().map(|sim| sim.simulator.clone()),
    };
    actix_web::rt::spawn(app.run_until_stopped());
    Ok(daemon)
}

/// Forgets the process's peak RSS so the next reading covers only what follows (Linux).
pub(super) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set size since the last reset, in MiB (0 where /proc is unavailable).
pub(super) fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}
