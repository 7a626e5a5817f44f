//! Property tests of the check every outside text passes before it is stored: `storable` refuses
//! a text exactly when one of its characters is not `storable_char`, and names the first such
//! character — on arbitrary text, biased towards the control characters the rule is about.

use super::{ControlChar, storable, storable_char};
use crate::domain::proptest_support::cases;
use proptest::prelude::*;

/// Any character, the ASCII controls, DEL and the C1 controls often.
fn a_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>(),
        2 => (0u8..0x20).prop_map(char::from),
        1 => Just('\u{7f}'),
        1 => (0x80u32..0xa0).prop_map(|c| char::from_u32(c).expect("a C1 control")),
        2 => "[a-z 罚\t\n\r]".prop_map(|s| s.chars().next().expect("one character")),
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn storable_agrees_with_storable_char_on_every_character(chars in proptest::collection::vec(a_char(), 0..40)) {
        let text: String = chars.iter().collect();
        match chars.iter().copied().find(|&c| !storable_char(c)) {
            None => prop_assert_eq!(storable(&text), Ok(text.as_str())),
            Some(first) => prop_assert_eq!(storable(&text), Err(ControlChar(first))),
        }
    }

    #[test]
    fn any_string_is_stored_or_refused_never_a_panic(text in any::<String>()) {
        let storable_chars = text.chars().all(storable_char);
        prop_assert_eq!(storable(&text).is_ok(), storable_chars);
    }

    #[test]
    fn exactly_the_ascii_controls_but_tab_and_line_breaks_are_refused(c in any::<char>()) {
        let refused = c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r');
        prop_assert_eq!(storable_char(c), !refused);
    }
}
