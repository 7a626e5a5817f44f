//! Property tests of the quick shape check a bearer token passes before it is hashed and looked
//! up: any text is answered without a panic, every token of the shape `create` makes is
//! plausible, and nothing of another length or prefix is.

use super::plausible_token;
use crate::domain::proptest_support::cases;
use proptest::prelude::*;

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_text_is_answered_never_a_panic(token in "\\PC*") {
        if plausible_token(&token) {
            prop_assert_eq!(token.len(), 36);
            prop_assert!(token.starts_with("fp"));
        }
    }

    #[test]
    fn a_token_of_the_shape_create_makes_is_plausible(role in "[oba]", secret in "[a-z2-7]{32}") {
        let token = format!("fp{role}_{secret}");
        prop_assert!(plausible_token(&token), "{} is of the documented shape", token);
    }

    #[test]
    fn a_token_with_another_prefix_or_length_is_not(
        prefix in "[a-z]{2,4}",
        secret in "[a-z2-7]{0,40}",
    ) {
        prop_assume!(!matches!(prefix.as_str(), "fpo" | "fpb" | "fpa") || secret.len() != 32);
        let token = format!("{prefix}_{secret}");
        prop_assert!(!plausible_token(&token), "{} is not", token);
    }
}
