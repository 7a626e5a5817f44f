//! `bench page`: the QR scan burst. Many payers open their bills' pages at once — `GET /P/{token}`,
//! the URL in the QR code — over a set of live fines, in Chinese, every answer checked to be the
//! pending page with its channel buttons. The ceiling is an actix handler that answers a constant
//! page of the same size with the same headers, on as many workers, driven the same way — what is
//! left is finepay's own work (token check, one read, the page's rendering).

use super::Common;
use super::harness::{self, BenchDb, Target, peak_rss_mib, reset_peak_rss};
use super::issue;
use super::load::{self, LoadResult, drive};
use super::report::Row;
use crate::http::page_headers;
use actix_web::{App, HttpResponse, HttpServer, web};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;

/// Distinct fines whose pages are asked for, round robin.
const FINES: usize = 2_000;

pub(super) struct PageRows {
    pub constant: Row,
    pub page: Row,
}

pub(super) fn run(target: &Target, common: &Common, config: Option<&Path>) -> anyhow::Result<PageRows> {
    let db = BenchDb::fresh(target)?;
    let settings = harness::settings(config, &db, common.concurrency + 4)?;
    let workers = match settings.server.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    actix_web::rt::System::new().block_on(async move {
        let harness::Daemon { address, ctx, server, .. } = harness::start(settings)?;
        let paths = issue::pay_paths(&ctx, address, common.concurrency, FINES).await?;
        let request =
            |i: usize| load::request("GET", &paths[i % paths.len()], &[("Accept-Language", "zh-CN,zh;q=0.9")], b"");
        let check = |_: usize, status: u16, body: &[u8]| {
            let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
            if status == 200 && text.contains("id=\"state\"") && text.contains("id=\"pay-wechat\"") {
                Ok(())
            } else {
                Err(format!("{status}: {}", &text[..text.len().min(300)]))
            }
        };

        // The constant page is a real pay page, so both answers weigh the same on the wire.
        let sample = load_one(address, &paths[0]).await?;
        let constant = ConstantPage::start(workers, sample)?;
        let ceiling = measure(constant.address, common, &request, &check).await?;
        constant.handle.stop(true).await;
        let page = measure(address, common, &request, &check).await?;
        server.stop(true).await;

        let row = |name: &str, (result, peak): (LoadResult, f64)| Row::http(name, target.name(), common, peak, result);
        Ok(PageRows { constant: row("ceiling: actix constant page", ceiling), page: row("page: GET /P/{token}", page) })
    })
}

async fn measure(
    address: SocketAddr,
    common: &Common,
    request: &impl Fn(usize) -> Vec<u8>,
    check: &impl Fn(usize, u16, &[u8]) -> Result<(), String>,
) -> anyhow::Result<(LoadResult, f64)> {
    drive(address, common.concurrency, common.warmup, request, check).await?;
    reset_peak_rss();
    let measured = drive(address, common.concurrency, common.requests, request, check).await?;
    Ok((measured, peak_rss_mib()))
}

async fn load_one(address: SocketAddr, path: &str) -> anyhow::Result<Vec<u8>> {
    let body = std::sync::Mutex::new(Vec::new());
    let request = |_: usize| load::request("GET", path, &[("Accept-Language", "zh-CN")], b"");
    drive(address, 1, 1, request, |_, status, answer| {
        *body.lock().unwrap_or_else(|p| p.into_inner()) = answer.to_vec();
        if status == 200 { Ok(()) } else { Err(format!("{status}")) }
    })
    .await?;
    Ok(body.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// An actix server that answers every request with the same page.
struct ConstantPage {
    address: SocketAddr,
    handle: actix_web::dev::ServerHandle,
}

impl ConstantPage {
    fn start(workers: usize, page: Vec<u8>) -> anyhow::Result<ConstantPage> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let page = web::Bytes::from(page);
        let server = HttpServer::new(move || {
            let page = page.clone();
            App::new().default_service(web::to(move || {
                let page = page.clone();
                async move { page_headers(HttpResponse::Ok()).content_type("text/html; charset=utf-8").body(page) }
            }))
        })
        .workers(workers)
        .listen(listener)?
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Ok(ConstantPage { address, handle })
    }
}
