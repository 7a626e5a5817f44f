//! The desk's statistics page and its CSV downloads: fines paid online and at banks at known times
//! give exactly the shares (against 2017's), what each channel took with the banks' surcharge, the
//! spans of time to payment with their medians, and the share paid while the QR code worked — in
//! Chinese and English; bad parameters and callers are refused; and the page in headless Chromium
//! at desktop width, axe finding no WCAG 2.1 AA violation.

use crate::accessibility::{axe_source, violations};
use crate::admin::{admin, no_of, pay, pay_at_bank, void};
use crate::admin_page::signed_in;
use crate::bank::{Bank, payment};
use crate::helpers::{TestApp, motor_fine, pedestrian_fine, spawn_app, unescape_html, visible_text};
use crate::webdriver::{Browser, Tools};
use chrono::{Duration, NaiveDate};
use finepay::domain::time::shanghai_date;
use finepay::jobs::Job;

/// What a reader sees, its spacing made single.
fn read(html: &str) -> String {
    visible_text(&unescape_html(html)).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// (status, Content-Type, Content-Disposition, body) of a GET with the admin's bearer token.
async fn fetch(app: &TestApp, token: &str, path: &str) -> (u16, String, String, String) {
    let response = app.get(token, path).await;
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    (response.status().as_u16(), content_type, disposition, response.text().await.expect("body"))
}

/// Fines issued at 10:00 Beijing time on one day and paid at known times after:
///
/// | fine | district | paid | after |
/// |---|---|---|---|
/// | c1 | Chaoyang | WeChat Pay | 5 minutes |
/// | c2 | Chaoyang | Alipay | 30 minutes |
/// | c3 | Chaoyang | UnionPay | 2 hours |
/// | c4 | Chaoyang | bank, in the QR window | 3 hours |
/// | c5 | Chaoyang | bank | 20 hours |
/// | c6 | Chaoyang | bank, 5 days of surcharge (¥30) | 20 days |
/// | c7 | Chaoyang | not paid | |
/// | c8 | Chaoyang | void | |
/// | h1 | Haidian | WeChat Pay | 5 minutes |
/// | h2 | Haidian (¥10) | Alipay | 30 minutes |
/// | m1 | Mentougou (no QR code) | bank | 26 hours |
///
/// The clock ends 20 days later; the issue day is returned.
async fn paid_at_known_times(app: &TestApp) -> NaiveDate {
    let (chaoyang, haidian, mentougou) = (app.officer("110105"), app.officer("110108"), app.officer("110109"));
    let start = app.now().date_naive().and_hms_opt(2, 0, 0).expect("time").and_utc();
    app.clock.set(start);
    let mut c = Vec::new();
    for i in 1..=8 {
        c.push(app.issue_ok(&chaoyang, &format!("c{i}"), &motor_fine(app)).await);
    }
    let h1 = app.issue_ok(&haidian, "h1", &motor_fine(app)).await;
    let h2 = app.issue_ok(&haidian, "h2", &pedestrian_fine(app)).await;
    let m1 = app.issue_ok(&mentougou, "m1", &motor_fine(app)).await;
    void(app, &chaoyang, &no_of(&c[7])).await;

    let at = |after: Duration| app.clock.set(start + after);
    at(Duration::minutes(5));
    pay(app, &c[0], "wechat").await;
    pay(app, &h1, "wechat").await;
    at(Duration::minutes(30));
    pay(app, &c[1], "alipay").await;
    pay(app, &h2, "alipay").await;
    at(Duration::hours(2));
    pay(app, &c[2], "unionpay").await;
    at(Duration::hours(3));
    pay_at_bank(app, &no_of(&c[3])).await;
    at(Duration::hours(4) + Duration::seconds(1));
    app.run_job(Job::Expire).await;
    at(Duration::hours(20));
    pay_at_bank(app, &no_of(&c[4])).await;
    at(Duration::hours(26));
    pay_at_bank(app, &no_of(&m1)).await;
    at(Duration::days(20));
    let bank = Bank::new(app, "ICBC");
    let late = no_of(&c[5]);
    let quote: serde_json::Value = bank.quote(&late).await.json().await.expect("quote");
    assert_eq!(quote["amount_due_fen"], 23_000, "five days of 3 % on 200 yuan: {quote}");
    let posted = bank.post(&payment("B-late", &late, 23_000, app)).await;
    assert_eq!(posted.status(), 201);
    shanghai_date(start)
}

#[actix_web::test]
async fn the_statistics_count_shares_takings_times_and_the_qr_window_exactly() {
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let day = paid_at_known_times(&app).await;

    let (status, _, _, html) = fetch(&app, &token, &format!("/admin/statistics?lang=en&from={day}&to={day}")).await;
    assert_eq!(status, 200, "{html}");
    let text = read(&html);
    assert!(text.contains(&format!("Fines issued {day} to {day}: paid online vs at banks")), "{text}");
    assert!(text.contains("online 55.56% · at banks 44.44%"), "{text}");
    assert!(text.contains("5 of 9 paid fines were paid by QR code, 4 at a bank."), "{text}");
    assert!(
        text.contains(
            "Share paid at banks: 44.44% in this period, 68.20% in 2017, a difference of -23.76 percentage points."
        ),
        "{text}"
    );
    for row in [
        // By district: issued, paid online, paid at banks, the online share.
        "District code District Issued Paid online Paid at banks Online share",
        "110105 Chaoyang 8 3 3 50.00%",
        "110108 Haidian 2 2 0 100.00%",
        "110109 Mentougou 1 0 1 0.00%",
        "All 11 5 4 55.56%",
        // By issue day.
        &format!("{day} 11 5 4 55.56%"),
        // What each channel took.
        "Channel Fines paid Fines (yuan) Surcharge (yuan) Taken (yuan)",
        "WeChat Pay 2 400.00 0.00 400.00",
        "Alipay 2 210.00 0.00 210.00",
        "UnionPay 1 200.00 0.00 200.00",
        "Banks 4 800.00 30.00 830.00",
        "All 9 1610.00 30.00 1640.00",
        // Time from issue to payment: online, at banks, both.
        "Time to payment Paid online Paid at banks All",
        "Under 15 minutes 2 0 2",
        "15 minutes to 1 hour 2 0 2",
        "1 to 4 hours 1 1 2",
        "4 to 24 hours 0 1 1",
        "1 to 7 days 0 1 1",
        "Over 7 days 0 1 1",
        "All 5 4 9",
        "Median 30 min 20 h 0 min 2 h 0 min",
        // Paid while the QR code worked (Mentougou has no code; the void fine is left out).
        "110105 Chaoyang 7 4 3 1 2 1 57.14%",
        "110108 Haidian 2 2 2 0 0 0 100.00%",
        "All 9 6 5 1 2 1 66.67%",
    ] {
        assert!(text.contains(row), "{row:?} in {text}");
    }
    // Each table has its chart, named for screen readers, and its download.
    let page = unescape_html(&html);
    for name in ["districts", "days", "channels", "times", "window"] {
        let csv = format!("href=\"/admin/statistics.csv?table={name}&from={day}&to={day}&lang=en\"");
        assert!(page.contains(&csv), "{name}'s download: {page}");
        assert!(html.contains(&format!("<table id=\"{name}\">")), "{name}");
    }
    assert_eq!(html.matches("role=\"img\" aria-label=\"").count(), 5, "five charts");
    assert!(html.contains(&format!("aria-label=\"Time from issue to payment (fines), issued {day} to {day}\"")));
    assert!(!html.contains("No fines in this period"), "every chart has bars");
    assert!(html.contains("id=\"statistics-link\" aria-current=\"page\""), "the desk's navigation marks the page");

    // One district: its fines only.
    let (status, _, _, html) =
        fetch(&app, &token, &format!("/admin/statistics?lang=en&from={day}&to={day}&district=110105")).await;
    assert_eq!(status, 200);
    let text = read(&html);
    assert!(text.contains("online 50.00% · at banks 50.00%"), "{text}");
    assert!(text.contains("All 8 3 3 50.00%") && !text.contains("110108 Haidian"), "{text}");
    assert!(text.contains("Banks 3 600.00 30.00 630.00"), "{text}");
    let csv = format!("/admin/statistics.csv?table=window&from={day}&to={day}&district=110105&lang=en\"");
    assert!(unescape_html(&html).contains(&csv), "{html}");

    // Chinese by default.
    let (status, _, _, html) = fetch(&app, &token, &format!("/admin/statistics?from={day}&to={day}")).await;
    assert_eq!(status, 200);
    let text = read(&html);
    assert!(text.contains("扫码 55.56% · 银行 44.44%"), "{text}");
    assert!(text.contains("银行缴款占比：本期 44.44%，2017 年 68.20%，相差 -23.76 个百分点。"), "{text}");
    assert!(text.contains("110105 朝阳区 8 3 3 50.00%") && text.contains("银行 4 800.00 30.00 830.00"), "{text}");
    assert!(text.contains("中位数 30 分钟 20 小时 0 分钟 2 小时 0 分钟"), "{text}");
    assert!(text.contains("下载 CSV"), "{text}");

    // A period without fines: no share, zeros, charts saying so.
    let (status, _, _, html) = fetch(&app, &token, "/admin/statistics?lang=en&from=2020-01-01&to=2020-01-31").await;
    assert_eq!(status, 200);
    let text = read(&html);
    assert!(text.contains("No fines paid yet") && text.contains("All 0 0 0 —"), "{text}");
    assert!(text.contains("Median — — —"), "{text}");
}

#[actix_web::test]
async fn every_table_downloads_as_csv_for_excel_in_the_pages_language() {
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let day = paid_at_known_times(&app).await;

    let (status, content_type, disposition, body) =
        fetch(&app, &token, &format!("/admin/statistics.csv?table=channels&from={day}&to={day}&lang=en")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert_eq!(disposition, format!("attachment; filename=\"finepay-channels-{day}-{day}.csv\""));
    assert_eq!(
        body,
        "\u{feff}Channel,Fines paid,Fines (yuan),Surcharge (yuan),Taken (yuan)\r\n\
         WeChat Pay,2,400.00,0.00,400.00\r\n\
         Alipay,2,210.00,0.00,210.00\r\n\
         UnionPay,1,200.00,0.00,200.00\r\n\
         Banks,4,800.00,30.00,830.00\r\n\
         All,9,1610.00,30.00,1640.00\r\n"
    );

    // Chinese headers and names, one district (named in the file).
    let (status, _, disposition, body) =
        fetch(&app, &token, &format!("/admin/statistics.csv?table=districts&from={day}&to={day}&district=110105"))
            .await;
    assert_eq!(status, 200);
    assert_eq!(disposition, format!("attachment; filename=\"finepay-districts-110105-{day}-{day}.csv\""));
    assert_eq!(
        body,
        "\u{feff}辖区代码,辖区,开具,扫码缴款,银行缴款,扫码占比\r\n110105,朝阳区,8,3,3,50.00%\r\n合计,,8,3,3,50.00%\r\n"
    );

    let csv = |table: &str| format!("/admin/statistics.csv?table={table}&from={day}&to={day}&lang=en");
    let (_, _, _, body) = fetch(&app, &token, &csv("times")).await;
    assert_eq!(
        body,
        "\u{feff}Time to payment,Paid online,Paid at banks,All\r\n\
         Under 15 minutes,2,0,2\r\n\
         15 minutes to 1 hour,2,0,2\r\n\
         1 to 4 hours,1,1,2\r\n\
         4 to 24 hours,0,1,1\r\n\
         1 to 7 days,0,1,1\r\n\
         Over 7 days,0,1,1\r\n\
         All,5,4,9\r\n\
         Median,30 min,20 h 0 min,2 h 0 min\r\n"
    );
    let (_, _, _, body) = fetch(&app, &token, &csv("window")).await;
    assert_eq!(
        body,
        "\u{feff}District code,District,With a QR code,Paid in time,of which online,of which at banks,Paid later,Not paid,Share paid in time\r\n\
         110105,Chaoyang,7,4,3,1,2,1,57.14%\r\n\
         110108,Haidian,2,2,2,0,0,0,100.00%\r\n\
         All,,9,6,5,1,2,1,66.67%\r\n"
    );
    let (_, _, disposition, body) = fetch(&app, &token, &csv("days")).await;
    assert_eq!(disposition, format!("attachment; filename=\"finepay-days-{day}-{day}.csv\""));
    assert_eq!(
        body,
        format!(
            "\u{feff}Issue day,Issued,Paid online,Paid at banks,Online share\r\n{day},11,5,4,55.56%\r\nAll,11,5,4,55.56%\r\n"
        )
    );
}

#[actix_web::test]
async fn bad_parameters_and_callers_are_refused() {
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let officer = app.officer("110105");

    for (path, says) in [
        ("/admin/statistics?lang=en&from=2026-02-30", "from must be a date, YYYY-MM-DD"),
        ("/admin/statistics?lang=en&to=21/11/2026", "to must be a date, YYYY-MM-DD"),
        ("/admin/statistics?lang=en&from=2026-11-22&to=2026-11-21", "from must not be after to"),
        ("/admin/statistics?lang=en&from=2025-11-20&to=2026-11-21", "a period is at most 366 days"),
        ("/admin/statistics?lang=en&district=11010x", "district is a 6-digit code"),
        ("/admin/statistics.csv?lang=en&table=fines", "table must be one of districts, days, channels, times, window"),
        ("/admin/statistics.csv?lang=en", "table must be one of"),
        ("/admin/statistics.csv?lang=en&table=days&from=2026-11-22&to=2026-11-21", "from must not be after to"),
    ] {
        let (status, content_type, _, html) = fetch(&app, &token, path).await;
        assert_eq!((status, content_type.as_str()), (400, "text/html; charset=utf-8"), "{path}");
        assert!(read(&html).contains(says), "{path}: {html}");
    }

    // No credential: the sign-in form, nothing counted; another role: 403, before its parameters.
    for path in ["/admin/statistics", "/admin/statistics.csv?table=days"] {
        let response = app.http.get(format!("{}{path}", app.address)).send().await.expect("sent");
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.expect("body");
        assert!(html.contains("id=\"token\"") && !html.contains("<table"), "{path}: {html}");
        let joined = if path.contains('?') { '&' } else { '?' };
        for asked in [path.to_owned(), format!("{path}{joined}from=nonsense")] {
            let (status, _, _, _) = fetch(&app, &officer, &asked).await;
            assert_eq!(status, 403, "{asked}");
        }
        let (status, _, _, _) = fetch(&app, "not-a-token", path).await;
        assert_eq!(status, 401, "{path}");
    }

    // The signed-in browser reads both.
    let cookie = signed_in(&app, &token).await;
    for path in ["/admin/statistics", "/admin/statistics.csv?table=channels"] {
        let response = app.http.get(format!("{}{path}", app.address)).header("Cookie", &cookie).send().await;
        assert_eq!(response.expect("sent").status(), 200, "{path}");
    }
}

#[actix_web::test]
async fn a_clerk_reads_the_statistics_in_the_browser() {
    let Some(tools) = Tools::find() else { return };
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    paid_at_known_times(&app).await;

    let browser = Browser::start_at(&tools, "zh-CN,zh", None, 1280).await;
    crate::admin_browser::sign_in(&browser, &app, &token).await;
    browser.click_on("#statistics-link").await;
    browser.wait("#window").await;
    assert_eq!(browser.text("#share-online").await, "55.56%");
    assert!(browser.text("#channels").await.contains("830.00"));
    // The charts fit the page at desktop width: nothing scrolls sideways.
    let overflow = browser
        .script(
            "return [...document.querySelectorAll('.chart')].filter(d => d.scrollWidth > d.clientWidth).length",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(overflow, 0, "a chart wider than its card");
    if let Some(axe) = axe_source() {
        let found = violations(&browser, &axe).await;
        assert!(found.is_empty(), "the statistics page breaks WCAG 2.1 AA:\n{}", found.join("\n"));
    }
    browser.screenshot("desk-statistics-zh").await;
    browser.quit().await;
}
