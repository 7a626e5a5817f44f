//! What every handler needs at the edge of the service: the bearer token, a size-bounded body,
//! the Idempotency-Key header, and the single hop from the async executor to a blocking thread
//! where the synchronous database work runs (short SQLite reads skip it).

use super::error::ApiError;
use crate::credentials::{self, Principal, Role};
use crate::db::DbConnection;
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

/// Reads the whole body, refusing it with 413 as soon as it passes `limit` bytes.
pub(super) async fn read_body(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::payload_too_large(limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::invalid_request(format!("reading the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Parses a JSON body into `T`, naming what is wrong (syntax, a type, a missing field) in a 400.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<(T, serde_json::Value), ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_request(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::invalid_request("the body must be a JSON object"));
    }
    let parsed =
        T::deserialize(&value).map_err(|e| ApiError::invalid_request(format!("the request does not fit: {e}")))?;
    Ok((parsed, value))
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
