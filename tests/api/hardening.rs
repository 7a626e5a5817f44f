//! What a hostile tryout found, kept under test on both backends: a NUL (or another control
//! character) in any text is refused where it enters, naming the field, and changes nothing;
//! a payment dated before its fine or after now settles and prices nothing (422 on the bank API,
//! an exception from a statement or a channel); a transfer naming two fines pays neither; an
//! empty fine number is no route.

use crate::bank::{Bank, CSV_HEADER, bank_fine, bank_payment_rows, csv_line, exception_list, fine_status, payment};
use crate::helpers::{error_of, motor_fine, spawn_app};
use chrono::{DateTime, Duration, TimeZone, Utc};
use finepay::credentials::Binding;
use serde_json::{Value, json};

/// (status, code, details.field) of an error response.
async fn refusal(response: reqwest::Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("errors are JSON");
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned(), body["error"]["details"]["field"].clone())
}

fn invalid_text(field: &str) -> (u16, String, Value) {
    (422, "invalid_text".into(), json!(field))
}

#[tokio::test]
async fn a_nul_in_any_text_is_refused_where_it_enters_and_changes_nothing() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let admin = app.credential(&Binding::Admin { name: "desk".into() });
    let bank = Bank::new(&app, "ICBC");
    let fine = app.issue_ok(&officer, "k-1", &motor_fine(&app)).await;
    let no = fine["decision_no"].as_str().expect("decision_no").to_owned();
    // An exception to resolve: a bank payment of the wrong amount.
    let paid_wrong = bank_fine(&app).await;
    assert_eq!(bank.post(&payment("S-1", &paid_wrong, 100, &app)).await.status(), 422);
    let exceptions = exception_list(&app);
    assert_eq!(exceptions.len(), 1);
    let exception_id: i64 = {
        use diesel::prelude::*;
        use finepay::db::schema::exceptions;
        exceptions::table.select(exceptions::id).first(&mut *app.ctx.pool.get().expect("connection")).expect("id")
    };
    let before = app.counts();
    let rows_before = bank_payment_rows(&app);

    let mut with_nul = motor_fine(&app);
    with_nul["location"] = json!("建国路\u{0}口");
    let mut nested = motor_fine(&app);
    nested["subject"]["plate"] = json!("京A1\u{0}345");
    let mut escape = motor_fine(&app);
    escape["location"] = json!("建国路\u{1b}[2J");
    for (what, body, field) in
        [("location", with_nul, "location"), ("plate", nested, "subject.plate"), ("escape", escape, "location")]
    {
        assert_eq!(
            refusal(app.issue(&officer, &format!("nul-{what}"), &body).await).await,
            invalid_text(field),
            "{what}"
        );
    }
    let void = |reason: &str| {
        app.http
            .post(format!("{}/api/v1/fines/{no}/void", app.address))
            .bearer_auth(&officer)
            .json(&json!({ "reason": reason }))
    };
    assert_eq!(refusal(void("issued\u{0}in error").send().await.expect("sent")).await, invalid_text("reason"));
    let mut serial = payment("S-\u{0}2", &paid_wrong, 20000, &app);
    assert_eq!(refusal(bank.post(&serial).await).await, invalid_text("bank_serial"));
    serial["bank_serial"] = json!("S-2");
    serial["note\u{0}"] = json!("a member name");
    assert_eq!(refusal(bank.post(&serial).await).await, invalid_text("note\u{0}"));
    for query in ["source=%00", "kind=bank%00", "status=open&source=a%00b"] {
        let response = app.get(&admin, &format!("/admin/api/exceptions?{query}")).await;
        let field = query.rsplit('&').next().and_then(|p| p.split('=').next()).expect("a name");
        assert_eq!(refusal(response).await, invalid_text(field), "{query}");
    }
    let resolve = |resolution: &str| {
        app.http
            .post(format!("{}/admin/api/exceptions/{exception_id}/resolve", app.address))
            .bearer_auth(&admin)
            .json(&json!({ "resolution": resolution }))
    };
    assert_eq!(refusal(resolve("returned\u{0}").send().await.expect("sent")).await, invalid_text("resolution"));

    // Paths and forms: whatever the NUL is in, the answer is a 4xx.
    let bank_token = bank.token.clone();
    let page = format!("/P/{}", fine["pay_url"].as_str().and_then(|u| u.rsplit('/').next()).expect("a token"));
    for (method, path, body, token) in [
        ("GET", "/p/abc%00def".to_owned(), "", None),
        ("POST", "/p/abc%00def/pay".to_owned(), "channel=alipay%00", None),
        ("GET", "/p/abc%00/wechat-oauth?code=%00&state=%00".to_owned(), "", None),
        ("POST", "/p/abc%00/back".to_owned(), "", None),
        ("GET", "/r/%00".to_owned(), "", None),
        ("POST", "/lookup".to_owned(), "decision_no=%00&code=%00", None),
        ("GET", "/api/v1/fines/%00".to_owned(), "", Some(officer.as_str())),
        ("GET", format!("/api/v1/fines/{no}/qr.png?px=%00"), "", Some(officer.as_str())),
        ("GET", "/bank/v1/fines/%00".to_owned(), "", Some(bank_token.as_str())),
        ("GET", "/bank/v1/outstanding?after=%00".to_owned(), "", Some(bank_token.as_str())),
        ("GET", "/admin/api/audit?decision_no=%00".to_owned(), "", Some(admin.as_str())),
        ("GET", "/admin/api/stats?district=%00".to_owned(), "", Some(admin.as_str())),
        ("POST", "/admin/login".to_owned(), "token=%00", None),
        ("GET", format!("{page}/wechat-oauth?code=abc&state=%00"), "", None),
        ("GET", format!("{page}/wechat-oauth?code=%00&state={}", "a".repeat(32)), "", None),
        ("POST", format!("{page}/pay"), "channel=alipay%00&client=phone%00", None),
        ("POST", format!("{page}/back"), "order=%00", None),
    ] {
        let mut request = app
            .http
            .request(method.parse().expect("a method"), format!("{}{path}", app.address))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let status = request.send().await.expect("sent").status().as_u16();
        assert!((400..500).contains(&status), "{method} {path}: {status}");
    }

    assert_eq!(app.counts(), before, "nothing was written");
    assert_eq!(bank_payment_rows(&app), rows_before);
    assert_eq!(fine_status(&app, &no).0, "awaiting_payment");
    // The same requests without the NUL are taken.
    assert_eq!(resolve("returned to the payer").send().await.expect("sent").status(), 200);
    assert_eq!(void("issued in error").send().await.expect("sent").status(), 200);

    // A statement line with a NUL in a reference is a bad line; the lines around it settle.
    let (first, second) = (bank_fine(&app).await, bank_fine(&app).await);
    let now = app.now().to_rfc3339();
    let mut csv = String::from(CSV_HEADER);
    csv += &csv_line("E1", &now, 20000, "C,BOOK,", "T1", &first);
    csv += &csv_line("E\u{0}2", &now, 20000, "C,BOOK,", "T2", "x");
    csv += &csv_line("E3", &now, 20000, "C,BOOK,", "T\u{0}3", "x");
    csv += &csv_line("E4", &now, 20000, "C,BOOK,", "T4", "pay\u{0}ment");
    csv += &csv_line("E5", &now, 20000, "C,BOOK,", "T5", &second);
    let report: Value = bank.upload("text/csv", csv).await.json().await.expect("a report");
    assert_eq!(report["status"], "complete", "{report}");
    assert_eq!((report["bad_lines"].clone(), report["outcomes"]["settled"].clone()), (json!(3), json!(2)), "{report}");
    let messages: Vec<&str> =
        report["errors"].as_array().expect("errors").iter().filter_map(|e| e["message"].as_str()).collect();
    assert_eq!(
        messages,
        [
            "entry_ref holds the control character U+0000",
            "transaction_ref holds the control character U+0000",
            "reference holds the control character U+0000"
        ],
        "{report}"
    );
    assert_eq!(report["errors"][0]["entry_ref"], Value::Null, "an unstorable reference is not echoed: {report}");
    assert_eq!(report["errors"][1]["entry_ref"], "E3");
    assert_eq!(fine_status(&app, &first).0, "paid");
    assert_eq!(fine_status(&app, &second).0, "paid");
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339()
}

