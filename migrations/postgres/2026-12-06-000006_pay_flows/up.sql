-- Paying on the phone that scanned: a fine may have one order per channel and flow (a channel
-- refuses one order number in two flows), and a flow whose orders go stale takes a new attempt;
-- the order number says which. Orders opened before are the channels' QR codes. A JSAPI order is
-- one payer's (WeChat refuses its number for another openid): `payer` is a digest of that openid,
-- never the openid itself. And the single-use `state` of WeChat's OAuth, bound to the fine it was
-- started for.
ALTER TABLE channel_orders ADD COLUMN flow TEXT NOT NULL DEFAULT 'qr'
    CHECK (flow IN ('qr', 'jsapi', 'h5', 'wap', 'mobile_web'));
ALTER TABLE channel_orders ALTER COLUMN flow DROP DEFAULT;
ALTER TABLE channel_orders ADD COLUMN payer TEXT;
ALTER TABLE channel_orders DROP CONSTRAINT channel_orders_decision_no_channel_key;
CREATE INDEX channel_orders_by_fine ON channel_orders (decision_no, channel, flow);

CREATE TABLE oauth_states (
    state       TEXT PRIMARY KEY NOT NULL,
    decision_no TEXT NOT NULL REFERENCES fines (decision_no),
    created_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX oauth_states_by_time ON oauth_states (created_at);
CREATE INDEX oauth_states_by_fine ON oauth_states (decision_no, created_at);
