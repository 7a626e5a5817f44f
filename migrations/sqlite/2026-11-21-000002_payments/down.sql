DROP TABLE refunds;
DROP TABLE payments;
DROP TABLE channel_orders;
