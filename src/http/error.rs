//! Every error a client can see, in the documented shape
//! `{"error": {"code", "message", "details"}}`. Use-case errors are mapped here, in one place;
//! 5xx bodies stay opaque and their whole cause chain goes to the log instead.

use crate::admin::{BadParam, ResolveError};
use crate::fines::{IssueError, VoidError};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Value, json};
use std::fmt;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    /// For 5xx: what went wrong inside, with its own causes; logged and never sent.
    pub cause: Option<Cause>,
}

/// An error behind a 5xx, kept whole so that the log shows its chain of causes.
pub(super) type Cause = Box<dyn std::error::Error + Send + Sync>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), details: json!({}), cause: None }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "a valid bearer token is required")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "nothing here")
    }

    pub fn bad_decision_number(why: impl fmt::Display) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_decision_number", why.to_string())
    }

    /// A text that may not be stored (see `domain::text`), naming where it was.
    pub fn invalid_text(field: &str, fault: crate::domain::text::ControlChar) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_text", format!("{field} {fault}"))
            .with_details(json!({"field": field}))
    }

    /// Whether the connection is closed after this error (see [`CLOSES_CONNECTION`]).
    pub fn ends_connection(&self) -> bool {
        CLOSES_CONNECTION.contains(&self.code)
    }

    /// A body that did not arrive within `server.body_timeout`.
    pub fn request_timeout() -> Self {
        Self::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", "the request body did not arrive in time")
    }

    /// A body that ended before the length its `Content-Length` declares: the client's connection
    /// broke, and what arrived is not the request.
    pub fn incomplete_body(received: usize, declared: usize) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "incomplete_body",
            format!("the body ended after {received} of the {declared} bytes its Content-Length declares"),
        )
        .with_details(json!({"received_bytes": received, "declared_bytes": declared}))
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("the body exceeds {limit} bytes"))
            .with_details(json!({"limit_bytes": limit}))
    }

    /// A failure that is not the client's fault: 500 with an opaque body.
    pub fn internal(cause: impl Into<Cause>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "internal error".into(),
            details: json!({}),
            cause: Some(cause.into()),
        }
    }

    /// The database or its pool could not serve the request in time: retryable.
    pub fn unavailable(cause: impl Into<Cause>) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: "temporarily unavailable, retry".into(),
            details: json!({}),
            cause: Some(cause.into()),
        }
    }

    /// The response, for a handler that answers with a plain `HttpResponse`: the error is logged
    /// here, since no request log line will carry it.
    pub fn respond(&self) -> HttpResponse {
        log::error!("{self}");
        self.error_response()
    }
}

impl fmt::Display for ApiError {
    /// `status code: message`, then the cause's chain, for the log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)?;
        if let Some(cause) = &self.cause {
            write!(f, " (cause: {})", crate::errors::chain(cause.as_ref()))?;
        }
        Ok(())
    }
}

/// The errors after which the connection is closed: its body was not read whole (or not at all),
/// or its framing cannot be trusted, so whatever follows on it cannot be taken for a request.
const CLOSES_CONNECTION: [&str; 6] = [
    "payload_too_large",
    "request_timeout",
    "incomplete_body",
    "length_required",
    "ambiguous_framing",
    "connection_closing",
];

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    /// The documented body. The error itself, with its causes, goes to the log on the request's
    /// own line (see `metrics::track`).
    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header(("Cache-Control", "no-store"));
        if self.ends_connection() {
            response.force_close();
        }
        // A 405 names the methods the path answers (RFC 9110 §15.5.6), as its details list them.
        if let Some(allow) = self.details["allow"].as_array().filter(|_| self.status == StatusCode::METHOD_NOT_ALLOWED)
        {
            let methods: Vec<&str> = allow.iter().filter_map(|m| m.as_str()).collect();
            response.insert_header(("Allow", methods.join(", ")));
        }
        response.json(json!({"error": {"code": self.code, "message": self.message, "details": self.details}}))
    }
}

impl From<crate::db::PoolError> for ApiError {
    fn from(e: crate::db::PoolError) -> Self {
        ApiError::unavailable(e)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(e)
    }
}

