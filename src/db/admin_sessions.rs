//! `admin_sessions`: the desk's browser sessions, by the SHA-256 of the cookie's random id. A
//! session is live while it has not ended, was used within the idle limit, is younger than the
//! absolute limit, and its credential is not revoked — all checked in the one query every desk
//! request runs. Ending one is a conditional update.

use super::DbConnection;
use super::schema::{admin_sessions, credentials};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A new session's row.
pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub credential_id: &'a str,
    pub csrf_token: &'a str,
    pub now: NaiveDateTime,
}

pub fn create(conn: &mut DbConnection, session: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(admin_sessions::table)
        .values((
            admin_sessions::id_hash.eq(session.id_hash),
            admin_sessions::credential_id.eq(session.credential_id),
            admin_sessions::csrf_token.eq(session.csrf_token),
            admin_sessions::created_at.eq(session.now),
            admin_sessions::last_seen_at.eq(session.now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A live session: its CSRF token, when it was last used, and its credential's id.
pub struct LiveSession {
    pub csrf_token: String,
    pub last_seen_at: NaiveDateTime,
    pub credential_id: String,
}

/// The session whose id hashes to `id_hash`, if it is live: not ended, used after `idle_since`,
/// begun after `begun_since`, its credential not revoked.
pub fn find_live(
    conn: &mut DbConnection,
    id_hash: &str,
    idle_since: NaiveDateTime,
    begun_since: NaiveDateTime,
) -> QueryResult<Option<LiveSession>> {
    let row: Option<(String, NaiveDateTime, String)> = super::unique_row(
        admin_sessions::table
            .inner_join(credentials::table)
            .filter(admin_sessions::id_hash.eq(id_hash))
            .filter(admin_sessions::ended_at.is_null())
            .filter(admin_sessions::last_seen_at.gt(idle_since))
            .filter(admin_sessions::created_at.gt(begun_since))
            .filter(credentials::revoked_at.is_null())
            .select((admin_sessions::csrf_token, admin_sessions::last_seen_at, admin_sessions::credential_id)),
        conn,
    )?;
    Ok(row.map(|(csrf_token, last_seen_at, credential_id)| LiveSession { csrf_token, last_seen_at, credential_id }))
}

/// Marks the session used at `now`.
pub fn touch(conn: &mut DbConnection, id_hash: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(admin_sessions::table.find(id_hash).filter(admin_sessions::ended_at.is_null()))
        .set(admin_sessions::last_seen_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// Ends the session, if it had not ended. True when this call ended it.
pub fn end(conn: &mut DbConnection, id_hash: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let open = admin_sessions::table.find(id_hash).filter(admin_sessions::ended_at.is_null());
    Ok(diesel::update(open).set(admin_sessions::ended_at.eq(now)).execute(conn)? == 1)
}

/// Forgets sessions last used before `before` (they can no longer be live).
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(admin_sessions::table.filter(admin_sessions::last_seen_at.lt(before))).execute(conn)
}
