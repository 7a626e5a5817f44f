//! The scheduled jobs, run as `finepay jobs run` runs them, on the test's clock: `expire` closes
//! the channel orders of ended windows and hands their fines to the banks, `reconcile` compares
//! the channels' statements with finepay's payments, `prune` forgets old idempotency records, and
//! the lease lets one runner at a time do a job.

use crate::helpers::{TestApp, motor_fine, spawn_app, spawn_app_with};
use chrono::Duration;
use diesel::prelude::*;
use finepay::db::schema::{channel_orders, fines, idempotency_keys, payments};
use finepay::jobs::Lease;
use finepay::jobs::{Job, RunOutcome, run_once};
use serde_json::{Value, json};

fn status_of(app: &TestApp, no: &str) -> String {
    let mut conn = app.ctx.pool.get().expect("connection");
    fines::table.find(no).select(fines::status).first(&mut *conn).expect("fine")
}

fn order_statuses(app: &TestApp, no: &str) -> Vec<(String, String)> {
    let mut conn = app.ctx.pool.get().expect("connection");
    channel_orders::table
        .filter(channel_orders::decision_no.eq(no))
        .order(channel_orders::channel)
        .select((channel_orders::channel, channel_orders::status))
        .load(&mut *conn)
        .expect("orders")
}

fn count_action(app: &TestApp, no: &str, action: &str) -> usize {
    app.audit_actions(no).iter().filter(|a| *a == action).count()
}

async fn issued(app: &TestApp, officer: &str, key: &str) -> (String, String) {
    let fine = app.issue_ok(officer, key, &motor_fine(app)).await;
    (fine["decision_no"].as_str().expect("no").to_owned(), fine["pay_url"].as_str().expect("pay_url").to_owned())
}

#[actix_web::test]
async fn expire_settles_every_open_order_then_hands_the_fines_to_the_banks_once() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let (untouched, _) = issued(&app, &officer, "exp-1").await;
    let (abandoned, abandoned_url) = issued(&app, &officer, "exp-2").await;
    let (paid_unheard, paid_url) = issued(&app, &officer, "exp-3").await;
    let (current, _) = issued(&app, &officer, "exp-4").await;
    app.channel_pay_link(&abandoned_url, "wechat").await;
    app.channel_pay_link(&abandoned_url, "unionpay").await;
    let link = app.channel_pay_link(&paid_url, "alipay").await;
    app.sim_pay(&link); // paid in the window; its notification never arrives

    // Nothing has ended yet: the job changes nothing.
    let report = app.run_job(Job::Expire).await;
    assert_eq!(report["fines_handed_over"], 0, "{report}");
    assert_eq!(report["orders"], 0, "{report}");

    app.clock.advance(Duration::hours(4) + Duration::seconds(1));
    let (later, _) = issued(&app, &officer, "exp-5").await;
    let report = app.run_job(Job::Expire).await;
    assert_eq!(
        report,
        json!({"orders": 3, "orders_paid": 1, "orders_closed": 2, "orders_failed": 0, "fines_handed_over": 3})
    );
    assert_eq!(status_of(&app, &untouched), "payable_at_bank");
    assert_eq!(status_of(&app, &abandoned), "payable_at_bank");
    assert_eq!(
        order_statuses(&app, &abandoned),
        [("unionpay".into(), "closed".into()), ("wechat".into(), "closed".into())]
    );
    assert_eq!(status_of(&app, &paid_unheard), "paid", "the payment the query found paid the fine");
    assert_eq!(order_statuses(&app, &paid_unheard), [("alipay".into(), "paid".into())]);
    assert_eq!(status_of(&app, &current), "payable_at_bank");
    assert_eq!(status_of(&app, &later), "awaiting_payment", "a fine still in its window is left alone");

    // Run again: nothing left to do, nothing done twice.
    let report = app.run_job(Job::Expire).await;
    assert_eq!(report["fines_handed_over"], 0, "{report}");
    assert_eq!(report["orders"], 0, "{report}");
    for no in [&untouched, &abandoned, &current] {
        assert_eq!(count_action(&app, no, "fine.payable_at_bank"), 1, "{no} handed over once, audited");
    }
    assert_eq!(count_action(&app, &paid_unheard, "fine.payable_at_bank"), 0);

    // The closed order's link no longer pays at the channel.
    let page: Value = app.page_json(&abandoned_url).await.json().await.expect("JSON");
    assert_eq!(page["status"], "payable_at_bank");
    assert_eq!(page["channels"], json!([]));
}

