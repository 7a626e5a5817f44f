//! What the driver reads on each page, held to GOV.UK Pay's pattern: the task as the heading,
//! the amount first, the deadline in Beijing time; "I have paid" asks the channel there and then;
//! past the window (or in a district without QR payment) the page leads with what to do at a
//! bank; the receipt is official and carries a mark that leads back to finepay's record; a form
//! the page posts never gets JSON back.

use crate::helpers::{TestApp, motor_fine, pedestrian_fine, spawn_app, taken, unescape_html, visible_text};
use chrono::Duration;
use finepay::domain::time::{shanghai_date, shanghai_wall_clock};
use serde_json::{Value, json};

async fn html(app: &TestApp, path: &str, lang: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    let response = app.http.get(format!("{}{path}{separator}lang={lang}", app.address)).send().await.expect("sent");
    assert_eq!(response.status(), 200, "{path}");
    let content_type = response.headers()["content-type"].to_str().unwrap_or_default().to_owned();
    assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
    unescape_html(&response.text().await.expect("body"))
}

/// The page's path (`/p/{token}`) of a fine.
fn page_path(app: &TestApp, fine: &Value) -> String {
    let url = app.public_path(fine["pay_url"].as_str().expect("pay_url"));
    url.strip_prefix(&app.address).expect("on this server").to_owned()
}

/// Where `needle` is in `haystack`, for checking the order things are read in.
fn at(haystack: &str, needle: &str) -> usize {
    haystack.find(needle).unwrap_or_else(|| panic!("{needle:?} is not on the page:\n{haystack}"))
}

/// The text between `<h1>` and `</h1>`.
fn heading(page: &str) -> &str {
    let start = at(page, "<h1>") + 4;
    &page[start..start + at(&page[start..], "</h1>")]
}

#[actix_web::test]
async fn the_pay_page_leads_with_the_task_the_amount_and_the_deadline() {
    let app = spawn_app().await;
    let fine = app.issue_ok(&app.officer("110105"), "pages-1", &motor_fine(&app)).await;
    let path = page_path(&app, &fine);
    let expires = chrono::DateTime::parse_from_rfc3339(fine["qr_expires_at"].as_str().expect("expiry")).expect("time");

    let zh = html(&app, &path, "zh").await;
    assert_eq!(heading(&zh), "缴纳交通违法罚款");
    assert!(zh.contains("<title>缴纳交通违法罚款</title>"), "the task is the title too");
    // Read in this order: the amount, the deadline and its countdown, the channels, the facts.
    let order = [
        at(&zh, "应缴金额"),
        at(&zh, "¥200.00"),
        at(&zh, &format!("请在 {}（北京时间）前扫码缴款", shanghai_wall_clock(expires.to_utc()))),
        at(&zh, "id=\"countdown\""),
        at(&zh, "选择支付方式"),
        at(&zh, "违法地点"),
    ];
    assert!(order.is_sorted(), "{order:?}");
    assert!(zh.contains("朝阳区建国路与东三环交叉口"), "the place");
    let asked = motor_fine(&app);
    let occurred = chrono::DateTime::parse_from_rfc3339(asked["occurred_at"].as_str().expect("t")).expect("time");
    assert!(zh.contains(&format!("{} （北京时间）", shanghai_wall_clock(occurred.to_utc()))), "the time, in Beijing");
    assert!(zh.contains("京A***45") && !zh.contains("京A12345"), "the plate, masked");
    for (channel, name) in [("wechat", "微信支付"), ("alipay", "支付宝"), ("unionpay", "云闪付（银联）")]
    {
        assert!(zh.contains(&format!("class=\"{channel}\" id=\"pay-{channel}\">{name}</button>")), "{channel}");
    }
    assert!(zh.contains("id=\"check-payment\">我已支付，查询付款结果</button>"));

    let en = html(&app, &path, "en").await;
    assert_eq!(heading(&en), "Pay a traffic fine");
    assert!(at(&en, "Amount to pay") < at(&en, "Pay with this code by"));
    assert!(en.contains("id=\"check-payment\">I have paid: check now</button>"));
    assert!(!en.contains("UTC") && !zh.contains("UTC"), "one time zone on the page");
}

