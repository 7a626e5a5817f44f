//! `POST /p/{token}/pay`: the payer chose a channel on the pay page. Opens (or reopens) the fine's
//! order at that channel and answers with the channel's own pay link. Refused once the window
//! has ended, the fine is paid or void — the same moment the page stops offering the buttons.

use super::edge::{parse_json, read_body};
use super::error::ApiError;
use crate::channels::{ChannelKind, Flow, Start, Started};
use crate::db::channel_orders;
use crate::http::AppState;
use crate::payments::{self, OpenError};
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayRequest {
    channel: String,
}

pub(super) async fn pay(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload, ctx.server.max_body_bytes).await?;
    let no = ctx.signer.verify(&path).ok_or_else(ApiError::not_found)?;
    // The page's buttons post a form (no script needed); API clients post JSON.
    let from_form = req.content_type() == "application/x-www-form-urlencoded";
    let request: PayRequest = if from_form { channel_from_form(&body)? } else { parse_json(&body)?.0 };
    let kind = ChannelKind::parse(&request.channel)
        .filter(|kind| ctx.channels.get(*kind).is_some())
        .ok_or_else(|| unknown_channel(&ctx, &request.channel))?;
    let now = ctx.clock.now();
    let pool = ctx.pool.clone();
    let decision_no = no.as_str().to_owned();
    let order = super::edge::with_conn(&ctx, move |conn| {
        payments::prepare_order(&pool, conn, &decision_no, kind, Flow::Qr, now).map_err(ApiError::from)
    })
    .await;
    let order = match order {
        // A payer on the page whose window just closed sees the page again, which says why.
        Err(_) if from_form => return Ok(back_to_page(&path)),
        other => other?,
    };
    let started =
        payments::request_order(&ctx.channels, &order, &Start::Qr, ctx.clock.now()).await.map_err(ApiError::from)?;
    let Started::Qr(pay_url) = started else { return Err(ApiError::internal("a QR flow answered without a code")) };
    let (number, url) = (order.out_trade_no.clone(), pay_url.clone());
    let now = ctx.clock.now().naive_utc();
    super::edge::with_conn(&ctx, move |conn| Ok(channel_orders::set_pay_url(conn, &number, &url, now)?)).await?;
    if from_form {
        return Ok(continue_page(kind, &pay_url));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({"channel": kind.as_str(), "pay_url": pay_url})))
}

fn channel_from_form(body: &[u8]) -> Result<PayRequest, ApiError> {
    let channel = form_urlencoded::parse(body)
        .find(|(key, _)| key == "channel")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| ApiError::invalid_request("the form has no channel"))?;
    Ok(PayRequest { channel })
}

fn back_to_page(token: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("Location", format!("/p/{token}"))).finish()
}

/// The step between the page and the channel: a redirect by meta refresh (the page's CSP allows
/// forms to post only to finepay, and some browsers apply that to a redirect as well) with a
/// link for browsers that do not follow it.
fn continue_page(kind: ChannelKind, pay_url: &str) -> HttpResponse {
    let escaped = html_escape(pay_url);
    let name = match kind {
        ChannelKind::Wechat => "微信支付 WeChat Pay",
        ChannelKind::Alipay => "支付宝 Alipay",
        ChannelKind::Unionpay => "云闪付 UnionPay",
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><meta http-equiv=\"refresh\" content=\"0;url={escaped}\">\
         <title>{name}</title></head><body style=\"font:16px system-ui,sans-serif;padding:16px\">\
         <p>继续前往 Continue to <a id=\"continue\" href=\"{escaped}\">{name}</a></p></body></html>"
    );
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .content_type("text/html; charset=utf-8")
        .body(html)
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

fn unknown_channel(ctx: &AppState, asked: &str) -> ApiError {
    let offered: Vec<&str> = ctx.channels.kinds().into_iter().map(ChannelKind::as_str).collect();
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_channel", format!("channel {asked:?} is not offered"))
        .with_details(serde_json::json!({"offered": offered}))
}

impl From<OpenError> for ApiError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Expired => {
                ApiError::new(StatusCode::CONFLICT, "qr_expired", "this code has expired; pay at a bank")
            }
            OpenError::AlreadyPaid => ApiError::new(StatusCode::CONFLICT, "already_paid", "this fine is already paid"),
            OpenError::Void => ApiError::new(StatusCode::CONFLICT, "fine_void", "this fine was voided"),
            OpenError::NotFound | OpenError::NotOffered(_) => ApiError::not_found(),
            OpenError::TooManyAttempts => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            OpenError::Channel(e) => ApiError {
                status: StatusCode::BAD_GATEWAY,
                code: "channel_unavailable",
                message: "the payment channel did not answer; try again or choose another".into(),
                details: serde_json::json!({}),
                cause: Some(e.into()),
            },
            OpenError::Database(e) => ApiError::from(e),
        }
    }
}
