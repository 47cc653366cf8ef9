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
    ("the console loop, the terminal, the task runner", &["console"]),
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