impl From<IssueError> for ApiError {
    fn from(e: IssueError) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        let (status, code, details) = match &e {
            IssueError::UnknownViolation(_) => {
                (S::UNPROCESSABLE_ENTITY, "unknown_violation", json!({"field": "violation_code"}))
            }
            IssueError::NotApplicable { .. } => {
                (S::UNPROCESSABLE_ENTITY, "violation_not_applicable", json!({"field": "subject.kind"}))
            }
            IssueError::AmountOutOfRange { min, max, .. } => (
                S::UNPROCESSABLE_ENTITY,
                "amount_out_of_range",
                json!({"field": "amount_fen", "min_fen": min.get(), "max_fen": max.get()}),
            ),
            IssueError::MissingPlate | IssueError::InvalidPlate(_) => {
                (S::UNPROCESSABLE_ENTITY, "invalid_plate", json!({"field": "subject.plate"}))
            }
            IssueError::InvalidPlateType => {
                (S::UNPROCESSABLE_ENTITY, "invalid_plate", json!({"field": "subject.plate_type"}))
            }
            IssueError::InvalidLocation => (S::UNPROCESSABLE_ENTITY, "invalid_location", json!({"field": "location"})),
            IssueError::InvalidOccurredAt(_) => {
                (S::UNPROCESSABLE_ENTITY, "invalid_occurred_at", json!({"field": "occurred_at"}))
            }
            IssueError::WrongDistrict { allowed } => (S::FORBIDDEN, "forbidden", json!({"district": allowed})),
            IssueError::DistrictNotConfigured(_) | IssueError::NotAnOfficer => (S::FORBIDDEN, "forbidden", json!({})),
            IssueError::Unauthorized => return ApiError::unauthorized(),
            IssueError::TooLarge(limit) => return ApiError::payload_too_large(*limit),
            IssueError::Malformed(_) => (S::BAD_REQUEST, "invalid_request", json!({})),
            IssueError::InvalidText { field, .. } => (S::UNPROCESSABLE_ENTITY, "invalid_text", json!({"field": field})),
            IssueError::BadIdempotencyKey(_) => {
                (S::BAD_REQUEST, "invalid_request", json!({"header": "Idempotency-Key"}))
            }
            IssueError::KeyReused => (S::UNPROCESSABLE_ENTITY, "idempotency_key_reused", json!({})),
            IssueError::SerialsExhausted { .. } => (S::CONFLICT, "decision_numbers_exhausted", json!({})),
            IssueError::Contended | IssueError::Unavailable(_) => return ApiError::unavailable(e.clone()),
            IssueError::Database(_) | IssueError::Encode(_) | IssueError::NotPrepared | IssueError::Random => {
                return ApiError::internal(e.clone());
            }
        };
        ApiError::new(status, code, message).with_details(details)
    }
}

impl From<VoidError> for ApiError {
    fn from(e: VoidError) -> Self {
        match e {
            VoidError::NotFound => ApiError::not_found(),
            VoidError::AlreadyPaid => ApiError::new(StatusCode::CONFLICT, "already_paid", e.to_string()),
            VoidError::InvalidReason => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_reason", e.to_string())
                    .with_details(json!({"field": "reason"}))
            }
            VoidError::Changed => ApiError::unavailable(e),
            VoidError::UnknownStatus(_) => ApiError::internal(e),
            VoidError::Database(e) => ApiError::internal(e),
        }
    }
}

impl From<BadParam> for ApiError {
    fn from(e: BadParam) -> Self {
        ApiError::invalid_request(e.message).with_details(json!({"field": e.field}))
    }
}

impl From<ResolveError> for ApiError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::NotFound => ApiError::not_found(),
            ResolveError::AlreadyResolved { ref by, ref at, ref resolution, .. } => {
                let details = json!({"resolved_by": by, "resolved_at": at, "resolution": resolution});
                ApiError::conflict(e.to_string()).with_details(details)
            }
            ResolveError::InvalidResolution => {
                ApiError::invalid_request(e.to_string()).with_details(json!({"field": "resolution"}))
            }
            // The API moves no money: only the desk's decisions can be unfit.
            ResolveError::Unfit(_) => ApiError::conflict(e.to_string()),
            ResolveError::Database(e) => ApiError::internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::Why;

    #[derive(Debug, thiserror::Error)]
    #[error("recording the payment failed")]
    struct Outer(#[source] Why);

    /// What the request's log line shows of a 5xx: the opaque body's code, then every cause.
    #[test]
    fn a_server_error_logs_its_whole_chain_and_answers_opaquely() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset by peer");
        let error = ApiError::internal(Outer(Why::of(io)));
        assert_eq!(
            error.to_string(),
            "500 internal: internal error (cause: recording the payment failed: connection reset by peer)"
        );
        let body = actix_web::body::to_bytes(error.error_response().into_body());
        let body = futures_util::FutureExt::now_or_never(body).expect("ready").expect("bytes");
        assert!(!String::from_utf8_lossy(&body).contains("connection reset"), "the body stays opaque");
    }
}
