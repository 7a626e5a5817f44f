//! Lays out a traffic-fine bill with its payment QR code as a PNG for 58 mm thermal printers.
//! Text uses the built-in 8x8 bitmap font so printing needs no font files and the output is
//! pixel-exact: thermal printers threshold grey, so anti-aliased text would print ragged.

use font8x8::legacy::BASIC_LEGACY;

use super::render::{GrayCanvas, QrMatrix, RenderError, draw_into};

/// Printable width of a 58 mm thermal head at 8 dots/mm.
pub(super) const BILL_WIDTH: usize = 384;
const MARGIN: usize = 8;
const GLYPH: usize = 8;
const TEXT_SCALE: usize = 2;
const CODE_SCALE: usize = 4;
/// Body text characters per line: (384 - 2 * 8) / 16.
#[cfg(test)]
const LINE_CHARS: usize = chars_per_line(TEXT_SCALE);
// The verification code must fit on one line at its large size.
const _: () = assert!(chars_per_line(CODE_SCALE) >= 6);
/// About 2.5 m of paper; anything longer is a data bug, not a bill, and would only waste memory.
const MAX_HEIGHT: usize = 20_000;
const BLACK: u8 = 0;
// Indexing a const array in a const is checked at compile time, so this cannot panic.
const REPLACEMENT_GLYPH: [u8; 8] = BASIC_LEGACY[b'?' as usize];

pub(crate) struct BillContent<'a> {
    pub header: &'a str,
    pub decision_no: &'a str,
    pub violation: &'a str,
    pub amount: &'a str,
    pub deadline: &'a str,
    /// `None` when the district has no QR payment yet.
    pub qr: Option<&'a QrMatrix>,
    /// Printed instead of the QR code when `qr` is `None`.
    pub no_qr_note: &'a str,
    pub verification_code: &'a str,
    pub footer: &'a str,
}

/// Renders the bill as an 8-bit grayscale PNG, `BILL_WIDTH` pixels wide and as tall as the
/// content needs.
pub(crate) fn bill_png(content: &BillContent<'_>) -> Result<Vec<u8>, RenderError> {
    let blocks = layout(content);
    let height = blocks.iter().map(Block::height).fold(0, usize::saturating_add);
    if height > MAX_HEIGHT {
        return Err(RenderError::ImageTooLarge { width: BILL_WIDTH, height });
    }
    let mut canvas = GrayCanvas::new(BILL_WIDTH, height);
    let mut top = 0;
    for block in &blocks {
        block.draw(&mut canvas, top);
        top += block.height();
    }
    canvas.to_png()
}

enum Align {
    Left,
    Centre,
}

/// The bill is a vertical stack of blocks; measuring them before drawing lets the canvas be
/// allocated once at its final height.
enum Block<'a> {
    Text { lines: Vec<String>, scale: usize, bold: bool, align: Align },
    Rule { thickness: usize },
    Space(usize),
    Qr { matrix: &'a QrMatrix, module_px: usize },
}

impl Block<'_> {
    fn text(text: &str, scale: usize, bold: bool, align: Align) -> Self {
        Block::Text { lines: wrap(&sanitize(text), chars_per_line(scale)), scale, bold, align }
    }

    fn label(text: &str) -> Self {
        Block::text(text, TEXT_SCALE, false, Align::Left)
    }

    fn value(text: &str) -> Self {
        Block::text(text, TEXT_SCALE, true, Align::Left)
    }

    fn height(&self) -> usize {
        match self {
            Block::Text { lines, scale, .. } => lines.len().saturating_mul(line_height(*scale)),
            Block::Rule { thickness } => *thickness,
            Block::Space(h) => *h,
            Block::Qr { matrix, module_px } => matrix.outer_width() * module_px,
        }
    }

    fn draw(&self, canvas: &mut GrayCanvas, top: usize) {
        match self {
            Block::Text { lines, scale, bold, align } => {
                let cell = GLYPH * scale;
                for (i, line) in lines.iter().enumerate() {
                    let left = match align {
                        Align::Left => MARGIN,
                        Align::Centre => BILL_WIDTH.saturating_sub(line.chars().count() * cell) / 2,
                    };
                    let y = top + i * line_height(*scale);
                    draw_line(canvas, line, left, y, *scale, *bold);
                }
            }
            Block::Rule { thickness } => {
                canvas.fill_rect(MARGIN, top, BILL_WIDTH - 2 * MARGIN, *thickness, BLACK);
            }
            Block::Space(_) => {}
            Block::Qr { matrix, module_px } => {
                let side = matrix.outer_width() * module_px;
                let left = BILL_WIDTH.saturating_sub(side) / 2;
                draw_into(matrix, canvas, left, top, *module_px);
            }
        }
    }
}

