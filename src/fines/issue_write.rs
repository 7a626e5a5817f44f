//! Writing issued fines. Each fine is one decision number from its district's daily serials, a
//! fine row, an audit entry and the idempotency record that stores the response — all in the same
//! transaction, so a retry, however concurrent, gets the very same fine back and a crash leaves
//! everything or nothing. Fines are written in batches by the group-commit writer: one
//! idempotency lookup, one serial reservation per district and one multi-row insert per table for
//! the whole batch. A batch that fails is rolled back and each fine is written alone.

use super::issue::{IssueCommand, IssueError, IssueOutcome};
use super::view::{FineView, ViewContext};
use crate::config::Settings;
use crate::credentials::Principal;
use crate::db::fines::{self, NewFine};
use crate::db::idempotency::{self, IdempotencyRecord};
use crate::db::{self, Batch, BatchWriter, DbConnection, DbPool, WriteError, audit, serials};
use crate::domain::decision_no::{DecisionNo, MAX_SERIAL};
use crate::domain::time::{Clock, shanghai_date};
use crate::domain::{District, FineStatus, Plate};
use crate::qr::token::QrSigner;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// An authorized, validated request to issue.
pub struct IssueInput {
    pub principal: Principal,
    pub idempotency_key: String,
    pub request_hash: String,
    pub command: IssueCommand,
}

/// What writing a fine needs from the application.
pub struct IssueEnv {
    pub settings: Settings,
    pub signer: QrSigner,
    pub clock: Arc<dyn Clock>,
}

pub type IssueWriter = BatchWriter<IssueBatch>;

pub fn start_writer(pool: &DbPool, env: IssueEnv) -> std::io::Result<IssueWriter> {
    let timeout = env.settings.database.write_timeout;
    BatchWriter::start(pool, IssueBatch { env }, "issue", timeout)
}

/// Issues a fine, or replays the stored answer to an earlier request with the same credential and
/// idempotency key. Resolves once the fine is committed.
pub async fn issue(writer: &IssueWriter, input: IssueInput) -> Result<IssueOutcome, IssueError> {
    writer.submit(input, |why| Err(IssueError::Unavailable(why))).await
}

pub struct IssueBatch {
    env: IssueEnv,
}

/// What the batch decided for one item before writing.
enum Plan {
    /// Answered without writing: a replay of a committed fine, or a refusal.
    Answered(Result<IssueOutcome, IssueError>),
    /// A new fine; the index into the prepared fines.
    New(usize),
    /// The same key and body as an earlier item of this batch: its replay.
    SameAs(usize),
}

impl Batch for IssueBatch {
    type Item = IssueInput;
    type Output = Result<IssueOutcome, IssueError>;

    fn run_batch(&mut self, conn: &mut DbConnection, items: &[IssueInput]) -> diesel::QueryResult<Vec<Self::Output>> {
        let now = self.env.clock.now().trunc_subsecs(0);
        let keys: Vec<(&str, &str)> =
            items.iter().map(|i| (i.principal.credential_id.as_str(), i.idempotency_key.as_str())).collect();
        let known: HashMap<(String, String), IdempotencyRecord> = idempotency::find_many(conn, &keys)?
            .into_iter()
            .map(|r| ((r.credential_id.clone(), r.idempotency_key.clone()), r))
            .collect();

        // Decide each item; the first item with a new key issues, later ones replay it.
        let mut plans = Vec::with_capacity(items.len());
        let mut first_with_key: HashMap<(&str, &str), usize> = HashMap::new();
        let mut new_items = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let key = keys[i];
            let plan = if let Some(record) = known.get(&(key.0.to_owned(), key.1.to_owned())) {
                Plan::Answered(replay(record, &item.request_hash))
            } else if let Some(&first) = first_with_key.get(&key) {
                if items[first].request_hash == item.request_hash {
                    Plan::SameAs(first)
                } else {
                    Plan::Answered(Err(IssueError::KeyReused))
                }
            } else {
                first_with_key.insert(key, i);
                match Draft::new(&self.env, item) {
                    Ok(draft) => {
                        new_items.push((i, draft));
                        Plan::New(new_items.len() - 1)
                    }
                    Err(refused) => Plan::Answered(Err(refused)),
                }
            };
            plans.push(plan);
        }

