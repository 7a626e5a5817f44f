//! The stream is read back command by command, as a printer would read it, rather than compared
//! with a blob: the text decoded from GB18030, the QR payload out of its store command, the
//! raster's dots out of their bytes.

use super::reader::{self, Command};
use super::*;

fn read(bytes: &[u8]) -> Vec<Command> {
    reader::read(bytes).expect("every byte is a command finepay sends")
}

#[test]
fn chinese_text_goes_in_gb18030_with_the_printers_chinese_mode_on() {
    let mut bill = EscPos::new();
    bill.align(Align::Center).size(2, 2).bold(true).line("公安交通管理简易程序处罚决定书").bold(false).size(1, 1);
    bill.align(Align::Left).line("罚款金额：￥200.00").line("车牌：京A12345 Plate").feed(3).cut();
    assert!(bill.unprintable().is_empty());
    assert_eq!(
        read(&bill.into_bytes()),
        [
            Command::Init,
            Command::ChineseMode,
            Command::Align(1),
            Command::Size { width: 2, height: 2 },
            Command::Bold(true),
            Command::Line("公安交通管理简易程序处罚决定书".into()),
            Command::Bold(false),
            Command::Size { width: 1, height: 1 },
            Command::Align(0),
            Command::Line("罚款金额：￥200.00".into()),
            Command::Line("车牌：京A12345 Plate".into()),
            Command::Feed(3),
            Command::Cut,
        ]
    );
}

#[test]
fn a_character_the_printers_font_lacks_is_a_box_and_reported_and_controls_are_left_out() {
    let mut bill = EscPos::new();
    // ¥ (U+00A5) and 𠀀 (beyond the BMP) take four bytes in GB18030; ￥ and 罚 take two.
    bill.line("¥200 ￥200 𠀀罚\u{1b}@\r");
    assert_eq!(bill.unprintable(), ['¥', '𠀀']);
    assert_eq!(read(&bill.into_bytes())[2..], [Command::Line("□200 ￥200 □罚@".into())]);
}

#[test]
fn the_qr_code_is_drawn_by_the_printer_and_holds_exactly_the_payload() {
    let pay_url = "HTTPS://JTGL.BEIJING.GOV.CN/P/AB3DEFGHIJKLMNOPQRSTUVWXYZ2345";
    let mut bill = EscPos::new();
    bill.qr(pay_url, 8).expect("fits");
    assert_eq!(
        read(&bill.into_bytes())[2..],
        [
            Command::QrModel(0x32),
            Command::QrModule(8),
            Command::QrLevel(0x31),
            Command::QrStore(pay_url.as_bytes().to_vec()),
            Command::QrPrint,
        ]
    );
    // The store command's length is two bytes: the payload plus its three function bytes.
    let mut long = EscPos::new();
    assert!(long.qr(&"A".repeat(65_532), 8).is_ok());
    assert_eq!(EscPos::new().qr(&"A".repeat(65_533), 8).err(), Some(QrTooLong(65_533)));
}

#[test]
fn a_raster_image_goes_in_bands_of_at_most_255_rows_leftmost_dot_in_the_high_bit() {
    // 384 dots wide (58 mm), 300 rows: the first dot of each row, and the last of row 299.
    let mut rows = vec![vec![false; 384]; 300];
    for row in &mut rows {
        row[0] = true;
    }
    rows[299][383] = true;
    let mut bill = EscPos::new();
    bill.raster(&rows);
    let commands = read(&bill.into_bytes());
    let bands: Vec<(usize, usize)> = commands[2..]
        .iter()
        .map(|c| match c {
            Command::Raster { row_bytes, rows } => (*row_bytes, rows.len()),
            other => panic!("not a raster band: {other:?}"),
        })
        .collect();
    assert_eq!(bands, [(48, 255), (48, 45)]);
    let Command::Raster { rows: last_band, .. } = &commands[3] else { panic!("a band") };
    let last_row = last_band.last().expect("a row");
    assert_eq!((last_row[0], last_row[47]), (0x80, 0x01));
}
