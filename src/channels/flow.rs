//! How a payer starts paying an order. A channel's own code, scanned from another screen, is the
//! `qr` flow; on the phone that scanned the bill each channel has its own: WeChat Pay JSAPI inside
//! WeChat and H5 in other browsers, Alipay's `alipay.trade.wap.pay`, UnionPay ACP's mobile web
//! payment. A channel refuses one order number in two flows, so each flow has orders of its own.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flow {
    /// The channel's own code, to scan with its app: WeChat Native `code_url`, Alipay precreate
    /// `qr_code`, UnionPay's consumption QR (which finepay also opens as a link inside
    /// QuickPass — an assumption: no public source confirms QuickPass pays such a link).
    Qr,
    /// WeChat Pay inside WeChat: `WeixinJSBridge` with a server-signed `paySign`.
    Jsapi,
    /// WeChat Pay in another mobile browser: `h5_url`.
    H5,
    /// Alipay's mobile-site payment, `alipay.trade.wap.pay` (`QUICK_WAP_WAY`).
    Wap,
    /// UnionPay ACP mobile web payment: a signed form posted to `frontTransReq.do`.
    MobileWeb,
}

impl Flow {
    pub const ALL: [Flow; 5] = [Flow::Qr, Flow::Jsapi, Flow::H5, Flow::Wap, Flow::MobileWeb];

    /// The name in configuration, in `channel_orders.flow` and in the pay API's answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Qr => "qr",
            Flow::Jsapi => "jsapi",
            Flow::H5 => "h5",
            Flow::Wap => "wap",
            Flow::MobileWeb => "mobile_web",
        }
    }

    pub fn parse(name: &str) -> Option<Flow> {
        Flow::ALL.into_iter().find(|flow| flow.as_str() == name)
    }

    /// The digit after the channel's letter in an order number (`…W01` is WeChat's QR, attempt 1).
    pub fn digit(self) -> char {
        match self {
            Flow::Qr => '0',
            Flow::Jsapi => '1',
            Flow::H5 => '2',
            Flow::Wap => '3',
            Flow::MobileWeb => '4',
        }
    }
}

/// What starting a flow needs that only the payer's request knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Qr,
    /// The payer's WeChat `openid` under the merchant's official account (from OAuth).
    Jsapi {
        openid: String,
    },
    /// The payer's own address, which WeChat checks when the payer pays, and where WeChat sends
    /// the browser back.
    H5 {
        payer_ip: String,
        return_url: String,
    },
    /// Where Alipay sends the browser back after paying, and when the payer quits.
    Wap {
        return_url: String,
        quit_url: String,
    },
    /// Where UnionPay's page sends the browser back (it posts the signed result there).
    MobileWeb {
        front_url: String,
    },
}

impl Start {
    pub fn flow(&self) -> Flow {
        match self {
            Start::Qr => Flow::Qr,
            Start::Jsapi { .. } => Flow::Jsapi,
            Start::H5 { .. } => Flow::H5,
            Start::Wap { .. } => Flow::Wap,
            Start::MobileWeb { .. } => Flow::MobileWeb,
        }
    }
}

/// What the payer's browser does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A code to show as a QR image, for the channel's app to scan.
    Qr(String),
    /// An address to send the browser to.
    Redirect(String),
    /// Fields for the browser to post to `action` (an auto-submitted form).
    Form { action: String, fields: Vec<(String, String)> },
    /// The parameters for `WeixinJSBridge.invoke('getBrandWCPayRequest', …)`.
    Jsapi(JsapiParams),
}

/// `getBrandWCPayRequest`'s parameters, signed on the server with the merchant's key. The names
/// are WeChat's, case and all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct JsapiParams {
    #[serde(rename = "appId")]
    pub app_id: String,
    #[serde(rename = "timeStamp")]
    pub time_stamp: String,
    #[serde(rename = "nonceStr")]
    pub nonce_str: String,
    pub package: String,
    #[serde(rename = "signType")]
    pub sign_type: String,
    #[serde(rename = "paySign")]
    pub pay_sign: String,
}

impl JsapiParams {
    /// The four lines `paySign` signs: appId, timeStamp, nonceStr and package, each ended by `\n`.
    pub fn message(app_id: &str, time_stamp: &str, nonce_str: &str, package: &str) -> String {
        format!("{app_id}\n{time_stamp}\n{nonce_str}\n{package}\n")
    }
}
