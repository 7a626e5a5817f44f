//! The thread the jobs' database work runs on, at the lowest CPU priority (nice 19): on a busy
//! machine a sweep of a million fines takes the CPU only when requests leave it idle, instead of
//! sharing it with them equally. One thread, so the jobs' writes also queue behind each other
//! rather than beside the requests' writes.

use super::JobError;
use std::sync::OnceLock;
use std::sync::mpsc::{self, Sender};

type Work = Box<dyn FnOnce() + Send>;

/// Runs `work` on the background thread and waits (asynchronously) for its result.
pub async fn run<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, JobError> + Send + 'static,
) -> Result<T, JobError> {
    let (done, result) = tokio::sync::oneshot::channel();
    let task: Work = Box::new(move || {
        let _ = done.send(work());
    });
    thread()?.send(task).map_err(|_| JobError::Database("the background thread is gone".into()))?;
    result.await.map_err(|_| JobError::Database("the background work panicked".into()))?
}

fn thread() -> Result<&'static Sender<Work>, JobError> {
    static QUEUE: OnceLock<Result<Sender<Work>, String>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (queue, tasks) = mpsc::channel::<Work>();
            std::thread::Builder::new()
                .name("finepay-jobs".into())
                .spawn(move || {
                    lower_priority();
                    for task in tasks {
                        task();
                    }
                })
                .map(|_| queue)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| JobError::Database(format!("starting the background thread: {e}")))
}

/// nice 19 for this thread alone (Linux schedules threads separately; elsewhere a no-op).
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
