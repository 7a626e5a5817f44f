//! The desk's decisions that move money, taken with the queue's form: a bank line that named no
//! fine matched to the fine its payer meant (only for the amount due that day, only to a fine
//! that can be paid), a line returned to its bank, and a channel payment held for its date
//! refunded to its payer through its channel. Each lands with its resolution or not at all.

use crate::admin::admin;
use crate::admin_page::{csrf_of, signed_in};
use crate::bank::{Bank, CSV_HEADER, bank_fine, csv_line, fine_status};
use crate::helpers::{TestApp, motor_fine, spawn_app, unescape_html, visible_text};
use chrono::{TimeZone, Utc};
use diesel::prelude::*;
use finepay::db::schema::{audit_log, bank_payments, exceptions, payments, refunds};

async fn decide(app: &TestApp, cookie: &str, id: i64, form: &impl serde::Serialize) -> (u16, String) {
    let url = format!("{}/admin/exceptions/{id}/resolve?lang=en", app.address);
    let response = app.http.post(url).header("Cookie", cookie).form(form).send().await.expect("sent");
    let status = response.status().as_u16();
    let text = visible_text(&unescape_html(&response.text().await.expect("body")));
    (status, text.split_whitespace().collect::<Vec<_>>().join(" "))
}

async fn csrf(app: &TestApp, cookie: &str) -> String {
    let url = format!("{}/admin/exceptions?lang=en", app.address);
    let html = app.http.get(url).header("Cookie", cookie).send().await.expect("sent").text().await.expect("html");
    csrf_of(&html)
}

fn exception_id(app: &TestApp, reference: &str) -> i64 {
    let mut conn = app.ctx.pool.get().expect("connection");
    exceptions::table
        .filter(exceptions::reference.eq(reference))
        .select(exceptions::id)
        .first(&mut conn)
        .expect("raised")
}

fn resolution(app: &TestApp, id: i64) -> Option<String> {
    let mut conn = app.ctx.pool.get().expect("connection");
    exceptions::table.find(id).select(exceptions::resolution).first(&mut conn).expect("the exception")
}

fn line(app: &TestApp, reference: &str) -> (String, Option<String>, Option<i64>) {
    let mut conn = app.ctx.pool.get().expect("connection");
    bank_payments::table
        .filter(bank_payments::reference.eq(reference))
        .select((bank_payments::outcome, bank_payments::decision_no, bank_payments::due_fen))
        .first(&mut conn)
        .expect("the line")
}

#[tokio::test]
async fn a_clerk_matches_a_bank_line_that_named_no_fine_to_the_fine_its_payer_meant() {
    let app = spawn_app().await;
    let (actor, token) = admin(&app);
    let bank = Bank::new(&app, "ICBC");
    let (meant, paid) = (bank_fine(&app).await, bank_fine(&app).await);
    let now = app.now().to_rfc3339();
    let mut csv = String::from(CSV_HEADER);
    csv += &csv_line("L1", &now, 20000, "C,BOOK,", "T1", "罚款 京A12345");
    csv += &csv_line("L2", &now, 15000, "C,BOOK,", "T2", "罚款 京A12345 少付");
    csv += &csv_line("L3", &now, 20000, "C,BOOK,", "T3", "fine again");
    assert_eq!(bank.upload("text/csv", csv).await.status(), 200);
    crate::admin::pay_at_bank(&app, &paid).await;
    let [l1, l2, l3] = ["L1", "L2", "L3"].map(|reference| exception_id(&app, reference));

    let cookie = signed_in(&app, &token).await;
    let csrf = csrf(&app, &cookie).await;
    let matched = |no: &str| {
        [("csrf", csrf.clone()), ("decision", "matched".to_owned()), ("decision_no", no.to_owned())]
            .into_iter()
            .chain([("note", "附言写明号牌，与该罚单相符".to_owned())])
            .collect::<Vec<_>>()
    };

    // Refused, and nothing changes: too little, no such fine, no number, a fine already paid.
    let (status, page) = decide(&app, &cookie, l2, &matched(&meant)).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("The payment of ¥150.00 is not the ¥200.00 that fine asked for"), "{page}");
    let (status, page) = decide(&app, &cookie, l1, &matched("1101092612060009990")).await;
    assert!(status == 409 || status == 400, "{status} {page}");
    let (status, _) = decide(&app, &cookie, l1, &matched("")).await;
    assert_eq!(status, 400, "matching needs the fine's number");
    let (status, page) = decide(&app, &cookie, l3, &matched(&paid)).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("That fine is paid (paid): it cannot be paid now. Return the money to the bank"), "{page}");
    assert_eq!(fine_status(&app, &meant).0, "payable_at_bank");
    assert_eq!(line(&app, "L1"), ("unmatched".to_owned(), None, None));
    assert!([l1, l2, l3].iter().all(|&id| resolution(&app, id).is_none()), "every exception still open");

    // The right fine: it is paid at the bank, the line settles it, and both are audited together.
    let (status, page) = decide(&app, &cookie, l1, &matched(&meant)).await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(fine_status(&app, &meant), ("paid".to_owned(), Some("bank".to_owned())));
    assert_eq!(line(&app, "L1"), ("settled".to_owned(), Some(meant.clone()), Some(20000)));
    assert_eq!(resolution(&app, l1).as_deref(), Some("matched: 附言写明号牌，与该罚单相符"));
    let mut conn = app.ctx.pool.get().expect("connection");
    let by_clerk: Vec<(String, Option<String>)> = audit_log::table
        .filter(audit_log::actor.eq(&actor))
        .order(audit_log::id)
        .select((audit_log::action, audit_log::decision_no))
        .load(&mut conn)
        .expect("audit");
    assert_eq!(
        by_clerk.into_iter().filter(|(action, _)| action != "desk.sign_in").collect::<Vec<_>>(),
        [("fine.paid_at_bank".to_owned(), Some(meant.clone())), ("exception.resolve".to_owned(), Some(meant.clone()))],
        "the exception is the fine's now: its page lists it"
    );
    drop(conn);
    // Twice is never: the exception is resolved, and the line settled.
    let (status, _) = decide(&app, &cookie, l1, &matched(&meant)).await;
    assert_eq!(status, 409);

    // A real-time post that named no fine was answered for the bank to return: it is not matched.
    let district = finepay::domain::DistrictCode::parse("110109").expect("district");
    let today = finepay::domain::time::shanghai_date(app.now());
    let nobody = finepay::domain::DecisionNo::new(&district, today, 99_999).expect("a number of no fine");
    let posted = serde_json::json!({"bank_serial": "RT-9", "decision_no": nobody.as_str(), "amount_fen": 20000,
        "paid_at": app.now().to_rfc3339(), "method": "counter"});
    assert_eq!(bank.post(&posted).await.status(), 404, "recorded for the bank to return");
    let (status, page) = decide(&app, &cookie, exception_id(&app, "RT-9"), &matched(&meant)).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("Only a bank statement line that named no fine can be matched"), "{page}");

    // The line for the paid fine goes back to its bank: recorded, no money moves here.
    let form = [("csrf", csrf.as_str()), ("decision", "returned_to_bank"), ("note", "已通知工行退回付款人")];
    assert_eq!(decide(&app, &cookie, l3, &form).await.0, 303);
    assert_eq!(resolution(&app, l3).as_deref(), Some("returned_to_bank: 已通知工行退回付款人"));
    assert_eq!(line(&app, "L3").0, "unmatched");
}

