//! The bank channel, black-box: quotes with the late surcharge, real-time posts (idempotent on the
//! bank's serial), statements with every line state, a statement before and after the posts of
//! the same payments, and a bank payment racing a QR payment.

mod statement_batches;

use crate::helpers::{TestApp, error_of, motor_fine, spawn_app, taken};
use chrono::Duration;
use diesel::prelude::*;
use finepay::credentials::Binding;
use finepay::db::schema::{bank_payments, channel_orders, exceptions, fines};
use serde_json::{Value, json};

/// Mentougou has no QR payment: its fines are payable at banks from the start.
pub const BANK_DISTRICT: &str = "110109";

pub struct Bank<'a> {
    pub app: &'a TestApp,
    pub token: String,
}

impl<'a> Bank<'a> {
    pub fn new(app: &'a TestApp, code: &str) -> Self {
        Bank { app, token: app.credential(&Binding::Bank { bank_code: code.into() }) }
    }

    pub async fn quote(&self, decision_no: &str) -> reqwest::Response {
        self.app.get(&self.token, &format!("/bank/v1/fines/{decision_no}")).await
    }

    pub async fn post(&self, body: &Value) -> reqwest::Response {
        self.app
            .http
            .post(format!("{}/bank/v1/payments", self.app.address))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("sent")
    }

    pub async fn upload(&self, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.app
            .http
            .post(format!("{}/bank/v1/statements", self.app.address))
            .bearer_auth(&self.token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("sent")
    }
}

/// Issues a 200-yuan fine in a district without QR payment; its decision number.
pub async fn bank_fine(app: &TestApp) -> String {
    let officer = app.officer(BANK_DISTRICT);
    let key = format!("bank-{}", rand_suffix());
    let fine = app.issue_ok(&officer, &key, &motor_fine(app)).await;
    assert_eq!(fine["status"], "payable_at_bank", "{fine}");
    fine["decision_no"].as_str().expect("decision_no").to_owned()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

pub fn payment(serial: &str, decision_no: &str, amount_fen: i64, app: &TestApp) -> Value {
    json!({
        "bank_serial": serial,
        "decision_no": decision_no,
        "amount_fen": amount_fen,
        "paid_at": app.now().to_rfc3339(),
        "method": "counter",
    })
}

pub fn fine_status(app: &TestApp, decision_no: &str) -> (String, Option<String>) {
    let mut conn = app.ctx.pool.get().expect("connection");
    fines::table.find(decision_no).select((fines::status, fines::paid_channel)).first(&mut *conn).expect("fine")
}

/// (kind, reference) of every exception, by id.
pub fn exception_list(app: &TestApp) -> Vec<(String, String)> {
    let mut conn = app.ctx.pool.get().expect("connection");
    exceptions::table
        .order(exceptions::id)
        .select((exceptions::kind, exceptions::reference))
        .load(&mut *conn)
        .expect("exceptions")
}

pub fn bank_payment_rows(app: &TestApp) -> i64 {
    let mut conn = app.ctx.pool.get().expect("connection");
    bank_payments::table.count().get_result(&mut *conn).expect("count")
}

#[tokio::test]
async fn a_bank_is_quoted_the_fine_plus_the_surcharge_due_today() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let no = bank_fine(&app).await;

    let quote: Value = bank.quote(&no).await.json().await.expect("JSON");
    assert_eq!(quote["fine_fen"], 20000);
    assert_eq!(quote["surcharge_fen"], 0);
    assert_eq!(quote["amount_due_fen"], 20000);
    assert_eq!(quote["payable"], true);
    let rf = quote["rf_reference"].as_str().expect("rf");
    assert!(rf.starts_with("RF") && rf.ends_with(&no), "{rf}");
    assert_eq!(finepay::domain::rf_reference::parse_rf(rf).expect("a valid RF reference"), no);

    // Day 16 after the decision: 3% a day, whole yuan; day 50: capped at the fine.
    app.clock.advance(Duration::days(16));
    let quote: Value = bank.quote(&no).await.json().await.expect("JSON");
    assert_eq!((quote["surcharge_fen"].clone(), quote["amount_due_fen"].clone()), (json!(600), json!(20600)));
    app.clock.advance(Duration::days(34));
    let quote: Value = bank.quote(&no).await.json().await.expect("JSON");
    assert_eq!(quote["amount_due_fen"], 40000);

    assert_eq!(error_of(bank.quote("1101052611210000177").await).await, (422, "bad_decision_number".into()));
    let unknown = finepay::domain::DecisionNo::parse("1101052611210000176").expect("valid");
    assert_eq!(error_of(bank.quote(unknown.as_str()).await).await, (404, "not_found".into()));
    let officer = app.officer(BANK_DISTRICT);
    assert_eq!(error_of(app.get(&officer, &format!("/bank/v1/fines/{no}")).await).await.0, 403);
}

#[tokio::test]
async fn a_posted_payment_settles_its_fine_once_and_a_second_one_is_an_exception() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let no = bank_fine(&app).await;

