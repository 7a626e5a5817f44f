//! `bench import`: a bank statement of N lines — CSV, then camt.053 — each paying one distinct
//! seeded fine the exact amount, imported by exactly the path `finepay bank import` takes, against
//! the ceiling of reading the same file through `StatementReader` alone, back to back; and beside
//! it the ceiling the database sets, the same rows written by it alone (`write_floor`). Every line
//! must end settled and every named fine paid, or the run fails.
//!
//! Peak memory: VmHWM is the whole process's high-water mark, so seeding, writing the files and the
//! parse-alone pass would all count in it, and a heap the allocator kept from them would hide what the
//! import needs. Each import therefore runs in a child process of its own (this executable's hidden
//! `bench import-run`), which reports its resident set just before `Importer::import` and its VmHWM
//! after. A 100,000-line import runs before the N-line one, each in a fresh database and a fresh
//! process: memory independent of the file's size means the same growth in both rows.

use super::harness::{BenchDb, Target, peak_rss_mib, reset_peak_rss};
use super::{statement_files, write_floor};
use crate::app::Settings;
use crate::bank::{Format, Importer, READ_BUFFER, StatementReader};
use crate::db::fines::NewFine;
use crate::db::schema::{audit_log, bank_payments, exceptions, fines};
use crate::db::{DbPool, migrate};
use crate::domain::{DecisionNo, DistrictCode};
use chrono::{DateTime, Duration as Span, NaiveDate, Utc};
use diesel::prelude::*;
use std::io::BufReader;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The smaller import run first, to show memory does not grow with the file.
const SMALL_RUN: usize = 100_000;
const BANK: &str = "CCB";
/// Where the child finds its database: an environment variable, so a password stays off `ps`.
const DATABASE_URL_VAR: &str = "FINEPAY_BENCH_IMPORT_DATABASE_URL";
/// The targets, printed beside the figures.
const TARGET_LINES_PER_SECOND: f64 = 100_000.0;
const TARGET_RATIO: f64 = 0.5;

/// One import measured.
struct Measured {
    format: Format,
    backend: &'static str,
    lines: usize,
    parse_per_second: f64,
    import_per_second: f64,
    /// The rows the import wrote, written by the database alone (the same for both formats).
    writes_alone_per_second: f64,
    /// The importing process's own CPU time over the import's wall time: below 1, it waited (on
    /// PostgreSQL, for the server).
    cpu_share: f64,
    rss_before_mib: f64,
    peak_rss_mib: f64,
}

/// Runs the bench on `targets`; prints one table per backend.
pub(super) fn run(targets: &[Target], config: Option<&Path>, lines: usize, fine_count: usize) -> anyhow::Result<()> {
    anyhow::ensure!(lines > 0 && fine_count >= lines, "--fines must be at least --lines (each line pays its own fine)");
    let now = Utc::now();
    let numbers = (0..fine_count).map(decision_no).collect::<anyhow::Result<Vec<_>>>()?;
    let dir = tempfile::Builder::new().prefix("finepay-bench-import-").tempdir()?;
    let mut sizes = vec![lines];
    if lines > SMALL_RUN {
        sizes.insert(0, SMALL_RUN);
    }
    let mut files = Vec::new();
    for &size in &sizes {
        let csv = dir.path().join(format!("statement-{size}.csv"));
        let camt = dir.path().join(format!("statement-{size}.xml"));
        statement_files::write(&numbers[..size], now, &csv, &camt)?;
        files.push((size, csv, camt));
    }
    let batch = Settings::load(config)?.bank.import_batch;
    println!("finepay bench import — {fine_count} fines payable at banks, load {} at the start", load_average());
    for target in targets {
        let mut floors = Vec::new();
        for &size in &sizes {
            let seed = |pool: &DbPool| seed_payable_fines(pool, &numbers, now);
            floors.push(write_floor::lines_per_second(target, &numbers, size, batch, seed)?);
        }
        let mut rows = Vec::new();
        for format in [Format::Csv, Format::Camt053] {
            for ((size, csv, camt), floor) in files.iter().zip(&floors) {
                let file = if format == Format::Csv { csv } else { camt };
                rows.push(measure(target, config, &numbers, now, (format, *size, file), *floor)?);
            }
        }
        println!("\n{}", render(&rows));
    }
    println!("load {} at the end", load_average());
    Ok(())
}

