//! Encodes the payment URL into a QR module matrix and renders it as SVG, PNG or into a bill.
//! Encoding is the expensive part (all eight masks are scored), which is why callers cache the
//! rendered images rather than render on the issue path.

use std::fmt::Write as _;

use qrcode::types::QrError;
use qrcode::{Color, EcLevel, QrCode, Version};

/// Light border around the symbol, in modules; ISO/IEC 18004 requires 4 for normal QR codes
/// and phone scanners get noticeably worse without it.
pub(super) const QUIET_ZONE: usize = 4;

/// SVG output size per module, in CSS pixels, when the page does not scale it.
pub(super) const SVG_MODULE_PX: usize = 8;

const BLACK: u8 = 0;
const WHITE: u8 = 255;

#[derive(Debug, thiserror::Error)]
pub(crate) enum RenderError {
    #[error("text of {len} bytes does not fit in a QR code at error-correction level M")]
    DataTooLong { len: usize },
    #[error("QR encoding failed: {0}")]
    Encode(QrError),
    #[error("image of {width}x{height} px is too large to encode")]
    ImageTooLarge { width: usize, height: usize },
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
}

/// A QR symbol as plain module flags, detached from `qrcode` types so it is cheap to cache and share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QrMatrix {
    width: usize,
    /// Row-major, `width * width` entries, `true` = dark.
    dark: Vec<bool>,
    version: i16,
}

impl QrMatrix {
    /// Encodes `text` at error-correction level M. The text is expected to be upper-case
    /// alphanumeric-mode characters (0-9 A-Z space $ % * + - . / :) so the symbol stays small;
    /// qrcode picks the mode itself.
    pub(crate) fn encode(text: &str) -> Result<QrMatrix, RenderError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|e| match e {
            QrError::DataTooLong => RenderError::DataTooLong { len: text.len() },
            other => RenderError::Encode(other),
        })?;
        let version = match code.version() {
            Version::Normal(v) => v,
            // Automatic encoding only produces normal symbols; a micro symbol would need a
            // 2-module quiet zone and is unreadable by many phone scanners anyway.
            Version::Micro(_) => return Err(RenderError::Encode(QrError::InvalidVersion)),
        };
        let width = code.width();
        let dark = code.into_colors().into_iter().map(|c| c == Color::Dark).collect();
        Ok(QrMatrix { width, dark, version })
    }

    /// Symbol version, 1..=40.
    #[cfg(test)]
    pub(crate) fn version(&self) -> i16 {
        self.version
    }

    /// Modules per side, without the quiet zone.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// Modules per side including the quiet zone on both sides.
    pub(crate) fn outer_width(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// Coordinates outside the symbol count as light, because that is what the quiet zone is.
    pub(crate) fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// Maximal horizontal runs of dark modules as `(x, y, len)`, row by row, in symbol
    /// coordinates (no quiet zone). Every renderer draws these, which keeps SVG paths short
    /// and turns PNG drawing into a few hundred slice fills.
    pub(crate) fn dark_runs(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        self.dark.chunks_exact(self.width.max(1)).enumerate().flat_map(|(y, row)| {
            let mut x = 0;
            std::iter::from_fn(move || {
                while x < row.len() && !row[x] {
                    x += 1;
                }
                if x >= row.len() {
                    return None;
                }
                let start = x;
                while x < row.len() && row[x] {
                    x += 1;
                }
                Some((start, y, x - start))
            })
        })
    }
}

