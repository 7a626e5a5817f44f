//! The house rule "arrows point down", checked on the source: modules form layers, and no file
//! imports from a layer above its own or from a module that imports it back. Only the
//! composition root (`app/`), `main.rs`, the benchmarks and `http/` may name the whole `Settings`,
//! the request state or `crate::http`; `db/` table files do not import each other. A new
//! top-level module must be given its layer here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module's layer: a file may import from its own layer's other modules only when
/// that makes no cycle, and from lower layers freely.
const LAYERS: &[(&str, u8)] = &[
    ("domain", 0),
    ("errors", 0),
    ("db", 1),
    ("qr", 2),
    ("bill", 2),
    ("channels", 2),
    ("credentials", 2),
    ("fines", 3),
    ("payments", 3),
    ("bank", 3),
    ("admin", 3),
    ("jobs", 4),
    ("http", 5),
    ("app", 6),
    ("bench", 7),
];

/// The files of `db/` that are not one table's: the pool, the schema, the writer and their
/// helpers, and the reads that span tables (each named for its reader).
const DB_FILES_NOT_TABLES: &[&str] =
    &["checkpoint", "fixed_shape", "migrate", "pay_page", "pool", "schema", "settings", "writer"];

/// Where the whole configuration, the request state and the HTTP layer may be named.
const MAY_NAME_THE_WHOLE: &[&str] = &["main.rs", "app/", "bench/", "http/"];

#[test]
fn arrows_point_down() {
    let tree = SourceTree::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut problems = Vec::new();
    problems.extend(tree.upward_imports());
    problems.extend(tree.cycles());
    problems.extend(tree.names_of_the_whole());
    problems.extend(tree.table_files_importing_each_other());
    assert!(problems.is_empty(), "the module structure breaks its rules:\n{}", problems.join("\n"));
}

#[test]
fn the_checker_sees_imports_in_every_form() {
    let code = "use crate::{db::{self, fines::FineRow}, domain::Fen};\nuse super::x;\n\
                let a = crate::http::AppState; // crate::bench in a comment\nlet s = \"crate::app\";";
    let paths = imported_paths(&strip_comments_and_strings(code));
    let rendered: BTreeSet<String> = paths.iter().map(|(root, p)| format!("{root}{}", p.join("::"))).collect();
    let expected: BTreeSet<String> =
        ["crate::db", "crate::db::fines::FineRow", "crate::domain::Fen", "super::x", "crate::http::AppState"]
            .into_iter()
            .map(str::to_owned)
            .collect();
    assert_eq!(rendered, expected);
}

/// Every `.rs` file under `src/`, by its module path (`db/fines` for `src/db/fines/mod.rs`).
struct SourceTree {
    files: BTreeMap<Vec<String>, SourceFile>,
}

struct SourceFile {
    /// Relative to `src/`, as the messages name it.
    name: String,
    /// Code without comments and string literals.
    code: String,
}

impl SourceTree {
    fn read(root: PathBuf) -> SourceTree {
        let mut files = BTreeMap::new();
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("src is readable").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let name = path.strip_prefix(&root).expect("under src").to_string_lossy().replace('\\', "/");
                    let text = std::fs::read_to_string(&path).expect("a source file is readable");
                    files.insert(module_path(&name), SourceFile { name, code: strip_comments_and_strings(&text) });
                }
            }
        }
        SourceTree { files }
    }

    /// The modules each file imports from, resolved to files; a file's own ancestors (the
    /// `mod.rs` faces it is declared in) are left out.
    fn edges(&self) -> BTreeMap<&Vec<String>, BTreeSet<&Vec<String>>> {
        let mut edges = BTreeMap::new();
        for (module, file) in &self.files {
            let mut targets = BTreeSet::new();
            for (root, path) in imported_paths(&file.code) {
                let mut full: Vec<String> = match root {
                    "crate::" => Vec::new(),
                    _ => module[..module.len().saturating_sub(1)].to_vec(),
                };
                let mut path = path.as_slice();
                while let Some(rest) = path.strip_prefix(&["super".to_owned()]) {
                    full.pop();
                    path = rest;
                }
                full.extend(path.iter().cloned());
                if let Some(target) = self.resolve(&full)
                    && target != module
                    && !module.starts_with(target)
                {
                    targets.insert(target);
                }
            }
            edges.insert(module, targets);
        }
        edges
    }

    /// The longest known module that `path` starts with.
    fn resolve(&self, path: &[String]) -> Option<&Vec<String>> {
        (1..=path.len()).rev().find_map(|n| self.files.get_key_value(&path[..n]).map(|(k, _)| k))
    }

    fn upward_imports(&self) -> Vec<String> {
        let layer_of = |module: &Vec<String>| -> Option<u8> {
            let top = module.first().map(String::as_str).unwrap_or("lib");
            match top {
                "lib" => Some(u8::MAX),
                "main" => Some(u8::MAX),
                _ => LAYERS.iter().find(|(name, _)| *name == top).map(|(_, layer)| *layer),
            }
        };
        let mut problems = Vec::new();
        for (from, targets) in self.edges() {
            let Some(from_layer) = layer_of(from) else {
                problems.push(format!(
                    "{}: module {:?} has no layer in tests/architecture.rs",
                    self.files[from].name, from[0]
                ));
                continue;
            };
            for to in targets {
                match layer_of(to) {
                    Some(to_layer) if to_layer > from_layer => problems.push(format!(
                        "{} imports from {}, a layer above it",
                        self.files[from].name, self.files[to].name
                    )),
                    _ => {}
                }
            }
        }
        problems
    }

    /// Import cycles among files, and among top-level modules.
    fn cycles(&self) -> Vec<String> {
        let edges = self.edges();
        let mut problems: Vec<String> = strongly_connected(&edges)
            .into_iter()
            .map(|group| {
                let names: Vec<&str> = group.iter().map(|m| self.files[*m].name.as_str()).collect();
                format!("an import cycle through {}", names.join(", "))
            })
            .collect();
        let mut top: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (from, targets) in &edges {
            let from_top = from.first().map_or("lib", String::as_str);
            for to in targets {
                let to_top = to.first().map_or("lib", String::as_str);
                if from_top != to_top {
                    top.entry(from_top).or_default().insert(to_top);
                }
            }
        }
        let top_edges: BTreeMap<&&str, BTreeSet<&&str>> =
            top.iter().map(|(from, to)| (from, to.iter().collect())).collect();
        for group in strongly_connected(&top_edges) {
            let names: Vec<&str> = group.iter().map(|m| **m).collect();
            problems.push(format!("the modules {} import each other", names.join(", ")));
        }
        problems
    }

    fn names_of_the_whole(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for file in self.files.values() {
            if MAY_NAME_THE_WHOLE.iter().any(|allowed| file.name == *allowed || file.name.starts_with(allowed)) {
                continue;
            }
            for word in ["Settings", "AppState", "AppContext"] {
                if contains_word(&file.code, word) {
                    problems.push(format!("{} names {word}: take the parts you use instead", file.name));
                }
            }
            if file.code.contains("crate::http") {
                problems.push(format!("{} names crate::http, a layer above it", file.name));
            }
        }
        problems
    }

    fn table_files_importing_each_other(&self) -> Vec<String> {
        let is_table_file = |module: &Vec<String>| {
            module.len() == 2 && module[0] == "db" && !DB_FILES_NOT_TABLES.contains(&module[1].as_str())
        };
        let mut problems = Vec::new();
        for (from, targets) in self.edges() {
            for to in targets {
                if is_table_file(from) && is_table_file(to) {
                    problems.push(format!(
                        "{} imports {}: a table's file owns its statements and needs no other table's",
                        self.files[from].name, self.files[to].name
                    ));
                }
            }
        }
        problems
    }
}

