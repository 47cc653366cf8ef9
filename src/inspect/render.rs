//! Showing a conflict: lines for the console and the command line (the event, then the key's row
//! on every node side by side with the differing columns marked), and the JSON document of
//! `ringdeck inspect --format json` (schema version 1, documented in the README). Values are
//! shown as SQL literals; binary values as hex with their length; long values cut with a marker;
//! control characters made visible.

use mysql_async::Value;
use serde_json::{Map, json};

use super::conflict::{Conflict, Inspection};
use super::event::RowChange;
use crate::repair::plan::Seen;
use crate::verify::Tone;

/// Characters of a value shown in a table cell, at most.
const CELL: usize = 28;

/// The cell width that fits `cols` value columns beside the column names in `width`: a line is
/// 17 characters of mark and name, the event's cell and a blank, then per node a blank, a cell
/// and a blank.
fn cell_for(width: usize, cols: usize) -> usize {
    let nodes = cols.saturating_sub(1);
    (width.saturating_sub(18 + 2 * nodes) / cols.max(1)).clamp(8, CELL)
}

/// A value for the inspector: `NULL`, `42`, `'text'` (control characters as `\n`, `\t`, `\xNN`),
/// `X'00FF' (2 bytes)`; cut to `max` characters with `…`.
pub fn display_value(v: &Value, max: usize) -> String {
    let s = match v {
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(t) => {
                let mut out = String::from("'");
                for c in t.chars() {
                    match c {
                        '\n' => out.push_str("\\n"),
                        '\t' => out.push_str("\\t"),
                        '\r' => out.push_str("\\r"),
                        '\'' => out.push_str("''"),
                        c if c.is_control() => out.push_str(&format!("\\x{:02X}", c as u32)),
                        c => out.push(c),
                    }
                }
                out.push('\'');
                out
            }
            Err(_) => {
                let hex: String = b.iter().take(32).map(|x| format!("{x:02X}")).collect();
                let more = if b.len() > 32 { "…" } else { "" };
                format!("X'{hex}{more}' ({} bytes)", b.len())
            }
        },
        other => crate::repair::plan::shown_value(other),
    };
    crate::fmt::cut(&s, max)
}

fn cut(s: &str, w: usize) -> String {
    crate::fmt::cut(s, w)
}

fn row_line(r: &RowChange, names: &[String], cell: usize) -> String {
    let img = r.after.as_ref().or(r.before.as_ref());
    let vals: Vec<String> = match img {
        Some(v) => names.iter().zip(v).map(|(n, v)| format!("{n} {}", display_value(v, cell))).collect(),
        None => Vec::new(),
    };
    format!("{} {}: {}", r.op.word(), r.table, vals.join(", "))
}

fn conflict_lines(c: &Conflict, width: usize, out: &mut Vec<(Tone, String)>) {
    let cell = cell_for(width, c.rows.len() + 1);
    out.push((Tone::Crit, format!("{}: SQL thread stopped on {} {}", c.node, c.errno, c.error)));
    let gtid = c.tx.gtid.as_deref().map(|g| format!(", GTID {g}")).unwrap_or_default();
    let origin = match (&c.origin, c.tx.server_id) {
        (Some(o), Some(id)) => format!(", first written on {o} (server_id {id})"),
        (None, Some(id)) => format!(", first written by server_id {id} (not a configured node)"),
        _ => String::new(),
    };
    out.push((Tone::Title, format!("EVENT  from {}'s binlog at {}{gtid}{origin}", c.upstream, c.at)));
    let names: Vec<String> =
        c.meta.as_ref().map(|m| m.columns.iter().map(|c| c.name.clone()).collect()).unwrap_or_default();
    match &c.event_row {
        Some(r) => {
            out.push((Tone::Plain, format!("  {}", row_line(r, &names, CELL))));
            if r.op == super::event::RowOp::Update
                && let Some(b) = &r.before
            {
                let vals: Vec<String> =
                    names.iter().zip(b).map(|(n, v)| format!("{n} {}", display_value(v, CELL))).collect();
                out.push((Tone::Muted, format!("    before: {}", vals.join(", "))));
            }
        }
        None => {
            for s in &c.tx.statements {
                out.push((Tone::Plain, format!("  statement: {}", cut(&crate::model::sqltext::mask_secrets(s), 200))));
            }
            if c.tx.statements.is_empty() {
                out.push((Tone::Muted, "  (no row of the event could be tied to a key)".into()));
            }
        }
    }
    let whole = if c.tx.complete { "" } else { " (read up to the limit: not to its end)" };
    out.push((
        Tone::Muted,
        format!("  the transaction changes {} row(s){whole}; {} touch this key", c.tx.total_rows, c.touching),
    ));
    if !c.tx.skipped.is_empty() {
        out.push((Tone::Muted, format!("  events skipped while reading: {}", c.tx.skipped.join(", "))));
    }
    if let (Some(m), Some(k)) = (&c.meta, &c.key) {
        out.push((Tone::Title, format!("ROW {} ON EVERY NODE   (* differs from the event)", m.key_text(k))));
        let ev = c.event_row.as_ref().and_then(|r| r.after.as_ref().or(r.before.as_ref()));
        let mut head = format!("  {:<14} {:<w$}", "column", "event", w = cell + 1);
        for (n, _) in &c.rows {
            head.push_str(&format!(" {:<w$}", cut(n, cell), w = cell + 1));
        }
        out.push((Tone::Muted, head));
        for (i, col) in names.iter().enumerate() {
            let mark = if c.differing.contains(&i) { "*" } else { " " };
            let mut line = format!(
                "{mark} {:<14} {:<w$}",
                cut(col, 14),
                ev.and_then(|v| v.get(i)).map_or("-".into(), |v| display_value(v, cell)),
                w = cell + 1
            );
            for (_, s) in &c.rows {
                let text = match s {
                    Seen::Row { values, .. } => values.get(i).map_or("-".into(), |v| display_value(v, cell)),
                    Seen::Absent if i == 0 => "absent".into(),
                    Seen::Absent => String::new(),
                    Seen::Unknown(e) if i == 0 => format!("unknown: {}", cut(e, cell.saturating_sub(9))),
                    Seen::Unknown(_) => String::new(),
                };
                line.push_str(&format!(" {text:<w$}", w = cell + 1));
            }
            out.push((if mark == "*" { Tone::Warn } else { Tone::Plain }, line));
        }
    }
    let never = if c.never.is_empty() { "no node".to_string() } else { c.never.join(", ") };
    out.push((
        Tone::Plain,
        format!("REACH  applied on {}; if it is skipped, {never} will never get it", c.reached.join(", ")),
    ));
}