#[actix_web::test]
async fn i_have_paid_asks_the_channel_now() {
    let app = spawn_app().await;
    let fine = app.issue_ok(&app.officer("110105"), "pages-2", &motor_fine(&app)).await;
    let path = page_path(&app, &fine);
    // Nothing started from the page: nothing to ask about, and the page says so.
    let nothing = html(&app, &format!("{path}?check=1"), "en").await;
    assert!(nothing.contains("No payment was started from this page"), "{nothing}");
    let link = app.channel_pay_link(fine["pay_url"].as_str().expect("pay_url"), "wechat").await;

    // Not paid yet: the page says the channels confirm nothing, and when it asked.
    let unpaid = html(&app, &format!("{path}?check=1"), "en").await;
    assert!(unpaid.contains("No payment is confirmed yet"), "{unpaid}");
    assert!(
        unpaid.contains(&format!("We asked the payment channels at {} (Beijing time)", shanghai_wall_clock(app.now())))
    );
    assert!(unpaid.contains("id=\"pay-wechat\""), "the buttons stay");

    // Paid at the channel, and its notification lost: asking finds the payment. (Each order is
    // asked about at most once every 2 seconds, however many pages ask.)
    let _lost = app.sim_pay(&link);
    assert_eq!(app.payment_counts().0, 0);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let paid = html(&app, &format!("{path}?check=1"), "en").await;
    assert_eq!(heading(&paid), "Your fine is paid");
    assert!(paid.contains("Payment complete") && paid.contains("id=\"receipt-link\""), "{paid}");
    assert!(!paid.contains("No payment is confirmed yet") && !paid.contains("id=\"pay-wechat\""));
    assert_eq!(app.payment_counts().0, 1, "recorded once");
    // Asking again records nothing more.
    let again = html(&app, &format!("{path}?check=1"), "zh").await;
    assert!(again.contains("缴款成功"));
    assert_eq!(app.payment_counts().0, 1);
}

#[actix_web::test]
async fn i_have_paid_says_so_when_the_channel_does_not_answer() {
    let app = spawn_app().await;
    let fine = app.issue_ok(&app.officer("110105"), "pages-2b", &motor_fine(&app)).await;
    let path = page_path(&app, &fine);
    app.channel_pay_link(fine["pay_url"].as_str().expect("pay_url"), "alipay").await;
    app.set_sim_faults(json!({"api_failure_rate": 1.0, "api_fault_channels": ["alipay"]})).await;
    let silent = html(&app, &format!("{path}?check=1"), "zh").await;
    assert!(silent.contains("暂时无法联系支付渠道，不能确认您的付款"), "{silent}");
    assert!(!silent.contains("我们已于"), "it does not claim to have asked");
}

#[actix_web::test]
async fn past_the_window_the_page_leads_with_what_to_do_at_a_bank() {
    let app = spawn_app().await;
    let fine = app.issue_ok(&app.officer("110105"), "pages-3", &motor_fine(&app)).await;
    let no = fine["decision_no"].as_str().expect("no");
    let path = page_path(&app, &fine);
    let rule = app.ctx.bank.surcharge;
    let due = rule.due_date(shanghai_date(app.now()));

    app.clock.advance(Duration::hours(4) + Duration::seconds(1));
    let en = html(&app, &path, "en").await;
    assert_eq!(heading(&en), "Pay this fine at a bank");
    assert!(en.contains("This code expired at"));
    let order = [
        at(&en, &format!("Amount due today ({})", shanghai_date(app.now()))),
        at(&en, "¥200.00"),
        at(&en, &format!("Pay by {due} (inclusive) and no surcharge is added.")),
        at(&en, "3% of the fine is added for each day, never more in all than the fine itself"),
        at(&en, "Where and how to pay"),
    ];
    assert!(order.is_sorted(), "{order:?}");
    assert!(!en.contains("late surcharge of"), "nothing added yet");
    assert!(en.contains(&format!("id=\"decision-no-big\">{no}</p>")), "the number, large");
    assert!(en.contains(&format!("data-copy=\"{no}\"")), "and a button to copy it");
    assert!(en.contains("ICBC") && en.contains("Bank of Beijing"), "the agent banks");
    let rf = finepay::domain::rf_reference::rf_for_decision(&finepay::domain::DecisionNo::parse(no).expect("no"));
    let spaced = finepay::domain::rf_reference::spaced_in_fours(&rf);
    assert!(en.contains(&format!("id=\"rf-reference\">{spaced}</p>")), "the RF reference: {spaced}");
    assert!(en.contains("href=\"/lookup?lang=en\""), "the lookup");
    assert!(!en.contains("id=\"pay-") && !en.contains("check-payment"), "no way to pay by code");

    let zh = html(&app, &path, "zh").await;
    assert_eq!(heading(&zh), "到银行缴纳罚款");
    assert!(zh.contains("二维码已过期") && zh.contains("中国工商银行、中国农业银行"), "{zh}");

    // Five days past the surcharge-free ones: what a bank takes today, surcharge included.
    app.clock.advance(Duration::days(20));
    let late = html(&app, &path, "en").await;
    let quote: Value = app.page_json(fine["pay_url"].as_str().expect("url")).await.json().await.expect("json");
    let due_fen = quote["amount_due_at_bank_fen"].as_i64().expect("due");
    assert!(due_fen > 20_000, "{quote}");
    assert!(late.contains(&format!("¥{}.{:02}", due_fen / 100, due_fen % 100)), "{late}");
    assert!(late.contains(&format!("the fine of ¥200.00 and a late surcharge of ¥{}.00", (due_fen - 20_000) / 100)));
    assert!(late.contains(&format!("Not paid by {due}")));
}

