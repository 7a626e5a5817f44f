DROP TABLE oauth_states;
DELETE FROM channel_orders WHERE flow <> 'qr';
DROP INDEX channel_orders_by_fine;
ALTER TABLE channel_orders ADD CONSTRAINT channel_orders_decision_no_channel_key UNIQUE (decision_no, channel);
ALTER TABLE channel_orders DROP COLUMN flow;
