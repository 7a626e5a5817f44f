//! The stream is read back command by command, as a printer would read it, rather than compared
//! with a blob: the text decoded from GB18030, the QR payload out of its store command, the
//! raster's dots out of their bytes.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Init,
    ChineseMode,
    Align(u8),
    Size { width: u8, height: u8 },
    Bold(bool),
    Line(String),
    QrModel(u8),
    QrModule(u8),
    QrLevel(u8),
    QrStore(Vec<u8>),
    QrPrint,
    Raster { row_bytes: usize, rows: Vec<Vec<u8>> },
    Feed(u8),
    Cut,
}

/// Reads `bytes` as a printer would; panics on anything it does not know, so that a test fails
/// on a byte finepay should not have sent.
fn read(bytes: &[u8]) -> Vec<Command> {
    let mut commands = Vec::new();
    let mut i = 0;
    let word = |at: usize| usize::from(bytes[at]) | usize::from(bytes[at + 1]) << 8;
    while i < bytes.len() {
        let (command, length) = match &bytes[i..] {
            [ESC, b'@', ..] => (Command::Init, 2),
            [FS, b'&', ..] => (Command::ChineseMode, 2),
            [ESC, b'a', n, ..] => (Command::Align(*n), 3),
            [GS, b'!', n, ..] => (Command::Size { width: (n >> 4) + 1, height: (n & 0x0F) + 1 }, 3),
            [ESC, b'E', n, ..] => (Command::Bold(*n == 1), 3),
            [ESC, b'd', n, ..] => (Command::Feed(*n), 3),
            [GS, b'V', 66, 0, ..] => (Command::Cut, 4),
            [GS, b'(', b'k', ..] => {
                let data = word(i + 3);
                let function = &bytes[i + 5..i + 5 + data];
                let command = match function {
                    [0x31, 0x41, model, 0x00] => Command::QrModel(*model),
                    [0x31, 0x43, size] => Command::QrModule(*size),
                    [0x31, 0x45, level] => Command::QrLevel(*level),
                    [0x31, 0x50, 0x30, payload @ ..] => Command::QrStore(payload.to_vec()),
                    [0x31, 0x51, 0x30] => Command::QrPrint,
                    other => panic!("an unknown QR function {other:?}"),
                };
                (command, 5 + data)
            }
            [GS, b'v', b'0', 0, ..] => {
                let (row_bytes, height) = (word(i + 4), word(i + 6));
                let data = &bytes[i + 8..i + 8 + row_bytes * height];
                let rows = data.chunks(row_bytes).map(<[u8]>::to_vec).collect();
                (Command::Raster { row_bytes, rows }, 8 + row_bytes * height)
            }
            [first, ..] if ![ESC, FS, GS].contains(first) => {
                let end = bytes[i..].iter().position(|&b| b == b'\n').expect("a line ends with LF");
                let (text, _, errors) = GB18030.decode(&bytes[i..i + end]);
                assert!(!errors, "the text is GB18030");
                (Command::Line(text.into_owned()), end + 1)
            }
            other => panic!("an unknown command at byte {i}: {:?}", &other[..other.len().min(4)]),
        };
        commands.push(command);
        i += length;
    }
    commands
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
