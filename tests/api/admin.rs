//! The admin statistics: fines counted by Beijing issue day and district, with the share of paid
//! fines paid online vs at banks; and the helpers the other admin tests share.

use crate::helpers::{TestApp, error_of, motor_fine, pedestrian_fine, spawn_app, taken};
use chrono::{Duration, Utc};
use finepay::credentials::{self, Binding};
use finepay::domain::time::shanghai_date;
use serde_json::{Value, json};

/// A new admin credential: (its audit name, its token).
pub(crate) fn admin(app: &TestApp) -> (String, String) {
    let mut conn = app.ctx.pool.get().expect("connection");
    let binding = Binding::Admin { name: "finance".into() };
    let (id, token) = credentials::create(&app.ctx.pool, &mut conn, &binding, "cli", Utc::now()).expect("credential");
    (format!("credential:{id} (finance)"), token)
}

pub(crate) fn no_of(fine: &Value) -> String {
    fine["decision_no"].as_str().expect("decision_no").to_owned()
}

/// Pays the fine at `channel` through the simulator, as a payer and the channel would.
pub(crate) async fn pay(app: &TestApp, fine: &Value, channel: &str) {
    let link = app.channel_pay_link(fine["pay_url"].as_str().expect("pay_url"), channel).await;
    let paid = app.sim_pay(&link);
    assert_eq!(app.deliver(&paid.notification).await, taken(channel));
}

/// Pays the fine at a bank: the bank's real-time post, settled (201).
pub(crate) async fn pay_at_bank(app: &TestApp, no: &str) {
    let bank = crate::bank::Bank::new(app, "ICBC");
    let body = json!({
        "bank_serial": format!("B-{no}"),
        "decision_no": no,
        "amount_fen": 20000,
        "paid_at": app.now().to_rfc3339(),
        "method": "counter",
    });
    let response = bank.post(&body).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
}

pub(crate) async fn void(app: &TestApp, officer: &str, no: &str) {
    let url = format!("{}/api/v1/fines/{no}/void", app.address);
    let response =
        app.http.post(url).bearer_auth(officer).json(&json!({"reason": "wrong person"})).send().await.expect("sent");
    assert_eq!(response.status(), 200);
}

pub(crate) async fn json_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200, "{:?}", response.headers());
    response.json().await.expect("JSON")
}

fn tally(count: i64, fen: i64) -> Value {
    json!({"count": count, "fen": fen})
}

