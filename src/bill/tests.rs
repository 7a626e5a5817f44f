//! The three renderers, read back the way their readers read them: the PNG decoded and its QR
//! code scanned (also at a quarter of its size), the ESC/POS stream parsed command by command, the
//! PDF's text extracted and its page rasterised and scanned (with poppler's tools, where present).

use super::escpos::reader::{self, Command};
use super::layout::{Block, lay_out};
use super::*;
use crate::domain::Fen;
use crate::domain::catalogue::SubjectKind;

pub(crate) fn facts() -> Facts {
    Facts {
        authority_zh: "北京市公安局公安交通管理局".into(),
        authority_en: "Beijing Traffic Management Bureau".into(),
        district_zh: "朝阳区".into(),
        district_en: "Chaoyang".into(),
        decision_no: "1101052612060000137".into(),
        violation_code: "1625".into(),
        violation_zh: "驾驶机动车违反道路交通信号灯通行的".into(),
        violation_en: "Running a red light".into(),
        points: 6,
        subject: SubjectKind::MotorVehicle,
        plate: Some("京A12345".into()),
        plate_type: Some("02".into()),
        location: "朝阳区建国路与东三环中路交叉口（国贸桥）北侧辅路".into(),
        occurred_at: "2026-12-06 09:15".into(),
        amount: Fen(20_000),
        qr: Some(QrPayment {
            pay_url: "HTTPS://JTGL.BEIJING.GOV.CN/P/ABCDEFGHIJKLMNOPQRSTUVWXYZ23456".into(),
            until: "2026-12-06 13:15".into(),
        }),
        verification_code: "482913".into(),
        lookup_url: "https://jtgl.beijing.gov.cn/lookup".into(),
        due_date: "2026-12-21".into(),
        daily_rate_bp: 300,
        rf_reference: "RF741101092611220000137".into(),
    }
}

const ALL: [Language; 2] = [Language::Zh, Language::ZhEn];

fn pay_url() -> String {
    facts().qr.map(|q| q.pay_url).unwrap_or_default()
}

