//! The payment channel simulator: the three channels' merchant APIs with their own keys, for
//! tests, demos and local runs, so that finepay's channel code is the production code with other
//! base URLs and keys. `finepay channel-sim` runs it alone; `finepay serve` can start it beside
//! the daemon.

mod alipay;
mod fixtures;
mod payer;
mod settings;
mod setup;
mod unionpay;
mod wechat;

pub use alipay::{AlipaySim, AlipaySimConfig};
pub use fixtures::{SIMULATOR_APIV3_KEY, SIMULATOR_APP_SECRET, is_simulator_fixture};
pub use settings::{SimulatorKeys, SimulatorSettings};
pub use setup::{SetupError, from_settings};
pub use unionpay::{UnionpaySim, UnionpaySimConfig};
pub use wechat::{WechatSim, WechatSimConfig};

/// The simulator's file `name` as shipped in `config/simulator/`.
pub fn builtin_file(name: &str) -> Option<&'static str> {
    fixtures::builtin(name)
}

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use std::net::TcpListener;

/// Everything the simulator serves. A channel left `None` answers 404 on its paths.
#[derive(Default)]
pub struct Simulator {
    pub wechat: Option<wechat::WechatSim>,
    pub alipay: Option<alipay::AlipaySim>,
    pub unionpay: Option<unionpay::UnionpaySim>,
    /// The payer's side: fault knobs and notification delivery.
    pub payer: payer::PayerState,
}

impl Simulator {
    pub fn configure(cfg: &mut web::ServiceConfig) {
        wechat::WechatSim::configure(cfg);
        alipay::AlipaySim::configure(cfg);
        unionpay::UnionpaySim::configure(cfg);
        payer::configure(cfg);
    }
}

/// Why the simulated payer could not pay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayError {
    #[error("no order behind this code")]
    UnknownCode,
    #[error("the code has expired")]
    CodeExpired,
    #[error("the order can no longer be paid")]
    NotPayable,
    #[error("the channel refused: {0}")]
    Refused(String),
}

/// A page of the simulator's payer side (a wallet, a cashier), phone-sized.
pub(crate) fn html_page(status: actix_web::http::StatusCode, title: &str, body: &str) -> actix_web::HttpResponse {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font:16px system-ui,sans-serif;max-width:480px;margin:0 auto;padding:16px}}\
         h1{{font-size:20px}}.amount{{font-size:28px;font-weight:700}}button{{width:100%;min-height:48px;font-size:18px}}\
         #paid{{color:#1a7f37;font-weight:600}}</style></head><body>{body}</body></html>",
        title = escape(title),
    );
    actix_web::HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html)
}

/// A channel's cashier: the order, and a Pay button posting `fields` to `action`; `extra` follows
/// the form (a quit link).
pub(crate) fn cashier_page(
    heading: &str,
    description: &str,
    amount: crate::domain::Fen,
    action: &str,
    fields: &[(&str, &str)],
    extra: &str,
) -> actix_web::HttpResponse {
    let inputs = hidden_inputs(fields.iter().copied());
    let body = format!(
        "<h1>{heading} (simulated)</h1><p>{}</p><p class=\"amount\">{amount}</p>\
         <form method=\"post\" action=\"{}\">{inputs}<button id=\"pay\" type=\"submit\">确认付款 Pay</button></form>{extra}",
        escape(description),
        escape(action),
    );
    html_page(actix_web::http::StatusCode::OK, heading, &body)
}

/// Hidden inputs carrying `fields` in a form.
pub(crate) fn hidden_inputs<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    fields
        .into_iter()
        .map(|(name, value)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(name), escape(value)))
        .collect()
}

/// The form a cashier's Pay button posts: the order's payer code.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct CodeForm {
    pub code: String,
}

/// Text made safe inside HTML and its attributes.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub use payer::PayAnswer;
pub(crate) use payer::notify_in_background;
#[cfg(test)]
pub(crate) use payer::query_value;

/// What the payer's phone shows after scanning a pay link: the order about to be paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletOrder {
    pub channel: crate::channels::ChannelKind,
    pub out_trade_no: String,
    pub description: String,
    pub amount: crate::domain::Fen,
    /// Whether the Pay button would work now.
    pub payable: bool,
}

/// A payment the simulated payer made, with the notification the channel sends for it.
#[derive(Debug, Clone)]
pub struct SimPayment {
    pub out_trade_no: String,
    pub notification: Delivery,
}

/// A notification as it goes on the wire to the merchant's notify URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Delivery {
    /// The request as the merchant receives it.
    pub fn inbound(&self) -> crate::channels::Inbound<'_> {
        crate::channels::Inbound { headers: &self.headers, body: &self.body }
    }
}

/// A running simulator.
pub struct SimServer {
    pub port: u16,
    pub handle: ServerHandle,
    pub simulator: web::Data<Simulator>,
}

/// Binds `listen` (port 0 picks a free port) and serves `simulator` on the current actix system.
pub fn start(listen: &str, simulator: Simulator) -> std::io::Result<SimServer> {
    start_on(TcpListener::bind(listen)?, simulator)
}

/// Serves `simulator` on a bound listener (whose port its pay links already name).
pub fn start_on(listener: TcpListener, simulator: Simulator) -> std::io::Result<SimServer> {
    let port = listener.local_addr()?.port();
    let data = web::Data::new(simulator);
    let app_data = data.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_data.clone())
            .wrap(actix_web::middleware::from_fn(payer::api_faults))
            .configure(Simulator::configure)
    })
    .workers(1)
    // As the channels' own front ends do; finepay's client lets connections go sooner.
    .keep_alive(std::time::Duration::from_secs(75))
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Ok(SimServer { port, handle, simulator: data })
}
