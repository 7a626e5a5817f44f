//! Text that arrives from outside and may be stored. PostgreSQL's `text` cannot hold U+0000 —
//! SQLite can — so a NUL that reached a query would be stored on one backend and fail the write
//! on the other. No other control character belongs in a reason, a reference or a filter either,
//! except the tab and line breaks of free text. Every such text is checked where it enters
//! (a request body, a query string, a statement line, a channel's report), so that both backends
//! hold the same and no write fails on what a client sent.

use std::fmt;

/// The first character of a text that finepay does not store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlChar(pub char);

impl fmt::Display for ControlChar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "holds the control character U+{:04X}", u32::from(self.0))
    }
}

impl std::error::Error for ControlChar {}

/// Whether `c` may be stored: anything but the C0 controls (tab, line feed and carriage return
/// excepted) and DEL.
pub fn storable_char(c: char) -> bool {
    !c.is_ascii_control() || matches!(c, '\t' | '\n' | '\r')
}

/// `text` itself when every character of it may be stored, else the first one that may not.
pub fn storable(text: &str) -> Result<&str, ControlChar> {
    match text.chars().find(|&c| !storable_char(c)) {
        Some(c) => Err(ControlChar(c)),
        None => Ok(text),
    }
}

#[cfg(test)]
mod proptests;

/// `text` with every character that may not be stored replaced by U+FFFD: for what finepay keeps
/// of a channel's answer (a refund id, an error message), which is recorded rather than refused.
pub fn scrubbed(text: &str) -> std::borrow::Cow<'_, str> {
    if storable(text).is_ok() {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(text.chars().map(|c| if storable_char(c) { c } else { '\u{FFFD}' }).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_nul_and_the_other_control_characters_but_keeps_free_text_whitespace() {
        let cases: [(&str, Option<char>); 9] = [
            ("plain", None),
            ("罚款 1101052611210000176", None),
            ("two\tcolumns\r\nand lines", None),
            ("", None),
            ("nul\u{0}inside", Some('\u{0}')),
            ("\u{0}", Some('\u{0}')),
            ("bell\u{7}", Some('\u{7}')),
            ("escape\u{1b}[31m", Some('\u{1b}')),
            ("delete\u{7f}", Some('\u{7f}')),
        ];
        for (text, refused) in cases {
            assert_eq!(storable(text).err().map(|e| e.0), refused, "{text:?}");
        }
        assert_eq!(ControlChar('\u{0}').to_string(), "holds the control character U+0000");
        assert_eq!(scrubbed("R\u{0}1\tok"), "R\u{FFFD}1\tok");
        assert!(matches!(scrubbed("clean"), std::borrow::Cow::Borrowed("clean")));
    }
}