    let first = bank.post(&payment("S-1", &no, 20000, &app)).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("JSON");
    assert_eq!(first["outcome"], "settled");
    assert_eq!(fine_status(&app, &no), ("paid".into(), Some("bank".into())));
    assert_eq!(app.audit_actions(&no).last().map(String::as_str), Some("fine.paid_at_bank"));

    // The same serial again: the same answer, nothing new.
    let again = bank.post(&payment("S-1", &no, 20000, &app)).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.expect("JSON"), first);
    assert_eq!(bank_payment_rows(&app), 1);
    // The same serial for another payment is refused and changes nothing.
    assert_eq!(
        error_of(bank.post(&payment("S-1", &no, 19000, &app)).await).await,
        (422, "idempotency_key_reused".into())
    );

    // A second payment for the paid fine is recorded, for the bank to return.
    assert_eq!(error_of(bank.post(&payment("S-2", &no, 20000, &app)).await).await, (409, "already_paid".into()));
    assert_eq!(exception_list(&app), [("duplicate_payment".to_owned(), "S-2".to_owned())]);
    let quote: Value = bank.quote(&no).await.json().await.expect("JSON");
    assert_eq!((quote["payable"].clone(), quote["amount_due_fen"].clone()), (json!(false), json!(0)));

    // Short by the surcharge: recorded, the fine stays payable.
    let late = bank_fine(&app).await;
    app.clock.advance(Duration::days(20));
    assert_eq!(error_of(bank.post(&payment("S-3", &late, 20000, &app)).await).await, (422, "amount_mismatch".into()));
    assert_eq!(fine_status(&app, &late).0, "payable_at_bank");
    assert_eq!(bank.post(&payment("S-4", &late, 20000 + 5 * 600, &app)).await.status(), 201);
    assert_eq!(bank_payment_rows(&app), 4);
}

#[tokio::test]
async fn bad_bank_posts_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let no = bank_fine(&app).await;
    let good = payment("S-9", &no, 20000, &app);
    let mut cases: Vec<(&str, Value, u16, &str)> = Vec::new();
    for (field, value, status, code) in [
        ("bank_serial", json!(""), 400, "invalid_request"),
        ("bank_serial", json!("has space"), 400, "invalid_request"),
        ("decision_no", json!("1101052611210000177"), 422, "bad_decision_number"),
        ("amount_fen", json!(0), 400, "invalid_request"),
        ("amount_fen", json!("20000"), 400, "invalid_request"),
        ("paid_at", json!("yesterday"), 400, "invalid_request"),
        ("paid_at", json!((app.now() + Duration::hours(1)).to_rfc3339()), 422, "implausible_paid_at"),
        ("method", json!("cash"), 400, "invalid_request"),
    ] {
        let mut body = good.clone();
        body[field] = value;
        cases.push((field, body, status, code));
    }
    for (what, body, status, code) in cases {
        assert_eq!(error_of(bank.post(&body).await).await, (status, code.into()), "{what}: {body}");
    }
    let raw = app
        .http
        .post(format!("{}/bank/v1/payments", app.address))
        .bearer_auth(&bank.token)
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(error_of(raw).await, (400, "invalid_request".into()));
    let officer = app.officer(BANK_DISTRICT);
    let as_officer = app
        .http
        .post(format!("{}/bank/v1/payments", app.address))
        .bearer_auth(&officer)
        .json(&good)
        .send()
        .await
        .expect("sent");
    assert_eq!(as_officer.status(), 403);
    assert_eq!(bank_payment_rows(&app), 0);
    assert_eq!(fine_status(&app, &no).0, "payable_at_bank");
}

