//! Group commit. One transaction per request caps throughput at the database's commit rate:
//! every commit rewrites the same index pages (SQLite's WAL) or waits for a flush (PostgreSQL).
//! A batch writer instead takes every item queued at that moment, writes them all in one
//! transaction — with set-based statements where the [`Batch`] can — commits once, and only then
//! answers the callers, so nobody hears "done" before the data is durable. If the batch fails as
//! a whole, each item is retried alone in its own transaction, so one bad item fails only itself.

use super::pool::PooledConnection;
use super::{DbConnection, DbPool};
use crate::errors::Why;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

/// The most items one transaction carries; bounds the latency a batch adds to its last item.
const MAX_BATCH: usize = 256;
/// Items waiting beyond this many are refused at once: the database is not keeping up.
const MAX_QUEUED: usize = 16 * MAX_BATCH;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("the database writer is not running")]
    Stopped,
    #[error("no database connection: {0}")]
    Connection(#[source] Why),
    #[error("the write panicked and was rolled back")]
    Panicked,
    #[error("too many writes are waiting for the database")]
    Overloaded,
    #[error("the database did not answer within {0:?}")]
    TimedOut(Duration),
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
    queue: mpsc::SyncSender<Queued<B>>,
    timeout: Duration,
}

impl<B: Batch> Clone for BatchWriter<B> {
    fn clone(&self) -> Self {
        BatchWriter { queue: self.queue.clone(), timeout: self.timeout }
    }
}

impl<B: Batch> BatchWriter<B> {
    /// Starts the writer thread. One per process: SQLite has a single writer anyway, and on
    /// PostgreSQL each instance brings its own.
    /// Callers wait at most `timeout` for their batch; the write may still commit after that,
    /// which is why everything written through here must be idempotent.
    pub fn start(pool: &DbPool, batch: B, name: &str, timeout: Duration) -> std::io::Result<Self> {
        let (queue, items) = mpsc::sync_channel::<Queued<B>>(MAX_QUEUED);
        let pool = pool.clone();
        std::thread::Builder::new().name(format!("{name}-writer")).spawn(move || writer_loop(&pool, batch, &items))?;
        Ok(BatchWriter { queue, timeout })
    }

    /// Queues `item` for the next batch and resolves once that batch has committed (or failed).
    pub async fn submit(&self, item: B::Item, failed: impl FnOnce(WriteError) -> B::Output) -> B::Output {
        let (reply, answer) = oneshot::channel();
        match self.queue.try_send((item, reply)) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(_)) => return failed(WriteError::Overloaded),
            Err(mpsc::TrySendError::Disconnected(_)) => return failed(WriteError::Stopped),
        }
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(output)) => output,
            Ok(Err(_)) => failed(WriteError::Stopped),
            Err(_) => failed(WriteError::TimedOut(self.timeout)),
        }
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
        let outputs = write(pool, &mut batch, &mut conn, &work);
        // The caller may have gone away (client disconnected); the write stands regardless.
        for (reply, output) in replies.into_iter().zip(outputs) {
            let _ = reply.send(output);
        }
    }
}

