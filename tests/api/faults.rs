//! Proof under faults (issue 3), black-box: every notification delivered three times and
//! shuffled pays each fine once; forged, tampered, foreign, stale and probing notifications get
//! the channel's failure reply and change nothing; a payment racing the end of the QR window ends
//! applied or refunded, never both, never neither.

use crate::helpers::{CHANNELS, TestApp, motor_fine, spawn_app, taken};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use finepay::channels::sim::AlipaySim;
use finepay::channels::sim::UnionpaySim;
use finepay::channels::sim::WechatSim;
use finepay::channels::sim::{Delivery, PayError, SimPayment};
use finepay::db::schema::{audit_log, channel_orders, fines, payments, refunds};
use futures_util::{StreamExt, stream};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Whether the channel itself would count `reply` as received (and stop resending).
fn channel_counts_as_received(channel: &str, (status, body): &(u16, String)) -> bool {
    match channel {
        "wechat" => WechatSim::accepts(*status, body.as_bytes()),
        "alipay" => AlipaySim::accepts(*status, body.as_bytes()),
        _ => UnionpaySim::accepts(*status, body.as_bytes()),
    }
}

/// Asserts `reply` is `channel`'s failure reply: WeChat a non-2xx `{"code":"FAIL"}` (whose message
/// must contain `why`), Alipay anything but `success` (finepay answers 400 `fail`), UnionPay
/// anything but 200/302.
fn assert_refused(channel: &str, reply: &(u16, String), why: &str, what: &str) {
    assert!(!channel_counts_as_received(channel, reply), "{channel} {what}: {reply:?} would count as received");
    match channel {
        "wechat" => {
            let body: Value = serde_json::from_str(&reply.1).expect("WeChat failure replies are JSON");
            assert_eq!(body["code"], "FAIL", "{channel} {what}: {reply:?}");
            let message = body["message"].as_str().unwrap_or_default();
            assert!(message.contains(why), "{channel} {what}: refused for another reason: {message}");
        }
        _ => assert_eq!(reply, &(400, "fail".to_owned()), "{channel} {what}"),
    }
}

/// The simulated channel behind a pay link pays it, or says why not.
fn try_pay(app: &TestApp, channel: &str, link: &str) -> Result<SimPayment, PayError> {
    let code = link.split("pr=").nth(1).expect("a simulator pay link");
    match channel {
        "wechat" => app.simulator.wechat.as_ref().expect("wechat simulated").pay(code),
        "alipay" => app.simulator.alipay.as_ref().expect("alipay simulated").pay(code),
        _ => app.simulator.unionpay.as_ref().expect("unionpay simulated").pay(code),
    }
}

/// The channel's signature probe of `notification`.
fn probe(channel: &str, notification: &Delivery) -> Delivery {
    match channel {
        "wechat" => WechatSim::probe(notification),
        "alipay" => AlipaySim::probe(notification),
        _ => UnionpaySim::probe(notification),
    }
}

/// A form body with one digit of `field`'s value changed; every other byte as it was.
fn tamper_form_digit(body: &[u8], field: &str) -> Vec<u8> {
    let text = std::str::from_utf8(body).expect("form bodies are ASCII");
    let prefix = format!("{field}=");
    let mut found = false;
    let pairs: Vec<String> = text
        .split('&')
        .map(|pair| match pair.strip_prefix(&prefix) {
            Some(value) if !found => {
                let at = value.find(|c: char| c.is_ascii_digit()).expect("a digit in the value");
                let digit = value.as_bytes()[at] - b'0';
                found = true;
                format!("{prefix}{}{}{}", &value[..at], char::from(b'0' + (digit + 1) % 10), &value[at + 1..])
            }
            _ => pair.to_owned(),
        })
        .collect();
    assert!(found, "no {field} in the form");
    pairs.join("&").into_bytes()
}

/// A WeChat body with one byte changed just after `marker` (`"ciphertext":"`: the sealed
/// resource, which holds the amount and the ids; `"id":"`: the event id).
fn tamper_wechat_body(body: &[u8], marker: &str) -> Vec<u8> {
    let marker = marker.as_bytes();
    let start = body.windows(marker.len()).position(|w| w == marker).expect("the marker") + marker.len();
    let mut tampered = body.to_vec();
    let at = start + 5;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    tampered
}

/// A notification from another finepay's channel order, sent to `app`'s notify URL instead.
fn redirected(notification: &Delivery, app: &TestApp, channel: &str) -> Delivery {
    Delivery { url: format!("{}/notify/{channel}", app.address), ..notification.clone() }
}