/// A CSV statement line; `booking` is the direction, status and reversal columns (`C,BOOK,`).
pub fn csv_line(entry: &str, booked_at: &str, amount: i64, booking: &str, txn: &str, reference: &str) -> String {
    format!("{entry},{booked_at},{amount},{booking},{txn},{reference}\n")
}

pub const CSV_HEADER: &str = "entry_ref,booked_at,amount_fen,direction,status,reversal,transaction_ref,reference\n";

#[tokio::test]
async fn a_statement_line_ends_in_exactly_one_state_and_a_second_import_changes_nothing() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let mut numbers = Vec::new();
    for _ in 0..6 {
        numbers.push(bank_fine(&app).await);
    }
    let [settled, known, duplicate, mismatch, reversed, void] = <[String; 6]>::try_from(numbers).expect("six");
    // Posted in real time before the statement: the statement lists RT-1 under its serial, and
    // RT-2's fine twice (the first of those lines is RT-2; the second is a second payment).
    assert_eq!(bank.post(&payment("RT-1", &known, 20000, &app)).await.status(), 201);
    assert_eq!(bank.post(&payment("RT-2", &duplicate, 20000, &app)).await.status(), 201);
    let officer = app.officer(BANK_DISTRICT);
    app.void_ok(&officer, &void, "issued in error").await;

    let now = app.now().to_rfc3339();
    let rf = finepay::domain::rf_reference::rf_for_decision(&finepay::domain::DecisionNo::parse(&settled).expect("no"));
    let mut csv = String::from(CSV_HEADER);
    csv += &csv_line("E1", &now, 20000, "C,BOOK,", "T1", &format!("Fine {rf} paid"));
    csv += &csv_line("E2", &now, 20000, "C,BOOK,", "RT-1", &known);
    csv += &csv_line("E3", &now, 20000, "C,BOOK,", "T3", &duplicate);
    csv += &csv_line("E3b", &now, 20000, "C,BOOK,", "T3b", &duplicate);
    csv += &csv_line("E4", &now, 15000, "C,BOOK,", "T4", &mismatch);
    csv += &csv_line("E5", &now, 20000, "C,BOOK,", "T5", "no reference at all");
    csv += &csv_line("E6", &now, 20000, "C,BOOK,", "T6", &reversed);
    csv += &csv_line("E7", &now, 20000, "D,BOOK,1", "T6", &reversed);
    csv += &csv_line("E8", &now, 20000, "C,BOOK,", "T8", &void);
    csv += &csv_line("E9", &now, 5000, "D,BOOK,", "T9", "bank fee");
    csv += &csv_line("E10", &now, 20000, "C,PDNG,", "T10", &mismatch);
    csv += "E11,not-a-date,20000,C,BOOK,,T11,x\n";

    let response = bank.upload("text/csv", csv.clone()).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("JSON");
    assert_eq!(report["status"], "complete", "{report}");
    assert_eq!(report["lines_read"], 12);
    assert_eq!(
        report["outcomes"],
        json!({"settled": 2, "already_known": 2, "duplicate_payment": 1, "amount_mismatch": 1,
               "unmatched": 1, "fine_void": 1, "reversed": 1, "implausible_date": 0}),
        "{report}"
    );
    assert_eq!((report["skipped_debits"].clone(), report["skipped_not_booked"].clone()), (json!(1), json!(1)));
    assert_eq!(report["bad_lines"], 1);
    assert_eq!(report["errors"][0]["line_no"], 13);

    assert_eq!(fine_status(&app, &settled), ("paid".into(), Some("bank".into())));
    assert_eq!(fine_status(&app, &mismatch).0, "payable_at_bank");
    assert_eq!(fine_status(&app, &reversed).0, "payable_at_bank", "the reversal made it payable again");
    assert_eq!(fine_status(&app, &void).0, "void");
    let kinds: Vec<String> = exception_list(&app).into_iter().map(|(kind, _)| kind).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(sorted, ["amount_mismatch", "duplicate_payment", "fine_void", "reversed", "unmatched"]);
    let unmatched: String = exceptions::table
        .filter(exceptions::reference.eq("E5"))
        .select(exceptions::details)
        .first(&mut *app.ctx.pool.get().expect("connection"))
        .expect("the unmatched line's exception");
    let unmatched: Value = serde_json::from_str(&unmatched).expect("details are JSON");
    assert_eq!(unmatched["remittance"], json!(["no reference at all"]), "what the payer wrote: {unmatched}");

    // The same file again: every line was recorded before, nothing changes.
    let rows = bank_payment_rows(&app);
    let audit = app.counts().audit;
    let again: Value = bank.upload("text/csv", csv).await.json().await.expect("JSON");
    assert_eq!(again["repeated"], 9, "{again}");
    assert_eq!(again["matched"], report["matched"], "the lines name the same fines: {again}");
    assert_eq!(again["outcomes"]["settled"], 0);
    assert_eq!(bank_payment_rows(&app), rows);
    assert_eq!(app.counts().audit, audit);
    assert_eq!(exception_list(&app).len(), kinds.len());
}

