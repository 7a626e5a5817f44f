//! What every handler needs at the edge of the service: the bearer token, a size-bounded body,
//! the Idempotency-Key header, and the single hop from the async executor to a blocking thread
//! where the synchronous database work runs (short SQLite reads skip it).

use super::error::ApiError;
use crate::credentials::{self, Principal, Role};
use crate::db::DbConnection;
use crate::domain::text;
use actix_web::dev::Payload;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use std::future::{Ready, ready};

/// The token from `Authorization: Bearer …`; a request without one is refused before any work.
pub(super) struct BearerToken(String);

impl FromRequest for BearerToken {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(bearer_of(req).map(|t| BearerToken(t.to_owned())).ok_or_else(ApiError::unauthorized))
    }
}

/// The token of an `Authorization: Bearer …` header, if the request has one.
pub(super) fn bearer_of(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 128)
}

impl BearerToken {
    /// The request's bearer token, if it has one.
    pub(super) fn of(req: &HttpRequest) -> Option<BearerToken> {
        bearer_of(req).map(|t| BearerToken(t.to_owned()))
    }

    /// The token, if it has the shape finepay's tokens have; anything else is refused here,
    /// without a database lookup, so garbage never queues behind real work.
    pub(super) fn plausible(self) -> Result<String, ApiError> {
        if credentials::plausible_token(&self.0) { Ok(self.0) } else { Err(ApiError::unauthorized()) }
    }

    /// The caller behind the token, if it is live and holds one of `roles`.
    pub(super) fn authorize(&self, conn: &mut DbConnection, roles: &[Role]) -> Result<Principal, ApiError> {
        // A token that cannot be one of ours is refused without a database lookup.
        if !credentials::plausible_token(&self.0) {
            return Err(ApiError::unauthorized());
        }
        let principal = credentials::authenticate(conn, &self.0)?.ok_or_else(ApiError::unauthorized)?;
        let role = principal.binding.role();
        if !roles.contains(&role) {
            return Err(ApiError::forbidden(format!("a {} credential may not call this", role.as_str())));
        }
        Ok(principal)
    }
}

/// The length a request's `Content-Length` declares, if it has one.
pub(super) fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// Reads the whole body, refusing it with 413 as soon as it passes `limit` bytes, with 408 when
/// it has not arrived within `server.body_timeout` (a client that trickles its body holds a
/// connection no longer), and with 400 `incomplete_body` when it ends short of its
/// `Content-Length`. The HTTP server takes a connection closed mid-body for the body's end, so a
/// request cut by the network would otherwise be handled as if complete. (A chunked body cut at a
/// chunk's end cannot be told from a whole one: a JSON body is then refused as unparsable, and
/// statement uploads must declare their length; see `bank_statements`.)
pub(super) async fn read_body(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> Result<Bytes, ApiError> {
    let declared = declared_length(req);
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::payload_too_large(limit));
    }
    let timeout =
        req.app_data::<web::Data<crate::http::AppState>>().map_or(DEFAULT_BODY_TIMEOUT, |ctx| ctx.server.body_timeout);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut body = BytesMut::new();
    while let Some(chunk) = next_piece(&mut payload, deadline, timeout).await? {
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    match declared {
        Some(declared) if declared != body.len() => Err(ApiError::incomplete_body(body.len(), declared)),
        _ => Ok(body.freeze()),
    }
}

/// The next piece of a body, or `None` at its end: 408 when it has not come by `deadline`, or
/// within `idle` of asking for it; 400 when the connection failed.
pub(super) async fn next_piece(
    payload: &mut web::Payload,
    deadline: tokio::time::Instant,
    idle: std::time::Duration,
) -> Result<Option<Bytes>, ApiError> {
    let piece = tokio::time::timeout(idle, payload.next());
    let next = tokio::time::timeout_at(deadline, piece).await.and_then(|piece| piece);
    next.map_err(|_| ApiError::request_timeout())?
        .transpose()
        .map_err(|e| ApiError::invalid_request(format!("reading the body: {e}")))
}