/// What a refused notification must leave as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Books {
    payments: i64,
    refunds: i64,
    paid_fines: i64,
    paid_orders: i64,
    /// Audit entries, but those of credentials and of the refund worker.
    audit: i64,
}

fn books(app: &TestApp) -> Books {
    let mut conn = app.ctx.pool.get().expect("connection");
    Books {
        payments: payments::table.count().get_result(&mut *conn).expect("count payments"),
        refunds: refunds::table.count().get_result(&mut *conn).expect("count refunds"),
        paid_fines: fines::table.filter(fines::status.eq("paid")).count().get_result(&mut *conn).expect("count"),
        paid_orders: channel_orders::table
            .filter(channel_orders::status.eq("paid"))
            .count()
            .get_result(&mut *conn)
            .expect("count orders"),
        audit: audit_log::table
            .filter(audit_log::action.not_like("credential.%"))
            // The refund worker's own entries come on its schedule, not the notification's.
            .filter(audit_log::action.not_like("refund.%"))
            .count()
            .get_result(&mut *conn)
            .expect("count audit"),
    }
}

/// A deterministic shuffle (xorshift64* and Fisher–Yates), so a failure can be replayed.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    let mut next = move || {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        seed.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_else(|| panic!("{key} in {value}"))
}

#[actix_web::test]
async fn every_notification_three_times_shuffled_pays_each_fine_once() {
    const FINES: usize = 200;
    let app = spawn_app().await;
    let app = &app;
    let officer = app.officer("110105");
    let officer = officer.as_str();

    let issued: Vec<Value> = stream::iter(0..FINES)
        .map(|n| async move { app.issue_ok(officer, &format!("faults-1-{n}"), &motor_fine(app)).await })
        .buffered(16)
        .collect()
        .await;
    let numbers: HashSet<&str> = issued.iter().map(|fine| text(fine, "decision_no")).collect();
    assert_eq!(numbers.len(), FINES, "every fine has its own decision number");

    // One order per fine, the channels taken in turn, each paid at the simulated channel.
    let paid: Vec<(String, &str, SimPayment)> = stream::iter(issued.iter().enumerate())
        .map(|(n, fine)| async move {
            let channel = CHANNELS[n % CHANNELS.len()];
            let link = app.channel_pay_link(text(fine, "pay_url"), channel).await;
            (text(fine, "decision_no").to_owned(), channel, app.sim_pay(&link))
        })
        .buffered(16)
        .collect()
        .await;
    let channel_of: HashMap<&str, &str> = paid.iter().map(|(no, channel, _)| (no.as_str(), *channel)).collect();

    // Every notification three times, in an order no channel would pick, 16 at a time.
    let mut deliveries: Vec<(&str, &Delivery)> =
        paid.iter().flat_map(|(_, channel, p)| [(*channel, &p.notification); 3]).collect();
    assert_eq!(deliveries.len(), 3 * FINES);
    shuffle(&mut deliveries, 0x5EED_F1E5_0000_0003);
    let replies: Vec<(&str, (u16, String))> = stream::iter(deliveries)
        .map(|(channel, notification)| async move { (channel, app.deliver(notification).await) })
        .buffer_unordered(16)
        .collect()
        .await;
    for (channel, reply) in &replies {
        assert_eq!(reply, &taken(channel), "every copy of a {channel} notification is taken");
    }

    let mut conn = app.ctx.pool.get().expect("connection");
    let rows: Vec<(String, String, String, Option<String>)> = payments::table
        .select((payments::decision_no, payments::channel, payments::outcome, payments::receipt_no))
        .load(&mut *conn)
        .expect("payments");
    assert_eq!(rows.len(), FINES, "one payment per fine, none doubled");
    let mut receipts = HashSet::new();
    let mut paid_fines = HashSet::new();
    for (no, channel, outcome, receipt) in &rows {
        assert_eq!(outcome, "applied", "{no}");
        assert_eq!(channel_of.get(no.as_str()), Some(&channel.as_str()), "{no} paid through its own channel");
        assert!(receipts.insert(receipt.clone().expect("an applied payment has a receipt")), "receipt repeated");
        assert!(paid_fines.insert(no.clone()), "{no} paid twice");
    }
    assert_eq!(receipts.len(), FINES, "200 distinct receipt numbers");
    assert_eq!(refunds::table.count().get_result::<i64>(&mut *conn).expect("refunds"), 0, "nothing to refund");

    let stored: Vec<(String, String, Option<String>)> =
        fines::table.select((fines::decision_no, fines::status, fines::paid_channel)).load(&mut *conn).expect("fines");
    assert_eq!(stored.len(), FINES);
    for (no, status, paid_channel) in &stored {
        assert_eq!(status, "paid", "{no}");
        assert_eq!(paid_channel.as_deref(), channel_of.get(no.as_str()).copied(), "{no}");
    }

    let paid_entries: Vec<Option<String>> = audit_log::table
        .filter(audit_log::action.eq("fine.paid"))
        .select(audit_log::decision_no)
        .load(&mut *conn)
        .expect("audit");
    let mut per_fine: HashMap<String, usize> = HashMap::new();
    for no in paid_entries {
        *per_fine.entry(no.expect("fine.paid names its fine")).or_default() += 1;
    }
    assert_eq!(per_fine.len(), FINES, "every fine has a fine.paid entry");
    assert!(per_fine.values().all(|&n| n == 1), "exactly one fine.paid entry per fine: {per_fine:?}");
}

