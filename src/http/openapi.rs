//! The OpenAPI document for every endpoint, written by hand next to the routes and checked by
//! tests against the route table the server is configured from and against the error codes the
//! handlers answer with, so that it cannot silently fall behind.

pub(super) const DOCUMENT: &str = include_str!("openapi.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_every_route_and_nothing_else() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("the document is JSON");
        let paths = doc["paths"].as_object().expect("paths");
        let served: Vec<_> = super::super::ROUTES.iter().filter(|route| route.documented).collect();
        for route in &served {
            let (method, path) = (route.method, route.path);
            assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not documented");
        }
        let documented = paths.values().map(|p| p.as_object().map_or(0, |m| m.len())).sum::<usize>();
        assert_eq!(documented, served.len(), "the document describes routes finepay does not serve");
    }

    /// Every `code` a handler can answer with (`ApiError::new(StatusCode::…, "code", …)`, the
    /// mapping arms `(S::…, "code", …)`, `code: "…"` fields) is in the document's list.
    #[test]
    fn lists_every_error_code_the_handlers_answer_with() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("the document is JSON");
        let listed: Vec<&str> =
            doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
                .as_array()
                .expect("the code list")
                .iter()
                .filter_map(|code| code.as_str())
                .collect();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
        let mut used = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(dir).expect("src/http").flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            used.extend(codes_after_a_status(&text));
            used.extend(
                text.split("code: \"")
                    .skip(1)
                    .filter_map(|rest| rest.split_once('"'))
                    .map(|(code, _)| code.to_owned())
                    .filter(|code| !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_')),
            );
        }
        assert!(used.len() > 10, "the scan finds the codes: {used:?}");
        let missing: Vec<_> = used.iter().filter(|code| !listed.contains(&code.as_str())).collect();
        assert!(missing.is_empty(), "error codes the document does not list: {missing:?}");
    }

    /// The string literal that follows `StatusCode::NAME,` or `S::NAME,` wherever one does.
    fn codes_after_a_status(text: &str) -> Vec<String> {
        let mut codes = Vec::new();
        for (at, _) in text.match_indices("::") {
            let before = &text[..at];
            if !(before.ends_with("StatusCode") || before.ends_with(" S") || before.ends_with("(S")) {
                continue;
            }
            let rest = &text[at + 2..];
            let name_len = rest.chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').count();
            let after = rest[name_len..].trim_start();
            let Some(after) = after.strip_prefix(',') else { continue };
            let Some(literal) = after.trim_start().strip_prefix('"') else { continue };
            let code: String = literal.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if literal[code.len()..].starts_with('"') && !code.is_empty() {
                codes.push(code);
            }
        }
        codes
    }
}