#[actix_web::test]
async fn a_failing_channel_delays_only_its_own_orders_and_the_next_run_finishes_them() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let (on_wechat, wechat_url) = issued(&app, &officer, "fail-1").await;
    let (on_alipay, alipay_url) = issued(&app, &officer, "fail-2").await;
    app.channel_pay_link(&wechat_url, "wechat").await;
    app.channel_pay_link(&alipay_url, "alipay").await;
    app.clock.advance(Duration::hours(5));

    app.set_sim_faults(json!({"api_failure_rate": 1.0, "api_fault_channels": ["wechat"]})).await;
    let report = app.run_job(Job::Expire).await;
    assert_eq!(report["orders_failed"], 1, "{report}");
    assert_eq!(report["orders_closed"], 1, "{report}");
    assert_eq!(report["fines_handed_over"], 1, "{report}");
    assert_eq!(status_of(&app, &on_alipay), "payable_at_bank");
    assert_eq!(status_of(&app, &on_wechat), "awaiting_payment", "its order is still open at WeChat");
    assert_eq!(order_statuses(&app, &on_wechat), [("wechat".into(), "open".into())]);

    app.set_sim_faults(json!({})).await;
    let report = app.run_job(Job::Expire).await;
    assert_eq!(
        report,
        json!({"orders": 1, "orders_paid": 0, "orders_closed": 1, "orders_failed": 0, "fines_handed_over": 1})
    );
    assert_eq!(status_of(&app, &on_wechat), "payable_at_bank");
    assert_eq!(count_action(&app, &on_wechat, "fine.payable_at_bank"), 1);
}

#[actix_web::test]
async fn a_job_runs_on_one_runner_at_a_time_and_a_dead_runners_lease_runs_out() {
    let app = spawn_app_with(&[("scheduler.lease", "30s")]).await;
    let mut other = app.ctx.jobs.clone();
    other.holder = "another-instance".into();

    let held = Lease::take(&other, Job::Expire).await.expect("lease").expect("free at first");
    assert!(Lease::take(&app.ctx.jobs, Job::Expire).await.expect("lease").is_none(), "held by the other");
    assert_eq!(run_once(&app.ctx.jobs, Job::Expire).await.expect("runs"), RunOutcome::Busy);
    // Other jobs have leases of their own.
    assert!(matches!(run_once(&app.ctx.jobs, Job::Prune).await.expect("runs"), RunOutcome::Ran { .. }));

    // The other instance dies holding the lease: once it runs out, this one takes the job over,
    // and the dead holder, were it to wake, finds it lost.
    app.clock.advance(Duration::seconds(31));
    assert!(matches!(run_once(&app.ctx.jobs, Job::Expire).await.expect("runs"), RunOutcome::Ran { .. }));
    assert!(held.renew().await.is_err(), "the old holder's lease is gone");
    held.release("late").await.expect("a late release changes nothing");
    assert!(matches!(run_once(&app.ctx.jobs, Job::Expire).await.expect("runs"), RunOutcome::Ran { .. }));

    let admin = app.credential(&finepay::credentials::Binding::Admin { name: "ops".into() });
    let jobs: Value = app.get(&admin, "/admin/api/jobs").await.json().await.expect("JSON");
    let expire =
        jobs["leases"].as_array().expect("leases").iter().find(|l| l["job"] == "expire").expect("expire").clone();
    assert_eq!(expire["runs"], 2, "{jobs}");
    assert!(expire["holder"].is_null(), "released: {jobs}");
    for time in ["last_started_at", "last_finished_at"] {
        let at = expire[time].as_str().unwrap_or_default();
        assert!(at.ends_with("+08:00"), "{time} in Beijing time with its offset: {jobs}");
    }
    assert!(expire["last_outcome"].is_object(), "the last outcome is JSON, not JSON in a string: {jobs}");
    assert_eq!(jobs["schedules"]["refunds"], "*/10 * * * * *", "{jobs}");
}

