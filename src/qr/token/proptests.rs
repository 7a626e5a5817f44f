//! Property tests of the pay-page token, which anyone can type into a URL: no text makes the
//! verifier panic or accept it unless finepay signed it; every token signed for a decision number
//! verifies back to that number in either case and after key rotation; and changing any one
//! character of a token makes it worthless.

use super::{QrSigner, TOKEN_LEN};
use crate::domain::Secret;
use crate::domain::proptest_support::{cases, decision_no};
use proptest::prelude::*;
use std::collections::BTreeMap;

const BASE32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A signer whose keys are `ids`, each 32 bytes of its own id.
fn signer(current: u8, ids: &[u8]) -> QrSigner {
    let keys: BTreeMap<u8, Secret> = ids.iter().map(|id| (*id, Secret::new(vec![*id; 32]))).collect();
    QrSigner::new(current, &keys)
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_text_is_refused_never_a_panic(token in "\\PC{0,40}") {
        prop_assert_eq!(signer(1, &[1, 2]).verify(&token), None);
    }

    #[test]
    fn any_token_shaped_text_is_refused(token in "[A-Z2-7a-z]{31}") {
        prop_assert_eq!(token.len(), TOKEN_LEN);
        prop_assert_eq!(signer(1, &[1, 2]).verify(&token), None);
    }

    #[test]
    fn a_signed_token_verifies_back_to_its_number_in_either_case(no in decision_no(), key in 1u8..=255) {
        let signer = signer(key, &[key]);
        let token = signer.sign_with(&no, key).expect("the key is configured");
        prop_assert_eq!(token.len(), TOKEN_LEN);
        prop_assert!(token.chars().all(|c| BASE32.contains(c)));
        prop_assert_eq!(signer.verify(&token), Some(no.clone()));
        prop_assert_eq!(signer.verify(&token.to_ascii_lowercase()), Some(no));
    }

    #[test]
    fn a_token_keeps_verifying_after_rotation_and_not_once_its_key_is_gone(
        no in decision_no(),
        old in 1u8..=127,
        new in 128u8..=255,
    ) {
        let printed = signer(old, &[old]).sign_with(&no, old).expect("key old");
        prop_assert_eq!(signer(new, &[old, new]).verify(&printed), Some(no.clone()));
        prop_assert_eq!(signer(new, &[new]).verify(&printed), None);
        prop_assert_eq!(signer(new, &[new]).sign_with(&no, old), None);
    }

    #[test]
    fn changing_any_one_character_of_a_token_makes_it_worthless(
        no in decision_no(),
        at in 0..TOKEN_LEN,
        replacement in prop::sample::select(BASE32.chars().collect::<Vec<_>>()),
        lower in any::<bool>(),
    ) {
        let signer = signer(1, &[1]);
        let token = signer.sign_with(&no, 1).expect("key 1");
        let mut chars: Vec<char> = token.chars().collect();
        prop_assume!(chars[at] != replacement);
        chars[at] = replacement;
        let damaged: String = chars.into_iter().collect();
        let damaged = if lower { damaged.to_ascii_lowercase() } else { damaged };
        prop_assert_eq!(signer.verify(&damaged), None);
    }
}
