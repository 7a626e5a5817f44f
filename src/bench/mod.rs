//! `finepay bench`: load benchmarks that print tables. Each starts what it needs (a fresh
//! database, the daemon on port 0), drives it over real HTTP with a fixed concurrency, checks
//! every answer, and reports a ratio to the raw ceiling measured by the same command, back to
//! back — timings drift on shared machines, ratios measured in one run do not (docs/benchmarks.md).

pub(crate) mod ceiling;
mod harness;
mod import;
mod issue;
mod load;
mod page;
mod pay;
mod report;
mod sim_process;
mod statement_files;
mod sweep;
mod write_floor;

use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub which: Which,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Which {
    /// POST /api/v1/fines with fresh idempotency keys, against the db-ceiling.
    Issue,
    /// Fines inserted by diesel directly, one transaction per fine.
    DbCeiling,
    /// Signed channel notifications to /notify/*, against min(ring's RSA verify rate, db-ceiling).
    Pay,
    /// GET /P/{token} for many fines (the QR scan burst), against an actix constant page.
    Page,
    /// A bank statement of N lines (CSV, camt.053) imported as `finepay bank import` does, against
    /// reading the file alone.
    Import {
        /// Lines in the statement, each paying one fine (a 100,000-line run goes first).
        #[arg(long, default_value_t = 1_000_000)]
        lines: usize,
        /// Fines seeded, payable at banks (at least --lines).
        #[arg(long, default_value_t = 1_000_000)]
        fines: usize,
    },
    /// One import of `bench import`, in a process of its own so its peak memory is its own.
    #[command(hide = true)]
    ImportRun {
        /// The statement file to import.
        #[arg(long)]
        file: PathBuf,
    },
    /// The expire job over N ended fines, against one set-based UPDATE; issue's p99 meanwhile.
    Sweep {
        /// How many ended fines, one run each.
        #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
        fines: Vec<usize>,
        /// The share of them with a channel order open at the simulator, in percent.
        #[arg(long, default_value_t = 1.0)]
        orders_percent: f64,
    },
}

#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Measured operations per run (after the warm-up).
    #[arg(long, default_value_t = 20_000, global = true)]
    pub requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32, global = true)]
    pub concurrency: usize,
    /// Operations before measuring starts.
    #[arg(long, default_value_t = 2_000, global = true)]
    pub warmup: usize,
    /// Also run on PostgreSQL, in a fresh schema of this database (default: $FINEPAY_BENCH_POSTGRES_URL).
    #[arg(long, global = true)]
    pub postgres_url: Option<String>,
    /// Skip SQLite.
    #[arg(long, global = true)]
    pub no_sqlite: bool,
}

pub fn run(args: &BenchArgs, config: Option<&Path>) -> anyhow::Result<()> {
    if let Which::ImportRun { file } = &args.which {
        return import::run_child(config, file);
    }
    let mut targets = Vec::new();
    if !args.common.no_sqlite {
        targets.push(harness::Target::Sqlite);
    }
    let postgres = args.common.postgres_url.clone().or_else(|| std::env::var("FINEPAY_BENCH_POSTGRES_URL").ok());
    if let Some(url) = postgres.filter(|u| !u.is_empty()) {
        targets.push(harness::Target::Postgres(url));
    }
    anyhow::ensure!(!targets.is_empty(), "nothing to measure: give --postgres-url or drop --no-sqlite");
    if let Which::Import { lines, fines } = &args.which {
        return import::run(&targets, config, *lines, *fines);
    }
    let mut table = report::Table::default();
    for target in &targets {
        match &args.which {
            Which::DbCeiling => {
                table.push(ceiling::one_row_per_transaction(target, &args.common)?);
                table.push(ceiling::issue_rows_per_transaction(target, &args.common)?);
            }
            Which::Issue => {
                let one_row = ceiling::one_row_per_transaction(target, &args.common)?;
                let issue_rows = ceiling::issue_rows_per_transaction(target, &args.common)?;
                let mut measured = issue::run(target, &args.common, config)?;
                measured.ratio = Some(measured.throughput / one_row.throughput);
                measured.ratio_note =
                    format!("÷ one row/txn ({:.2} ÷ same rows/txn)", measured.throughput / issue_rows.throughput);
                table.push(one_row);
                table.push(issue_rows);
                table.push(measured);
            }
            Which::Pay => {
                let one_row = ceiling::one_row_per_transaction(target, &args.common)?;
                let keys = crate::app::Settings::load(config)?.simulator.keys;
                let verify = ceiling::rsa_verify(&args.common, &keys.wechat_platform_key)?;
                let mut measured = pay::run(target, &args.common, config)?;
                let lower = one_row.throughput.min(verify.throughput);
                measured.ratio = Some(measured.throughput / lower);
                measured.ratio_note =
                    format!("÷ {}", if verify.throughput < one_row.throughput { "RSA verify" } else { "one row/txn" });
                table.push(verify);
                table.push(one_row);
                table.push(measured);
            }
            Which::Sweep { fines, orders_percent } => {
                anyhow::ensure!((0.0..=100.0).contains(orders_percent), "--orders-percent is 0-100");
                for row in sweep::run(target, config, fines, *orders_percent)? {
                    table.push(row);
                }
            }
            Which::Import { .. } | Which::ImportRun { .. } => {}
            Which::Page => {
                let page::PageRows { constant, mut page } = page::run(target, &args.common, config)?;
                page.ratio = Some(page.throughput / constant.throughput);
                page.ratio_note = "÷ constant page".into();
                table.push(constant);
                table.push(page);
            }
        }
    }
    println!("{}", table.render(&args.common));
    Ok(())
}