#[actix_web::test]
async fn prune_forgets_idempotency_records_only_after_the_retention() {
    let app = spawn_app_with(&[("scheduler.idempotency_retention", "48h")]).await;
    let officer = app.officer("110105");
    issued(&app, &officer, "old-1").await;
    issued(&app, &officer, "old-2").await;
    app.clock.advance(Duration::hours(47));
    issued(&app, &officer, "young").await;
    let keys = || -> Vec<String> {
        let mut conn = app.ctx.pool.get().expect("connection");
        idempotency_keys::table
            .order(idempotency_keys::idempotency_key)
            .select(idempotency_keys::idempotency_key)
            .load(&mut *conn)
            .expect("keys")
    };
    assert_eq!(
        app.run_job(Job::Prune).await,
        json!({"idempotency_records_deleted": 0, "oauth_states_deleted": 0, "rate_limits_deleted": 0, "admin_sessions_deleted": 0})
    );
    app.clock.advance(Duration::hours(2));
    assert_eq!(
        app.run_job(Job::Prune).await,
        json!({"idempotency_records_deleted": 2, "oauth_states_deleted": 0, "rate_limits_deleted": 0, "admin_sessions_deleted": 0})
    );
    assert_eq!(keys(), ["young"]);
    assert_eq!(
        app.run_job(Job::Prune).await,
        json!({"idempotency_records_deleted": 0, "oauth_states_deleted": 0, "rate_limits_deleted": 0, "admin_sessions_deleted": 0})
    );
}

