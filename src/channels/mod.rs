//! Payment channels: WeChat Pay v3, Alipay and UnionPay ACP on their real wire formats, and the
//! simulator that speaks them locally. Each channel has its own module; what they share — the
//! order and payment shapes finepay works with, and the cryptography — lives here.

mod alipay;
mod crypto;
mod flow;
mod settings;
pub mod sim;
mod unionpay;
mod wechat;

pub(crate) use alipay::{AlipayClient, AlipayConfig};
pub(crate) use crypto::{Certificate, CryptoError, RsaPublicKey, RsaSigningKey};
pub use flow::{Flow, JsapiParams, Start, Started};
pub use settings::{
    AlipaySettings, ChannelSettings, NOTIFY_LOOPBACK, SIMULATOR_BASE_URL, UnionpaySettings, WechatSettings,
};
pub(crate) use unionpay::protocol::FILE_TRANS_PATH as UNIONPAY_FILE_TRANS_PATH;
pub(crate) use unionpay::{UnionpayClient, UnionpayConfig};
pub(crate) use wechat::protocol::Verifier as WechatVerifier;
pub(crate) use wechat::{WechatConfig, WechatOauth, WechatPay};

/// A file of `config/simulator/` (the simulator's keys and certificates), for unit tests.
#[cfg(test)]
pub(crate) fn simulator_fixture(name: &str) -> String {
    let path = format!("{}/config/simulator/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A ¥200 order for the channel tests, due in four hours, described as finepay describes it
/// (the decision number is the order number's first 19 characters).
#[cfg(test)]
pub(crate) fn test_order(out_trade_no: &str, clock: &crate::domain::time::ManualClock) -> OrderRequest {
    use crate::domain::time::Clock;
    OrderRequest {
        out_trade_no: out_trade_no.into(),
        description: format!("交通违法罚款 {}", &out_trade_no[..19]),
        amount: crate::domain::Fen(20000),
        pay_by: clock.now() + chrono::Duration::hours(4),
        opened_at: clock.now(),
        flow: Flow::Qr,
    }
}

/// The code in a simulator pay link (`…?pr=<code>`).
#[cfg(test)]
pub(crate) fn pay_code_of(pay_url: &str) -> String {
    pay_url.split("pr=").nth(1).expect("pr").to_owned()
}

use crate::domain::Fen;
use crate::errors::Why;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;

/// The three QR channels. The letter ends a channel order's `out_trade_no`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChannelKind {
    Wechat,
    Alipay,
    Unionpay,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 3] = [ChannelKind::Wechat, ChannelKind::Alipay, ChannelKind::Unionpay];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Wechat => "wechat",
            ChannelKind::Alipay => "alipay",
            ChannelKind::Unionpay => "unionpay",
        }
    }

    pub fn parse(name: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    pub fn letter(self) -> char {
        match self {
            ChannelKind::Wechat => 'W',
            ChannelKind::Alipay => 'A',
            ChannelKind::Unionpay => 'U',
        }
    }
}

/// The HTTP client every channel uses: TLS by rustls with ring's cryptography (the same library
/// that signs), certificates checked against the platform's roots, and one deadline per call.
pub fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, ChannelError> {
    // Installing twice is harmless: the first provider stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // Let idle connections go well before a server's keep-alive ends, so a request is not
        // written into a connection the server is closing at that moment.
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| ChannelError::Transport(Why::of(e)))
}

/// One line of a channel's daily statement: a payment or a refund as the channel booked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    pub kind: StatementKind,
    pub out_trade_no: String,
    pub channel_txn_id: String,
    /// For refunds: finepay's refund number.
    pub out_refund_no: Option<String>,
    pub amount: Fen,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    Payment,
    Refund,
}

/// What every channel does for finepay. Each module implements it over its own wire format; the
/// payment service only ever sees this. Network calls are boxed futures so channels can sit
/// behind `dyn PaymentChannel`.
pub trait PaymentChannel: Send + Sync {
    fn kind(&self) -> ChannelKind;

    /// Opens the order in the flow `how` names (or returns the open one: calls with the same
    /// `out_trade_no` and the same parameters are idempotent at every channel), and says what the
    /// payer's browser does next. A flow the channel does not have is `Refused`.
    fn start<'a>(&'a self, order: &'a OrderRequest, how: &'a Start) -> BoxFuture<'a, Result<Started, ChannelError>>;

    fn query<'a>(&'a self, order: &'a OrderRef) -> BoxFuture<'a, Result<OrderStatus, ChannelError>>;

    /// Makes an unpaid order unpayable. A paid order answers `AlreadyPaid`: a payment to apply.
    fn close<'a>(&'a self, order: &'a OrderRef) -> BoxFuture<'a, Result<CloseOutcome, ChannelError>>;

    /// Asks for a refund to the payer's own account. `out_refund_no` is the idempotency key: the
    /// same request repeated refunds once and reports the refund's current state.
    fn refund<'a>(&'a self, refund: &'a RefundRequest) -> BoxFuture<'a, Result<RefundStatus, ChannelError>>;

    /// The current state of a refund asked for earlier.
    fn query_refund<'a>(&'a self, refund: &'a RefundRequest) -> BoxFuture<'a, Result<RefundStatus, ChannelError>>;

    /// The payments and refunds the channel booked on `day` (a Beijing calendar day), read from
    /// its own daily statement file. Statements are made the next day: asking too early is an
    /// error, never an empty statement.
    fn statement(&self, day: NaiveDate) -> BoxFuture<'_, Result<Vec<StatementLine>, ChannelError>>;

    /// A payment notification, verified over the raw request before anything in it is believed.
    fn verify_notification(&self, inbound: &Inbound<'_>) -> Result<ChannelPayment, NotifyError>;

    /// The reply that tells the channel a notification was taken (it stops resending).
    fn accepted_reply(&self) -> Reply;

    /// The reply that tells the channel a notification was refused (it resends later).
    fn refused_reply(&self, error: &NotifyError) -> Reply;
}

