//! `expire`: the back office follows the QR window. For every channel order still open after its
//! window ended, the channel is asked first (a payment it reports is applied as if notified), then
//! told to close the order (a close refused because the payer just paid is a payment too). Then
//! the fines whose window ended, still awaiting payment and with no order left open, move to
//! `payable_at_bank` in set-based batches, each fine audited.
//!
//! Each channel's orders are worked through on their own, a few calls in flight at a time, so a
//! slow or failing channel delays only its own orders; an order that could not be settled stays
//! open, its fine waits, and the next run starts again from whatever is still open.

use super::lease::Lease;
use super::{JobEnv, JobError, background, read};
use crate::channels::ChannelKind;
use crate::db::channel_orders::{self, ChannelOrderRow};
use crate::db::fines::{self, HandedOver};
use crate::db::{DbConnection, DbPool, audit};
use crate::payments::{self, OrderClosing, close_order};
use chrono::{NaiveDateTime, SubsecRound};
use futures_util::StreamExt;
use serde::Serialize;
use std::time::{Duration, Instant};

pub(super) const ACTOR: &str = "system:expire";
pub const HANDED_OVER: &str = "fine.payable_at_bank";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub(super) struct ExpireReport {
    /// Open orders whose window had ended.
    pub orders: usize,
    /// Of those, paid after all (found by the query or by a refused close) and recorded.
    pub orders_paid: usize,
    pub orders_closed: usize,
    /// Not settled this run (the channel did not answer); their fines wait for the next run.
    pub orders_failed: usize,
    pub fines_handed_over: usize,
}

pub(super) async fn run(env: &JobEnv, lease: &Lease) -> Result<ExpireReport, JobError> {
    let now = env.clock.now().trunc_subsecs(0).naive_utc();
    // Most ended fines never had an order: they go to the banks while the channels are asked
    // about the others, whose fines follow once their orders are settled.
    let (settled, without_orders) =
        futures_util::future::join(settle_ended_orders(env, lease, now), hand_over_all(env, lease, now)).await;
    let mut report = settled?;
    report.fines_handed_over = without_orders? + hand_over_all(env, lease, now).await?;
    Ok(report)
}

/// Hands over, batch by batch, every ended fine with no order left open; how many went.
async fn hand_over_all(env: &JobEnv, lease: &Lease, now: NaiveDateTime) -> Result<usize, JobError> {
    let mut size = BatchSize::new(env.settings.expire_batch, env.pool.is_sqlite());
    let mut handed_over = 0;
    loop {
        let pool = env.pool.clone();
        let (handed, done, sized) = background::run(move || hand_over_for_a_while(&pool, now, size)).await?;
        handed_over += handed;
        if done {
            return Ok(handed_over);
        }
        size = sized;
        lease.renew_if_due().await?;
    }
}

/// How long the hand-over works on its thread before it looks at its lease again.
const WORK_BETWEEN_LEASE_CHECKS: Duration = Duration::from_millis(100);

/// Batches on one connection until nothing is left (`done`) or it is time to look at the lease.
fn hand_over_for_a_while(
    pool: &DbPool,
    now: NaiveDateTime,
    mut size: BatchSize,
) -> Result<(usize, bool, BatchSize), JobError> {
    let mut conn = pool.get()?;
    let started = Instant::now();
    let mut handed = 0;
    loop {
        let limit = size.next();
        let mut began = None;
        let moved = pool.write_in_background(&mut conn, |conn| {
            began = Some(Instant::now());
            hand_over_batch(conn, now, limit)
        })?;
        size.observe(moved, began.map(|at| at.elapsed()));
        handed += moved;
        if moved == 0 {
            return Ok((handed, true, size));
        }
        if started.elapsed() >= WORK_BETWEEN_LEASE_CHECKS {
            return Ok((handed, false, size));
        }
    }
}

/// How long one hand-over transaction may hold SQLite's single write lock: an officer's fine
/// arriving meanwhile waits at most about this long.
const SQLITE_SLICE: Duration = Duration::from_micros(500);
const SQLITE_FIRST_BATCH: usize = 16;
const SQLITE_SMALLEST_BATCH: usize = 4;

/// Fines per hand-over transaction. On PostgreSQL `scheduler.expire_batch`: row locks, so
/// requests never wait for a batch. On SQLite a transaction holds the only write lock, so the
/// batch is sized to a time slice instead — from what the last full batches took — and never
/// above `expire_batch`.
#[derive(Debug, Clone, Copy)]
struct BatchSize {
    current: usize,
    most: usize,
    slice: Option<Duration>,
}

impl BatchSize {
    fn new(most: usize, sqlite: bool) -> BatchSize {
        let most = most.max(1);
        match sqlite {
            true => BatchSize { current: SQLITE_FIRST_BATCH.min(most), most, slice: Some(SQLITE_SLICE) },
            false => BatchSize { current: most, most, slice: None },
        }
    }

    fn next(&self) -> i64 {
        i64::try_from(self.current).unwrap_or(i64::MAX)
    }

    /// Learns from a batch that moved `moved` fines in `took` (writing, commit included).
    fn observe(&mut self, moved: usize, took: Option<Duration>) {
        let (Some(slice), Some(took)) = (self.slice, took) else { return };
        // A short batch (the last one) says nothing about the rate.
        if moved < self.current || took.is_zero() {
            return;
        }
        let fits = (slice.as_secs_f64() / took.as_secs_f64() * moved as f64) as usize;
        // Halfway towards what fits, so one slow batch (a page fault, a preemption) moves it little.
        self.current = ((self.current + fits) / 2).clamp(SQLITE_SMALLEST_BATCH.min(self.most), self.most);
    }
}