#[tokio::test]
async fn a_statement_read_before_the_real_time_posts_makes_them_already_known() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "BOC");
    let no = bank_fine(&app).await;
    let now = app.now().to_rfc3339();
    let csv = format!("{CSV_HEADER}{}", csv_line("E-100", &now, 20000, "C,BOOK,", "", &no));
    let report: Value = bank.upload("text/csv", csv).await.json().await.expect("JSON");
    assert_eq!(report["outcomes"]["settled"], 1, "{report}");

    let post = bank.post(&payment("RT-100", &no, 20000, &app)).await;
    assert_eq!(post.status(), 201);
    assert_eq!(post.json::<Value>().await.expect("JSON")["outcome"], "already_known");
    assert!(exception_list(&app).is_empty());
    // A third report of it is a second payment.
    assert_eq!(error_of(bank.post(&payment("RT-101", &no, 20000, &app)).await).await, (409, "already_paid".into()));
}

/// A camt.053 statement with one booked credit per (entry reference, amount, remittance).
pub fn camt053(entries: &[(&str, i64, &str)], booked_on: &str) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>STMT-1</MsgId><CreDtTm>2026-11-21T18:00:00+08:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><CreDtTm>2026-11-21T18:00:00+08:00</CreDtTm>
<Acct><Id><Othr><Id>0200001234567890</Id></Othr></Id></Acct>"#,
    );
    for (entry_ref, amount, remittance) in entries {
        xml += &format!(
            r#"<Ntry><Amt Ccy="CNY">{}.{:02}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>{booked_on}</Dt></BookgDt><ValDt><Dt>{booked_on}</Dt></ValDt><AcctSvcrRef>{entry_ref}</AcctSvcrRef>
<NtryDtls><TxDtls><RmtInf><Ustrd>{remittance}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"#,
            amount / 100,
            amount % 100
        );
    }
    xml + "</Stmt></BkToCstmrStmt></Document>"
}

