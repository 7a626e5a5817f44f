//! `bench sweep`: the expire job over N fines whose QR window has ended — most never had a
//! channel order, a share (`--orders-percent`) has one open at the simulator, which the job must
//! query and close over the channels' real protocols — against one set-based UPDATE of the same
//! N rows (the ceiling: the least any sweep could write). Officers keep issuing all the while:
//! `issue`'s p99 during the sweep is compared with its p99 just before it.

use super::harness::{self, BenchDb, Target};
use super::issue::Officers;
use super::load::LoadResult;
use super::report::Row;
use super::sim_process::SimProcess;
use crate::channels::{ChannelKind, OrderRequest};
use crate::db::channel_orders::NewChannelOrder;
use crate::db::fines::NewFine;
use crate::db::schema::{audit_log, fines};
use crate::db::{DbConnection, channel_orders};
use crate::domain::Fen;
use crate::http::AppState;
use crate::jobs::{Job, RunOutcome, run_once};
use chrono::{Duration as Span, NaiveDateTime, Utc};
use diesel::prelude::*;
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Issues timed before the sweep.
const ISSUE_PROBE: usize = 2000;
/// Issues per round; rounds start at `ISSUE_RATE` a second, before and during the sweep.
const ISSUE_ROUND: usize = 20;
/// Fines issued per second: a province's busiest hour is well below this.
const ISSUE_RATE: f64 = 400.0;
/// Officers issuing at once within a round.
const ISSUE_CONCURRENCY: usize = 4;

pub(super) fn run(
    target: &Target,
    config: Option<&Path>,
    sizes: &[usize],
    orders_percent: f64,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for &size in sizes {
        rows.extend(run_size(target, config, size, orders_percent)?);
    }
    Ok(rows)
}

fn run_size(target: &Target, config: Option<&Path>, size: usize, orders_percent: f64) -> anyhow::Result<Vec<Row>> {
    let db = BenchDb::fresh(target)?;
    let simulator = SimProcess::start(config)?;
    let settings = harness::settings_with(config, &db, 12, &simulator.overrides())?;
    let backend = target.name();
    actix_web::rt::System::new().block_on(async move {
        let harness::Daemon { address, ctx, server, .. } = harness::start(settings)?;
        let now = Utc::now().naive_utc();
        let with_orders = ((size as f64) * orders_percent / 100.0).round() as usize;
        seed_ended_fines(&ctx, size, now)?;
        open_orders(&ctx, size, with_orders, now).await?;

        let ceiling = set_based_update(&ctx, size, now)?;
        let officers = Rc::new(Officers::new(&ctx, ISSUE_PROBE + size / 10 + 50_000)?);
        let before = issue_paced(&officers, address, 0, |next| next >= ISSUE_PROBE).await?;

        let sweep = actix_web::rt::spawn({
            let ctx = ctx.clone();
            async move {
                let started = Instant::now();
                let outcome = run_once(&ctx.jobs, Job::Expire).await;
                (outcome, started.elapsed())
            }
        });
        let during = issue_paced(&officers, address, ISSUE_PROBE, |_| sweep.is_finished()).await?;
        let (outcome, elapsed) = sweep.await?;
        let report = match outcome? {
            RunOutcome::Ran { report } => report,
            RunOutcome::Busy => anyhow::bail!("the expire job's lease was held"),
        };
        check_all_handed_over(&ctx, size, with_orders, &report)?;
        server.stop(true).await;

        let mut sweep_row = timed_row(
            &format!("sweep: expire job, {} ended fines ({with_orders} with an order)", label(size)),
            backend,
            size,
            elapsed,
        );
        sweep_row.ratio = Some(sweep_row.throughput / ceiling.throughput);
        sweep_row.ratio_note = "÷ set-based UPDATE".into();
        let before_row =
            Row { concurrency: ISSUE_CONCURRENCY, ..Row::default() }.with_latencies(before.latencies, before.elapsed);
        let mut during_row =
            Row { concurrency: ISSUE_CONCURRENCY, ..Row::default() }.with_latencies(during.latencies, during.elapsed);
        during_row.ratio = Some(during_row.p99.as_secs_f64() / before_row.p99.as_secs_f64().max(f64::EPSILON));
        during_row.ratio_note = "p99 ÷ p99 without the sweep".into();
        Ok(vec![
            ceiling,
            sweep_row,
            Row { name: "issue, no sweep running".into(), backend, ..before_row },
            Row { name: format!("issue, during the {} sweep", label(size)), backend, ..during_row },
        ])
    })
}

/// A row for one timed operation over `size` fines: ops/s is fines per second, the latency
/// columns all show the whole run's time.
fn timed_row(name: &str, backend: &'static str, size: usize, elapsed: Duration) -> Row {
    Row {
        name: name.into(),
        backend,
        operations: size,
        concurrency: 1,
        throughput: size as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
        p50: elapsed,
        p99: elapsed,
        max: elapsed,
        ..Row::default()
    }
}

/// Decision numbers for the seeded fines (never issued: outside every district-day's serials).
fn decision_no(i: usize) -> String {
    format!("{:019}", 9_000_000_000_000_000_000u64 + i as u64)
}

