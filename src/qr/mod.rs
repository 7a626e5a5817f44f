//! QR codes on bills: the signed token in the pay URL, rendering to SVG, PNG and the printed
//! bill, and the cache that keeps rendering off the issue path.

pub mod bill;
pub mod cache;
pub mod render;
pub mod settings;
pub mod token;
