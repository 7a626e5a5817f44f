//! `POST /p/{token}/pay`: the payer tapped a channel on the pay page (or a client of the API
//! asks). Where the page is open — `client`, else the `User-Agent` — and the channel choose the
//! flow (`payments::flows`); the fine's order of that flow is opened or reused and started; the
//! answer is what the browser does next: JSON for scripts, the next page for the page's own forms.
//! Refused once the window has ended, the fine is paid or void — the moment the page stops
//! offering the buttons. `POST /p/{token}/back` is where UnionPay's "return to merchant" lands;
//! WeChat's OAuth return is in `wechat_return`.

use super::edge::{client_address, parse_json, read_body, with_conn};
use super::error::ApiError;
use super::i18n::Lang;
use super::pay_steps::{self, Step, StepPage};
use crate::channels::{ChannelKind, Flow, Start, Started};
use crate::db::channel_orders::{self, ChannelOrderRow};
use crate::db::oauth_states;
use crate::domain::Fen;
use crate::http::AppState;
use crate::payments::{self, Client, OpenError, Route};
use actix_web::http::StatusCode;
use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayRequest {
    channel: String,
    #[serde(default)]
    client: Option<String>,
}

/// What the browser does next.
pub(super) enum Next {
    Started(Started),
    /// The payer's openid first: WeChat's authorize page.
    Oauth(String),
    /// The app the page is open in blocks the channel: the page's own address, to open elsewhere.
    Elsewhere(String),
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
    let request: PayRequest = if from_form { request_from_form(&body)? } else { parse_json(&body)?.0 };
    let kind = ChannelKind::parse(&request.channel)
        .filter(|kind| ctx.channels.get(*kind).is_some())
        .ok_or_else(|| unknown_channel(&ctx, &request.channel))?;
    let client = match request.client.as_deref() {
        Some(name) => Client::parse(name).ok_or_else(|| {
            ApiError::invalid_request(format!(
                "client {name:?} is not one of wechat, alipay, unionpay, mobile, desktop"
            ))
        })?,
        None => Client::from_user_agent(user_agent(&req)),
    };
    let lang = Lang::pick(req.query_string(), req.headers().get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let decision_no = no.as_str().to_owned();
    let route = payments::choose_flow(client, kind, |flow| ctx.channels.offers(kind, flow));
    log::debug!("{decision_no}: {} on {} is {route:?}", kind.as_str(), client.as_str());
    let started = match route {
        Route::OpenElsewhere => check_payable(&ctx, &decision_no)
            .await
            .map(|amount| (Next::Elsewhere(format!("{}/p/{}", ctx.server.public_base_url, path.as_str())), amount)),
        Route::Start(Flow::Jsapi) => start_oauth(&ctx, &decision_no, &path).await,
        Route::OpenCode => start(&ctx, &req, &path, &decision_no, kind, Flow::Qr).await.map(|(started, amount)| {
            let Started::Qr(code) = started else { return (Next::Started(started), amount) };
            (Next::Started(Started::Redirect(code)), amount)
        }),
        Route::Start(flow) => start(&ctx, &req, &path, &decision_no, kind, flow)
            .await
            .map(|(started, amount)| (Next::Started(started), amount)),
    };
    let page = |amount| StepPage { token: path.as_str(), lang, channel: kind, amount };
    match started {
        Ok((next, amount)) if from_form => Ok(next_page(&page(amount), &next, client)),
        Ok((next, _)) => Ok(next_json(kind, &next)),
        // A payer on the page whose window just closed sees the page again, which says why.
        Err(e) if from_form && ["qr_expired", "already_paid", "fine_void"].contains(&e.code) => {
            Ok(back_to_page(&path, lang))
        }
        Err(e) if from_form && e.code == "channel_unavailable" => {
            log::warn!(
                "{} for {decision_no}: {}",
                kind.as_str(),
                e.cause.as_deref().map(|cause| crate::errors::chain(cause)).unwrap_or_default()
            );
            Ok(pay_steps::respond(&page(Fen(0)), &Step::ChannelDown))
        }
        Err(e) => Err(e),
    }
}

/// `POST /p/{token}/back`: UnionPay's "return to merchant" posts its signed result here. The
/// result is not believed (the page asks UnionPay itself): the payer is sent to the pay page,
/// which confirms the payment. The body is read (and bounded) all the same, so that the browser's
/// connection stays usable.
pub(super) async fn came_back(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    read_body(&req, payload, ctx.server.max_body_bytes).await?;
    if ctx.signer.verify(&path).is_none() {
        return Ok(super::pages::not_found(false, Lang::pick(req.query_string(), None)));
    }
    Ok(HttpResponse::SeeOther().insert_header(("Location", format!("/p/{}?back=1", path.as_str()))).finish())
}

fn request_from_form(body: &[u8]) -> Result<PayRequest, ApiError> {
    let field = |name: &str| form_urlencoded::parse(body).find(|(key, _)| key == name).map(|(_, v)| v.into_owned());
    let channel = field("channel").ok_or_else(|| ApiError::invalid_request("the form has no channel"))?;
    Ok(PayRequest { channel, client: field("client") })
}

fn user_agent(req: &HttpRequest) -> &str {
    req.headers().get("User-Agent").and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The fine's amount, if it can be paid by QR code now.
async fn check_payable(ctx: &web::Data<AppState>, decision_no: &str) -> Result<Fen, ApiError> {
    let (decision_no, now) = (decision_no.to_owned(), ctx.clock.now());
    with_conn(ctx, move |conn| Ok(payments::payable(conn, &decision_no, now).map(|(amount, _)| Fen(amount))?)).await
}

/// How long a WeChat OAuth trip may take, from the tap to the return.
pub(super) const OAUTH_STATE_LIFE: chrono::Duration = chrono::Duration::minutes(10);

/// JSAPI needs the payer's openid first: a single-use `state` bound to the fine, and WeChat's
/// authorize page returning to `/p/{token}/wechat-oauth`.
async fn start_oauth(ctx: &web::Data<AppState>, decision_no: &str, token: &str) -> Result<(Next, Fen), ApiError> {
    let oauth = ctx.channels.wechat_oauth().ok_or_else(|| ApiError::internal("jsapi is offered without OAuth"))?;
    let state = oauth_state()?;
    let (no, issued, now) = (decision_no.to_owned(), state.clone(), ctx.clock.now());
    let amount = with_conn(ctx, move |conn| {
        let (amount, _) = payments::payable(conn, &no, now)?;
        oauth_states::issue(conn, &issued, &no, now.naive_utc())?;
        Ok(Fen(amount))
    })
    .await?;
    let redirect_uri = format!("{}/p/{token}/wechat-oauth", ctx.server.public_base_url);
    Ok((Next::Oauth(oauth.authorize_url(&redirect_uri, &state)), amount))
}

/// A new OAuth `state`: 32 hex characters from the system's CSPRNG (WeChat takes up to 128
/// letters and digits). It is the capability of the return, so a failing generator refuses.
fn oauth_state() -> Result<String, ApiError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ApiError::internal("the system random generator failed"))?;
    Ok(data_encoding::HEXLOWER.encode(&bytes))
}

