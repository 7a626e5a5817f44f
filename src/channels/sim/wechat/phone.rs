//! The payer's phone, as WeChat's app and cashier behave:
//!
//! - OAuth `snsapi_base`: `GET /connect/oauth2/authorize` sends the browser back to the merchant's
//!   `redirect_uri` (on its registered domain only) with a single-use `code` of five minutes;
//!   `GET /sns/oauth2/access_token` exchanges it, with the official account's secret, for the
//!   payer's `openid` — or WeChat's error codes (40029 invalid, 40163 used, 40125 bad secret).
//!   The payer is a WeChat user the simulator remembers by a cookie.
//! - H5: the `h5_url` opens WeChat's cashier only from a page on the merchant's H5 domain (WeChat
//!   checks the `Referer`), outside WeChat, within five minutes; paying sends the browser to
//!   `redirect_url`.
//! - JSAPI: `GET /sim/wechat/jsbridge.js` is a stand-in for the `WeixinJSBridge` WeChat's app
//!   puts in a page: `getBrandWCPayRequest` checks the parameters as WeChat does (the merchant's
//!   `paySign` over the four lines, the prepay's `appId`, its life) and pays at the simulator,
//!   then calls back `get_brand_wcpay_request:ok` (or `:fail`).

use super::{TradeType, WechatSim, nonce};
use crate::channels::JsapiParams;
use crate::channels::sim::{PayError, SimPayment, Simulator, html_page};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::PoisonError;

/// Where an `h5_url` points, under the simulator's address.
pub(in crate::channels::sim) const H5_PATH: &str = "/sim/wechat/h5";

/// An OAuth `code` lives five minutes and is good once.
const OAUTH_CODE_LIFE: Duration = Duration::minutes(5);

/// The cookie by which the simulator knows the WeChat user in a browser.
const USER_COOKIE: &str = "sim_wechat_openid";

#[derive(Debug, Default)]
pub(in crate::channels::sim) struct OauthState {
    /// Codes handed out: the payer they stand for, when, and whether exchanged.
    codes: HashMap<String, OauthCode>,
    /// Every openid this official account has seen: JSAPI prepay takes no other.
    openids: HashSet<String>,
}

#[derive(Debug)]
struct OauthCode {
    openid: String,
    issued_at: DateTime<Utc>,
    used: bool,
}

/// A new WeChat user's openid under the simulated official account (28 characters, as WeChat's).
pub(super) fn new_openid() -> String {
    format!("o{}", &nonce()[..27])
}

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/connect/oauth2/authorize", web::get().to(authorize))
        .route("/sns/oauth2/access_token", web::get().to(access_token))
        .route(H5_PATH, web::get().to(h5_cashier))
        .route(H5_PATH, web::post().to(h5_pay))
        .route("/sim/wechat/jsbridge.js", web::get().to(jsbridge))
        .route("/sim/wechat/jsapi-pay", web::post().to(jsapi_pay))
        .route("/sim/wechat/jsapi-pay", web::method(actix_web::http::Method::OPTIONS).to(preflight));
}

impl WechatSim {
    fn oauth(&self) -> std::sync::MutexGuard<'_, OauthState> {
        self.oauth.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `openid` is a payer this official account has seen (through OAuth).
    pub(super) fn knows_openid(&self, openid: &str) -> bool {
        self.oauth().openids.contains(openid)
    }

    /// The payer pays the JSAPI order behind `params`, after the checks WeChat's app makes.
    pub fn pay_jsapi(&self, params: &JsapiParams) -> Result<SimPayment, PayError> {
        self.pay_jsapi_as(params, None)
    }

    /// As [`WechatSim::pay_jsapi`], by the WeChat user `payer` when the bridge knows who it is:
    /// another account than the prepay's is refused, as WeChat's app refuses it.
    fn pay_jsapi_as(&self, params: &JsapiParams, payer: Option<&str>) -> Result<SimPayment, PayError> {
        if params.app_id != self.config.appid {
            return Err(PayError::Refused("appId与下单appid不一致".into()));
        }
        if params.sign_type != "RSA" {
            return Err(PayError::Refused("signType只能是RSA".into()));
        }
        let message = JsapiParams::message(&params.app_id, &params.time_stamp, &params.nonce_str, &params.package);
        let signed_by_merchant =
            self.config.merchant_keys.values().any(|key| key.verify_base64(message.as_bytes(), &params.pay_sign));
        if !signed_by_merchant {
            return Err(PayError::Refused("支付验证签名失败".into()));
        }
        let prepay_id = params.package.strip_prefix("prepay_id=").ok_or(PayError::UnknownCode)?;
        self.pay_handle(TradeType::Jsapi, prepay_id, payer)
    }

    /// The payer pays the H5 order behind `prepay_id`.
    pub fn pay_h5(&self, prepay_id: &str) -> Result<SimPayment, PayError> {
        self.pay_handle(TradeType::H5, prepay_id, None)
    }

