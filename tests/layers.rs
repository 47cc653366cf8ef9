//! The layers of docs/ARCHITECTURE.md, enforced: a module may use modules of its own layer or
//! below, never above, and the modules never import each other in a circle. Read from the source
//! (every `crate::name` in code, comments left out), so a new upward import fails here with the
//! file and line that made it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module of `src/` and its layer, lowest first.
const LAYERS: &[(&str, &[&str])] = &[
    ("pure types, parsing, findings, formatting", &["fmt", "model", "config", "statefile"]),
    ("I/O: connections, deadlines, caps; the practice lab", &["db", "http", "ssh", "crash", "logging", "lab"]),
    (
        "use cases: poll, act, compare, rebuild, repair",
        &["collect", "verify", "fork", "runbook", "repair", "inspect", "recover"],
    ),
    ("the console's state (pure)", &["app"]),
    ("drawing (pure)", &["ui"]),
    ("the long-running loops: the console (terminal, task runner), the HAProxy agent", &["console", "agent"]),
    ("the subcommands", &["cli"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs and main.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => None,
        Some(m) => Some(m.to_string()),
        None => Some(first.to_string()),
    }
}

/// Every `crate::name` used in the code of `text`, with its line number (comments skipped).
fn crate_uses(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let before = rest[..i].chars().next_back();
            rest = &rest[i + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.push((n + 1, name));
            }
        }
    }
    out
}

struct Graph {
    /// module -> module it uses -> where (file:line), the first place seen.
    edges: BTreeMap<String, BTreeMap<String, String>>,
    modules: BTreeSet<String>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut g = Graph { edges: BTreeMap::new(), modules: BTreeSet::new() };
    for f in &files {
        let Some(from) = module_of(&src, f) else { continue };
        g.modules.insert(from.clone());
        let text = std::fs::read_to_string(f).expect("a source file is readable");
        for (line, to) in crate_uses(&text) {
            if to != from {
                let at = format!("{}:{line}", f.strip_prefix(&src).unwrap_or(f).display());
                g.edges.entry(from.clone()).or_default().entry(to).or_insert(at);
            }
        }
    }
    g
}

#[test]
fn every_module_has_a_layer() {
    let g = graph();
    let missing: Vec<&String> = g.modules.iter().filter(|m| layer_of(m).is_none()).collect();
    assert!(missing.is_empty(), "modules with no layer in tests/layers.rs (and docs/ARCHITECTURE.md): {missing:?}");
}

#[test]
fn no_module_imports_a_higher_layer() {
    let g = graph();
    let mut wrong = Vec::new();
    for (from, tos) in &g.edges {
        for (to, at) in tos {
            if let (Some(a), Some(b)) = (layer_of(from), layer_of(to))
                && b > a
            {
                wrong.push(format!("{at}: {from} ({}) uses {to} ({})", LAYERS[a].0, LAYERS[b].0));
            }
        }
    }
    assert!(wrong.is_empty(), "imports that point up:\n{}", wrong.join("\n"));
}

#[test]
fn no_import_circles_between_modules() {
    let g = graph();
    // Depth-first search; a back edge is a circle, reported with the places that close it.
    fn visit(m: &str, g: &Graph, state: &mut BTreeMap<String, u8>, stack: &mut Vec<String>, circles: &mut Vec<String>) {
        state.insert(m.to_string(), 1);
        stack.push(m.to_string());
        for (to, at) in g.edges.get(m).into_iter().flatten() {
            match state.get(to.as_str()).copied().unwrap_or(0) {
                0 => visit(to, g, state, stack, circles),
                1 => {
                    let start = stack.iter().position(|s| s == to).unwrap_or(0);
                    circles.push(format!("{} -> {to} (closed at {at})", stack[start..].join(" -> ")));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.to_string(), 2);
    }
    let (mut state, mut circles) = (BTreeMap::new(), Vec::new());
    for m in &g.modules {
        if !state.contains_key(m.as_str()) {
            visit(m, &g, &mut state, &mut Vec::new(), &mut circles);
        }
    }
    assert!(circles.is_empty(), "import circles:\n{}", circles.join("\n"));
}

#[test]
fn the_reader_finds_uses_in_code_and_not_in_comments() {
    let uses = crate_uses("use crate::db::Target;\n// see crate::ui\nlet x = my_crate::app; f(crate::model::x)\n");
    assert_eq!(uses, vec![(1, "db".to_string()), (3, "model".to_string())]);
}

/// A file's module path under `src/` (`app/state.rs` and `app/state/mod.rs` are `app::state`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib" || p == "main") {
        parts.pop();
    }
    parts
}

