//! The bill as a 1-bit PNG, 384 or 576 dots wide: what a printer without Chinese fonts prints as
//! an image, and what a screen shows. Glyphs come from the bill's CJK font through ab_glyph and
//! are thresholded (a thermal head has no grey); a line keeps the layout's breaks and, where the
//! font's own widths would run past the paper, is drawn narrower rather than cut.

use super::font::BillFont;
use super::layout::{Align, Block, Line, Paper};
use super::{BillError, QR_MODULE_DOTS, qr_matrix};
use ab_glyph::{Font, GlyphId, ScaleFont, point};

/// One em at normal size, in dots: the printers' own 24-dot Chinese characters.
const EM: usize = 24;
/// Dots from one line's top to the next's at normal size (the printers' default 1/6 inch).
const LINE_PITCH: usize = 30;
const RULE_HEIGHT: usize = 14;
const GAP_HEIGHT: usize = 15;
const TOP_AND_BOTTOM: usize = 16;
/// Coverage at which a dot prints: a little under half keeps thin strokes whole.
const INK_THRESHOLD: f32 = 0.42;
/// About 2.5 m of paper: anything longer is a data bug, not a bill.
const MAX_HEIGHT: usize = 20_000;

/// Renders the blocks, returning the PNG and the characters the font lacks (drawn as boxes).
pub fn render(blocks: &[Block], paper: Paper, font: &BillFont) -> Result<(Vec<u8>, Vec<char>), BillError> {
    let width = paper.dots();
    let mut height = 2 * TOP_AND_BOTTOM;
    let mut qrs = Vec::new();
    for block in blocks {
        height += match block {
            Block::Line(line) => LINE_PITCH * line.size.factor(),
            Block::Rule => RULE_HEIGHT,
            Block::Gap => GAP_HEIGHT,
            Block::Qr(payload) => {
                let matrix = qr_matrix(payload)?;
                let side = matrix.outer_width() * QR_MODULE_DOTS;
                qrs.push(matrix);
                side
            }
        };
    }
    if height > MAX_HEIGHT {
        return Err(BillError::TooLong { height });
    }
    let mut dots = Dots::new(width, height);
    let mut missing = Vec::new();
    let mut top = TOP_AND_BOTTOM;
    let mut qrs = qrs.into_iter();
    for block in blocks {
        match block {
            Block::Line(line) => {
                draw_line(&mut dots, font, line, top, &mut missing);
                top += LINE_PITCH * line.size.factor();
            }
            Block::Rule => {
                dots.fill(0, top + RULE_HEIGHT / 2 - 1, width, 2);
                top += RULE_HEIGHT;
            }
            Block::Gap => top += GAP_HEIGHT,
            Block::Qr(_) => {
                let Some(matrix) = qrs.next() else { continue };
                let side = matrix.outer_width() * QR_MODULE_DOTS;
                let quiet = (matrix.outer_width() - matrix.width()) / 2 * QR_MODULE_DOTS;
                let (left, origin) = ((width - side.min(width)) / 2, top);
                for (x, y, len) in matrix.dark_runs() {
                    dots.fill(
                        left + quiet + x * QR_MODULE_DOTS,
                        origin + quiet + y * QR_MODULE_DOTS,
                        len * QR_MODULE_DOTS,
                        QR_MODULE_DOTS,
                    );
                }
                top += side;
            }
        }
    }
    Ok((dots.to_png()?, missing))
}

fn draw_line(dots: &mut Dots, font: &BillFont, line: &Line, top: usize, missing: &mut Vec<char>) {
    let size = line.size.factor();
    let room = dots.width as f32;
    let natural_em = (EM * size) as f32;
    let natural = font.advance(&line.text, natural_em);
    // Wider than the paper in the font's own widths (a run of wide Latin capitals): narrower.
    let em = if natural > room { natural_em * room / natural } else { natural_em };
    let advance = natural.min(room);
    let mut x = match line.align {
        Align::Left => 0.0,
        Align::Center => (room - advance) / 2.0,
        Align::Right => room - advance,
    };
    // The baseline sits where the printers' 24-dot cell puts it: 88 % down an em.
    let baseline = top as f32 + (LINE_PITCH * size - EM * size) as f32 / 2.0 + 0.88 * em;
    let scale = font.scale_for_em(em);
    let glyphs = font.glyphs();
    let scaled = glyphs.as_scaled(scale);
    for c in line.text.chars() {
        let id = glyphs.glyph_id(c);
        if id == GlyphId(0) && c != ' ' {
            missing.push(c);
            draw_box(dots, x, baseline, em);
            x += em;
            continue;
        }
        let glyph = id.with_scale_and_position(scale, point(x, baseline));
        if let Some(outline) = glyphs.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            let (left, upper) = (bounds.min.x.floor() as i64, bounds.min.y.floor() as i64);
            outline.draw(|gx, gy, coverage| {
                if coverage >= INK_THRESHOLD {
                    let (px, py) = (left + i64::from(gx), upper + i64::from(gy));
                    dots.set(px, py);
                    if line.bold {
                        dots.set(px + 1, py);
                    }
                }
            });
        }
        x += scaled.h_advance(id);
    }
}

