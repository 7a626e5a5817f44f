//! Scheduled jobs: the back office that follows the QR windows. Each job is set-based and
//! idempotent — every change it makes is a conditional update — and runs under a lease in the
//! database, so any number of instances can share one schedule. Every job has a run-once
//! function, [`run_once`], that the scheduler, `finepay jobs run` and the tests all call.

use serde::Serialize;

/// The scheduled jobs, by the names `[jobs]` and `finepay jobs run` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    Expire,
    Reconcile,
    Refunds,
    Prune,
    BankInbox,
}

impl Job {
    pub const ALL: [Job; 5] = [Job::Expire, Job::Reconcile, Job::Refunds, Job::Prune, Job::BankInbox];

    pub fn as_str(self) -> &'static str {
        match self {
            Job::Expire => "expire",
            Job::Reconcile => "reconcile",
            Job::Refunds => "refunds",
            Job::Prune => "prune",
            Job::BankInbox => "bank_inbox",
        }
    }

    pub fn parse(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|job| job.as_str() == name)
    }
}

mod background;
mod bank_inbox;
mod expire;
mod lease;
mod prune;
mod reconcile;
mod scheduler;
mod settings;

pub use expire::HANDED_OVER;
pub use lease::Lease;
pub use scheduler::start as start_scheduler;
pub use settings::{JobSettings, SchedulerSettings};

use crate::bank::BankSettings;
use crate::db::{DbConnection, DbPool};
use crate::domain::time::{Clock, shanghai_wall_clock, utc};
use crate::errors::Why;
use crate::payments::{ChannelSet, PaymentWriter, RefundDriver};
use std::sync::Arc;

/// What the jobs work with. Built once per process (by the daemon or by `finepay jobs run`).
#[derive(Clone)]
pub struct JobEnv {
    pub pool: DbPool,
    pub channels: ChannelSet,
    pub payments: PaymentWriter,
    pub refunds: RefundDriver,
    pub clock: Arc<dyn Clock>,
    pub settings: SchedulerSettings,
    /// Where statements arrive (`bank_inbox`) and how they are imported.
    pub bank: BankSettings,
    /// This process's name on the leases it takes: host, process id and a random part.
    pub holder: String,
}

/// How one call of [`run_once`] ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RunOutcome {
    /// The job ran; what it did.
    Ran { report: serde_json::Value },
    /// Another instance holds the job's lease: it is running there now.
    Busy,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("the database failed")]
    Database(#[from] diesel::result::Error),
    #[error("no database connection")]
    Pool(#[from] crate::db::PoolError),
    #[error("the refunds pass stopped")]
    Refunds(#[from] crate::payments::WorkError),
    #[error("the jobs' {0}")]
    Runtime(&'static str, #[source] Why),
    #[error("the lease was lost (it ran out and another instance took the job over); stopped")]
    LeaseLost,
}

/// Runs `job` once, now, if no other instance is running it: takes its lease, runs it, gives
/// the lease back with a line on how it ended.
///
/// The job runs on the jobs' own low-priority runtime (see `background`), whatever runtime
/// the caller is on.
pub async fn run_once(env: &JobEnv, job: Job) -> Result<RunOutcome, JobError> {
    let env = env.clone();
    background::spawn(async move { run_here(&env, job).await }).await
}

async fn run_here(env: &JobEnv, job: Job) -> Result<RunOutcome, JobError> {
    let Some(lease) = Lease::take(env, job).await? else {
        log::debug!("job {}: another instance holds the lease", job.as_str());
        return Ok(RunOutcome::Busy);
    };
    let started = std::time::Instant::now();
    let result = match job {
        Job::Expire => expire::run(env, &lease).await.map(to_json),
        Job::Reconcile => reconcile::run(env, &lease).await.map(to_json),
        Job::Refunds => Ok(to_json(env.refunds.run_due().await?)),
        Job::Prune => prune::run(env).await.map(to_json),
        Job::BankInbox => bank_inbox::run(env, &lease).await.map(to_json),
    };
    let outcome = match &result {
        Ok(report) => report.to_string(),
        Err(e) => serde_json::json!({ "error": crate::errors::chain(e) }).to_string(),
    };
    lease.release(&outcome).await?;
    let report = result?;
    log::info!("job {} done in {:.1?}: {report}", job.as_str(), started.elapsed());
    Ok(RunOutcome::Ran { report })
}

fn to_json(report: impl Serialize) -> serde_json::Value {
    serde_json::to_value(report).unwrap_or_else(|e| serde_json::Value::String(e.to_string()))
}

/// Runs a read on a pooled connection, on the jobs' database thread.
pub(crate) async fn read<T: Send + 'static>(
    pool: &DbPool,
    work: impl FnOnce(&mut DbConnection) -> diesel::QueryResult<T> + Send + 'static,
) -> Result<T, JobError> {
    let pool = pool.clone();
    background::run(move || {
        let mut conn = pool.get()?;
        Ok(work(&mut conn)?)
    })
    .await
}

/// Runs `work` as one write transaction on the jobs' database thread, after any waiting
/// request's write (see [`DbPool::write_in_background`]).
pub(crate) async fn write<T: Send + 'static>(
    pool: &DbPool,
    work: impl FnOnce(&mut DbConnection) -> diesel::QueryResult<T> + Send + 'static,
) -> Result<T, JobError> {
    let pool = pool.clone();
    background::run(move || {
        let mut conn = pool.get()?;
        Ok(pool.write_in_background(&mut conn, work)?)
    })
    .await
}

/// A lease holder name unique to this process.
pub fn holder_name() -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "host".into());
    let mut random = [0u8; 4];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random);
    format!("{host}:{}:{}", std::process::id(), data_encoding::HEXLOWER.encode(&random))
}

/// The leases as a text table for `finepay jobs status`.
pub fn status_table(rows: &[crate::db::leases::LeaseRow]) -> String {
    let time = |at: Option<chrono::NaiveDateTime>| at.map_or("-".to_owned(), |at| shanghai_wall_clock(utc(at)));
    let mut out = format!(
        "{:<10} {:<6} {:<20} {:<20} {:<34} LAST OUTCOME\n",
        "JOB", "RUNS", "LAST START (+08:00)", "LAST END (+08:00)", "HELD BY"
    );
    for row in rows {
        let held = match (&row.holder, row.lease_until) {
            (Some(holder), Some(until)) => format!("{holder} until {}", &shanghai_wall_clock(utc(until))[11..]),
            _ => "-".to_owned(),
        };
        let outcome = row.last_outcome.as_deref().unwrap_or("-");
        out.push_str(&format!(
            "{:<10} {:<6} {:<20} {:<20} {held:<34} {outcome}\n",
            row.job,
            row.runs,
            time(row.last_started_at),
            time(row.last_finished_at)
        ));
    }
    out
}
