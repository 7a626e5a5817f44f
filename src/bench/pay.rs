//! `bench pay`: a notification storm. Fines are issued, an order is opened for each at WeChat
//! Pay, Alipay or UnionPay in turn (all against the simulator), and the simulated payer pays them
//! all; then the signed notifications — real RSA-2048 signatures, WeChat's AES-256-GCM resource,
//! UnionPay's certificate chain — are delivered to `/notify/*` as fast as finepay takes them.
//! Every reply must be the channel's success reply, and afterwards every fine must be paid once.

use super::Common;
use super::harness::{self, BenchDb, Target, peak_rss_mib, reset_peak_rss};
use super::issue;
use super::load::{self, drive};
use super::report::Row;
use crate::channels::ChannelKind;
use crate::channels::sim::{Delivery, Simulator};
use crate::db::schema::{fines, payments};
use diesel::prelude::*;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;

pub(super) fn run(target: &Target, common: &Common, config: Option<&Path>) -> anyhow::Result<Row> {
    let total = common.warmup + common.requests;
    let db = BenchDb::fresh(target)?;
    let settings = harness::settings(config, &db, common.concurrency + 4)?;
    actix_web::rt::System::new().block_on(async move {
        let harness::Daemon { address, ctx, server, simulator } = harness::start(settings)?;
        let simulator = simulator.ok_or_else(|| anyhow::anyhow!("bench pay needs [simulator] enabled"))?;

        let paths = issue::pay_paths(&ctx, address, common.concurrency, total).await?;
        let links = open_orders_retrying(address, common.concurrency, &paths).await?;
        let deliveries = pay_all(&simulator, &links)?;
        let requests: Vec<Vec<u8>> = deliveries.iter().map(as_request).collect::<anyhow::Result<_>>()?;
        let check = |i: usize, status: u16, body: &[u8]| {
            let expected = success_reply(channel_of(i));
            if (status, body) == expected {
                Ok(())
            } else {
                Err(format!("{status}: {}", String::from_utf8_lossy(body)))
            }
        };

        let (warmup, measured) = requests.split_at(common.warmup);
        drive(address, common.concurrency, warmup.len(), |i| warmup[i].as_slice(), check).await?;
        reset_peak_rss();
        let offset = common.warmup;
        let measured = drive(
            address,
            common.concurrency,
            measured.len(),
            |i| measured[i].as_slice(),
            |i, s, b| check(offset + i, s, b),
        )
        .await?;
        let peak = peak_rss_mib();

        // Every notification paid its fine, once.
        let mut conn = ctx.pool.get()?;
        let paid: i64 = fines::table.filter(fines::status.eq("paid")).count().get_result(&mut *conn)?;
        let applied: i64 = payments::table.filter(payments::outcome.eq("applied")).count().get_result(&mut *conn)?;
        let all: i64 = payments::table.count().get_result(&mut *conn)?;
        anyhow::ensure!(
            paid as usize == total && applied == paid && all == paid,
            "{total} notifications left {paid} fines paid, {applied} payments applied, {all} payments"
        );
        drop(conn);
        server.stop(true).await;

        Ok(Row::http("pay: POST /notify/* (W, A, U in turn)", target.name(), common, peak, measured))
    })
}

/// The channel of the `i`th fine.
fn channel_of(i: usize) -> ChannelKind {
    ChannelKind::ALL[i % ChannelKind::ALL.len()]
}

/// What each channel's notification sender counts as "received".
fn success_reply(channel: ChannelKind) -> (u16, &'static [u8]) {
    match channel {
        ChannelKind::Wechat => (204, b""),
        ChannelKind::Alipay => (200, b"success"),
        ChannelKind::Unionpay => (200, b"ok"),
    }
}

/// Opens each fine's order at its channel (`POST /P/{token}/pay`); returns the channels' pay links.
async fn open_orders(
    address: SocketAddr,
    concurrency: usize,
    orders: &[(String, ChannelKind)],
) -> anyhow::Result<Vec<String>> {
    let links = Mutex::new(vec![String::new(); orders.len()]);
    let request = |i: usize| {
        let (path, channel) = &orders[i];
        // A second screen's tap: the channel's own code (the flow every channel has).
        let body = format!("{{\"channel\":\"{}\",\"client\":\"desktop\"}}", channel.as_str());
        load::request("POST", &format!("{path}/pay"), &[("Content-Type", "application/json")], body.as_bytes())
    };
    let check = |i: usize, status: u16, body: &[u8]| {
        if status == 503 {
            return Ok(()); // left empty: opened again by the caller
        }
        let answer: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let link = answer["qr_content"].as_str().filter(|_| status == 200);
        let link = link.ok_or_else(|| format!("{status}: {answer}"))?;
        links.lock().unwrap_or_else(|p| p.into_inner())[i] = link.to_owned();
        Ok(())
    };
    drive(address, concurrency, orders.len(), request, check).await?;
    Ok(links.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// As [`open_orders`], where a payer taps again when the channel did not answer (503): only
/// that answer is retried, a few times.
async fn open_orders_retrying(
    address: SocketAddr,
    concurrency: usize,
    paths: &[String],
) -> anyhow::Result<Vec<String>> {
    let orders: Vec<(String, ChannelKind)> =
        paths.iter().enumerate().map(|(i, p)| (p.clone(), channel_of(i))).collect();
    let mut links = open_orders(address, concurrency, &orders).await?;
    for _ in 0..3 {
        let missing: Vec<usize> = (0..links.len()).filter(|i| links[*i].is_empty()).collect();
        if missing.is_empty() {
            break;
        }
        let again = open_orders(address, 1, &missing.iter().map(|i| orders[*i].clone()).collect::<Vec<_>>()).await?;
        for (i, link) in missing.into_iter().zip(again) {
            links[i] = link;
        }
    }
    anyhow::ensure!(links.iter().all(|l| !l.is_empty()), "a channel kept failing to open orders");
    Ok(links)
}

/// The simulated payers pay every order (signing costs, so on every core); returns the
/// notifications in the orders' order.
fn pay_all(simulator: &Simulator, links: &[String]) -> anyhow::Result<Vec<Delivery>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = links.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = links
            .chunks(chunk)
            .map(|links| {
                scope.spawn(move || {
                    links
                        .iter()
                        .map(|link| simulator.pay_link(link).map(|paid| paid.notification))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(links.len());
        for worker in workers {
            let paid = worker.join().map_err(|_| anyhow::anyhow!("a paying thread panicked"))?;
            all.extend(paid.map_err(|e| anyhow::anyhow!("the simulated payer could not pay: {e}"))?);
        }
        Ok(all)
    })
}

fn as_request(delivery: &Delivery) -> anyhow::Result<Vec<u8>> {
    let path = delivery.url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]));
    let path = path.ok_or_else(|| anyhow::anyhow!("notify URL without a path: {}", delivery.url))?;
    let mut headers: Vec<(&str, &str)> = vec![("Content-Type", delivery.content_type.as_str())];
    headers.extend(delivery.headers.iter().map(|(name, value)| (name.as_str(), value.as_str())));
    Ok(load::request("POST", path, &headers, &delivery.body))
}
