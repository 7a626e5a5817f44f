//! Asking the channels instead of waiting for them. A notification can be lost; a payer who
//! paid must never see an unpaid fine. Revisiting the pay page (and, later, the expiry job)
//! queries every open order of the fine and records any payment found, exactly as if its
//! notification had arrived.

use super::apply::{self, PaymentSource, PaymentWriter, Recorded, ReportedPayment};
use super::channel_set::ChannelSet;
use crate::channels::{ChannelKind, OrderRef, OrderStatus};
use crate::db::channel_orders::ChannelOrderRow;
use crate::fines::utc;

/// Queries each open order and records the payments found. Returns what was recorded; a channel
/// that does not answer is logged and skipped (the next visit or the expiry job asks again).
pub async fn settle_open_orders(
    channels: &ChannelSet,
    writer: &PaymentWriter,
    orders: &[ChannelOrderRow],
) -> Vec<Recorded> {
    let mut recorded = Vec::new();
    for order in orders.iter().filter(|o| o.status == "open") {
        let Some(kind) = ChannelKind::parse(&order.channel) else { continue };
        let Some(channel) = channels.get(kind) else { continue };
        let reference = OrderRef { out_trade_no: order.out_trade_no.clone(), opened_at: utc(order.opened_at) };
        match channel.query(&reference).await {
            Ok(OrderStatus::Paid(payment)) => {
                let reported = ReportedPayment { channel: kind, payment, source: PaymentSource::Query };
                match apply::record(writer, reported).await {
                    Ok(done) => recorded.push(done),
                    Err(e) => log::warn!("order {}: the channel says paid, recording failed: {e}", order.out_trade_no),
                }
            }
            Ok(_) => {}
            Err(e) => log::warn!("order {}: query failed: {e}", order.out_trade_no),
        }
    }
    recorded
}
