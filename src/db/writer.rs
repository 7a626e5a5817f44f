//! Group commit. A single-row transaction per request caps throughput at the database's commit
//! rate: each commit rewrites the same index pages (SQLite's WAL) or waits for a flush
//! (PostgreSQL). Writer threads instead take every write queued at that moment, run each one in
//! its own savepoint inside one transaction, commit once, and only then answer the callers — so
//! nobody hears "done" before the data is durable, and one failing write rolls back only itself.

use super::{DbConnection, DbPool, PoolError};
use diesel::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// The most writes one transaction carries; bounds the latency a batch adds to its last member.
const MAX_BATCH: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("the database writer is not running")]
    Stopped,
    #[error("database connection: {0}")]
    Connection(String),
    #[error("the batch did not commit: {0}")]
    Commit(String),
    #[error("a write in the batch panicked; the batch was rolled back")]
    Panicked,
}

/// Called once the batch's fate is known: `Ok` when committed.
type Completion = Box<dyn FnOnce(Result<(), WriteError>) + Send>;

trait Job: Send {
    /// Runs the write in a savepoint of the open transaction.
    fn run(self: Box<Self>, conn: &mut DbConnection) -> Completion;
    /// Tells the caller the write could not be attempted.
    fn abandon(self: Box<Self>, why: WriteError);
}

struct Write<F, T, E> {
    work: F,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for Write<F, T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send,
    T: Send + 'static,
    E: From<diesel::result::Error> + From<WriteError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut DbConnection) -> Completion {
        let Write { work, reply } = *self;
        // Nested in the batch's transaction, this is a savepoint.
        let result = conn.transaction(work);
        Box::new(move |committed: Result<(), WriteError>| {
            let answer = match committed {
                Ok(()) => result,
                Err(why) => Err(E::from(why)),
            };
            // The caller may have gone away (client disconnected); the write stands regardless.
            let _ = reply.send(answer);
        })
    }

    fn abandon(self: Box<Self>, why: WriteError) {
        let _ = self.reply.send(Err(E::from(why)));
    }
}

#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts `threads` writer threads on `pool` (always one on SQLite, which has one writer).
    pub fn start(pool: &DbPool, threads: usize) -> Writer {
        let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
        let jobs = Arc::new(Mutex::new(jobs));
        let threads = if pool.is_sqlite() { 1 } else { threads.max(1) };
        for n in 0..threads {
            let (pool, jobs) = (pool.clone(), jobs.clone());
            let spawned =
                std::thread::Builder::new().name(format!("db-writer-{n}")).spawn(move || writer_loop(&pool, &jobs));
            if let Err(e) = spawned {
                log::error!("starting database writer {n}: {e}");
            }
        }
        Writer { queue }
    }

    /// Runs `work` in the next batch and resolves once that batch has committed (or failed).
    pub async fn run<F, T, E>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<diesel::result::Error> + From<WriteError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Box::new(Write { work, reply })).map_err(|_| E::from(WriteError::Stopped))?;
        answer.await.unwrap_or_else(|_| Err(E::from(WriteError::Stopped)))
    }
}

fn writer_loop(pool: &DbPool, jobs: &Mutex<mpsc::Receiver<Box<dyn Job>>>) {
    let mut conn: Option<super::pool::PooledConnection> = None;
    loop {
        let batch = {
            let jobs = jobs.lock().unwrap_or_else(PoisonError::into_inner);
            let Ok(first) = jobs.recv() else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        if conn.is_none() {
            conn = match pool.get() {
                Ok(c) => Some(c),
                Err(e) => {
                    log::error!("database writer: {e}");
                    batch.into_iter().for_each(|job| job.abandon(WriteError::Connection(e.to_string())));
                    continue;
                }
            };
        }
        if let Some(c) = conn.as_mut()
            && !run_batch(pool, c, batch)
        {
            // After a panic the connection's transaction state is unknown: start afresh.
            conn = None;
        }
    }
}

/// Runs one batch; false when the connection should be replaced.
fn run_batch(pool: &DbPool, conn: &mut DbConnection, batch: Vec<Box<dyn Job>>) -> bool {
    let size = batch.len();
    let mut completions = Vec::with_capacity(size);
    let mut batch = batch.into_iter();
    let outcome = pool.write(conn, |conn| {
        for job in batch.by_ref() {
            match catch_unwind(AssertUnwindSafe(|| job.run(conn))) {
                Ok(done) => completions.push(done),
                Err(_) => return Err(WriteError::Panicked),
            }
        }
        Ok::<_, WriteError>(())
    });
    let healthy = !matches!(outcome, Err(WriteError::Panicked));
    if let Err(e) = &outcome {
        log::error!("database writer: batch of {size} failed: {e}");
    }
    for done in completions {
        done(outcome.clone());
    }
    // Jobs not reached (after a panic) are answered too.
    for job in batch {
        job.abandon(outcome.clone().err().unwrap_or(WriteError::Panicked));
    }
    healthy
}

impl From<diesel::result::Error> for WriteError {
    fn from(e: diesel::result::Error) -> Self {
        WriteError::Commit(e.to_string())
    }
}

impl From<PoolError> for WriteError {
    fn from(e: PoolError) -> Self {
        WriteError::Connection(e.to_string())
    }
}
