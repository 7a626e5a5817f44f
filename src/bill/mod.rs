//! The printed bill, in Chinese, for the officers' thermal printers and the driver. One layout of
//! what the bill says, and the renderers that draw it; this is being built (issue 18): so far the
//! ESC/POS writer the handhelds' printers take. The bill served today is still `fines::bill`'s.

pub mod escpos;
