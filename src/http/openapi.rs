//! The OpenAPI document for every endpoint, written by hand next to the routes and checked
//! against them by a test, so that it cannot silently fall behind.

pub(super) const DOCUMENT: &str = include_str!("openapi.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_every_route_and_nothing_else() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("the document is JSON");
        let paths = doc["paths"].as_object().expect("paths");
        for (method, path) in super::super::ROUTES {
            assert!(paths.get(*path).and_then(|p| p.get(*method)).is_some(), "{method} {path} is not documented");
        }
        let documented = paths.values().map(|p| p.as_object().map_or(0, |m| m.len())).sum::<usize>();
        assert_eq!(documented, super::super::ROUTES.len(), "the document describes routes finepay does not serve");
    }
}
