//! The desk's browser sessions. Signing in with an admin token starts a session: the browser gets
//! a random session id in an `HttpOnly`, `SameSite=Strict` cookie scoped to `/admin` (`Secure`
//! over https), never the token itself, and the database keeps only the id's SHA-256. A session
//! ends at sign-out, after `admin.session_idle` without a request, after `admin.session_max`, or
//! when its credential is revoked — whichever comes first, checked on every request.
//!
//! Every form the desk posts carries the session's own CSRF token, compared in constant time;
//! `SameSite=Strict` alone would leave a request from a same-site page (another service on the
//! bureau's domain) riding on the cookie.

use super::edge::{BearerToken, cookie};
use super::error::ApiError;
use crate::credentials::{self, Principal, Role};
use crate::db::{DbConnection, admin_sessions, audit};
use crate::http::AppState;
use crate::qr::constant_time_eq;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use chrono::{DateTime, SubsecRound, Utc};
use data_encoding::BASE32_NOPAD;
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use std::future::{Ready, ready};

/// The cookie that holds a session's id.
pub(super) const SESSION_COOKIE: &str = "finepay_admin";
/// The form field that carries the CSRF token.
pub(super) const CSRF_FIELD: &str = "csrf";
/// A session's last use is written at most this often: not a write on every page.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// A signed-in admin at the desk.
#[derive(Debug, Clone)]
pub(crate) struct Desk {
    pub principal: Principal,
    /// The admin's name, as the pages greet them.
    pub name: String,
    /// The token every form of this session posts back.
    pub csrf: String,
}

/// 160 random bits, base32: a session id or a CSRF token.
fn random_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 20];
    SystemRandom::new().fill(&mut bytes).map_err(|_| ApiError::internal("the system random generator failed"))?;
    Ok(BASE32_NOPAD.encode(&bytes))
}

fn hash_of(session_id: &str) -> String {
    data_encoding::HEXLOWER.encode(digest(&SHA256, session_id.as_bytes()).as_ref())
}

/// Starts a session for the live admin `principal`; the id for the cookie.
pub(super) fn start(
    ctx: &AppState,
    conn: &mut DbConnection,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let (id, csrf) = (random_token()?, random_token()?);
    let session = admin_sessions::NewSession {
        id_hash: &hash_of(&id),
        credential_id: &principal.credential_id,
        csrf_token: &csrf,
        now: now.trunc_subsecs(0).naive_utc(),
    };
    ctx.pool.write(conn, |conn| {
        admin_sessions::create(conn, &session)?;
        audit_desk(conn, principal, "desk.sign_in", session.now)
    })?;
    Ok(id)
}

/// The session id the request's cookie holds.
pub(super) fn id_of(req: &HttpRequest) -> Option<String> {
    cookie(req, SESSION_COOKIE).map(str::to_owned)
}

/// The live session `id` names, checked against the clock and its credential, with its last use
/// recorded; `None` for a session that is over (ended, idle, too old, revoked) or never began.
pub(super) fn find(ctx: &AppState, conn: &mut DbConnection, id: &str) -> Result<Option<Desk>, ApiError> {
    let now = ctx.clock.now();
    let ago = |d: std::time::Duration| {
        chrono::Duration::from_std(d)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
            .naive_utc()
    };
    let id_hash = hash_of(id);
    let found = admin_sessions::find_live(conn, &id_hash, ago(ctx.admin.session_idle), ago(ctx.admin.session_max))?;
    let Some(live) = found else { return Ok(None) };
    let Some(principal) = credentials::principal_by_id(conn, &live.credential_id)? else { return Ok(None) };
    let Some(desk) = Desk::of(principal, live.csrf_token) else { return Ok(None) };
    let now = now.trunc_subsecs(0).naive_utc();
    if now - live.last_seen_at >= TOUCH_EVERY {
        ctx.pool.write(conn, |conn| admin_sessions::touch(conn, &id_hash, now))?;
    }
    Ok(Some(desk))
}