#[tokio::test]
async fn a_payment_dated_before_its_fine_or_after_now_settles_nothing() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let no = bank_fine(&app).await;
    let now = app.now();
    let year = |y: i32| Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).single().expect("a time");
    for paid_at in [
        "2000-01-01T00:00:00+08:00".to_owned(),
        "0001-01-01T00:00:00Z".to_owned(),
        "0000-01-01T00:00:00Z".to_owned(),
        rfc3339(now - Duration::hours(1)),
        rfc3339(now + Duration::minutes(6)),
        "9999-12-31T23:59:59+08:00".to_owned(),
    ] {
        let mut body = payment(&format!("S-{paid_at}").replace([':', '+'], "."), &no, 20000, &app);
        body["paid_at"] = json!(paid_at);
        assert_eq!(
            refusal(bank.post(&body).await).await,
            (422, "implausible_paid_at".into(), json!("paid_at")),
            "{paid_at}"
        );
    }
    assert_eq!(bank_payment_rows(&app), 0);
    assert_eq!(fine_status(&app, &no).0, "payable_at_bank");
    // Within the skew of the issue it is believed.
    let mut body = payment("S-OK", &no, 20000, &app);
    body["paid_at"] = json!(rfc3339(now - Duration::minutes(4)));
    assert_eq!(bank.post(&body).await.status(), 201);

    // Statement lines: each impossible date is kept, raised, and neither settles nor is priced.
    let (unpaid, paid) = (bank_fine(&app).await, bank_fine(&app).await);
    let issued_day = finepay::domain::time::shanghai_date(now);
    let mut csv = String::from(CSV_HEADER);
    for (entry, booked) in [
        ("D1", "0000-01-01".to_owned()),
        ("D2", "1970-01-01".to_owned()),
        ("D3", (issued_day - Duration::days(400)).to_string()),
        ("D4", "9999-12-31".to_owned()),
        ("D5", rfc3339(now - Duration::hours(1))),
        ("D6", rfc3339(year(2000))),
    ] {
        csv += &csv_line(entry, &booked, 20000, "C,BOOK,", entry, &unpaid);
    }
    csv += &csv_line("D7", &issued_day.to_string(), 20000, "C,BOOK,", "D7", &paid);
    let report: Value = bank.upload("text/csv", csv).await.json().await.expect("a report");
    let outcomes = &report["outcomes"];
    assert_eq!((outcomes["implausible_date"].clone(), outcomes["settled"].clone()), (json!(6), json!(1)), "{report}");
    assert_eq!(fine_status(&app, &unpaid).0, "payable_at_bank");
    assert_eq!(fine_status(&app, &paid).0, "paid");
    let raised: Vec<String> =
        exception_list(&app).into_iter().filter(|(kind, _)| kind == "implausible_date").map(|(_, r)| r).collect();
    assert_eq!(raised, ["D1", "D2", "D3", "D4", "D5", "D6"]);
    let priced: Vec<Option<i64>> = {
        use diesel::prelude::*;
        use finepay::db::schema::bank_payments;
        bank_payments::table
            .filter(bank_payments::outcome.eq("implausible_date"))
            .select(bank_payments::due_fen)
            .load(&mut *app.ctx.pool.get().expect("connection"))
            .expect("rows")
    };
    assert_eq!(priced, vec![None; 6], "no surcharge is counted to an impossible day");

    // A real-time post of the real payment later is not taken for one of those lines: it settles.
    let posted = bank.post(&payment("RT-REAL", &unpaid, 20000, &app)).await;
    assert_eq!(posted.status(), 201);
    let posted: Value = posted.json().await.expect("the payment");
    assert_eq!(posted["outcome"], "settled", "{posted}");
    assert_eq!(fine_status(&app, &unpaid).0, "paid");
}

