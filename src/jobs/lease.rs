//! A job's lease as the running job holds it: taken before the job starts, renewed between its
//! steps (a job that finds it lost stops at once), given back when it ends.

use super::{Job, JobEnv, JobError, write};
use crate::db::{DbPool, leases};
use crate::domain::time::Clock;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

pub struct Lease {
    job: Job,
    holder: String,
    pool: DbPool,
    clock: Arc<dyn Clock>,
    length: chrono::Duration,
    /// When the lease was last taken or renewed (on this process's monotonic clock).
    renewed: Mutex<Instant>,
}

impl Lease {
    /// The job's lease, or None when another instance holds it.
    pub async fn take(env: &JobEnv, job: Job) -> Result<Option<Lease>, JobError> {
        let length = chrono::Duration::from_std(env.settings.lease).unwrap_or(chrono::Duration::minutes(1));
        let lease = Lease {
            job,
            holder: env.holder.clone(),
            pool: env.pool.clone(),
            clock: env.clock.clone(),
            length,
            renewed: Mutex::new(Instant::now()),
        };
        let now = lease.clock.now().naive_utc();
        let (name, holder, until) = (job.as_str(), lease.holder.clone(), now + length);
        let taken = write(&lease.pool, move |conn| leases::take(conn, name, &holder, now, until)).await?;
        Ok(taken.then_some(lease))
    }

    /// Renews the lease once a third of it has gone by; cheap enough to call between any two steps.
    pub async fn renew_if_due(&self) -> Result<(), JobError> {
        let third = self.length.to_std().unwrap_or_default() / 3;
        if self.renewed.lock().unwrap_or_else(PoisonError::into_inner).elapsed() < third {
            return Ok(());
        }
        self.renew().await
    }

    /// Extends the lease; `LeaseLost` when another instance has taken the job over.
    pub async fn renew(&self) -> Result<(), JobError> {
        *self.renewed.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
        let (name, holder, until) =
            (self.job.as_str(), self.holder.clone(), self.clock.now().naive_utc() + self.length);
        let renewed = write(&self.pool, move |conn| leases::renew(conn, name, &holder, until)).await?;
        if renewed { Ok(()) } else { Err(JobError::LeaseLost) }
    }

    /// Gives the lease back, recording `outcome`.
    pub async fn release(self, outcome: &str) -> Result<(), JobError> {
        let (name, holder, at, outcome) =
            (self.job.as_str(), self.holder.clone(), self.clock.now().naive_utc(), outcome.to_owned());
        let released = write(&self.pool, move |conn| leases::release(conn, name, &holder, at, &outcome)).await?;
        if !released {
            log::warn!("job {}: the lease had run out before the run ended", name);
        }
        Ok(())
    }
}
