//! The layering rule of `src/mock/` (issue 13): no module imports another
//! that imports it back, directly or around a circle. Engine pieces sit at
//! the bottom, vendors on top; a circle means a type lives on the wrong
//! floor.
//!
//! Every `.rs` file under `src/mock/` is one module (`x/mod.rs` is `x`).
//! File A has an edge to file B when A's code names B or an item of B:
//!
//! - a `use` whose path leads into B (`use super::journal::Attempt`,
//!   `use crate::mock::target::{self, Transport}`, `use super::*`), or a
//!   path in code that does (`super::faults::tampered(..)`,
//!   `crate::mock::target::invalid_request(..)`, `super::CONSTANT`);
//! - in a `mod.rs`, a path starting with one of its own `mod` children
//!   (`use endpoint::Secret`) names that child.
//!
//! A name reached through a `mod.rs` re-export is resolved to the module
//! that defines it (`crate::mock::Attempt` names `journal`). Not edges:
//!
//! - a parent's `mod child;` declaration;
//! - a `mod.rs`'s `pub use` of its own descendants' items (the facade),
//!   unless the `mod.rs`'s own code uses the re-exported name, which makes
//!   it an import like any other;
//! - comments and doc links, string literals;
//! - `#[cfg(test)] mod ...` blocks: a unit-test module is a leaf nothing
//!   imports, so it can close no circle.
//!
//! Paths outside `crate::mock` (the verifier core, other crates) are the
//! floor below and never part of a circle here.
//!
//! On the same graph, the floors: the engine (the files directly in
//! `src/mock/`: transport, journal, faults, clock, builder settings) names
//! no vendor, and a vendor (a directory: `api2cart/`, `americommerce/`,
//! `standard/`, `up42/`) names no other vendor.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A module: its path below the crate root, e.g. `["mock", "journal"]`.
type ModPath = Vec<String>;

/// One source file, already reduced to code tokens.
struct Module {
    file: String,
    is_mod_rs: bool,
    /// `mod x;` declarations (file children).
    children: BTreeSet<String>,
    /// Every `use` item: whether it is `pub`, and its expanded paths with
    /// the name each binds.
    uses: Vec<UseItem>,
    /// Paths in code outside `use` items, starting at `crate`, `super`,
    /// `self` or (in a `mod.rs`) a child module.
    code_paths: Vec<Vec<String>>,
    /// Identifiers in code outside `use` items.
    idents: BTreeSet<String>,
}

struct UseItem {
    public: bool,
    /// (path segments, the name it binds in this module)
    paths: Vec<(Vec<String>, String)>,
}

/// Why an edge exists: the file and the path it names.
type Evidence = BTreeMap<(ModPath, ModPath), Vec<String>>;

#[test]
fn mock_modules_import_no_circle() {
    let evidence = edges(&mock_sources());
    let cycles = circles(&evidence);
    let mut report = String::new();
    for cycle in &cycles {
        report.push_str(&describe(cycle, &evidence));
    }
    assert!(
        cycles.is_empty(),
        "{} import circle(s) in src/mock/:\n{report}",
        cycles.len()
    );
}

/// The rule can fail: two files that import each other, a circle through a
/// parent's re-export, and a facade that is not a circle.
#[test]
fn the_rule_finds_circles_and_spares_facades() {
    let direct = [
        ("mock/mod.rs", "mod a; mod b; pub use a::A; pub use b::B;"),
        ("mock/a.rs", "use super::b::B; pub struct A(B);"),
        (
            "mock/b.rs",
            "pub struct B; fn f() { let _ = crate::mock::A; } // use super::c;",
        ),
    ];
    let found = circles(&edges(&owned(&direct)));
    assert_eq!(found, [vec![path("mock::a"), path("mock::b")]]);

    let child_parent = [
        ("mock/mod.rs", "mod v;"),
        (
            "mock/v/mod.rs",
            "mod e; pub use e::E; const N: &str = \"super::e::x\"; fn f(_: E) {}",
        ),
        (
            "mock/v/e.rs",
            "pub struct E; fn g() -> &'static str { super::N }",
        ),
    ];
    let found = circles(&edges(&owned(&child_parent)));
    assert_eq!(found, [vec![path("mock::v"), path("mock::v::e")]]);

    let facade = [
        ("mock/mod.rs", "mod v;"),
        ("mock/v/mod.rs", "mod e; mod s; pub use e::E; pub use s::S;"),
        ("mock/v/e.rs", "pub struct E;"),
        (
            "mock/v/s.rs",
            "use super::E; pub struct S(E);\n#[cfg(test)]\nmod tests { use super::*; use crate::mock::v::s::S; fn t() { let _ = crate::mock::v::S; } }",
        ),
    ];
    assert!(circles(&edges(&owned(&facade))).is_empty());
}