#[tokio::test]
async fn a_channel_payment_dated_before_its_order_is_held_as_an_exception() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "k-held", &motor_fine(&app)).await;
    let no = fine["decision_no"].as_str().expect("decision_no").to_owned();
    let link = app.channel_pay_link(fine["pay_url"].as_str().expect("pay_url"), "alipay").await;
    // Alipay's clock says year 0 when the payer pays: its notification is correctly signed.
    let real_now = app.now();
    app.clock.set(Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).single().expect("year 0"));
    let paid = app.sim_pay(&link);
    app.clock.set(real_now);
    let body = String::from_utf8(paid.notification.body.clone()).expect("a form");
    assert!(body.contains("gmt_payment=0000-01-01"), "{body}");

    let (status, reply) = app.deliver(&paid.notification).await;
    assert_eq!((status, reply.as_str()), (200, "success"), "taken, so that Alipay stops sending");
    let (again, _) = app.deliver(&paid.notification).await;
    assert_eq!(again, 200);
    let view: Value = app.get(&officer, &format!("/api/v1/fines/{no}")).await.json().await.expect("the fine");
    assert_eq!(view["status"], "awaiting_payment", "{view}");
    assert_eq!(view["payments"].as_array().map(Vec::len), Some(1), "{view}");
    assert_eq!(view["payments"][0]["outcome"], "exception", "{view}");
    let held: Vec<(String, String)> = exception_list(&app);
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].0, "implausible_paid_at");
    assert!(app.audit_actions(&no).contains(&"payment.held".to_owned()));
}

