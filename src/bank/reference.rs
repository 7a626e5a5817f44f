//! Which fine a bank transfer pays, read from its remittance texts: the RF references built from
//! decision numbers and the bare 19-digit decision numbers in them. Both carry check digits, so a
//! mistyped number matches nothing rather than another person's fine; and a transfer that names
//! two fines pays neither until a person has looked.

use crate::domain::DecisionNo;
use crate::domain::rf_reference::parse_rf;

/// `RF`, two check digits and the 19 digits of a decision number.
const RF_DECISION_LEN: usize = 23;
const DECISION_LEN: usize = 19;

/// The fines a transfer's remittance texts name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Named {
    Nothing,
    One(DecisionNo),
    /// Two or more different fines, RF references first, in the order written.
    Several(Vec<DecisionNo>),
}

impl Named {
    pub(super) fn one(&self) -> Option<&DecisionNo> {
        match self {
            Named::One(no) => Some(no),
            Named::Nothing | Named::Several(_) => None,
        }
    }
}

/// The fines `texts` (in the statement's order: structured reference first) name, counting every
/// valid RF reference and bare number in every text; a number written twice (as an RF reference
/// and bare, say) is one fine.
pub(super) fn find_decision_no(texts: &[&str]) -> Named {
    let mut named: Vec<DecisionNo> = Vec::new();
    let found = texts.iter().flat_map(|text| rf_in(text)).chain(texts.iter().flat_map(|text| bare_in(text)));
    for no in found {
        if !named.contains(&no) {
            named.push(no);
        }
    }
    match named.len() {
        0 => Named::Nothing,
        1 => Named::One(named.remove(0)),
        _ => Named::Several(named),
    }
}

/// The RF references in `text` whose reference is a valid decision number. A reference starts a
/// word: the `RF` in "SERF74…" is not one.
fn rf_in(text: &str) -> impl Iterator<Item = DecisionNo> + '_ {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(1))
        .filter(move |&i| {
            bytes[i].eq_ignore_ascii_case(&b'R')
                && bytes[i + 1].eq_ignore_ascii_case(&b'F')
                && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
        })
        .filter_map(move |i| rf_at(&bytes[i..]))
}

/// The RF reference at the start of `bytes`, unspaced or printed in groups ("RF74 1101 0526 1121
/// 0000 176"). Its 23 characters must end where a group ends, so that a longer reference or a
/// word glued to it is not cut to a valid-looking prefix.
fn rf_at(bytes: &[u8]) -> Option<DecisionNo> {
    let mut compact = [0u8; RF_DECISION_LEN];
    let (mut len, mut i) = (0, 0);
    while len < RF_DECISION_LEN {
        match bytes.get(i) {
            Some(b) if b.is_ascii_alphanumeric() => {
                compact[len] = *b;
                len += 1;
            }
            Some(b' ') => {}
            _ => return None,
        }
        i += 1;
    }
    if bytes.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let reference = parse_rf(std::str::from_utf8(&compact).ok()?).ok()?;
    DecisionNo::parse(&reference).ok()
}

/// The runs of exactly 19 ASCII digits (not part of a longer run) that are valid numbers.
fn bare_in(text: &str) -> Vec<DecisionNo> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i - start == DECISION_LEN
            && let Ok(no) = DecisionNo::parse(&text[start..i])
        {
            found.push(no);
        }
    }
    found
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    const NO_176: &str = "1101052611210000176";
    const NO_273: &str = "1101052611210000273";

    #[test]
    fn finds_the_fine_a_transfer_names() {
        let cases: [(&str, &[&str], Option<&str>); 18] = [
            ("structured ref alone", &["RF741101052611210000176"], Some(NO_176)),
            ("structured ref in lower case", &["rf741101052611210000176"], Some(NO_176)),
            ("RF grouped in free text", &["Fine RF74 1101 0526 1121 0000 176 thanks"], Some(NO_176)),
            ("RF glued to punctuation", &["ref:RF741101052611210000176."], Some(NO_176)),
            ("bare number in text", &["罚款 1101052611210000176 张三"], Some(NO_176)),
            ("bare number glued to letters", &["NO.1101052611210000176X"], Some(NO_176)),
            ("bad check digits", &["pay 1101052611210000177"], None),
            ("bad check digits, then a good one", &["1101052611210000177 or 1101052611210000273"], Some(NO_273)),
            ("20-digit run", &["11010526112100001760"], None),
            ("20-digit run around a valid number", &["01101052611210000176"], None),
            ("empty", &[], None),
            ("empty text", &[""], None),
            ("RF with wrong check digits", &["RF75 1101 0526 1121 0000 176x"], None),
            ("RF cut short by a glued word", &["RF74 1101 0526 1121 0000 1769"], None),
            ("RF inside a word", &["SERF741101052611210000176X"], None),
            ("the same number as RF and bare", &["RF74 1101052611210000176", "1101052611210000176"], Some(NO_176)),
            ("the same number twice", &["1101052611210000176 1101052611210000176"], Some(NO_176)),
            ("RF of a reference that is no decision number", &["RF18 5390 0754 7034"], None),
        ];
        for (name, texts, expected) in cases {
            let found = find_decision_no(texts);
            assert_eq!(found.one().map(DecisionNo::as_str), expected, "{name}");
        }
    }

    #[test]
    fn a_transfer_naming_two_fines_names_neither_alone() {
        let several = |nos: &[&str]| {
            Named::Several(nos.iter().map(|no| DecisionNo::parse(no).expect("a valid number")).collect())
        };
        let cases: [(&str, &[&str], Named); 3] = [
            ("two bare numbers in one text", &["1101052611210000176 1101052611210000273"], several(&[NO_176, NO_273])),
            ("two texts", &[NO_273, NO_176], several(&[NO_273, NO_176])),
            ("an RF and a different bare number", &[NO_273, "RF741101052611210000176"], several(&[NO_176, NO_273])),
        ];
        for (name, texts, expected) in cases {
            assert_eq!(find_decision_no(texts), expected, "{name}");
        }
        // Two RF references, each of a valid number.
        let rf_273 = crate::domain::rf_reference::rf_for_decision(&DecisionNo::parse(NO_273).expect("valid"));
        let text = format!("RF741101052611210000176 and {rf_273}");
        assert_eq!(find_decision_no(&[text.as_str()]), several(&[NO_176, NO_273]));
    }

    #[test]
    fn an_invalid_rf_still_leaves_its_digits_to_the_bare_search() {
        // The payer typed the RF check digits wrong but the decision number right: its own check
        // digits make it trustworthy on its own.
        assert_eq!(find_decision_no(&["RF00 1101052611210000176"]).one().map(DecisionNo::as_str), Some(NO_176));
    }
}
