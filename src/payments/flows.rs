//! Which flow a payer gets: where the pay page is open (the client) and the channel tapped decide
//! it, in the one table below. Each wallet app's browser pays only with its own wallet — WeChat
//! blocks Alipay's and UnionPay's pages, Alipay and QuickPass block WeChat's — so there the other
//! channels say "open this page elsewhere"; an ordinary phone browser starts each channel's mobile
//! web flow; a desktop, or a second screen such as the officer's handheld, shows the channels' own
//! codes to scan with the app (a phone cannot pay a WeChat Native code shown on itself).
//!
//! The client comes from the request, or else from the `User-Agent` by the rule beside the table
//! (`docs/channels.md`, "Which flow a phone gets"). The user agent only chooses a flow: nothing is
//! trusted because of it, and every flow's payment is confirmed by the channel.

use crate::channels::{ChannelKind, Flow};

/// Where the pay page is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    /// WeChat's in-app browser on a phone.
    Wechat,
    /// WeChat Work (企业微信): no JSAPI payment there.
    WechatWork,
    /// Alipay's in-app browser.
    Alipay,
    /// UnionPay QuickPass (云闪付) or another UnionPay-standard bank app.
    Unionpay,
    /// Any other phone browser.
    Mobile,
    /// A desktop, or a second screen showing codes to scan.
    Desktop,
}

/// What tapping a channel does where the page is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Start this flow.
    Start(Flow),
    /// Start the QR flow and open its code as a link: the channel's own app opens its codes
    /// (assumed for QuickPass and UnionPay's consumption QR; ACP has no in-app JS payment
    /// without an acquirer's QR platform).
    OpenCode,
    /// This app blocks the channel: the payer opens the page in a browser or the channel's app.
    OpenElsewhere,
}

use Route::{OpenCode, OpenElsewhere, Start};

/// The table: for each client, what WeChat, Alipay and UnionPay do (in [`ChannelKind::ALL`]'s
/// order).
const TABLE: [(Client, [Route; 3]); 6] = [
    (Client::Wechat, [Start(Flow::Jsapi), OpenElsewhere, OpenElsewhere]),
    (Client::WechatWork, [Start(Flow::Qr), Start(Flow::Qr), Start(Flow::Qr)]),
    (Client::Alipay, [OpenElsewhere, Start(Flow::Wap), OpenElsewhere]),
    (Client::Unionpay, [OpenElsewhere, OpenElsewhere, OpenCode]),
    (Client::Mobile, [Start(Flow::H5), Start(Flow::Wap), Start(Flow::MobileWeb)]),
    (Client::Desktop, [Start(Flow::Qr), Start(Flow::Qr), Start(Flow::Qr)]),
];

impl Client {
    /// The API's names: `wechat`, `alipay`, `unionpay`, `mobile`, `desktop` (WeChat Work is only
    /// ever told by its user agent).
    pub fn parse(name: &str) -> Option<Client> {
        match name {
            "wechat" => Some(Client::Wechat),
            "alipay" => Some(Client::Alipay),
            "unionpay" => Some(Client::Unionpay),
            "mobile" => Some(Client::Mobile),
            "desktop" => Some(Client::Desktop),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Client::Wechat => "wechat",
            Client::WechatWork => "wechat_work",
            Client::Alipay => "alipay",
            Client::Unionpay => "unionpay",
            Client::Mobile => "mobile",
            Client::Desktop => "desktop",
        }
    }

    /// The client a `User-Agent` names, checked in this order: `wxwork/` (whose agent also says
    /// `MicroMessenger`), `MicroMessenger` (WeChat for Windows or Mac is a desktop),
    /// `AlipayClient`, `UnionPay/`, a phone (`Mobi`, `Android`, `iPhone`, `iPod`), else a desktop.
    /// An iPad asking for desktop pages says Macintosh and gets the codes, which it can show to
    /// another phone.
    pub fn from_user_agent(user_agent: &str) -> Client {
        let has = |token: &str| user_agent.contains(token);
        if has("wxwork/") {
            Client::WechatWork
        } else if has("MicroMessenger") {
            if has("WindowsWechat") || has("MacWechat") { Client::Desktop } else { Client::Wechat }
        } else if has("AlipayClient") {
            Client::Alipay
        } else if has("UnionPay/") {
            Client::Unionpay
        } else if ["Mobi", "Android", "iPhone", "iPod"].into_iter().any(has) {
            Client::Mobile
        } else {
            Client::Desktop
        }
    }
}