fn owned(files: &[(&str, &str)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(f, s)| (f.to_string(), s.to_string()))
        .collect()
}

fn path(dotted: &str) -> ModPath {
    dotted.split("::").map(str::to_string).collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect(&entry, out);
        } else if entry.extension().is_some_and(|e| e == "rs") {
            out.push(entry);
        }
    }
}

/// The module a file under `src/` defines.
fn module_of(file: &str) -> ModPath {
    let stem = file.trim_end_matches(".rs");
    let mut segments: ModPath = stem.split('/').map(str::to_string).collect();
    if segments.last().is_some_and(|s| s == "mod") {
        segments.pop();
    }
    segments
}

/// Every edge of the graph, with the paths that make it.
fn edges(sources: &[(String, String)]) -> Evidence {
    let modules: BTreeMap<ModPath, Module> = sources
        .iter()
        .map(|(file, src)| (module_of(file), parse(file, src)))
        .collect();
    let mut evidence = Evidence::new();
    for (from, module) in &modules {
        let mut named: Vec<Vec<String>> = module.code_paths.clone();
        for item in &module.uses {
            for (segments, bound) in &item.paths {
                let own_descendant = module.is_mod_rs
                    && absolute(from, module, segments)
                        .is_some_and(|abs| abs.len() > from.len() && abs.starts_with(from));
                // A facade's re-export is no import unless its own code uses the name.
                if item.public && own_descendant && !module.idents.contains(bound) {
                    continue;
                }
                named.push(segments.clone());
            }
        }
        for segments in named {
            let Some(abs) = absolute(from, module, &segments) else {
                continue;
            };
            let Some(to) = resolve(&modules, &abs, 0) else {
                continue;
            };
            if &to != from {
                evidence
                    .entry((from.clone(), to))
                    .or_default()
                    .push(format!("{}: {}", module.file, segments.join("::")));
            }
        }
    }
    evidence
}

/// A path named in `module` made absolute from the crate root, or `None`
/// when it does not start inside the crate.
fn absolute(from: &ModPath, module: &Module, segments: &[String]) -> Option<Vec<String>> {
    let mut base = from.clone();
    let mut rest = segments;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        Some(first) if module.is_mod_rs && module.children.contains(first) => {}
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The file module that defines what `abs` names, following `mod.rs`
/// re-exports; `None` outside `mock`.
fn resolve(modules: &BTreeMap<ModPath, Module>, abs: &[String], depth: usize) -> Option<ModPath> {
    if abs.first().is_none_or(|s| s != "mock") || depth > 16 {
        return None;
    }
    let cut = (1..=abs.len())
        .rev()
        .find(|&n| modules.contains_key(&abs[..n]))?;
    let target: ModPath = abs[..cut].to_vec();
    let Some(item) = abs.get(cut).filter(|s| *s != "*") else {
        return Some(target);
    };
    let module = &modules[&target];
    for use_item in module.uses.iter().filter(|u| u.public) {
        for (segments, bound) in &use_item.paths {
            if bound == item
                && let Some(next) = absolute(&target, module, segments)
                && let Some(found) = resolve(modules, &next, depth + 1)
            {
                return Some(found);
            }
        }
    }
    Some(target)
}

/// The circles of the graph: its strongly connected components of more
/// than one module, each sorted (Tarjan's algorithm).
fn circles(evidence: &Evidence) -> Vec<Vec<ModPath>> {
    let mut graph: BTreeMap<&ModPath, Vec<&ModPath>> = BTreeMap::new();
    for (from, to) in evidence.keys() {
        graph.entry(from).or_default().push(to);
        graph.entry(to).or_default();
    }
    struct Tarjan<'a> {
        graph: &'a BTreeMap<&'a ModPath, Vec<&'a ModPath>>,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        found: Vec<Vec<ModPath>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a ModPath) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for &w in &self.graph[v] {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                loop {
                    let w = self.stack.pop().unwrap();
                    self.on_stack.remove(w);
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !tarjan.index.contains_key(v) {
            tarjan.visit(v);
        }
    }
    tarjan.found.sort();
    tarjan.found
}

