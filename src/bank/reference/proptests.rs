//! Property tests of reading which fine a bank transfer pays from its remittance texts, which the
//! payer writes freely: any texts are read without a panic, and a transfer whose texts hold
//! exactly one valid decision number — bare or as its RF reference, amid any text without
//! digits — names exactly that fine.

use super::{Named, Resolved, find_decision_no};
use crate::domain::DecisionNo;
use crate::domain::proptest_support::{cases, decision_no};
use crate::domain::rf_reference::rf_for_decision;
use proptest::prelude::*;

/// Free text without an ASCII digit (any other character, `RF` and spaces often).
fn no_digits() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            3 => any::<char>().prop_filter("no ASCII digit", |c| !c.is_ascii_digit()),
            1 => prop::sample::select(vec!["RF", "rf", " ", "罚款", "-", ":"]).prop_map(|s| s.chars().next().expect("a char")),
            1 => "[A-Za-z ]{1,4}".prop_map(|s| s.chars().next().expect("a char")),
        ],
        0..30,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_remittance_texts_are_read_without_a_panic(texts in proptest::collection::vec("\\PC*", 0..4)) {
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let named = find_decision_no(&texts);
        let every: Vec<&DecisionNo> = named.candidates().collect();
        prop_assert!(every.iter().enumerate().all(|(i, no)| !every[..i].contains(no)), "each number once");
        match named.resolve(|_| Ok::<_, ()>(true)) {
            Ok(Resolved::Several(nos)) => prop_assert!(nos.len() >= 2),
            Ok(Resolved::One(_) | Resolved::Nothing) => {}
            other => prop_assert!(false, "every number is a fine here: {:?}", other),
        }
    }

    #[test]
    fn any_texts_of_digits_and_rf_pieces_are_read_without_a_panic(
        texts in proptest::collection::vec("([rR][fF]|[0-9]{1,19}| |[A-Z])*", 0..4),
    ) {
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let _ = find_decision_no(&texts);
    }

    #[test]
    fn one_bare_number_among_text_without_digits_is_found(
        no in decision_no(),
        before in no_digits(),
        after in no_digits(),
        others in proptest::collection::vec(no_digits(), 0..3),
        at in any::<prop::sample::Index>(),
    ) {
        let text = format!("{before}{no}{after}");
        let mut texts: Vec<&str> = others.iter().map(String::as_str).collect();
        texts.insert(at.index(texts.len() + 1), &text);
        prop_assert_eq!(find_decision_no(&texts), Named { rf: vec![], bare: vec![no] });
    }

    #[test]
    fn one_rf_reference_among_text_without_digits_is_found(
        no in decision_no(),
        before in no_digits(),
        after in no_digits(),
        grouped in any::<bool>(),
    ) {
        let rf = rf_for_decision(&no);
        let rf = if grouped {
            rf.as_bytes().chunks(4).map(|group| std::str::from_utf8(group).expect("ASCII")).collect::<Vec<_>>().join(" ")
        } else {
            rf
        };
        // A reference starts a word and ends one: glued to letters it would be another word.
        let text = format!("{before} {rf} {after}");
        let named = find_decision_no(&[text.as_str()]);
        prop_assert_eq!(named.sole(), Some(&no));
    }
}
