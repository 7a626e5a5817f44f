//! `finepay bench`: load benchmarks that print tables (see PERFORMANCE.md).

use clap::Args;
use std::path::Path;

#[derive(Debug, Args)]
pub struct BenchArgs {}

pub fn run(_args: &BenchArgs, _config: Option<&Path>) -> anyhow::Result<()> {
    anyhow::bail!("no benchmark selected")
}
