//! The app's icon, drawn here rather than shipped as a file: a white bill with a QR code's three
//! finder squares on the app's blue, inside the middle 80 % so that a launcher's mask (round,
//! squircle) never cuts it.

const BLUE: [u8; 3] = [0x1d, 0x4e, 0xd8];
const WHITE: [u8; 3] = [0xff, 0xff, 0xff];

/// A `size` × `size` RGB PNG.
pub(super) fn png(size: u32) -> Vec<u8> {
    let n = size as usize;
    let mut pixels = vec![0u8; n * n * 3];
    let mut fill = |x0: f32, y0: f32, x1: f32, y1: f32, colour: [u8; 3]| {
        let to = |v: f32| ((v * n as f32).round() as usize).min(n);
        for y in to(y0)..to(y1) {
            for x in to(x0)..to(x1) {
                pixels[(y * n + x) * 3..(y * n + x) * 3 + 3].copy_from_slice(&colour);
            }
        }
    };
    fill(0.0, 0.0, 1.0, 1.0, BLUE);
    // The bill: a white sheet in the safe zone.
    fill(0.24, 0.18, 0.76, 0.82, WHITE);
    // Its QR code's finder squares (7 modules: 7 dark, 5 light, 3 dark) and a few modules.
    let module = 0.035;
    let finder = |fill: &mut dyn FnMut(f32, f32, f32, f32, [u8; 3]), x: f32, y: f32| {
        fill(x, y, x + 7.0 * module, y + 7.0 * module, BLUE);
        fill(x + module, y + module, x + 6.0 * module, y + 6.0 * module, WHITE);
        fill(x + 2.0 * module, y + 2.0 * module, x + 5.0 * module, y + 5.0 * module, BLUE);
    };
    let (left, top) = (0.5 - 10.5 * module, 0.26);
    finder(&mut fill, left, top);
    finder(&mut fill, left + 14.0 * module, top);
    finder(&mut fill, left, top + 14.0 * module);
    for (mx, my) in
        [(9, 1), (11, 3), (9, 5), (10, 9), (13, 10), (15, 12), (18, 14), (12, 16), (16, 17), (19, 19), (14, 19)]
    {
        let (x, y) = (left + mx as f32 * module, top + my as f32 * module);
        fill(x, y, x + module, y + module, BLUE);
    }
    // The amount line under the code.
    fill(0.32, 0.72, 0.68, 0.75, BLUE);
    encode(size, &pixels)
}

fn encode(size: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, size, size);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Writing to a Vec fails only on a size mismatch, which the buffer above rules out.
    let written = encoder.write_header().and_then(|mut writer| writer.write_image_data(pixels));
    debug_assert!(written.is_ok());
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_icons_are_pngs_of_their_size() {
        for size in [192, 512] {
            let bytes = super::png(size);
            let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
            let info = decoder.read_info().expect("a PNG").info().clone();
            assert_eq!((info.width, info.height), (size, size));
        }
    }
}
