//! The printed bill, in Chinese (English below on request), for the officers' thermal printers,
//! the screen and the browser's print dialog. One layout says what the bill says and how it wraps
//! (`layout`); three renderers draw it — ESC/POS for the printers (`escpos`), a 1-bit PNG
//! (`png`) and an A6 PDF (`pdf`) — from the CJK font finepay ships or is configured with
//! (`font`). A change of wording is made once, in the layout.

pub mod escpos;
pub mod font;
pub mod layout;
mod pdf;
mod png;

pub use font::BillFont;
pub use layout::{Facts, Language, Paper, QrPayment};

use crate::qr::QrMatrix;

/// Dots a QR module takes on paper (8 dots a millimetre): a version-4 code with its quiet zone is
/// 41 mm wide, and still 2 pixels a module when the image is shown at a quarter of its size.
pub const QR_MODULE_DOTS: usize = 8;

/// What every bill prints the same (`[bill]`).
#[derive(Debug, Clone)]
pub struct BillSettings {
    /// The issuing authority, at the top of every bill.
    pub authority_zh: String,
    pub authority_en: String,
    /// Who is paid, as the receipts name it (the authority unless configured otherwise).
    pub payee_zh: String,
    pub payee_en: String,
    pub font: BillFont,
}

/// How the QR code reaches an ESC/POS printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QrMode {
    /// The printer's own QR commands (`GS ( k`).
    Printer,
    /// A raster image (`GS v 0`), for printers without them.
    Raster,
}

/// The bill's three forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    EscPos(QrMode),
    Png,
    Pdf,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::EscPos(_) => "application/octet-stream",
            Format::Png => "image/png",
            Format::Pdf => "application/pdf",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BillError {
    #[error("the bill would be {height} dots long")]
    TooLong { height: usize },
    #[error("the QR code: {0}")]
    Qr(String),
    #[error("writing the PNG: {0}")]
    Png(String),
    #[error("writing the PDF: {0}")]
    Pdf(String),
}

impl BillError {
    fn png(e: ::png::EncodingError) -> BillError {
        BillError::Png(e.to_string())
    }
}

/// The bill of `facts` in `format`. Characters the font or the printer lacks are drawn as boxes
/// and logged with the decision number, never dropped.
pub fn render(
    facts: &Facts,
    format: Format,
    paper: Paper,
    language: Language,
    font: &BillFont,
) -> Result<Vec<u8>, BillError> {
    let (bytes, missing) = match format {
        Format::EscPos(qr) => escpos::render(&layout::lay_out(facts, paper.cells(), language), paper, qr)?,
        Format::Png => png::render(&layout::lay_out(facts, paper.cells(), language), paper, font)?,
        Format::Pdf => pdf::render(facts, language, font)?,
    };
    if !missing.is_empty() {
        let missing: String = missing.into_iter().collect();
        log::warn!(
            "bill {} ({format:?}): drawn as boxes, the {} lacks {missing:?}",
            facts.decision_no,
            if matches!(format, Format::EscPos(_)) { "printers' GBK font" } else { "font" }
        );
    }
    Ok(bytes)
}

fn qr_matrix(payload: &str) -> Result<QrMatrix, BillError> {
    QrMatrix::encode(payload).map_err(|e| BillError::Qr(e.to_string()))
}

#[cfg(test)]
pub(crate) mod tests;