/// A parking fine: another violation (code 1039), another amount (150 yuan against 1625's 200).
fn parking_fine(app: &TestApp) -> Value {
    let mut fine = motor_fine(app);
    fine["violation_code"] = "1039".into();
    fine
}

#[actix_web::test]
async fn forged_tampered_stale_foreign_and_probing_notifications_change_nothing() {
    // `ours` is the finepay under test. `other` is a second finepay with its own database and
    // simulator but the same shipped channel keys and merchant ids: the notifications its
    // simulator signs are genuine, but for orders `ours` never opened, or opened for another amount.
    let ours = spawn_app().await;
    let other = spawn_app().await;
    let (ours_officer, other_officer) = (ours.officer("110105"), other.officer("110105"));
    let haidian = other.officer("110108");

    let mut cases = Vec::new();
    let mut applied = Vec::new();
    for channel in CHANNELS {
        // Fresh databases number their fines alike: the n-th fine of the day in 110105 has the
        // same decision number in both, so the order numbers collide, with different amounts.
        let fine = ours.issue_ok(&ours_officer, &format!("faults-2-{channel}"), &motor_fine(&ours)).await;
        let twin = other.issue_ok(&other_officer, &format!("faults-2-{channel}"), &parking_fine(&other)).await;
        assert_eq!(twin["decision_no"], fine["decision_no"], "the twin must share the order number");
        assert_ne!(twin["amount_fen"], fine["amount_fen"], "the twin must differ in amount");
        let foreign = other.issue_ok(&haidian, &format!("faults-2-hd-{channel}"), &motor_fine(&other)).await;
        cases.push((channel, fine, twin, foreign));
    }

    for (channel, fine, twin, foreign) in &cases {
        let channel = *channel;
        let genuine = ours.sim_pay(&ours.channel_pay_link(text(fine, "pay_url"), channel).await);
        let twin_paid = other.sim_pay(&other.channel_pay_link(text(twin, "pay_url"), channel).await);
        assert_eq!(twin_paid.out_trade_no, genuine.out_trade_no);
        let foreign_paid = other.sim_pay(&other.channel_pay_link(text(foreign, "pay_url"), channel).await);
        let n = &genuine.notification;

        let (amount_field, id_field) = match channel {
            "wechat" => ("\"ciphertext\":\"", "\"id\":\""),
            "alipay" => ("total_amount", "trade_no"),
            _ => ("txnAmt", "queryId"),
        };
        let tampered = |field: &str| match channel {
            "wechat" => tamper_wechat_body(&n.body, field),
            _ => tamper_form_digit(&n.body, field),
        };
        let bad_signature = "does not verify";
        let variants = [
            ("its signature probe", probe(channel, n), bad_signature),
            ("with the amount changed", Delivery { body: tampered(amount_field), ..n.clone() }, bad_signature),
            ("with the transaction id changed", Delivery { body: tampered(id_field), ..n.clone() }, bad_signature),
            (
                "genuine, for the same order number at another amount",
                redirected(&twin_paid.notification, &ours, channel),
                "15000",
            ),
            (
                "genuine, for an order finepay never opened",
                redirected(&foreign_paid.notification, &ours, channel),
                "no order",
            ),
        ];
        let before = books(&ours);
        for (what, variant, why) in &variants {
            assert_ne!(variant, n, "{channel} {what}: the variant must differ from the genuine notification");
            assert_refused(channel, &ours.deliver(variant).await, why, what);
            assert_eq!(books(&ours), before, "{channel} notification {what} changed something");
        }
        // The genuine notification, sent to the other channels' notify URLs, fails their checks.
        for elsewhere in CHANNELS.into_iter().filter(|c| *c != channel) {
            let misdirected = redirected(n, &ours, elsewhere);
            let reply = ours.deliver(&misdirected).await;
            assert!(!channel_counts_as_received(elsewhere, &reply), "{channel} → {elsewhere}: {reply:?}");
            assert_eq!(books(&ours), before, "{channel} notification at /notify/{elsewhere} changed something");
        }

        // After all that, the genuine notification is taken and applied, once.
        assert_eq!(ours.deliver(n).await, taken(channel), "{channel} genuine");
        let after = books(&ours);
        let one_more = Books {
            payments: before.payments + 1,
            paid_fines: before.paid_fines + 1,
            paid_orders: before.paid_orders + 1,
            audit: before.audit + 1,
            ..before
        };
        assert_eq!(after, one_more, "{channel}: the genuine payment is applied");
        assert_eq!(ours.deliver(n).await, taken(channel), "{channel}: a replay is taken");
        assert_eq!(books(&ours), after, "{channel}: a replay changes nothing");
        let page: Value = ours.page_json(text(fine, "pay_url")).await.json().await.expect("JSON");
        assert_eq!(page["status"], "paid");
        assert_eq!(page["receipt"]["channel"], channel);
        applied.push((channel, genuine.notification));
    }

    // Payments made now whose notifications will only arrive ten minutes later.
    let mut late = Vec::new();
    for channel in CHANNELS {
        let fine = ours.issue_ok(&ours_officer, &format!("faults-2-late-{channel}"), &motor_fine(&ours)).await;
        let paid = ours.sim_pay(&ours.channel_pay_link(text(&fine, "pay_url"), channel).await);
        late.push((channel, fine, paid.notification));
    }

    // Ten minutes later the same notifications come again. WeChat signs a timestamp that must be
    // within 300 s: the replay is refused as stale. Alipay and UnionPay notifications carry no
    // freshness rule (their resends are the same message for up to a day), so a replay of an
    // applied payment is taken — idempotently: it changes nothing.
    ours.clock.advance(Duration::minutes(10));
    let settled = books(&ours);
    assert_eq!((settled.payments, settled.paid_fines, settled.refunds), (3, 3, 0));
    for (channel, notification) in &applied {
        let reply = ours.deliver(notification).await;
        if *channel == "wechat" {
            assert_refused(channel, &reply, "300 s", "replayed ten minutes late");
        } else {
            assert_eq!(reply, taken(channel), "{channel}: a late replay of an applied payment is taken");
        }
        assert_eq!(books(&ours), settled, "{channel}: a late replay changed something");
        // A probe of it is refused as before.
        let probed = ours.deliver(&probe(channel, notification)).await;
        assert_refused(channel, &probed, "", "probe replayed ten minutes late");
        assert_eq!(books(&ours), settled, "{channel}: a late probe changed something");
    }

    // The same holds for a payment not applied yet: WeChat's ten-minute-old notification is
    // refused as stale and changes nothing (WeChat sends again; the payer's page asks WeChat and
    // finds the payment); Alipay's and UnionPay's are taken and applied.
    for (channel, fine, notification) in &late {
        let before = books(&ours);
        let reply = ours.deliver(notification).await;
        if *channel == "wechat" {
            assert_refused(channel, &reply, "300 s", "sent ten minutes after the payment");
            assert_eq!(books(&ours), before, "a stale WeChat notification changed something");
            let page: Value = ours.page_json(text(fine, "pay_url")).await.json().await.expect("JSON");
            assert_eq!(page["status"], "paid", "the page found the payment the stale notification told of");
        } else {
            assert_eq!(reply, taken(channel), "{channel}: a late notification of a timely payment is taken");
        }
        let after = books(&ours);
        assert_eq!((after.payments, after.paid_fines, after.refunds), (before.payments + 1, before.paid_fines + 1, 0));
    }
}

