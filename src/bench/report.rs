//! The benchmark table: one row per measurement, in Markdown so it pastes into the README.

use super::Common;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub name: String,
    pub backend: &'static str,
    pub operations: usize,
    pub concurrency: usize,
    pub throughput: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub peak_rss_mib: f64,
    pub ratio: Option<f64>,
    pub ratio_note: String,
}

impl Row {
    /// A row for an HTTP run of `common`'s concurrency.
    pub(crate) fn http(
        name: &str,
        backend: &'static str,
        common: &Common,
        peak_rss_mib: f64,
        run: super::load::LoadResult,
    ) -> Row {
        Row { name: name.into(), backend, concurrency: common.concurrency, peak_rss_mib, ..Row::default() }
            .with_latencies(run.latencies, run.elapsed)
    }

    /// Fills throughput and latency figures from per-operation latencies over `elapsed`.
    pub(crate) fn with_latencies(mut self, mut latencies: Vec<Duration>, elapsed: Duration) -> Row {
        latencies.sort_unstable();
        let pick = |q: f64| {
            let i = ((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1);
            latencies.get(i).copied().unwrap_or_default()
        };
        self.operations = latencies.len();
        self.throughput = latencies.len() as f64 / elapsed.as_secs_f64().max(f64::EPSILON);
        self.p50 = pick(0.50);
        self.p99 = pick(0.99);
        self.max = latencies.last().copied().unwrap_or_default();
        self
    }
}

#[derive(Debug, Default)]
pub(super) struct Table(Vec<Row>);

impl Table {
    pub(super) fn push(&mut self, row: Row) {
        self.0.push(row);
    }

    pub(super) fn render(&self, common: &Common) -> String {
        let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
        let mut out = format!(
            "finepay bench — {} operations after {} warm-up, concurrency {} for HTTP runs\n\n",
            common.requests, common.warmup, common.concurrency
        );
        out.push_str("| run | backend | ops | conc. | ops/s | p50 ms | p99 ms | max ms | peak RSS MiB | ratio |\n");
        out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for r in &self.0 {
            let ratio = r.ratio.map(|x| format!("**{x:.2}** {}", r.ratio_note)).unwrap_or_else(|| "—".into());
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {:.1} | {} |\n",
                r.name,
                r.backend,
                r.operations,
                r.concurrency,
                r.throughput,
                ms(r.p50),
                ms(r.p99),
                ms(r.max),
                r.peak_rss_mib,
                ratio
            ));
        }
        out
    }
}
