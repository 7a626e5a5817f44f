//! The XML namespaces of a camt document, resolved by hand. The reader only asks whether an
//! element is in the document's camt namespace; answering just that, and looking at attributes
//! only when a tag declares a namespace, costs little, where quick-xml's general resolver
//! (`NsReader`) doubled the time of a whole parse.

use quick_xml::events::BytesStart;

/// A prefix (empty for the default namespace) declared by the element at `depth`.
struct Binding {
    depth: usize,
    prefix: Vec<u8>,
    camt: bool,
}

#[derive(Default)]
pub(super) struct Namespaces {
    camt: Vec<u8>,
    /// In document order; a tag's size caps what one element can add, and nesting is capped.
    bindings: Vec<Binding>,
}

impl Namespaces {
    /// The namespace the root element `start` declares for itself, which names the message.
    pub(super) fn declared_by_root(start: &BytesStart) -> Option<Vec<u8>> {
        let name = start.name();
        let own = name.prefix().map(|prefix| prefix.as_ref().to_vec()).unwrap_or_default();
        declarations(start).find_map(|(prefix, namespace)| (prefix == own).then(|| namespace.to_vec()))
    }

    pub(super) fn set_camt(&mut self, namespace: Vec<u8>) {
        self.camt = namespace;
    }

    /// Records what the element `start`, at `depth` (the root is 1), declares, and says whether
    /// it is itself in the camt namespace.
    pub(super) fn enter(&mut self, depth: usize, start: &BytesStart) -> bool {
        // Most camt tags have no attributes at all, and few of the rest declare anything.
        if contains(start.attributes_raw(), b"xmlns") {
            for (prefix, namespace) in declarations(start) {
                let camt = namespace == self.camt.as_slice();
                self.bindings.push(Binding { depth, prefix: prefix.to_vec(), camt });
            }
        }
        let name = start.name();
        let prefix = name.prefix();
        let prefix = prefix.as_ref().map_or(&b""[..], |prefix| prefix.as_ref());
        // Compared byte by byte: prefixes are a few bytes, too short to be worth a memcmp call.
        let same = |binding: &&Binding| binding.prefix.len() == prefix.len() && binding.prefix.iter().eq(prefix);
        self.bindings.iter().rev().find(same).is_some_and(|binding| binding.camt)
    }

    /// Forgets what the element at `depth` declared, as it closes.
    pub(super) fn leave(&mut self, depth: usize) {
        while self.bindings.last().is_some_and(|binding| binding.depth >= depth) {
            self.bindings.pop();
        }
    }
}

/// The `(prefix, namespace)` pairs `start` declares; attributes too broken to read declare nothing
/// (quick-xml refuses the tag itself when its attributes are malformed XML).
fn declarations<'a>(start: &'a BytesStart<'a>) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + 'a {
    start.attributes().map_while(Result::ok).filter_map(|attribute| {
        let key = attribute.key.as_ref();
        let prefix = if key == b"xmlns" { Some(&b""[..]) } else { key.strip_prefix(b"xmlns:") };
        prefix.map(|prefix| (prefix.to_vec(), attribute.value.to_vec()))
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window.iter().eq(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_default_and_prefixed_namespaces_by_scope() {
        let tag = |text: &'static str| BytesStart::from_content(text, text.find(' ').unwrap_or(text.len()));
        let root = tag(r#"c:Document xmlns:c="urn:camt" xmlns="urn:other""#);
        let mut namespaces = Namespaces::default();
        namespaces.set_camt(Namespaces::declared_by_root(&root).unwrap_or_default());
        assert!(namespaces.enter(1, &root));
        assert!(!namespaces.enter(2, &tag("Stmt")), "the default namespace is another one");
        assert!(namespaces.enter(2, &tag("c:Stmt")));
        assert!(namespaces.enter(3, &tag(r#"Ntry xmlns="urn:camt""#)));
        assert!(namespaces.enter(4, &tag("Amt")), "inherits its parent's default");
        namespaces.leave(3);
        assert!(!namespaces.enter(3, &tag("Ntry")), "the declaration went with its element");
        assert!(!namespaces.enter(3, &tag("x:Ntry")), "an undeclared prefix is no namespace of ours");
    }
}
