-- Payments: the orders finepay opens at the QR channels, every payment a channel reports (each
-- once, by the channel's own transaction id), and the refunds of payments that came too late
-- or twice. A fine is paid by exactly one applied payment; any other is refunded to its source.

CREATE TABLE channel_orders (
    out_trade_no TEXT PRIMARY KEY NOT NULL,
    decision_no  TEXT NOT NULL REFERENCES fines (decision_no),
    channel      TEXT NOT NULL CHECK (channel IN ('wechat', 'alipay', 'unionpay')),
    amount_fen   BIGINT NOT NULL CHECK (amount_fen > 0),
    pay_by       TIMESTAMP NOT NULL,
    opened_at    TIMESTAMP NOT NULL,
    pay_url      TEXT,
    status       TEXT NOT NULL CHECK (status IN ('open', 'paid', 'closed')),
    closed_at    TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (decision_no, channel)
);
CREATE INDEX channel_orders_by_status ON channel_orders (status, pay_by);

CREATE TABLE payments (
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
CREATE INDEX payments_by_fine ON payments (decision_no);

CREATE TABLE refunds (
    out_refund_no     TEXT PRIMARY KEY NOT NULL,
    channel           TEXT NOT NULL,
    channel_txn_id    TEXT NOT NULL,
    out_trade_no      TEXT NOT NULL,
    decision_no       TEXT NOT NULL REFERENCES fines (decision_no),
    paid_fen          BIGINT NOT NULL CHECK (paid_fen > 0),
    amount_fen        BIGINT NOT NULL CHECK (amount_fen > 0 AND amount_fen <= paid_fen),
    reason            TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    requested_at      TIMESTAMP NOT NULL,
    attempts          INTEGER NOT NULL,
    next_attempt_at   TIMESTAMP NOT NULL,
    last_error        TEXT,
    channel_refund_id TEXT,
    completed_at      TIMESTAMP,
    UNIQUE (channel, channel_txn_id),
    FOREIGN KEY (channel, channel_txn_id) REFERENCES payments (channel, channel_txn_id)
);
CREATE INDEX refunds_by_status ON refunds (status, next_attempt_at);
