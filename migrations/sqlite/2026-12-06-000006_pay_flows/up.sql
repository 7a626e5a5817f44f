-- Paying on the phone that scanned: a fine may have one order per channel and flow (a channel
-- refuses one order number in two flows: WeChat Native, JSAPI and H5 are three orders), and a
-- flow whose orders go stale (UnionPay's mobile web form is dated) takes a new attempt. The
-- order number says which: <decision_no><channel letter><flow digit><attempt>. Orders opened
-- before are the channels' QR codes. A JSAPI order is one payer's (WeChat refuses its number for
-- another openid): `payer` is a digest of that openid, never the openid itself. And the
-- single-use `state` of WeChat's OAuth, bound to the fine it was started for.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE channel_orders_with_flows (
    out_trade_no TEXT PRIMARY KEY NOT NULL,
    decision_no  TEXT NOT NULL REFERENCES fines (decision_no),
    channel      TEXT NOT NULL CHECK (channel IN ('wechat', 'alipay', 'unionpay')),
    flow         TEXT NOT NULL CHECK (flow IN ('qr', 'jsapi', 'h5', 'wap', 'mobile_web')),
    payer        TEXT,
    amount_fen   BIGINT NOT NULL CHECK (amount_fen > 0),
    pay_by       TIMESTAMP NOT NULL,
    opened_at    TIMESTAMP NOT NULL,
    pay_url      TEXT,
    status       TEXT NOT NULL CHECK (status IN ('open', 'paid', 'closed')),
    closed_at    TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL
);
INSERT INTO channel_orders_with_flows
    SELECT out_trade_no, decision_no, channel, 'qr', NULL, amount_fen, pay_by, opened_at, pay_url, status, closed_at,
           updated_at
    FROM channel_orders;
DROP TABLE channel_orders;
ALTER TABLE channel_orders_with_flows RENAME TO channel_orders;
CREATE INDEX channel_orders_by_status ON channel_orders (status, pay_by);
CREATE INDEX channel_orders_by_fine ON channel_orders (decision_no, channel, flow);

CREATE TABLE oauth_states (
    state       TEXT PRIMARY KEY NOT NULL,
    decision_no TEXT NOT NULL REFERENCES fines (decision_no),
    created_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX oauth_states_by_time ON oauth_states (created_at);
CREATE INDEX oauth_states_by_fine ON oauth_states (decision_no, created_at);
COMMIT;
PRAGMA foreign_keys = ON;
