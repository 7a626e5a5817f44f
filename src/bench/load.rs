//! A closed-loop HTTP/1.1 load generator: `concurrency` keep-alive connections, each sending its
//! next request as soon as the last one is answered; every answer is checked and timed. It writes
//! requests and parses answers by hand so that, on a two-core machine, the load costs the daemon
//! under test as little CPU as possible (a full client took most of a core at these rates).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(crate) struct LoadResult {
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
}

/// One HTTP/1.1 request, ready to write.
pub(super) fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: finepay-bench\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Sends requests `0..total`; `check` turns a wrong answer into an error that fails the run.
pub(super) async fn drive<Req, Bytes, Check>(
    address: SocketAddr,
    concurrency: usize,
    total: usize,
    make: Req,
    check: Check,
) -> anyhow::Result<LoadResult>
where
    Req: Fn(usize) -> Bytes,
    Bytes: AsRef<[u8]>,
    Check: Fn(usize, u16, &[u8]) -> Result<(), String>,
{
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let callers = (0..concurrency.max(1)).map(|_| async {
        let mut connection = Connection::open(address).await?;
        let mut latencies = Vec::with_capacity(total / concurrency.max(1) + 1);
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= total {
                return Ok::<_, anyhow::Error>(latencies);
            }
            let sent = Instant::now();
            let (status, body) = connection.exchange(make(i).as_ref()).await?;
            latencies.push(sent.elapsed());
            check(i, status, body).map_err(|e| anyhow::anyhow!("request {i}: wrong answer: {e}"))?;
        }
    });
    let mut latencies = Vec::with_capacity(total);
    for caller in futures_util::future::join_all(callers).await {
        latencies.extend(caller?);
    }
    Ok(LoadResult { latencies, elapsed: started.elapsed() })
}

struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// Bytes of `buffer` that belong to the next answer.
    filled: usize,
    body: Vec<u8>,
}

impl Connection {
    async fn open(address: SocketAddr) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Connection { stream, buffer: vec![0; 16 * 1024], filled: 0, body: Vec::new() })
    }

    /// Writes one request and reads its answer: (status, body).
    async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<(u16, &[u8])> {
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(end) = find(&self.buffer[..self.filled], b"\r\n\r\n") {
                break end + 4;
            }
            if self.filled == self.buffer.len() {
                anyhow::bail!("response head larger than {} bytes", self.buffer.len());
            }
            let n = self.stream.read(&mut self.buffer[self.filled..]).await?;
            anyhow::ensure!(n > 0, "the server closed the connection");
            self.filled += n;
        };
        let head = std::str::from_utf8(&self.buffer[..head_end])?;
        let status: u16 =
            head.get(9..12).and_then(|s| s.parse().ok()).ok_or_else(|| anyhow::anyhow!("bad status line"))?;
        let declared = head
            .lines()
            .find_map(|l| l.split_once(':').filter(|(name, _)| name.eq_ignore_ascii_case("content-length")))
            .and_then(|(_, v)| v.trim().parse().ok());
        // 204 and 304 answers have no body, and no Content-Length to say so.
        let length: usize = match status {
            204 | 304 => 0,
            _ => declared.ok_or_else(|| anyhow::anyhow!("answer without Content-Length"))?,
        };
        self.body.clear();
        let available = (self.filled - head_end).min(length);
        self.body.extend_from_slice(&self.buffer[head_end..head_end + available]);
        // Keep what follows this answer (nothing, with one request in flight per connection).
        self.buffer.copy_within(head_end + available..self.filled, 0);
        self.filled -= head_end + available;
        while self.body.len() < length {
            let mut chunk = [0u8; 8192];
            let want = (length - self.body.len()).min(chunk.len());
            let n = self.stream.read(&mut chunk[..want]).await?;
            anyhow::ensure!(n > 0, "the server closed the connection mid-body");
            self.body.extend_from_slice(&chunk[..n]);
        }
        Ok((status, &self.body))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
