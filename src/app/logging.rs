//! Log lines (`log` + `env_logger`, filtered by `RUST_LOG`) that never print onto a progress bar:
//! every line is written with the command's bars set aside and drawn again below it.

use indicatif::MultiProgress;
use log::{Log, Metadata, Record};

struct AroundBars {
    inner: env_logger::Logger,
    bars: MultiProgress,
}

impl Log for AroundBars {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if self.inner.matches(record) {
            self.bars.suspend(|| self.inner.log(record));
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

/// Installs the logger at `default_level` (unless `RUST_LOG` says otherwise) and returns the set
/// of progress bars it writes around.
pub fn init(default_level: &str) -> MultiProgress {
    let inner = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level)).build();
    let bars = MultiProgress::new();
    let max_level = inner.filter();
    if log::set_boxed_logger(Box::new(AroundBars { inner, bars: bars.clone() })).is_ok() {
        log::set_max_level(max_level);
    }
    bars
}
