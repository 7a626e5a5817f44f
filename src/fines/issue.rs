//! Issuing a fine, at the edge: the handheld's request, its checks against the catalogue, the
//! statutory ranges and the officer's credential, and the errors a refusal can carry. What passes
//! becomes an [`IssueCommand`], which `issue_write` writes.

use crate::credentials::{Binding, Principal};
use crate::db::{LostRace, WriteError};
use crate::domain::decision_no::MAX_SERIAL;
use crate::domain::plate::{PlateError, valid_plate_type};
use crate::domain::{Catalogue, Delivery, Districts, Fen, Plate, SubjectKind};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, SubsecRound, Utc};
use data_encoding::HEXLOWER;
use ring::digest::{SHA256, digest};
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

#[derive(Debug, Clone, thiserror::Error)]
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
    /// A text that may not be stored (`domain::text`), in the field named.
    #[error("{message}")]
    InvalidText { field: String, message: String },
    #[error("{0}")]
    BadIdempotencyKey(String),
    #[error("the body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("this Idempotency-Key was used with a different request")]
    KeyReused,
    #[error("district {district} has issued all {MAX_SERIAL} decision numbers for {date}")]
    SerialsExhausted { district: String, date: NaiveDate },
    #[error("lost a race with another writer")]
    Contended,
    #[error("the database failed")]
    Database(#[source] Arc<diesel::result::Error>),
    #[error("a new fine of the batch was not prepared")]
    NotPrepared,
    #[error("the fine's answer could not be written")]
    Encode(#[source] Arc<serde_json::Error>),
    #[error("the database writer failed")]
    Unavailable(#[from] WriteError),
    #[error("the system random source failed")]
    Random,
}

impl From<diesel::result::Error> for IssueError {
    fn from(e: diesel::result::Error) -> Self {
        IssueError::Database(Arc::new(e))
    }
}

/// A fine written alone runs again when it lost a race (another instance took the same key or
/// the same serial first): the next run replays the winner or takes the next serial.
impl LostRace for IssueError {
    fn lost_race(&self) -> bool {
        match self {
            IssueError::Contended => true,
            IssueError::Database(e) => e.lost_race(),
            _ => false,
        }
    }
}

/// A validated request, ready to be written.
#[derive(Debug, Clone)]
pub(super) struct IssueCommand {
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
    pub(super) fn parse(
        catalogue: &Catalogue,
        districts: &Districts,
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
        if districts.get(district_code).is_none() {
            return Err(IssueError::DistrictNotConfigured(district_code.clone()));
        }
        let violation = catalogue
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
pub(crate) fn request_hash(body: &serde_json::Value) -> String {
    HEXLOWER.encode(digest(&SHA256, body.to_string().as_bytes()).as_ref())
}

#[cfg(test)]
mod tests;