/// What tapping `channel` does on `client`.
pub fn route(client: Client, channel: ChannelKind) -> Route {
    let column = match channel {
        ChannelKind::Wechat => 0,
        ChannelKind::Alipay => 1,
        ChannelKind::Unionpay => 2,
    };
    let row = match client {
        Client::Wechat => 0,
        Client::WechatWork => 1,
        Client::Alipay => 2,
        Client::Unionpay => 3,
        Client::Mobile => 4,
        Client::Desktop => 5,
    };
    TABLE[row].1[column]
}

/// The flow to start for `channel` on `client`, given the flows the channel is configured to
/// offer: the table's, or the channel's code (which every channel offers) when that flow is not
/// offered — a code can still be scanned from another device.
pub fn choose(client: Client, channel: ChannelKind, offered: impl Fn(Flow) -> bool) -> Route {
    match route(client, channel) {
        Start(flow) if !offered(flow) => Start(Flow::Qr),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_name_their_client_in_the_documented_order() {
        let cases = [
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.50(0x1800323c) NetType/WIFI Language/zh_CN",
                Client::Wechat,
            ),
            (
                "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36 MicroMessenger/7.0.1 wxwork/4.1.6",
                Client::WechatWork,
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0) Chrome/81.0 MicroMessenger/6.5.2.501 NetType/WIFI WindowsWechat",
                Client::Desktop,
            ),
            (
                "Mozilla/5.0 (Linux; Android 13) Mobile Safari/537.36 AliApp(AP/10.5.36.8000) AlipayClient/10.5.36.8000 Language/zh-Hans",
                Client::Alipay,
            ),
            (
                "Mozilla/5.0 (iPhone) Mobile/15E148 (com.unionpay.chsp) (cordova 4.5.4) (UnionPay/1.0 CloudPay) (clientVersion 324)",
                Client::Unionpay,
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
                Client::Mobile,
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile/15E148 Safari/604.1",
                Client::Mobile,
            ),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36", Client::Desktop),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Version/17.0 Safari/605.1.15", Client::Desktop),
            ("", Client::Desktop),
        ];
        for (user_agent, client) in cases {
            assert_eq!(Client::from_user_agent(user_agent), client, "{user_agent}");
        }
    }

    #[test]
    fn each_app_pays_its_own_wallet_and_sends_the_others_elsewhere() {
        use ChannelKind::{Alipay, Unionpay, Wechat};
        assert_eq!(route(Client::Wechat, Wechat), Start(Flow::Jsapi));
        assert_eq!(route(Client::Wechat, Alipay), OpenElsewhere);
        assert_eq!(route(Client::Wechat, Unionpay), OpenElsewhere);
        assert_eq!(route(Client::Alipay, Alipay), Start(Flow::Wap));
        assert_eq!(route(Client::Alipay, Wechat), OpenElsewhere);
        assert_eq!(route(Client::Unionpay, Unionpay), OpenCode);
        assert_eq!(route(Client::Mobile, Wechat), Start(Flow::H5));
        assert_eq!(route(Client::Mobile, Alipay), Start(Flow::Wap));
        assert_eq!(route(Client::Mobile, Unionpay), Start(Flow::MobileWeb));
        for kind in ChannelKind::ALL {
            assert_eq!(route(Client::Desktop, kind), Start(Flow::Qr));
            assert_eq!(route(Client::WechatWork, kind), Start(Flow::Qr));
        }
    }

    #[test]
    fn a_flow_not_offered_falls_back_to_the_channels_code() {
        let only_qr = |flow: Flow| flow == Flow::Qr;
        assert_eq!(choose(Client::Mobile, ChannelKind::Wechat, only_qr), Start(Flow::Qr));
        assert_eq!(choose(Client::Mobile, ChannelKind::Wechat, |_| true), Start(Flow::H5));
        assert_eq!(choose(Client::Wechat, ChannelKind::Alipay, only_qr), OpenElsewhere);
    }

    #[test]
    fn the_table_has_its_rows_in_order() {
        let clients =
            [Client::Wechat, Client::WechatWork, Client::Alipay, Client::Unionpay, Client::Mobile, Client::Desktop];
        assert_eq!(TABLE.map(|(client, _)| client), clients);
    }

    #[test]
    fn the_api_names_round_trip() {
        for name in ["wechat", "alipay", "unionpay", "mobile", "desktop"] {
            assert_eq!(Client::parse(name).map(Client::as_str), Some(name));
        }
        assert_eq!(Client::parse("wechat_work"), None);
        assert_eq!(Client::parse("WECHAT"), None);
    }
}
