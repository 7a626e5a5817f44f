//! finepay issues traffic fine bills whose QR code can be paid for a limited window, and collects
//! their payment. See README.md for running it and docs/architecture.md for how it is built.

mod admin;
pub mod app;
pub mod bank;
pub mod bench;
pub mod bill;
pub mod channels;
pub mod credentials;
pub mod db;
pub mod domain;
mod errors;
mod fines;
pub mod http;
pub mod jobs;
mod payments;
mod qr;