/// A PNG's dots as greyscale bytes (0 black), with its width and height.
fn decode_png(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(::png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("a PNG");
    let info = reader.info();
    assert_eq!((info.bit_depth, info.color_type), (::png::BitDepth::One, ::png::ColorType::Grayscale), "1-bit");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a size")];
    let frame = reader.next_frame(&mut buffer).expect("a frame");
    buffer.truncate(frame.buffer_size());
    (frame.width as usize, frame.height as usize, buffer)
}

pub(crate) fn scan(width: usize, height: usize, grey: &[u8]) -> Vec<String> {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
    image.detect_grids().iter().filter_map(|grid| grid.decode().ok().map(|(_, text)| text)).collect()
}

/// The image shrunk to a quarter of its width and height, each new pixel the mean of sixteen.
fn quarter(width: usize, height: usize, grey: &[u8]) -> (usize, usize, Vec<u8>) {
    let (w, h) = (width / 4, height / 4);
    let mean = |x: usize, y: usize| {
        let sum: usize = (0..16).map(|i| usize::from(grey[(y * 4 + i / 4) * width + x * 4 + i % 4])).sum();
        u8::try_from(sum / 16).unwrap_or(u8::MAX)
    };
    (w, h, (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).map(|(x, y)| mean(x, y)).collect())
}

#[test]
fn the_png_is_one_bit_as_wide_as_the_paper_and_its_code_scans_also_at_a_quarter_size() {
    let font = BillFont::built_in();
    for (paper, width) in [(Paper::Mm58, 384), (Paper::Mm80, 576)] {
        for language in ALL {
            let png = render(&facts(), Format::Png, paper, language, &font).expect("renders");
            let (w, h, grey) = decode_png(&png);
            assert_eq!(w, width);
            assert!(h > 600, "{paper:?} {language:?}: {h} dots long");
            assert_eq!(scan(w, h, &grey), [pay_url()], "{paper:?} {language:?}");
            let (qw, qh, small) = quarter(w, h, &grey);
            assert_eq!(scan(qw, qh, &small), [pay_url()], "{paper:?} {language:?} at a quarter");
        }
    }
}

#[test]
fn the_bank_bill_has_no_code() {
    let font = BillFont::built_in();
    let bank = Facts { qr: None, ..facts() };
    let png = render(&bank, Format::Png, Paper::Mm58, Language::Zh, &font).expect("renders");
    let (w, h, grey) = decode_png(&png);
    assert!(scan(w, h, &grey).is_empty());
    let escpos = render(&bank, Format::EscPos(QrMode::Printer), Paper::Mm58, Language::Zh, &font).expect("renders");
    let commands = reader::read(&escpos).expect("reads");
    assert!(!commands.iter().any(|c| matches!(c, Command::QrStore(_) | Command::Raster { .. })));
    assert!(reader::lines(&commands).concat().contains("代理银行"));
}

#[test]
fn the_escpos_bill_prints_its_lines_in_gb18030_and_its_code_through_the_printer() {
    let font = BillFont::built_in();
    for paper in [Paper::Mm58, Paper::Mm80] {
        for language in ALL {
            let bytes = render(&facts(), Format::EscPos(QrMode::Printer), paper, language, &font).expect("renders");
            let commands = reader::read(&bytes).expect("every byte is a command");
            assert_eq!(commands[..2], [Command::Init, Command::ChineseMode]);
            assert_eq!(commands[commands.len() - 2..], [Command::Feed(3), Command::Cut]);
            let stored: Vec<_> =
                commands.iter().filter_map(|c| if let Command::QrStore(p) = c { Some(p) } else { None }).collect();
            assert_eq!(stored, [pay_url().as_bytes()]);
            assert!(commands.contains(&Command::QrLevel(0x31)), "level M");
            let lines = reader::lines(&commands);
            let expected: Vec<String> = lay_out(&facts(), paper.cells(), language)
                .into_iter()
                .filter_map(|b| if let Block::Line(l) = b { Some(l.text) } else { None })
                .collect();
            for line in &expected {
                assert!(lines.contains(&line.as_str()), "{line:?} is printed");
            }
            // Normal-size lines never run past the paper in the printer's cells.
            let mut double = false;
            for command in &commands {
                match command {
                    Command::Size { width, .. } => double = *width == 2,
                    Command::Line(text) => {
                        let room = paper.cells() / if double { 2 } else { 1 };
                        assert!(layout::width_in_cells(text) <= room, "{text:?}");
                    }
                    _ => {}
                }
            }
        }
    }
}

#[test]
fn the_raster_fallback_draws_the_code_as_dots_that_scan() {
    let font = BillFont::built_in();
    let bytes = render(&facts(), Format::EscPos(QrMode::Raster), Paper::Mm58, Language::Zh, &font).expect("renders");
    let commands = reader::read(&bytes).expect("reads");
    assert!(!commands.iter().any(|c| matches!(c, Command::QrStore(_))), "no QR commands");
    let dots = reader::raster_dots(&commands);
    let (w, h) = (dots[0].len(), dots.len());
    assert!(w <= 384);
    let grey: Vec<u8> = dots.iter().flat_map(|row| row.iter().map(|&d| if d { 0 } else { 255 })).collect();
    assert_eq!(scan(w, h, &grey), [pay_url()]);
}

#[test]
fn a_character_the_printers_lack_is_a_box_in_the_escpos_bill() {
    let font = BillFont::built_in();
    let facts = Facts { location: "路口¥".into(), ..facts() };
    let bytes = render(&facts, Format::EscPos(QrMode::Printer), Paper::Mm58, Language::Zh, &font).expect("renders");
    let lines = reader::lines(&reader::read(&bytes).expect("reads")).concat();
    assert!(lines.contains("地点：路口□"), "{lines}");
}

/// Runs a poppler tool, or `None` where it is not installed (unless the run requires it).
fn poppler(tool: &str, args: &[&str]) -> Option<Vec<u8>> {
    match std::process::Command::new(tool).args(args).output() {
        Ok(out) => {
            assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
            Some(out.stdout)
        }
        Err(_) if std::env::var_os("FINEPAY_REQUIRE_PDF_TOOLS").is_some() => panic!("{tool} is required"),
        Err(_) => {
            eprintln!("{tool} is not installed (apt install poppler-utils): skipping that check");
            None
        }
    }
}

#[test]
fn the_pdf_is_one_a6_page_with_the_font_embedded_its_text_extractable_and_its_code_scannable() {
    let font = BillFont::built_in();
    for language in ALL {
        let bytes = render(&facts(), Format::Pdf, Paper::Mm58, language, &font).expect("renders");
        assert!(bytes.starts_with(b"%PDF-"));
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("bill.pdf");
        std::fs::write(&file, &bytes).expect("written");
        let path = file.to_str().expect("utf-8 path");
        let Some(info) = poppler("pdfinfo", &[path]) else { return };
        let info = String::from_utf8_lossy(&info);
        let field = |name: &str| info.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or_default();
        assert_eq!(field("Pages:"), "1", "{info}");
        assert!(field("Page size:").starts_with("297.64 x 419.53 pts"), "A6: {info}");
        let Some(fonts) = poppler("pdffonts", &[path]) else { return };
        let fonts = String::from_utf8_lossy(&fonts);
        assert!(fonts.contains("yes yes yes"), "embedded, subset, with a ToUnicode map:\n{fonts}");
        let Some(text) = poppler("pdftotext", &["-enc", "UTF-8", path, "-"]) else { return };
        let text = String::from_utf8(text).expect("UTF-8").replace([' ', '\n'], "");
        for needle in
            ["北京市公安局公安交通管理局", "决定书编号", "1101052612060000137", "京A12345", "￥200.00", "482913"]
        {
            assert!(text.contains(needle), "{needle} is extractable from:\n{text}");
        }
        let prefix = dir.path().join("page");
        let Some(_) =
            poppler("pdftoppm", &["-r", "150", "-gray", "-singlefile", path, prefix.to_str().expect("utf-8")])
        else {
            return;
        };
        let pgm = std::fs::read(dir.path().join("page.pgm")).expect("the page image");
        let (w, h, grey) = read_pgm(&pgm);
        assert_eq!(scan(w, h, &grey), [pay_url()], "{language:?}");
    }
}

/// A binary PGM (P5, 8-bit), as pdftoppm -gray writes it.
fn read_pgm(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().expect("width"), fields[2].parse().expect("height"));
    (w, h, bytes[at + 1..at + 1 + w * h].to_vec())
}

