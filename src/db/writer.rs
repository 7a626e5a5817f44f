//! Group commit. One transaction per request caps throughput at the database's commit rate:
//! every commit rewrites the same index pages (SQLite's WAL) or waits for a flush (PostgreSQL).
//! A batch writer instead takes every item queued at that moment, writes them all in one
//! transaction — with set-based statements where the [`Batch`] can — commits once, and only then
//! answers the callers, so nobody hears "done" before the data is durable. If the batch fails as
//! a whole, each item is retried alone in its own transaction, so one bad item fails only itself.

use super::{DbConnection, DbPool};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// The most items one transaction carries; bounds the latency a batch adds to its last item.
const MAX_BATCH: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("the database writer is not running")]
    Stopped,
    #[error("database connection: {0}")]
    Connection(String),
    #[error("the write panicked and was rolled back")]
    Panicked,
}

/// How one kind of write is done in batches.
pub trait Batch: Send + 'static {
    type Item: Send + 'static;
    type Output: Send + 'static;

    /// Writes `items` inside the open transaction and returns one output per item, in order.
    /// Any error rolls the whole batch back, after which every item goes through `run_alone`.
    fn run_batch(
        &mut self,
        conn: &mut DbConnection,
        items: &[Self::Item],
    ) -> Result<Vec<Self::Output>, diesel::result::Error>;

    /// Writes one item in a transaction of its own (the fallback after a failed batch).
    fn run_alone(&mut self, pool: &DbPool, conn: &mut DbConnection, item: &Self::Item) -> Self::Output;

    /// The output for an item that could not be attempted.
    fn failed(&self, why: WriteError) -> Self::Output;
}

type Queued<B> = (<B as Batch>::Item, oneshot::Sender<<B as Batch>::Output>);

pub struct BatchWriter<B: Batch> {
    queue: mpsc::Sender<Queued<B>>,
}

impl<B: Batch> Clone for BatchWriter<B> {
    fn clone(&self) -> Self {
        BatchWriter { queue: self.queue.clone() }
    }
}

impl<B: Batch> BatchWriter<B> {
    /// Starts the writer thread. One per process: SQLite has a single writer anyway, and on
    /// PostgreSQL each instance brings its own.
    pub fn start(pool: &DbPool, batch: B, name: &str) -> std::io::Result<Self> {
        let (queue, items) = mpsc::channel::<Queued<B>>();
        let pool = pool.clone();
        std::thread::Builder::new().name(format!("{name}-writer")).spawn(move || writer_loop(&pool, batch, &items))?;
        Ok(BatchWriter { queue })
    }

    /// Queues `item` for the next batch and resolves once that batch has committed (or failed).
    pub async fn submit(&self, item: B::Item, failed: impl FnOnce(WriteError) -> B::Output) -> B::Output {
        let (reply, answer) = oneshot::channel();
        if self.queue.send((item, reply)).is_err() {
            return failed(WriteError::Stopped);
        }
        answer.await.unwrap_or_else(|_| failed(WriteError::Stopped))
    }
}

fn writer_loop<B: Batch>(pool: &DbPool, mut batch: B, items: &mpsc::Receiver<Queued<B>>) {
    let mut conn = None;
    while let Ok(first) = items.recv() {
        let mut queued = vec![first];
        while queued.len() < MAX_BATCH {
            match items.try_recv() {
                Ok(next) => queued.push(next),
                Err(_) => break,
            }
        }
        let (work, replies): (Vec<_>, Vec<_>) = queued.into_iter().unzip();
        if conn.is_none() {
            match pool.get() {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    log::error!("database writer: {e}");
                    for reply in replies {
                        let _ = reply.send(batch.failed(WriteError::Connection(e.to_string())));
                    }
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let outputs = match catch_unwind(AssertUnwindSafe(|| pool.write(c, |c| batch.run_batch(c, &work)))) {
            Ok(Ok(outputs)) if outputs.len() == work.len() => outputs,
            outcome => {
                match outcome {
                    Ok(Ok(_)) => log::error!("database writer: the batch answered the wrong number of items"),
                    Ok(Err(e)) => {
                        log::warn!("database writer: batch of {} rolled back ({e}); writing each alone", work.len())
                    }
                    Err(_) => {
                        log::error!("database writer: a batch panicked; writing each item alone");
                        // The connection's transaction state is unknown after a panic.
                        conn = None;
                    }
                }
                run_each_alone(pool, &mut batch, &mut conn, &work)
            }
        };
        // The caller may have gone away (client disconnected); the write stands regardless.
        for (reply, output) in replies.into_iter().zip(outputs) {
            let _ = reply.send(output);
        }
    }
}

fn run_each_alone<B: Batch>(
    pool: &DbPool,
    batch: &mut B,
    conn: &mut Option<super::pool::PooledConnection>,
    work: &[B::Item],
) -> Vec<B::Output> {
    work.iter()
        .map(|item| {
            if conn.is_none() {
                match pool.get() {
                    Ok(c) => *conn = Some(c),
                    Err(e) => return batch.failed(WriteError::Connection(e.to_string())),
                }
            }
            let Some(c) = conn.as_mut() else { return batch.failed(WriteError::Stopped) };
            match catch_unwind(AssertUnwindSafe(|| batch.run_alone(pool, c, item))) {
                Ok(output) => output,
                Err(_) => {
                    *conn = None;
                    batch.failed(WriteError::Panicked)
                }
            }
        })
        .collect()
}
