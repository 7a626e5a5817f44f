//! Property tests of ISO 11649 RF references, which payers type into their bank's remittance
//! field: checking any text never panics; the reference of every decision number (and of any
//! 1-21 character reference) checks back to what it was built from, however it is spaced or
//! cased; and a single mistyped character of it is refused.

use super::{RfError, parse_rf, rf_for_decision, rf_from_reference};
use crate::domain::proptest_support::{cases, decision_no};
use proptest::prelude::*;

/// `text` with a space before each character whose flag is set, in upper or lower case.
fn respaced(text: &str, spaces: &[bool], lower: bool) -> String {
    let mut out = String::new();
    for (c, space) in text.chars().zip(spaces.iter().chain(std::iter::repeat(&false))) {
        if *space {
            out.push(' ');
        }
        out.push(if lower { c.to_ascii_lowercase() } else { c });
    }
    out
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_text_checks_or_is_refused_never_a_panic(raw in "\\PC*") {
        if let Ok(reference) = parse_rf(&raw) {
            prop_assert!((1..=21).contains(&reference.len()));
            prop_assert!(reference.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
        }
    }

    #[test]
    fn any_rf_shaped_text_checks_or_is_refused_never_a_panic(raw in "[rR][fF][0-9 ]{0,3}[0-9A-Za-z ]{0,26}") {
        let _ = parse_rf(&raw);
    }

    #[test]
    fn any_reference_text_is_built_or_refused_never_a_panic(raw in "\\PC{0,30}") {
        if let Ok(rf) = rf_from_reference(&raw) {
            prop_assert_eq!(parse_rf(&rf), Ok(raw.to_ascii_uppercase()));
        }
    }

    #[test]
    fn a_decision_numbers_rf_checks_back_to_the_number(
        no in decision_no(),
        spaces in proptest::collection::vec(any::<bool>(), 23),
        lower in any::<bool>(),
    ) {
        let rf = rf_for_decision(&no);
        prop_assert_eq!(rf.len(), 23);
        prop_assert_eq!(parse_rf(&rf), Ok(no.to_string()));
        prop_assert_eq!(parse_rf(&respaced(&rf, &spaces, lower)), Ok(no.to_string()));
    }

    #[test]
    fn any_short_alphanumeric_reference_round_trips(reference in "[0-9A-Za-z]{1,21}") {
        let rf = rf_from_reference(&reference).expect("a valid reference");
        prop_assert_eq!(parse_rf(&rf), Ok(reference.to_ascii_uppercase()));
    }

    #[test]
    fn one_mistyped_character_of_a_decision_numbers_rf_is_refused(
        no in decision_no(),
        at in 2usize..23,
        digit in 0u8..10,
    ) {
        let mut typed = rf_for_decision(&no).into_bytes();
        prop_assume!(typed[at] != b'0' + digit);
        typed[at] = b'0' + digit;
        let typed = String::from_utf8(typed).expect("ASCII");
        prop_assert_eq!(parse_rf(&typed), Err(RfError::CheckDigits));
    }
}