/// The modules a file's code names (`crate::a::b`, `crate::a::{b, c}`, `super::b`), each the
/// longest known module path of the name; test modules (after `#[cfg(test)]`) and comments left out.
fn file_uses(text: &str, me: &[String], is_dir_module: bool, modules: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or("")
        .lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let longest = |path: &[String]| (1..=path.len()).rev().map(|k| path[..k].to_vec()).find(|p| modules.contains(p));
    let mut out = BTreeSet::new();
    for (start, root) in code
        .match_indices("crate::")
        .map(|(i, _)| (i, "crate"))
        .chain(code.match_indices("super::").map(|(i, _)| (i, "super")))
    {
        if code[..start].chars().next_back().is_some_and(ident) {
            continue;
        }
        // The path after `crate::` / `super::` (and further `super::`s).
        let mut base: Vec<String> = match root {
            "crate" => Vec::new(),
            // The parent of `a::b` (a file `b.rs` or `b/mod.rs`) is `a`.
            _ => me[..me.len().saturating_sub(1)].to_vec(),
        };
        let _ = is_dir_module;
        let mut rest = &code[start + root.len() + 2..];
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        let mut path = base;
        loop {
            let name: String = rest.chars().take_while(|c| ident(*c)).collect();
            if name.is_empty() {
                break;
            }
            rest = &rest[name.len()..];
            path.push(name);
            match rest.strip_prefix("::") {
                Some(r) if !r.starts_with('{') && !r.starts_with('*') => rest = r,
                _ => break,
            }
        }
        let mut targets = vec![path.clone()];
        if let Some(group) = rest.strip_prefix("::{").and_then(|r| r.split('}').next()) {
            targets = group
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty() && *t != "self")
                .map(|t| path.iter().cloned().chain(t.split("::").map(|p| p.trim().to_string())).collect())
                .collect();
        }
        for t in targets {
            if let Some(m) = longest(&t)
                && !m.is_empty()
                && m.as_slice() != me
            {
                out.insert(m);
            }
        }
    }
    out
}

#[test]
fn no_import_circles_between_files_except_a_module_and_its_own_helpers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(&src, f)).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for f in &files {
        let me = module_path(&src, f);
        let text = std::fs::read_to_string(f).expect("a source file is readable");
        let dir_module = f.file_name().is_some_and(|n| n == "mod.rs");
        edges.insert(me.clone(), file_uses(&text, &me, dir_module, &modules));
    }
    // Tarjan's strongly connected components.
    struct T<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<Vec<String>, (usize, usize)>,
        stack: Vec<Vec<String>>,
        next: usize,
        sccs: Vec<Vec<Vec<String>>>,
    }
    fn strong(t: &mut T<'_>, v: &Vec<String>) {
        t.index.insert(v.clone(), (t.next, t.next));
        t.next += 1;
        t.stack.push(v.clone());
        for w in t.edges.get(v).into_iter().flatten() {
            if !t.index.contains_key(w) {
                strong(t, w);
                let lw = t.index[w].1;
                let e = t.index.get_mut(v).expect("indexed");
                e.1 = e.1.min(lw);
            } else if t.stack.contains(w) {
                let iw = t.index[w].0;
                let e = t.index.get_mut(v).expect("indexed");
                e.1 = e.1.min(iw);
            }
        }
        if t.index[v].0 == t.index[v].1 {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                let end = &w == v;
                comp.push(w);
                if end {
                    break;
                }
            }
            if comp.len() > 1 {
                t.sccs.push(comp);
            }
        }
    }
    let mut t = T { edges: &edges, index: BTreeMap::new(), stack: Vec::new(), next: 0, sccs: Vec::new() };
    for m in &modules {
        if !t.index.contains_key(m) {
            strong(&mut t, m);
        }
    }
    // A circle is allowed only between a module and the helper files below it (all of its files
    // share the module's path, and the module itself is one of them).
    let wrong: Vec<String> = t
        .sccs
        .iter()
        .filter(|comp| {
            let root = comp.iter().min_by_key(|m| m.len()).expect("a component is not empty");
            !comp.iter().all(|m| m.starts_with(root))
        })
        .map(|comp| comp.iter().map(|m| m.join("::")).collect::<Vec<_>>().join(" <-> "))
        .collect();
    assert!(wrong.is_empty(), "files importing each other in a circle:\n{}", wrong.join("\n"));
}
