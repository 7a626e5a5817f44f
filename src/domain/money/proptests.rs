//! Property tests of yuan amounts as channels write them (`200.00`): parsing any text never
//! panics and never yields a negative amount; every amount of at most 15 whole digits prints and
//! parses back to itself, and what parses prints in the canonical two-decimal form that parses
//! back the same.

use super::Fen;
use crate::domain::proptest_support::cases;
use proptest::prelude::*;

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_text_parses_or_is_refused_never_a_panic(text in "\\PC*") {
        if let Some(fen) = Fen::parse_yuan(&text) {
            prop_assert!(fen.get() >= 0);
        }
    }

    #[test]
    fn any_number_like_text_parses_or_is_refused_never_a_panic(text in "[-+]?[0-9]{0,20}(\\.[0-9]{0,4})?") {
        if let Some(fen) = Fen::parse_yuan(&text) {
            prop_assert!(fen.get() >= 0);
            prop_assert_eq!(Fen::parse_yuan(&fen.yuan_text()), Some(fen));
        }
    }

    #[test]
    fn every_amount_prints_and_parses_back(fen in 0i64..100_000_000_000_000_000) {
        let text = Fen(fen).yuan_text();
        prop_assert_eq!(Fen::parse_yuan(&text), Some(Fen(fen)));
        prop_assert_eq!(Fen(fen).to_string(), format!("CNY {text}"));
    }

    #[test]
    fn a_negative_amount_prints_but_is_never_parsed(fen in i64::MIN..0) {
        let text = Fen(fen).yuan_text();
        prop_assert!(text.starts_with('-'));
        prop_assert_eq!(Fen::parse_yuan(&text), None);
    }
}
