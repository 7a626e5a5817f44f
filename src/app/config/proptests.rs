//! Property tests of reading the configuration, whose values come from files, environment
//! variables and command lines that people type: the duration helpers answer any text without a
//! panic (and `positive` never lets zero through), every duration they print reads back the same,
//! and loading the settings with any value for a handful of keys ends in `Ok` or `Err`, never in
//! a panic.

use super::{Settings, parse_duration, positive};
use crate::domain::proptest_support::cases;
use proptest::prelude::*;
use std::time::Duration;

/// Keys whose values are parsed or checked by finepay itself, and read nothing from disk.
const KEYS: &[&str] = &[
    "database.url",
    "database.pool_size",
    "database.connect_timeout",
    "server.public_base_url",
    "server.max_body_bytes",
    "server.body_timeout",
    "server.client_address_header",
    "qr.validity",
    "qr.policy",
    "qr.business_day_end",
    "qr.current_key",
    "qr.keys.1",
    "lookup.window",
    "lookup.attempts_per_address",
    "channels.timeout",
    "jobs.expire",
    "scheduler.lease",
    "bank.surcharge_rounding",
    "bank.import_batch",
];

/// Values people write, and anything at all.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        "[0-9]{1,25}(\\.[0-9]{0,3})?[ ]?(ns|us|ms|s|m|min|h|d|w|M|y|years)?",
        "-?[0-9]{1,22}",
        "https?://[a-zA-Z0-9.:/%$*+-]{0,60}",
        "[0-9*/, -]{0,30}",
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_text_is_a_duration_or_an_error_never_a_panic(raw in value()) {
        let parsed = parse_duration("test.key", &raw).ok();
        match positive("test.key", &raw) {
            Ok(duration) => {
                prop_assert!(!duration.is_zero());
                prop_assert_eq!(Some(duration), parsed);
            }
            Err(_) => prop_assert!(parsed.is_none_or(|d| d.is_zero())),
        }
    }

    #[test]
    fn a_printed_duration_reads_back_the_same(secs in 0u64..10_000_000_000, nanos in 0u32..1_000_000_000, padded in any::<bool>()) {
        let duration = Duration::new(secs, nanos);
        let text = humantime::format_duration(duration).to_string();
        let text = if padded { format!("  {text} ") } else { text };
        prop_assert_eq!(parse_duration("test.key", &text).ok(), Some(duration));
    }

    #[test]
    fn settings_load_or_refuse_any_value_of_a_key_never_a_panic(
        key in prop::sample::select(KEYS),
        value in value(),
    ) {
        // Either outcome is fine; what matters is that there is one.
        let outcome = Settings::load_with_overrides(None, &[(key, value.as_str())]);
        if let Err(error) = outcome {
            prop_assert!(!error.to_string().is_empty());
        }
    }
}
