-- A payment dated where it cannot be true (before its order was opened or its fine issued, or
-- after now) is kept but neither pays nor prices anything: a channel's payment is `held`, a
-- bank's ends `implausible_date`, and each is raised as an exception for a person. A statement
-- import says it is alive (`touched_at`, after every batch); one that stopped saying so was
-- killed, and is marked `interrupted` instead of staying `importing` for good.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE payments_with_held (
    channel        TEXT NOT NULL,
    channel_txn_id TEXT NOT NULL,
    out_trade_no   TEXT NOT NULL REFERENCES channel_orders (out_trade_no),
    decision_no    TEXT NOT NULL REFERENCES fines (decision_no),
    amount_fen     BIGINT NOT NULL CHECK (amount_fen > 0),
    paid_at        TIMESTAMP NOT NULL,
    received_at    TIMESTAMP NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('notification', 'query')),
    outcome        TEXT NOT NULL CHECK (outcome IN ('applied', 'refund', 'held')),
    receipt_no     TEXT UNIQUE,
    PRIMARY KEY (channel, channel_txn_id)
);
INSERT INTO payments_with_held
    SELECT channel, channel_txn_id, out_trade_no, decision_no, amount_fen, paid_at, received_at, source, outcome,
           receipt_no
    FROM payments;
DROP TABLE payments;
ALTER TABLE payments_with_held RENAME TO payments;
CREATE INDEX payments_by_fine ON payments (decision_no);
CREATE INDEX payments_by_channel_and_time ON payments (channel, paid_at);

CREATE TABLE bank_payments_with_dates (
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
                        'amount_mismatch', 'unmatched', 'fine_void', 'reversed', 'implausible_date')),
    transaction_ref TEXT,
    counterpart     TEXT,
    reversed_by     TEXT,
    received_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (bank_code, reference)
);
INSERT INTO bank_payments_with_dates
    SELECT bank_code, reference, source, statement_id, decision_no, amount_fen, due_fen, paid_at, method, outcome,
           transaction_ref, counterpart, reversed_by, received_at
    FROM bank_payments;
DROP TABLE bank_payments;
ALTER TABLE bank_payments_with_dates RENAME TO bank_payments;
CREATE INDEX bank_payments_by_fine ON bank_payments (decision_no);
CREATE INDEX bank_payments_by_transaction ON bank_payments (bank_code, transaction_ref);

CREATE TABLE bank_statements_with_heartbeat (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_code   TEXT NOT NULL,
    format      TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    file_bytes  BIGINT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('importing', 'complete', 'malformed', 'refused', 'interrupted')),
    report      TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    touched_at  TIMESTAMP
);
INSERT INTO bank_statements_with_heartbeat
    SELECT id, bank_code, format, file_name, file_sha256, file_bytes, status, report, imported_at, imported_at
    FROM bank_statements;
DROP TABLE bank_statements;
ALTER TABLE bank_statements_with_heartbeat RENAME TO bank_statements;
CREATE INDEX bank_statements_by_time ON bank_statements (imported_at);
CREATE INDEX bank_statements_by_status ON bank_statements (status);
COMMIT;
PRAGMA foreign_keys = ON;