/// The visible box a character the font lacks is drawn as, never nothing.
fn draw_box(dots: &mut Dots, x: f32, baseline: f32, em: f32) {
    let (left, right) = ((x + em * 0.1) as usize, (x + em * 0.9) as usize);
    let (upper, lower) = ((baseline - em * 0.8).max(0.0) as usize, (baseline + em * 0.05) as usize);
    let (w, h) = (right.saturating_sub(left), lower.saturating_sub(upper));
    dots.fill(left, upper, w, 2);
    dots.fill(left, lower.saturating_sub(2), w, 2);
    dots.fill(left, upper, 2, h);
    dots.fill(right.saturating_sub(2), upper, 2, h);
}

/// A 1-bit canvas, one byte per dot while drawing (1 prints).
struct Dots {
    width: usize,
    height: usize,
    ink: Vec<u8>,
}

impl Dots {
    fn new(width: usize, height: usize) -> Dots {
        Dots { width, height, ink: vec![0; width * height] }
    }

    fn set(&mut self, x: i64, y: i64) {
        if let (Ok(x), Ok(y)) = (usize::try_from(x), usize::try_from(y))
            && x < self.width
            && y < self.height
        {
            self.ink[y * self.width + x] = 1;
        }
    }

    /// Inks a rectangle, clipped to the canvas.
    fn fill(&mut self, left: usize, top: usize, width: usize, height: usize) {
        let (x0, x1) = (left.min(self.width), left.saturating_add(width).min(self.width));
        for y in top.min(self.height)..top.saturating_add(height).min(self.height) {
            self.ink[y * self.width + x0..y * self.width + x1].fill(1);
        }
    }

    /// A 1-bit greyscale PNG: 0 is black, as a printer driver expects.
    fn to_png(&self) -> Result<Vec<u8>, BillError> {
        let row_bytes = self.width.div_ceil(8);
        let mut packed = vec![0xFFu8; row_bytes * self.height];
        for (y, row) in self.ink.chunks_exact(self.width).enumerate() {
            for (x, _) in row.iter().enumerate().filter(|(_, ink)| **ink == 1) {
                packed[y * row_bytes + x / 8] &= !(0x80 >> (x % 8));
            }
        }
        let (w, h) = (u32::try_from(self.width), u32::try_from(self.height));
        let (Ok(w), Ok(h)) = (w, h) else { return Err(BillError::TooLong { height: self.height }) };
        let mut out = Vec::with_capacity(packed.len() / 8 + 128);
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(BillError::png)?;
        writer.write_image_data(&packed).map_err(BillError::png)?;
        writer.finish().map_err(BillError::png)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bill::layout::{Language, lay_out};
    use crate::bill::tests::facts;

    #[test]
    fn every_line_is_drawn_in_its_own_band_and_a_character_the_font_lacks_is_a_box() {
        let font = BillFont::built_in();
        let mut facts = facts();
        facts.location = "朝阳路\u{20000}".into();
        for paper in [Paper::Mm58, Paper::Mm80] {
            let blocks = lay_out(&facts, paper.cells(), Language::ZhEn);
            let (bytes, missing) = render(&blocks, paper, &font).expect("renders");
            assert_eq!(missing, ['\u{20000}']);
            let mut decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
            decoder.set_transformations(::png::Transformations::EXPAND);
            let mut reader = decoder.read_info().expect("a PNG");
            let mut grey = vec![0; reader.output_buffer_size().expect("a size")];
            let frame = reader.next_frame(&mut grey).expect("a frame");
            let width = frame.width as usize;
            let inked = |rows: std::ops::Range<usize>| {
                rows.flat_map(|y| grey[y * width..(y + 1) * width].to_vec()).filter(|g| *g == 0).count()
            };
            let mut top = TOP_AND_BOTTOM;
            for block in &blocks {
                let height = match block {
                    Block::Line(line) => LINE_PITCH * line.size.factor(),
                    Block::Rule => RULE_HEIGHT,
                    Block::Gap => GAP_HEIGHT,
                    Block::Qr(payload) => qr_matrix(payload).expect("a code").outer_width() * QR_MODULE_DOTS,
                };
                if let Block::Line(line) = block {
                    // A line's glyphs are ink in its band: a few dots per character at least.
                    let dots = inked(top..top + height);
                    assert!(
                        dots >= 8 * line.text.chars().filter(|c| *c != ' ').count(),
                        "{paper:?} {:?}: {dots} dots",
                        line.text
                    );
                }
                top += height;
            }
        }
    }
}
