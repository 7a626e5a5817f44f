//! Opening (or reopening) the channel order a payer pays: `POST /p/{token}/pay`. One order per
//! fine and channel, numbered from the decision number; the channel is asked with the same number
//! and parameters every time, which every channel treats as the same order — so double taps,
//! retries and several instances all end at one order. The order's deadline is the QR window's
//! end, so the channel itself refuses payment after it.

use super::channel_set::ChannelSet;
use crate::channels::{ChannelError, ChannelKind, CreatedOrder, OrderRequest};
use crate::db::channel_orders::{self, ChannelOrderRow, NewChannelOrder};
use crate::db::{DbConnection, DbPool, fines};
use crate::domain::qr_window::qr_active;
use crate::domain::time::utc;
use crate::domain::{Fen, FineStatus};
use chrono::{DateTime, SubsecRound, Utc};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no such fine")]
    NotFound,
    #[error("the QR window has ended")]
    Expired,
    #[error("the fine is already paid")]
    AlreadyPaid,
    #[error("the fine is void")]
    Void,
    #[error("channel {0} is not offered")]
    NotOffered(String),
    #[error("the channel did not open the order: {0}")]
    Channel(#[from] ChannelError),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

/// The order number of a fine's order at a channel: decision number, channel letter, attempt.
pub(crate) fn out_trade_no(decision_no: &str, kind: ChannelKind) -> String {
    format!("{decision_no}{}01", kind.letter())
}

/// The fine's order at `kind`, created in the database if it is new. Refuses a fine that can no
/// longer be paid by QR.
pub(crate) fn prepare(
    pool: &DbPool,
    conn: &mut DbConnection,
    decision_no: &str,
    kind: ChannelKind,
    now: DateTime<Utc>,
) -> Result<ChannelOrderRow, OpenError> {
    let now = now.trunc_subsecs(0);
    pool.write(conn, |conn| {
        let fine = fines::find(conn, decision_no)?.ok_or(OpenError::NotFound)?;
        match FineStatus::parse(&fine.status) {
            Some(FineStatus::Paid) => return Err(OpenError::AlreadyPaid),
            Some(FineStatus::Void) | None => return Err(OpenError::Void),
            Some(FineStatus::PayableAtBank) => return Err(OpenError::Expired),
            Some(FineStatus::AwaitingPayment) => {}
        }
        let Some(pay_by) = fine.qr_expires_at.filter(|end| qr_active(utc(*end), now)) else {
            return Err(OpenError::Expired);
        };
        let number = out_trade_no(decision_no, kind);
        let order = channel_orders::open(
            conn,
            &NewChannelOrder {
                out_trade_no: &number,
                decision_no,
                channel: kind.as_str(),
                amount_fen: fine.amount_fen,
                pay_by,
                opened_at: now.naive_utc(),
                status: "open",
                updated_at: now.naive_utc(),
            },
        )?;
        match order.status.as_str() {
            "open" => Ok(order),
            "paid" => Err(OpenError::AlreadyPaid),
            _ => Err(OpenError::Expired),
        }
    })
}

/// A pay link younger than this is handed out again without asking the channel (WeChat's codes
/// live two hours; a page refreshed by a payer need not cost a channel call).
const PAY_LINK_REUSE: chrono::Duration = chrono::Duration::hours(1);

/// The order's pay link: the stored one while it is fresh (UnionPay's, always: ACP refuses a
/// repeated apply whose send time is minutes old), otherwise asked of the channel again with the
/// same order, which every channel answers with that order's current link.
pub(crate) async fn request(
    channels: &ChannelSet,
    order: &ChannelOrderRow,
    now: DateTime<Utc>,
) -> Result<CreatedOrder, OpenError> {
    let kind = ChannelKind::parse(&order.channel).ok_or_else(|| OpenError::NotOffered(order.channel.clone()))?;
    if let Some(pay_url) = &order.pay_url
        && (kind == ChannelKind::Unionpay || now - utc(order.updated_at) < PAY_LINK_REUSE)
    {
        return Ok(CreatedOrder { pay_url: pay_url.clone() });
    }
    let channel = channels.get(kind).ok_or_else(|| OpenError::NotOffered(order.channel.clone()))?;
    let request = OrderRequest {
        out_trade_no: order.out_trade_no.clone(),
        // Nothing personal goes to a channel: the decision number and a generic purpose.
        description: format!("交通违法罚款 Traffic fine {}", order.decision_no),
        amount: Fen(order.amount_fen),
        pay_by: utc(order.pay_by),
        opened_at: utc(order.opened_at),
    };
    Ok(channel.create_order(&request).await?)
}

#[cfg(test)]
mod tests;
