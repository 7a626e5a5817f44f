//! Issuing a fine. The request is parsed into an [`IssueCommand`] at the edge; then one write
//! transaction checks the idempotency record, takes the district's next serial, inserts the fine
//! and its audit entry, and stores the response beside them — so a retry, however concurrent,
//! gets the very same fine back and a crash leaves either everything or nothing.

use super::view::{FineView, ViewContext};
use crate::context::AppContext;
use crate::credentials::{self, Binding, Principal, Role};
use crate::db::fines::{self, NewFine};
use crate::db::idempotency::{self, IdempotencyRecord};
use crate::db::{self, DbConnection, WriteError, audit, serials};
use crate::domain::decision_no::{DecisionNo, MAX_SERIAL};
use crate::domain::plate::{PlateError, valid_plate_type};
use crate::domain::time::shanghai_date;
use crate::domain::{Delivery, Fen, FineStatus, Plate, SubjectKind};
use actix_web::web::Data;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, SubsecRound, Utc};
use data_encoding::HEXLOWER;
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use std::sync::Arc;

/// The JSON body of `POST /api/v1/fines`, as the handheld sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct IssueRequest {
    pub violation_code: String,
    pub subject: SubjectRequest,
    pub location: String,
    pub occurred_at: DateTime<FixedOffset>,
    #[serde(default)]
    pub delivery: Option<Delivery>,
    /// An amount within the statutory range; the catalogue's amount when absent.
    #[serde(default)]
    pub amount_fen: Option<i64>,
    /// Must be the officer's own district when given.
    #[serde(default)]
    pub district: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SubjectRequest {
    pub kind: SubjectKind,
    #[serde(default)]
    pub plate: Option<String>,
    #[serde(default)]
    pub plate_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("violation code {0:?} is not in the catalogue")]
    UnknownViolation(String),
    #[error("violation {violation} does not apply to a {kind}")]
    NotApplicable { violation: String, kind: &'static str },
    #[error("{amount} is outside the on-the-spot range {min}–{max} for a {kind}")]
    AmountOutOfRange { amount: Fen, min: Fen, max: Fen, kind: &'static str },
    #[error("a motor vehicle fine needs the plate")]
    MissingPlate,
    #[error("{0}")]
    InvalidPlate(PlateError),
    #[error("plate_type is a two-digit GA 24.7 code such as \"02\"")]
    InvalidPlateType,
    #[error("location must be 1 to 200 characters")]
    InvalidLocation,
    #[error("occurred_at {0}")]
    InvalidOccurredAt(&'static str),
    #[error("this credential issues fines in district {allowed} only")]
    WrongDistrict { allowed: String },
    #[error("district {0} is not configured")]
    DistrictNotConfigured(String),
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("only officer credentials issue fines")]
    NotAnOfficer,
    #[error("{0}")]
    Malformed(String),
    #[error("the body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    BadIdempotencyKey(String),
    #[error("this Idempotency-Key was used with a different request")]
    KeyReused,
    #[error("district {district} has issued all {MAX_SERIAL} decision numbers for {date}")]
    SerialsExhausted { district: String, date: NaiveDate },
    #[error("lost a race with another writer")]
    Contended,
    #[error("database: {0}")]
    Database(String),
    #[error("database writer: {0}")]
    Unavailable(#[from] WriteError),
    #[error("the system random source failed")]
    Random,
}

impl From<diesel::result::Error> for IssueError {
    fn from(e: diesel::result::Error) -> Self {
        IssueError::Database(e.to_string())
    }
}

/// A validated request, ready to be written.
#[derive(Debug, Clone)]
pub struct IssueCommand {
    pub violation_code: String,
    pub points: i32,
    pub kind: SubjectKind,
    pub plate: Option<Plate>,
    pub plate_type: Option<String>,
    pub location: String,
    pub occurred_at: DateTime<Utc>,
    pub delivery: Delivery,
    pub amount: Fen,
    pub district_code: String,
    pub officer_id: String,
    pub device_id: String,
}

/// How far off the handheld's clock may be, and how old an on-the-spot offence may be.
const CLOCK_SKEW: i64 = 5 * 60;
const MAX_AGE_HOURS: i64 = 24;

impl IssueCommand {
    pub fn parse(
        ctx: &AppContext,
        principal: &Principal,
        req: &IssueRequest,
        now: DateTime<Utc>,
    ) -> Result<Self, IssueError> {
        let Binding::Officer { officer_id, device_id, district_code } = &principal.binding else {
            return Err(IssueError::NotAnOfficer);
        };
        if let Some(asked) = req.district.as_deref()
            && asked != district_code
        {
            return Err(IssueError::WrongDistrict { allowed: district_code.clone() });
        }
        if ctx.settings.districts.get(district_code).is_none() {
            return Err(IssueError::DistrictNotConfigured(district_code.clone()));
        }
        let violation = ctx
            .settings
            .catalogue
            .get(req.violation_code.trim())
            .ok_or_else(|| IssueError::UnknownViolation(req.violation_code.clone()))?;
        let kind = req.subject.kind;
        if !violation.applies_to(kind) {
            return Err(IssueError::NotApplicable { violation: violation.code.clone(), kind: kind.as_str() });
        }
        let amount = match req.amount_fen {
            None => violation.amount_fen,
            Some(fen) => {
                let range = kind.statutory_range();
                if !range.contains(&Fen(fen)) {
                    return Err(IssueError::AmountOutOfRange {
                        amount: Fen(fen),
                        min: *range.start(),
                        max: *range.end(),
                        kind: kind.as_str(),
                    });
                }
                Fen(fen)
            }
        };
        let plate = match (kind, req.subject.plate.as_deref().map(str::trim)) {
            (SubjectKind::MotorVehicle, None | Some("")) => return Err(IssueError::MissingPlate),
            (_, None | Some("")) => None,
            (_, Some(raw)) => Some(Plate::parse(raw).map_err(IssueError::InvalidPlate)?),
        };
        let plate_type = match req.subject.plate_type.as_deref().map(str::trim) {
            Some(t) if valid_plate_type(t) => Some(t.to_owned()),
            Some(_) => return Err(IssueError::InvalidPlateType),
            None if kind == SubjectKind::MotorVehicle => Some("02".to_owned()),
            None => None,
        };
        let location = req.location.trim().to_owned();
        if location.is_empty() || location.chars().count() > 200 || location.chars().any(char::is_control) {
            return Err(IssueError::InvalidLocation);
        }
        let occurred_at = req.occurred_at.with_timezone(&Utc);
        if occurred_at > now + Duration::seconds(CLOCK_SKEW) {
            return Err(IssueError::InvalidOccurredAt("is in the future"));
        }
        if occurred_at < now - Duration::hours(MAX_AGE_HOURS) {
            return Err(IssueError::InvalidOccurredAt("is more than 24 hours ago: not an on-the-spot fine"));
        }
        let delivery = req.delivery.unwrap_or(match kind {
            SubjectKind::MotorVehicle => Delivery::Print,
            SubjectKind::NonMotorVehicle | SubjectKind::Pedestrian => Delivery::Screen,
        });
        Ok(IssueCommand {
            violation_code: violation.code.clone(),
            points: i32::from(violation.points),
            kind,
            plate,
            plate_type,
            location,
            occurred_at: occurred_at.trunc_subsecs(0),
            delivery,
            amount,
            district_code: district_code.clone(),
            officer_id: officer_id.clone(),
            device_id: device_id.clone(),
        })
    }
}

/// What the caller gets: 201 for a new fine, 200 for a replay, with the stored body either way.
#[derive(Debug, Clone)]
pub struct IssueOutcome {
    pub created: bool,
    pub body: String,
}

/// A stable fingerprint of a request: the hash of its JSON re-serialised with sorted keys, so a
/// retry that formats the same request differently still matches.
pub fn request_hash(body: &serde_json::Value) -> String {
    HEXLOWER.encode(digest(&SHA256, body.to_string().as_bytes()).as_ref())
}

/// A request to issue, as it arrives: the caller's token and the parsed (or refused) parts. It is
/// authorized inside the writer's transaction, so issuing costs one hop off the async executor.
pub struct IssueAttempt {
    pub token: String,
    pub idempotency_key: Result<String, IssueError>,
    pub request: Result<(IssueRequest, String), IssueError>,
}

/// Issues a fine through the group-committing writer, or replays the stored answer to an earlier
/// request with the same credential and idempotency key.
pub async fn issue(ctx: &Data<AppContext>, attempt: IssueAttempt) -> Result<IssueOutcome, IssueError> {
    let attempt = Arc::new(attempt);
    // Another instance may hold the same key or the same serial counter: the loser's savepoint
    // rolls back and a later batch replays the winner's committed answer.
    let mut tries = 0;
    loop {
        tries += 1;
        let (job_ctx, job) = (ctx.clone(), attempt.clone());
        match ctx.writer.run(move |conn| authorize_and_issue(&job_ctx, conn, &job)).await {
            Err(IssueError::Contended) if tries < MAX_TRIES => continue,
            other => return other,
        }
    }
}

const MAX_TRIES: u32 = 5;

/// Refusals come in the documented order: 401, then 403, then malformed input, then the rest.
fn authorize_and_issue(
    ctx: &AppContext,
    conn: &mut DbConnection,
    attempt: &IssueAttempt,
) -> Result<IssueOutcome, IssueError> {
    let principal = credentials::authenticate(conn, &attempt.token)?.ok_or(IssueError::Unauthorized)?;
    if principal.binding.role() != Role::Officer {
        return Err(IssueError::NotAnOfficer);
    }
    let key = attempt.idempotency_key.clone()?;
    let (request, hash) = attempt.request.as_ref().map_err(Clone::clone)?;
    let command = IssueCommand::parse(ctx, &principal, request, ctx.clock.now())?;
    issue_once(ctx, conn, &principal, &key, hash, &command)
}

/// A write lost a race with another transaction; retrying is safe.
fn contended(e: diesel::result::Error) -> IssueError {
    if db::is_retryable(&e) { IssueError::Contended } else { e.into() }
}

fn issue_once(
    ctx: &AppContext,
    conn: &mut DbConnection,
    principal: &Principal,
    idempotency_key: &str,
    hash: &str,
    cmd: &IssueCommand,
) -> Result<IssueOutcome, IssueError> {
    if let Some(record) = idempotency::find(conn, &principal.credential_id, idempotency_key)? {
        if record.request_hash != hash {
            return Err(IssueError::KeyReused);
        }
        return Ok(IssueOutcome { created: false, body: record.response_body });
    }

    let now = ctx.clock.now().trunc_subsecs(0);
    let issue_date = shanghai_date(now);
    let serial = serials::next_serial(conn, &cmd.district_code, issue_date).map_err(contended)?;
    let serial = u32::try_from(serial)
        .ok()
        .filter(|s| *s <= MAX_SERIAL)
        .ok_or_else(|| IssueError::SerialsExhausted { district: cmd.district_code.clone(), date: issue_date })?;
    let district = ctx
        .settings
        .districts
        .get(&cmd.district_code)
        .ok_or_else(|| IssueError::DistrictNotConfigured(cmd.district_code.clone()))?;
    let decision_no = DecisionNo::new(&district.code, issue_date, serial)
        .map_err(|_| IssueError::SerialsExhausted { district: cmd.district_code.clone(), date: issue_date })?;

    let with_qr = district.qr_payment_on(issue_date);
    let (status, qr_expires_at, qr_key_id) = if with_qr {
        (
            FineStatus::AwaitingPayment,
            Some(ctx.settings.qr.policy.expires_at(now)),
            Some(i32::from(ctx.signer.current_key())),
        )
    } else {
        (FineStatus::PayableAtBank, None, None)
    };
    let verification_code = verification_code()?;
    let row = NewFine {
        decision_no: decision_no.as_str(),
        district_code: &cmd.district_code,
        verification_code: &verification_code,
        violation_code: &cmd.violation_code,
        subject_kind: cmd.kind.as_str(),
        plate: cmd.plate.as_ref().map(Plate::as_str),
        plate_type: cmd.plate_type.as_deref(),
        location: &cmd.location,
        occurred_at: cmd.occurred_at.naive_utc(),
        delivery: cmd.delivery.as_str(),
        amount_fen: cmd.amount.get(),
        points: cmd.points,
        status: status.as_str(),
        credential_id: &principal.credential_id,
        officer_id: &cmd.officer_id,
        device_id: &cmd.device_id,
        issued_at: now.naive_utc(),
        qr_expires_at: qr_expires_at.map(|t| t.naive_utc()),
        qr_key_id,
        updated_at: now.naive_utc(),
    };
    fines::insert(conn, &row)?;

    let actor = principal.actor();
    let details = serde_json::json!({
        "violation_code": cmd.violation_code,
        "amount_fen": cmd.amount.get(),
        "status": status.as_str(),
        "officer_id": cmd.officer_id,
        "device_id": cmd.device_id,
    })
    .to_string();
    audit::record(
        conn,
        &audit::NewAuditEntry {
            at: now.naive_utc(),
            actor: &actor,
            action: "fine.issue",
            decision_no: Some(decision_no.as_str()),
            details: &details,
        },
    )?;

    let view = FineView::from_new(&ViewContext::of(ctx), &row, &decision_no);
    let body = serde_json::to_string(&view).map_err(|e| IssueError::Database(e.to_string()))?;
    idempotency::insert(
        conn,
        &IdempotencyRecord {
            credential_id: principal.credential_id.clone(),
            idempotency_key: idempotency_key.to_owned(),
            request_hash: hash.to_owned(),
            response_status: 201,
            response_body: body.clone(),
            created_at: now.naive_utc(),
        },
    )
    .map_err(contended)?;
    Ok(IssueOutcome { created: true, body })
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
