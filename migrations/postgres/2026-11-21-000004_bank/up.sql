-- Bank channel: every payment a bank reported — posted in real time through the bank API or read
-- from an end-of-day statement — once by its natural key (the bank's serial or entry reference),
-- with the state it ended in; and each statement import with its report. A payment seen both ways
-- is two rows that name each other (counterpart), so neither is mistaken for a second payment.

CREATE TABLE bank_payments (
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
CREATE INDEX bank_payments_by_fine ON bank_payments (decision_no);
CREATE INDEX bank_payments_by_transaction ON bank_payments (bank_code, transaction_ref);

CREATE TABLE bank_statements (
    id          BIGSERIAL PRIMARY KEY,
    bank_code   TEXT NOT NULL,
    format      TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    file_bytes  BIGINT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('importing', 'complete', 'malformed', 'refused')),
    report      TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL
);
CREATE INDEX bank_statements_by_time ON bank_statements (imported_at);
