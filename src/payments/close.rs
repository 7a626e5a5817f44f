//! Closing a fine's channel orders once it can no longer be paid by QR (voided now; paid through
//! one of them, so the others of its other flows close; window ended in the expiry job). A close the channel refuses because the payer just paid is a payment, not
//! an error: it is queried and recorded like any other (and refunded if the fine is void).

use super::WorkError;
use super::apply::{PaymentWriter, Recorded};
use super::channel_set::ChannelSet;
use super::query;
use crate::channels::CloseOutcome;
use crate::db::DbPool;
use crate::db::channel_orders::{self, ChannelOrderRow};
use crate::domain::time::Clock;
use std::sync::Arc;

/// What closing one order ended in.
#[derive(Debug, Clone)]
pub(crate) enum OrderClosing {
    Closed,
    Paid(Recorded),
    /// The channel did not answer or the result could not be stored; try again later.
    Failed(WorkError),
}

/// Closes the orders of fines that stopped being payable by QR while someone waits for an answer
/// (a void, a bank's payment): what closing needs, held once so such a request can hand its
/// orders over and answer at once.
#[derive(Clone)]
pub struct OrderCloser {
    pub channels: ChannelSet,
    pub writer: PaymentWriter,
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    /// Wakes the refund worker when a payer had paid an order meanwhile.
    pub refund_wake: Arc<tokio::sync::Notify>,
}

impl OrderCloser {
    /// Closes the open orders among `orders` on a task of their own, so the answer that made them
    /// pointless does not wait for the channels; wakes the refund worker when a payer had paid one
    /// meanwhile and the payment is to be returned.
    pub fn close_in_background(&self, orders: Vec<ChannelOrderRow>) {
        if !orders.iter().any(|o| o.status == "open") {
            return;
        }
        let closer = self.clone();
        actix_web::rt::spawn(async move {
            let closed = close_orders(&closer.channels, &closer.writer, &closer.pool, &*closer.clock, &orders).await;
            if closed.iter().any(|(_, c)| matches!(c, OrderClosing::Paid(Recorded::Refunding { .. }))) {
                closer.refund_wake.notify_one();
            }
        });
    }
}

impl OrderCloser {
    /// Once the order `out_trade_no` paid its fine, closes the fine's other open orders (its
    /// other channels and flows), in the background: a payer who started two flows cannot pay
    /// the second. A payment that slips in meanwhile is recorded and refunded.
    pub fn close_others_in_background(&self, out_trade_no: &str) {
        let (closer, paid) = (self.clone(), out_trade_no.to_owned());
        actix_web::rt::spawn(async move {
            let pool = closer.pool.clone();
            let others = tokio::task::spawn_blocking(move || -> Result<Vec<ChannelOrderRow>, WorkError> {
                let mut conn = pool.get()?;
                let Some(order) = channel_orders::find(&mut conn, &paid)? else { return Ok(Vec::new()) };
                let orders = channel_orders::for_fine(&mut conn, &order.decision_no)?;
                Ok(orders.into_iter().filter(|o| o.out_trade_no != paid && o.status == "open").collect())
            })
            .await;
            match others.map_err(WorkError::from).and_then(|others| others) {
                Ok(others) => closer.close_in_background(others),
                Err(e) => log::warn!("closing the other orders of a paid fine: {e}"),
            }
        });
    }
}

/// Closes every open order in `orders`, one channel call each.
pub(super) async fn close_orders(
    channels: &ChannelSet,
    writer: &PaymentWriter,
    pool: &DbPool,
    clock: &dyn Clock,
    orders: &[ChannelOrderRow],
) -> Vec<(String, OrderClosing)> {
    let mut results = Vec::new();
    for order in orders.iter().filter(|o| o.status == "open") {
        let result = close_order(channels, writer, pool, clock, order).await;
        if let OrderClosing::Failed(why) = &result {
            log::warn!("closing order {}: {why}", order.out_trade_no);
        }
        results.push((order.out_trade_no.clone(), result));
    }
    results
}

/// Closes one open order at its channel and records the outcome.
pub(crate) async fn close_order(
    channels: &ChannelSet,
    writer: &PaymentWriter,
    pool: &DbPool,
    clock: &dyn Clock,
    order: &ChannelOrderRow,
) -> OrderClosing {
    let (_, channel, reference) = match query::channel_of(channels, order) {
        Ok(found) => found,
        Err(e) => return OrderClosing::Failed(e),
    };
    match channel.close(&reference).await {
        Ok(CloseOutcome::Closed | CloseOutcome::NotFound) => {
            let (pool, number, at) = (pool.clone(), order.out_trade_no.clone(), clock.now().naive_utc());
            let stored = tokio::task::spawn_blocking(move || -> Result<_, WorkError> {
                let mut conn = pool.get()?;
                Ok(pool.write(&mut conn, |conn| channel_orders::finish(conn, &number, "closed", at))?)
            })
            .await;
            match stored.map_err(WorkError::from).and_then(|stored| stored) {
                Ok(_) => OrderClosing::Closed,
                Err(e) => OrderClosing::Failed(e),
            }
        }
        // The payer paid during the race: find the payment and record it.
        Ok(CloseOutcome::AlreadyPaid) => match query::settle_order(channels, writer, order).await {
            Ok(Some(recorded)) => OrderClosing::Paid(recorded),
            Ok(None) => OrderClosing::Failed(WorkError::PaidButNotFound),
            Err(e) => OrderClosing::Failed(e),
        },
        Err(e) => OrderClosing::Failed(e.into()),
    }
}