        // One run of serials per district, then every row of every new fine.
        let date = shanghai_date(now);
        let mut by_district: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (n, (i, _)) in new_items.iter().enumerate() {
            by_district.entry(items[*i].command.district_code.as_str()).or_default().push(n);
        }
        let mut prepared: HashMap<usize, Result<PreparedFine, IssueError>> = HashMap::new();
        for (district, members) in by_district {
            let count = members.len() as i64;
            let last = serials::reserve(conn, district, date, count)?;
            for (offset, &n) in members.iter().enumerate() {
                let serial = last - count + 1 + offset as i64;
                let (i, draft) = &new_items[n];
                prepared.insert(*i, PreparedFine::new(&self.env, &items[*i], draft, serial, date, now));
            }
        }
        let ready: Vec<(&IssueInput, &PreparedFine)> =
            new_items.iter().filter_map(|(i, _)| prepared[i].as_ref().ok().map(|p| (&items[*i], p))).collect();
        if !ready.is_empty() {
            fines::insert_many(conn, &ready.iter().map(|(item, p)| p.row(item)).collect::<Vec<_>>())?;
            audit::record_many(conn, &ready.iter().map(|(_, p)| p.audit_entry()).collect::<Vec<_>>())?;
            idempotency::insert_many(conn, &ready.iter().map(|(item, p)| p.record(item)).collect::<Vec<_>>())?;
        }

        let created = |i: usize, created: bool| match &prepared[&i] {
            Ok(p) => Ok(IssueOutcome { created, body: p.body.clone() }),
            Err(e) => Err(e.clone()),
        };
        Ok(plans
            .into_iter()
            .map(|plan| match plan {
                Plan::Answered(answer) => answer,
                Plan::New(n) => created(new_items[n].0, true),
                Plan::SameAs(first) => created(first, false),
            })
            .collect())
    }

    fn run_alone(&mut self, pool: &DbPool, conn: &mut DbConnection, item: &IssueInput) -> Self::Output {
        // Alone, a fine can still lose a race with another instance (same key, same counter):
        // its transaction rolls back and the next try replays the winner.
        let mut tries = 0;
        loop {
            tries += 1;
            match pool.write(conn, |conn| issue_alone(&self.env, conn, item)) {
                Err(IssueError::Contended) if tries < 5 => continue,
                other => return other,
            }
        }
    }

    fn failed(&self, why: WriteError) -> Self::Output {
        Err(IssueError::Unavailable(why))
    }
}

/// The stored answer to an earlier request with this credential and key, if there is one.
pub fn stored_answer(
    conn: &mut DbConnection,
    principal: &Principal,
    idempotency_key: &str,
    request_hash: &str,
) -> Result<Option<IssueOutcome>, IssueError> {
    idempotency::find(conn, &principal.credential_id, idempotency_key)?
        .map(|record| replay(&record, request_hash))
        .transpose()
}

fn replay(record: &IdempotencyRecord, request_hash: &str) -> Result<IssueOutcome, IssueError> {
    if record.request_hash != request_hash {
        return Err(IssueError::KeyReused);
    }
    Ok(IssueOutcome { created: false, body: record.response_body.clone() })
}

/// One fine, in a transaction of its own.
fn issue_alone(env: &IssueEnv, conn: &mut DbConnection, item: &IssueInput) -> Result<IssueOutcome, IssueError> {
    if let Some(answer) = stored_answer(conn, &item.principal, &item.idempotency_key, &item.request_hash)? {
        return Ok(answer);
    }
    let draft = Draft::new(env, item)?;
    let now = env.clock.now().trunc_subsecs(0);
    let date = shanghai_date(now);
    let serial = serials::next_serial(conn, &item.command.district_code, date).map_err(contended)?;
    let fine = PreparedFine::new(env, item, &draft, serial, date, now)?;
    fines::insert(conn, &fine.row(item)).map_err(contended)?;
    audit::record(conn, &fine.audit_entry())?;
    idempotency::insert(conn, &fine.record(item)).map_err(contended)?;
    Ok(IssueOutcome { created: true, body: fine.body })
}

/// A write lost a race with another transaction; retrying is safe.
fn contended(e: diesel::result::Error) -> IssueError {
    if db::is_retryable(&e) { IssueError::Contended } else { e.into() }
}

/// What a new fine needs before it takes a serial, so that a fine refused here (an unknown
/// district, a failing random source) never uses up a decision number.
struct Draft {
    district: District,
    verification_code: String,
}

impl Draft {
    fn new(env: &IssueEnv, item: &IssueInput) -> Result<Draft, IssueError> {
        let code = &item.command.district_code;
        let district =
            env.settings.districts.get(code).cloned().ok_or_else(|| IssueError::DistrictNotConfigured(code.clone()))?;
        Ok(Draft { district, verification_code: verification_code()? })
    }
}

/// Everything about a new fine that is decided at write time: its number, code, window, and the
/// response body that its idempotency record keeps.
struct PreparedFine {
    decision_no: String,
    verification_code: String,
    status: FineStatus,
    issued_at: DateTime<Utc>,
    qr_expires_at: Option<DateTime<Utc>>,
    qr_key_id: Option<i32>,
    actor: String,
    details: String,
    body: String,
}

