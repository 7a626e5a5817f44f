//! The phone flows against the simulator: OAuth for the payer's `openid`, JSAPI with the
//! server-signed `paySign` that the bridge checks, H5 whose `h5_url` opens only from the merchant's
//! H5 domain outside WeChat, one order number per flow, and the platform certificate download.

use super::{APIV3_KEY, Setup, message, refused, setup, signed_request, wechat};
use crate::channels::sim::PayError;
use crate::channels::wechat::WechatOauth;
use crate::channels::wechat::protocol::Resource;
use crate::channels::{ChannelError, OrderStatus, test_order as order};
use crate::channels::{crypto::Certificate, simulator_fixture as fixture};
use crate::domain::Secret;
use chrono::Duration;

const PAGE: &str = "http://127.0.0.1:8080/p/TOKEN";

fn oauth(s: &Setup, secret: &str) -> WechatOauth {
    WechatOauth::new(
        "wxd678efh567hg6787".into(),
        Secret::new(secret.as_bytes().to_vec()),
        format!("{}/connect/oauth2/authorize", s.base_url),
        format!("{}/sns/oauth2/access_token", s.base_url),
        std::time::Duration::from_secs(5),
    )
    .expect("OAuth client")
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// The payer's WeChat goes to the authorize page and back: the `code` it brings.
async fn authorize(s: &Setup, redirect_uri: &str, state: &str) -> String {
    let url = oauth(s, "finepay-simulator-app-secret").authorize_url(redirect_uri, state);
    assert!(url.ends_with("&response_type=code&scope=snsapi_base&state=abc123#wechat_redirect"), "{url}");
    let answer = browser().get(&url).send().await.expect("authorize");
    assert_eq!(answer.status().as_u16(), 302);
    let location = answer.headers()["location"].to_str().expect("location").to_owned();
    let query = location.strip_prefix(&format!("{redirect_uri}?")).expect("back to redirect_uri");
    assert!(query.ends_with(&format!("&state={state}")), "{location}");
    query.strip_prefix("code=").and_then(|rest| rest.split('&').next()).expect("code").to_owned()
}

#[actix_web::test]
async fn jsapi_pays_for_the_openid_oauth_returned_once_and_the_bridge_checks_pay_sign() {
    let s = setup(|_| {});
    let code = authorize(&s, &format!("{PAGE}/wechat-oauth"), "abc123").await;
    let openid = oauth(&s, "finepay-simulator-app-secret").openid(&code).await.expect("openid");
    assert!(openid.starts_with('o') && openid.len() == 28, "{openid}");
    let replay = oauth(&s, "finepay-simulator-app-secret").openid(&code).await;
    assert!(matches!(&replay, Err(ChannelError::Refused { code, .. }) if code == "40163"), "{replay:?}");
    let code = authorize(&s, &format!("{PAGE}/wechat-oauth"), "abc123").await;
    let wrong_secret = oauth(&s, "another-secret").openid(&code).await;
    assert!(matches!(&wrong_secret, Err(ChannelError::Refused { code, .. }) if code == "40125"), "{wrong_secret:?}");

    let request = order("1101052611200000176W11", &s.clock);
    let params = s.client.start_jsapi(&request, &openid).await.expect("JSAPI prepay");
    assert_eq!((params.app_id.as_str(), params.sign_type.as_str()), ("wxd678efh567hg6787", "RSA"));
    assert!(params.package.starts_with("prepay_id=wx"), "{}", params.package);
    let merchant = Certificate::from_pem(&fixture("wechat_merchant.cert.pem")).expect("certificate");
    let message_signed =
        crate::channels::JsapiParams::message(&params.app_id, &params.time_stamp, &params.nonce_str, &params.package);
    assert!(merchant.public_key.verify_base64(message_signed.as_bytes(), &params.pay_sign));

    let forged = crate::channels::JsapiParams { nonce_str: "0".repeat(32), ..params.clone() };
    assert!(matches!(wechat(&s).pay_jsapi(&forged), Err(PayError::Refused(_))));
    let payment = wechat(&s).pay_jsapi(&params).expect("the bridge pays");
    let signature_type = payment.notification.inbound().header("Wechatpay-Signature-Type");
    assert_eq!(signature_type, Some("WECHATPAY2-SHA256-RSA2048"));
    let paid = s.client.parse_notification(&message(&payment.notification)).expect("a notification finepay takes");
    assert_eq!(paid.out_trade_no, request.out_trade_no);
    assert!(matches!(s.client.query(&request.out_trade_no).await, Ok(OrderStatus::Paid(_))));
    assert_eq!(wechat(&s).pay_jsapi(&params).err(), Some(PayError::NotPayable));
    // The transaction resource as WeChat's own client libraries read it.
    let path = format!("/v3/pay/transactions/out-trade-no/{}?mchid=1230000109", request.out_trade_no);
    let (status, transaction) = super::signed_get(&s, &path).await;
    assert_eq!(status, 200);
    assert_eq!(transaction["trade_type"], "JSAPI");
    assert_eq!(transaction["payer"]["openid"], openid.as_str());
    assert!(transaction["bank_type"].as_str().is_some_and(|bank| !bank.is_empty()), "{transaction}");
    assert_eq!(transaction["amount"]["payer_total"], 20000);
    assert_eq!(transaction["amount"]["payer_currency"], "CNY");

    // A payer WeChat never authorized under this appid cannot be named.
    let stranger = s.client.start_jsapi(&order("1101052611200000176W12", &s.clock), "o_not_a_payer_here").await;
    assert!(refused(&stranger, 400, "PARAM_ERROR"), "{stranger:?}");
}

#[actix_web::test]
async fn h5_opens_only_from_the_h5_domain_outside_wechat_and_returns_to_redirect_url() {
    let s = setup(|_| {});
    let request = order("1101052611200000176W21", &s.clock);
    let url = s.client.start_h5(&request, "203.0.113.7", &format!("{PAGE}?back=1")).await.expect("H5 prepay");
    assert!(url.ends_with("&redirect_url=http%3A%2F%2F127.0.0.1%3A8080%2Fp%2FTOKEN%3Fback%3D1"), "{url}");
    let url = url.replace("http://127.0.0.1/", &format!("{}/", s.base_url));
    let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36";
    let open = |user_agent: &'static str, referer: Option<&'static str>| {
        let mut request = browser().get(&url).header("User-Agent", user_agent);
        if let Some(referer) = referer {
            request = request.header("Referer", referer);
        }
        async move { request.send().await.expect("cashier").text().await.expect("page") }
    };
    assert!(open(android, None).await.contains("商家参数格式有误"));
    assert!(open(android, Some("http://elsewhere.example/page")).await.contains("商家存在未配置的参数"));
    let in_wechat = "Mozilla/5.0 (iPhone) Mobile/15E148 MicroMessenger/8.0.50(0x1800323c) NetType/WIFI";
    assert!(open(in_wechat, Some("http://127.0.0.1:8080/p/TOKEN")).await.contains("请在微信外打开订单"));
    let cashier = open(android, Some("http://127.0.0.1:8080/p/TOKEN")).await;
    assert!(cashier.contains("id=\"pay\""), "{cashier}");

    let prepay_id = crate::channels::sim::query_value(&url, "prepay_id").expect("prepay_id");
    let paid = browser()
        .post(format!("{}/sim/wechat/h5", s.base_url))
        .form(&[("prepay_id", prepay_id.as_str()), ("redirect_url", &format!("{PAGE}?back=1"))])
        .send()
        .await
        .expect("pay");
    assert_eq!(paid.status().as_u16(), 303);
    assert_eq!(paid.headers()["location"], &format!("{PAGE}?back=1"));
    assert!(matches!(s.client.query(&request.out_trade_no).await, Ok(OrderStatus::Paid(_))));

    // One number, one flow: the same number in Native is refused, as WeChat refuses it.
    let native = s.client.create_order(&request).await;
    assert!(refused(&native, 400, "OUT_TRADE_NO_USED"), "{native:?}");
}

#[actix_web::test]
async fn an_h5_url_lives_five_minutes_and_a_new_call_gives_a_new_one() {
    let s = setup(|_| {});
    let request = order("1101052611200000176W21", &s.clock);
    let first = s.client.start_h5(&request, "203.0.113.7", PAGE).await.expect("H5 prepay");
    s.clock.advance(Duration::minutes(5));
    let prepay_id = |url: &str| crate::channels::sim::query_value(url, "prepay_id").expect("prepay_id");
    assert_eq!(wechat(&s).pay_h5(&prepay_id(&first)).err(), Some(PayError::CodeExpired));
    let second = s.client.start_h5(&request, "203.0.113.7", PAGE).await.expect("H5 prepay again");
    assert_ne!(prepay_id(&first), prepay_id(&second));
    wechat(&s).pay_h5(&prepay_id(&second)).expect("the new one pays");
}

#[actix_web::test]
async fn the_platform_certificate_downloads_sealed_with_the_apiv3_key() {
    let s = setup(|_| {});
    let response = signed_request(&s, "/v3/certificates").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["Wechatpay-Signature-Type"], "WECHATPAY2-SHA256-RSA2048");
    let answer: serde_json::Value = response.json().await.expect("JSON");
    let sealed: Resource =
        serde_json::from_value(answer["data"][0]["encrypt_certificate"].clone()).expect("a sealed certificate");
    let pem = sealed.decrypt(APIV3_KEY).expect("opens with the APIv3 key");
    assert_eq!(String::from_utf8(pem).expect("PEM"), fixture("wechat_platform.cert.pem"));
    let platform = Certificate::from_pem(&fixture("wechat_platform.cert.pem")).expect("certificate");
    assert_eq!(answer["data"][0]["serial_no"], platform.serial_hex);
}
