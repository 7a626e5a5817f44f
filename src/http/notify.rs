//! `POST /notify/{wechat,alipay,unionpay}`: payment notifications, in each channel's own format
//! and answered with each channel's own replies. The signature is checked over the raw body
//! before anything in it is read; the payment is then checked against finepay's own order and
//! recorded exactly once (see `payments::apply`). Any refusal changes nothing and gets the
//! channel's failure reply, so a genuine notification that could not be taken is sent again.

use super::edge::read_body;
use crate::channels::{ChannelKind, Inbound, NotifyError, PaymentChannel, Reply};
use crate::http::AppState;
use crate::payments::{self, PaymentSource, Recorded, ReportedPayment};
use actix_web::{HttpRequest, HttpResponse, web};

pub(super) async fn notify(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let Some(channel) = ChannelKind::parse(&path).and_then(|kind| ctx.channels.get(kind)).cloned() else {
        return actix_web::ResponseError::error_response(&super::error::ApiError::not_found());
    };
    let kind = channel.kind();
    let body = match read_body(&req, payload, ctx.server.max_body_bytes).await {
        Ok(body) => body,
        Err(e) => return refuse(&*channel, NotifyError::Malformed(e.message.into())),
    };
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let payment = match channel.verify_notification(&Inbound { headers: &headers, body: &body }) {
        Ok(payment) => payment,
        Err(e) => return refuse(&*channel, e),
    };
    let reported = ReportedPayment { channel: kind, payment, source: PaymentSource::Notification };
    let (txn, order) = (reported.payment.channel_txn_id.clone(), reported.payment.out_trade_no.clone());
    match payments::record_payment(&ctx.payments, reported).await {
        Ok(Recorded::Applied { receipt_no, others_open, .. }) => {
            log::info!("{} payment {txn} applied, receipt {receipt_no}", kind.as_str());
            if others_open {
                ctx.closer.close_others_in_background(&order);
            }
            respond(channel.accepted_reply())
        }
        Ok(Recorded::Refunding { out_refund_no, reason }) => {
            log::warn!("{} payment {txn} will be refunded as {out_refund_no}: {reason}", kind.as_str());
            ctx.refund_wake.notify_one();
            respond(channel.accepted_reply())
        }
        Ok(Recorded::Held { reason }) => {
            // The channel has the payer's money: taken, so that it stops sending, and raised.
            log::warn!("{} payment {txn} dated {reason}: held as an exception", kind.as_str());
            respond(channel.accepted_reply())
        }
        Ok(Recorded::AlreadyKnown) => respond(channel.accepted_reply()),
        Err(e) if e.is_refusal() => refuse(&*channel, NotifyError::Mismatch(e.to_string())),
        Err(e) => {
            // The channel hears only that it should send the notification again; the log keeps
            // what went wrong.
            log::error!("{} payment {txn} not recorded: {}", kind.as_str(), crate::errors::chain(&e));
            refuse(&*channel, NotifyError::Unavailable)
        }
    }
}

fn refuse(channel: &dyn PaymentChannel, error: NotifyError) -> HttpResponse {
    log::warn!("{} notification refused: {error}", channel.kind().as_str());
    respond(channel.refused_reply(&error))
}

fn respond(reply: Reply) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(reply.status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status).content_type(reply.content_type).body(reply.body)
}
