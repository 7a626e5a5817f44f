//! `finepay backup FILE`: a copy of a SQLite database taken with SQLite's online backup API while
//! the daemon keeps serving. The copy is made in one step, inside one read transaction of the
//! source: in WAL mode that blocks no writer, and the copy is the database as of one commit —
//! every write acknowledged before the backup began is in it. The copy is written to a temporary
//! file of its own beside FILE and linked into place only when whole and on disk, never over an
//! existing file: FILE is never a half-written database, and two backups at once cannot mix.
//!
//! PostgreSQL has its own tools (`pg_dump`, base backups); `docs/operations.md` gives them.

use super::Backend;
use libsqlite3_sys as ffi;
use std::ffi::{CStr, CString};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("finepay backup copies SQLite databases; back up PostgreSQL with pg_dump (docs/operations.md)")]
    NotSqlite,
    #[error("{path}: {message}")]
    Sqlite { path: String, message: String },
    #[error("{0} already exists; name a new file")]
    Exists(String),
    #[error("the path {0:?} cannot be given to SQLite")]
    BadPath(String),
    #[error("writing the copy beside the target")]
    Io(#[from] std::io::Error),
}

/// Copies the database `database_url` names to `target`, a file that must not exist yet; the
/// number of pages copied.
pub fn backup(database_url: &str, target: &Path) -> Result<i32, BackupError> {
    let Ok(Backend::Sqlite { path }) = Backend::from_url(database_url) else {
        return Err(BackupError::NotSqlite);
    };
    if target.exists() {
        return Err(BackupError::Exists(target.display().to_string()));
    }
    let folder = match target.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    // Removed again if anything below fails.
    let partial = tempfile::Builder::new().prefix(".finepay-backup-").suffix(".partial").tempfile_in(folder)?;
    // Opened as the daemon opens it (read-write, never created): a read-only connection to a
    // WAL database needs its shared-memory file writable anyway. The backup only reads.
    let source = Handle::open(&path, ffi::SQLITE_OPEN_READWRITE)?;
    let pages = {
        let destination = Handle::open(&partial.path().display().to_string(), ffi::SQLITE_OPEN_READWRITE)?;
        copy(&source, &destination)?
    };
    partial.as_file().sync_all()?;
    // A link, not a rename: it fails rather than replace a file that appeared meanwhile.
    partial.persist_noclobber(target).map_err(|e| match e.error.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::Exists(target.display().to_string()),
        _ => BackupError::Io(e.error),
    })?;
    std::fs::File::open(folder)?.sync_all()?;
    Ok(pages)
}

/// Runs the backup from `source` into `destination` in one step; the pages copied.
fn copy(source: &Handle, destination: &Handle) -> Result<i32, BackupError> {
    let main = c"main";
    // SAFETY: both handles are open connections owned by this thread; the backup object is
    // finished before either is closed (they are dropped after this function returns).
    unsafe {
        let backup = ffi::sqlite3_backup_init(destination.db, main.as_ptr(), source.db, main.as_ptr());
        if backup.is_null() {
            return Err(destination.error());
        }
        // A writer holding the lock at this instant makes the step busy: wait for it, briefly.
        let mut rc = ffi::sqlite3_backup_step(backup, -1);
        for _ in 0..100 {
            if rc != ffi::SQLITE_BUSY && rc != ffi::SQLITE_LOCKED {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            rc = ffi::sqlite3_backup_step(backup, -1);
        }
        let pages = ffi::sqlite3_backup_pagecount(backup);
        let finished = ffi::sqlite3_backup_finish(backup);
        if rc != ffi::SQLITE_DONE {
            // The step's own code says why (busy for too long, say); the handles may not.
            let why = CStr::from_ptr(ffi::sqlite3_errstr(rc)).to_string_lossy().into_owned();
            return Err(BackupError::Sqlite { path: destination.path.clone(), message: why });
        }
        if finished != ffi::SQLITE_OK {
            return Err(destination.error());
        }
        Ok(pages)
    }
}

/// A raw SQLite connection, closed when dropped.
struct Handle {
    db: *mut ffi::sqlite3,
    path: String,
}

impl Handle {
    fn open(path: &str, flags: i32) -> Result<Handle, BackupError> {
        let c_path = CString::new(path).map_err(|_| BackupError::BadPath(path.to_owned()))?;
        let mut db = std::ptr::null_mut();
        // SAFETY: a valid NUL-terminated path and an out-pointer; on failure SQLite may still
        // hand back a handle, which `Handle`'s drop closes.
        let rc = unsafe { ffi::sqlite3_open_v2(c_path.as_ptr(), &mut db, flags, std::ptr::null()) };
        let handle = Handle { db, path: path.to_owned() };
        if rc != ffi::SQLITE_OK {
            return Err(handle.error());
        }
        // SAFETY: an open connection; the busy timeout lets the backup wait out a commit.
        unsafe { ffi::sqlite3_busy_timeout(handle.db, 10_000) };
        Ok(handle)
    }

    fn error(&self) -> BackupError {
        let message = if self.db.is_null() {
            "out of memory".to_owned()
        } else {
            // SAFETY: an open (or failed-open) handle; the message is copied before it can change.
            unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(self.db)).to_string_lossy().into_owned() }
        };
        BackupError::Sqlite { path: self.path.clone(), message }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: closing a handle this struct owns, once; a null handle is a no-op for SQLite.
        unsafe { ffi::sqlite3_close(self.db) };
    }
}
