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
pub use fixtures::{SIMULATOR_APIV3_KEY, is_simulator_fixture};
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
}

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