/// A circle as its edges, each with the paths that make it.
fn describe(component: &[ModPath], evidence: &Evidence) -> String {
    let inside: BTreeSet<&ModPath> = component.iter().collect();
    let mut out = format!(
        "circle: {}\n",
        component
            .iter()
            .map(|m| m.join("::"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for ((from, to), why) in evidence {
        if inside.contains(from) && inside.contains(to) {
            out.push_str(&format!("  {} -> {}\n", from.join("::"), to.join("::")));
            for line in why {
                out.push_str(&format!("      {line}\n"));
            }
        }
    }
    out
}

// ---- reading Rust, just enough ----

fn parse(file: &str, src: &str) -> Module {
    let code = without_test_modules(&tokens(&strip(src)));
    let mut module = Module {
        file: file.to_string(),
        is_mod_rs: file.ends_with("mod.rs"),
        children: BTreeSet::new(),
        uses: Vec::new(),
        code_paths: Vec::new(),
        idents: BTreeSet::new(),
    };
    let mut i = 0;
    while i < code.len() {
        let t = code[i].as_str();
        if t == "mod" && code.get(i + 2).is_some_and(|s| s == ";") {
            module.children.insert(code[i + 1].clone());
            i += 3;
        } else if t == "use" {
            let public = i > 0 && (code[i - 1] == "pub" || code[i - 1] == ")");
            let end = (i..code.len())
                .find(|&j| code[j] == ";")
                .unwrap_or(code.len());
            let mut paths = Vec::new();
            use_tree(&code[i + 1..end], &[], &mut paths);
            module.uses.push(UseItem { public, paths });
            i = end + 1;
        } else if is_ident(t) && (i == 0 || code[i - 1] != "::") {
            module.idents.insert(t.to_string());
            let mut segments = vec![t.to_string()];
            let mut j = i + 1;
            while code.get(j).is_some_and(|s| s == "::")
                && code.get(j + 1).is_some_and(|s| is_ident(s))
            {
                segments.push(code[j + 1].clone());
                module.idents.insert(code[j + 1].clone());
                j += 2;
            }
            let starts_in_crate = matches!(t, "crate" | "super" | "self");
            if segments.len() > 1 && (starts_in_crate || module.is_mod_rs) {
                module.code_paths.push(segments);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    // A `mod.rs` path starting with a child counts only for declared children.
    let children = module.children.clone();
    module.code_paths.retain(|p| {
        matches!(p[0].as_str(), "crate" | "super" | "self") || children.contains(&p[0])
    });
    module
}

/// Expands a use tree (`a::{self, b::C as D, e::*}`) into paths and the
/// name each binds.
fn use_tree(tokens: &[String], prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
    let mut i = 0;
    let mut path = prefix.to_vec();
    while i < tokens.len() {
        let t = tokens[i].as_str();
        match t {
            "::" => i += 1,
            "{" => {
                let close = matching(tokens, i);
                let inner = &tokens[i + 1..close];
                let mut depth = 0;
                let mut start = 0;
                for (k, tok) in inner.iter().enumerate() {
                    match tok.as_str() {
                        "{" => depth += 1,
                        "}" => depth -= 1,
                        "," if depth == 0 => {
                            use_tree(&inner[start..k], &path, out);
                            start = k + 1;
                        }
                        _ => {}
                    }
                }
                if start < inner.len() {
                    use_tree(&inner[start..], &path, out);
                }
                return;
            }
            "as" => {
                let bound = tokens.get(i + 1).cloned().unwrap_or_default();
                out.push((path, bound));
                return;
            }
            "self" if !path.is_empty() => i += 1,
            _ => {
                path.push(t.to_string());
                i += 1;
            }
        }
    }
    if let Some(last) = path.last().cloned() {
        out.push((path, last));
    }
}

fn matching(tokens: &[String], open: usize) -> usize {
    let mut depth = 0;
    for (k, t) in tokens.iter().enumerate().skip(open) {
        match t.as_str() {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    tokens.len() - 1
}

/// Drops `#[cfg(test)] mod name { ... }` blocks.
fn without_test_modules(tokens: &[String]) -> Vec<String> {
    let attr = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i..].starts_with(&attr.map(String::from)) {
            let mut j = i + attr.len();
            if tokens.get(j).is_some_and(|t| t == "pub") {
                j += 1;
            }
            if tokens.get(j).is_some_and(|t| t == "mod")
                && tokens.get(j + 2).is_some_and(|t| t == "{")
            {
                i = matching(tokens, j + 2) + 1;
                continue;
            }
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    out
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Identifiers (keywords included), `::`, and single punctuation.
fn tokens(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".to_string());
            i += 2;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

/// The source without comments, and with every string and char literal
/// emptied (`""`), so neither can name a module.
fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let ident = |k: usize| k < c.len() && (c[k].is_alphanumeric() || c[k] == '_');
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if (c[i] == 'r' || (c[i] == 'b' && c.get(i + 1) == Some(&'r')))
            && (i == 0 || !ident(i - 1))
            && {
                let mut k = i + if c[i] == 'b' { 2 } else { 1 };
                while c.get(k) == Some(&'#') {
                    k += 1;
                }
                c.get(k) == Some(&'"')
            }
        {
            // Raw string: r#"..."#, br"...".
            let mut k = i + if c[i] == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while c[k] == '#' {
                hashes += 1;
                k += 1;
            }
            k += 1;
            loop {
                if k >= c.len() {
                    break;
                }
                if c[k] == '"' && (1..=hashes).all(|h| c.get(k + h) == Some(&'#')) {
                    k += 1 + hashes;
                    break;
                }
                k += 1;
            }
            out.push_str("\"\"");
            i = k;
        } else if c[i] == '"' {
            let mut k = i + 1;
            while k < c.len() && c[k] != '"' {
                k += if c[k] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i = k + 1;
        } else if c[i] == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if c.get(i + 1) == Some(&'\\') {
                let mut k = i + 3;
                while k < c.len() && c[k] != '\'' {
                    k += 1;
                }
                out.push_str("' '");
                i = k + 1;
            } else if c.get(i + 2) == Some(&'\'') {
                out.push_str("' '");
                i += 3;
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Directories of `src/mock/` that belong to the engine, not to a vendor.
const ENGINE_DIRS: [&str; 1] = ["journal"];

/// The floors: the engine (the files directly in `src/mock/`, and
/// [`ENGINE_DIRS`]) names no vendor, and no vendor (any other directory of
/// `src/mock/`) names another.
#[test]
fn engine_below_vendors_and_vendors_apart() {
    let sources = mock_sources();
    let vendors: BTreeSet<String> = sources
        .iter()
        .filter_map(|(file, _)| {
            let (vendor, _) = file.strip_prefix("mock/")?.split_once('/')?;
            (!ENGINE_DIRS.contains(&vendor)).then(|| vendor.to_string())
        })
        .collect();
    let vendor_of = |m: &ModPath| m.get(1).filter(|s| vendors.contains(*s)).cloned();
    let wrong: Vec<String> = edges(&sources)
        .iter()
        .filter(|((from, to), _)| match (vendor_of(from), vendor_of(to)) {
            (None, Some(_)) => true,
            (Some(a), Some(b)) => a != b,
            _ => false,
        })
        .map(|((from, to), why)| {
            format!(
                "{} -> {}: {}",
                from.join("::"),
                to.join("::"),
                why.join("; ")
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "imports across floors:\n{}",
        wrong.join("\n")
    );
}

/// Every file under `src/mock/`, as (path below `src/`, text).
fn mock_sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root.join("mock"), &mut files);
    assert!(
        files.len() > 5,
        "src/mock/ not found under {}",
        root.display()
    );
    files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(&root).unwrap().to_string_lossy();
            (
                rel.replace(std::path::MAIN_SEPARATOR, "/"),
                fs::read_to_string(f).unwrap(),
            )
        })
        .collect()
}
