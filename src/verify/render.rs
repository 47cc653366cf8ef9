//! Showing a report: lines with a tone (the console maps tones to theme styles, the command line
//! prints them plain), and the JSON document.

use super::report::{ChunkReport, Report, TableReport, TableStatus};

/// How a line should look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Title,
    Ok,
    Warn,
    Crit,
    Muted,
    Plain,
}

/// Differing chunks shown per table, and rows per chunk (JSON has them all).
const CHUNKS_SHOWN: usize = 20;
const ROWS_SHOWN: usize = 20;

fn rows_word(n: u64) -> &'static str {
    if n == 1 { "row" } else { "rows" }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn chunk_lines(t: &TableReport, c: &ChunkReport, out: &mut Vec<(Tone, String)>) {
    let key = t.key.as_deref().unwrap_or("key");
    let per: Vec<String> = c
        .nodes
        .iter()
        .map(|n| match (&n.error, n.rows) {
            (Some(e), _) => format!("{} error: {e}", n.node),
            (None, Some(r)) => format!("{} {r} {} crc {}", n.node, rows_word(r), opt(n.checksum)),
            (None, None) => format!("{} -", n.node),
        })
        .collect();
    out.push((Tone::Crit, format!("    chunk {key} {}..{}: {}", c.lo, c.hi, per.join(" | "))));
    for r in c.rows.iter().take(ROWS_SHOWN) {
        out.push((Tone::Plain, format!("      {}", r.text)));
    }
    if c.rows.len() > ROWS_SHOWN {
        out.push((
            Tone::Muted,
            format!("      … {} more differing rows (see --format json)", c.rows.len() - ROWS_SHOWN),
        ));
    }
    if let Some(n) = &c.rows_note {
        out.push((Tone::Muted, format!("      {n}")));
    }
}

fn table_lines(t: &TableReport, out: &mut Vec<(Tone, String)>) {
    let name = t.name();
    match t.status {
        TableStatus::Missing => {
            let have: Vec<&str> = t.nodes.iter().filter(|n| n.present).map(|n| n.node.as_str()).collect();
            let lack: Vec<&str> = t.nodes.iter().filter(|n| !n.present).map(|n| n.node.as_str()).collect();
            let tail =
                if have.is_empty() { "no node has it".to_string() } else { format!("present on {}", have.join(", ")) };
            out.push((Tone::Crit, format!("  {name}  MISSING on {} ({tail})", lack.join(", "))));
            return;
        }
        status => out.push((Tone::Crit, format!("  {name}  {}", status.word()))),
    }
    let sums: Vec<String> = t
        .nodes
        .iter()
        .map(|n| match &n.error {
            Some(e) => format!("{} error: {e}", n.node),
            None => format!("{} {}", n.node, opt(n.checksum)),
        })
        .collect();
    out.push((Tone::Plain, format!("    CHECKSUM TABLE  {}", sums.join("  "))));
    if t.nodes.iter().any(|n| n.rows.is_some()) {
        let rows: Vec<String> = t.nodes.iter().map(|n| format!("{} {}", n.node, opt(n.rows))).collect();
        out.push((Tone::Plain, format!("    rows            {}", rows.join("  "))));
    }
    if let Some(n) = &t.note {
        out.push((Tone::Muted, format!("    {n}")));
    }
    if t.chunks_compared > 0 {
        out.push((
            Tone::Plain,
            format!(
                "    {} of {} chunk(s) differ (key {})",
                t.chunks.len(),
                t.chunks_compared,
                t.key.as_deref().unwrap_or("-")
            ),
        ));
    }
    for c in t.chunks.iter().take(CHUNKS_SHOWN) {
        chunk_lines(t, c, out);
    }
    if t.chunks.len() > CHUNKS_SHOWN {
        out.push((
            Tone::Muted,
            format!("    … {} more differing chunks (see --format json)", t.chunks.len() - CHUNKS_SHOWN),
        ));
    }
    if !t.rows.is_empty() {
        out.push((
            Tone::Crit,
            format!("    {} differing row(s), compared by key tuples {}", t.rows.len(), t.key.as_deref().unwrap_or("")),
        ));
        for r in t.rows.iter().take(ROWS_SHOWN) {
            out.push((Tone::Plain, format!("      {}", r.text)));
        }
        if t.rows.len() > ROWS_SHOWN {
            out.push((
                Tone::Muted,
                format!("      … {} more differing rows (see --format json)", t.rows.len() - ROWS_SHOWN),
            ));
        }
    }
    if let Some(n) = &t.rows_note {
        out.push((Tone::Muted, format!("    {n}")));
    }
}