/// Writes one batch, or each of its items alone if the batch fails. The writer keeps its
/// connection while batches succeed; after any failure it hands it back, so the pool tests it and
/// replaces one the database dropped (a restart, a failover) before the next write.
fn write<B: Batch>(
    pool: &DbPool,
    batch: &mut B,
    conn: &mut Option<PooledConnection>,
    work: &[B::Item],
) -> Vec<B::Output> {
    if conn.is_none() {
        match pool.get() {
            Ok(fresh) => *conn = Some(fresh),
            Err(e) => {
                log::error!("database writer: {e}");
                let why = Why::of(e);
                return work.iter().map(|_| batch.failed(WriteError::Connection(why.clone()))).collect();
            }
        }
    }
    if let Some(c) = conn.as_mut() {
        match catch_unwind(AssertUnwindSafe(|| pool.write(c, |c| batch.run_batch(c, work)))) {
            Ok(Ok(outputs)) if outputs.len() == work.len() => return outputs,
            Ok(Ok(_)) => log::error!("database writer: the batch answered the wrong number of items"),
            Ok(Err(e)) => log::warn!("database writer: batch of {} rolled back ({e}); writing each alone", work.len()),
            Err(_) => log::error!("database writer: a batch panicked; writing each item alone"),
        }
    }
    // The connection may be unusable (dropped, or mid-transaction after a panic).
    *conn = None;
    work.iter()
        .map(|item| {
            let mut alone = match pool.get() {
                Ok(alone) => alone,
                Err(e) => return batch.failed(WriteError::Connection(Why::of(e))),
            };
            catch_unwind(AssertUnwindSafe(|| batch.run_alone(pool, &mut alone, item)))
                .unwrap_or_else(|_| batch.failed(WriteError::Panicked))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::audit::{self, NewAuditEntry};
    use crate::db::migrate;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Writes one audit row per item; a negative item is bad and fails whatever holds it.
    struct Rows {
        alone_calls: Arc<AtomicUsize>,
    }

    fn write_row(conn: &mut DbConnection, item: i64) -> diesel::QueryResult<()> {
        let details = item.to_string();
        let at = chrono::Utc::now().naive_utc();
        audit::record(conn, &NewAuditEntry { at, actor: "test", action: "row", decision_no: None, details: &details })
    }

    impl Batch for Rows {
        type Item = i64;
        type Output = Result<i64, String>;

        fn run_batch(&mut self, conn: &mut DbConnection, items: &[i64]) -> diesel::QueryResult<Vec<Self::Output>> {
            for &item in items {
                write_row(conn, item)?;
                if item < 0 {
                    return Err(diesel::result::Error::RollbackTransaction);
                }
            }
            Ok(items.iter().map(|i| Ok(*i)).collect())
        }

        fn run_alone(&mut self, pool: &DbPool, conn: &mut DbConnection, item: &i64) -> Self::Output {
            self.alone_calls.fetch_add(1, Ordering::SeqCst);
            pool.write(conn, |conn| {
                write_row(conn, *item)?;
                if *item < 0 { Err(diesel::result::Error::RollbackTransaction) } else { Ok(*item) }
            })
            .map_err(|e| e.to_string())
        }

        fn failed(&self, why: WriteError) -> Self::Output {
            Err(why.to_string())
        }
    }

    #[actix_web::test]
    async fn a_failing_item_rolls_back_its_batch_and_fails_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/w.db", dir.path().display());
        let pool = DbPool::connect(&url, 2, std::time::Duration::from_secs(5)).expect("pool");
        migrate::run_pending(&pool).expect("migrations");
        let alone_calls = Arc::new(AtomicUsize::new(0));
        let writer =
            BatchWriter::start(&pool, Rows { alone_calls: alone_calls.clone() }, "test", Duration::from_secs(10))
                .expect("thread");

        let items = [1, 2, -3, 4, 5];
        let answers =
            futures_util::future::join_all(items.iter().map(|i| writer.submit(*i, |why| Err(why.to_string())))).await;

        assert_eq!(answers[0], Ok(1));
        assert_eq!(answers[1], Ok(2));
        assert!(answers[2].is_err(), "the bad item fails");
        assert_eq!(answers[3], Ok(4));
        assert_eq!(answers[4], Ok(5));
        assert!(alone_calls.load(Ordering::SeqCst) >= 1, "the failed batch was retried item by item");
        // Exactly the good items are stored, each once: the failed batch left nothing behind.
        let mut conn = pool.get().expect("connection");
        let rows: Vec<String> = audit::for_actor(&mut conn, "test").expect("rows");
        let mut stored: Vec<i64> = rows.iter().map(|d| d.parse().expect("number")).collect();
        stored.sort_unstable();
        assert_eq!(stored, vec![1, 2, 4, 5]);
    }

    /// Takes longer than any caller waits.
    struct Slow;

    impl Batch for Slow {
        type Item = ();
        type Output = Result<(), String>;

        fn run_batch(&mut self, _: &mut DbConnection, items: &[()]) -> diesel::QueryResult<Vec<Self::Output>> {
            std::thread::sleep(Duration::from_millis(300));
            Ok(items.iter().map(|_| Ok(())).collect())
        }

        fn run_alone(&mut self, _: &DbPool, _: &mut DbConnection, _: &()) -> Self::Output {
            Ok(())
        }

        fn failed(&self, why: WriteError) -> Self::Output {
            Err(why.to_string())
        }
    }

    #[actix_web::test]
    async fn a_caller_stops_waiting_after_the_timeout() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/w.db", dir.path().display());
        let pool = DbPool::connect(&url, 2, Duration::from_secs(5)).expect("pool");
        let writer = BatchWriter::start(&pool, Slow, "slow", Duration::from_millis(50)).expect("thread");
        let answer = writer.submit((), |why| Err(why.to_string())).await;
        assert_eq!(answer, Err(WriteError::TimedOut(Duration::from_millis(50)).to_string()));
    }
}
