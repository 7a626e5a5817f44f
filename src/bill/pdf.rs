//! The bill as one A6 portrait PDF page, for a browser's print dialog where no thermal printer is
//! paired, and for the record. The font is embedded as a subset (krilla: CID-keyed with a
//! ToUnicode map), so the text can be extracted and searched; the QR code is drawn as filled
//! squares. Lines start at the 80 mm printers' length; a bill too tall for the page is laid out
//! again in longer, smaller lines until it fits, and set smaller as a last resort.

use super::font::BillFont;
use super::layout::{Align, Block, Facts, Language, Paper, lay_out};
use super::{BillError, qr_matrix};
use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

/// A6 in points (105 × 148 mm).
const PAGE_WIDTH: f32 = 297.64;
const PAGE_HEIGHT: f32 = 419.53;
const MARGIN: f32 = 22.0;
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const TEXT_HEIGHT: f32 = PAGE_HEIGHT - 2.0 * MARGIN;
/// The QR code's side with its quiet zone: 35 mm.
const QR_SIDE: f32 = 99.2;
/// Line lengths tried, in cells: the 80 mm printers' first, then longer (smaller) lines.
const LINE_CELLS: [usize; 5] = [Paper::Mm80.cells(), 54, 60, 66, 72];

pub fn render(facts: &Facts, language: Language, font: &BillFont) -> Result<(Vec<u8>, Vec<char>), BillError> {
    let (blocks, em, shrink) = fit(facts, language);
    let embedded = Font::new(font.bytes().into(), font.index()).ok_or(BillError::Pdf("the font".into()))?;
    let mut document = Document::new();
    let title = format!("公安交通管理简易程序处罚决定书 {}", facts.decision_no);
    document.set_metadata(Metadata::new().title(title).language("zh-CN".to_owned()).creator("finepay".into()));
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).ok_or(BillError::Pdf("the page size".into()))?;
    let mut page = document.start_page_with(settings);
    let mut surface = page.surface();
    surface.set_fill(Some(Fill::default()));
    let mut missing = Vec::new();
    let mut top = MARGIN;
    for block in &blocks {
        match block {
            Block::Line(line) => {
                let natural_size = em * line.size.factor() as f32;
                let natural = font.advance(&line.text, natural_size);
                // Wider than the page in the font's own widths (a run of capitals): smaller.
                let size = if natural > TEXT_WIDTH { natural_size * TEXT_WIDTH / natural } else { natural_size };
                let advance = natural.min(TEXT_WIDTH);
                let x = MARGIN
                    + match line.align {
                        Align::Left => 0.0,
                        Align::Center => (TEXT_WIDTH - advance) / 2.0,
                        Align::Right => TEXT_WIDTH - advance,
                    };
                let baseline = top + line_height(natural_size) * 0.5 + size * 0.38;
                missing.extend(line.text.chars().filter(|c| *c != ' ' && !font.has(*c)));
                // Bold is the glyphs stroked as well as filled: the shipped font has one weight,
                // and the text is still written once.
                let stroke = line.bold.then(|| Stroke { width: size * 0.035, ..Stroke::default() });
                surface.set_stroke(stroke);
                let start = Point::from_xy(x, baseline);
                surface.draw_text(start, embedded.clone(), size, &line.text, false, TextDirection::Auto);
                surface.set_stroke(None);
            }
            Block::Rule => fill_rects(&mut surface, [(MARGIN, top + em * 0.3, TEXT_WIDTH, 0.6)]),
            Block::Gap => {}
            Block::Qr(payload) => {
                let matrix = qr_matrix(payload)?;
                let side = QR_SIDE * shrink;
                let module = side / matrix.outer_width() as f32;
                let quiet = (matrix.outer_width() - matrix.width()) as f32 / 2.0 * module;
                let left = MARGIN + (TEXT_WIDTH - side) / 2.0 + quiet;
                let rects = matrix.dark_runs().map(|(x, y, len)| {
                    (left + x as f32 * module, top + quiet + y as f32 * module, len as f32 * module, module)
                });
                fill_rects(&mut surface, rects);
            }
        }
        top += height(block, em, shrink);
    }
    surface.finish();
    page.finish();
    let bytes = document.finish().map_err(|e| BillError::Pdf(format!("{e:?}")))?;
    Ok((bytes, missing))
}

/// The layout that fits the page: the blocks, one em in points, and how much the QR code shrank.
fn fit(facts: &Facts, language: Language) -> (Vec<Block>, f32, f32) {
    let mut tried = None;
    for cells in LINE_CELLS {
        let em = TEXT_WIDTH / cells as f32 * 2.0;
        let blocks = lay_out(facts, cells, language);
        let total: f32 = blocks.iter().map(|b| height(b, em, 1.0)).sum();
        if total <= TEXT_HEIGHT {
            return (blocks, em, 1.0);
        }
        tried = Some((blocks, em, total));
    }
    // Taller than the page even in the longest lines: everything smaller.
    let (blocks, em, total) = tried.unwrap_or_default();
    let shrink = TEXT_HEIGHT / total;
    (blocks, em * shrink, shrink)
}

fn line_height(size: f32) -> f32 {
    size * 1.3
}

fn height(block: &Block, em: f32, qr_shrink: f32) -> f32 {
    match block {
        Block::Line(line) => line_height(em * line.size.factor() as f32),
        Block::Rule | Block::Gap => em * 0.6,
        Block::Qr(_) => QR_SIDE * qr_shrink,
    }
}

/// Fills rectangles `(x, y, width, height)`, in points from the top left, as one path.
fn fill_rects(surface: &mut Surface<'_>, rects: impl IntoIterator<Item = (f32, f32, f32, f32)>) {
    let mut path = PathBuilder::new();
    for (x, y, w, h) in rects {
        if let Some(rect) = Rect::from_xywh(x, y, w, h) {
            path.push_rect(rect);
        }
    }
    if let Some(path) = path.finish() {
        surface.draw_path(&path);
    }
}
