//! Property tests of number plates, typed by officers in a hurry: parsing any text never panics,
//! every plate of the documented shape (province, authority letter, 5 or 6 letters or digits, no
//! I or O) parses to itself, also typed in lower case with spaces around it, and masking any text
//! never panics and keeps its length in characters.

use super::{Plate, PlateError, mask_plate, valid_plate_type};
use crate::domain::proptest_support::cases;
use proptest::prelude::*;

const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// A plate of the shape `plate.rs` documents.
fn plate() -> impl Strategy<Value = String> {
    let provinces: Vec<char> = PROVINCES.chars().collect();
    (prop::sample::select(provinces), "[A-HJ-NP-Z]", "[A-HJ-NP-Z0-9]{5,6}")
        .prop_map(|(province, authority, serial)| format!("{province}{authority}{serial}"))
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_text_parses_or_is_refused_never_a_panic(raw in "\\PC*") {
        if let Ok(plate) = Plate::parse(&raw) {
            prop_assert!((7..=8).contains(&plate.as_str().chars().count()));
        }
    }

    #[test]
    fn any_text_after_a_province_parses_or_is_refused_never_a_panic(
        province in prop::sample::select(PROVINCES.chars().collect::<Vec<_>>()),
        rest in "\\PC{0,10}",
    ) {
        match Plate::parse(&format!("{province}{rest}")) {
            Ok(_) | Err(PlateError::Authority | PlateError::Serial) => {}
            Err(PlateError::Province) => prop_assert!(false, "a province character starts the plate"),
        }
    }

    #[test]
    fn a_plate_of_the_documented_shape_parses_to_itself(plate in plate()) {
        prop_assert_eq!(Plate::parse(&plate).map(|p| p.to_string()), Ok(plate));
    }

    #[test]
    fn a_plate_typed_in_lower_case_with_spaces_around_parses_upper_cased(
        plate in plate(),
        before in " {0,3}",
        after in " {0,3}",
    ) {
        let typed = format!("{before}{}{after}", plate.to_lowercase());
        prop_assert_eq!(Plate::parse(&typed).map(|p| p.to_string()), Ok(plate));
    }

    #[test]
    fn an_i_or_o_in_a_plate_is_refused(plate in plate(), at in 1usize..7, letter in prop::sample::select(vec!['I', 'O'])) {
        let mut chars: Vec<char> = plate.chars().collect();
        chars[at] = letter;
        let typed: String = chars.into_iter().collect();
        prop_assert!(Plate::parse(&typed).is_err());
    }

    #[test]
    fn masking_any_text_never_panics_and_keeps_its_length(raw in "\\PC{0,20}") {
        let masked = mask_plate(&raw);
        prop_assert_eq!(masked.chars().count(), raw.chars().count());
        let _ = valid_plate_type(&raw);
    }
}