#[tokio::test]
async fn a_camt053_statement_settles_by_remittance_and_a_broken_one_keeps_what_came_before() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "CCB");
    let (a, b) = (bank_fine(&app).await, bank_fine(&app).await);
    let today = finepay::domain::time::shanghai_date(app.now()).to_string();
    let xml = camt053(&[("C-1", 20000, &format!("traffic fine {a}")), ("C-2", 20000, &b)], &today);
    let report: Value = bank.upload("application/xml", xml.clone()).await.json().await.expect("JSON");
    assert_eq!(
        (report["format"].clone(), report["outcomes"]["settled"].clone()),
        (json!("camt.053"), json!(2)),
        "{report}"
    );

    // Truncated inside the second entry: the first is recorded, the answer says where it broke.
    let c = bank_fine(&app).await;
    let d = bank_fine(&app).await;
    let whole = camt053(&[("C-3", 20000, &c), ("C-4", 20000, &d)], &today);
    let cut = &whole[..whole.find("C-4").expect("second entry")];
    let response = bank.upload("application/xml", cut.to_owned()).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "malformed_statement");
    assert_eq!(body["error"]["details"]["outcomes"]["settled"], 1, "{body}");
    assert_eq!(fine_status(&app, &c).0, "paid");
    assert_eq!(fine_status(&app, &d).0, "payable_at_bank");

    // Another ISO 20022 message, or no statement at all: refused, nothing recorded.
    let rows = bank_payment_rows(&app);
    let pain = xml.replace("camt.053.001.08", "pain.001.001.09");
    for (content_type, body) in [("application/xml", pain), ("text/plain", "hello".to_owned())] {
        let response = bank.upload(content_type, body).await;
        assert_eq!(error_of(response).await, (422, "invalid_statement".into()));
    }
    assert_eq!(bank_payment_rows(&app), rows);
}

#[tokio::test]
async fn a_bank_payment_racing_a_qr_payment_is_applied_once_and_the_other_is_returned() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "race-1", &motor_fine(&app)).await;
    let no = fine["decision_no"].as_str().expect("no").to_owned();
    let link = app.channel_pay_link(fine["pay_url"].as_str().expect("pay_url"), "wechat").await;
    let paid = app.sim_pay(&link);

    let body = payment("RACE-1", &no, 20000, &app);
    let (qr, bank_answer) = tokio::join!(app.deliver(&paid.notification), bank.post(&body));
    assert_eq!(qr, taken("wechat"), "the channel's notification is taken either way");
    let bank_status = bank_answer.status().as_u16();
    let (status, channel) = fine_status(&app, &no);
    assert_eq!(status, "paid");
    let (payments, refunds) = app.payment_counts();
    assert_eq!(payments, 1, "the QR payment is recorded either way");
    match channel.as_deref() {
        Some("bank") => {
            assert_eq!(bank_status, 201);
            assert_eq!(refunds, 1, "the QR payment goes back to the payer");
        }
        Some("wechat") => {
            assert_eq!(bank_status, 409);
            assert_eq!(refunds, 0);
            assert_eq!(exception_list(&app), [("duplicate_payment".to_owned(), "RACE-1".to_owned())]);
        }
        other => panic!("paid by {other:?}"),
    }
    assert_eq!(bank_payment_rows(&app), 1);
}

#[tokio::test]
async fn a_fine_paid_at_a_bank_in_its_qr_window_has_its_open_orders_closed() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "window-1", &motor_fine(&app)).await;
    let no = fine["decision_no"].as_str().expect("no").to_owned();
    app.channel_pay_link(fine["pay_url"].as_str().expect("pay_url"), "alipay").await;
    assert_eq!(order_statuses(&app, &no), ["open"]);

    assert_eq!(bank.post(&payment("WIN-1", &no, 20000, &app)).await.status(), 201);
    assert_eq!(fine_status(&app, &no), ("paid".into(), Some("bank".into())));
    // The channels are told after the bank's answer, on a task of their own.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while order_statuses(&app, &no) != ["closed"] {
        assert!(std::time::Instant::now() < deadline, "the order is still {:?}", order_statuses(&app, &no));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(app.payment_counts(), (0, 0), "no QR payment, nothing to return");
}