/// An order finepay opened earlier, as the channel's query and close need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRef {
    pub out_trade_no: String,
    /// When the order was first sent (UnionPay's queries name the order by number and send time).
    pub opened_at: DateTime<Utc>,
    /// The flow it was opened in (UnionPay names a gateway payment's business type in queries).
    pub flow: Flow,
}

/// A refund of (part of) a payment, back to where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub out_trade_no: String,
    pub channel_txn_id: String,
    /// finepay's refund number: the channel's idempotency key for this refund.
    pub out_refund_no: String,
    /// When the refund was first asked for (UnionPay names it by number and send time).
    pub requested_at: DateTime<Utc>,
    /// The flow the payment was made in (UnionPay names its business type).
    pub flow: Flow,
    /// What the payer paid.
    pub paid: Fen,
    pub amount: Fen,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundStatus {
    /// Accepted, not yet confirmed: ask again later.
    Processing,
    Succeeded {
        channel_refund_id: String,
        at: DateTime<Utc>,
    },
    /// The channel gave up (closed or abnormal); a person has to act.
    Failed(String),
}

/// A notification request as it arrived: headers and the raw body, untouched.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl<'a> Inbound<'a> {
    /// The first header of that name (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The HTTP answer a channel expects to a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// An order finepay asks a channel to open for one fine. Nothing personal goes to a channel: the
/// description names the decision number and a generic purpose only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub out_trade_no: String,
    pub description: String,
    pub amount: Fen,
    /// The last moment the order may be paid: the end of the fine's QR window.
    pub pay_by: DateTime<Utc>,
    /// When finepay first sent this order; repeats send the same value.
    pub opened_at: DateTime<Utc>,
    pub flow: Flow,
}

impl OrderRequest {
    pub fn reference(&self) -> OrderRef {
        OrderRef { out_trade_no: self.out_trade_no.clone(), opened_at: self.opened_at, flow: self.flow }
    }
}

/// What the payer scans or opens to pay the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedOrder {
    pub pay_url: String,
}

/// The refusal of a flow a channel does not have.
pub(crate) fn no_such_flow(kind: ChannelKind, flow: Flow) -> ChannelError {
    ChannelError::Refused {
        status: 400,
        code: "FLOW_NOT_OFFERED".into(),
        message: format!("{} has no {} flow", kind.as_str(), flow.as_str()),
    }
}

/// A payment as the channel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelPayment {
    pub out_trade_no: String,
    pub channel_txn_id: String,
    pub amount: Fen,
    /// When the channel says the payer paid: what decides whether it was inside the window.
    pub paid_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderStatus {
    /// The channel has no such order (never created, or — Alipay — not yet scanned).
    NotFound,
    Open,
    Paid(ChannelPayment),
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOutcome {
    Closed,
    /// The payer paid during the race: a payment, not an error.
    AlreadyPaid,
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("the channel could not be reached: {0}")]
    Transport(#[source] Why),
    #[error("the channel refused: HTTP {status} {code}: {message}")]
    Refused { status: u16, code: String, message: String },
    #[error("the channel's answer failed verification: {0}")]
    Unverified(#[source] Why),
    #[error("the channel's answer does not parse: {0}")]
    Malformed(#[source] Why),
}

/// Why a notification was refused. Every one gets the channel's failure reply and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("signature headers are missing")]
    MissingHeaders,
    #[error("the signature does not verify (probe, forgery or tampering)")]
    BadSignature,
    #[error("no key for serial {0}")]
    UnknownKey(String),
    #[error("the timestamp is more than 300 s from now")]
    Stale,
    #[error("the resource does not decrypt")]
    Undecryptable,
    #[error("the notification is not for this merchant")]
    WrongMerchant,
    #[error("the notification is not a successful payment: {0}")]
    NotPaid(String),
    #[error("malformed notification: {0}")]
    Malformed(#[source] Why),
    #[error("the payment does not match finepay's order: {0}")]
    Mismatch(String),
    #[error("the payment could not be recorded now; send it again")]
    Unavailable,
}