/// When a race-at-the-end fine's order is opened, relative to the window's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opened {
    /// Half an hour before: every channel's own deadline is the window's end.
    Early,
    /// Five seconds before: WeChat raises a deadline under a minute away to one minute, so its
    /// payer can still pay a few seconds after the window.
    Late,
}

/// One fine in the race: when its order is opened; when the payer pays, the channel's
/// notification arrives and the payer's page is visited (which asks the channel and records what
/// it finds), in seconds from the window's end. None: never. Notification and page at the same
/// instant race each other; at different instants one recording path finds the other's work.
struct Race {
    what: &'static str,
    opened: Opened,
    pay_at: i64,
    told_at: Option<i64>,
    page_at: Option<i64>,
}

const fn race(what: &'static str, opened: Opened, pay_at: i64, told_at: Option<i64>, page_at: Option<i64>) -> Race {
    Race { what, opened, pay_at, told_at, page_at }
}

const RACES: [Race; 12] = [
    race("paid 1 s before the end, told at once", Opened::Early, -1, Some(-1), Some(-1)),
    race("paid 1 s before the end, told at the end", Opened::Early, -1, Some(0), Some(0)),
    race("paid 1 s before the end, told 1 s after", Opened::Early, -1, Some(1), Some(1)),
    race("paid 1 s before the end, told 10 min after", Opened::Early, -1, Some(600), Some(600)),
    race("paid 1 s before the end, never told, page 1 s after", Opened::Early, -1, None, Some(1)),
    race("paid 1 s before the end, page at the end, told 1 s after", Opened::Early, -1, Some(1), Some(0)),
    race("paying at the end, told 1 s after", Opened::Early, 0, Some(1), Some(1)),
    race("paying at the end, page 1 s after, told 2 s after", Opened::Early, 0, Some(2), Some(1)),
    race("paying 1 s after the end", Opened::Early, 1, Some(1), Some(1)),
    race("opened 5 s before, paid 1 s before the end, told 1 s after", Opened::Late, -1, Some(1), Some(1)),
    race("opened 5 s before, paying 1 s after the end, told 2 s after", Opened::Late, 1, Some(2), Some(2)),
    race(
        "opened 5 s before, paying 1 s after the end, page 2 s after, told 10 min after",
        Opened::Late,
        1,
        Some(600),
        Some(2),
    ),
];

