//! Which fine a bank transfer pays, read from its remittance texts: the RF references built from
//! decision numbers and the bare 19-digit decision numbers in them. Both carry check digits, so a
//! mistyped number matches nothing rather than another person's fine; and a transfer that names
//! two fines pays neither until a person has looked.

use crate::domain::DecisionNo;
use crate::domain::rf_reference::parse_rf;

/// `RF`, two check digits and the 19 digits of a decision number.
const RF_DECISION_LEN: usize = 23;
const DECISION_LEN: usize = 19;

/// The fines a transfer's remittance texts may name, each once: the decision numbers of its RF
/// references, then its bare numbers (those no RF reference named already), in the order written.
/// A number's own check digits let one random 19-digit number in 97 through (a card or account
/// number in the same text), so which of them are fines is decided against the fines finepay has
/// ([`Named::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Named {
    pub rf: Vec<DecisionNo>,
    pub bare: Vec<DecisionNo>,
}

/// Which fine a transfer pays, once it is known which of the numbers it names are fines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Resolved<'a> {
    /// It names no decision number.
    Nothing,
    /// It names numbers, none of them a fine here: the first, kept in the exception.
    Unknown(&'a DecisionNo),
    One(&'a DecisionNo),
    /// Two or more fines, as strongly named: it pays none of them until a person has looked.
    Several(Vec<&'a DecisionNo>),
}

impl Named {
    /// Every number named, RF references first.
    pub(super) fn candidates(&self) -> impl Iterator<Item = &DecisionNo> {
        self.rf.iter().chain(&self.bare)
    }

    /// The one number named, when exactly one is.
    #[cfg(test)]
    pub(super) fn sole(&self) -> Option<&DecisionNo> {
        let mut candidates = self.candidates();
        let first = candidates.next();
        if candidates.next().is_some() { None } else { first }
    }

    /// Which fine it pays, `is_fine` saying which numbers are fines. An RF reference is the
    /// structured form the payer's bank checked: one that names a fine wins over bare numbers;
    /// two that name different fines, or (without one) two bare numbers of fines, pay neither.
    pub(super) fn resolve<E>(
        &self,
        mut is_fine: impl FnMut(&DecisionNo) -> Result<bool, E>,
    ) -> Result<Resolved<'_>, E> {
        for tier in [&self.rf, &self.bare] {
            let mut fines = Vec::new();
            for no in tier {
                if is_fine(no)? {
                    fines.push(no);
                }
            }
            match fines.len() {
                0 => {}
                1 => return Ok(Resolved::One(fines[0])),
                _ => return Ok(Resolved::Several(fines)),
            }
        }
        Ok(self.candidates().next().map_or(Resolved::Nothing, Resolved::Unknown))
    }
}

/// The numbers `texts` (in the statement's order: structured reference first) name: every valid
/// RF reference and bare number in every text; a number written twice (as an RF reference and
/// bare, say) counts once, as the stronger.
pub(super) fn find_decision_no(texts: &[&str]) -> Named {
    let mut named = Named::default();
    for no in texts.iter().flat_map(|text| rf_in(text)) {
        if !named.rf.contains(&no) {
            named.rf.push(no);
        }
    }
    for no in texts.iter().flat_map(|text| bare_in(text)) {
        if !named.rf.contains(&no) && !named.bare.contains(&no) {
            named.bare.push(no);
        }
    }
    named
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
            let every_number_a_fine = found.resolve(|_| Ok::<_, ()>(true)).expect("resolved");
            let paid = match every_number_a_fine {
                Resolved::One(no) => Some(no.as_str()),
                _ => None,
            };
            assert_eq!(paid, expected, "{name}");
        }
    }

    #[test]
    fn a_transfer_naming_two_fines_pays_neither_but_a_stray_number_is_no_fine() {
        let no = |text: &str| DecisionNo::parse(text).expect("a valid number");
        let (n176, n273) = (no(NO_176), no(NO_273));
        let rf_273 = crate::domain::rf_reference::rf_for_decision(&n273);
        let two_rf = format!("RF741101052611210000176 and {rf_273}");
        // (texts, which numbers are fines here, what the transfer pays)
        let cases: [(&str, Vec<&str>, &[&str], Resolved<'_>); 7] = [
            (
                "two bare fines",
                vec!["1101052611210000176 1101052611210000273"],
                &[NO_176, NO_273],
                Resolved::Several(vec![&n176, &n273]),
            ),
            ("two texts", vec![NO_273, NO_176], &[NO_176, NO_273], Resolved::Several(vec![&n273, &n176])),
            ("two RF references", vec![two_rf.as_str()], &[NO_176, NO_273], Resolved::Several(vec![&n176, &n273])),
            (
                "an RF reference beats a bare fine",
                vec![NO_273, "RF741101052611210000176"],
                &[NO_176, NO_273],
                Resolved::One(&n176),
            ),
            (
                "a bare number that is no fine (a card number)",
                vec!["1101052611210000176 1101052611210000273"],
                &[NO_176],
                Resolved::One(&n176),
            ),
            (
                "an RF reference of no fine leaves the bare fine",
                vec!["RF741101052611210000176", NO_273],
                &[NO_273],
                Resolved::One(&n273),
            ),
            (
                "no fine at all: the first number, for the exception",
                vec![NO_273, NO_176],
                &[],
                Resolved::Unknown(&n273),
            ),
        ];
        for (name, texts, fines, expected) in cases {
            let named = find_decision_no(&texts);
            let resolved = named.resolve(|no| Ok::<_, ()>(fines.contains(&no.as_str()))).expect("resolved");
            assert_eq!(resolved, expected, "{name}");
        }
        assert_eq!(find_decision_no(&["no number"]).resolve(|_| Ok::<_, ()>(true)), Ok(Resolved::Nothing));
    }

    #[test]
    fn an_invalid_rf_still_leaves_its_digits_to_the_bare_search() {
        // The payer typed the RF check digits wrong but the decision number right: its own check
        // digits make it trustworthy on its own.
        assert_eq!(find_decision_no(&["RF00 1101052611210000176"]).sole().map(DecisionNo::as_str), Some(NO_176));
    }
}
