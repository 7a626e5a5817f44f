//! `bench issue`: officers' handhelds issuing fines over HTTP, each request with a fresh
//! idempotency key, spread over three districts (each district-day holds 99,999 serials). The
//! other benchmarks issue their fines the same way, as setup.

use super::Common;
use super::harness::{self, BenchDb, Target, peak_rss_mib, reset_peak_rss};
use super::load::{self, LoadResult, drive};
use super::report::Row;
use crate::credentials::{self, Binding};
use crate::db::schema::fines;
use crate::http::AppState;
use diesel::prelude::*;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;

const DISTRICTS: [&str; 3] = ["110101", "110105", "110108"];

pub(super) fn run(target: &Target, common: &Common, config: Option<&Path>) -> anyhow::Result<Row> {
    let db = BenchDb::fresh(target)?;
    let settings = harness::settings(config, &db, common.concurrency + 4)?;
    actix_web::rt::System::new().block_on(async move {
        let harness::Daemon { address, ctx, server, .. } = harness::start(settings)?;

        let officers = Officers::new(&ctx, common.warmup + common.requests)?;
        officers.issue(address, common.concurrency, 0, common.warmup, None).await?;
        reset_peak_rss();
        let measured = officers.issue(address, common.concurrency, common.warmup, common.requests, None).await?;
        let peak = peak_rss_mib();

        // Every acknowledged request left exactly one fine.
        let stored: i64 = fines::table.count().get_result(&mut *ctx.pool.get()?)?;
        anyhow::ensure!(
            stored as usize == common.warmup + common.requests,
            "{stored} fines stored for {} requests",
            common.warmup + common.requests
        );
        server.stop(true).await;

        Ok(Row::http("issue: POST /api/v1/fines", target.name(), common, peak, measured))
    })
}

/// Issues fines over HTTP with one officer credential per district.
pub(super) struct Officers {
    tokens: Vec<String>,
    body: String,
}

impl Officers {
    /// Credentials for issuing `total` fines today.
    pub(super) fn new(ctx: &AppState, total: usize) -> anyhow::Result<Officers> {
        anyhow::ensure!(
            total <= DISTRICTS.len() * 99_999,
            "at most {} fines fit in a day of {} districts",
            DISTRICTS.len() * 99_999,
            DISTRICTS.len()
        );
        let mut conn = ctx.pool.get()?;
        let tokens = DISTRICTS
            .iter()
            .map(|district| {
                let binding = Binding::Officer {
                    officer_id: "0001".into(),
                    device_id: "bench".into(),
                    district_code: (*district).into(),
                };
                credentials::create(&ctx.pool, &mut conn, &binding, "bench", chrono::Utc::now()).map(|(_, token)| token)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let body = serde_json::json!({
            "violation_code": "1625",
            "subject": {"kind": "motor_vehicle", "plate": "京A12345", "plate_type": "02"},
            "location": "朝阳区建国路与东三环交叉口",
            "occurred_at": (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339(),
        })
        .to_string();
        Ok(Officers { tokens, body })
    }

    /// Issues fines `first..first + count`; `issued(i, pay_path)`, if given, hears of each one's
    /// pay page path (the load generator reads no more of the answer than it must).
    pub(super) async fn issue(
        &self,
        address: SocketAddr,
        concurrency: usize,
        first: usize,
        count: usize,
        issued: Option<&dyn Fn(usize, String)>,
    ) -> anyhow::Result<LoadResult> {
        let request = |i: usize| {
            let n = first + i;
            let auth = format!("Bearer {}", self.tokens[n % self.tokens.len()]);
            let key = format!("bench-{n}");
            let headers = [
                ("Authorization", auth.as_str()),
                ("Idempotency-Key", key.as_str()),
                ("Content-Type", "application/json"),
            ];
            load::request("POST", "/api/v1/fines", &headers, self.body.as_bytes())
        };
        let check = |i: usize, status: u16, body: &[u8]| {
            let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
            if status != 201 || !text.contains("\"status\":\"awaiting_payment\"") {
                return Err(format!("{status}: {text}"));
            }
            if let Some(issued) = issued {
                let pay_url = text.split("\"pay_url\":\"").nth(1).and_then(|rest| rest.split('"').next());
                // The path as the bill's QR code holds it: what a phone asks for.
                let path = pay_url.and_then(|url| url.split_once("/P/")).map(|(_, token)| format!("/P/{token}"));
                issued(first + i, path.ok_or_else(|| format!("no pay_url in {text}"))?);
            }
            Ok(())
        };
        drive(address, concurrency, count, request, check).await
    }
}

/// Issues `count` fines and returns their pay page paths, in order.
pub(super) async fn pay_paths(
    ctx: &AppState,
    address: SocketAddr,
    concurrency: usize,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let paths = Mutex::new(vec![String::new(); count]);
    Officers::new(ctx, count)?
        .issue(
            address,
            concurrency,
            0,
            count,
            Some(&|i, path| paths.lock().unwrap_or_else(|p| p.into_inner())[i] = path),
        )
        .await?;
    Ok(paths.into_inner().unwrap_or_else(|p| p.into_inner()))
}
