//! The raw ceilings the HTTP benchmarks are compared with. The database's: fines inserted by
//! diesel directly, one transaction per fine, from one thread — first the fine row alone (the
//! ceiling docs/benchmarks.md names), then every row an issue writes (serial, fine, audit entry,
//! idempotency record). The signature's: ring verifying RSA-2048 PKCS#1 SHA-256 signatures on
//! every core, as the notification path must for each notification.

use super::Common;
use super::harness::{BenchDb, Target, peak_rss_mib, reset_peak_rss};
use super::report::Row;
use crate::channels::RsaSigningKey;
use crate::db::fines::{self, NewFine};
use crate::db::idempotency::{self, IdempotencyRecord};
use crate::db::{DbConnection, DbPool, audit, migrate, serials};
use chrono::{NaiveDate, Utc};
use std::time::{Duration, Instant};

pub(crate) fn one_row_per_transaction(target: &Target, common: &Common) -> anyhow::Result<Row> {
    measure(target, common, "db-ceiling: fine row, 1 txn each", |conn, i, fine| {
        let no = format!("{:019}", 1_000_000_000_000_000_000u64 + i as u64);
        fines::insert(conn, &NewFine { decision_no: &no, ..*fine })
    })
}

pub(crate) fn issue_rows_per_transaction(target: &Target, common: &Common) -> anyhow::Result<Row> {
    let day = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap_or_default();
    measure(target, common, "db-ceiling: issue's rows, 1 txn each", move |conn, i, fine| {
        // Spread over districts as the issue bench does, so no counter row exceeds its 99,999.
        let district = ["110101", "110105", "110108"][i % 3];
        let serial = serials::next_serial(conn, district, day)?;
        let no = format!("{district}261121{serial:05}{:02}", i % 100);
        fines::insert(conn, &NewFine { decision_no: &no, district_code: district, ..*fine })?;
        let details = format!("{{\"amount_fen\":{}}}", fine.amount_fen);
        let at = fine.issued_at;
        audit::record(
            conn,
            &audit::NewAuditEntry {
                at,
                actor: "bench",
                action: "fine.issue",
                decision_no: Some(&no),
                details: &details,
            },
        )?;
        idempotency::insert(
            conn,
            &IdempotencyRecord {
                credential_id: "bench".into(),
                idempotency_key: format!("key-{i}"),
                request_hash: "0".repeat(64),
                response_status: 201,
                response_body: "x".repeat(800),
                created_at: at,
            },
        )
    })
}

fn measure(
    target: &Target,
    common: &Common,
    name: &str,
    insert: impl Fn(&mut DbConnection, usize, &NewFine<'_>) -> diesel::QueryResult<()>,
) -> anyhow::Result<Row> {
    let db = BenchDb::fresh(target)?;
    let pool = DbPool::connect(&db.url, 2, Duration::from_secs(10))?;
    migrate::run_pending(&pool)?;
    let mut conn = pool.get()?;
    let now = Utc::now().naive_utc();
    let template = NewFine::template(now);
    for i in 0..common.warmup {
        pool.write(&mut conn, |c| insert(c, i, &template))?;
    }
    reset_peak_rss();
    let mut latencies = Vec::with_capacity(common.requests);
    let started = Instant::now();
    for i in common.warmup..common.warmup + common.requests {
        let one = Instant::now();
        pool.write(&mut conn, |c| insert(c, i, &template))?;
        latencies.push(one.elapsed());
    }
    let elapsed = started.elapsed();
    let row = Row {
        name: name.into(),
        backend: target.name(),
        concurrency: 1,
        peak_rss_mib: peak_rss_mib(),
        ..Row::default()
    };
    Ok(row.with_latencies(latencies, elapsed))
}

/// RSA-2048 signature verifications per second with ring, one thread per core, over a message
/// the size of a WeChat notification; `keys` is the simulator's key folder (its platform key).
pub(crate) fn rsa_verify(common: &Common, signing_key_pem: &str) -> anyhow::Result<Row> {
    let key = RsaSigningKey::from_pem(signing_key_pem)?;
    let public = key.public_key();
    let message = vec![b'n'; 900];
    let signature = key.sign(&message)?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per_thread = (common.warmup + common.requests).div_ceil(threads);
    let verify_all = |count: usize| {
        let (public, message, signature) = (&public, &message, &signature);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(move || {
                        (0..count)
                            .map(|_| {
                                let one = Instant::now();
                                let valid = public.verify(message, signature);
                                (valid, one.elapsed())
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect::<Vec<_>>()
        })
    };
    verify_all(common.warmup.div_ceil(threads));
    let started = Instant::now();
    let results = verify_all(per_thread);
    let elapsed = started.elapsed();
    anyhow::ensure!(results.len() == per_thread * threads, "a verifying thread failed");
    anyhow::ensure!(results.iter().all(|(valid, _)| *valid), "a valid signature failed to verify");
    let row =
        Row { name: "ceiling: ring RSA-2048 verify".into(), backend: "—", concurrency: threads, ..Row::default() };
    Ok(row.with_latencies(results.into_iter().map(|(_, took)| took).collect(), elapsed))
}
