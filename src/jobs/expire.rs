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
use super::{JobEnv, JobError, read, write};
use crate::channels::ChannelKind;
use crate::db::channel_orders::{self, ChannelOrderRow};
use crate::db::fines::{self, HandedOver};
use crate::db::{DbConnection, audit};
use crate::payments::close::{self, Closed};
use crate::payments::query;
use chrono::{NaiveDateTime, SubsecRound};
use futures_util::StreamExt;
use serde::Serialize;

pub const ACTOR: &str = "system:expire";
pub const HANDED_OVER: &str = "fine.payable_at_bank";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExpireReport {
    /// Open orders whose window had ended.
    pub orders: usize,
    /// Of those, paid after all (found by the query or by a refused close) and recorded.
    pub orders_paid: usize,
    pub orders_closed: usize,
    /// Not settled this run (the channel did not answer); their fines wait for the next run.
    pub orders_failed: usize,
    pub fines_handed_over: usize,
}

pub async fn run(env: &JobEnv, lease: &Lease) -> Result<ExpireReport, JobError> {
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
    let batch = i64::try_from(env.settings.expire_batch).unwrap_or(500);
    let mut handed_over = 0;
    loop {
        let handed = write(&env.pool, move |conn| hand_over_batch(conn, now, batch)).await?;
        handed_over += handed;
        if handed == 0 {
            return Ok(handed_over);
        }
        lease.renew_if_due().await?;
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
    let ended = fine.qr_expires_at.map(|at| crate::domain::time::rfc3339(crate::fines::utc(at)));
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
    let mut outcomes = futures_util::stream::iter(orders.iter().map(|order| settle_order(env, order)))
        .buffer_unordered(env.settings.channel_concurrency);
    let mut seen = 0;
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Closed::Closed => report.orders_closed += 1,
            Closed::Paid(_) => report.orders_paid += 1,
            Closed::Failed(_) => report.orders_failed += 1,
        }
        seen += 1;
        if seen % LEASE_CHECK_EVERY == 0 {
            lease.renew_if_due().await?;
        }
    }
    Ok(report)
}

/// Query first, then close: a payment the channel already has is applied, never closed away.
async fn settle_order(env: &JobEnv, order: &ChannelOrderRow) -> Closed {
    match query::settle_order(&env.channels, &env.payments, order).await {
        Ok(Some(recorded)) => Closed::Paid(recorded),
        Ok(None) => {
            let closed = close::close_order(&env.channels, &env.payments, &env.pool, &*env.clock, order).await;
            if let Closed::Failed(why) = &closed {
                log::warn!("expire: closing order {}: {why}", order.out_trade_no);
            }
            closed
        }
        Err(why) => {
            log::warn!("expire: querying order {}: {why}", order.out_trade_no);
            Closed::Failed(why)
        }
    }
}