#[actix_web::test]
async fn reconcile_applies_what_only_the_channel_knew_and_reports_every_difference_once() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let admin = app.credential(&finepay::credentials::Binding::Admin { name: "ops".into() });
    // Three WeChat payments today: one notified, one whose notification was lost, and one that
    // finepay will be made to hold for a different amount; and a fourth payment finepay holds
    // that WeChat never booked (its order was opened, never paid).
    let mut nos = Vec::new();
    for key in ["rec-1", "rec-2", "rec-3"] {
        let (no, url) = issued(&app, &officer, key).await;
        let paid = app.sim_pay(&app.channel_pay_link(&url, "wechat").await);
        if key != "rec-2" {
            assert_eq!(app.deliver(&paid.notification).await.0, 204);
        }
        nos.push(no);
    }
    // And one UnionPay payment whose notification was lost.
    let (on_unionpay, unionpay_url) = issued(&app, &officer, "rec-5").await;
    app.sim_pay(&app.channel_pay_link(&unionpay_url, "unionpay").await);
    let (unbooked, unbooked_url) = issued(&app, &officer, "rec-4").await;
    app.channel_pay_link(&unbooked_url, "wechat").await;
    assert_eq!(status_of(&app, &nos[1]), "awaiting_payment");
    {
        let mut conn = app.ctx.pool.get().expect("connection");
        diesel::update(payments::table.filter(payments::decision_no.eq(&nos[2])))
            .set(payments::amount_fen.eq(1))
            .execute(&mut *conn)
            .expect("tampered");
        let order: String = channel_orders::table
            .filter(channel_orders::decision_no.eq(&unbooked))
            .select(channel_orders::out_trade_no)
            .first(&mut *conn)
            .expect("order");
        let now = app.now().naive_utc();
        diesel::insert_into(payments::table)
            .values((
                payments::channel.eq("wechat"),
                payments::channel_txn_id.eq("4200000000000000000000000001"),
                payments::out_trade_no.eq(&order),
                payments::decision_no.eq(&unbooked),
                payments::amount_fen.eq(20000),
                payments::paid_at.eq(now),
                payments::received_at.eq(now),
                payments::source.eq("notification"),
                payments::outcome.eq("applied"),
            ))
            .execute(&mut *conn)
            .expect("a payment WeChat never booked");
    }
    let day = finepay::domain::time::shanghai_date(app.now());
    // The bills are made the next morning.
    app.clock.advance(Duration::days(1));
    let morning = app.now().with_timezone(&finepay::domain::time::SHANGHAI);
    if morning.time() < chrono::NaiveTime::from_hms_opt(10, 30, 0).expect("time") {
        app.clock.advance(Duration::hours(11));
    }

    let report = app.run_job(Job::Reconcile).await;
    let line = json!(format!("{day} wechat exceptions"));
    assert!(report["reports"].as_array().expect("lines").contains(&line), "{report}");
    assert_eq!(status_of(&app, &nos[1]), "paid", "the payment only the statement showed is applied");

    let url = format!("/admin/api/reconciliation?from={day}&to={day}&channel=wechat");
    let shown: Value = app.get(&admin, &url).await.json().await.expect("JSON");
    let wechat = &shown["reports"][0];
    assert_eq!(wechat["statement_date"], day.to_string(), "{shown}");
    assert_eq!(wechat["status"], "exceptions");
    assert_eq!(wechat["statement_payments"], 3);
    assert_eq!(wechat["statement_payments_fen"], 60000);
    assert_eq!(wechat["finepay_payments"], 3, "before the run finepay knew three, one of them unbooked");
    assert_eq!(wechat["matched"], 1);
    assert_eq!(wechat["applied"], 1);
    assert_eq!(wechat["exceptions"], 2);
    let kinds = |shown: &Value| -> Vec<(String, String)> {
        let list = shown["reports"][0]["exception_list"].as_array().expect("list").clone();
        let mut kinds: Vec<(String, String)> = list
            .iter()
            .map(|e| (e["kind"].as_str().unwrap_or("").to_owned(), e["decision_no"].as_str().unwrap_or("").to_owned()))
            .collect();
        kinds.sort();
        kinds
    };
    let expected =
        vec![("amount_mismatch".to_owned(), nos[2].clone()), ("missing_at_channel".to_owned(), unbooked.clone())];
    assert_eq!(kinds(&shown), expected, "{shown}");
    let mismatch = shown["reports"][0]["exception_list"]
        .as_array()
        .expect("list")
        .iter()
        .find(|e| e["kind"] == "amount_mismatch")
        .expect("mismatch")
        .clone();
    assert_eq!((mismatch["amount_fen"].clone(), mismatch["expected_fen"].clone()), (json!(20000), json!(1)));

    // The other channels had nothing that day: balanced, empty.
    let all: Value =
        app.get(&admin, &format!("/admin/api/reconciliation?from={day}&to={day}")).await.json().await.expect("JSON");
    let reports = all["reports"].as_array().expect("reports");
    let alipay = reports.iter().find(|r| r["channel"] == "alipay").expect("alipay");
    assert_eq!(alipay["status"], "balanced", "{all}");
    assert_eq!(alipay["statement_payments"], 0);
    let unionpay = reports.iter().find(|r| r["channel"] == "unionpay").expect("unionpay");
    assert_eq!(unionpay["status"], "balanced", "{all}");
    assert_eq!((unionpay["statement_payments"].clone(), unionpay["applied"].clone()), (json!(1), json!(1)), "{all}");
    assert_eq!(status_of(&app, &on_unionpay), "paid");

    // Running again changes nothing: the same report, each exception still raised once.
    app.run_job(Job::Reconcile).await;
    let again: Value = app.get(&admin, &url).await.json().await.expect("JSON");
    assert_eq!(kinds(&again), expected, "{again}");
    assert_eq!(again["reports"][0]["applied"], 0, "nothing left to apply: {again}");
    assert_eq!(again["reports"][0]["matched"], 2, "{again}");
    assert_eq!(app.payment_counts().0, 5, "no payment recorded twice");
}

#[actix_web::test]
async fn the_reconciliation_api_is_for_admins_and_checks_its_parameters() {
    let app = spawn_app().await;
    let officer = app.officer("110105");
    let admin = app.credential(&finepay::credentials::Binding::Admin { name: "ops".into() });
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status(app.get(&officer, "/admin/api/reconciliation").await), 403);
    assert_eq!(status(app.get("fpa_unknown", "/admin/api/reconciliation").await), 401);
    for bad in [
        "from=yesterday",
        "to=2026-13-01",
        "channel=paypal",
        "from=2026-11-10&to=2026-11-01",
        "from=2020-01-01&to=2026-01-01",
    ] {
        let (code, body) =
            crate::helpers::error_of(app.get(&admin, &format!("/admin/api/reconciliation?{bad}")).await).await;
        assert_eq!((code, body.as_str()), (400, "invalid_request"), "{bad}");
    }
    let empty: Value = app.get(&admin, "/admin/api/reconciliation").await.json().await.expect("JSON");
    assert_eq!(empty["reports"], json!([]));
}