    fn on_web_domain(&self, url: &str) -> bool {
        let domain = self.config.web_domain.trim_end_matches('/');
        url == domain || url.strip_prefix(domain).is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
    }
}

#[derive(Debug, serde::Deserialize)]
struct AuthorizeQuery {
    appid: String,
    redirect_uri: String,
    response_type: String,
    scope: String,
    #[serde(default)]
    state: String,
}

/// The WeChat account this browser is signed in as, if the simulator has seen it.
fn known_payer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all("Cookie")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|header| header.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(USER_COOKIE)?.strip_prefix('=').map(str::to_owned))
}

/// The payer's WeChat account in this browser, and the `Set-Cookie` that keeps a new one.
fn payer_of(req: &HttpRequest) -> (String, Option<String>) {
    match known_payer(req) {
        Some(openid) => (openid, None),
        None => {
            let openid = new_openid();
            let cookie = format!("{USER_COOKIE}={openid}; Path=/; HttpOnly");
            (openid, Some(cookie))
        }
    }
}

async fn authorize(sim: web::Data<Simulator>, req: HttpRequest, query: web::Query<AuthorizeQuery>) -> HttpResponse {
    let Some(sim) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    let refuse = |code: u32, message: &str| {
        html_page(StatusCode::BAD_REQUEST, "微信授权", &format!("<p id=\"message\">{code} {message}</p>"))
    };
    if query.appid != sim.config.appid {
        return refuse(10016, "appid错误");
    }
    if query.response_type != "code" || !["snsapi_base", "snsapi_userinfo"].contains(&query.scope.as_str()) {
        return refuse(10005, "scope参数错误或没有scope权限");
    }
    if !sim.on_web_domain(&query.redirect_uri) {
        return refuse(10003, "redirect_uri域名与后台配置不一致");
    }
    if query.state.len() > 128 || !query.state.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return refuse(10004, "state参数不合法");
    }
    let (openid, cookie) = payer_of(&req);
    let code = nonce();
    {
        let mut oauth = sim.oauth();
        oauth.openids.insert(openid.clone());
        oauth.codes.insert(code.clone(), OauthCode { openid, issued_at: sim.clock.now(), used: false });
    }
    let separator = if query.redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{}{separator}code={code}&state={}", query.redirect_uri, query.state);
    let mut response = HttpResponse::Found();
    response.insert_header(("Location", location));
    if let Some(cookie) = cookie {
        response.insert_header(("Set-Cookie", cookie));
    }
    response.finish()
}

#[derive(Debug, serde::Deserialize)]
struct TokenQuery {
    appid: String,
    secret: String,
    code: String,
    grant_type: String,
}

async fn access_token(sim: web::Data<Simulator>, query: web::Query<TokenQuery>) -> HttpResponse {
    let Some(sim) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    let error = |errcode: u32, errmsg: &str| {
        HttpResponse::Ok()
            .json(serde_json::json!({"errcode": errcode, "errmsg": format!("{errmsg}, rid: {}", &nonce()[..8])}))
    };
    if query.appid != sim.config.appid {
        return error(40013, "invalid appid");
    }
    if query.secret != sim.config.app_secret {
        return error(40125, "invalid appsecret");
    }
    if query.grant_type != "authorization_code" {
        return error(40002, "invalid grant_type");
    }
    let now = sim.clock.now();
    let mut oauth = sim.oauth();
    let Some(code) = oauth.codes.get_mut(&query.code) else { return error(40029, "invalid code") };
    if now >= code.issued_at + OAUTH_CODE_LIFE {
        return error(40029, "invalid code");
    }
    if code.used {
        return error(40163, "code been used");
    }
    code.used = true;
    let openid = code.openid.clone();
    drop(oauth);
    HttpResponse::Ok().json(serde_json::json!({
        "access_token": nonce(),
        "expires_in": 7200,
        "refresh_token": nonce(),
        "openid": openid,
        "scope": "snsapi_base",
        "is_snapshotuser": 0,
    }))
}

#[derive(Debug, serde::Deserialize)]
struct H5Query {
    prepay_id: String,
    #[serde(default)]
    redirect_url: Option<String>,
}

/// WeChat's H5 cashier, opened from the merchant's page. What WeChat refuses, refused the same.
async fn h5_cashier(sim: web::Data<Simulator>, req: HttpRequest, query: web::Query<H5Query>) -> HttpResponse {
    let Some(sim) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    let refuse = |message: &str| html_page(StatusCode::OK, "微信支付", &format!("<p id=\"message\">{message}</p>"));
    let user_agent = req.headers().get("User-Agent").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if user_agent.contains("MicroMessenger") {
        return refuse("请在微信外打开订单，进行支付");
    }
    match req.headers().get("Referer").and_then(|v| v.to_str().ok()) {
        None => return refuse("商家参数格式有误，请联系商家解决"),
        Some(referer) if !sim.on_web_domain(referer) => return refuse("商家存在未配置的参数，请联系商家解决"),
        Some(_) => {}
    }
    let now = sim.clock.now();
    let mut orders = sim.orders();
    let order = match super::payable(&mut orders, TradeType::H5, &query.prepay_id, now) {
        Ok((_, order)) => order.clone(),
        Err(PayError::CodeExpired) => return refuse("支付请求已失效，请重新发起支付"),
        Err(e) => return refuse(&e.to_string()),
    };
    drop(orders);
    let fields =
        [("prepay_id", query.prepay_id.as_str()), ("redirect_url", query.redirect_url.as_deref().unwrap_or_default())];
    crate::channels::sim::cashier_page(
        "微信支付 WeChat Pay",
        &order.description,
        crate::domain::Fen(order.amount),
        H5_PATH,
        &fields,
        "",
    )
}

