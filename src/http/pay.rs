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
use super::pages::not_found;
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
    /// The payer's openid first: WeChat's authorize page, and the trip's `state`.
    Oauth {
        url: String,
        state: String,
    },
    /// The app the page is open in blocks the channel: the page's own address, to open elsewhere.
    Elsewhere(String),
}

pub(super) async fn pay(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // The page's buttons post a form (no script needed); API clients post JSON.
    let from_form = req.content_type() == "application/x-www-form-urlencoded";
    let lang = Lang::pick(req.query_string(), req.headers().get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let body = match read_body(&req, payload, ctx.server.max_body_bytes).await {
        Ok(body) => body,
        Err(e) if from_form => return Ok(refused_form(&path, lang, &e)),
        Err(e) => return Err(e),
    };
    let Some(no) = ctx.signer.verify(&path) else {
        return if from_form { Ok(not_found(false, lang)) } else { Err(ApiError::not_found()) };
    };
    let tap = Tap { ctx: &ctx, req: &req, token: &path, decision_no: no.as_str(), lang };
    let answer = tap.answer(&body, from_form).await;
    let page = |channel, amount| StepPage { token: path.as_str(), lang, channel, amount };
    let mut response = match &answer {
        Ok((kind, client, next, amount)) if from_form => next_page(&page(Some(*kind), *amount), next, *client),
        Ok((kind, _, next, _)) => next_json(*kind, next),
        Err(e) if !from_form => return Err(answer.err().unwrap_or_else(|| ApiError::internal("no error"))),
        // A payer on the page whose window just closed sees the page again, which says why.
        Err(e) if ["qr_expired", "already_paid", "fine_void"].contains(&e.code) => back_to_page(&path, lang),
        // Anything else the page's form meets is a page in its language that says what to do.
        Err(e) => refused_form(&path, lang, e),
    };
    if let Ok((_, _, Next::Oauth { state, .. }, _)) = &answer {
        // The return counts only in the browser that went: WeChat keeps the cookie of its own
        // web view, and a state someone else started does not land on this payer.
        let cookie = format!(
            "{OAUTH_COOKIE}={state}; Path=/p/{}; Max-Age={}; HttpOnly; SameSite=Lax{}",
            path.as_str(),
            OAUTH_STATE_LIFE.num_seconds(),
            if ctx.server.public_base_url.starts_with("https://") { "; Secure" } else { "" }
        );
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&cookie) {
            response.headers_mut().append(actix_web::http::header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// One tap on a channel: the fine's token and number, and the request.
struct Tap<'a> {
    ctx: &'a web::Data<AppState>,
    req: &'a HttpRequest,
    token: &'a str,
    decision_no: &'a str,
    lang: Lang,
}

impl Tap<'_> {
    /// The channel, where the page is open, what the browser does next, and the amount.
    async fn answer(&self, body: &[u8], from_form: bool) -> Result<(ChannelKind, Client, Next, Fen), ApiError> {
        let ctx = self.ctx;
        let request: PayRequest = if from_form { request_from_form(body)? } else { parse_json(body)?.0 };
        let kind = ChannelKind::parse(&request.channel)
            .filter(|kind| ctx.channels.get(*kind).is_some())
            .ok_or_else(|| unknown_channel(ctx, &request.channel))?;
        let client = match request.client.as_deref() {
            Some(name) => Client::parse(name).ok_or_else(|| {
                ApiError::invalid_request(format!(
                    "client {name:?} is not one of wechat, alipay, unionpay, mobile, desktop"
                ))
            })?,
            None => Client::from_user_agent(user_agent(self.req)),
        };
        let route = payments::choose_flow(client, kind, |flow| ctx.channels.offers(kind, flow));
        log::debug!("{}: {} on {} is {route:?}", self.decision_no, kind.as_str(), client.as_str());
        let (next, amount) = match route {
            Route::OpenElsewhere => (Next::Elsewhere(self.page_url()), check_payable(ctx, self.decision_no).await?),
            Route::Start(Flow::Jsapi) => self.start_oauth().await?,
            Route::OpenCode => match self.start(kind, Flow::Qr).await? {
                (Started::Qr(code), amount) => (Next::Started(Started::Redirect(code)), amount),
                (started, amount) => (Next::Started(started), amount),
            },
            Route::Start(flow) => {
                let started = match self.start(kind, flow).await {
                    // A flow whose attempts are used up (UnionPay's forms, a tap every few minutes
                    // for hours) still has the channel's code.
                    Err(e) if e.code == "conflict" && flow != Flow::Qr => self.start(kind, Flow::Qr).await,
                    other => other,
                };
                let (started, amount) = started?;
                (Next::Started(started), amount)
            }
        };
        Ok((kind, client, next, amount))
    }

    /// The fine's page, as this request spells its token.
    fn page_url(&self) -> String {
        format!("{}/p/{}", self.ctx.server.public_base_url, self.token)
    }

    /// Where a channel sends the payer back: the page, which confirms with the channel.
    fn return_url(&self) -> String {
        format!("{}?back=1&lang={}", self.page_url(), self.lang.code())
    }

    /// JSAPI needs the payer's openid first: a single-use `state` bound to the fine (and, by a
    /// cookie, to this browser), and WeChat's authorize page returning to
    /// `/p/{token}/wechat-oauth`.
    async fn start_oauth(&self) -> Result<(Next, Fen), ApiError> {
        let ctx = self.ctx;
        let oauth = ctx.channels.wechat_oauth().ok_or_else(oauth_missing)?;
        let state = oauth_state()?;
        let (no, issued, now) = (self.decision_no.to_owned(), state.clone(), ctx.clock.now());
        let amount = with_conn(ctx, move |conn| {
            let (amount, _) = payments::payable(conn, &no, now)?;
            let recent = oauth_states::issued_since(conn, &no, (now - OAUTH_STATE_LIFE).naive_utc())?;
            if recent >= OAUTH_STATES_PER_FINE {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many WeChat sign-ins for this fine; wait a few minutes",
                )
                .with_details(json!({"retry_after_seconds": OAUTH_STATE_LIFE.num_seconds()})));
            }
            oauth_states::issue(conn, &issued, &no, now.naive_utc())?;
            Ok(Fen(amount))
        })
        .await?;
        let redirect_uri = format!("{}/wechat-oauth?lang={}", self.page_url(), self.lang.code());
        Ok((Next::Oauth { url: oauth.authorize_url(&redirect_uri, &state), state }, amount))
    }

    /// Opens (or reuses) the fine's order at `kind` in `flow` and starts it; a QR flow's code is
    /// kept, so that a page refreshed soon shows it again without asking the channel.
    async fn start(&self, kind: ChannelKind, flow: Flow) -> Result<(Started, Fen), ApiError> {
        let ctx = self.ctx;
        let order = open_order(ctx, self.decision_no, (kind, flow), None).await?;
        let how = match flow {
            Flow::Qr => Start::Qr,
            Flow::H5 => Start::H5 { payer_ip: client_address(ctx, self.req), return_url: self.return_url() },
            Flow::Wap => Start::Wap { return_url: self.return_url(), quit_url: self.page_url() },
            Flow::MobileWeb => {
                Start::MobileWeb { front_url: format!("{}/back?lang={}", self.page_url(), self.lang.code()) }
            }
            Flow::Jsapi => return Err(ApiError::internal("jsapi is started with the payer's openid")),
        };
        let started = payments::request_order(&ctx.channels, &order, &how, ctx.clock.now()).await?;
        if let Started::Qr(code) = &started {
            let (number, code, now) = (order.out_trade_no.clone(), code.clone(), ctx.clock.now().naive_utc());
            // Only a shortcut for the next tap: a failure to keep it is logged, not the payer's.
            let kept = with_conn(ctx, move |conn| Ok(channel_orders::set_pay_url(conn, &number, &code, now)?)).await;
            if let Err(e) = kept {
                log::warn!("keeping the code of {}: {}", order.out_trade_no, e.message);
            }
        }
        Ok((started, Fen(order.amount_fen)))
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
    let lang = Lang::pick(req.query_string(), req.headers().get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    if ctx.signer.verify(&path).is_none() {
        return Ok(super::pages::not_found(false, lang));
    }
    let page = format!("/p/{}?back=1&lang={}", path.as_str(), lang.code());
    Ok(HttpResponse::SeeOther().insert_header(("Location", page)).finish())
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

/// WeChat sign-ins one fine may start within [`OAUTH_STATE_LIFE`]: far more than its payers
/// need, and a bound on what a script holding the bill can make finepay store.
const OAUTH_STATES_PER_FINE: i64 = 20;

/// The cookie that binds an OAuth trip to the browser that started it.
pub(super) const OAUTH_COOKIE: &str = "finepay_wechat_state";

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

/// JSAPI offered without OAuth cannot be configured; a state left from before a configuration
/// change meets this.
pub(super) fn oauth_missing() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "channel_unavailable", "WeChat Pay inside WeChat is not offered now")
}

/// The fine's order at `kind` in `flow` (for `payer`, in a flow that names one): the open one,
/// or a new one.
pub(super) async fn open_order(
    ctx: &web::Data<AppState>,
    decision_no: &str,
    kind_and_flow: (ChannelKind, Flow),
    payer: Option<String>,
) -> Result<ChannelOrderRow, ApiError> {
    let (pool, decision_no, now) = (ctx.pool.clone(), decision_no.to_owned(), ctx.clock.now());
    with_conn(ctx, move |conn| {
        Ok(payments::prepare_order(&pool, conn, &decision_no, kind_and_flow, payer.as_deref(), now)?)
    })
    .await
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
        Next::Oauth { url, .. } => json!({"channel": channel, "flow": "oauth", "url": url}),
        Next::Elsewhere(url) => json!({"channel": channel, "flow": "open_elsewhere", "url": url}),
    };
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body)
}

/// The answer to the page's form: the next page.
pub(super) fn next_page(page: &StepPage<'_>, next: &Next, client: Client) -> HttpResponse {
    let step = match next {
        Next::Started(Started::Qr(code)) => Step::Qr { content: code, wechat_work: client == Client::WechatWork },
        Next::Started(Started::Redirect(url)) | Next::Oauth { url, .. } => Step::Redirect { url },
        Next::Started(Started::Form { action, fields }) => Step::Form { action, fields },
        Next::Started(Started::Jsapi(params)) => Step::Jsapi { params },
        Next::Elsewhere(page_url) => Step::Elsewhere { page_url },
    };
    pay_steps::respond(page, &step)
}

/// A tap the page's form made that cannot start a payment: a page in its language saying what to
/// do (another channel, later, a bank), never JSON.
fn refused_form(token: &str, lang: Lang, e: &ApiError) -> HttpResponse {
    let cause = e.cause.as_deref().map(|cause| crate::errors::chain(cause)).unwrap_or_default();
    log::warn!("paying by the page's form: {} {} {cause}", e.code, e.message);
    let page = StepPage { token, lang, channel: None, amount: Fen(0) };
    pay_steps::respond(&page, &Step::CannotStart(e.status))
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