/// The configuration's example of a fuller font: Debian's whole Noto Sans CJK collection, face 2
/// (Simplified Chinese), where it is installed.
#[test]
fn a_configured_font_collection_draws_the_png_and_the_pdf() {
    let path = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("{path} is not installed (apt install fonts-noto-cjk): skipping");
        return;
    };
    let font = BillFont::from_bytes(bytes, 2, path).expect("face 2 is Noto Sans CJK SC");
    // 喆 is in GBK but not GB2312: a village's name the shipped subset draws as a box.
    assert!(font.has('喆') && !BillFont::built_in().has('喆'));
    let facts = Facts { location: "喆庄村路口".into(), ..facts() };
    let blocks = layout::lay_out(&facts, Paper::Mm58.cells(), Language::Zh);
    let (_, missing) = png::render(&blocks, Paper::Mm58, &font).expect("renders");
    assert_eq!(missing, [] as [char; 0], "the collection draws it");
    let (_, missing) = png::render(&blocks, Paper::Mm58, &BillFont::built_in()).expect("renders");
    assert_eq!(missing, ['喆'], "the shipped subset does not");
    let pdf = render(&facts, Format::Pdf, Paper::Mm58, Language::Zh, &font).expect("renders");
    assert!(pdf.starts_with(b"%PDF-"));
}