/// Ends the session `id` names, signed out by `principal`.
pub(super) fn end(ctx: &AppState, conn: &mut DbConnection, id: &str, principal: &Principal) -> Result<(), ApiError> {
    let now = ctx.clock.now().trunc_subsecs(0).naive_utc();
    ctx.pool.write(conn, |conn| {
        if admin_sessions::end(conn, &hash_of(id), now)? {
            audit_desk(conn, principal, "desk.sign_out", now)?;
        }
        Ok(())
    })
}

/// Signing in and out of the desk are in the audit log, under the admin's name.
fn audit_desk(
    conn: &mut DbConnection,
    principal: &Principal,
    action: &str,
    at: chrono::NaiveDateTime,
) -> Result<(), ApiError> {
    let details = serde_json::json!({"credential_id": principal.credential_id}).to_string();
    let entry = audit::NewAuditEntry { at, actor: &principal.actor(), action, decision_no: None, details: &details };
    audit::record(conn, &entry)?;
    Ok(())
}

impl Desk {
    /// The desk of an admin `principal` with the session's CSRF token (empty for a bearer token,
    /// which posts no forms); `None` for any other role.
    pub(super) fn of(principal: Principal, csrf: String) -> Option<Desk> {
        let credentials::Binding::Admin { name } = &principal.binding else { return None };
        let name = name.clone();
        Some(Desk { principal, name, csrf })
    }

    /// Whether `presented` is this session's CSRF token. A desk without one (a bearer token's)
    /// matches nothing.
    pub(super) fn csrf_matches(&self, presented: &str) -> bool {
        !self.csrf.is_empty() && constant_time_eq(self.csrf.as_bytes(), presented.as_bytes())
    }
}

/// Who reads the admin API: an admin bearer token (scripts), or the desk's session cookie — so a
/// signed-in browser can open the API its pages link to (a fine's audit trail, say). Only reads:
/// what changes something takes a bearer token, or the session's CSRF token on the desk's forms.
pub(super) enum AdminReader {
    Bearer(BearerToken),
    Session(String),
}

impl FromRequest for AdminReader {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let reader = match BearerToken::of(req) {
            Some(token) => Some(AdminReader::Bearer(token)),
            None => id_of(req).map(AdminReader::Session),
        };
        ready(reader.ok_or_else(ApiError::unauthorized))
    }
}

impl AdminReader {
    /// The admin behind the token or the live session; 401 or 403 otherwise.
    pub(super) fn authorize(&self, ctx: &AppState, conn: &mut DbConnection) -> Result<Principal, ApiError> {
        match self {
            AdminReader::Bearer(token) => token.authorize(conn, &[Role::Admin]),
            AdminReader::Session(id) => {
                find(ctx, conn, id)?.map(|desk| desk.principal).ok_or_else(ApiError::unauthorized)
            }
        }
    }
}

/// The `Set-Cookie` value that carries a session (`Some(id)`) or forgets it (`None`). `Secure`
/// when finepay is served over https.
pub(super) fn session_cookie(id: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match id {
        Some(id) => format!("{SESSION_COOKIE}={id}; Path=/admin; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{SESSION_COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_http_only_strict_scoped_and_secure_over_https() {
        assert_eq!(session_cookie(Some("ID"), false), "finepay_admin=ID; Path=/admin; HttpOnly; SameSite=Strict");
        assert_eq!(
            session_cookie(Some("ID"), true),
            "finepay_admin=ID; Path=/admin; HttpOnly; SameSite=Strict; Secure"
        );
        assert_eq!(
            session_cookie(None, true),
            "finepay_admin=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict; Secure"
        );
    }

    #[test]
    fn ids_are_random_and_stored_hashed() {
        let (a, b) = (random_token().expect("random"), random_token().expect("random"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert_eq!(hash_of(&a).len(), 64);
        assert_ne!(hash_of(&a), a);
    }
}