/// A fresh database with every fine seeded, the `lines`-line file parsed alone, then imported in
/// a child; `writes_alone_per_second` is its database's own ceiling, measured before.
fn measure(
    target: &Target,
    config: Option<&Path>,
    numbers: &[DecisionNo],
    now: DateTime<Utc>,
    (format, lines, file): (Format, usize, &Path),
    writes_alone_per_second: f64,
) -> anyhow::Result<Measured> {
    let db = BenchDb::fresh(target)?;
    {
        let pool = DbPool::connect(&db.url, 2, Duration::from_secs(10))?;
        migrate::run_pending(&pool)?;
        seed_payable_fines(&pool, numbers, now)?;
        if !pool.is_sqlite() {
            // As autovacuum would have by the time a statement comes (it is off on some test
            // servers): the planner knows the fines table's size.
            diesel::sql_query("ANALYZE").execute(&mut *pool.get()?)?;
        }
    }
    let (parsed, parse_time) = parse_alone(format, file)?;
    anyhow::ensure!(parsed == lines, "{} lines parsed of {lines}", parsed);
    let child = import_in_child(config, &db.url, file)?;
    check_all_settled(&db.url, lines, &child.report)?;
    Ok(Measured {
        format,
        backend: target.name(),
        lines,
        parse_per_second: lines as f64 / parse_time.as_secs_f64().max(f64::EPSILON),
        import_per_second: lines as f64 / child.seconds.max(f64::EPSILON),
        writes_alone_per_second,
        cpu_share: child.cpu_seconds / child.seconds.max(f64::EPSILON),
        rss_before_mib: child.rss_before_mib,
        peak_rss_mib: child.peak_rss_mib,
    })
}

/// Decision numbers of fines nobody issued: Mentougou's, in 2001, `MAX_SERIAL` a day.
fn decision_no(i: usize) -> anyhow::Result<DecisionNo> {
    let district = DistrictCode::parse("110109").map_err(anyhow::Error::msg)?;
    let per_day = crate::domain::decision_no::MAX_SERIAL as usize;
    let day = NaiveDate::from_ymd_opt(2001, 1, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new((i / per_day) as u64)))
        .ok_or_else(|| anyhow::anyhow!("no date for fine {i}"))?;
    Ok(DecisionNo::new(&district, day, u32::try_from(i % per_day + 1)?)?)
}