impl PreparedFine {
    fn new(
        env: &IssueEnv,
        item: &IssueInput,
        draft: &Draft,
        serial: i64,
        date: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Self, IssueError> {
        let cmd = &item.command;
        let exhausted = || IssueError::SerialsExhausted { district: cmd.district_code.clone(), date };
        let serial = u32::try_from(serial).ok().filter(|s| *s <= MAX_SERIAL).ok_or_else(exhausted)?;
        let district = &draft.district;
        let decision_no = DecisionNo::new(&district.code, date, serial).map_err(|_| exhausted())?;
        let with_qr = district.qr_payment_on(date);
        let (status, qr_expires_at, qr_key_id) = if with_qr {
            let expires = env.settings.qr.policy.expires_at(now);
            (FineStatus::AwaitingPayment, Some(expires), Some(i32::from(env.signer.current_key())))
        } else {
            (FineStatus::PayableAtBank, None, None)
        };
        let details = serde_json::json!({
            "violation_code": cmd.violation_code,
            "amount_fen": cmd.amount.get(),
            "status": status.as_str(),
            "officer_id": cmd.officer_id,
            "device_id": cmd.device_id,
        })
        .to_string();
        let mut fine = PreparedFine {
            decision_no: decision_no.as_str().to_owned(),
            verification_code: draft.verification_code.clone(),
            status,
            issued_at: now,
            qr_expires_at,
            qr_key_id,
            actor: item.principal.actor(),
            details,
            body: String::new(),
        };
        let view = ViewContext::new(&env.signer, &env.settings.server.public_base_url, &env.settings.catalogue);
        let body = serde_json::to_string(&FineView::from_new(&view, &fine.row(item), &decision_no))
            .map_err(|e| IssueError::Database(e.to_string()))?;
        fine.body = body;
        Ok(fine)
    }

    fn row<'a>(&'a self, item: &'a IssueInput) -> NewFine<'a> {
        let cmd = &item.command;
        NewFine {
            decision_no: &self.decision_no,
            district_code: &cmd.district_code,
            verification_code: &self.verification_code,
            violation_code: &cmd.violation_code,
            subject_kind: cmd.kind.as_str(),
            plate: cmd.plate.as_ref().map(Plate::as_str),
            plate_type: cmd.plate_type.as_deref(),
            location: &cmd.location,
            occurred_at: cmd.occurred_at.naive_utc(),
            delivery: cmd.delivery.as_str(),
            amount_fen: cmd.amount.get(),
            points: cmd.points,
            status: self.status.as_str(),
            credential_id: &item.principal.credential_id,
            officer_id: &cmd.officer_id,
            device_id: &cmd.device_id,
            issued_at: self.issued_at.naive_utc(),
            qr_expires_at: self.qr_expires_at.map(|t| t.naive_utc()),
            qr_key_id: self.qr_key_id,
            updated_at: self.issued_at.naive_utc(),
        }
    }

    fn audit_entry(&self) -> audit::NewAuditEntry<'_> {
        audit::NewAuditEntry {
            at: self.issued_at.naive_utc(),
            actor: &self.actor,
            action: "fine.issue",
            decision_no: Some(&self.decision_no),
            details: &self.details,
        }
    }

    fn record(&self, item: &IssueInput) -> IdempotencyRecord {
        IdempotencyRecord {
            credential_id: item.principal.credential_id.clone(),
            idempotency_key: item.idempotency_key.clone(),
            request_hash: item.request_hash.clone(),
            response_status: 201,
            response_body: self.body.clone(),
            created_at: self.issued_at.naive_utc(),
        }
    }
}

/// Six random digits, without modulo bias.
fn verification_code() -> Result<String, IssueError> {
    loop {
        let n = u32::from_be_bytes(random_bytes()?);
        // 4 294 000 000 is the largest multiple of 10^6 that fits in a u32.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// Four bytes from the system's CSPRNG, drawn 4 KiB at a time: one syscall per 1,024 fines
/// instead of one per fine on the writer's hot path.
fn random_bytes() -> Result<[u8; 4], IssueError> {
    thread_local! {
        static POOL: std::cell::RefCell<(Vec<u8>, usize)> = const { std::cell::RefCell::new((Vec::new(), 0)) };
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let (buffer, used) = &mut *pool;
        if *used + 4 > buffer.len() {
            buffer.resize(4096, 0);
            SystemRandom::new().fill(buffer).map_err(|_| IssueError::Random)?;
            *used = 0;
        }
        let mut out = [0u8; 4];
        out.copy_from_slice(&buffer[*used..*used + 4]);
        // Never hand out the same bytes twice.
        buffer[*used..*used + 4].fill(0);
        *used += 4;
        Ok(out)
    })
}
