//! The `finepay` command: parses the command line and calls the library. A mistake prints one
//! line on standard error (never a backtrace) and exits 1; clap's own usage errors exit 2.

use clap::{Parser, Subcommand};
use finepay::app::Settings;
use finepay::app::commands;
use finepay::bank::Format;
use finepay::bench::{self, BenchArgs};
use finepay::credentials::Requested;
use finepay::jobs::Job;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "finepay", about = "Traffic fine bills with QR payment windows", version)]
struct Cli {
    /// A configuration file read over the built-in defaults (also: FINEPAY_CONFIG); environment
    /// variables FINEPAY__<SECTION>__<KEY> override both.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: API, pay pages, scheduler and operations endpoints (and the simulator when
    /// [simulator] enables it).
    Serve,
    /// Run the channel simulator alone (the three channels' merchant APIs and a payer's side) on
    /// simulator.listen.
    ChannelSim,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Copy the SQLite database to FILE (a new file) while the daemon keeps serving: SQLite's
    /// online backup, the database as of one commit. PostgreSQL: use pg_dump (docs/operations.md).
    Backup {
        /// Where the copy goes; it must not exist yet.
        file: std::path::PathBuf,
    },
    /// Manage bearer credentials for officers, banks and admins.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
    /// The bank channel: import a bank's statement, list the fines payable at banks.
    #[command(subcommand)]
    Bank(BankCommand),
    /// Scheduled jobs: run one now, or see how each last ran.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Load benchmarks that print tables of ratios to their ceilings (docs/benchmarks.md).
    Bench(BenchArgs),
}

#[derive(Subcommand)]
enum BankCommand {
    /// Import an end-of-day statement (CSV, camt.053 or camt.054) of one bank; prints a summary.
    /// Exits 1 when the file was refused or broke off part-way (the lines before it count).
    Import {
        /// The statement file.
        file: PathBuf,
        /// The bank's code (as in its credential).
        #[arg(long)]
        bank: String,
        /// The file's format; by default read from its first bytes.
        #[arg(long, value_parser = ["csv", "camt.053", "camt.054"])]
        format: Option<String>,
    },
    /// Print the fines payable at banks as CSV, with RF references and today's amounts.
    Outstanding,
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Run one job now and print what it did as JSON. It waits for nothing: if another instance
    /// is running it, says so and exits 3.
    Run {
        /// The job.
        #[arg(value_parser = ["expire", "reconcile", "refunds", "prune", "bank_inbox"])]
        job: String,
    },
    /// Each job's lease and last run, times in Beijing time.
    Status,
}

#[derive(Subcommand)]
enum CredentialsCommand {
    /// Create a credential and print its token (the only line on standard output).
    Add {
        /// Who it is for: an officer's handheld, a bank, or an admin.
        #[arg(long, value_parser = ["officer", "bank", "admin"])]
        role: String,
        /// The officer's id (role officer).
        #[arg(long, required_if_eq("role", "officer"))]
        officer: Option<String>,
        /// The handheld's id (role officer).
        #[arg(long, required_if_eq("role", "officer"))]
        device: Option<String>,
        /// The 6-digit district the officer issues in; one of [[districts]] (role officer).
        #[arg(long, required_if_eq("role", "officer"))]
        district: Option<String>,
        /// The bank's code, 1 to 16 letters or digits (role bank).
        #[arg(long, required_if_eq("role", "bank"))]
        bank: Option<String>,
        /// The admin's name, written in the audit trail (role admin).
        #[arg(long, required_if_eq("role", "admin"))]
        name: Option<String>,
        /// Also draw a QR code on standard error that signs the handheld in to the officer app
        /// (role officer): the app's address with the token, to scan with the handheld.
        #[arg(long)]
        qr: bool,
    },
    /// List credentials (never their tokens); times in Beijing time.
    List,
    /// Revoke a credential by id; its token stops working at once.
    Revoke {
        /// The credential's id, as `credentials list` shows it.
        id: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Benchmarks print a table; one access-log line per request would bury it (RUST_LOG overrides).
    let default_level = if matches!(cli.command, Command::Bench(_)) { "warn" } else { "info" };
    let bars = finepay::app::logging::init(default_level);
    match run(cli, &bars) {
        Ok(code) => code,
        Err(error) => {
            // One line with the whole chain of causes; a backtrace helps nobody who mistyped.
            eprintln!("finepay: {}", commands::error_line(&error));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli, bars: &indicatif::MultiProgress) -> anyhow::Result<ExitCode> {
    if let Command::Bench(args) = &cli.command {
        bench::run(args, cli.config.as_deref())?;
        return Ok(ExitCode::SUCCESS);
    }
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => commands::serve(settings)?,
        Command::ChannelSim => commands::channel_sim(&settings)?,
        Command::Migrate => commands::migrate(&settings)?,
        Command::Backup { file } => commands::backup(&settings, &file)?,
        Command::Credentials(CredentialsCommand::Add { role, officer, device, district, bank, name, qr }) => {
            let new = match role.as_str() {
                "officer" => Requested::Officer {
                    officer: officer.unwrap_or_default(),
                    device: device.unwrap_or_default(),
                    district: district.unwrap_or_default(),
                },
                "bank" => Requested::Bank { bank: bank.unwrap_or_default() },
                _ => Requested::Admin { name: name.unwrap_or_default() },
            };
            commands::add_credential(&settings, new, qr)?;
        }
        Command::Credentials(CredentialsCommand::List) => commands::list_credentials(&settings)?,
        Command::Credentials(CredentialsCommand::Revoke { id }) => commands::revoke_credential(&settings, &id)?,
        Command::Bank(BankCommand::Import { file, bank, format }) => {
            let format = format.as_deref().map(|f| match f {
                "csv" => Format::Csv,
                "camt.053" => Format::Camt053,
                _ => Format::Camt054,
            });
            if !commands::bank_import(&settings, bars, &file, &bank, format)? {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Bank(BankCommand::Outstanding) => commands::bank_outstanding(&settings)?,
        Command::Jobs(JobsCommand::Run { job }) => {
            let job = Job::parse(&job).ok_or_else(|| anyhow::anyhow!("no job {job:?}"))?;
            if !commands::run_job(&settings, job)? {
                return Ok(ExitCode::from(3));
            }
        }
        Command::Jobs(JobsCommand::Status) => commands::jobs_status(&settings)?,
        Command::Bench(_) => {}
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// `finepay help <command>` explains every option of every subcommand.
    #[test]
    fn every_option_of_every_subcommand_has_a_description() {
        fn check(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" && arg.get_help().is_none() && !arg.is_hide_set() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in command.get_subcommands() {
                if sub.get_about().is_none() && !sub.is_hide_set() {
                    missing.push(format!("{path} {} (the subcommand)", sub.get_name()));
                }
                check(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        check(&Cli::command(), "finepay", &mut missing);
        assert!(missing.is_empty(), "without a description: {missing:?}");
    }
}
