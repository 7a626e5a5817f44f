//! The scheduler: one task per switched-on job that sleeps until the job's next cron time (wall
//! clock, Beijing) and then runs it through [`run_once`] — which does nothing when another
//! instance holds the lease. A run that overruns its next time skips the ticks it missed. The
//! refunds job also runs as soon as a refund is scheduled (`wake`), so money goes back at once.

use super::{Job, JobEnv, RunOutcome, run_once};
use crate::domain::time::SHANGHAI;
use chrono::Utc;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Notify;

/// Starts the switched-on jobs on the current actix runtime.
pub fn start(env: &JobEnv, schedules: &BTreeMap<Job, cron::Schedule>, refund_wake: &Arc<Notify>) {
    for (job, schedule) in schedules {
        let (job, schedule, env) = (*job, schedule.clone(), env.clone());
        let wake = (job == Job::Refunds).then(|| refund_wake.clone());
        log::info!("job {} scheduled: {schedule}", job.as_str());
        actix_web::rt::spawn(async move {
            while let Some(next) = schedule.upcoming(SHANGHAI).next() {
                let wait = (next.with_timezone(&Utc) - Utc::now()).to_std().unwrap_or_default();
                match &wake {
                    Some(wake) => tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = wake.notified() => {}
                    },
                    None => tokio::time::sleep(wait).await,
                }
                match run_once(&env, job).await {
                    Ok(RunOutcome::Ran { .. } | RunOutcome::Busy) => {}
                    Err(e) => log::error!("job {}: {e}", job.as_str()),
                }
            }
        });
    }
}
