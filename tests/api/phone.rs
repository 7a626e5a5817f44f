//! Paying on the phone that scanned, black-box through the JSON interface and the channels'
//! simulated pages: which flow each client gets for each channel (told or read from the
//! User-Agent), WeChat's OAuth return taken once, each phone flow paid and the payer brought back
//! to a page that confirms with the channel, two flows paid for one fine (one applies, the other
//! goes back to its channel), every flow's order closed at the window's end, and the fine's
//! `payments` list.

use crate::helpers::{TestApp, error_of, motor_fine, spawn_app_public, unescape_html};
use chrono::Duration;
use diesel::prelude::*;
use finepay::db::schema::channel_orders;
use finepay::jobs::Job;
use serde_json::{Value, json};

const ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36";
const IN_WECHAT: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.50(0x1800323c) NetType/WIFI Language/zh_CN";
const IN_ALIPAY: &str =
    "Mozilla/5.0 (Linux; Android 13) Mobile Safari/537.36 AliApp(AP/10.5.36.8000) AlipayClient/10.5.36.8000";
const IN_QUICKPASS: &str =
    "Mozilla/5.0 (iPhone) Mobile/15E148 (com.unionpay.chsp) (cordova 4.5.4) (UnionPay/1.0 CloudPay)";
const IN_WECHAT_WORK: &str = "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36 MicroMessenger/7.0.1 wxwork/4.1.6";
const DESKTOP: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36";

/// A fine's number and page (`/p/{token}`) on the test server.
struct Bill {
    no: String,
    page: String,
}

