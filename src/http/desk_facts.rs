//! The facts finepay recorded with an audit entry or an exception (a JSON object), as the desk
//! shows them: one line of `name: value`, amounts in yuan, nested objects' fields by their path.

use crate::domain::Fen;
use crate::domain::money::format_yuan;

fn yuan(fen: i64) -> String {
    format_yuan(Fen(fen))
}

/// Recorded facts (an audit entry's or an exception's details) as one line: `key: value`, amounts in yuan, a nested object's fields
/// named by their path (`payment.channel: wechat`).
pub(super) fn one_line(details: &serde_json::Value) -> String {
    let mut out = Vec::new();
    collect_facts("", details, &mut out);
    out.join("; ")
}

fn collect_facts(path: &str, value: &serde_json::Value, out: &mut Vec<String>) {
    let Some(fields) = value.as_object() else { return };
    for (key, value) in fields {
        let name = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        match (name.strip_suffix("_fen"), value) {
            (_, serde_json::Value::Null) => {}
            (_, serde_json::Value::Object(_)) => collect_facts(&name, value, out),
            (Some(amount), serde_json::Value::Number(n)) if n.is_i64() => {
                out.push(format!("{amount}: {}", yuan(n.as_i64().unwrap_or_default())))
            }
            (_, serde_json::Value::String(text)) => out.push(format!("{name}: {text}")),
            _ => out.push(format!("{name}: {value}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entrys_facts_read_as_one_line_with_amounts_in_yuan() {
        let details = serde_json::json!({"channel": "wechat", "amount_fen": 20000, "none": null, "n": 2,
            "payment": {"paid_at": "2026-12-06T21:13:54+08:00", "amount_fen": 1}});
        assert_eq!(
            one_line(&details),
            "amount: ¥200.00; channel: wechat; n: 2; payment.amount: ¥0.01; payment.paid_at: 2026-12-06T21:13:54+08:00"
        );
        assert_eq!(one_line(&serde_json::json!("text")), "");
    }
}
