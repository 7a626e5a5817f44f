-- Scheduler: one lease row per job (who runs it now, until when, and how its last run ended),
-- the reconciliation report of each statement day and channel, and the exceptions queue: what a
-- person has to look at (a payment a channel does not know, an amount that differs, …), each
-- raised once by its natural key however often the job that found it runs.

CREATE TABLE job_leases (
    job              TEXT PRIMARY KEY NOT NULL,
    holder           TEXT,
    lease_until      TIMESTAMP,
    last_started_at  TIMESTAMP,
    last_finished_at TIMESTAMP,
    last_outcome     TEXT,
    runs             BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE reconciliation_reports (
    statement_date         DATE NOT NULL,
    channel                TEXT NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('balanced', 'exceptions', 'unavailable')),
    statement_payments     BIGINT NOT NULL,
    statement_payments_fen BIGINT NOT NULL,
    statement_refunds      BIGINT NOT NULL,
    statement_refunds_fen  BIGINT NOT NULL,
    finepay_payments       BIGINT NOT NULL,
    finepay_payments_fen   BIGINT NOT NULL,
    matched                BIGINT NOT NULL,
    applied                BIGINT NOT NULL,
    exceptions             BIGINT NOT NULL,
    error                  TEXT,
    reconciled_at          TIMESTAMP NOT NULL,
    PRIMARY KEY (statement_date, channel)
);

CREATE TABLE exceptions (
    id             BIGSERIAL PRIMARY KEY,
    kind           TEXT NOT NULL,
    source         TEXT NOT NULL,
    reference      TEXT NOT NULL,
    decision_no    TEXT,
    statement_date DATE,
    amount_fen     BIGINT,
    expected_fen   BIGINT,
    details        TEXT NOT NULL,
    raised_at      TIMESTAMP NOT NULL,
    resolved_at    TIMESTAMP,
    resolved_by    TEXT,
    resolution     TEXT,
    UNIQUE (source, kind, reference)
);
CREATE INDEX exceptions_by_statement ON exceptions (source, statement_date);

-- Reconciliation reads one channel's payments of one day.
CREATE INDEX payments_by_channel_and_time ON payments (channel, paid_at);
