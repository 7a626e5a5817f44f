DROP TABLE audit_log;
DROP TABLE idempotency_keys;
DROP TABLE credentials;
DROP TABLE decision_serials;
DROP TABLE fines;