fn layout<'a>(c: &BillContent<'a>) -> Vec<Block<'a>> {
    let mut blocks = vec![
        Block::Space(MARGIN),
        Block::text(c.header, TEXT_SCALE, true, Align::Centre),
        Block::Space(4),
        Block::Rule { thickness: 3 },
        Block::Space(10),
        Block::label("Decision No."),
        Block::value(c.decision_no),
        Block::Space(6),
        Block::label("Violation"),
        Block::value(c.violation),
        Block::Space(6),
        Block::label("Amount"),
        Block::value(c.amount),
        Block::Space(6),
        Block::text(c.deadline, TEXT_SCALE, false, Align::Left),
    ];
    match c.qr {
        Some(matrix) => {
            // The quiet zone doubles as the side margin (it is at least 8 px even for
            // version 40), so the symbol may use the full paper width; bigger modules scan
            // more reliably off thermal paper.
            let module_px = (BILL_WIDTH / matrix.outer_width()).max(1);
            blocks.push(Block::Qr { matrix, module_px });
        }
        None => blocks.extend([
            Block::Space(12),
            Block::Rule { thickness: 1 },
            Block::Space(12),
            Block::text(c.no_qr_note, TEXT_SCALE, true, Align::Centre),
            Block::Space(8),
            Block::Rule { thickness: 1 },
            Block::Space(12),
        ]),
    }
    blocks.extend([
        Block::text("Verification code", TEXT_SCALE, false, Align::Centre),
        Block::text(c.verification_code, CODE_SCALE, true, Align::Centre),
        Block::Space(6),
        Block::Rule { thickness: 1 },
        Block::Space(8),
        Block::text(c.footer, TEXT_SCALE, false, Align::Left),
        Block::Space(MARGIN),
    ]);
    blocks
}

const fn chars_per_line(scale: usize) -> usize {
    (BILL_WIDTH - 2 * MARGIN) / (GLYPH * scale)
}

/// Glyph height plus a gap that keeps descenders clear of the next line's capitals.
fn line_height(scale: usize) -> usize {
    (GLYPH + 2) * scale
}

/// Draws one line of sanitized text. Bold widens every stroke by one pixel, which reads as
/// bold at scale 2 without changing the character advance.
fn draw_line(canvas: &mut GrayCanvas, line: &str, left: usize, top: usize, scale: usize, bold: bool) {
    let cell = GLYPH * scale;
    for (i, ch) in line.chars().enumerate() {
        let glyph = BASIC_LEGACY.get(ch as usize).copied().unwrap_or(REPLACEMENT_GLYPH);
        let x0 = left + i * cell;
        for (row, bits) in glyph.iter().enumerate() {
            // The font stores the leftmost pixel in bit 0; draw each run of set bits as one
            // rectangle.
            let mut col = 0;
            while col < GLYPH {
                if bits & (1 << col) == 0 {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < GLYPH && bits & (1 << col) != 0 {
                    col += 1;
                }
                canvas.fill_rect(
                    x0 + start * scale,
                    top + row * scale,
                    (col - start) * scale + usize::from(bold),
                    scale,
                    BLACK,
                );
            }
        }
    }
}

/// The font only covers ASCII, so everything else becomes a visible '?' rather than silently
/// vanishing; whitespace controls become spaces so they still separate words.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_ascii_whitespace() => ' ',
            _ => '?',
        })
        .collect()
}

