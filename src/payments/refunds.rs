//! Refunds, driven to completion. A payment that could not pay its fine gets a pending refund in
//! the same transaction that recorded it; this driver asks the payment's own channel to refund it
//! (by a refund number the channel treats as its idempotency key), then asks again, with growing
//! pauses, until the channel says it succeeded or gave up. Any instance may run it: asking twice
//! is the same refund, and the final state is written with a conditional update. The `refunds`
//! job runs its passes.

use super::WorkError;
use super::channel_set::ChannelSet;
use crate::channels::{ChannelError, ChannelKind, RefundRequest, RefundStatus};
use crate::db::refunds::{self, RefundRow};
use crate::db::{DbPool, audit};
use crate::domain::Fen;
use crate::domain::time::{Clock, utc};
use crate::errors::Why;
use chrono::{DateTime, SubsecRound, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Refunds looked at in one pass.
const PASS_SIZE: i64 = 100;

#[derive(Clone)]
pub struct RefundDriver {
    pub pool: DbPool,
    pub channels: ChannelSet,
    pub clock: Arc<dyn Clock>,
    /// The first pause before asking again; it doubles up to `retry_max`.
    pub retry: Duration,
    pub retry_max: Duration,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PassReport {
    pub succeeded: usize,
    pub failed: usize,
    pub pending: usize,
}

impl RefundDriver {
    /// One pass over the refunds that are due.
    pub async fn run_due(&self) -> Result<PassReport, WorkError> {
        let now = self.clock.now().trunc_subsecs(0);
        let due = self.blocking(move |pool| Ok(refunds::due(&mut *pool.get()?, now.naive_utc(), PASS_SIZE)?));
        let mut report = PassReport::default();
        for refund in due.await? {
            let status = self.ask(&refund).await;
            match &status {
                Ok(RefundStatus::Succeeded { .. }) => report.succeeded += 1,
                Ok(RefundStatus::Failed(_)) => report.failed += 1,
                _ => report.pending += 1,
            }
            let next = now + self.pause_after(refund.attempts);
            self.blocking(move |pool| record(pool, &refund, status, now, next)).await?;
        }
        Ok(report)
    }

    /// Asks the channel to refund (first time), or how the refund is doing (later).
    async fn ask(&self, refund: &RefundRow) -> Result<RefundStatus, ChannelError> {
        let kind = ChannelKind::parse(&refund.channel)
            .ok_or_else(|| ChannelError::Malformed(format!("unknown channel {}", refund.channel).into()))?;
        let channel = self
            .channels
            .get(kind)
            .ok_or_else(|| ChannelError::Transport(format!("channel {} is not configured", refund.channel).into()))?;
        let mut request = RefundRequest {
            out_trade_no: refund.out_trade_no.clone(),
            channel_txn_id: refund.channel_txn_id.clone(),
            out_refund_no: refund.out_refund_no.clone(),
            requested_at: utc(refund.requested_at),
            // Numbered by finepay: an order number it cannot read is a code of the QR flow.
            flow: super::open::flow_of(&refund.out_trade_no).unwrap_or(crate::channels::Flow::Qr),
            paid: Fen(refund.paid_fen),
            amount: Fen(refund.amount_fen),
            reason: refund.reason.clone(),
        };
        if refund.attempts == 0 {
            return channel.refund(&request).await;
        }
        match channel.query_refund(&request).await {
            // The channel never received the request (it failed on the way): send it again, dated
            // now — the first date may be too old for UnionPay to take.
            Err(ChannelError::Refused { .. }) => {
                let now = self.clock.now().trunc_subsecs(0);
                let no = refund.out_refund_no.clone();
                let redated = self.blocking(move |pool| Ok(refunds::redate(&mut *pool.get()?, &no, now.naive_utc())?));
                if !redated.await.map_err(|e| ChannelError::Transport(Why::of(e)))? {
                    return Err(ChannelError::Transport("the refund is no longer pending".into()));
                }
                request.requested_at = now;
                channel.refund(&request).await
            }
            other => other,
        }
    }

    fn pause_after(&self, attempts: i32) -> chrono::Duration {
        let doubled = self.retry.saturating_mul(1u32 << attempts.clamp(0, 16));
        chrono::Duration::from_std(doubled.min(self.retry_max)).unwrap_or(chrono::Duration::hours(1))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&DbPool) -> Result<T, WorkError> + Send + 'static,
    ) -> Result<T, WorkError> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || work(&pool)).await?
    }
}

fn record(
    pool: &DbPool,
    refund: &RefundRow,
    status: Result<RefundStatus, ChannelError>,
    now: DateTime<Utc>,
    next: DateTime<Utc>,
) -> Result<(), WorkError> {
    let mut conn = pool.get()?;
    let at = now.naive_utc();
    let no = refund.out_refund_no.as_str();
    pool.write(&mut conn, |conn| {
        let (action, details) = match &status {
            Ok(RefundStatus::Succeeded { channel_refund_id, at: refunded_at }) => {
                if !refunds::complete(conn, no, "succeeded", Some(channel_refund_id), None, at)? {
                    return Ok(());
                }
                let details = serde_json::json!({
                    "out_refund_no": no, "channel_refund_id": channel_refund_id,
                    "amount_fen": refund.amount_fen, "refunded_at": crate::domain::time::rfc3339(*refunded_at),
                });
                ("refund.succeeded", details)
            }
            Ok(RefundStatus::Failed(why)) => {
                if !refunds::complete(conn, no, "failed", None, Some(why), at)? {
                    return Ok(());
                }
                log::error!("refund {no} failed at the channel ({why}); it needs a person");
                ("refund.failed", serde_json::json!({"out_refund_no": no, "reason": why}))
            }
            Ok(RefundStatus::Processing) => {
                refunds::retry_later(conn, no, next.naive_utc(), None)?;
                return Ok(());
            }
            Err(e) => {
                log::warn!("refund {no}: {e}; asking again at {next}");
                refunds::retry_later(conn, no, next.naive_utc(), Some(&crate::errors::chain(e)))?;
                return Ok(());
            }
        };
        let details = details.to_string();
        audit::record(
            conn,
            &audit::NewAuditEntry {
                at,
                actor: "system:refunds",
                action,
                decision_no: Some(&refund.decision_no),
                details: &details,
            },
        )
    })
    .map_err(WorkError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::SystemClock;

    /// A refund the channel has not confirmed is asked about again after pauses that double from
    /// `retry` and stop growing at `retry_max`, however many times it was asked.
    #[test]
    fn the_pause_before_asking_again_doubles_up_to_its_ceiling() {
        let (_dir, pool) = crate::db::testing::temp_pool();
        let driver = RefundDriver {
            pool,
            channels: ChannelSet::default(),
            clock: Arc::new(SystemClock),
            retry: Duration::from_secs(10),
            retry_max: Duration::from_secs(60),
        };
        let pauses: Vec<i64> = [0, 1, 2, 3, 4, 40, i32::MAX, -1].map(|n| driver.pause_after(n).num_seconds()).into();
        assert_eq!(pauses, [10, 20, 40, 60, 60, 60, 60, 10]);
    }
}
