PRAGMA foreign_keys = OFF;
BEGIN;
-- Orders of the phone flows cannot be kept without their flow, and their payments refer to them:
-- undoing this migration is refused (the CHECK fails) while any exists.
CREATE TEMP TABLE phone_flow_orders (count INTEGER CHECK (count = 0));
INSERT INTO phone_flow_orders SELECT COUNT(*) FROM channel_orders WHERE flow <> 'qr';
DROP TABLE phone_flow_orders;
DROP TABLE oauth_states;
CREATE TABLE channel_orders_one_per_channel (
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
INSERT INTO channel_orders_one_per_channel
    SELECT out_trade_no, decision_no, channel, amount_fen, pay_by, opened_at, pay_url, status, closed_at, updated_at
    FROM channel_orders;
DROP TABLE channel_orders;
ALTER TABLE channel_orders_one_per_channel RENAME TO channel_orders;
CREATE INDEX channel_orders_by_status ON channel_orders (status, pay_by);
COMMIT;
PRAGMA foreign_keys = ON;
