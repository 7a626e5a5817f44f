//! What each `finepay` subcommand does once its arguments are parsed: each builds the parts it
//! needs from the settings, runs, and prints. `main.rs` only parses the command line and calls
//! these; a user's mistake comes back as an error, which `main.rs` prints as one line.

use super::{Application, Settings, StartError};
use crate::bank::{Format, ImportStatus};
use crate::credentials::{self, Requested, Revocation};
use crate::db::{DbPool, migrate};
use crate::domain::time::{Clock, SystemClock, shanghai_wall_clock};
use crate::jobs::{self, Job, RunOutcome};
use anyhow::Context;
use indicatif::MultiProgress;
use std::path::Path;
use std::sync::Arc;

/// The daemon, until SIGINT or SIGTERM.
pub fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)?;
        app.run_until_stopped().await?;
        Ok(())
    })
}

/// The channel simulator alone, until SIGINT or SIGTERM (it keeps nothing worth a graceful stop).
pub fn channel_sim(settings: &Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let simulator = super::start_simulator(settings, &clock)?;
        println!("channel simulator on http://127.0.0.1:{}", simulator.port);
        std::future::pending::<()>().await;
        Ok(())
    })
}

/// Applies pending migrations; prints how many.
pub fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let pool = connect(settings)?;
    let applied = migrate::run_pending(&pool)?;
    println!("{} migration(s) applied", applied.len());
    Ok(())
}

/// Copies the SQLite database to `file` (see `db::backup`); prints what it copied.
pub fn backup(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    let pages = crate::db::backup::backup(&settings.database.url, file)?;
    println!("backed up {pages} pages to {}", file.display());
    Ok(())
}

/// How the audit log names what the command line does.
const CLI_ACTOR: &str = "cli";

/// Creates a credential and prints its token, the only line on standard output; with `qr`, an
/// officer's also as a QR code on standard error, holding the officer app's address with the
/// token in its fragment (a fragment never reaches a server's logs).
pub fn add_credential(settings: &Settings, requested: Requested, qr: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        !qr || matches!(requested, Requested::Officer { .. }),
        "--qr is for officers: it signs a handheld in to the officer app"
    );
    let binding = requested.binding(&settings.districts)?;
    let pool = connect_migrated(settings)?;
    let (id, token) = credentials::create(&pool, &mut *pool.get()?, &binding, CLI_ACTOR, chrono::Utc::now())?;
    log::info!("created credential {id}");
    println!("{token}");
    if qr {
        let url = format!("{}/officer/#token={token}", settings.server.public_base_url.trim_end_matches('/'));
        let matrix = crate::qr::QrMatrix::encode(&url)?;
        eprint!("{}", crate::qr::to_terminal(&matrix));
        eprintln!("Scan it with the handheld's camera, or in the officer app's sign-in, to sign {id} in.");
    }
    Ok(())
}

/// Lists the credentials (never their tokens).
pub fn list_credentials(settings: &Settings) -> anyhow::Result<()> {
    let pool = connect_migrated(settings)?;
    print!("{}", credentials::table(&credentials::list(&mut *pool.get()?, &Default::default())?));
    Ok(())
}

/// Revokes a credential; its token stops working at once.
pub fn revoke_credential(settings: &Settings, id: &str) -> anyhow::Result<()> {
    let pool = connect_migrated(settings)?;
    match credentials::revoke(&pool, &mut *pool.get()?, id, CLI_ACTOR, chrono::Utc::now())? {
        Revocation::Revoked => println!("revoked {id}"),
        Revocation::AlreadyRevoked { at } => {
            anyhow::bail!("credential {id:?} was revoked already, at {} (+08:00)", shanghai_wall_clock(at))
        }
        Revocation::NotFound => anyhow::bail!("no credential {id:?} (see `finepay credentials list`)"),
    }
    Ok(())
}

/// Imports a statement file; false when it was refused or broke off part-way.
pub fn bank_import(
    settings: &Settings,
    bars: &MultiProgress,
    file: &Path,
    bank: &str,
    format: Option<Format>,
) -> anyhow::Result<bool> {
    let pool = connect_migrated(settings)?;
    let bar = crate::bank::statement_bar(bars);
    let report = crate::bank::import_file(&pool, &settings.bank, &bar, file, bank, format)?;
    Ok(report.status == ImportStatus::Complete)
}

/// Prints the fines payable at banks as CSV.
pub fn bank_outstanding(settings: &Settings) -> anyhow::Result<()> {
    let pool = connect_migrated(settings)?;
    let written = crate::bank::write_outstanding(&pool, &settings.bank.surcharge, &mut std::io::stdout().lock())?;
    log::info!("{written} fines payable at banks");
    Ok(())
}

/// Runs one job now and prints what it did as JSON; false when another instance is running it.
pub fn run_job(settings: &Settings, job: Job) -> anyhow::Result<bool> {
    let outcome = actix_web::rt::System::new().block_on(async move {
        let env = super::standalone_jobs(settings)?;
        anyhow::Ok(jobs::run_once(&env, job).await?)
    })?;
    println!("{}", serde_json::to_string(&outcome)?);
    Ok(outcome != RunOutcome::Busy)
}

/// Prints each job's lease and last run.
pub fn jobs_status(settings: &Settings) -> anyhow::Result<()> {
    let pool = connect_migrated(settings)?;
    print!("{}", jobs::status_table(&crate::db::leases::all(&mut *pool.get()?)?));
    Ok(())
}

/// An error as one line for the terminal: it and its causes, each said once, without line breaks
/// (a TOML parser's message spans several).
pub fn error_line(error: &anyhow::Error) -> String {
    let text = crate::errors::chain(error.as_ref());
    text.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ")
}

fn connect(settings: &Settings) -> Result<DbPool, StartError> {
    let db = &settings.database;
    Ok(DbPool::connect(&db.url, 2, db.connect_timeout)?)
}

fn connect_migrated(settings: &Settings) -> anyhow::Result<DbPool> {
    let pool = connect(settings).context("the database")?;
    migrate::run_pending(&pool).context("the database's migrations")?;
    Ok(pool)
}
