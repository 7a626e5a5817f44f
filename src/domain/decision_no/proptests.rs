//! Property tests of decision numbers, which arrive typed at bank counters, in lookups and in
//! remittance texts: parsing any text never panics and accepts only what it documents (19 digits
//! whose MOD 97-10 check holds, surrounding spaces ignored); every number `new` builds parses back
//! and survives the u64 form QR tokens carry; and a single mistyped digit is always refused.

use super::{DecisionNo, DecisionNoError, MAX_SERIAL};
use crate::domain::proptest_support::{cases, date, decision_no, district};
use proptest::prelude::*;

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_text_parses_or_is_refused_never_a_panic(raw in "\\PC*") {
        if let Ok(no) = DecisionNo::parse(&raw) {
            prop_assert_eq!(no.as_str(), raw.trim());
            prop_assert_eq!(no.as_str().len(), 19);
        }
    }

    #[test]
    fn any_nineteen_digits_parse_exactly_when_their_check_holds(digits in "[0-9]{19}") {
        match DecisionNo::parse(&digits) {
            Ok(no) => prop_assert_eq!(no.as_str(), digits.as_str()),
            Err(error) => prop_assert_eq!(error, DecisionNoError::CheckDigits),
        }
    }

    #[test]
    fn any_u64_converts_or_is_refused_and_a_converted_one_round_trips(value in any::<u64>()) {
        if let Ok(no) = DecisionNo::from_u64(value) {
            prop_assert_eq!(no.to_u64(), value);
        }
    }

    #[test]
    fn a_built_number_parses_back_to_itself(
        district in district(),
        date in date(),
        serial in 1..=MAX_SERIAL,
        spaces in (" {0,3}", " {0,3}"),
    ) {
        let no = DecisionNo::new(&district, date, serial).expect("serial in range");
        prop_assert_eq!(no.as_str().len(), 19);
        prop_assert_eq!(no.district(), district.as_str());
        prop_assert_eq!(DecisionNo::parse(no.as_str()), Ok(no.clone()));
        prop_assert_eq!(DecisionNo::parse(&format!("{}{}{}", spaces.0, no, spaces.1)), Ok(no.clone()));
        prop_assert_eq!(DecisionNo::from_u64(no.to_u64()), Ok(no));
    }

    #[test]
    fn a_serial_outside_five_digits_is_refused(district in district(), date in date(), serial in prop_oneof![Just(0u32), MAX_SERIAL + 1..]) {
        prop_assert_eq!(DecisionNo::new(&district, date, serial), Err(DecisionNoError::SerialOutOfRange(serial)));
    }

    #[test]
    fn one_mistyped_digit_is_always_refused(no in decision_no(), at in 0usize..19, digit in 0u8..10) {
        let mut typed = no.as_str().as_bytes().to_vec();
        prop_assume!(typed[at] != b'0' + digit);
        typed[at] = b'0' + digit;
        let typed = String::from_utf8(typed).expect("digits");
        prop_assert_eq!(DecisionNo::parse(&typed), Err(DecisionNoError::CheckDigits));
    }

    #[test]
    fn two_swapped_adjacent_digits_are_always_refused(no in decision_no(), at in 0usize..18) {
        let mut typed = no.as_str().as_bytes().to_vec();
        prop_assume!(typed[at] != typed[at + 1]);
        typed.swap(at, at + 1);
        let typed = String::from_utf8(typed).expect("digits");
        prop_assert_eq!(DecisionNo::parse(&typed), Err(DecisionNoError::CheckDigits));
    }
}
