-- Foundation: fines, the per-district per-day serials behind decision numbers, credentials,
-- durable idempotency records and the append-only audit log.
-- SQLite: tables keyed by text are WITHOUT ROWID where their key grows in order (decision
-- numbers), so an insert writes one B-tree instead of a rowid table plus a key index.

CREATE TABLE fines (
    decision_no       TEXT PRIMARY KEY NOT NULL,
    district_code     TEXT NOT NULL,
    verification_code TEXT NOT NULL,
    violation_code    TEXT NOT NULL,
    subject_kind      TEXT NOT NULL,
    plate             TEXT,
    plate_type        TEXT,
    location          TEXT NOT NULL,
    occurred_at       TIMESTAMP NOT NULL,
    delivery          TEXT NOT NULL,
    amount_fen        BIGINT NOT NULL CHECK (amount_fen > 0),
    points            INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('awaiting_payment', 'payable_at_bank', 'paid', 'void')),
    credential_id     TEXT NOT NULL,
    officer_id        TEXT NOT NULL,
    device_id         TEXT NOT NULL,
    issued_at         TIMESTAMP NOT NULL,
    qr_expires_at     TIMESTAMP,
    qr_key_id         INTEGER,
    paid_at           TIMESTAMP,
    paid_channel      TEXT,
    voided_at         TIMESTAMP,
    void_reason       TEXT,
    updated_at        TIMESTAMP NOT NULL
) WITHOUT ROWID;
CREATE INDEX fines_by_status_and_expiry ON fines (status, qr_expires_at);
CREATE INDEX fines_by_district_and_issue ON fines (district_code, issued_at);

CREATE TABLE decision_serials (
    district_code TEXT NOT NULL,
    issue_date    DATE NOT NULL,
    last_serial   BIGINT NOT NULL,
    PRIMARY KEY (district_code, issue_date)
) WITHOUT ROWID;

CREATE TABLE credentials (
    id            TEXT PRIMARY KEY NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('officer', 'bank', 'admin')),
    token_hash    TEXT NOT NULL UNIQUE,
    officer_id    TEXT,
    device_id     TEXT,
    district_code TEXT,
    bank_code     TEXT,
    name          TEXT,
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP
);

CREATE TABLE idempotency_keys (
    credential_id   TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (credential_id, idempotency_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TIMESTAMP NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    decision_no TEXT,
    details     TEXT NOT NULL
);
CREATE INDEX audit_log_by_fine ON audit_log (decision_no, id);