#[actix_web::test]
async fn stats_count_and_sum_fines_by_beijing_issue_day_and_district_with_the_online_share() {
    let app = spawn_app().await;
    let (_, admin) = admin(&app);
    let (chaoyang, haidian, mentougou) = (app.officer("110105"), app.officer("110108"), app.officer("110109"));
    // 23:30 in Beijing, then 00:30 the next Beijing day: the same UTC day, two Beijing days.
    let evening = app.now().date_naive().and_hms_opt(15, 30, 0).expect("time").and_utc();
    app.clock.set(evening);
    let first_day = shanghai_date(evening);

    let f1 = app.issue_ok(&chaoyang, "s-1", &motor_fine(&app)).await;
    let f2 = app.issue_ok(&chaoyang, "s-2", &motor_fine(&app)).await;
    let _f3 = app.issue_ok(&chaoyang, "s-3", &motor_fine(&app)).await; // stays unpaid
    let f4 = app.issue_ok(&haidian, "s-4", &motor_fine(&app)).await;
    let f5 = app.issue_ok(&haidian, "s-5", &pedestrian_fine(&app)).await; // 10 yuan, voided
    pay(&app, &f1, "wechat").await;
    pay(&app, &f2, "alipay").await;
    pay_at_bank(&app, &no_of(&f4)).await;
    void(&app, &haidian, &no_of(&f5)).await;

    app.clock.advance(Duration::hours(1));
    let second_day = shanghai_date(app.now());
    assert_eq!(second_day, first_day.succ_opt().expect("next day"));
    let f6 = app.issue_ok(&chaoyang, "s-6", &motor_fine(&app)).await;
    pay(&app, &f6, "wechat").await;
    let f7 = app.issue_ok(&mentougou, "s-7", &motor_fine(&app)).await; // no QR there: at banks
    assert_eq!(f7["status"], "payable_at_bank");

    let url = format!("/admin/api/stats?from={first_day}&to={second_day}");
    let stats = json_of(app.get(&admin, &url).await).await;
    assert_eq!((stats["from"].clone(), stats["to"].clone()), (json!(first_day), json!(second_day)));
    assert_eq!(stats["grouped_by"], "issue_day");
    let totals = &stats["totals"];
    assert_eq!(totals["issued"], tally(7, 121_000), "{stats}");
    assert_eq!(
        totals["paid_qr"],
        json!({"wechat": tally(2, 40_000), "alipay": tally(1, 20_000), "unionpay": tally(0, 0), "total": tally(3, 60_000)})
    );
    assert_eq!(totals["paid_bank"], tally(1, 20_000));
    assert_eq!(totals["outstanding"], tally(2, 40_000), "one awaiting payment, one payable at banks");
    assert_eq!(totals["void"], tally(1, 1_000));
    assert_eq!(totals["other"], tally(0, 0));
    assert_eq!(totals["share"], json!({"paid": 4, "online": 3, "at_bank": 1, "online_bp": 7500, "at_bank_bp": 2500}));

    let days = stats["days"].as_array().expect("days");
    assert_eq!(days.len(), 2);
    assert_eq!((days[0]["date"].clone(), days[0]["issued"].clone()), (json!(first_day), tally(5, 81_000)));
    assert_eq!(days[0]["paid_qr"]["total"], tally(2, 40_000));
    assert_eq!(days[0]["paid_bank"], tally(1, 20_000));
    assert_eq!(days[0]["void"], tally(1, 1_000));
    assert_eq!((days[1]["date"].clone(), days[1]["issued"].clone()), (json!(second_day), tally(2, 40_000)));
    assert_eq!(days[1]["paid_qr"]["wechat"], tally(1, 20_000));
    assert_eq!(days[1]["outstanding"], tally(1, 20_000));

    let districts: Vec<(Value, Value)> = stats["districts"]
        .as_array()
        .expect("districts")
        .iter()
        .map(|d| (d["district_code"].clone(), d["issued"].clone()))
        .collect();
    assert_eq!(
        districts,
        [(json!("110105"), tally(4, 80_000)), (json!("110108"), tally(2, 21_000)), (json!("110109"), tally(1, 20_000))]
    );
    assert_eq!(stats["districts"][0]["name"], "朝阳区 Chaoyang");

    // One district: its fines only.
    let one = json_of(app.get(&admin, &format!("{url}&district=110105")).await).await;
    assert_eq!(one["district"], "110105");
    assert_eq!(one["totals"]["issued"], tally(4, 80_000));
    assert_eq!(
        one["totals"]["share"],
        json!({"paid": 3, "online": 3, "at_bank": 0, "online_bp": 10000, "at_bank_bp": 0})
    );
    assert_eq!(one["districts"].as_array().map(Vec::len), Some(1));

    // By default the last 30 Beijing days up to today, every day listed.
    let default = json_of(app.get(&admin, "/admin/api/stats").await).await;
    assert_eq!(default["to"], json!(second_day));
    assert_eq!(default["from"], json!(second_day - Duration::days(29)));
    assert_eq!(default["days"].as_array().map(Vec::len), Some(30));
    assert_eq!(default["totals"], stats["totals"]);
    // A period without fines: zeros, and no share.
    let empty = json_of(app.get(&admin, "/admin/api/stats?from=2020-01-01&to=2020-12-31").await).await;
    assert_eq!(empty["days"].as_array().map(Vec::len), Some(366));
    assert_eq!(empty["totals"]["issued"], tally(0, 0));
    assert_eq!(empty["totals"]["share"]["online_bp"], Value::Null);
    assert_eq!(empty["districts"], json!([]));
}

#[actix_web::test]
async fn admin_parameters_are_checked_after_the_credential() {
    let app = spawn_app().await;
    let (_, admin) = admin(&app);
    for (query, field) in [
        ("from=2026-13-01", Some("from")),
        ("to=yesterday", Some("to")),
        ("from=2026-11-10&to=2026-11-01", Some("from")),
        ("from=2025-01-01&to=2026-01-02", Some("from")),
        ("district=11010", Some("district")),
        ("district=abcdef", Some("district")),
        ("district=1101050", Some("district")),
        ("from=2026-11-01&from=2026-11-02", None),
        ("from=%ZZ", Some("from")),
        ("to=+262142-12-31", Some("to")),
        ("to=-262143-01-03", Some("to")),
    ] {
        let response = app.get(&admin, &format!("/admin/api/stats?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], "invalid_request", "{query}: {body}");
        if let Some(field) = field {
            assert_eq!(body["error"]["details"]["field"], field, "{query}: {body}");
        }
    }
    let year = app.get(&admin, "/admin/api/stats?from=2025-01-02&to=2026-01-02").await;
    assert_eq!(year.status(), 200, "366 days is the longest period");

    let officer = app.officer("110105");
    let bank = app.credential(&Binding::Bank { bank_code: "ICBC".into() });
    let bad = "/admin/api/stats?from=nonsense";
    assert_eq!(error_of(app.get(&officer, bad).await).await, (403, "forbidden".into()));
    assert_eq!(error_of(app.get(&bank, bad).await).await, (403, "forbidden".into()));
    assert_eq!(error_of(app.get("fpa_unknown", bad).await).await, (401, "unauthorized".into()));
    let anonymous = app.http.get(format!("{}{bad}", app.address)).send().await.expect("sent");
    assert_eq!(error_of(anonymous).await, (401, "unauthorized".into()));
    // The reconciliation reports check their parameters the same way, in the same order.
    let reconciliation = "/admin/api/reconciliation?to=-262143-01-03";
    assert_eq!(error_of(app.get("fpa_unknown", reconciliation).await).await, (401, "unauthorized".into()));
    assert_eq!(error_of(app.get(&officer, reconciliation).await).await, (403, "forbidden".into()));
    assert_eq!(error_of(app.get(&admin, reconciliation).await).await, (400, "invalid_request".into()));
}