/// One batch: the fines moved and their audit entries, in one transaction.
fn hand_over_batch(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> diesel::QueryResult<usize> {
    let moved = fines::hand_over_ended(conn, now, limit)?;
    if moved.is_empty() {
        return Ok(0);
    }
    let details: Vec<String> = moved.iter().map(details_of).collect();
    let entries: Vec<audit::NewAuditEntry<'_>> = moved
        .iter()
        .zip(&details)
        .map(|(fine, details)| audit::NewAuditEntry {
            at: now,
            actor: ACTOR,
            action: HANDED_OVER,
            decision_no: Some(&fine.decision_no),
            details,
        })
        .collect();
    audit::record_many(conn, &entries)?;
    Ok(moved.len())
}

fn details_of(fine: &HandedOver) -> String {
    #[derive(Serialize)]
    struct Details {
        qr_window_ended_at: Option<String>,
    }
    let ended = fine.qr_expires_at.map(|at| crate::domain::time::rfc3339(crate::domain::time::utc(at)));
    serde_json::to_string(&Details { qr_window_ended_at: ended }).unwrap_or_else(|_| "{}".into())
}

/// Queries and closes every open order whose window has ended, each channel on its own.
async fn settle_ended_orders(env: &JobEnv, lease: &Lease, now: NaiveDateTime) -> Result<ExpireReport, JobError> {
    let orders = read(&env.pool, move |conn| channel_orders::ended_open(conn, now)).await?;
    let per_channel = ChannelKind::ALL.map(|kind| {
        let mine: Vec<ChannelOrderRow> = orders.iter().filter(|o| o.channel == kind.as_str()).cloned().collect();
        settle_channel(env, lease, mine)
    });
    let mut report = ExpireReport { orders: orders.len(), ..ExpireReport::default() };
    for result in futures_util::future::join_all(per_channel).await {
        let part = result?;
        report.orders_paid += part.orders_paid;
        report.orders_closed += part.orders_closed;
        report.orders_failed += part.orders_failed;
    }
    Ok(report)
}

/// Calls per channel between two looks at the lease.
const LEASE_CHECK_EVERY: usize = 64;

async fn settle_channel(env: &JobEnv, lease: &Lease, orders: Vec<ChannelOrderRow>) -> Result<ExpireReport, JobError> {
    let mut report = ExpireReport::default();
    // Owned orders: a borrowing closure here makes the future not provably `Send`.
    let mut outcomes = futures_util::stream::iter(orders.into_iter().map(|order| settle_order(env, order)))
        .buffer_unordered(env.settings.channel_concurrency);
    let mut seen = 0;
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            OrderClosing::Closed => report.orders_closed += 1,
            OrderClosing::Paid(_) => report.orders_paid += 1,
            OrderClosing::Failed(_) => report.orders_failed += 1,
        }
        seen += 1;
        if seen % LEASE_CHECK_EVERY == 0 {
            lease.renew_if_due().await?;
        }
    }
    Ok(report)
}

/// Query first, then close: a payment the channel already has is applied, never closed away.
async fn settle_order(env: &JobEnv, order: ChannelOrderRow) -> OrderClosing {
    match payments::settle_order(&env.channels, &env.payments, &order).await {
        Ok(Some(recorded)) => OrderClosing::Paid(recorded),
        Ok(None) => {
            let closed = close_order(&env.channels, &env.payments, &env.pool, &*env.clock, &order).await;
            if let OrderClosing::Failed(why) = &closed {
                log::warn!("expire: closing order {}: {why}", order.out_trade_no);
            }
            closed
        }
        Err(why) => {
            log::warn!("expire: querying order {}: {why}", order.out_trade_no);
            OrderClosing::Failed(why)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_batches_grow_and_shrink_towards_the_slice_within_bounds() {
        let mut size = BatchSize::new(500, true);
        assert_eq!(size.next(), 16, "starts small");
        // 16 fines in a tenth of the slice: room for 160, so halfway there.
        size.observe(16, Some(SQLITE_SLICE / 10));
        assert_eq!(size.next(), 88);
        // A batch four times over the slice shrinks it.
        size.observe(88, Some(SQLITE_SLICE * 4));
        assert_eq!(size.next(), 55);
        // The last, short batch says nothing; nor does one that took no time.
        size.observe(3, Some(SQLITE_SLICE * 100));
        size.observe(55, Some(Duration::ZERO));
        assert_eq!(size.next(), 55);
        // Never above expire_batch, never below the floor.
        size.observe(55, Some(Duration::from_nanos(1)));
        assert_eq!(size.next(), 500);
        for _ in 0..20 {
            let current = size.current;
            size.observe(current, Some(Duration::from_secs(1)));
        }
        assert_eq!(size.next(), SQLITE_SMALLEST_BATCH as i64);
    }

    #[test]
    fn postgres_batches_are_expire_batch_whatever_they_take() {
        let mut size = BatchSize::new(500, false);
        size.observe(500, Some(Duration::from_secs(3)));
        assert_eq!(size.next(), 500);
        assert_eq!(BatchSize::new(8, true).next(), 8, "a configured batch below the first size wins");
    }
}