/// The code for a terminal: two rows of modules a line in half blocks, black on white whatever
/// the terminal's colours (ANSI 30;47), with its quiet zone, so a phone can scan it off the screen.
pub(crate) fn to_terminal(m: &QrMatrix) -> String {
    let side = m.outer_width();
    let dark = |x: usize, y: usize| x >= QUIET_ZONE && y >= QUIET_ZONE && m.is_dark(x - QUIET_ZONE, y - QUIET_ZONE);
    let mut out = String::with_capacity(side * side * 2);
    for y in (0..side).step_by(2) {
        out.push_str("\x1b[30;47m");
        for x in 0..side {
            out.push(match (dark(x, y), y + 1 < side && dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push_str("\x1b[0m\n");
    }
    out
}

/// Standalone SVG document (with a 4-module quiet zone), dark modules black, crisp edges.
/// The viewBox is in modules so the page can scale it freely; width/height default to
/// `SVG_MODULE_PX` pixels per module.
pub(crate) fn to_svg(m: &QrMatrix) -> String {
    let n = m.outer_width();
    let px = n * SVG_MODULE_PX;
    // The path comes to roughly 4 bytes per module, so this is usually the only allocation.
    let mut out = String::with_capacity(400 + m.dark.len() * 4);
    // Writing into a String cannot fail, so the fmt::Result values are safe to drop.
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" \
         width=\"{px}\" height=\"{px}\" viewBox=\"0 0 {n} {n}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{n}\" height=\"{n}\" fill=\"#fff\"/><path fill=\"#000\" d=\""
    );
    for (x, y, len) in m.dark_runs() {
        let _ = write!(out, "M{} {}h{len}v1h-{len}z", x + QUIET_ZONE, y + QUIET_ZONE);
    }
    out.push_str("\"/></svg>\n");
    out
}

/// 8-bit grayscale PNG, `module_px` pixels per module (clamped to 1..=32), 4-module quiet zone.
pub(crate) fn to_png(m: &QrMatrix, module_px: u32) -> Result<Vec<u8>, RenderError> {
    // u32 -> usize is lossless on every target this service runs on; the clamp keeps it tiny.
    let px = module_px.clamp(1, 32) as usize;
    let side = m.outer_width() * px;
    let mut canvas = GrayCanvas::new(side, side);
    draw_into(m, &mut canvas, 0, 0, px);
    canvas.to_png()
}

/// Draws the symbol including its quiet zone with the top-left corner of the quiet zone at
/// (`left`, `top`); the footprint is `m.outer_width() * module_px` pixels square. The quiet
/// zone is painted white so whatever was on the canvas there cannot break scanning.
/// Anything falling outside the canvas is clipped.
pub(super) fn draw_into(m: &QrMatrix, buf: &mut GrayCanvas, left: usize, top: usize, module_px: usize) {
    let side = m.outer_width().saturating_mul(module_px);
    buf.fill_rect(left, top, side, side, WHITE);
    // Saturating so a placement far off the canvas clips instead of overflowing.
    let origin = QUIET_ZONE.saturating_mul(module_px);
    let (x0, y0) = (left.saturating_add(origin), top.saturating_add(origin));
    for (x, y, len) in m.dark_runs() {
        buf.fill_rect(
            x0.saturating_add(x.saturating_mul(module_px)),
            y0.saturating_add(y.saturating_mul(module_px)),
            len.saturating_mul(module_px),
            module_px,
            BLACK,
        );
    }
}

/// Minimal 8-bit grayscale raster (255 = white) for composing PNGs without an image crate.
/// Fields are private so `pixels.len() == width * height` always holds and drawing never
/// has to re-check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GrayCanvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl GrayCanvas {
    /// A white canvas.
    pub(super) fn new(width: usize, height: usize) -> Self {
        GrayCanvas {
            width,
            height,
            // Saturating so an absurd size fails loudly in the allocator instead of wrapping
            // into a buffer that breaks the length invariant.
            pixels: vec![WHITE; width.saturating_mul(height)],
        }
    }

    /// Row-major pixel values, `width * height` bytes.
    #[cfg(test)]
    pub(super) fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Pixel value, or `None` outside the canvas.
    #[cfg(test)]
    pub(super) fn get(&self, x: usize, y: usize) -> Option<u8> {
        if x < self.width && y < self.height { Some(self.pixels[y * self.width + x]) } else { None }
    }

    /// Fills a rectangle with `value`, clipped to the canvas.
    pub(super) fn fill_rect(&mut self, left: usize, top: usize, width: usize, height: usize, value: u8) {
        let x0 = left.min(self.width);
        let x1 = left.saturating_add(width).min(self.width);
        let y0 = top.min(self.height);
        let y1 = top.saturating_add(height).min(self.height);
        if x0 >= x1 {
            return;
        }
        for y in y0..y1 {
            let row = y * self.width;
            self.pixels[row + x0..row + x1].fill(value);
        }
    }

    /// Encodes the canvas as an 8-bit grayscale PNG.
    pub(super) fn to_png(&self) -> Result<Vec<u8>, RenderError> {
        let too_large = || RenderError::ImageTooLarge { width: self.width, height: self.height };
        let w = u32::try_from(self.width).map_err(|_| too_large())?;
        let h = u32::try_from(self.height).map_err(|_| too_large())?;
        // Two-tone images compress so well that the fast deflate path loses almost nothing
        // in size and is several times quicker than the default level.
        let mut out = Vec::with_capacity(self.pixels.len() / 16 + 128);
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.pixels)?;
        writer.finish()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const URL: &str = "HTTP://127.0.0.1:8080/P/ABCDEFGHIJKLMNOPQRSTUVWXYZ2345672";

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

    fn dark_cells(m: &QrMatrix) -> HashSet<(usize, usize)> {
        (0..m.width()).flat_map(|y| (0..m.width()).map(move |x| (x, y))).filter(|&(x, y)| m.is_dark(x, y)).collect()
    }

    #[test]
    fn payment_url_fits_version_3() {
        // The sample URL is 57 characters; a 59-character one must fit just the same.
        for url in [URL.to_string(), format!("{URL}XY")] {
            let m = QrMatrix::encode(&url).unwrap();
            assert!((1..=3).contains(&m.version()), "version {}", m.version());
            assert_eq!(m.width(), 17 + 4 * m.version() as usize);
        }
    }

    #[test]
    fn too_long_text_is_an_error() {
        let text = "A".repeat(5000);
        assert!(matches!(QrMatrix::encode(&text), Err(RenderError::DataTooLong { len: 5000 })));
    }

    #[test]
    fn out_of_range_is_light() {
        let m = QrMatrix::encode(URL).unwrap();
        // Finder pattern corner is always dark.
        assert!(m.is_dark(0, 0));
        assert!(!m.is_dark(m.width(), 0));
        assert!(!m.is_dark(0, usize::MAX));
    }

    #[test]
    fn png_round_trips_through_a_scanner() {
        let m = QrMatrix::encode(URL).unwrap();
        for module_px in [1, 3, 8] {
            let bytes = to_png(&m, module_px).unwrap();
            let (w, h, pixels) = decode_png(&bytes);
            let side = (m.width() + 8) * module_px as usize;
            assert_eq!((w, h), (side, side));
            assert_eq!(scan(w, h, &pixels), vec![URL.to_string()], "{module_px} px");
        }
    }

    #[test]
    fn png_module_size_is_clamped() {
        let m = QrMatrix::encode("HELLO").unwrap();
        let side = m.width() + 8;
        let (w, _, _) = decode_png(&to_png(&m, 0).unwrap());
        assert_eq!(w, side);
        let (w, _, _) = decode_png(&to_png(&m, 1000).unwrap());
        assert_eq!(w, side * 32);
    }

    #[test]
    fn png_quiet_zone_is_white() {
        let m = QrMatrix::encode(URL).unwrap();
        let (w, _, pixels) = decode_png(&to_png(&m, 2).unwrap());
        let qz = QUIET_ZONE * 2;
        for y in 0..w {
            for x in 0..w {
                if x < qz || y < qz || x >= w - qz || y >= w - qz {
                    assert_eq!(pixels[y * w + x], 255, "({x},{y})");
                }
            }
        }
        // First module of the symbol is the dark finder corner.
        assert_eq!(pixels[qz * w + qz], 0);
    }

    #[test]
    fn svg_path_draws_exactly_the_dark_modules() {
        let m = QrMatrix::encode(URL).unwrap();
        let svg = to_svg(&m);
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains("<svg "));
        assert!(svg.trim_end().ends_with("</svg>"));
        let n = m.width() + 8;
        assert!(svg.contains(&format!("viewBox=\"0 0 {n} {n}\"")));
        assert!(svg.contains(&format!("width=\"{}\"", n * SVG_MODULE_PX)));
        assert_eq!(svg.matches("<path").count(), 1);

        let start = svg.find(" d=\"").unwrap() + 4;
        let end = start + svg[start..].find('"').unwrap();
        let mut drawn = HashSet::new();
        for seg in svg[start..end].split('M').filter(|s| !s.is_empty()) {
            let (xy, rest) = seg.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let (len, tail) = rest.split_once('v').unwrap();
            let (x, y, len): (usize, usize, usize) = (x.parse().unwrap(), y.parse().unwrap(), len.parse().unwrap());
            assert_eq!(tail, format!("1h-{len}z"));
            assert!(len > 0);
            for dx in 0..len {
                // Each module painted once: overlapping runs would mean un-merged output.
                assert!(drawn.insert((x + dx - QUIET_ZONE, y - QUIET_ZONE)));
            }
        }
        assert_eq!(drawn, dark_cells(&m));
    }

    #[test]
    fn runs_are_maximal_and_cover_every_dark_module() {
        let m = QrMatrix::encode(URL).unwrap();
        let mut covered = HashSet::new();
        for (x, y, len) in m.dark_runs() {
            assert!(x == 0 || !m.is_dark(x - 1, y));
            assert!(!m.is_dark(x + len, y));
            covered.extend((x..x + len).map(|x| (x, y)));
        }
        assert_eq!(covered, dark_cells(&m));
    }

    #[test]
    fn draw_into_clips_and_clears_quiet_zone() {
        let m = QrMatrix::encode("HELLO").unwrap();
        let mut canvas = GrayCanvas::new(40, 40);
        canvas.fill_rect(0, 0, 40, 40, 0);
        // Deliberately overflows the canvas on the right and bottom.
        draw_into(&m, &mut canvas, 10, 10, 2);
        assert_eq!(canvas.get(9, 9), Some(0));
        assert_eq!(canvas.get(10, 10), Some(255));
        let corner = 10 + QUIET_ZONE * 2;
        assert_eq!(canvas.get(corner, corner), Some(0));
        assert_eq!(canvas.pixels().len(), 40 * 40);
    }

    #[test]
    fn canvas_png_has_canvas_size() {
        let mut canvas = GrayCanvas::new(7, 3);
        canvas.fill_rect(1, 1, 100, 1, 0);
        let (w, h, pixels) = decode_png(&canvas.to_png().unwrap());
        assert_eq!((w, h), (7, 3));
        assert_eq!(pixels, canvas.pixels());
    }
}