/// Every fine payable at banks, 200 yuan, issued a day before `now` (so no surcharge is due),
/// written by the bulk insert the other benches use.
fn seed_payable_fines(pool: &DbPool, numbers: &[DecisionNo], now: DateTime<Utc>) -> anyhow::Result<()> {
    let issued = (now - Span::days(1)).naive_utc();
    let template = NewFine {
        district_code: "110109",
        status: "payable_at_bank",
        qr_expires_at: None,
        qr_key_id: None,
        ..NewFine::template(issued)
    };
    let mut conn = pool.get()?;
    for chunk in numbers.chunks(20_000) {
        pool.write(&mut conn, |conn| {
            for rows in chunk.chunks(1000) {
                let rows: Vec<NewFine<'_>> =
                    rows.iter().map(|no| NewFine { decision_no: no.as_str(), ..template }).collect();
                crate::db::fines::insert_many(conn, &rows)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
    }
    Ok(())
}

/// The ceiling: the file read through `StatementReader` to its end with the importer's buffer.
fn parse_alone(format: Format, file: &Path) -> anyhow::Result<(usize, Duration)> {
    let input = BufReader::with_capacity(READ_BUFFER, std::fs::File::open(file)?);
    let started = Instant::now();
    let mut reader = StatementReader::new(format, input)?;
    let mut lines = 0;
    while let Some(item) = reader.next_item()? {
        let line = item.map_err(|e| anyhow::anyhow!("line {}: {}", e.line_no, e.message))?;
        lines += usize::from(!line.entry_ref.is_empty());
    }
    Ok((lines, started.elapsed()))
}

/// What the child reported.
struct ChildRun {
    seconds: f64,
    cpu_seconds: f64,
    rss_before_mib: f64,
    peak_rss_mib: f64,
    report: serde_json::Value,
}

fn import_in_child(config: Option<&Path>, url: &str, file: &Path) -> anyhow::Result<ChildRun> {
    let mut command = Command::new(std::env::current_exe()?);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    command.args(["bench", "import-run", "--file"]).arg(file).env(DATABASE_URL_VAR, url);
    let output = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).output()?;
    anyhow::ensure!(output.status.success(), "the import child failed: {}", output.status);
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let number = |key: &str| answer[key].as_f64().ok_or_else(|| anyhow::anyhow!("the child's {key}: {answer}"));
    Ok(ChildRun {
        seconds: number("seconds")?,
        cpu_seconds: number("cpu_seconds")?,
        rss_before_mib: number("rss_before_mib")?,
        peak_rss_mib: number("peak_rss_mib")?,
        report: answer["report"].clone(),
    })
}

/// `bench import-run`: in this process, one import of `file` as `finepay bank import` does it
/// (the configured surcharge rule and batch size), timed; prints the figures as JSON.
pub(super) fn run_child(config: Option<&Path>, file: &Path) -> anyhow::Result<()> {
    let url = std::env::var(DATABASE_URL_VAR).map_err(|_| anyhow::anyhow!("{DATABASE_URL_VAR} is not set"))?;
    let settings = Settings::load(config)?;
    let pool = DbPool::connect(&url, 2, settings.database.connect_timeout)?;
    let actor = format!("cli:bank:{BANK}");
    let importer = Importer::new(&pool, &settings.bank, &actor, Utc::now());
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let input = BufReader::with_capacity(READ_BUFFER, std::fs::File::open(file)?);
    let rss_before_mib = current_rss_mib();
    reset_peak_rss();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let report = importer.import(BANK, &name, None, input, &mut |_| {})?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = cpu_seconds() - cpu_before;
    let answer = serde_json::json!({
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rss_before_mib": rss_before_mib,
        "peak_rss_mib": peak_rss_mib(),
        "report": report,
    });
    println!("{answer}");
    Ok(())
}

/// The resident set now, in MiB.
fn current_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The import's report and the database agree: every line settled, each fine paid once.
fn check_all_settled(url: &str, lines: usize, report: &serde_json::Value) -> anyhow::Result<()> {
    let expected = serde_json::json!(lines);
    let settled = &report["outcomes"]["settled"];
    anyhow::ensure!(
        report["status"] == "complete"
            && report["lines_read"] == expected
            && report["matched"] == expected
            && *settled == expected
            && report["bad_lines"] == 0
            && report["settled_fen"] == serde_json::json!(lines * 20000),
        "not every line settled: {report}"
    );
    let pool = DbPool::connect(url, 1, Duration::from_secs(10))?;
    let mut conn = pool.get()?;
    let paid: i64 = fines::table.filter(fines::status.eq("paid")).count().get_result(&mut *conn)?;
    let recorded: i64 =
        bank_payments::table.filter(bank_payments::outcome.eq("settled")).count().get_result(&mut *conn)?;
    let audited: i64 =
        audit_log::table.filter(audit_log::action.eq("fine.paid_at_bank")).count().get_result(&mut *conn)?;
    let raised: i64 = exceptions::table.count().get_result(&mut *conn)?;
    let lines = lines as i64;
    anyhow::ensure!(
        paid == lines && recorded == lines && audited == lines && raised == 0,
        "{paid} fines paid, {recorded} payments settled, {audited} audited, {raised} exceptions, of {lines} lines"
    );
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn render(rows: &[Measured]) -> String {
    let mut out = format!(
        "targets: import ≥ {TARGET_LINES_PER_SECOND:.0} lines/s and ≥ {TARGET_RATIO} × parsing alone; peak RSS not \
         growing with the file (compare the rows of one format)\n\n"
    );
    out.push_str(
        "| format | backend | lines | parse alone lines/s | import lines/s | ratio | writes alone lines/s \
         | import ÷ writes alone | import CPU ÷ wall | RSS before MiB | peak RSS MiB | growth MiB |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let ratio = r.import_per_second / r.parse_per_second.max(f64::EPSILON);
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.0} {} | **{ratio:.3}** {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} |\n",
            r.format.as_str(),
            r.backend,
            r.lines,
            r.parse_per_second,
            r.import_per_second,
            if r.import_per_second >= TARGET_LINES_PER_SECOND { "✓" } else { "✗" },
            if ratio >= TARGET_RATIO { "✓" } else { "✗" },
            r.writes_alone_per_second,
            r.import_per_second / r.writes_alone_per_second.max(f64::EPSILON),
            r.cpu_share,
            r.rss_before_mib,
            r.peak_rss_mib,
            r.peak_rss_mib - r.rss_before_mib,
        ));
    }
    out
}

/// User and system CPU time of this process so far.
fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole rusage into the pointer it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}
