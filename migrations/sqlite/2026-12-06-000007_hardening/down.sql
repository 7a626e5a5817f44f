-- Held and implausibly dated payments, and interrupted imports, cannot be kept under the old
-- states: undoing this migration is refused (the CHECK fails) while any exists.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TEMP TABLE implausible_payments (count INTEGER CHECK (count = 0));
INSERT INTO implausible_payments
    SELECT (SELECT COUNT(*) FROM payments WHERE outcome = 'held')
         + (SELECT COUNT(*) FROM bank_payments WHERE outcome = 'implausible_date')
         + (SELECT COUNT(*) FROM bank_statements WHERE status = 'interrupted');
DROP TABLE implausible_payments;
CREATE TABLE payments_without_held (
    channel        TEXT NOT NULL,
    channel_txn_id TEXT NOT NULL,
    out_trade_no   TEXT NOT NULL REFERENCES channel_orders (out_trade_no),
    decision_no    TEXT NOT NULL REFERENCES fines (decision_no),
    amount_fen     BIGINT NOT NULL CHECK (amount_fen > 0),
    paid_at        TIMESTAMP NOT NULL,
    received_at    TIMESTAMP NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('notification', 'query')),
    outcome        TEXT NOT NULL CHECK (outcome IN ('applied', 'refund')),
    receipt_no     TEXT UNIQUE,
    PRIMARY KEY (channel, channel_txn_id)
);
INSERT INTO payments_without_held SELECT * FROM payments;
DROP TABLE payments;
ALTER TABLE payments_without_held RENAME TO payments;
CREATE INDEX payments_by_fine ON payments (decision_no);
CREATE INDEX payments_by_channel_and_time ON payments (channel, paid_at);

CREATE TABLE bank_payments_without_dates (
    bank_code       TEXT NOT NULL,
    reference       TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('api', 'statement')),
    statement_id    BIGINT,
    decision_no     TEXT REFERENCES fines (decision_no),
    amount_fen      BIGINT NOT NULL CHECK (amount_fen > 0),
    due_fen         BIGINT,
    paid_at         TIMESTAMP NOT NULL,
    method          TEXT NOT NULL CHECK (method IN ('counter', 'online', 'statement')),
    outcome         TEXT NOT NULL CHECK (outcome IN ('settled', 'already_known', 'duplicate_payment',
                        'amount_mismatch', 'unmatched', 'fine_void', 'reversed')),
    transaction_ref TEXT,
    counterpart     TEXT,
    reversed_by     TEXT,
    received_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (bank_code, reference)
);
INSERT INTO bank_payments_without_dates SELECT * FROM bank_payments;
DROP TABLE bank_payments;
ALTER TABLE bank_payments_without_dates RENAME TO bank_payments;
CREATE INDEX bank_payments_by_fine ON bank_payments (decision_no);
CREATE INDEX bank_payments_by_transaction ON bank_payments (bank_code, transaction_ref);

CREATE TABLE bank_statements_without_heartbeat (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_code   TEXT NOT NULL,
    format      TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    file_bytes  BIGINT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('importing', 'complete', 'malformed', 'refused')),
    report      TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL
);
INSERT INTO bank_statements_without_heartbeat
    SELECT id, bank_code, format, file_name, file_sha256, file_bytes, status, report, imported_at
    FROM bank_statements;
DROP TABLE bank_statements;
ALTER TABLE bank_statements_without_heartbeat RENAME TO bank_statements;
CREATE INDEX bank_statements_by_time ON bank_statements (imported_at);
COMMIT;
PRAGMA foreign_keys = ON;
