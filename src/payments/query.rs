//! Asking the channels instead of waiting for them. A notification can be lost; a payer who
//! paid must never see an unpaid fine. Revisiting the pay page, or the page polling while it is
//! open (and, later, the expiry job), queries the fine's open orders — all at once, each at most
//! once every few seconds however many pages poll — and records any payment found, exactly as if
//! its notification had arrived.

use super::WorkError;
use super::apply::{self, PaymentSource, PaymentWriter, Recorded, ReportedPayment};
use super::channel_set::ChannelSet;
use crate::channels::{ChannelKind, Flow, OrderRef, OrderStatus, PaymentChannel};
use crate::db::channel_orders::ChannelOrderRow;
use crate::domain::time::utc;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Remembers when each order was last asked about, so that pages polling together ask each
/// channel about an order at most once per interval.
pub struct RecentQueries {
    interval: Duration,
    asked: Mutex<HashMap<String, Instant>>,
}

/// Past this many remembered orders, those asked about longer than the interval ago are forgotten.
const REMEMBERED: usize = 10_000;

impl RecentQueries {
    pub(crate) fn new(interval: Duration) -> Self {
        RecentQueries { interval, asked: Mutex::new(HashMap::new()) }
    }

    /// Whether `out_trade_no` may be asked about now; if so, it counts as asked.
    fn due(&self, out_trade_no: &str) -> bool {
        let now = Instant::now();
        let mut asked = self.asked.lock().unwrap_or_else(PoisonError::into_inner);
        if asked.get(out_trade_no).is_some_and(|at| now.duration_since(*at) < self.interval) {
            return false;
        }
        if asked.len() >= REMEMBERED {
            asked.retain(|_, at| now.duration_since(*at) < self.interval);
        }
        asked.insert(out_trade_no.to_owned(), now);
        true
    }
}

/// What asking about a fine's open orders found.
#[derive(Debug, Default)]
pub(crate) struct Settled {
    /// What was recorded, by order number.
    pub recorded: Vec<(String, Recorded)>,
    /// Open orders asked about now, or within the interval by another page (whose answer stands).
    pub asked: usize,
    /// Open orders whose channel did not answer.
    pub failed: usize,
}

/// Queries the open orders not asked about lately, all at once, and records the payments found.
/// A channel that does not answer is logged and counted (the next visit or the expiry job asks
/// again).
pub(crate) async fn settle_open_orders(
    channels: &ChannelSet,
    writer: &PaymentWriter,
    recent: &RecentQueries,
    orders: &[ChannelOrderRow],
) -> Settled {
    let open: Vec<&ChannelOrderRow> = orders.iter().filter(|o| o.status == "open").collect();
    let due = open.iter().filter(|o| recent.due(&o.out_trade_no));
    let answers = futures_util::future::join_all(
        due.map(|order| async move { (order, settle_order(channels, writer, order).await) }),
    )
    .await;
    let mut settled = Settled { asked: open.len(), ..Settled::default() };
    for (order, answer) in answers {
        match answer {
            Ok(Some(done)) => settled.recorded.push((order.out_trade_no.clone(), done)),
            Ok(None) => {}
            Err(e) => {
                log::warn!("order {}: {e}", order.out_trade_no);
                settled.failed += 1;
                settled.asked -= 1;
            }
        }
    }
    settled
}

/// Asks the channel about one order and records its payment, if it was paid.
pub(crate) async fn settle_order(
    channels: &ChannelSet,
    writer: &PaymentWriter,
    order: &ChannelOrderRow,
) -> Result<Option<Recorded>, WorkError> {
    let (kind, channel, reference) = channel_of(channels, order)?;
    match channel.query(&reference).await? {
        OrderStatus::Paid(payment) => {
            let reported = ReportedPayment { channel: kind, payment, source: PaymentSource::Query };
            Ok(Some(apply::record(writer, reported).await?))
        }
        _ => Ok(None),
    }
}

/// The order's channel, as configured here, and the order as that channel names it.
pub(super) fn channel_of(
    channels: &ChannelSet,
    order: &ChannelOrderRow,
) -> Result<(ChannelKind, Arc<dyn PaymentChannel>, OrderRef), WorkError> {
    let kind = ChannelKind::parse(&order.channel)
        .ok_or_else(|| WorkError::NoChannel(format!("{} is no channel finepay knows", order.channel)))?;
    let channel = channels
        .get(kind)
        .ok_or_else(|| WorkError::NoChannel(format!("{} is not configured here", order.channel)))?
        .clone();
    let flow = Flow::parse(&order.flow)
        .ok_or_else(|| WorkError::NoChannel(format!("{} is no flow finepay knows", order.flow)))?;
    let reference = OrderRef { out_trade_no: order.out_trade_no.clone(), opened_at: utc(order.opened_at), flow };
    Ok((kind, channel, reference))
}
