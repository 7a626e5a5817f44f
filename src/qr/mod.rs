//! QR codes on bills: the signed token in the pay URL, rendering the code to SVG and PNG, and the
//! cache that keeps rendering off the issue path.

mod cache;
mod render;
mod settings;
mod token;

pub(crate) use cache::{ImageKind, RenderCache};
pub(crate) use render::{QrMatrix, to_png, to_svg, to_terminal};
pub(crate) use settings::{QR_V3_M_ALPHANUMERIC_CAPACITY, QR_V4_M_ALPHANUMERIC_CAPACITY, QrSettings};
pub(crate) use token::constant_time_eq;
pub(crate) use token::{QrSigner, TOKEN_LEN};
