//! The font the bill is drawn with: Noto Sans CJK SC, subset to GB2312 and the bill's punctuation
//! (`font/`, with its licence and the script that made it) and compiled in, or a font file the
//! configuration names (`[bill] font`). Both the PNG renderer (glyphs rasterised by ab_glyph) and
//! the PDF renderer (the font embedded by krilla, subset again to what the page uses) read it.

use ab_glyph::{Font, FontArc, FontVec, GlyphId, PxScale};
use std::sync::Arc;

/// Noto Sans CJK SC Regular, subset by `font/make-font.sh`. Licence: `font/OFL.txt`.
static BUILT_IN: &[u8] = include_bytes!("font/NotoSansSC-finepay.otf");

/// Characters every bill uses: a font without them cannot print one.
const REQUIRED: &str = "决定书编号罚款金额查询码￥0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

#[derive(Clone)]
pub struct BillFont {
    glyphs: FontArc,
    /// The same bytes, for the PDF renderer to embed.
    bytes: Arc<Vec<u8>>,
    /// Face index within a collection (`.ttc`).
    index: u32,
    /// Where it came from, for the logs.
    name: String,
}

impl std::fmt::Debug for BillFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillFont").field("name", &self.name).field("index", &self.index).finish()
    }
}

impl BillFont {
    pub fn built_in() -> BillFont {
        // The shipped file is checked by a test; it cannot fail to parse here.
        Self::from_bytes(BUILT_IN.to_vec(), 0, "built-in Noto Sans CJK SC (subset)")
            .unwrap_or_else(|e| unreachable!("the shipped font parses: {e}"))
    }

    /// A font file (OpenType or TrueType, face `index` of a collection), refused unless it holds
    /// the characters every bill uses.
    pub fn from_bytes(bytes: Vec<u8>, index: u32, name: &str) -> Result<BillFont, String> {
        let glyphs = FontVec::try_from_vec_and_index(bytes.clone(), index)
            .map(FontArc::new)
            .map_err(|_| format!("{name} is not an OpenType or TrueType font (face {index})"))?;
        let lacking: String = REQUIRED.chars().filter(|c| glyphs.glyph_id(*c) == GlyphId(0)).collect();
        if !lacking.is_empty() {
            return Err(format!("{name} lacks characters every bill prints: {lacking}"));
        }
        Ok(BillFont { glyphs, bytes: Arc::new(bytes), index, name: name.to_owned() })
    }

    pub(super) fn glyphs(&self) -> &FontArc {
        &self.glyphs
    }

    pub(super) fn bytes(&self) -> Arc<Vec<u8>> {
        Arc::clone(&self.bytes)
    }

    pub(super) fn index(&self) -> u32 {
        self.index
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the font draws `c` (space is drawn as nothing, and has a glyph).
    pub fn has(&self, c: char) -> bool {
        self.glyphs.glyph_id(c) != GlyphId(0)
    }

    /// The characters of `texts` the font lacks, each once, in order: what would print as boxes.
    pub fn lacking<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> String {
        let mut lacking = String::new();
        for c in texts.into_iter().flat_map(str::chars) {
            if !c.is_whitespace() && !c.is_control() && !self.has(c) && !lacking.contains(c) {
                lacking.push(c);
            }
        }
        lacking
    }

    /// The scale at which one em is `em` pixels (ab_glyph's `PxScale` counts ascent to descent).
    pub(super) fn scale_for_em(&self, em: f32) -> PxScale {
        let units_per_em = self.glyphs.units_per_em().unwrap_or(1000.0);
        PxScale::from(em * self.glyphs.height_unscaled() / units_per_em)
    }

    /// How far `text` advances at one em = `em`, with a character the font lacks a full em.
    pub(super) fn advance(&self, text: &str, em: f32) -> f32 {
        let units_per_em = self.glyphs.units_per_em().unwrap_or(1000.0);
        text.chars()
            .map(|c| {
                let id = self.glyphs.glyph_id(c);
                if id == GlyphId(0) { em } else { self.glyphs.h_advance_unscaled(id) * em / units_per_em }
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_font_holds_gb2312_and_the_bills_punctuation() {
        let font = BillFont::built_in();
        let chars = include_str!("font/chars.txt");
        let lacking: String = chars.trim_end_matches('\n').chars().filter(|c| *c != ' ' && !font.has(*c)).collect();
        assert_eq!(lacking, "", "the subset keeps every character chars.txt lists");
        assert!(chars.chars().count() > 7_500, "GB2312's 7,445 and ASCII");
        assert!(!font.has('\u{20000}'), "a character outside the subset has no glyph (it is drawn as a box)");
    }

    #[test]
    fn a_file_that_is_no_font_or_lacks_the_bills_characters_is_refused() {
        let error = BillFont::from_bytes(b"not a font".to_vec(), 0, "bad.otf").expect_err("refused");
        assert!(error.contains("bad.otf"), "{error}");
    }

    #[test]
    fn what_the_font_lacks_is_listed_once() {
        let font = BillFont::built_in();
        assert_eq!(font.lacking(["朝阳区 Chaoyang", "喆庄", "喆\u{20000}"]), "喆\u{20000}");
        assert_eq!(font.lacking(["北京市公安局公安交通管理局"]), "");
    }

    #[test]
    fn one_em_is_the_size_asked_for() {
        let font = BillFont::built_in();
        let width = font.advance("国国", 24.0);
        assert!((width - 48.0).abs() < 0.5, "a hanzi advances one em: {width}");
        assert!(font.advance("1", 24.0) < 24.0);
    }
}
