//! The pages between the pay page and a channel, in the page's language (`pay_step.html`): the
//! channel's own code to scan from another screen, the way on to the channel (a link the page's
//! script follows, a form it submits, WeChat's bridge), "open this page elsewhere" where the app
//! blocks the channel, and what to do when a channel is down or a WeChat return is refused. Each
//! carries the pay page's headers; a form page may post to its channel and a redirect page sends
//! only its origin as the `Referer` (WeChat checks H5 payments come from the merchant's domain).

use super::i18n::{Lang, Texts};
use super::pages::{PAGE_CSP, page_headers, problem, qr_data_url, templates};
use crate::channels::{ChannelKind, JsapiParams};
use crate::domain::Fen;
use crate::domain::money::format_yuan;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use minijinja::context;

/// What the step page shows.
pub(super) enum Step<'a> {
    /// The channel's code, to scan with its app from another screen; `wechat_work` adds why.
    Qr { content: &'a str, wechat_work: bool },
    /// On to the channel's page (WeChat H5, Alipay wap.pay, UnionPay's code in QuickPass).
    Redirect { url: &'a str },
    /// A form posted to the channel (UnionPay mobile web).
    Form { action: &'a str, fields: &'a [(String, String)] },
    /// WeChat's bridge, with the server-signed parameters.
    Jsapi { params: &'a JsapiParams },
    /// The app the page is open in blocks this channel.
    Elsewhere { page_url: &'a str },
    /// The channel did not answer or refused to open the order, or the tap was refused: the
    /// answer's status, and what to do (another channel, later, a bank).
    CannotStart(StatusCode),
    /// A WeChat OAuth return that is replayed, forged or too late.
    LinkUsed,
}

/// The page a step belongs to: the fine's token (as the request spelled it), the language, the
/// channel (none when the tap named none that is offered), and the amount to show.
pub(super) struct StepPage<'a> {
    pub token: &'a str,
    pub lang: Lang,
    pub channel: Option<ChannelKind>,
    pub amount: Fen,
}

/// The step page; a failed render is a 500 (the template is part of the binary and tested).
pub(super) fn respond(page: &StepPage<'_>, step: &Step<'_>) -> HttpResponse {
    let status = match step {
        Step::CannotStart(status) => *status,
        Step::LinkUsed => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let html = match render(page, step) {
        Ok(html) => html,
        Err(e) => return problem(false, page.lang, &super::error::ApiError::internal(e)),
    };
    let mut response = page_headers(HttpResponse::build(status));
    match step {
        // The page's script sends the browser on; the channel sees this site, not the token.
        Step::Redirect { .. } => {
            response.insert_header(("Referrer-Policy", "origin"));
        }
        // The form posts to the channel, which the pages' policy would otherwise forbid; browsers
        // apply form-action to the redirects after the post too, and a channel's gateway may hand
        // the payer on to a cashier on another host of its own, so any https target is allowed on
        // this one page (it holds nothing but finepay's signed form).
        Step::Form { action, .. } => {
            let csp =
                PAGE_CSP.replace("form-action 'self'", &format!("form-action 'self' {} https:", origin_of(action)));
            response.insert_header(("Content-Security-Policy", csp));
        }
        _ => {}
    }
    response.content_type("text/html; charset=utf-8").body(html)
}

fn render(page: &StepPage<'_>, step: &Step<'_>) -> Result<String, minijinja::Error> {
    let base = context! {
        t => Texts::value(page.lang),
        lang => page.lang.code(),
        token => page.token,
        channel => page.channel.map_or("", ChannelKind::as_str),
        amount => format_yuan(page.amount),
    };
    let details = match step {
        Step::Qr { content, wechat_work } => context! {
            step => "qr",
            qr_content => content,
            qr_image => qr_data_url(content),
            note => if *wechat_work { "wechat_work" } else { "" },
        },
        Step::Redirect { url } => context! { step => "redirect", url => url },
        Step::Form { action, fields } => context! { step => "form", action => action, fields => fields },
        Step::Jsapi { params } => {
            context! { step => "jsapi", params => serde_json::to_string(params).unwrap_or_default() }
        }
        Step::Elsewhere { page_url } => context! { step => "elsewhere", page_url => page_url },
        Step::CannotStart(status) if status.is_server_error() => context! { step => "channel_down" },
        Step::CannotStart(_) => context! { step => "refused" },
        Step::LinkUsed => context! { step => "link_used" },
    };
    templates().get_template("pay_step.html")?.render(context! { ..details, ..base })
}

/// `scheme://host[:port]` of a URL, for a content security policy.
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forms_origin_is_its_scheme_and_host() {
        assert_eq!(origin_of("https://gateway.95516.com/gateway/api/frontTransReq.do"), "https://gateway.95516.com");
        assert_eq!(origin_of("http://127.0.0.1:8081/gateway.do?x=1"), "http://127.0.0.1:8081");
    }

    #[test]
    fn every_step_renders_in_both_languages() {
        let fields = vec![("orderId".to_owned(), "1101\"x".to_owned())];
        let params = JsapiParams {
            app_id: "wx".into(),
            time_stamp: "1".into(),
            nonce_str: "n".into(),
            package: "prepay_id=wx1".into(),
            sign_type: "RSA".into(),
            pay_sign: "s".into(),
        };
        let steps = [
            Step::Qr { content: "weixin://wxpay/bizpayurl?pr=abc", wechat_work: true },
            Step::Redirect { url: "https://example.com/pay?a=1&b=2" },
            Step::Form { action: "https://gateway.95516.com/gateway/api/frontTransReq.do", fields: &fields },
            Step::Jsapi { params: &params },
            Step::Elsewhere { page_url: "https://pay.example/p/TOKEN" },
            Step::CannotStart(StatusCode::SERVICE_UNAVAILABLE),
            Step::CannotStart(StatusCode::PAYLOAD_TOO_LARGE),
            Step::LinkUsed,
        ];
        for lang in [Lang::Zh, Lang::En] {
            let page = StepPage { token: "TOKEN", lang, channel: Some(ChannelKind::Alipay), amount: Fen(20000) };
            for step in &steps {
                let html = render(&page, step).expect("renders");
                assert!(html.contains("id=\"back-to-page\""), "{html}");
                assert!(!html.contains("{channel}"), "{html}");
            }
        }
        let page = StepPage { token: "TOKEN", lang: Lang::En, channel: Some(ChannelKind::Alipay), amount: Fen(20000) };
        let form = render(&page, &steps[2]).expect("renders");
        assert!(form.contains("value=\"1101&#x22;x\"") || form.contains("value=\"1101&quot;x\""), "{form}");
        assert!(render(&page, &steps[4]).expect("renders").contains("Alipay cannot be used inside this app"));
    }
}
