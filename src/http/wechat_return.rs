//! `GET /p/{token}/wechat-oauth?code=…&state=…`: WeChat's OAuth brings the payer back here with
//! a code for their `openid`. The return counts only with a `state` this fine's page issued in the
//! last ten minutes, to this browser (its cookie), and never used — one conditional update uses
//! it up — and a code WeChat takes; anything else — replayed, forged, late, another browser's — is
//! a 400 page and opens nothing. The same browser reloading a return it already used is sent to
//! the fine's page. Then the payer's own JSAPI order is opened (another payer's order of the same
//! fine is another attempt: WeChat refuses one order number for two openids) and the page hands
//! `WeixinJSBridge` the parameters signed here (as JSON with `Accept: application/json`). The
//! bridge's "ok" is never taken as payment: the page goes back to `/p/{token}`, which asks WeChat.

use super::edge::{cookie, with_conn};
use super::error::ApiError;
use super::i18n::Lang;
use super::pages::{accepts_json, not_found};
use super::pay::{Next, OAUTH_COOKIE, OAUTH_STATE_LIFE, next_json, oauth_missing, open_order};
use super::pay_steps::{self, Step, StepPage};
use crate::channels::{ChannelError, ChannelKind, Flow, Start, Started};
use crate::db::oauth_states;
use crate::domain::Fen;
use crate::http::AppState;
use crate::payments;
use crate::qr::constant_time_eq;
use actix_web::http::StatusCode;
use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::{HttpRequest, HttpResponse, web};

pub(super) async fn oauth_return(ctx: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let wants_json = accepts_json(&req);
    let lang = Lang::pick(req.query_string(), req.headers().get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let Some(no) = ctx.signer.verify(&path) else { return not_found(wants_json, lang) };
    let page = StepPage { token: path.as_str(), lang, channel: Some(ChannelKind::Wechat), amount: Fen(0) };
    let to_page =
        || HttpResponse::SeeOther().insert_header(("Location", format!("/p/{}?lang={}", path, lang.code()))).finish();
    match jsapi_params(&ctx, &req, no.as_str()).await {
        Ok((started, amount)) if !wants_json => {
            let Started::Jsapi(params) = &started else { return ApiError::internal("not JSAPI").respond() };
            pay_steps::respond(&StepPage { amount, ..page }, &Step::Jsapi { params })
        }
        Ok((started, _)) => next_json(ChannelKind::Wechat, &Next::Started(started)),
        Err(Refused::Reload) if !wants_json => to_page(),
        Err(Refused::Reload | Refused::Invalid) if wants_json => invalid_return().respond(),
        Err(Refused::Reload | Refused::Invalid) => pay_steps::respond(&page, &Step::LinkUsed),
        Err(Refused::Api(e)) if wants_json => e.respond(),
        // The window closed, or the fine was paid or voided meanwhile: the page says which.
        Err(Refused::Api(e)) if e.status == StatusCode::CONFLICT => to_page(),
        Err(Refused::Api(e)) => {
            let cause = e.cause.as_deref().map(|cause| crate::errors::chain(cause)).unwrap_or_default();
            log::warn!("wechat jsapi for {no}: {} {} {cause}", e.code, e.message);
            pay_steps::respond(&page, &Step::CannotStart(e.status))
        }
    }
}

/// Why a return opened nothing.
enum Refused {
    /// This browser's own return, used already: a reload.
    Reload,
    /// Replayed elsewhere, forged, late, another fine's, or a code WeChat refuses.
    Invalid,
    Api(ApiError),
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        Refused::Api(e)
    }
}

fn invalid_return() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_oauth_return",
        "this WeChat return was used already, has timed out, or was not issued for this fine and browser",
    )
}

/// Uses the return's `state` up, exchanges its `code` for the payer's openid, and starts the
/// payer's JSAPI order.
async fn jsapi_params(ctx: &web::Data<AppState>, req: &HttpRequest, no: &str) -> Result<(Started, Fen), Refused> {
    let query = |name: &str| {
        form_urlencoded::parse(req.query_string().as_bytes()).find(|(key, _)| key == name).map(|(_, v)| v.into_owned())
    };
    let (code, state) = (query("code").unwrap_or_default(), query("state").unwrap_or_default());
    let refused = |why: &str| {
        log::info!("a WeChat OAuth return for {no} was refused: {why}");
        Refused::Invalid
    };
    if code.is_empty() || code.len() > 128 || state.is_empty() || state.len() > 128 {
        return Err(refused("no code or state"));
    }
    let cookie = cookie(req, OAUTH_COOKIE).unwrap_or_default();
    let this_browser = constant_time_eq(cookie.as_bytes(), state.as_bytes());
    if !this_browser {
        return Err(refused("not the browser that started it"));
    }
    let now = ctx.clock.now();
    let (decision_no, issued_after) = (no.to_owned(), (now - OAUTH_STATE_LIFE).naive_utc());
    let taken =
        with_conn(ctx, move |conn| Ok(oauth_states::take(conn, &state, &decision_no, issued_after, now.naive_utc())?))
            .await?;
    if !taken {
        log::info!("a WeChat OAuth return for {no} came again from its browser (a reload)");
        return Err(Refused::Reload);
    }
    let oauth = ctx.channels.wechat_oauth().ok_or_else(oauth_missing)?;
    let openid = match oauth.openid(&code).await {
        Ok(openid) => openid,
        Err(ChannelError::Refused { code, .. }) => return Err(refused(&format!("WeChat refused the code ({code})"))),
        Err(e) => return Err(ApiError::from(payments::OpenError::Channel(e)).into()),
    };
    let payer = payments::payer_digest(&openid);
    let order = open_order(ctx, no, (ChannelKind::Wechat, Flow::Jsapi), Some(payer)).await?;
    let started = payments::request_order(&ctx.channels, &order, &Start::Jsapi { openid }, ctx.clock.now())
        .await
        .map_err(ApiError::from)?;
    Ok((started, Fen(order.amount_fen)))
}