#[derive(Debug, serde::Deserialize)]
struct H5Pay {
    prepay_id: String,
    #[serde(default)]
    redirect_url: String,
}

/// The cashier's Pay button: pays, sends the notification, and sends the browser back.
async fn h5_pay(sim: web::Data<Simulator>, form: web::Form<H5Pay>) -> HttpResponse {
    let Some(wechat) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    // WeChat returns the payer only to the merchant's H5 domain.
    if !form.redirect_url.is_empty() && !wechat.on_web_domain(&form.redirect_url) {
        return html_page(StatusCode::OK, "微信支付", "<p id=\"message\">redirect_url与商户H5域名不一致</p>");
    }
    match wechat.pay_h5(&form.prepay_id) {
        Ok(payment) => {
            crate::channels::sim::notify_in_background(&sim, "wechat", payment);
            if form.redirect_url.is_empty() {
                html_page(StatusCode::OK, "微信支付", "<p id=\"paid\">支付成功 Payment successful</p>")
            } else {
                HttpResponse::SeeOther().insert_header(("Location", form.redirect_url.clone())).finish()
            }
        }
        Err(e) => html_page(StatusCode::CONFLICT, "微信支付", &format!("<p id=\"message\">{e}</p>")),
    }
}

/// The stand-in for WeChat's bridge. It posts the parameters to the simulator, which checks and
/// pays them; a real bridge is native code, so a browser test runs the page with its content
/// security policy set aside.
async fn jsbridge(sim: web::Data<Simulator>) -> HttpResponse {
    let Some(wechat) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    let script = format!(
        r#"(function () {{
  if (window.WeixinJSBridge) return;
  window.WeixinJSBridge = {{
    invoke: function (name, params, callback) {{
      if (name !== 'getBrandWCPayRequest') {{ callback({{ err_msg: name + ':fail' }}); return; }}
      fetch('{base}/sim/wechat/jsapi-pay', {{
        method: 'POST', credentials: 'include', headers: {{ 'Content-Type': 'application/json' }},
        body: JSON.stringify(params)
      }}).then(function (r) {{ return r.json(); }})
        .then(function (answer) {{ callback(answer); }})
        .catch(function () {{ callback({{ err_msg: 'get_brand_wcpay_request:fail' }}); }});
    }}
  }};
  var ready = function () {{ document.dispatchEvent(new Event('WeixinJSBridgeReady')); }};
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', ready); else setTimeout(ready, 0);
}})();
"#,
        base = wechat.config.public_url
    );
    HttpResponse::Ok().content_type("text/javascript; charset=utf-8").body(script)
}

/// The bridge's calls come from the merchant's page, with the WeChat user's cookie.
fn cors(req: &HttpRequest, mut response: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    let origin = req.headers().get("Origin").and_then(|v| v.to_str().ok()).unwrap_or("null").to_owned();
    response
        .insert_header(("Access-Control-Allow-Origin", origin))
        .insert_header(("Access-Control-Allow-Credentials", "true"))
        .insert_header(("Access-Control-Allow-Headers", "Content-Type"))
        .insert_header(("Access-Control-Allow-Methods", "POST"))
        .insert_header(("Vary", "Origin"));
    response
}

async fn preflight(req: HttpRequest) -> HttpResponse {
    cors(&req, HttpResponse::NoContent()).finish()
}

/// `getBrandWCPayRequest` on the simulator's side: WeChat's checks, the payment, the callback's
/// `err_msg`.
async fn jsapi_pay(sim: web::Data<Simulator>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some(wechat) = sim.wechat.as_ref() else { return HttpResponse::NotFound().finish() };
    let payer = known_payer(&req);
    let answer = match serde_json::from_slice::<JsapiParams>(&body).map_err(|_| PayError::UnknownCode) {
        Ok(params) => wechat.pay_jsapi_as(&params, payer.as_deref()),
        Err(e) => Err(e),
    };
    let err_msg = match answer {
        Ok(payment) => {
            crate::channels::sim::notify_in_background(&sim, "wechat", payment);
            "get_brand_wcpay_request:ok".to_owned()
        }
        Err(e) => {
            log::info!("simulated WeixinJSBridge refused a payment: {e}");
            "get_brand_wcpay_request:fail".to_owned()
        }
    };
    cors(&req, HttpResponse::Ok()).json(serde_json::json!({ "err_msg": err_msg }))
}
