-- The desk's browser sessions. The cookie holds a random session id, never the admin's token;
-- the table keeps only its SHA-256. A session ends at sign-out, after `admin.session_idle`
-- without a request, after `admin.session_max` in all, or when its credential is revoked. Each
-- has its own token that every form the desk posts must carry (CSRF).
CREATE TABLE admin_sessions (
    id_hash       TEXT PRIMARY KEY NOT NULL,
    credential_id TEXT NOT NULL REFERENCES credentials (id),
    csrf_token    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP NOT NULL,
    ended_at      TIMESTAMP
);
CREATE INDEX admin_sessions_by_time ON admin_sessions (last_seen_at);
