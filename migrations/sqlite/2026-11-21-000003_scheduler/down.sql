DROP INDEX payments_by_channel_and_time;
DROP TABLE exceptions;
DROP TABLE reconciliation_reports;
DROP TABLE job_leases;
