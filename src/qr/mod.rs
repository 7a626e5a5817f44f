//! QR codes on bills: the signed token in the pay URL, rendering to SVG, PNG and the printed
//! bill, and the cache that keeps rendering off the issue path.

mod bill;
mod cache;
mod render;
mod settings;
mod token;

pub(crate) use bill::{BillContent, bill_png};
pub(crate) use cache::{ImageKind, RenderCache};
pub(crate) use render::{QrMatrix, RenderError, to_png, to_svg};
pub(crate) use settings::{QR_V3_M_ALPHANUMERIC_CAPACITY, QrSettings};
pub(crate) use token::constant_time_eq;
pub(crate) use token::{QrSigner, TOKEN_LEN};
