//! Reads an ESC/POS stream back command by command, as a printer would: the text decoded from
//! GB18030, the QR payload out of its store command, the raster's dots out of their bytes. Every
//! bill finepay prints is checked with it in the tests (never against a stored blob); only the
//! commands finepay sends are known, so a stray byte is an error rather than a guess.

use encoding_rs::GB18030;

const ESC: u8 = 0x1B;
const FS: u8 = 0x1C;
const GS: u8 = 0x1D;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Init,
    ChineseMode,
    Align(u8),
    Size {
        width: u8,
        height: u8,
    },
    Bold(bool),
    /// A line of text, without its line feed.
    Line(String),
    QrModel(u8),
    QrModule(u8),
    QrLevel(u8),
    QrStore(Vec<u8>),
    QrPrint,
    /// `GS v 0`: rows of packed dots, the leftmost in the high bit.
    Raster {
        row_bytes: usize,
        rows: Vec<Vec<u8>>,
    },
    Feed(u8),
    Cut,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("an unknown command at byte {at}: {bytes:02X?}")]
    Unknown { at: usize, bytes: Vec<u8> },
    #[error("the stream ends inside the command at byte {at}")]
    Truncated { at: usize },
    #[error("the text at byte {at} is not GB18030")]
    NotGb18030 { at: usize },
}

/// The commands of `bytes`, in order.
pub fn read(bytes: &[u8]) -> Result<Vec<Command>, ReadError> {
    let mut commands = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let truncated = ReadError::Truncated { at };
        let word = |i: usize| -> Result<usize, ReadError> {
            match (rest.get(i), rest.get(i + 1)) {
                (Some(&l), Some(&h)) => Ok(usize::from(l) | usize::from(h) << 8),
                _ => Err(ReadError::Truncated { at }),
            }
        };
        let (command, length) = match rest {
            [ESC, b'@', ..] => (Command::Init, 2),
            [FS, b'&', ..] => (Command::ChineseMode, 2),
            [ESC, b'a', n, ..] => (Command::Align(*n), 3),
            [GS, b'!', n, ..] => (Command::Size { width: (n >> 4) + 1, height: (n & 0x0F) + 1 }, 3),
            [ESC, b'E', n, ..] => (Command::Bold(*n == 1), 3),
            [ESC, b'd', n, ..] => (Command::Feed(*n), 3),
            [GS, b'V', 66, 0, ..] => (Command::Cut, 4),
            [GS, b'(', b'k', ..] => {
                let data = word(3)?;
                let function = rest.get(5..5 + data).ok_or(truncated)?;
                let command = match function {
                    [0x31, 0x41, model, 0x00] => Command::QrModel(*model),
                    [0x31, 0x43, size] => Command::QrModule(*size),
                    [0x31, 0x45, level] => Command::QrLevel(*level),
                    [0x31, 0x50, 0x30, payload @ ..] => Command::QrStore(payload.to_vec()),
                    [0x31, 0x51, 0x30] => Command::QrPrint,
                    _ => return Err(ReadError::Unknown { at, bytes: rest[..rest.len().min(8)].to_vec() }),
                };
                (command, 5 + data)
            }
            [GS, b'v', b'0', 0, ..] => {
                let (row_bytes, height) = (word(4)?, word(6)?);
                let data = rest.get(8..8 + row_bytes * height).ok_or(truncated)?;
                let rows = data.chunks(row_bytes.max(1)).map(<[u8]>::to_vec).collect();
                (Command::Raster { row_bytes, rows }, 8 + row_bytes * height)
            }
            [first, ..] if ![ESC, FS, GS].contains(first) => {
                let end = rest.iter().position(|&b| b == b'\n').ok_or(truncated)?;
                let (text, _, errors) = GB18030.decode(&rest[..end]);
                if errors {
                    return Err(ReadError::NotGb18030 { at });
                }
                (Command::Line(text.into_owned()), end + 1)
            }
            _ => return Err(ReadError::Unknown { at, bytes: rest[..rest.len().min(4)].to_vec() }),
        };
        commands.push(command);
        at += length;
    }
    Ok(commands)
}

/// The printed lines' text, in order.
pub fn lines(commands: &[Command]) -> Vec<&str> {
    commands.iter().filter_map(|c| if let Command::Line(text) = c { Some(text.as_str()) } else { None }).collect()
}

/// Every raster image's dots, row by row (`true` prints), images one after the other.
pub fn raster_dots(commands: &[Command]) -> Vec<Vec<bool>> {
    commands
        .iter()
        .filter_map(|c| if let Command::Raster { row_bytes, rows } = c { Some((row_bytes, rows)) } else { None })
        .flat_map(|(row_bytes, rows)| {
            rows.iter().map(move |row| (0..row_bytes * 8).map(|x| row[x / 8] & (0x80 >> (x % 8)) != 0).collect())
        })
        .collect()
}
