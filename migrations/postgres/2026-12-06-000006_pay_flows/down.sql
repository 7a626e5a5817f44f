-- Orders of the phone flows cannot be kept without their flow, and their payments refer to them:
-- undoing this migration is refused while any exists.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM channel_orders WHERE flow <> 'qr') THEN
        RAISE EXCEPTION 'channel orders of phone flows exist; this migration cannot be undone';
    END IF;
END $$;
DROP TABLE oauth_states;
ALTER TABLE channel_orders DROP COLUMN payer;
DROP INDEX channel_orders_by_fine;
ALTER TABLE channel_orders ADD CONSTRAINT channel_orders_decision_no_channel_key UNIQUE (decision_no, channel);
ALTER TABLE channel_orders DROP COLUMN flow;