/// Opens (or reuses) the fine's order at `kind` in `flow` and starts it; a QR flow's code is
/// kept, so that a page refreshed soon shows it again without asking the channel.
pub(super) async fn start(
    ctx: &web::Data<AppState>,
    req: &HttpRequest,
    token: &str,
    decision_no: &str,
    kind: ChannelKind,
    flow: Flow,
) -> Result<(Started, Fen), ApiError> {
    let order = open_order(ctx, decision_no, kind, flow).await?;
    let page = format!("{}/p/{token}", ctx.server.public_base_url);
    let how = match flow {
        Flow::Qr => Start::Qr,
        Flow::H5 => Start::H5 { payer_ip: client_address(ctx, req), return_url: format!("{page}?back=1") },
        Flow::Wap => Start::Wap { return_url: format!("{page}?back=1"), quit_url: page },
        Flow::MobileWeb => Start::MobileWeb { front_url: format!("{page}/back") },
        Flow::Jsapi => return Err(ApiError::internal("jsapi is started with the payer's openid")),
    };
    let started = payments::request_order(&ctx.channels, &order, &how, ctx.clock.now()).await?;
    if let Started::Qr(code) = &started {
        let (number, code, now) = (order.out_trade_no.clone(), code.clone(), ctx.clock.now().naive_utc());
        // Only a shortcut for the next tap: a failure to keep it is logged, not the payer's.
        let kept = with_conn(ctx, move |conn| Ok(channel_orders::set_pay_url(conn, &number, &code, now)?)).await;
        if let Err(e) = kept {
            log::warn!("keeping the code of {}: {e}", order.out_trade_no);
        }
    }
    Ok((started, Fen(order.amount_fen)))
}