/// `size` fines whose window ended an hour ago, still awaiting payment.
fn seed_ended_fines(ctx: &AppState, size: usize, now: NaiveDateTime) -> anyhow::Result<()> {
    let mut conn = ctx.pool.get()?;
    let template = NewFine::template(now - Span::hours(5));
    let ended = now - Span::hours(1);
    let numbers: Vec<String> = (0..size).map(decision_no).collect();
    for chunk in numbers.chunks(20_000) {
        ctx.pool.write(&mut conn, |conn| {
            for rows in chunk.chunks(1000) {
                let rows: Vec<NewFine<'_>> =
                    rows.iter().map(|no| NewFine { decision_no: no, qr_expires_at: Some(ended), ..template }).collect();
                crate::db::fines::insert_many(conn, &rows)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
    }
    Ok(())
}

/// Opens an order at the (simulated) channel for every `size / with_orders`-th fine, the
/// channels taking turns, and records it open with its window ended.
async fn open_orders(ctx: &AppState, size: usize, with_orders: usize, now: NaiveDateTime) -> anyhow::Result<()> {
    if with_orders == 0 {
        return Ok(());
    }
    let step = (size / with_orders).max(1);
    let fines: Vec<(usize, String)> = (0..with_orders).map(|k| (k, decision_no(k * step))).collect();
    let opened = futures_util::stream::iter(fines.iter().map(|(k, no)| async move {
        let kind = ChannelKind::ALL[k % 3];
        let channel = ctx.channels.get(kind).ok_or_else(|| anyhow::anyhow!("{} is off", kind.as_str()))?;
        let request = OrderRequest {
            out_trade_no: crate::payments::out_trade_no(no, kind, crate::channels::Flow::Qr, 1),
            description: format!("交通违法罚款 {no}"),
            amount: Fen(20000),
            pay_by: Utc::now() + Span::minutes(30),
            opened_at: Utc::now(),
            flow: crate::channels::Flow::Qr,
        };
        channel.start(&request, &crate::channels::Start::Qr).await?;
        anyhow::Ok((no.clone(), kind, request))
    }))
    .buffer_unordered(16)
    .collect::<Vec<_>>()
    .await;
    let mut conn = ctx.pool.get()?;
    ctx.pool.write(&mut conn, |conn| {
        for result in &opened {
            let (no, kind, request) = result.as_ref().map_err(|e| anyhow::anyhow!("opening an order: {e}"))?;
            insert_order(conn, no, *kind, request, now)?;
        }
        anyhow::Ok(())
    })
}

fn insert_order(
    conn: &mut DbConnection,
    no: &str,
    kind: ChannelKind,
    request: &OrderRequest,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    channel_orders::open(
        conn,
        &NewChannelOrder {
            out_trade_no: &request.out_trade_no,
            decision_no: no,
            channel: kind.as_str(),
            flow: "qr",
            payer: None,
            amount_fen: 20000,
            pay_by: now - Span::hours(1),
            opened_at: request.opened_at.naive_utc(),
            status: "open",
            updated_at: now,
        },
    )
    .map(|_| ())
}

/// The ceiling: every ended fine moved by one UPDATE in one transaction, timed; then put back
/// (untimed) for the sweep.
fn set_based_update(ctx: &AppState, size: usize, now: NaiveDateTime) -> anyhow::Result<Row> {
    let mut conn = ctx.pool.get()?;
    let ended = fines::status.eq("awaiting_payment").and(fines::qr_expires_at.le(now));
    let started = Instant::now();
    let moved = ctx.pool.write(&mut conn, |conn| {
        diesel::update(fines::table.filter(ended))
            .set((fines::status.eq("payable_at_bank"), fines::updated_at.eq(now)))
            .execute(conn)
    })?;
    let elapsed = started.elapsed();
    anyhow::ensure!(moved == size, "the UPDATE moved {moved} of {size} fines");
    ctx.pool.write(&mut conn, |conn| {
        diesel::update(fines::table.filter(fines::status.eq("payable_at_bank")))
            .set(fines::status.eq("awaiting_payment"))
            .execute(conn)
    })?;
    let backend = if ctx.pool.is_sqlite() { "sqlite" } else { "postgres" };
    Ok(timed_row(&format!("ceiling: one set-based UPDATE of {} fines", label(size)), backend, size, elapsed))
}

/// 100k, 1M.
fn label(n: usize) -> String {
    if n >= 1_000_000 { format!("{}M", n / 1_000_000) } else { format!("{}k", n / 1000) }
}

/// Issues rounds of fines at `ISSUE_RATE` until `done(next fine)`; every issue's latency.
async fn issue_paced(
    officers: &Officers,
    address: SocketAddr,
    first: usize,
    done: impl Fn(usize) -> bool,
) -> anyhow::Result<LoadResult> {
    let round_every = Duration::from_secs_f64(ISSUE_ROUND as f64 / ISSUE_RATE);
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut next = first;
    while !done(next) {
        let round = officers.issue(address, ISSUE_CONCURRENCY, next, ISSUE_ROUND, None).await?;
        latencies.extend(round.latencies);
        next += ISSUE_ROUND;
        let due = round_every * u32::try_from((next - first) / ISSUE_ROUND).unwrap_or(u32::MAX);
        tokio::time::sleep(due.saturating_sub(started.elapsed())).await;
    }
    Ok(LoadResult { latencies, elapsed: started.elapsed() })
}

/// The sweep did the whole job: every seeded fine handed over once, audited once.
fn check_all_handed_over(
    ctx: &AppState,
    size: usize,
    with_orders: usize,
    report: &serde_json::Value,
) -> anyhow::Result<()> {
    let mut conn = ctx.pool.get()?;
    let handed: i64 = fines::table.filter(fines::status.eq("payable_at_bank")).count().get_result(&mut *conn)?;
    let audited: i64 =
        audit_log::table.filter(audit_log::action.eq(crate::jobs::HANDED_OVER)).count().get_result(&mut *conn)?;
    anyhow::ensure!(
        handed as usize == size && audited as usize == size,
        "{handed} fines handed over and {audited} audited, of {size}: {report}"
    );
    anyhow::ensure!(report["orders_closed"] == with_orders, "every order closed: {report}");
    Ok(())
}