/// The inspection as lines with tones, its table of rows fitted to `width` characters.
pub fn lines(i: &Inspection, width: usize) -> Vec<(Tone, String)> {
    let mut out = Vec::new();
    let what = if i.conflicts.len() > 1 { " (a double break: both directions)" } else { "" };
    out.push((Tone::Title, format!("ringdeck inspect: {}{what}", i.node)));
    for c in &i.conflicts {
        out.push((Tone::Plain, String::new()));
        conflict_lines(c, width, &mut out);
    }
    // Cells are padded: trailing blanks would wrap into empty rows.
    out.into_iter().map(|(t, l)| (t, l.trim_end().to_string())).collect()
}

/// The inspection as plain text.
pub fn text(i: &Inspection) -> String {
    lines(i, 160).into_iter().map(|(_, l)| l + "\n").collect()
}

fn image_json(names: &[String], v: Option<&Vec<Value>>) -> serde_json::Value {
    match v {
        None => serde_json::Value::Null,
        Some(v) => {
            let mut m = Map::new();
            for (n, x) in names.iter().zip(v) {
                m.insert(n.clone(), json!(display_value(x, 4096)));
            }
            serde_json::Value::Object(m)
        }
    }
}

/// The inspection as JSON (schema version 1).
pub fn json(i: &Inspection) -> String {
    let conflicts: Vec<serde_json::Value> = i
        .conflicts
        .iter()
        .map(|c| {
            let names: Vec<String> =
                c.meta.as_ref().map(|m| m.columns.iter().map(|c| c.name.clone()).collect()).unwrap_or_default();
            json!({
                "node": c.node,
                "upstream": c.upstream,
                "errno": c.errno,
                "error": c.error,
                "at": c.at,
                "gtid": c.tx.gtid,
                "server_id": c.tx.server_id,
                "origin": c.origin,
                "table": c.meta.as_ref().map(|m| m.name()),
                "key_columns": c.meta.as_ref().map(|m| m.pk.clone()).unwrap_or_default(),
                "key": c.key,
                "columns": names,
                "event": c.event_row.as_ref().map(|r| json!({
                    "op": r.op,
                    "before": image_json(&names, r.before.as_ref()),
                    "after": image_json(&names, r.after.as_ref()),
                })),
                "statements": c.tx.statements.iter().map(|s| crate::model::sqltext::mask_secrets(s)).collect::<Vec<_>>(),
                "transaction_rows": c.tx.total_rows,
                "transaction_complete": c.tx.complete,
                "rows_touching_key": c.touching,
                "skipped_events": c.tx.skipped,
                "rows": c.rows.iter().map(|(n, s)| match s {
                    Seen::Row { values, .. } => json!({"node": n, "state": "row", "values": image_json(&names, Some(values)), "error": null}),
                    Seen::Absent => json!({"node": n, "state": "absent", "values": null, "error": null}),
                    Seen::Unknown(e) => json!({"node": n, "state": "unknown", "values": null, "error": e}),
                }).collect::<Vec<_>>(),
                "differing_columns": c.differing.iter().filter_map(|i| names.get(*i)).collect::<Vec<_>>(),
                "reached": c.reached,
                "never_if_skipped": c.never,
            })
        })
        .collect();
    let doc =
        json!({"schema_version": 1, "node": i.node, "double_break": i.conflicts.len() > 1, "conflicts": conflicts});
    serde_json::to_string_pretty(&doc)
        .map(|s| s + "\n")
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}\n", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_safe_to_show() {
        assert_eq!(display_value(&Value::Bytes(b"a\nb'c".to_vec()), 40), "'a\\nb''c'");
        assert_eq!(display_value(&Value::Bytes(vec![0, 0xff]), 40), "X'00FF' (2 bytes)");
        assert_eq!(display_value(&Value::Bytes(b"\x1b[31mred".to_vec()), 40), "'\\x1B[31mred'");
        assert_eq!(display_value(&Value::NULL, 40), "NULL");
        assert_eq!(display_value(&Value::Int(7), 40), "7");
        let long = display_value(&Value::Bytes("x".repeat(100).into_bytes()), 10);
        assert_eq!(long.chars().count(), 10);
        assert!(long.ends_with('…'));
        let big = display_value(&Value::Bytes(vec![0xfe; 40]), 200);
        assert!(big.ends_with("…' (40 bytes)"), "{big}");
    }
}
