//! Asking the channels instead of waiting for them. A notification can be lost; a payer who
//! paid must never see an unpaid fine. Revisiting the pay page (and, later, the expiry job)
//! queries every open order of the fine and records any payment found, exactly as if its
//! notification had arrived.

use super::WorkError;
use super::apply::{self, PaymentSource, PaymentWriter, Recorded, ReportedPayment};
use super::channel_set::ChannelSet;
use crate::channels::{ChannelKind, OrderRef, OrderStatus, PaymentChannel};
use crate::db::channel_orders::ChannelOrderRow;
use crate::domain::time::utc;
use std::sync::Arc;

/// Queries each open order and records the payments found. Returns what was recorded; a channel
/// that does not answer is logged and skipped (the next visit or the expiry job asks again).
pub(crate) async fn settle_open_orders(
    channels: &ChannelSet,
    writer: &PaymentWriter,
    orders: &[ChannelOrderRow],
) -> Vec<Recorded> {
    let mut recorded = Vec::new();
    for order in orders.iter().filter(|o| o.status == "open") {
        match settle_order(channels, writer, order).await {
            Ok(Some(done)) => recorded.push(done),
            Ok(None) => {}
            Err(e) => log::warn!("order {}: {e}", order.out_trade_no),
        }
    }
    recorded
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
    let reference = OrderRef { out_trade_no: order.out_trade_no.clone(), opened_at: utc(order.opened_at) };
    Ok((kind, channel, reference))
}
