//! The `finepay` command: parses the command line and calls the library. Nothing else lives here.

use anyhow::Context;
use clap::{Parser, Subcommand};
use finepay::app::Application;
use finepay::app::Settings;
use finepay::bank::Format;
use finepay::bank::ImportStatus;
use finepay::bank::valid_bank_code;
use finepay::bench::{self, BenchArgs};
use finepay::credentials::{self, Binding};
use finepay::db::{DbPool, migrate};
use finepay::domain::time::SystemClock;
use finepay::jobs::{Job, RunOutcome};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "finepay", about = "Traffic fine bills with QR payment windows", version)]
struct Cli {
    /// A configuration file layered over config/default.toml (also: FINEPAY_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: API, pay pages and operations endpoints.
    Serve,
    /// Run the channel simulator alone (the three channels' merchant APIs and a payer's side) on
    /// simulator.listen; `serve` starts it by itself when [simulator] is enabled.
    ChannelSim,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage bearer credentials for officers, banks and admins.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
    /// The bank channel: import a bank's statement, list the fines payable at banks.
    #[command(subcommand)]
    Bank(BankCommand),
    /// Scheduled jobs: run one now, or see how each last ran.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Load benchmarks; they print tables, see PERFORMANCE.md.
    Bench(BenchArgs),
}

#[derive(Subcommand)]
enum BankCommand {
    /// Import an end-of-day statement (CSV, camt.053 or camt.054) of one bank; prints a summary.
    /// Exits 1 when the file was refused or broke off part-way (the lines before it count).
    Import {
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
    /// Run one job now (it waits for nothing: if another instance is running it, says so and
    /// exits 3). Prints what it did as JSON.
    Run {
        #[arg(value_parser = ["expire", "reconcile", "refunds", "prune", "bank_inbox"])]
        job: String,
    },
    /// Each job's lease and last run.
    Status,
}

#[derive(Subcommand)]
enum CredentialsCommand {
    /// Create a credential and print its token (the only line on standard output).
    Add {
        #[arg(long, value_parser = ["officer", "bank", "admin"])]
        role: String,
        #[arg(long, required_if_eq("role", "officer"))]
        officer: Option<String>,
        #[arg(long, required_if_eq("role", "officer"))]
        device: Option<String>,
        #[arg(long, required_if_eq("role", "officer"))]
        district: Option<String>,
        #[arg(long, required_if_eq("role", "bank"))]
        bank: Option<String>,
        #[arg(long, required_if_eq("role", "admin"))]
        name: Option<String>,
    },
    /// List credentials (never their tokens).
    List,
    /// Revoke a credential by id; its token stops working at once.
    Revoke { id: String },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Benchmarks print a table; one access-log line per request would bury it (RUST_LOG overrides).
    let default_level = if matches!(cli.command, Command::Bench(_)) { "warn" } else { "info" };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level)).init();
    if let Command::Bench(args) = &cli.command {
        return bench::run(args, cli.config.as_deref());
    }
    let settings = Settings::load(cli.config.as_deref()).context("configuration")?;
    match cli.command {
        Command::Serve => serve(settings),
        Command::ChannelSim => channel_sim(settings),
        Command::Migrate => {
            let pool = connect(&settings)?;
            let applied = migrate::run_pending(&pool)?;
            println!("{} migration(s) applied", applied.len());
            Ok(())
        }
        Command::Credentials(command) => manage_credentials(&settings, command),
        Command::Bank(command) => bank(&settings, command),
        Command::Jobs(command) => jobs(&settings, command),
        Command::Bench(_) => Ok(()),
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)?;
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn channel_sim(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let clock: std::sync::Arc<dyn finepay::domain::time::Clock> = std::sync::Arc::new(SystemClock);
        let simulator = finepay::app::start_simulator(&settings, &clock)?;
        println!("channel simulator on http://127.0.0.1:{}", simulator.port);
        // It keeps nothing worth a graceful stop: SIGINT/SIGTERM end the process.
        std::future::pending::<()>().await;
        Ok(())
    })
}

fn bank(settings: &Settings, command: BankCommand) -> anyhow::Result<()> {
    match command {
        BankCommand::Import { file, bank, format } => {
            let format = format.as_deref().map(|f| match f {
                "csv" => Format::Csv,
                "camt.053" => Format::Camt053,
                _ => Format::Camt054,
            });
            let pool = connect(settings)?;
            migrate::run_pending(&pool)?;
            let report = finepay::bank::import_file(&pool, &settings.bank, &file, &bank, format)?;
            if report.status != ImportStatus::Complete {
                std::process::exit(1);
            }
        }
        BankCommand::Outstanding => {
            let pool = connect(settings)?;
            migrate::run_pending(&pool)?;
            let written =
                finepay::bank::write_outstanding(&pool, &settings.bank.surcharge, &mut std::io::stdout().lock())?;
            log::info!("{written} fines payable at banks");
        }
    }
    Ok(())
}

fn jobs(settings: &Settings, command: JobsCommand) -> anyhow::Result<()> {
    match command {
        JobsCommand::Run { job } => {
            let job = Job::parse(&job).context("unknown job")?;
            let outcome = actix_web::rt::System::new().block_on(async move {
                let env = finepay::app::standalone_jobs(settings)?;
                anyhow::Ok(finepay::jobs::run_once(&env, job).await?)
            })?;
            println!("{}", serde_json::to_string(&outcome)?);
            if outcome == RunOutcome::Busy {
                std::process::exit(3);
            }
        }
        JobsCommand::Status => {
            let pool = connect(settings)?;
            migrate::run_pending(&pool)?;
            let mut conn = pool.get()?;
            print!("{}", finepay::jobs::status_table(&finepay::db::leases::all(&mut conn)?));
        }
    }
    Ok(())
}

fn connect(settings: &Settings) -> anyhow::Result<DbPool> {
    let db = &settings.database;
    Ok(DbPool::connect(&db.url, 2, db.connect_timeout)?)
}

fn manage_credentials(settings: &Settings, command: CredentialsCommand) -> anyhow::Result<()> {
    let pool = connect(settings)?;
    migrate::run_pending(&pool)?;
    let mut conn = pool.get()?;
    let now = chrono::Utc::now();
    match command {
        CredentialsCommand::Add { role, officer, device, district, bank, name } => {
            let binding = match role.as_str() {
                "officer" => {
                    let district = district.unwrap_or_default();
                    anyhow::ensure!(
                        settings.districts.get(&district).is_some(),
                        "district {district:?} is not configured (see [[districts]] in the configuration)"
                    );
                    Binding::Officer {
                        officer_id: officer.unwrap_or_default(),
                        device_id: device.unwrap_or_default(),
                        district_code: district,
                    }
                }
                "bank" => {
                    let bank = bank.unwrap_or_default();
                    anyhow::ensure!(valid_bank_code(&bank), "bank code {bank:?} must be 1 to 16 letters or digits");
                    Binding::Bank { bank_code: bank }
                }
                _ => Binding::Admin { name: name.unwrap_or_default() },
            };
            let (id, token) = credentials::create(&mut conn, &binding, now)?;
            log::info!("created credential {id}");
            println!("{token}");
        }
        CredentialsCommand::List => print!("{}", credentials::table(&credentials::list(&mut conn)?)),
        CredentialsCommand::Revoke { id } => {
            anyhow::ensure!(credentials::revoke(&mut conn, &id, now)?, "no active credential {id}");
            println!("revoked {id}");
        }
    }
    Ok(())
}