#[actix_web::test]
async fn a_bank_only_fine_gets_the_bank_page_without_the_word_expired() {
    let app = spawn_app().await;
    let fine = app.issue_ok(&app.officer("110109"), "pages-4", &pedestrian_fine(&app)).await;
    let (no, code) = (fine["decision_no"].as_str().expect("no"), fine["verification_code"].as_str().expect("code"));
    let found = app
        .http
        .post(format!("{}/lookup", app.address))
        .json(&json!({"decision_no": no, "verification_code": code}))
        .send()
        .await
        .expect("sent");
    assert_eq!(found.status(), 200);
    let found: Value = found.json().await.expect("json");
    let path = page_path(&app, &found);
    for (lang, heading_text, words) in
        [("en", "Pay this fine at a bank", ["expired", "Expired"]), ("zh", "到银行缴纳罚款", ["过期", "失效"])]
    {
        let page = html(&app, &path, lang).await;
        assert_eq!(heading(&page), heading_text);
        for word in words {
            assert!(!visible_text(&page).contains(word), "{lang}: {word:?} on a bank-only page");
        }
        assert!(page.contains(&format!("id=\"decision-no-big\">{no}</p>")));
        assert!(page.contains("id=\"banks\""));
    }
    assert!(html(&app, &path, "en").await.contains("This fine is paid at a bank, not by QR code."));
}

