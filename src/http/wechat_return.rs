//! `GET /p/{token}/wechat-oauth?code=…&state=…`: WeChat's OAuth brings the payer back here with
//! a code for their `openid`. The return counts only with a `state` this fine's page issued in the
//! last ten minutes and never used (one conditional update uses it up), and a code WeChat takes;
//! anything else — replayed, forged, late — is a 400 page and opens nothing. Then the fine's JSAPI
//! order is opened for that payer and the page hands `WeixinJSBridge` the parameters signed here
//! (as JSON with `Accept: application/json`). The bridge's "ok" is never taken as payment: the
//! page goes back to `/p/{token}`, which asks WeChat.

use super::edge::with_conn;
use super::error::ApiError;
use super::i18n::Lang;
use super::pages::{accepts_json, not_found};
use super::pay::{Next, OAUTH_STATE_LIFE, next_json, open_order};
use super::pay_steps::{self, Step, StepPage};
use crate::channels::{ChannelError, ChannelKind, Flow, Start, Started};
use crate::db::oauth_states;
use crate::domain::Fen;
use crate::http::AppState;
use crate::payments;
use actix_web::http::StatusCode;
use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::{HttpRequest, HttpResponse, web};

pub(super) async fn oauth_return(ctx: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let wants_json = accepts_json(&req);
    let lang = Lang::pick(req.query_string(), req.headers().get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let Some(no) = ctx.signer.verify(&path) else { return not_found(wants_json, lang) };
    let page = StepPage { token: path.as_str(), lang, channel: ChannelKind::Wechat, amount: Fen(0) };
    match jsapi_params(&ctx, &req, no.as_str()).await {
        Ok((started, amount)) if !wants_json => {
            let Started::Jsapi(params) = &started else { return ApiError::internal("not JSAPI").respond() };
            pay_steps::respond(&StepPage { amount, ..page }, &Step::Jsapi { params })
        }
        Ok((started, _)) => next_json(ChannelKind::Wechat, &Next::Started(started)),
        Err(e) if wants_json => e.respond(),
        Err(e) if e.code == "invalid_oauth_return" => pay_steps::respond(&page, &Step::LinkUsed),
        Err(e) if e.code == "channel_unavailable" => {
            log::warn!(
                "wechat jsapi for {no}: {}",
                e.cause.as_deref().map(|cause| crate::errors::chain(cause)).unwrap_or_default()
            );
            pay_steps::respond(&page, &Step::ChannelDown)
        }
        // The window closed, or the fine was paid or voided meanwhile: the page says which.
        Err(e) if e.status == StatusCode::CONFLICT => {
            HttpResponse::SeeOther().insert_header(("Location", format!("/p/{}?lang={}", path, lang.code()))).finish()
        }
        Err(e) => e.respond(),
    }
}

/// Uses the return's `state` up, exchanges its `code` for the payer's openid, and starts the
/// fine's JSAPI order for that payer.
async fn jsapi_params(ctx: &web::Data<AppState>, req: &HttpRequest, no: &str) -> Result<(Started, Fen), ApiError> {
    let query = |name: &str| {
        form_urlencoded::parse(req.query_string().as_bytes()).find(|(key, _)| key == name).map(|(_, v)| v.into_owned())
    };
    let (code, state) = (query("code").unwrap_or_default(), query("state").unwrap_or_default());
    let refused = || {
        log::info!("a WeChat OAuth return for {no} was refused (replayed, forged or late)");
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_oauth_return",
            "this WeChat return was used already, has timed out, or was not issued for this fine",
        )
    };
    if code.is_empty() || code.len() > 128 || state.is_empty() || state.len() > 128 {
        return Err(refused());
    }
    let now = ctx.clock.now();
    let (decision_no, issued_after) = (no.to_owned(), (now - OAUTH_STATE_LIFE).naive_utc());
    let taken =
        with_conn(ctx, move |conn| Ok(oauth_states::take(conn, &state, &decision_no, issued_after, now.naive_utc())?))
            .await?;
    if !taken {
        return Err(refused());
    }
    let oauth = ctx.channels.wechat_oauth().ok_or_else(|| ApiError::internal("jsapi is offered without OAuth"))?;
    let openid = match oauth.openid(&code).await {
        Ok(openid) => openid,
        Err(ChannelError::Refused { .. }) => return Err(refused()),
        Err(e) => return Err(ApiError::from(payments::OpenError::Channel(e))),
    };
    let order = open_order(ctx, no, ChannelKind::Wechat, Flow::Jsapi).await?;
    let started = payments::request_order(&ctx.channels, &order, &Start::Jsapi { openid }, ctx.clock.now()).await?;
    Ok((started, Fen(order.amount_fen)))
}