/// `server.body_timeout`'s default, for a request served without finepay's state.
const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Parses a JSON body into `T`, naming what is wrong (syntax, a type, a missing field) in a 400.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<(T, serde_json::Value), ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_request(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::invalid_request("the body must be a JSON object"));
    }
    if let Some((field, fault)) = unstorable_text(&value, String::new()) {
        return Err(ApiError::invalid_text(&field, fault));
    }
    let parsed =
        T::deserialize(&value).map_err(|e| ApiError::invalid_request(format!("the request does not fit: {e}")))?;
    Ok((parsed, value))
}

/// The first string (or member name) in `value` that may not be stored, with its path
/// (`subject.plate`, `lines[2]`); member names are checked too, as a body may be kept whole.
fn unstorable_text(value: &serde_json::Value, path: String) -> Option<(String, text::ControlChar)> {
    use serde_json::Value;
    match value {
        Value::String(s) => text::storable(s).err().map(|fault| (path, fault)),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| unstorable_text(item, format!("{path}[{i}]")))
        }
        Value::Object(members) => members.iter().find_map(|(name, member)| {
            let member_path = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
            match text::storable(name) {
                Err(fault) => Some((member_path, fault)),
                Ok(_) => unstorable_text(member, member_path),
            }
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// A query string as `T`. Every name and value is checked for text that may not be stored
/// (422 naming the parameter) before `T` is read; a malformed query (bad escapes, a parameter
/// given twice, a wrong type) is a 400.
pub(super) fn query<T: serde::de::DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|e| ApiError::invalid_request(format!("query: {e}")))?;
    for (name, value) in pairs.iter() {
        if let Err(fault) = text::storable(name).and_then(|_| text::storable(value)) {
            return Err(ApiError::invalid_text(name, fault));
        }
    }
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::invalid_request(format!("query: {e}")))
}

/// `Idempotency-Key`: required, 1–64 visible ASCII characters.
pub(super) fn idempotency_key(req: &HttpRequest) -> Result<String, ApiError> {
    let raw = req.headers().get("Idempotency-Key").ok_or_else(|| {
        ApiError::invalid_request("the Idempotency-Key header is required")
            .with_details(serde_json::json!({"header": "Idempotency-Key"}))
    })?;
    let key = raw.to_str().ok().filter(|k| (1..=64).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()));
    key.map(str::to_owned).ok_or_else(|| {
        ApiError::invalid_request("Idempotency-Key must be 1 to 64 visible ASCII characters")
            .with_details(serde_json::json!({"header": "Idempotency-Key"}))
    })
}

/// Runs `work` with a pooled connection on a blocking thread: one hop per request.
pub(super) async fn with_conn<T: Send + 'static>(
    ctx: &web::Data<crate::http::AppState>,
    work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let ctx = ctx.clone();
    web::block(move || {
        let mut conn = ctx.pool.get()?;
        work(&mut conn)
    })
    .await?
}

/// Runs a short read. On SQLite it runs right here when a connection is free at once: the hop to
/// a blocking thread and back (two thread wake-ups) costs more than reading a few rows from
/// SQLite's page cache. On PostgreSQL (a network round trip), or with every connection busy, it
/// goes through [`with_conn`].
pub(super) async fn read_conn<T: Send + 'static>(
    ctx: &web::Data<crate::http::AppState>,
    work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    if ctx.pool.is_sqlite()
        && let Some(mut conn) = ctx.pool.try_get()
    {
        return work(&mut conn);
    }
    with_conn(ctx, work).await
}

/// The client's address: from the trusted proxy's header when one is configured, else the peer.
pub(super) fn client_address(ctx: &crate::http::AppState, req: &HttpRequest) -> String {
    let from_proxy = ctx.server.client_address_header.as_deref().and_then(|name| {
        let value = req.headers().get(name)?.to_str().ok()?;
        // A list (X-Forwarded-For) ends with the address the proxy itself saw.
        value.rsplit(',').next().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
    });
    from_proxy.or_else(|| req.peer_addr().map(|a| a.ip().to_string())).unwrap_or_default()
}

/// The value of the cookie `name` the request carries: non-empty, at most 128 characters.
pub(super) fn cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}