/// The report as lines with tones, most important first.
pub fn lines(r: &Report) -> Vec<(Tone, String)> {
    let mut out = Vec::new();
    let head = if r.error.is_some() {
        ("ERROR", Tone::Crit)
    } else if r.equal {
        ("EQUAL", Tone::Ok)
    } else if r.differing().next().is_some() || !r.missing_schemas.is_empty() {
        ("DIFFERENCES", Tone::Crit)
    } else {
        ("INCOMPLETE", Tone::Crit)
    };
    out.push((head.1, format!("ringdeck verify: {} - {}", head.0, r.summary)));
    if r.error.is_some() {
        return out;
    }
    out.push((Tone::Warn, format!("note: {}", r.note)));
    out.push((
        Tone::Muted,
        format!(
            "schemas {}; chunk size {}; {} node(s) in {} ms",
            if r.schemas.is_empty() { "(none)".to_string() } else { r.schemas.join(", ") },
            r.chunk_size,
            r.nodes.len(),
            r.elapsed_ms
        ),
    ));
    out.push((Tone::Plain, String::new()));
    out.push((Tone::Title, "NODES".into()));
    let w = r.nodes.iter().map(|n| n.name.chars().count()).max().unwrap_or(0);
    let aw = r.nodes.iter().map(|n| n.address.chars().count()).max().unwrap_or(0);
    for n in &r.nodes {
        let (tone, state) = if !n.reachable {
            (Tone::Crit, format!("UNREACHABLE  {}", opt(n.error.as_deref())))
        } else if !n.caught_up || n.writes_seen {
            let writes = if n.writes_seen { "; writes seen during the verify" } else { "" };
            (Tone::Warn, format!("up  replication: {}{writes}", n.replication))
        } else {
            (Tone::Plain, format!("up  replication: {}", n.replication))
        };
        out.push((tone, format!("  {:w$}  {:aw$}  {state}", n.name, n.address)));
    }
    if !r.warnings.is_empty() {
        out.push((Tone::Plain, String::new()));
        out.push((Tone::Title, "WARNINGS".into()));
        out.extend(r.warnings.iter().map(|w| (Tone::Warn, format!("  {w}"))));
    }
    let differing: Vec<&TableReport> = r.differing().collect();
    if !differing.is_empty() || !r.missing_schemas.is_empty() {
        out.push((Tone::Plain, String::new()));
        out.push((Tone::Title, "DIFFERENCES".into()));
        for m in &r.missing_schemas {
            let tail = if m.present_on.is_empty() {
                "no node has it".to_string()
            } else {
                format!("present on {}", m.present_on.join(", "))
            };
            out.push((Tone::Crit, format!("  schema {}  MISSING on {} ({tail})", m.schema, m.missing_on.join(", "))));
        }
        for t in differing {
            table_lines(t, &mut out);
        }
    }
    let equal: Vec<&TableReport> = r.tables.iter().filter(|t| t.status == TableStatus::Equal).collect();
    out.push((Tone::Plain, String::new()));
    out.push((Tone::Title, format!("EQUAL ({} table(s))", equal.len())));
    let mut line = String::from(" ");
    for t in &equal {
        let item = format!(" {}", t.name());
        if line.chars().count() + item.chars().count() > 100 && !line.trim().is_empty() {
            out.push((Tone::Ok, std::mem::replace(&mut line, String::from(" "))));
        }
        line.push_str(&item);
    }
    if !line.trim().is_empty() {
        out.push((Tone::Ok, line));
    }
    for t in equal.iter().filter(|t| t.note.is_some()) {
        out.push((Tone::Muted, format!("  {}: {}", t.name(), t.note.as_deref().unwrap_or(""))));
    }
    if r.tables.is_empty() {
        out.push((Tone::Muted, "  (no tables compared)".into()));
    } else if equal.is_empty() {
        out.push((Tone::Muted, "  (none)".into()));
    }
    out
}

/// The report as plain text.
pub fn text(r: &Report) -> String {
    let mut s = String::new();
    for (_, l) in lines(r) {
        s.push_str(l.trim_end());
        s.push('\n');
    }
    s
}

/// The report as pretty JSON, with a trailing newline.
pub fn json(r: &Report) -> String {
    match serde_json::to_string_pretty(r) {
        Ok(s) => format!("{s}\n"),
        Err(e) => format!("{{\"schema_version\":2,\"equal\":false,\"exit_code\":1,\"error\":{:?}}}\n", e.to_string()),
    }
}
