//! finepay issues traffic fine bills whose QR code can be paid for a limited window, and collects
//! their payment. See README.md for running it and ../design for the decisions behind it.

pub mod admin;
pub mod app;
pub mod bank;
pub mod bench;
pub mod channels;
pub mod credentials;
pub mod db;
pub mod domain;
pub mod errors;
pub mod fines;
pub mod http;
pub mod jobs;
pub mod payments;
pub mod qr;
