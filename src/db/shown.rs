//! How stored rows are shown when they are serialised for people and scripts (the admin API,
//! `finepay jobs run`): times, stored as naive UTC, as RFC 3339 in Beijing time with the offset,
//! never a bare UTC time beside `+08:00` ones; JSON stored as text, as the JSON it holds.

use crate::domain::time::{rfc3339, utc};
use chrono::NaiveDateTime;
use serde::{Serialize, Serializer};

/// A stored time as `2026-11-21T09:31:02+08:00`.
pub(crate) fn beijing<S: Serializer>(at: &NaiveDateTime, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(&rfc3339(utc(*at)))
}

/// As [`beijing`], for a time that may be absent.
pub(crate) fn beijing_opt<S: Serializer>(at: &Option<NaiveDateTime>, out: S) -> Result<S::Ok, S::Error> {
    at.map(|at| rfc3339(utc(at))).serialize(out)
}

/// Stored JSON text (a `details` column, a report) as the JSON it holds; text that is not JSON
/// (no writer stores any) as the string it is rather than lost.
pub(crate) fn json_value(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
}

/// Serialises stored JSON text as [`json_value`] reads it.
pub(crate) fn json_text<S: Serializer>(text: &str, out: S) -> Result<S::Ok, S::Error> {
    json_value(text).serialize(out)
}

/// As [`json_text`], for text that may be absent.
pub(crate) fn json_text_opt<S: Serializer>(text: &Option<String>, out: S) -> Result<S::Ok, S::Error> {
    match text {
        Some(text) => json_text(text, out),
        None => out.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        #[serde(serialize_with = "beijing")]
        at: NaiveDateTime,
        #[serde(serialize_with = "beijing_opt")]
        never: Option<NaiveDateTime>,
        #[serde(serialize_with = "json_text")]
        details: String,
        #[serde(serialize_with = "json_text_opt")]
        outcome: Option<String>,
    }

    #[test]
    fn rows_show_beijing_times_and_json_as_json() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).and_then(|d| d.and_hms_opt(1, 31, 2)).expect("time");
        let row = Row { at, never: None, details: r#"{"a":1}"#.into(), outcome: Some("not json".into()) };
        let shown = serde_json::to_value(&row).expect("serialised");
        assert_eq!(
            shown,
            serde_json::json!({"at": "2026-11-21T09:31:02+08:00", "never": null, "details": {"a": 1}, "outcome": "not json"})
        );
    }
}
