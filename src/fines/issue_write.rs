//! Writing issued fines. Each fine is one decision number from its district's daily serials, a
//! fine row, an audit entry and the idempotency record that stores the response — all in the same
//! transaction, so a retry, however concurrent, gets the very same fine back and a crash leaves
//! everything or nothing. Fines are written in batches by the group-commit writer: one
//! idempotency lookup, one serial reservation per district and one multi-row insert per table for
//! the whole batch. A batch that fails is rolled back and each fine is written alone.

use super::issue::{IssueCommand, IssueError, IssueOutcome, IssueRequest};
use super::view::{FineView, ViewContext};
use crate::credentials::{self, Principal, Role};
use crate::db::fines::{self, NewFine};
use crate::db::idempotency::{self, IdempotencyRecord};
use crate::db::{self, Batch, BatchWriter, DbConnection, DbPool, WriteError, audit, serials};
use crate::domain::decision_no::{DecisionNo, MAX_SERIAL};
use crate::domain::time::{Clock, shanghai_date};
use crate::domain::{Catalogue, District, Districts, FineStatus, Plate, QrWindowPolicy};
use crate::qr::QrSigner;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// A request to issue as the handler hands it over: the caller's token hash and the parsed (or
/// refused) parts. It is authorized and checked in the writer, for the whole batch at once.
pub struct IssueInput {
    pub token_hash: String,
    pub idempotency_key: Result<String, IssueError>,
    pub request: Result<(IssueRequest, String), IssueError>,
}

/// An authorized, checked request, ready to be written.
pub(super) struct Accepted {
    pub principal: Principal,
    pub idempotency_key: String,
    pub request_hash: String,
    pub command: IssueCommand,
}

/// What writing a fine needs from the application.
pub(crate) struct IssueEnv {
    pub catalogue: Catalogue,
    pub districts: Districts,
    /// How long a new fine's QR code can be paid.
    pub qr_policy: QrWindowPolicy,
    /// What pay URLs start with.
    pub public_base_url: String,
    pub signer: QrSigner,
    pub clock: Arc<dyn Clock>,
    /// How long an issue waits for its batch to commit.
    pub write_timeout: Duration,
}

pub(crate) type IssueWriter = BatchWriter<IssueBatch>;

pub(crate) fn start_writer(pool: &DbPool, env: IssueEnv) -> std::io::Result<IssueWriter> {
    let timeout = env.write_timeout;
    BatchWriter::start(pool, IssueBatch { env }, "issue", timeout)
}

/// Issues a fine, or replays the stored answer to an earlier request with the same credential and
/// idempotency key. Resolves once the fine is committed.
pub(crate) async fn issue(writer: &IssueWriter, input: IssueInput) -> Result<IssueOutcome, IssueError> {
    writer.submit(input, |why| Err(IssueError::Unavailable(why))).await
}

pub struct IssueBatch {
    env: IssueEnv,
}

/// What the batch decided for one item before writing.
enum Plan {
    /// Answered without writing: a replay of a committed fine, or a refusal.
    Answered(Result<IssueOutcome, IssueError>),
    /// A new fine: its index among the batch's new fines.
    New(usize),
    /// The same key and body as the batch's new fine at this index: its replay.
    SameAs(usize),
}

impl Batch for IssueBatch {
    type Item = IssueInput;
    type Output = Result<IssueOutcome, IssueError>;

