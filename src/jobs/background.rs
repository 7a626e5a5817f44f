//! Where the jobs run. Their own async runtime, whose threads have the lowest CPU priority
//! (nice 19): a sweep signs thousands of channel requests (RSA-2048), and on a busy machine that
//! should take the CPU only when requests leave it idle — and never on the threads that answer
//! requests. Their database work runs on one thread of its own at normal priority instead: on
//! SQLite a job's transaction holds the only write lock, and a low-priority thread preempted
//! while holding it would keep every request's write waiting (priority inversion). One thread,
//! so the jobs' writes queue behind each other rather than beside the requests' writes.

use super::JobError;
use crate::errors::Why;
use std::future::Future;
use std::sync::OnceLock;
use std::sync::mpsc::{self, Sender};

/// Runs `job` on the jobs' runtime and waits (from any runtime) for its result.
pub(super) async fn spawn<T: Send + 'static>(
    job: impl Future<Output = Result<T, JobError>> + Send + 'static,
) -> Result<T, JobError> {
    runtime()?.spawn(job).await.map_err(|e| JobError::Runtime("job stopped", Why::of(e)))?
}

/// Runs blocking (database) `work` on the jobs' database thread and waits for its result.
pub(super) async fn run<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, JobError> + Send + 'static,
) -> Result<T, JobError> {
    let (done, result) = tokio::sync::oneshot::channel();
    let task: Work = Box::new(move || {
        let _ = done.send(work());
    });
    database_thread()?.send(task).map_err(|_| JobError::Runtime("database thread is gone", "stopped".into()))?;
    result.await.map_err(|_| JobError::Runtime("database work panicked", "no answer".into()))?
}

type Work = Box<dyn FnOnce() + Send>;

fn database_thread() -> Result<&'static Sender<Work>, JobError> {
    static QUEUE: OnceLock<Result<Sender<Work>, Why>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (queue, tasks) = mpsc::channel::<Work>();
            std::thread::Builder::new()
                .name("finepay-jobs-db".into())
                .spawn(move || {
                    for task in tasks {
                        task();
                    }
                })
                .map(|_| queue)
                .map_err(Why::of)
        })
        .as_ref()
        .map_err(|e| JobError::Runtime("database thread did not start", e.clone()))
}

fn runtime() -> Result<&'static tokio::runtime::Runtime, JobError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, Why>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(cores)
                .thread_name("finepay-jobs")
                .on_thread_start(lower_priority)
                .enable_all()
                .build()
                .map_err(Why::of)
        })
        .as_ref()
        .map_err(|e| JobError::Runtime("runtime did not start", e.clone()))
}

/// nice 19 for the calling thread alone (Linux schedules threads separately; elsewhere a no-op).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority take plain integers and touch no memory of ours.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, 19) != 0 {
            log::warn!("could not lower the jobs' thread priority");
        }
    }
}
