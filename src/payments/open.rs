//! Opening (or reopening) the channel order a payer pays: `POST /p/{token}/pay`. One order per
//! fine, channel and flow (a channel refuses one order number in two flows), numbered from the
//! decision number; the channel is asked with the same number and parameters every time, which
//! every channel treats as the same order — so double taps, retries and several instances all end
//! at one order. Only a flow whose request goes stale (UnionPay's dated mobile web form) takes a
//! new attempt, a new number. The order's deadline is the QR window's end, so the channel itself
//! refuses payment after it.

use super::channel_set::ChannelSet;
use crate::channels::{ChannelError, ChannelKind, Flow, OrderRequest, Start, Started};
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
    #[error("this fine's orders in this flow are used up; another channel or flow can pay it")]
    TooManyAttempts,
    #[error("the channel did not open the order: {0}")]
    Channel(#[from] ChannelError),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

/// The number of a fine's order at a channel: decision number, channel letter, flow digit and
/// attempt (1 to 9, then A to Z). The QR flow's first attempt is `…W01`, as orders were numbered
/// before the phone flows.
pub(crate) fn out_trade_no(decision_no: &str, kind: ChannelKind, flow: Flow, attempt: u32) -> String {
    let attempt = char::from_digit(attempt, 36).map_or('Z', |c| c.to_ascii_uppercase());
    format!("{decision_no}{}{}{attempt}", kind.letter(), flow.digit())
}

/// Who a payer is, for an order that names its payer (JSAPI's `openid`), as stored: a digest,
/// enough to tell two payers apart, never the openid itself.
pub(crate) fn payer_digest(openid: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, openid.as_bytes());
    data_encoding::HEXLOWER.encode(&digest.as_ref()[..16])
}

/// The flow of an order by its number (the digit before the attempt); `None` for a number finepay
/// did not make.
pub(crate) fn flow_of(out_trade_no: &str) -> Option<Flow> {
    let digit = out_trade_no.chars().rev().nth(1)?;
    Flow::ALL.into_iter().find(|flow| flow.digit() == digit)
}

/// Attempts one flow may take for one fine (the order number has one character for it).
const MAX_ATTEMPTS: u32 = 35;

/// How long an order of UnionPay's mobile web flow can be started again. Its form carries the
/// time it was first sent, which UnionPay takes only while it is within minutes of now; a tap
/// after that starts a new attempt, a new order.
const FORM_FRESH: chrono::Duration = chrono::Duration::minutes(4);

/// The fine's order at `kind` in `flow` for `payer` (a flow whose order names its payer, JSAPI,
/// gives a digest of who pays; the others none): the open one, or a new one — a new attempt when
/// the open one is another payer's or too old to start again. Refuses a fine that can no longer be
/// paid by QR code.
pub(crate) fn prepare(
    pool: &DbPool,
    conn: &mut DbConnection,
    decision_no: &str,
    (kind, flow): (ChannelKind, Flow),
    payer: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ChannelOrderRow, OpenError> {
    let now = now.trunc_subsecs(0);
    pool.write(conn, |conn| {
        let (amount_fen, pay_by) = payable(conn, decision_no, now)?;
        let attempts = channel_orders::attempts(conn, decision_no, kind.as_str(), flow.as_str())?;
        if attempts.iter().any(|order| order.status == "paid") {
            return Err(OpenError::AlreadyPaid);
        }
        // A payer's own order, still open (others' stay open too: the query and expire jobs
        // follow every one).
        let open = attempts.iter().filter(|order| order.status == "open");
        if let Some(reusable) = open.clone().find(|order| {
            order.payer.as_deref() == payer && (flow != Flow::MobileWeb || now - utc(order.opened_at) < FORM_FRESH)
        }) {
            return Ok(reusable.clone());
        }
        if !attempts.is_empty() && open.count() == 0 {
            return Err(OpenError::Expired);
        }
        let attempt = u32::try_from(attempts.len()).unwrap_or(u32::MAX).saturating_add(1);
        if attempt > MAX_ATTEMPTS {
            return Err(OpenError::TooManyAttempts);
        }
        let number = out_trade_no(decision_no, kind, flow, attempt);
        let order = channel_orders::open(
            conn,
            &NewChannelOrder {
                out_trade_no: &number,
                decision_no,
                channel: kind.as_str(),
                flow: flow.as_str(),
                payer,
                amount_fen,
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

/// The amount and the window's end of a fine that can be paid by QR code `now`; why not, else.
pub(crate) fn payable(
    conn: &mut DbConnection,
    decision_no: &str,
    now: DateTime<Utc>,
) -> Result<(i64, chrono::NaiveDateTime), OpenError> {
    let fine = fines::find(conn, decision_no)?.ok_or(OpenError::NotFound)?;
    match FineStatus::parse(&fine.status) {
        Some(FineStatus::Paid) => return Err(OpenError::AlreadyPaid),
        Some(FineStatus::Void) | None => return Err(OpenError::Void),
        Some(FineStatus::PayableAtBank) => return Err(OpenError::Expired),
        Some(FineStatus::AwaitingPayment) => {}
    }
    match fine.qr_expires_at.filter(|end| qr_active(utc(*end), now)) {
        Some(pay_by) => Ok((fine.amount_fen, pay_by)),
        None => Err(OpenError::Expired),
    }
}

/// A QR code younger than this is handed out again without asking the channel (WeChat's codes
/// live two hours; a page refreshed by a payer need not cost a channel call).
const PAY_LINK_REUSE: chrono::Duration = chrono::Duration::hours(1);

/// What the payer's browser does next for `order`. A QR flow's code is the stored one while it is
/// fresh (UnionPay's, always: ACP refuses a repeated apply whose send time is minutes old);
/// otherwise the channel is asked, with the same order, which every channel answers with that
/// order's current code or handle.
pub(crate) async fn request(
    channels: &ChannelSet,
    order: &ChannelOrderRow,
    how: &Start,
    now: DateTime<Utc>,
) -> Result<Started, OpenError> {
    let kind = ChannelKind::parse(&order.channel).ok_or_else(|| OpenError::NotOffered(order.channel.clone()))?;
    if let (Start::Qr, Some(pay_url)) = (how, &order.pay_url)
        && (kind == ChannelKind::Unionpay || now - utc(order.updated_at) < PAY_LINK_REUSE)
    {
        return Ok(Started::Qr(pay_url.clone()));
    }
    let channel = channels.get(kind).ok_or_else(|| OpenError::NotOffered(order.channel.clone()))?;
    let request = OrderRequest {
        out_trade_no: order.out_trade_no.clone(),
        // Nothing personal goes to a channel: the decision number and a generic purpose.
        description: format!("交通违法罚款 Traffic fine {}", order.decision_no),
        amount: Fen(order.amount_fen),
        pay_by: utc(order.pay_by),
        opened_at: utc(order.opened_at),
        flow: how.flow(),
    };
    Ok(channel.start(&request, how).await?)
}

#[cfg(test)]
mod tests;