/// Whether the simulated channel takes a payment at `race.pay_at`: everything before the end;
/// at or after it only where the channel's own deadline allows — UnionPay's `payTimeout` is
/// inclusive (nobody pays *after* it), WeChat's deadline is at least a minute after the order.
fn channel_takes(channel: &str, race: &Race) -> bool {
    match (channel, race.pay_at, race.opened) {
        (_, at, _) if at < 0 => true,
        ("unionpay", 0, _) => true,
        ("wechat", _, Opened::Late) => true,
        _ => false,
    }
}

#[actix_web::test]
async fn a_payment_racing_the_windows_end_is_applied_or_refunded_exactly_once() {
    let app = spawn_app().await;
    let app = &app;
    let officer = app.officer("110105");

    // Every fine is issued at the same instant, so they share the window's end.
    struct Racer<'r> {
        channel: &'static str,
        race: &'r Race,
        fine: Value,
        link: String,
        paid: Option<SimPayment>,
    }
    let mut racers = Vec::new();
    for channel in CHANNELS {
        for (n, race) in RACES.iter().enumerate() {
            let fine = app.issue_ok(&officer, &format!("faults-3-{channel}-{n}"), &motor_fine(app)).await;
            racers.push(Racer { channel, race, fine, link: String::new(), paid: None });
        }
    }
    let end: DateTime<Utc> =
        DateTime::parse_from_rfc3339(text(&racers[0].fine, "qr_expires_at")).expect("RFC 3339").with_timezone(&Utc);
    assert!(racers.iter().all(|r| r.fine["qr_expires_at"] == racers[0].fine["qr_expires_at"]));

    for (opened, before) in [(Opened::Early, Duration::minutes(30)), (Opened::Late, Duration::seconds(5))] {
        app.clock.set(end - before);
        for racer in racers.iter_mut().filter(|r| r.race.opened == opened) {
            racer.link = app.channel_pay_link(text(&racer.fine, "pay_url"), racer.channel).await;
        }
    }

    // The clock steps through the end. At each instant the payers pay, then the notifications due
    // arrive together, each racing its payer's page (which asks the channel and records what it
    // finds): two recording paths for one payment.
    for at in [-1, 0, 1, 2, 600] {
        app.clock.set(end + Duration::seconds(at));
        for racer in racers.iter_mut().filter(|r| r.race.pay_at == at) {
            let result = try_pay(app, racer.channel, &racer.link);
            let expected = channel_takes(racer.channel, racer.race);
            assert_eq!(
                result.is_ok(),
                expected,
                "{} {}: the channel's answer {result:?}",
                racer.channel,
                racer.race.what
            );
            racer.paid = result.ok();
        }
        let due = racers.iter().filter(|r| r.race.told_at == Some(at) || r.race.page_at == Some(at));
        let results = futures_util::future::join_all(due.map(|racer| async move {
            let page = async {
                match racer.race.page_at {
                    Some(page_at) if page_at == at => Some(app.page_json(text(&racer.fine, "pay_url")).await),
                    _ => None,
                }
            };
            let reply = async {
                match (&racer.paid, racer.race.told_at) {
                    (Some(paid), Some(told_at)) if told_at == at => Some(app.deliver(&paid.notification).await),
                    _ => None,
                }
            };
            let (page, reply) = tokio::join!(page, reply);
            (racer, page.map(|page| page.status().as_u16()), reply)
        }))
        .await;
        for (racer, page, reply) in results {
            let (channel, what) = (racer.channel, racer.race.what);
            assert!(page.is_none_or(|status| status == 200), "{channel} {what}: the payer's page: {page:?}");
            let Some(reply) = reply else { continue };
            if channel == "wechat" && at - racer.race.pay_at > 300 {
                // WeChat's signed timestamp is stale by now; the page's query recorded the payment.
                assert_refused(channel, &reply, "300 s", what);
            } else {
                assert_eq!(reply, taken(channel), "{channel} {what}");
            }
        }
    }

    // Every payer comes back once more: nothing new may be recorded.
    let settled = books(app);
    for racer in &racers {
        assert_eq!(app.page_json(text(&racer.fine, "pay_url")).await.status(), 200);
    }
    assert_eq!(books(app), settled, "asking the channels again changed something");

    let mut conn = app.ctx.pool.get().expect("connection");
    let mut taken_payments = 0;
    for racer in &racers {
        let (channel, what) = (racer.channel, racer.race.what);
        let no = text(&racer.fine, "decision_no");
        let paid = finepay::db::payments::for_fine(&mut conn, no).expect("payments");
        let refunded = finepay::db::refunds::for_fine(&mut conn, no).expect("refunds");
        let fine = finepay::db::fines::find(&mut conn, no).expect("fine").expect("stored");
        let actions = finepay::db::audit::for_fine(&mut conn, no).expect("audit");
        let count = |action: &str| actions.iter().filter(|entry| entry.action == action).count();
        let Some(sim_payment) = &racer.paid else {
            // The channel refused the payer: no money moved, nothing to apply or refund.
            assert!(paid.is_empty() && refunded.is_empty(), "{channel} {what}: {paid:?} {refunded:?}");
            assert_eq!(fine.status, "awaiting_payment", "{channel} {what}");
            continue;
        };
        taken_payments += 1;
        assert_eq!(paid.len(), 1, "{channel} {what}: exactly one payment recorded: {paid:?}");
        let payment = &paid[0];
        assert_eq!(payment.out_trade_no, sim_payment.out_trade_no);
        let in_window = racer.race.pay_at < 0;
        assert_eq!(payment.paid_at < end.naive_utc(), in_window, "{channel} {what}: the channel's payment time");
        match payment.outcome.as_str() {
            "applied" => {
                assert!(in_window, "{channel} {what}: applied a payment made after the window");
                assert!(refunded.is_empty(), "{channel} {what}: applied and refunded");
                assert!(payment.receipt_no.is_some());
                assert_eq!((fine.status.as_str(), fine.paid_channel.as_deref()), ("paid", Some(channel)));
                assert_eq!((count("fine.paid"), count("payment.refund_scheduled")), (1, 0), "{channel} {what}");
            }
            "refund" => {
                assert!(!in_window, "{channel} {what}: refunded a payment made inside the window");
                assert_eq!(refunded.len(), 1, "{channel} {what}: refunded once");
                assert_eq!(refunded[0].channel_txn_id, payment.channel_txn_id);
                assert_eq!(refunded[0].amount_fen, payment.amount_fen, "refunded in full");
                assert!(payment.receipt_no.is_none());
                assert_ne!(fine.status, "paid", "{channel} {what}: refunded, yet the fine is paid");
                assert_eq!((count("fine.paid"), count("payment.refund_scheduled")), (0, 1), "{channel} {what}");
            }
            other => panic!("{channel} {what}: outcome {other}"),
        }
    }
    // 7 in-window payments per channel; UnionPay's two at the end and WeChat's two after it.
    assert_eq!(taken_payments, 3 * 7 + 4);
    assert_eq!(settled.payments, taken_payments);
    assert_eq!((settled.paid_fines, settled.refunds), (21, 4));
}