/// Greedy word wrap to at most `max_chars` characters per line. Words longer than a line are
/// split rather than overflowing, because text past the paper edge is simply lost.
fn wrap(text: &str, max_chars: usize) -> Vec<String> {
    let max = max_chars.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        let mut rest = word;
        while !rest.is_empty() {
            let rest_len = rest.chars().count();
            let needed = if line_len == 0 { rest_len } else { line_len + 1 + rest_len };
            if needed <= max {
                if line_len > 0 {
                    line.push(' ');
                }
                line.push_str(rest);
                line_len = needed;
                break;
            }
            if line_len > 0 {
                lines.push(std::mem::take(&mut line));
                line_len = 0;
                continue;
            }
            let split = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
            lines.push(rest[..split].to_owned());
            rest = &rest[split..];
        }
    }
    if line_len > 0 {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "HTTP://127.0.0.1:8080/P/ABCDEFGHIJKLMNOPQRSTUVWXYZ2345672";

    fn content(qr: Option<&QrMatrix>) -> BillContent<'_> {
        BillContent {
            header: "TRAFFIC FINE - SIMPLIFIED PROCEDURE",
            decision_no: "3101151234567890123",
            violation: "1625 Driving against a traffic signal at a controlled intersection",
            amount: "CNY 200.00",
            deadline: "Pay by QR before 2026-11-21 13:31 (UTC+8)",
            qr,
            no_qr_note: "Pay at an agent bank",
            verification_code: "482913",
            footer: "Late payment: 3% per day from day 16",
        }
    }

    fn decode_png(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        buf.truncate(info.buffer_size());
        (info.width as usize, info.height as usize, buf)
    }

    fn scan(w: usize, h: usize, pixels: &[u8]) -> Vec<String> {
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
        img.detect_grids().iter().filter_map(|g| g.decode().ok().map(|(_, text)| text)).collect()
    }

    fn words(text: &str) -> Vec<&str> {
        text.split_whitespace().collect()
    }

    #[test]
    fn bill_with_qr_is_384_wide_and_scans() {
        let m = QrMatrix::encode(URL).unwrap();
        let (w, h, pixels) = decode_png(&bill_png(&content(Some(&m))).unwrap());
        assert_eq!(w, BILL_WIDTH);
        assert!(h > (m.width() + 8) * 10, "height {h}");
        assert_eq!(scan(w, h, &pixels), vec![URL.to_string()]);
        // Only pure black and white, so the printer's threshold cannot matter.
        assert!(pixels.iter().all(|&p| p == 0 || p == 255));
    }

    #[test]
    fn bill_without_qr_renders_without_a_code() {
        let (w, h, pixels) = decode_png(&bill_png(&content(None)).unwrap());
        assert_eq!(w, BILL_WIDTH);
        assert!(h > 200, "height {h}");
        assert!(scan(w, h, &pixels).is_empty());
        assert!(pixels.contains(&0), "bill has no ink");
    }

    #[test]
    fn ink_stays_inside_the_margins() {
        let m = QrMatrix::encode(URL).unwrap();
        for qr in [Some(&m), None] {
            let (w, h, pixels) = decode_png(&bill_png(&content(qr)).unwrap());
            for y in 0..h {
                for x in (0..MARGIN).chain(w - MARGIN..w) {
                    assert_eq!(pixels[y * w + x], 255, "ink at ({x},{y})");
                }
            }
            for x in 0..w {
                assert_eq!(pixels[x], 255);
                assert_eq!(pixels[(h - 1) * w + x], 255);
            }
        }
    }

    #[test]
    fn large_symbols_still_fit_and_scan() {
        let text = "HTTP://EXAMPLE.COM/".to_string() + &"A".repeat(400);
        let m = QrMatrix::encode(&text).unwrap();
        assert!(m.version() > 10);
        let (w, h, pixels) = decode_png(&bill_png(&content(Some(&m))).unwrap());
        assert_eq!(w, BILL_WIDTH);
        assert_eq!(scan(w, h, &pixels), vec![text]);
    }

    #[test]
    fn long_text_grows_the_bill() {
        let short = decode_png(&bill_png(&content(None)).unwrap()).1;
        let long_violation = "word ".repeat(100);
        let mut c = content(None);
        c.violation = &long_violation;
        let long = decode_png(&bill_png(&c).unwrap()).1;
        assert!(long > short + 15 * line_height(TEXT_SCALE));
    }

    #[test]
    fn absurdly_long_text_is_an_error() {
        let huge = "x ".repeat(100_000);
        let mut c = content(None);
        c.footer = &huge;
        assert!(matches!(bill_png(&c), Err(RenderError::ImageTooLarge { width: 384, .. })));
    }

    #[test]
    fn empty_fields_still_render() {
        let c = BillContent {
            header: "",
            decision_no: "",
            violation: "",
            amount: "",
            deadline: "",
            qr: None,
            no_qr_note: "",
            verification_code: "",
            footer: "",
        };
        let (w, _, _) = decode_png(&bill_png(&c).unwrap());
        assert_eq!(w, BILL_WIDTH);
    }

    #[test]
    fn line_width_fits_the_paper() {
        assert_eq!(LINE_CHARS, 23);
    }

    #[test]
    fn wrap_keeps_lines_short_and_loses_no_words() {
        let samples = [
            "1625 Driving against a traffic signal at a controlled intersection near a school",
            "TRAFFIC FINE - SIMPLIFIED PROCEDURE",
            "Pay by QR before 2026-11-21 13:31 (UTC+8)",
            "Late payment: 3% per day from day 16",
            "  leading   and\ttrailing  whitespace \n ",
            "exactly-twenty-four-char exactly-twenty-four-char",
        ];
        for width in [24, LINE_CHARS, 10] {
            for text in samples {
                let lines = wrap(text, width);
                for line in &lines {
                    assert!(line.chars().count() <= width, "{line:?} > {width}");
                    assert!(!line.is_empty());
                    assert_eq!(line.trim(), line);
                }
                let rejoined = lines.join(" ");
                let ink = |s: &str| s.split_whitespace().collect::<String>();
                assert_eq!(ink(&rejoined), ink(text), "width {width}");
                // Words that fit on a line must never be broken.
                if words(text).iter().all(|w| w.chars().count() <= width) {
                    assert_eq!(words(&rejoined), words(text), "width {width}");
                }
            }
        }
    }

    #[test]
    fn wrap_fills_lines_greedily() {
        assert_eq!(wrap("TRAFFIC FINE - SIMPLIFIED PROCEDURE", 24), vec!["TRAFFIC FINE -", "SIMPLIFIED PROCEDURE"]);
        assert_eq!(wrap("aaa bbb ccc", 7), vec!["aaa bbb", "ccc"]);
        assert!(wrap("   ", 24).is_empty());
    }

    #[test]
    fn wrap_splits_words_longer_than_a_line() {
        let long = "HTTP://127.0.0.1:8080/P/ABCDEFGHIJKLMNOPQRSTUVWXYZ2345672";
        let lines = wrap(&format!("see {long} now"), 24);
        assert!(lines.iter().all(|l| l.chars().count() <= 24));
        assert_eq!(lines.concat().replace(' ', ""), format!("see{long}now"));
        assert_eq!(lines.first().map(String::as_str), Some("see"));
    }

    #[test]
    fn non_ascii_becomes_question_marks() {
        assert_eq!(sanitize("CNY\u{a0}200 元\tok\u{7}"), "CNY?200 ? ok?");
    }
}
