//! ESC/POS, the command language of the handhelds' thermal printers (58 mm: 384 dots, 80 mm: 576).
//! Text goes in GB18030 with the printer's Chinese mode on (`FS &`); the printers' fonts hold GBK,
//! so a character GBK lacks (one GB18030 writes in four bytes, such as `¥`) would print as
//! garbage: it is written as `□` instead and reported, never dropped. The QR code goes through the
//! printer's own commands (`GS ( k`: model 2, module size, level M, store, print), holding exactly
//! the payload given; a printer without them gets the code as a raster image (`GS v 0`).
//!
//! Byte values as Epson's ESC/POS reference gives them; `FS C` and `ESC t` are never sent (on
//! Epson the first selects the Japanese code system; the second only the one-byte code page).

use super::layout::{Block, Paper};
use super::{BillError, QR_MODULE_DOTS, QrMode, qr_matrix};
use encoding_rs::GB18030;

pub use super::layout::Align;

/// The bill's blocks as a printer's byte stream, and the characters written as boxes. The QR code
/// goes through the printer's own commands, or as a raster image for a printer without them.
pub fn render(blocks: &[Block], paper: Paper, qr: QrMode) -> Result<(Vec<u8>, Vec<char>), BillError> {
    let mut out = EscPos::new();
    for block in blocks {
        match block {
            Block::Line(line) => {
                let scale = line.size.factor() as u8;
                out.align(line.align).size(scale, scale).bold(line.bold).line(&line.text);
            }
            Block::Rule => {
                out.align(Align::Left).size(1, 1).bold(false).line(&"-".repeat(paper.cells()));
            }
            Block::Gap => {
                out.size(1, 1).line("");
            }
            Block::Qr(payload) => {
                out.align(Align::Center);
                match qr {
                    QrMode::Printer => {
                        out.qr(payload, QR_MODULE_DOTS as u8).map_err(|e| BillError::Qr(e.to_string()))?;
                    }
                    QrMode::Raster => {
                        let matrix = qr_matrix(payload)?;
                        let side = matrix.outer_width() * QR_MODULE_DOTS;
                        let quiet = (matrix.outer_width() - matrix.width()) / 2;
                        let rows: Vec<Vec<bool>> = (0..side)
                            .map(|y| {
                                (0..side)
                                    .map(|x| {
                                        let (mx, my) = (x / QR_MODULE_DOTS, y / QR_MODULE_DOTS);
                                        mx >= quiet && my >= quiet && matrix.is_dark(mx - quiet, my - quiet)
                                    })
                                    .collect()
                            })
                            .collect();
                        out.raster(&rows);
                    }
                }
                out.line("");
            }
        }
    }
    // Past the tear bar on printers without a cutter; the cut on those with one.
    out.align(Align::Left).size(1, 1).bold(false).feed(3).cut();
    let missing = out.unprintable().to_vec();
    Ok((out.into_bytes(), missing))
}

/// A QR payload the printer's store command cannot hold (its length field is two bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a QR payload of {0} bytes is more than the printer's store command holds")]
pub struct QrTooLong(pub usize);

/// An ESC/POS byte stream, written command by command.
#[derive(Debug, Clone)]
pub struct EscPos {
    bytes: Vec<u8>,
    /// The characters written as `□` because the printer's font lacks them, in order.
    unprintable: Vec<char>,
}

const ESC: u8 = 0x1B;
const FS: u8 = 0x1C;
const GS: u8 = 0x1D;
/// What stands for a character the printer cannot print: in GB2312, so every printer has it.
const BOX: char = '□';
/// The most rows one raster command carries: some firmwares take no more.
const RASTER_BAND: usize = 255;

impl Default for EscPos {
    fn default() -> Self {
        Self::new()
    }
}

impl EscPos {
    /// A stream that starts by resetting the printer (`ESC @`) and turning Chinese mode on.
    pub fn new() -> EscPos {
        EscPos { bytes: vec![ESC, b'@', FS, b'&'], unprintable: Vec::new() }
    }

    pub fn align(&mut self, align: Align) -> &mut Self {
        self.bytes.extend([ESC, b'a', align as u8]);
        self
    }