fn order_statuses(app: &TestApp, no: &str) -> Vec<String> {
    let mut conn = app.ctx.pool.get().expect("connection");
    channel_orders::table
        .filter(channel_orders::decision_no.eq(no))
        .select(channel_orders::status)
        .load(&mut *conn)
        .expect("orders")
}

#[tokio::test]
async fn the_outstanding_list_gives_each_fine_payable_at_banks_with_its_rf_reference() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let mut numbers = vec![bank_fine(&app).await, bank_fine(&app).await];
    numbers.sort();
    let listed: Value = app.get(&bank.token, "/bank/v1/outstanding").await.json().await.expect("JSON");
    let listed_numbers: Vec<&str> =
        listed["fines"].as_array().expect("fines").iter().map(|f| f["decision_no"].as_str().expect("no")).collect();
    assert_eq!(listed_numbers, numbers);
    assert_eq!(listed["fines"][0]["amount_due_fen"], 20000);

    let csv = app
        .http
        .get(format!("{}/bank/v1/outstanding?limit=1", app.address))
        .bearer_auth(&bank.token)
        .header("Accept", "text/csv")
        .send()
        .await
        .expect("sent");
    assert_eq!(csv.headers()["X-Next-After"], numbers[0].as_str());
    let text = csv.text().await.expect("text");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("decision_no,rf_reference"));
    assert!(lines[1].starts_with(&format!("{},RF", numbers[0])));

    // Paid fines leave the list.
    assert_eq!(bank.post(&payment("S-1", &numbers[0], 20000, &app)).await.status(), 201);
    let listed: Value = app.get(&bank.token, "/bank/v1/outstanding").await.json().await.expect("JSON");
    assert_eq!(listed["fines"].as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(error_of(app.get(&bank.token, "/bank/v1/outstanding?limit=0").await).await.0, 400);
}

#[tokio::test]
async fn the_same_serial_posted_twice_at_once_is_recorded_once() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let no = bank_fine(&app).await;
    let body = payment("TWICE-1", &no, 20000, &app);
    let (a, b) = tokio::join!(bank.post(&body), bank.post(&body));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 201]);
    let (a, b): (Value, Value) = (a.json().await.expect("JSON"), b.json().await.expect("JSON"));
    assert_eq!(a, b);
    assert_eq!(bank_payment_rows(&app), 1);
    assert!(exception_list(&app).is_empty());
}

#[tokio::test]
async fn the_pay_page_and_the_bank_quote_follow_the_configured_surcharge_rule() {
    let app = crate::helpers::spawn_app_with(&[
        ("bank.surcharge_free_days", "0"),
        ("bank.surcharge_daily_rate_bp", "250"),
        ("bank.surcharge_rounding", "fen"),
    ])
    .await;
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "rule-1", &motor_fine(&app)).await;
    let no = fine["decision_no"].as_str().expect("no").to_owned();
    app.clock.advance(Duration::days(2));
    // Two overdue days at 2.5% of 200 yuan, kept in fen.
    let page: Value = app.page_json(fine["pay_url"].as_str().expect("pay_url")).await.json().await.expect("JSON");
    assert_eq!(page["amount_due_at_bank_fen"], 21000, "{page}");
    let quote: Value = Bank::new(&app, "ICBC").quote(&no).await.json().await.expect("JSON");
    assert_eq!((quote["surcharge_fen"].clone(), quote["amount_due_fen"].clone()), (json!(1000), json!(21000)));
}