/// `db/fines` for `db/fines/mod.rs` and `db/fines.rs`; `[]` for `lib.rs`; `main` for `main.rs`.
fn module_path(name: &str) -> Vec<String> {
    let without = name.trim_end_matches(".rs");
    let mut parts: Vec<String> = without.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod") || parts == ["lib"] {
        parts.pop();
    }
    parts
}

fn contains_word(code: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Code with its comments and the contents of its string and char literals blanked out, so a
/// path in a message or a comment is not taken for an import.
fn strip_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_is_ident(&chars, i) {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next.is_some() && chars.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else if c == '\'' && next == Some('\\') {
            let mut j = i + 2;
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            out.push_str("' '");
            i = j + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// Every path the code names from `crate::` or `super::`, with `use` groups expanded.
fn imported_paths(code: &str) -> Vec<(&'static str, Vec<String>)> {
    let mut paths = Vec::new();
    for root in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(root) {
            let before = rest[..at].chars().next_back();
            let tail = &rest[at + root.len()..];
            rest = tail;
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut prefix = Vec::new();
            expand(tail, &mut prefix, &mut |path| paths.push((root, path)));
        }
    }
    paths
}

/// Reads one path (or `{…}` group of paths) at the start of `text`, calling `found` for each.
fn expand(text: &str, prefix: &mut Vec<String>, found: &mut dyn FnMut(Vec<String>)) {
    let text = text.trim_start();
    if let Some(group) = text.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand_item(&group[start..i], prefix, found);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand_item(&group[start..i], prefix, found);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let ident: String = text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    if ident.is_empty() {
        if !prefix.is_empty() {
            found(prefix.clone());
        }
        return;
    }
    let after = &text[ident.len()..];
    if ident != "self" {
        prefix.push(ident.clone());
    }
    if let Some(more) = after.strip_prefix("::") {
        expand(more, prefix, found);
    } else {
        found(prefix.clone());
    }
    if ident != "self" {
        prefix.pop();
    }
}

fn expand_item(item: &str, prefix: &mut Vec<String>, found: &mut dyn FnMut(Vec<String>)) {
    let item = item.trim();
    if item.is_empty() {
        return;
    }
    let depth = prefix.len();
    expand(item, prefix, found);
    prefix.truncate(depth);
}

/// The groups of nodes that reach each other (Tarjan), each of more than one node.
fn strongly_connected<N: Ord + Copy>(edges: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    struct State<N> {
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        on_stack: BTreeSet<N>,
        groups: Vec<Vec<N>>,
    }
    fn visit<N: Ord + Copy>(node: N, edges: &BTreeMap<N, BTreeSet<N>>, s: &mut State<N>) {
        let index = s.index.len();
        s.index.insert(node, index);
        s.low.insert(node, index);
        s.stack.push(node);
        s.on_stack.insert(node);
        for &next in edges.get(&node).into_iter().flatten() {
            if !s.index.contains_key(&next) {
                visit(next, edges, s);
                let low = s.low[&node].min(s.low[&next]);
                s.low.insert(node, low);
            } else if s.on_stack.contains(&next) {
                let low = s.low[&node].min(s.index[&next]);
                s.low.insert(node, low);
            }
        }
        if s.low[&node] == s.index[&node] {
            let mut group = Vec::new();
            while let Some(member) = s.stack.pop() {
                s.on_stack.remove(&member);
                group.push(member);
                if member == node {
                    break;
                }
            }
            if group.len() > 1 {
                s.groups.push(group);
            }
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for &node in edges.keys() {
        if !state.index.contains_key(&node) {
            visit(node, edges, &mut state);
        }
    }
    state.groups
}
