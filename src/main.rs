//! The `finepay` command: parses the command line and calls the library. Nothing else lives here.

use anyhow::Context;
use clap::{Parser, Subcommand};
use finepay::app::Application;
use finepay::bench::{self, BenchArgs};
use finepay::config::Settings;
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
    /// Scheduled jobs: run one now, or see how each last ran.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Load benchmarks; they print tables, see PERFORMANCE.md.
    Bench(BenchArgs),
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Run one job now (it waits for nothing: if another instance is running it, says so and
    /// exits 3). Prints what it did as JSON.
    Run {
        #[arg(value_parser = ["expire", "reconcile", "refunds", "prune"])]
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
                "bank" => Binding::Bank { bank_code: bank.unwrap_or_default() },
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