async fn issue(app: &TestApp, officer: &str, key: &str) -> Bill {
    let fine = app.issue_ok(officer, key, &motor_fine(app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    // The QR code holds the upper-case URL; finepay's public address is its own.
    let token = pay_url.strip_prefix(&format!("{}/P/", app.address.to_uppercase())).expect("on this server");
    Bill {
        no: fine["decision_no"].as_str().expect("decision_no").to_owned(),
        page: format!("{}/p/{token}", app.address),
    }
}

/// `POST /p/{token}/pay`, as a script on a phone: the client named, or told by `user_agent`.
async fn tap(app: &TestApp, bill: &Bill, body: Value, user_agent: &str) -> reqwest::Response {
    app.http.post(format!("{}/pay", bill.page)).header("User-Agent", user_agent).json(&body).send().await.expect("sent")
}

async fn tap_ok(app: &TestApp, bill: &Bill, channel: &str, client: &str) -> Value {
    let answer = tap(app, bill, json!({"channel": channel, "client": client}), DESKTOP).await;
    assert_eq!(answer.status(), 200, "{channel} on {client}: {:?}", answer.text().await);
    let answer: Value = answer.json().await.expect("JSON");
    assert_eq!(answer["channel"], channel);
    answer
}

/// The simulated payer pays what a flow's answer leads to (`POST /sim/pay`).
async fn sim_pay(app: &TestApp, answer: &Value) -> reqwest::Response {
    let body = match answer["flow"].as_str() {
        Some("qr") => json!({"pay_url": answer["qr_content"]}),
        Some("redirect") => json!({"pay_url": answer["url"]}),
        Some("form") => json!({"form": {"action": answer["action"], "fields": answer["fields"]}}),
        Some("jsapi") => json!({"jsapi": answer["params"]}),
        other => panic!("nothing to pay in a {other:?} answer: {answer}"),
    };
    app.http.post(format!("{}/sim/pay", app.simulator_address)).json(&body).send().await.expect("sent")
}

/// The page's JSON once it says paid (the notification is on its way; the page also asks).
async fn paid_page(app: &TestApp, bill: &Bill) -> Value {
    for _ in 0..100 {
        let page: Value = app.page_json(&bill.page).await.json().await.expect("JSON");
        if page["status"] == "paid" {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    panic!("{} was not paid", bill.no);
}

async fn payments_of(app: &TestApp, officer: &str, bill: &Bill) -> Value {
    let fine: Value = app.get(officer, &format!("/api/v1/fines/{}", bill.no)).await.json().await.expect("JSON");
    fine["payments"].clone()
}

#[actix_web::test]
async fn each_client_gets_the_flow_its_app_allows_for_each_channel() {
    let app = spawn_app_public(&[]).await;
    let officer = app.officer("110105");
    let bill = issue(&app, &officer, "phone-table").await;
    let expected = [
        ("wechat", ["oauth", "open_elsewhere", "open_elsewhere"]),
        ("alipay", ["open_elsewhere", "redirect", "open_elsewhere"]),
        ("unionpay", ["open_elsewhere", "open_elsewhere", "redirect"]),
        ("mobile", ["redirect", "redirect", "form"]),
        ("desktop", ["qr", "qr", "qr"]),
    ];
    for (client, flows) in expected {
        for (channel, flow) in ["wechat", "alipay", "unionpay"].into_iter().zip(flows) {
            let answer = tap_ok(&app, &bill, channel, client).await;
            assert_eq!(answer["flow"], flow, "{channel} on {client}: {answer}");
        }
    }

    // What each flow's answer holds, on the channels' real paths.
    let wechat_h5 = tap_ok(&app, &bill, "wechat", "mobile").await;
    let back = format!("{}%3Fback%3D1%26lang%3Dzh", form_encoded(&bill.page));
    assert!(
        wechat_h5["url"].as_str().is_some_and(|u| u.contains("/sim/wechat/h5?") && u.ends_with(&back)),
        "{wechat_h5}"
    );
    let wap = tap_ok(&app, &bill, "alipay", "mobile").await;
    assert!(
        wap["url"].as_str().is_some_and(|u| u.contains("/gateway.do?") && u.contains("method=alipay.trade.wap.pay"))
    );
    let mobile_web = tap_ok(&app, &bill, "unionpay", "mobile").await;
    assert!(mobile_web["action"].as_str().is_some_and(|a| a.ends_with("/gateway/api/frontTransReq.do")));
    let fields = &mobile_web["fields"];
    assert_eq!(
        (&fields["bizType"], &fields["channelType"], &fields["txnSubType"]),
        (&json!("000201"), &json!("08"), &json!("01"))
    );
    assert_eq!(fields["frontUrl"], format!("{}/back?lang=zh", bill.page));
    let quickpass = tap_ok(&app, &bill, "unionpay", "unionpay").await;
    assert!(quickpass["url"].as_str().is_some_and(|u| u.contains("/sim/unionpay/pay?pr=")), "{quickpass}");
    let elsewhere = tap_ok(&app, &bill, "alipay", "wechat").await;
    assert_eq!(elsewhere["url"], bill.page, "the page's own link, to open elsewhere");
    let oauth = tap_ok(&app, &bill, "wechat", "wechat").await;
    let url = oauth["url"].as_str().expect("url");
    assert!(url.contains("/connect/oauth2/authorize?appid=") && url.contains("scope=snsapi_base"), "{url}");
    assert!(
        url.ends_with("#wechat_redirect") && url.contains(&form_encoded(&format!("{}/wechat-oauth?lang=", bill.page)))
    );

    // Without `client`, the User-Agent tells.
    for (user_agent, channel, flow) in [
        (IN_WECHAT, "wechat", "oauth"),
        (IN_WECHAT, "alipay", "open_elsewhere"),
        (IN_WECHAT_WORK, "wechat", "qr"),
        (IN_ALIPAY, "alipay", "redirect"),
        (IN_QUICKPASS, "unionpay", "redirect"),
        (ANDROID, "unionpay", "form"),
        (DESKTOP, "wechat", "qr"),
    ] {
        let answer: Value = tap(&app, &bill, json!({"channel": channel}), user_agent).await.json().await.expect("JSON");
        assert_eq!(answer["flow"], flow, "{channel} for {user_agent}");
    }
    let wrong = tap(&app, &bill, json!({"channel": "wechat", "client": "tablet"}), DESKTOP).await;
    assert_eq!(error_of(wrong).await, (400, "invalid_request".into()));
    let wrong = tap(&app, &bill, json!({"channel": "wechat", "client": 7}), DESKTOP).await;
    assert_eq!(error_of(wrong).await, (400, "invalid_request".into()));

    // One order per channel and flow, each numbered apart.
    let mut conn = app.ctx.pool.get().expect("connection");
    let mut numbers: Vec<(String, String)> = channel_orders::table
        .filter(channel_orders::decision_no.eq(&bill.no))
        .select((channel_orders::out_trade_no, channel_orders::flow))
        .load(&mut *conn)
        .expect("orders");
    numbers.sort();
    let flows: Vec<&str> = numbers.iter().map(|(_, flow)| flow.as_str()).collect();
    // By number: Alipay (A) qr and wap, UnionPay (U) qr and mobile_web, WeChat (W) qr and h5.
    assert_eq!(flows, ["qr", "wap", "qr", "mobile_web", "qr", "h5"], "{numbers:?}");
}

fn form_encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[actix_web::test]
async fn a_phone_pays_each_channel_by_its_mobile_flow() {
    let app = spawn_app_public(&[]).await;
    let officer = app.officer("110105");
    for (channel, client) in [
        ("wechat", "mobile"),
        ("alipay", "mobile"),
        ("unionpay", "mobile"),
        ("alipay", "alipay"),
        ("unionpay", "unionpay"),
    ] {
        let bill = issue(&app, &officer, &format!("phone-pay-{channel}-{client}")).await;
        let answer = tap_ok(&app, &bill, channel, client).await;
        let paid = sim_pay(&app, &answer).await;
        assert_eq!(paid.status(), 200, "{channel} on {client}: {:?}", paid.text().await);
        let page = paid_page(&app, &bill).await;
        assert_eq!(page["receipt"]["channel"], channel);
        let payments = payments_of(&app, &officer, &bill).await;
        assert_eq!(payments.as_array().map(Vec::len), Some(1), "{payments}");
        assert_eq!((&payments[0]["channel"], &payments[0]["outcome"]), (&json!(channel), &json!("applied")));
        assert_eq!(payments[0]["amount_fen"], 20000);
        // The code is dead for every flow.
        let again = tap(&app, &bill, json!({"channel": channel, "client": client}), DESKTOP).await;
        assert_eq!(error_of(again).await, (409, "already_paid".into()));
        // What the simulated channel refuses, it refuses: the same answer does not pay twice.
        assert_eq!(sim_pay(&app, &answer).await.status(), 409, "{channel} on {client}");
    }
}

/// Follows WeChat's authorize page (the simulator's, as a new WeChat user each time: the test's
/// client keeps no cookies) back to finepay: the return's address.
async fn authorize(app: &TestApp, oauth_url: &str) -> String {
    let answer = app.http.get(oauth_url).header("User-Agent", IN_WECHAT).send().await.expect("authorize");
    assert_eq!(answer.status(), 302);
    answer.headers()["location"].to_str().expect("location").to_owned()
}

/// A tap on WeChat inside WeChat: the authorize URL, and the cookie that binds the trip to the
/// browser (`name=value`).
async fn tap_wechat_in_wechat(app: &TestApp, bill: &Bill) -> (String, String) {
    let answer = tap(app, bill, json!({"channel": "wechat", "client": "wechat"}), IN_WECHAT).await;
    assert_eq!(answer.status(), 200);
    let cookie = answer.headers()["set-cookie"].to_str().expect("cookie").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains(&format!("Path={}", bill.page.trim_start_matches(&app.address))), "{cookie}");
    let answer: Value = answer.json().await.expect("JSON");
    assert_eq!(answer["flow"], "oauth");
    (answer["url"].as_str().expect("url").to_owned(), cookie.split(';').next().expect("name=value").to_owned())
}

async fn oauth_return(app: &TestApp, url: &str, cookie: Option<&str>, json: bool) -> reqwest::Response {
    let mut request = app.http.get(url).header("User-Agent", IN_WECHAT);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let request = if json { request.header("Accept", "application/json") } else { request };
    request.send().await.expect("sent")
}

async fn refused_return(app: &TestApp, url: &str, cookie: Option<&str>) -> (u16, String) {
    error_of(oauth_return(app, url, cookie, true).await).await
}

#[actix_web::test]
async fn inside_wechat_the_payer_pays_by_jsapi_after_one_oauth_return() {
    let app = spawn_app_public(&[]).await;
    let officer = app.officer("110105");
    let bill = issue(&app, &officer, "phone-jsapi").await;
    let other = issue(&app, &officer, "phone-jsapi-other").await;
    let (oauth, cookie) = tap_wechat_in_wechat(&app, &bill).await;
    let back = authorize(&app, &oauth).await;
    assert!(back.starts_with(&format!("{}/wechat-oauth?lang=zh&code=", bill.page)), "{back}");
    let invalid = (400, "invalid_oauth_return".to_owned());

    // The return counts only in the browser that started it (its cookie), with the state issued,
    // for its fine; none of these uses the state up.
    assert_eq!(refused_return(&app, &back, None).await, invalid, "another browser");
    let forged = back.split("&state=").next().expect("code part").to_owned() + "&state=0123456789abcdef";
    assert_eq!(refused_return(&app, &forged, Some(&cookie)).await, invalid, "a forged state");
    let elsewhere = back.replace(&bill.page, &other.page);
    assert_eq!(refused_return(&app, &elsewhere, Some(&cookie)).await, invalid, "another fine's page");

    let answer: Value = oauth_return(&app, &back, Some(&cookie), true).await.json().await.expect("JSON");
    assert_eq!((&answer["channel"], &answer["flow"]), (&json!("wechat"), &json!("jsapi")), "{answer}");
    let params = &answer["params"];
    assert!(params["package"].as_str().is_some_and(|p| p.starts_with("prepay_id=")), "{params}");
    assert_eq!(params["signType"], "RSA");
    for name in ["appId", "timeStamp", "nonceStr", "paySign"] {
        assert!(params[name].as_str().is_some_and(|v| !v.is_empty()), "{name} in {params}");
    }

    // Used, the return opens nothing again: replayed elsewhere it is a 400 page in the page's
    // language; reloaded in its own browser it leads back to the fine's page.
    let replay = oauth_return(&app, &back.replace("lang=zh", "lang=en"), None, false).await;
    assert_eq!(replay.status(), 400);
    assert!(replay.text().await.expect("html").contains("This payment link no longer works"));
    let reload = oauth_return(&app, &back, Some(&cookie), false).await;
    assert_eq!(reload.status(), 303);
    assert!(reload.headers()["location"].to_str().is_ok_and(|to| to.starts_with(&bill.page.replace(&app.address, ""))));
    assert_eq!(refused_return(&app, &back, Some(&cookie)).await, invalid);

    // Another WeChat user (a relative paying for the driver) gets an order of their own: WeChat
    // refuses one order number for two payers.
    let (oauth, second_cookie) = tap_wechat_in_wechat(&app, &bill).await;
    let second_back = authorize(&app, &oauth).await;
    let second: Value = oauth_return(&app, &second_back, Some(&second_cookie), true).await.json().await.expect("JSON");
    assert_ne!(second["params"]["package"], answer["params"]["package"], "{second}");

    // A forged paySign is refused by the bridge, as WeChat's app refuses it; the real one pays.
    let mut forged = second.clone();
    forged["params"]["nonceStr"] = json!("00000000000000000000000000000000");
    assert_eq!(sim_pay(&app, &forged).await.status(), 409);
    assert_eq!(sim_pay(&app, &second).await.status(), 200);
    assert_eq!(paid_page(&app, &bill).await["receipt"]["channel"], "wechat");
    let mut conn = app.ctx.pool.get().expect("connection");
    let jsapi: Vec<(String, Option<String>)> = channel_orders::table
        .filter(channel_orders::decision_no.eq(&bill.no).and(channel_orders::flow.eq("jsapi")))
        .order(channel_orders::out_trade_no)
        .select((channel_orders::out_trade_no, channel_orders::payer))
        .load(&mut *conn)
        .expect("orders");
    drop(conn);
    assert_eq!(jsapi.len(), 2, "{jsapi:?}");
    assert!(jsapi.iter().all(|(_, payer)| payer.as_ref().is_some_and(|p| p.len() == 32 && !p.starts_with('o'))));

    // A return older than ten minutes is refused even if never used.
    let (oauth, cookie) = tap_wechat_in_wechat(&app, &other).await;
    let late = authorize(&app, &oauth).await;
    app.clock.advance(Duration::minutes(11));
    assert_eq!(refused_return(&app, &late, Some(&cookie)).await, invalid);
}

#[actix_web::test]
async fn each_channel_sends_the_payer_back_to_a_page_that_confirms_with_the_channel() {
    let app = spawn_app_public(&[("simulator.retry_scale", "1")]).await;
    let officer = app.officer("110105");
    // Notifications dropped: what the payer sees on return comes from asking the channel.
    app.set_sim_faults(json!({"drop_rate": 1.0})).await;
    let browser =
        |user_agent: &'static str| move |request: reqwest::RequestBuilder| request.header("User-Agent", user_agent);
    let phone = browser(ANDROID);

    // Alipay wap.pay: the cashier, paid, sends the browser to return_url.
    let bill = issue(&app, &officer, "phone-back-alipay").await;
    let wap = tap_ok(&app, &bill, "alipay", "mobile").await;
    let cashier = phone(app.http.get(wap["url"].as_str().expect("url"))).send().await.expect("cashier");
    let cashier = cashier.text().await.expect("html");
    let code = hidden(&cashier, "code");
    let paid = phone(app.http.post(format!("{}/sim/alipay/wap/pay", app.simulator_address)).form(&[("code", code)]));
    let returned = location(paid.send().await.expect("paid"));
    assert!(returned.starts_with(&format!("{}?back=1&", bill.page)), "{returned}");
    assert!(receipt_shown(&app, &returned).await, "alipay: the receipt on return");

    // UnionPay mobile web: the browser posts the form; "return to merchant" posts to frontUrl.
    let bill = issue(&app, &officer, "phone-back-unionpay").await;
    let form = tap_ok(&app, &bill, "unionpay", "mobile").await;
    let fields: Vec<(String, String)> = form["fields"]
        .as_object()
        .expect("fields")
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_owned()))
        .collect();
    let cashier = phone(app.http.post(form["action"].as_str().expect("action")).form(&fields)).send().await;
    let code = hidden(&cashier.expect("cashier").text().await.expect("html"), "code");
    let done =
        phone(app.http.post(format!("{}/sim/unionpay/front/pay", app.simulator_address)).form(&[("code", code)]));
    let done = done.send().await.expect("paid").text().await.expect("html");
    let front_url =
        unescape_html(done.split("action=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("form"));
    assert_eq!(front_url, format!("{}/back?lang=zh", bill.page));
    let signed: Vec<(String, String)> = ["orderId", "respCode", "queryId", "txnAmt", "signature"]
        .into_iter()
        .map(|name| (name.to_owned(), hidden(&done, name)))
        .collect();
    let returned = location(phone(app.http.post(&front_url).form(&signed)).send().await.expect("front"));
    assert_eq!(returned, format!("{}?back=1&lang=zh", bill.page.replace(&app.address, "")));
    assert!(receipt_shown(&app, &format!("{}{returned}", app.address)).await, "unionpay: the receipt on return");

    // WeChat H5: the cashier opens only from finepay's page (its Referer), and returns to it.
    let bill = issue(&app, &officer, "phone-back-wechat").await;
    let h5 = tap_ok(&app, &bill, "wechat", "mobile").await;
    let h5_url = h5["url"].as_str().expect("url");
    let cashier = phone(app.http.get(h5_url)).header("Referer", format!("{}/", app.address)).send().await;
    let cashier = cashier.expect("cashier").text().await.expect("html");
    let pay = phone(app.http.post(format!("{}/sim/wechat/h5", app.simulator_address)))
        .form(&[("prepay_id", hidden(&cashier, "prepay_id")), ("redirect_url", hidden(&cashier, "redirect_url"))]);
    let returned = location(pay.send().await.expect("paid"));
    assert!(receipt_shown(&app, &returned).await, "wechat: the receipt on return");

    // Back before paying: the page says it is confirming, with the buttons held back (its script
    // offers them again after a minute, with a word on what to do); "I have paid" asks the
    // channel and, nothing confirmed, offers them at once.
    let bill = issue(&app, &officer, "phone-back-unpaid").await;
    tap_ok(&app, &bill, "alipay", "mobile").await;
    let page = |query: &'static str| {
        let url = format!("{}{query}", bill.page);
        let request = app.http.get(url).header("Accept-Language", "en");
        async move { request.send().await.expect("page").text().await.expect("html") }
    };
    let confirming = unescape_html(&page("?back=1").await);
    assert!(confirming.contains("id=\"confirming\"") && confirming.contains("Confirming your payment"), "{confirming}");
    assert!(confirming.contains("data-later=\"Your payment has not been confirmed yet."), "{confirming}");
    assert!(
        confirming.contains("id=\"channels\" aria-labelledby=\"choose\" hidden>"),
        "buttons held back: {confirming}"
    );
    assert!(!confirming.contains("http-equiv=\"refresh\""), "no timed refresh (WCAG 2.2.1)");
    let checked = unescape_html(&page("?check=1").await);
    assert!(checked.contains("We asked the payment channels at"), "{checked}");
    assert!(checked.contains("id=\"channels\" aria-labelledby=\"choose\">"), "the buttons are back: {checked}");
}

fn location(response: reqwest::Response) -> String {
    assert!(response.status().is_redirection(), "a redirect, got {}", response.status());
    response.headers()["location"].to_str().expect("location").to_owned()
}

/// The value of the hidden input `name` in a simulator page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no {name} in {page}")) + marker.len();
    unescape_html(page[start..].split('"').next().expect("value"))
}

async fn receipt_shown(app: &TestApp, url: &str) -> bool {
    let page = app.http.get(url).send().await.expect("page").text().await.expect("html");
    page.contains("id=\"receipt\"")
}

#[actix_web::test]
async fn two_flows_paid_for_one_fine_apply_once_and_the_other_goes_back_to_its_channel() {
    let app = spawn_app_public(&[]).await;
    let officer = app.officer("110105");
    let bill = issue(&app, &officer, "phone-twice").await;
    let h5 = tap_ok(&app, &bill, "wechat", "mobile").await;
    let wap = tap_ok(&app, &bill, "alipay", "mobile").await;
    assert_eq!(sim_pay(&app, &h5).await.status(), 200);
    paid_page(&app, &bill).await;
    // Once one paid, the fine's other orders are closed, in the background.
    let status_of = |flow: &str| -> String {
        let mut conn = app.ctx.pool.get().expect("connection");
        channel_orders::table
            .filter(channel_orders::decision_no.eq(&bill.no).and(channel_orders::flow.eq(flow)))
            .select(channel_orders::status)
            .first(&mut *conn)
            .expect("the order")
    };
    for _ in 0..100 {
        if status_of("wap") == "closed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!((status_of("h5"), status_of("wap")), ("paid".to_owned(), "closed".to_owned()));
    // A minute later, the second payment (Alipay had no trade to close: the payer opened its
    // cashier only now): the fine is paid already.
    app.clock.advance(Duration::minutes(1));
    assert_eq!(sim_pay(&app, &wap).await.status(), 200);
    let mut payments = Value::Null;
    for _ in 0..100 {
        payments = payments_of(&app, &officer, &bill).await;
        if payments.as_array().map(Vec::len) == Some(2) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    assert_eq!(payments[0]["channel"], "wechat");
    assert_eq!(payments[0]["outcome"], "applied");
    assert_eq!(payments[1]["channel"], "alipay", "{payments}");
    app.drive_refunds_until(Duration::seconds(1), || app.refund_statuses() == ["succeeded"]).await;
    assert_eq!(app.refund_statuses(), ["succeeded"]);
    let payments = payments_of(&app, &officer, &bill).await;
    assert_eq!(payments[1]["outcome"], "refunded", "{payments}");
    let page = paid_page(&app, &bill).await;
    assert_eq!(page["receipt"]["channel"], "wechat", "the receipt is the payment that applied");
    assert_eq!((status_of("h5"), status_of("wap")), ("paid".to_owned(), "closed".to_owned()));
}

#[actix_web::test]
async fn the_expire_job_closes_every_flows_order_at_the_windows_end() {
    let app = spawn_app_public(&[]).await;
    let officer = app.officer("110105");
    let bill = issue(&app, &officer, "phone-expire").await;
    let mut answers = Vec::new();
    for (channel, client) in [("wechat", "desktop"), ("wechat", "mobile"), ("alipay", "mobile"), ("unionpay", "mobile")]
    {
        answers.push(tap_ok(&app, &bill, channel, client).await);
    }
    app.clock.advance(Duration::hours(4) + Duration::seconds(1));
    app.run_job(Job::Expire).await;
    let mut conn = app.ctx.pool.get().expect("connection");
    let statuses: Vec<String> = channel_orders::table
        .filter(channel_orders::decision_no.eq(&bill.no))
        .select(channel_orders::status)
        .load(&mut *conn)
        .expect("orders");
    assert_eq!(statuses, ["closed"; 4], "every flow's order is closed");
    drop(conn);
    // The channels themselves refuse payment now: each order's expiry was the window's end.
    for answer in &answers {
        assert_eq!(sim_pay(&app, answer).await.status(), 409, "{answer}");
    }
    let page: Value = app.page_json(&bill.page).await.json().await.expect("JSON");
    assert_eq!((&page["status"], &page["qr_active"]), (&json!("payable_at_bank"), &json!(false)));
}

#[actix_web::test]
async fn a_stale_unionpay_form_makes_a_new_order_on_the_next_tap() {
    let app = spawn_app_public(&[]).await;
    let officer = app.officer("110105");
    let bill = issue(&app, &officer, "phone-stale").await;
    let first = tap_ok(&app, &bill, "unionpay", "mobile").await;
    assert_eq!(tap_ok(&app, &bill, "unionpay", "mobile").await["fields"]["orderId"], first["fields"]["orderId"]);
    app.clock.advance(Duration::minutes(6));
    // UnionPay takes a form only while its send time is now: the old one is refused.
    assert_eq!(sim_pay(&app, &first).await.status(), 409);
    let second = tap_ok(&app, &bill, "unionpay", "mobile").await;
    assert_ne!(second["fields"]["orderId"], first["fields"]["orderId"]);
    assert_eq!(sim_pay(&app, &second).await.status(), 200);
    assert_eq!(paid_page(&app, &bill).await["receipt"]["channel"], "unionpay");
}

#[actix_web::test]
async fn a_bank_payment_is_listed_with_the_fines_payments() {
    let app = spawn_app_public(&[]).await;
    let officer = app.officer("110105");
    let bill = issue(&app, &officer, "phone-bank").await;
    let bank = crate::bank::Bank::new(&app, "ICBC");
    let posted = bank.post(&crate::bank::payment("ICBC-20261206-0001", &bill.no, 20000, &app)).await;
    assert!(posted.status().is_success(), "{:?}", posted.text().await);
    let payments = payments_of(&app, &officer, &bill).await;
    assert_eq!(
        payments,
        json!([{
            "channel": "bank",
            "channel_txn_id": "ICBC-20261206-0001",
            "amount_fen": 20000,
            "paid_at": payments[0]["paid_at"],
            "outcome": "applied",
        }])
    );
    assert!(payments[0]["paid_at"].as_str().is_some_and(|at| at.ends_with("+08:00")), "{payments}");
}

#[actix_web::test]
async fn a_fines_wechat_sign_ins_are_bounded_and_the_pages_form_never_gets_json() {
    let app = spawn_app_public(&[]).await;
    let officer = app.officer("110105");
    let bill = issue(&app, &officer, "phone-bounds").await;
    for _ in 0..20 {
        tap_wechat_in_wechat(&app, &bill).await;
    }
    let one_more = tap(&app, &bill, json!({"channel": "wechat", "client": "wechat"}), IN_WECHAT).await;
    assert_eq!(error_of(one_more).await, (429, "rate_limited".into()));
    app.clock.advance(Duration::minutes(11));
    tap_wechat_in_wechat(&app, &bill).await;

    // The page's own form, refused, gets a page in its language that says what to do.
    for (form, status) in [(vec![("channel", "paypal")], 422), (vec![("channel", "alipay"), ("client", "tablet")], 400)]
    {
        let answer = app.http.post(format!("{}/pay?lang=en", bill.page)).form(&form).send().await.expect("sent");
        assert_eq!(answer.status().as_u16(), status, "{form:?}");
        assert!(answer.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/html")));
        let page = answer.text().await.expect("html");
        assert!(page.contains("choose a way to pay again") && page.contains("id=\"back-to-page\""), "{page}");
    }
}
