//! `bench issue`: officers' handhelds issuing fines over HTTP, each request with a fresh
//! idempotency key, spread over three districts (each district-day holds 99,999 serials).

use super::Common;
use super::harness::{self, BenchDb, Target, peak_rss_mib, reset_peak_rss};
use super::load::{self, drive};
use super::report::Row;
use crate::app::Application;
use crate::credentials::{self, Binding};
use crate::db::schema::fines;
use diesel::prelude::*;
use std::path::Path;

const DISTRICTS: [&str; 3] = ["110101", "110105", "110108"];

pub fn run(target: &Target, common: &Common, config: Option<&Path>) -> anyhow::Result<Row> {
    anyhow::ensure!(
        common.warmup + common.requests <= DISTRICTS.len() * 99_999,
        "at most {} fines fit in a day of {} districts",
        DISTRICTS.len() * 99_999,
        DISTRICTS.len()
    );
    let db = BenchDb::fresh(target)?;
    let settings = harness::settings(config, &db, common.concurrency + 4)?;
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)?;
        let port = app.port();
        let ctx = app.context();
        let server = app.handle();
        actix_web::rt::spawn(app.run_until_stopped());

        let tokens = {
            let mut conn = ctx.pool.get()?;
            DISTRICTS
                .iter()
                .map(|district| {
                    let binding = Binding::Officer {
                        officer_id: "0001".into(),
                        device_id: "bench".into(),
                        district_code: (*district).into(),
                    };
                    credentials::create(&mut conn, &binding, chrono::Utc::now()).map(|(_, token)| token)
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        let body = serde_json::json!({
            "violation_code": "1625",
            "subject": {"kind": "motor_vehicle", "plate": "京A12345", "plate_type": "02"},
            "location": "朝阳区建国路与东三环交叉口",
            "occurred_at": (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339(),
        })
        .to_string();
        let address: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        let request = |offset: usize| {
            let (tokens, body) = (&tokens, &body);
            move |i: usize| {
                let n = offset + i;
                let auth = format!("Bearer {}", tokens[n % tokens.len()]);
                let key = format!("bench-{n}");
                let headers = [
                    ("Authorization", auth.as_str()),
                    ("Idempotency-Key", key.as_str()),
                    ("Content-Type", "application/json"),
                ];
                load::request("POST", "/api/v1/fines", &headers, body.as_bytes())
            }
        };
        let check = |_: usize, status: u16, body: &[u8]| {
            let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
            if status != 201 || !text.contains("\"status\":\"awaiting_payment\"") {
                return Err(format!("{status}: {text}"));
            }
            Ok(())
        };

        drive(address, common.concurrency, common.warmup, request(0), check).await?;
        reset_peak_rss();
        let measured = drive(address, common.concurrency, common.requests, request(common.warmup), check).await?;
        let peak = peak_rss_mib();

        // Every acknowledged request left exactly one fine.
        let stored: i64 = fines::table.count().get_result(&mut *ctx.pool.get()?)?;
        anyhow::ensure!(
            stored as usize == common.warmup + common.requests,
            "{stored} fines stored for {} requests",
            common.warmup + common.requests
        );
        server.stop(true).await;

        let row = Row {
            name: "issue: POST /api/v1/fines".into(),
            backend: target.name(),
            concurrency: common.concurrency,
            peak_rss_mib: peak,
            ..Row::default()
        };
        Ok(row.with_latencies(measured.latencies, measured.elapsed))
    })
}
