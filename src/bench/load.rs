//! A closed-loop HTTP load generator: `concurrency` callers each send their next request as soon
//! as the last one is answered, every answer is checked, and each request's latency is kept.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub struct LoadResult {
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
}

/// Sends requests `0..total`; `check` turns a wrong answer into an error that fails the run.
pub async fn drive<Req, Check>(
    concurrency: usize,
    total: usize,
    request: Req,
    check: Check,
) -> anyhow::Result<LoadResult>
where
    Req: Fn(usize) -> reqwest::RequestBuilder,
    Check: Fn(usize, reqwest::StatusCode, &[u8]) -> Result<(), String>,
{
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let callers = (0..concurrency.max(1)).map(|_| async {
        let mut latencies = Vec::with_capacity(total / concurrency.max(1) + 1);
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= total {
                return Ok::<_, anyhow::Error>(latencies);
            }
            let sent = Instant::now();
            let response = request(i).send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            latencies.push(sent.elapsed());
            check(i, status, &body).map_err(|e| anyhow::anyhow!("request {i}: wrong answer: {e}"))?;
        }
    });
    let mut latencies = Vec::with_capacity(total);
    for caller in futures_util::future::join_all(callers).await {
        latencies.extend(caller?);
    }
    Ok(LoadResult { latencies, elapsed: started.elapsed() })
}
