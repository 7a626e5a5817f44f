//! Black-box tests: finepay on port 0 with a fresh database per test, driven over HTTP (and the
//! CLI binary), on SQLite by default and on PostgreSQL when FINEPAY_TEST_POSTGRES_URL is set.

mod helpers;

mod accessibility;
mod admin;
mod admin_browser;
mod admin_credentials;
mod admin_decisions;
mod admin_desk;
mod admin_exceptions;
mod admin_fines;
mod admin_page;
mod admin_reconciliation;
mod admin_statistics;
mod backup;
mod bad_input;
mod bank;
mod bank_cli;
mod bank_inbox;
mod bank_statements;
mod bill;
mod browser;
mod cli;
mod cli_config;
mod driver_pages;
mod everywhere;
mod faults;
mod framing;
mod hardening;
mod idempotency;
mod instances;
mod issue;
mod jobs;
mod lookup;
mod officer_app;
mod ops;
mod pay;
mod phone;
mod public_page;
mod qr_images;
mod void;
mod walkthrough;
mod webdriver;