#[actix_web::test]
async fn the_receipt_is_official_and_leads_back_to_the_record() {
    let app = spawn_app().await;
    let fine = app.issue_ok(&app.officer("110105"), "pages-5", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    let link = app.channel_pay_link(pay_url, "alipay").await;
    let paid = app.sim_pay(&link);
    assert_eq!(app.deliver(&paid.notification).await, taken("alipay"));
    let page: Value = app.page_json(pay_url).await.json().await.expect("json");
    let receipt = &page["receipt"];
    let receipt_no = receipt["receipt_no"].as_str().expect("receipt_no");
    let paid_at = chrono::DateTime::parse_from_rfc3339(receipt["paid_at"].as_str().expect("paid_at")).expect("time");

    let en = html(&app, &format!("/r/{receipt_no}"), "en").await;
    assert_eq!(heading(&en), "Electronic receipt");
    for (what, shown) in [
        ("authority", "id=\"authority\">Beijing Traffic Management Bureau</p>".to_owned()),
        ("payee", "id=\"payee\">Beijing Traffic Management Bureau</dd>".to_owned()),
        ("amount", "id=\"amount\">¥200.00</p>".to_owned()),
        ("receipt number", format!("class=\"nowrap\" id=\"receipt-no\">{receipt_no}</dd>")),
        ("decision number", format!("id=\"decision-no\">{}</dd>", fine["decision_no"].as_str().expect("no"))),
        ("violation", "1625 ".to_owned()),
        ("plate", "id=\"plate\">京A***45</dd>".to_owned()),
        ("place", "朝阳区建国路与东三环交叉口".to_owned()),
        ("channel", "id=\"channel\">Alipay</dd>".to_owned()),
        (
            "transaction number, never broken",
            format!("class=\"nowrap txn\" id=\"txn-id\">{}</dd>", receipt["channel_txn_id"].as_str().expect("txn")),
        ),
        (
            "paid at, in Beijing",
            format!("id=\"paid-at\">{} (Beijing time)</dd>", shanghai_wall_clock(paid_at.to_utc())),
        ),
        ("save or print", "Take a screenshot of this page or print it".to_owned()),
        ("print style", "@media print".to_owned()),
    ] {
        assert!(en.contains(&shown), "{what}: {shown:?} not in\n{en}");
    }
    assert!(!en.contains("京A12345"));

    // The verification mark: a QR code of the receipt's own address on this server.
    let verify_url = format!("{}/r/{receipt_no}", app.ctx.server.public_base_url);
    assert!(en.contains(&format!("id=\"verify-url\">{verify_url}</span>")));
    let image = en.split("id=\"verification\">").nth(1).expect("the mark");
    let src = image.split("src=\"").nth(1).and_then(|s| s.split('"').next()).expect("an image");
    assert_eq!(decode_svg_qr(src), verify_url, "the mark scans to the receipt's address");

    let zh = html(&app, &format!("/r/{receipt_no}"), "zh").await;
    assert_eq!(heading(&zh), "电子缴款凭证");
    assert!(zh.contains("北京市公安局公安交通管理局") && zh.contains("（北京时间）"));

    // A number finepay never issued: whoever checks a copy is told it is not valid.
    let forged: String = receipt_no.chars().rev().collect();
    let answer = app.http.get(format!("{}/r/{forged}?lang=en", app.address)).send().await.expect("sent");
    assert_eq!(answer.status(), 404);
    assert!(answer.text().await.expect("html").contains("the receipt is not valid"));
}

#[actix_web::test]
async fn the_pages_forms_never_get_json() {
    let app = spawn_app().await;
    let fine = app.issue_ok(&app.officer("110105"), "pages-6", &motor_fine(&app)).await;
    let page = app.public_path(fine["pay_url"].as_str().expect("pay_url"));
    let forged = format!("{}AAAA", &page[..page.len() - 4]);
    // Just over `server.max_body_bytes` (64 KiB), all sent before the answer.
    let huge = "channel=".to_owned() + &"x".repeat(64 * 1024);
    for (url, body, status, says) in [
        (format!("{forged}/pay?lang=en"), "channel=wechat".to_owned(), 404, "This code is not valid"),
        (format!("{page}/pay?lang=en"), huge, 413, "This payment could not be started"),
        (format!("{page}/pay?lang=zh"), "channel=paypal".to_owned(), 422, "无法开始付款"),
    ] {
        let answer = app
            .http
            .post(&url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_eq!(answer.status().as_u16(), status, "{url}");
        assert!(answer.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/html")), "{url}");
        let text = answer.text().await.expect("body");
        assert!(text.contains(says), "{url}: {text}");
    }
    // JSON where JSON is asked for.
    let answer = app.http.post(format!("{forged}/pay")).json(&json!({"channel": "wechat"})).send().await.expect("sent");
    assert_eq!(answer.status(), 404);
    assert!(answer.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("application/json")));
    assert_eq!(app.payment_counts(), (0, 0));
}

/// The text of the QR code in a `data:image/svg+xml;base64,` image as finepay draws it (one
/// `M x y h len v1 h-len z` run per row of dark modules), read back with rqrr.
fn decode_svg_qr(data_url: &str) -> String {
    let encoded = data_url.strip_prefix("data:image/svg+xml;base64,").expect("an SVG data URL");
    let svg = String::from_utf8(data_encoding::BASE64.decode(encoded.as_bytes()).expect("base64")).expect("UTF-8");
    let side: usize = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a viewBox in modules");
    const PX: usize = 4;
    let mut grey = vec![255u8; side * side * PX * PX];
    let path = svg.split(" d=\"").nth(1).and_then(|s| s.split('"').next()).expect("a path");
    for run in path.split('z').filter(|r| !r.is_empty()) {
        let numbers: Vec<usize> = run
            .trim_start_matches('M')
            .split(['h', 'v', ' '])
            .filter_map(|n| n.trim_start_matches('-').parse().ok())
            .collect();
        let (x, y, len) = (numbers[0], numbers[1], numbers[2]);
        for row in y * PX..(y + 1) * PX {
            for column in x * PX..(x + len) * PX {
                grey[row * side * PX + column] = 0;
            }
        }
    }
    let width = side * PX;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, width, |x, y| grey[y * width + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one code in the image");
    grids[0].decode().expect("the code decodes").1
}