    /// Character size, 1 to 8 times the normal width and height (`GS !`).
    pub fn size(&mut self, width: u8, height: u8) -> &mut Self {
        let (w, h) = (width.clamp(1, 8) - 1, height.clamp(1, 8) - 1);
        self.bytes.extend([GS, b'!', (w << 4) | h]);
        self
    }

    pub fn bold(&mut self, on: bool) -> &mut Self {
        self.bytes.extend([ESC, b'E', u8::from(on)]);
        self
    }

    /// `text` and a line feed. Control characters are left out (they would be commands).
    pub fn line(&mut self, text: &str) -> &mut Self {
        let printable: String = text
            .chars()
            .filter(|c| !c.is_control())
            .map(|c| {
                if fits_gbk(c) {
                    c
                } else {
                    self.unprintable.push(c);
                    BOX
                }
            })
            .collect();
        let (encoded, _, _) = GB18030.encode(&printable);
        self.bytes.extend_from_slice(&encoded);
        self.bytes.push(b'\n');
        self
    }

    /// The QR code of `payload`, drawn by the printer: model 2, `module` dots a module (1 to 16),
    /// error correction level M.
    pub fn qr(&mut self, payload: &str, module: u8) -> Result<&mut Self, QrTooLong> {
        let stored = payload.len() + 3;
        let [p_l, p_h] = u16::try_from(stored).map_err(|_| QrTooLong(payload.len()))?.to_le_bytes();
        self.bytes.extend([GS, b'(', b'k', 4, 0, 0x31, 0x41, 0x32, 0x00]);
        self.bytes.extend([GS, b'(', b'k', 3, 0, 0x31, 0x43, module.clamp(1, 16)]);
        self.bytes.extend([GS, b'(', b'k', 3, 0, 0x31, 0x45, 0x31]);
        self.bytes.extend([GS, b'(', b'k', p_l, p_h, 0x31, 0x50, 0x30]);
        self.bytes.extend_from_slice(payload.as_bytes());
        self.bytes.extend([GS, b'(', b'k', 3, 0, 0x31, 0x51, 0x30]);
        Ok(self)
    }

    /// A 1-bit image, `rows` of dots (true prints), as `GS v 0` bands of at most 255 rows. Each
    /// row is padded to whole bytes, the leftmost dot in the highest bit.
    pub fn raster(&mut self, rows: &[Vec<bool>]) -> &mut Self {
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        let row_bytes = width.div_ceil(8);
        for band in rows.chunks(RASTER_BAND) {
            let [x_l, x_h] = u16::try_from(row_bytes).unwrap_or(u16::MAX).to_le_bytes();
            let [y_l, y_h] = u16::try_from(band.len()).unwrap_or(u16::MAX).to_le_bytes();
            self.bytes.extend([GS, b'v', b'0', 0, x_l, x_h, y_l, y_h]);
            for row in band {
                let mut packed = vec![0u8; row_bytes];
                for (x, _) in row.iter().enumerate().filter(|(_, dot)| **dot) {
                    packed[x / 8] |= 0x80 >> (x % 8);
                }
                self.bytes.extend_from_slice(&packed);
            }
        }
        self
    }

    /// Feeds `lines` lines (`ESC d`).
    pub fn feed(&mut self, lines: u8) -> &mut Self {
        self.bytes.extend([ESC, b'd', lines]);
        self
    }

    /// Feeds the paper to the cutter and cuts (`GS V 66 0`); a printer without one only feeds.
    pub fn cut(&mut self) -> &mut Self {
        self.bytes.extend([GS, b'V', 66, 0]);
        self
    }

    /// The characters written as `□`, for the caller to log.
    pub fn unprintable(&self) -> &[char] {
        &self.unprintable
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Whether GB18030 writes `c` in one or two bytes: the part of it (GBK and ASCII) the printers'
/// fonts hold.
fn fits_gbk(c: char) -> bool {
    let mut buffer = [0u8; 4];
    let (encoded, _, had_errors) = GB18030.encode(c.encode_utf8(&mut buffer));
    !had_errors && encoded.len() <= 2
}

pub mod reader;

#[cfg(test)]
mod tests;