    fn run_batch(&mut self, conn: &mut DbConnection, items: &[IssueInput]) -> diesel::QueryResult<Vec<Self::Output>> {
        let now = self.env.clock.now().trunc_subsecs(0);
        // Who is calling, for the whole batch in one query; then each item's own checks.
        let hashes: Vec<&str> = items.iter().map(|i| i.token_hash.as_str()).collect();
        let principals = credentials::authenticate_hashes(conn, &hashes)?;
        let admitted: Vec<Result<Admitted<'_>, IssueError>> =
            items.iter().map(|item| admit(principals.get(&item.token_hash), item)).collect();

        // Retries are answered from their stored records before any other check.
        let keys: Vec<(&str, &str)> = admitted
            .iter()
            .filter_map(|a| a.as_ref().ok())
            .map(|a| (a.principal.credential_id.as_str(), a.idempotency_key))
            .collect();
        let known: HashMap<(String, String), IdempotencyRecord> = idempotency::find_many(conn, &keys)?
            .into_iter()
            .map(|r| ((r.credential_id.clone(), r.idempotency_key.clone()), r))
            .collect();

        // Decide each item. Only a request that becomes a new fine claims its key in this batch;
        // later ones with the same key and body replay it, with another body are refused.
        let mut plans = Vec::with_capacity(items.len());
        let mut claimed: HashMap<(&str, &str), usize> = HashMap::new();
        let mut new_items: Vec<(Accepted, Draft)> = Vec::new();
        for admission in admitted {
            let a = match admission {
                Ok(a) => a,
                Err(refused) => {
                    plans.push(Plan::Answered(Err(refused)));
                    continue;
                }
            };
            let key = (a.principal.credential_id.as_str(), a.idempotency_key);
            let plan = if let Some(record) = known.get(&(key.0.to_owned(), key.1.to_owned())) {
                Plan::Answered(replay(record, a.request_hash))
            } else if let Some(&n) = claimed.get(&key) {
                if new_items[n].0.request_hash == a.request_hash {
                    Plan::SameAs(n)
                } else {
                    Plan::Answered(Err(IssueError::KeyReused))
                }
            } else {
                match accept(&self.env, &a, now).and_then(|accepted| Ok((Draft::new(&self.env, &accepted)?, accepted)))
                {
                    Ok((draft, accepted)) => {
                        new_items.push((accepted, draft));
                        claimed.insert(key, new_items.len() - 1);
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
        for (n, (accepted, _)) in new_items.iter().enumerate() {
            by_district.entry(accepted.command.district_code.as_str()).or_default().push(n);
        }
        let mut prepared: Vec<Option<Result<PreparedFine, IssueError>>> = (0..new_items.len()).map(|_| None).collect();
        for (district, members) in by_district {
            let count = members.len() as i64;
            let last = serials::reserve(conn, district, date, count)?;
            for (offset, &n) in members.iter().enumerate() {
                let serial = last - count + 1 + offset as i64;
                let (accepted, draft) = &new_items[n];
                prepared[n] = Some(PreparedFine::new(&self.env, accepted, draft, serial, date, now));
            }
        }
        let ready: Vec<(&Accepted, &PreparedFine)> = new_items
            .iter()
            .zip(&prepared)
            .filter_map(|((accepted, _), p)| p.as_ref().and_then(|p| p.as_ref().ok()).map(|p| (accepted, p)))
            .collect();
        if !ready.is_empty() {
            fines::insert_many(conn, &ready.iter().map(|(a, p)| p.row(a)).collect::<Vec<_>>())?;
            audit::record_many(conn, &ready.iter().map(|(_, p)| p.audit_entry()).collect::<Vec<_>>())?;
            idempotency::insert_many(conn, &ready.iter().map(|(a, p)| p.record(a)).collect::<Vec<_>>())?;
        }

        let outcome = |n: usize, created: bool| match &prepared[n] {
            Some(Ok(p)) => Ok(IssueOutcome { created, body: p.body.clone() }),
            Some(Err(e)) => Err(e.clone()),
            None => Err(IssueError::NotPrepared),
        };
        Ok(plans
            .into_iter()
            .map(|plan| match plan {
                Plan::Answered(answer) => answer,
                Plan::New(n) => outcome(n, true),
                Plan::SameAs(n) => outcome(n, false),
            })
            .collect())
    }

    fn run_alone(&mut self, pool: &DbPool, conn: &mut DbConnection, item: &IssueInput) -> Self::Output {
        // Alone, a fine can still lose a race with another instance (same key, same counter):
        // its transaction rolls back and the next run replays the winner.
        pool.write_retrying(conn, |conn| issue_alone(&self.env, conn, item))
    }

    fn failed(&self, why: WriteError) -> Self::Output {
        Err(IssueError::Unavailable(why))
    }
}

/// The stored answer to an earlier request with this credential and key, if there is one.
fn stored_answer(
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

/// One fine, in a transaction of its own: the same steps as a batch, in the same order.
fn issue_alone(env: &IssueEnv, conn: &mut DbConnection, item: &IssueInput) -> Result<IssueOutcome, IssueError> {
    let principal = credentials::authenticate_hash(conn, &item.token_hash)?;
    let admitted = admit(principal.as_ref(), item)?;
    if let Some(answer) = stored_answer(conn, admitted.principal, admitted.idempotency_key, admitted.request_hash)? {
        return Ok(answer);
    }
    let now = env.clock.now().trunc_subsecs(0);
    let accepted = accept(env, &admitted, now)?;
    let draft = Draft::new(env, &accepted)?;
    let date = shanghai_date(now);
    let serial = serials::next_serial(conn, &accepted.command.district_code, date).map_err(contended)?;
    let fine = PreparedFine::new(env, &accepted, &draft, serial, date, now)?;
    fines::insert(conn, &fine.row(&accepted)).map_err(contended)?;
    audit::record(conn, &fine.audit_entry())?;
    idempotency::insert(conn, &fine.record(&accepted)).map_err(contended)?;
    Ok(IssueOutcome { created: true, body: fine.body })
}

/// A request whose caller is known to be an officer and whose parts are well formed.
struct Admitted<'a> {
    principal: &'a Principal,
    idempotency_key: &'a str,
    request: &'a IssueRequest,
    request_hash: &'a str,
}

/// The checks that come before anything else, in the documented order: who is calling (401),
/// whether they may issue (403), then whether the request is well formed (400, 413).
fn admit<'a>(principal: Option<&'a Principal>, item: &'a IssueInput) -> Result<Admitted<'a>, IssueError> {
    let principal = principal.ok_or(IssueError::Unauthorized)?;
    if principal.binding.role() != Role::Officer {
        return Err(IssueError::NotAnOfficer);
    }
    let idempotency_key = item.idempotency_key.as_deref().map_err(Clone::clone)?;
    let (request, request_hash) = item.request.as_ref().map_err(Clone::clone)?;
    Ok(Admitted { principal, idempotency_key, request, request_hash })
}

/// The fine's own checks (catalogue, ranges, plate, district, time), for a request that is not a
/// retry of a stored one.
fn accept(env: &IssueEnv, a: &Admitted<'_>, now: DateTime<Utc>) -> Result<Accepted, IssueError> {
    Ok(Accepted {
        command: IssueCommand::parse(&env.catalogue, &env.districts, a.principal, a.request, now)?,
        principal: a.principal.clone(),
        idempotency_key: a.idempotency_key.to_owned(),
        request_hash: a.request_hash.to_owned(),
    })
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
    fn new(env: &IssueEnv, item: &Accepted) -> Result<Draft, IssueError> {
        let code = &item.command.district_code;
        let district =
            env.districts.get(code).cloned().ok_or_else(|| IssueError::DistrictNotConfigured(code.clone()))?;
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
        item: &Accepted,
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
            let expires = env.qr_policy.expires_at(now);
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
        let view = ViewContext::new(&env.signer, &env.public_base_url, &env.catalogue);
        let body = serde_json::to_string(&FineView::from_new(&view, &fine.row(item), &decision_no))
            .map_err(|e| IssueError::Encode(Arc::new(e)))?;
        fine.body = body;
        Ok(fine)
    }

    fn row<'a>(&'a self, item: &'a Accepted) -> NewFine<'a> {
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

    fn record(&self, item: &Accepted) -> IdempotencyRecord {
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