#[tokio::test]
async fn a_transfer_naming_two_fines_pays_neither() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "CCB");
    let (one, two) = (bank_fine(&app).await, bank_fine(&app).await);
    let mut csv = String::from(CSV_HEADER);
    csv += &csv_line("M1", &app.now().to_rfc3339(), 20000, "C,BOOK,", "M1", &format!("fines {one} {two}"));
    let report: Value = bank.upload("text/csv", csv).await.json().await.expect("a report");
    assert_eq!((report["outcomes"]["unmatched"].clone(), report["matched"].clone()), (json!(1), json!(0)), "{report}");
    assert_eq!(fine_status(&app, &one).0, "payable_at_bank");
    assert_eq!(fine_status(&app, &two).0, "payable_at_bank");
    let details: String = {
        use diesel::prelude::*;
        use finepay::db::schema::exceptions;
        exceptions::table
            .filter(exceptions::reference.eq("M1"))
            .select(exceptions::details)
            .first(&mut *app.ctx.pool.get().expect("connection"))
            .expect("the line's exception")
    };
    let details: Value = serde_json::from_str(&details).expect("JSON");
    assert_eq!(details["named_decision_nos"], json!([one, two]), "{details}");
}

#[tokio::test]
async fn a_fine_path_without_a_number_is_not_found() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    assert_eq!(error_of(app.get(&officer, "/api/v1/fines/").await).await, (404, "not_found".into()));
    assert_eq!(error_of(app.get(&officer, "/API/v1/fines/x").await).await, (404, "not_found".into()));
    let delete = app.http.delete(format!("{}/api/v1/fines", app.address)).bearer_auth(&officer).send().await;
    assert_eq!(error_of(delete.expect("sent")).await, (405, "method_not_allowed".into()));
}

/// A listener that counts the connections made to it: what an XML parser that fetches external
/// entities or includes would open.
fn watching_listener() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (address, count)
}