/// The fine's order at `kind` in `flow`: the open one, or a new one.
pub(super) async fn open_order(
    ctx: &web::Data<AppState>,
    decision_no: &str,
    kind: ChannelKind,
    flow: Flow,
) -> Result<ChannelOrderRow, ApiError> {
    let (pool, decision_no, now) = (ctx.pool.clone(), decision_no.to_owned(), ctx.clock.now());
    with_conn(ctx, move |conn| Ok(payments::prepare_order(&pool, conn, &decision_no, kind, flow, now)?)).await
}

/// The answer to a script: `{"channel", "flow", …}`.
pub(super) fn next_json(kind: ChannelKind, next: &Next) -> HttpResponse {
    let channel = kind.as_str();
    let body = match next {
        Next::Started(Started::Qr(code)) => json!({"channel": channel, "flow": "qr", "qr_content": code}),
        Next::Started(Started::Redirect(url)) => json!({"channel": channel, "flow": "redirect", "url": url}),
        Next::Started(Started::Form { action, fields }) => {
            let fields: serde_json::Map<String, serde_json::Value> =
                fields.iter().map(|(name, value)| (name.clone(), value.clone().into())).collect();
            json!({"channel": channel, "flow": "form", "action": action, "fields": fields})
        }
        Next::Started(Started::Jsapi(params)) => json!({"channel": channel, "flow": "jsapi", "params": params}),
        Next::Oauth(url) => json!({"channel": channel, "flow": "oauth", "url": url}),
        Next::Elsewhere(url) => json!({"channel": channel, "flow": "open_elsewhere", "url": url}),
    };
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body)
}

/// The answer to the page's form: the next page.
pub(super) fn next_page(page: &StepPage<'_>, next: &Next, client: Client) -> HttpResponse {
    let step = match next {
        Next::Started(Started::Qr(code)) => Step::Qr { content: code, wechat_work: client == Client::WechatWork },
        Next::Started(Started::Redirect(url)) | Next::Oauth(url) => Step::Redirect { url },
        Next::Started(Started::Form { action, fields }) => Step::Form { action, fields },
        Next::Started(Started::Jsapi(params)) => Step::Jsapi { params },
        Next::Elsewhere(page_url) => Step::Elsewhere { page_url },
    };
    pay_steps::respond(page, &step)
}

fn back_to_page(token: &str, lang: Lang) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("Location", format!("/p/{token}?lang={}", lang.code()))).finish()
}

fn unknown_channel(ctx: &AppState, asked: &str) -> ApiError {
    let offered: Vec<&str> = ctx.channels.kinds().into_iter().map(ChannelKind::as_str).collect();
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_channel", format!("channel {asked:?} is not offered"))
        .with_details(json!({"offered": offered}))
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
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "channel_unavailable",
                message: "the payment channel did not answer or refused; try again later, choose another channel, or pay at a bank".into(),
                details: json!({}),
                cause: Some(e.into()),
            },
            OpenError::Database(e) => ApiError::from(e),
        }
    }
}