#[tokio::test]
async fn a_clerk_refunds_a_channel_payment_held_for_its_date_through_its_channel() {
    let app = spawn_app().await;
    let (actor, token) = admin(&app);
    let officer = app.officer("110105");
    let fine = app.issue_ok(&officer, "held", &motor_fine(&app)).await;
    let link = app.channel_pay_link(fine["pay_url"].as_str().expect("pay_url"), "alipay").await;
    let real_now = app.now();
    app.clock.set(Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).single().expect("year 0"));
    let paid = app.sim_pay(&link);
    app.clock.set(real_now);
    assert_eq!(app.deliver(&paid.notification).await.0, 200);
    let (txn, outcome): (String, String) = payments::table
        .select((payments::channel_txn_id, payments::outcome))
        .first(&mut app.ctx.pool.get().expect("connection"))
        .expect("the held payment");
    assert_eq!(outcome, "held");
    let id = exception_id(&app, &txn);

    let cookie = signed_in(&app, &token).await;
    let csrf = csrf(&app, &cookie).await;
    // A held payment is not a bank line: it cannot be matched.
    let no = fine["decision_no"].as_str().expect("decision_no");
    let form = [("csrf", csrf.as_str()), ("decision", "matched"), ("decision_no", no), ("note", "试图匹配")];
    let (status, page) = decide(&app, &cookie, id, &form).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("Only a bank statement line that named no fine can be matched"), "{page}");

    let form = [("csrf", csrf.as_str()), ("decision", "refunded"), ("note", "付款时间不可信，原路退回")];
    assert_eq!(decide(&app, &cookie, id, &form).await.0, 303);
    let mut conn = app.ctx.pool.get().expect("connection");
    let outcome: String = payments::table.select(payments::outcome).first(&mut conn).expect("the payment");
    assert_eq!(outcome, "refund");
    let actions: Vec<String> = audit_log::table
        .filter(audit_log::actor.eq(&actor))
        .order(audit_log::id)
        .select(audit_log::action)
        .load(&mut conn)
        .expect("audit");
    assert_eq!(actions, ["desk.sign_in", "payment.refund_scheduled", "exception.resolve"]);
    drop(conn);

    // The refund job asks Alipay, which refunds the payer.
    app.drive_refunds_until(chrono::Duration::seconds(30), || app.refund_statuses() == ["succeeded"]).await;
    assert_eq!(app.refund_statuses(), ["succeeded"]);
    let amount: i64 = refunds::table
        .select(refunds::amount_fen)
        .first(&mut app.ctx.pool.get().expect("connection"))
        .expect("the refund");
    assert_eq!(amount, 20000);
    assert_eq!(fine_status(&app, no).0, "awaiting_payment", "the fine is still to be paid");
}