#[tokio::test]
async fn what_held_against_the_tryout_stays_held() {
    use crate::bank_statements::{Ntry, camt054, today};
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let bank = Bank::new(&app, "ICBC");
    let no = bank_fine(&app).await;
    let before = app.counts();

    // XML that asks for the outside world: nothing is fetched, no entity is expanded into a payment.
    let (watched, connections) = watching_listener();
    let entry = Ntry {
        entry_ref: "X1",
        amount_fen: 20000,
        currency: "CNY",
        direction: "CRDT",
        status: "BOOK",
        remittance: "&xxe;".into(),
    };
    let statement = camt054(&[entry], &today(&app));
    let body = statement.split_once("?>").expect("a declaration").1;
    let laughs: String = (1..10)
        .map(|i| {
            format!(
                "<!ENTITY l{i} \"&l{};&l{};&l{};&l{};&l{};&l{};&l{};&l{};&l{};&l{};\">",
                i - 1,
                i - 1,
                i - 1,
                i - 1,
                i - 1,
                i - 1,
                i - 1,
                i - 1,
                i - 1,
                i - 1
            )
        })
        .collect();
    let hostile = [
        format!("<?xml version=\"1.0\"?><!DOCTYPE Document [<!ENTITY xxe SYSTEM \"{watched}/xxe\">]>{body}"),
        format!(
            "<?xml version=\"1.0\"?><!DOCTYPE Document SYSTEM \"{watched}/camt.dtd\">{}",
            body.replace("&xxe;", "an external DTD")
        ),
        format!(
            "<?xml version=\"1.0\"?><!DOCTYPE Document [<!ENTITY l0 \"{no}\">{laughs}]>{}",
            body.replace("&xxe;", "&l9;")
        ),
        body.replace(
            "&xxe;",
            &format!("<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"{watched}/inc\"/>"),
        ),
    ];
    for (i, xml) in hostile.iter().enumerate() {
        let response = bank.upload("application/xml", xml.clone()).await;
        let status = response.status().as_u16();
        assert!(status == 200 || (400..500).contains(&status), "case {i}: {status}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "no outbound request");
    assert_eq!(fine_status(&app, &no).0, "payable_at_bank", "no entity became a fine's number");

    // Deep nesting, bodies in other encodings, absurd numbers, a huge token.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (utf16, latin1): (Vec<u8>, Vec<u8>) = {
        let text = r#"{"reason": "été"}"#;
        (text.encode_utf16().flat_map(u16::to_le_bytes).collect(), text.chars().map(|c| c as u8).collect())
    };
    let gbk: Vec<u8> = [&b"{\"reason\": \""[..], &[0xB7, 0xA3, 0xBF, 0xEE], &b"\"}"[..]].concat();
    let utf32: Vec<u8> = r#"{"reason": "x"}"#.chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
    for (what, body) in
        [("deep", deep.into_bytes()), ("utf-16", utf16), ("latin-1", latin1), ("gbk", gbk), ("utf-32", utf32)]
    {
        let response = app
            .http
            .post(format!("{}/api/v1/fines/{no}/void", app.address))
            .bearer_auth(&officer)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{what}: {status}");
    }
    for amount in [json!(i64::MAX), json!(1e30), json!(-1), json!(0.5)] {
        let mut body = payment("ABSURD", &no, 0, &app);
        body["amount_fen"] = amount.clone();
        let status = bank.post(&body).await.status().as_u16();
        assert!((400..500).contains(&status), "amount {amount}: {status}");
    }
    let huge = "t".repeat(100_000);
    let status = app.get(&huge, "/api/v1/violations").await.status().as_u16();
    assert!((400..500).contains(&status), "a huge token: {status}");
    assert_eq!(fine_status(&app, &no).0, "payable_at_bank");
    let after = app.counts();
    assert_eq!((after.fines, after.idempotency), (before.fines, before.idempotency));
}
