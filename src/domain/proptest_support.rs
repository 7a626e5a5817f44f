//! What the property tests across the crate share: their configuration (no regression files
//! written into the tree) and a generator of decision numbers as finepay issues them.

use super::{DecisionNo, DistrictCode};
use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::test_runner::Config;

/// `cases` cases, and a failing case reported, never persisted as a file.
pub(crate) fn cases(cases: u32) -> Config {
    Config { failure_persistence: None, ..Config::with_cases(cases) }
}

/// A district code: six digits, no leading zero.
pub(crate) fn district() -> impl Strategy<Value = DistrictCode> {
    "[1-9][0-9]{5}".prop_map(|code| DistrictCode::parse(&code).expect("six digits, no leading zero"))
}

/// A date from 1990 on, over about 160 years.
pub(crate) fn date() -> impl Strategy<Value = NaiveDate> {
    let first = NaiveDate::from_ymd_opt(1990, 1, 1).expect("a date");
    (0u64..60_000).prop_map(move |n| first + chrono::Days::new(n))
}

/// A decision number as finepay issues it.
pub(crate) fn decision_no() -> impl Strategy<Value = DecisionNo> {
    (district(), date(), 1..=super::decision_no::MAX_SERIAL)
        .prop_map(|(district, date, serial)| DecisionNo::new(&district, date, serial).expect("serial in range"))
}
