//! The three forms of a check report: text for the operator, one Nagios line, JSON.

use std::time::Duration;

use super::report::{LinkReport, Report, one_line};
use crate::model::topology::{NodeState, Severity};

pub(super) fn json(r: &Report) -> String {
    match serde_json::to_string_pretty(r) {
        Ok(s) => format!("{s}\n"),
        // Only plain strings, numbers and enums: serialization cannot fail, but never panic.
        Err(e) => {
            format!("{{\"schema_version\":1,\"state\":\"UNKNOWN\",\"exit_code\":3,\"error\":{:?}}}\n", e.to_string())
        }
    }
}

pub(super) fn state_word(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "OK",
        Severity::Warning => "WARNING",
        Severity::Critical => "CRITICAL",
        Severity::Unknown => "UNKNOWN",
    }
}

/// Nagios plugin output: `STATE - summary | perfdata`, then one line per finding.
pub(super) fn nagios(r: &Report) -> String {
    let clean = |s: &str| one_line(s).replace('|', "/");
    let mut perf = Vec::new();
    let up = r.nodes.iter().filter(|n| n.state == NodeState::Up).count();
    if !r.nodes.is_empty() {
        perf.push(format!("'nodes_up'={up};;;0;{}", r.nodes.len()));
    }
    for n in &r.nodes {
        let into: Vec<&LinkReport> = r.links.iter().filter(|l| l.downstream == n.name).collect();
        if let Some(lag) = into.iter().filter_map(|l| l.seconds_behind).max() {
            perf.push(format!("'lag_{}'={lag}s;{};{};0;", n.name, r.lag_warn_secs, r.lag_crit_secs));
        }
        if let Some(b) = into.iter().filter_map(|l| l.bytes_behind).max() {
            perf.push(format!("'behind_{}'={b}B;;;0;", n.name));
        }
    }
    let mut out = format!("{} - {}", state_word(r.state), clean(&r.summary));
    if !perf.is_empty() {
        out.push_str(" | ");
        out.push_str(&perf.join(" "));
    }
    out.push('\n');
    for f in &r.findings {
        out.push_str(&format!("{}: {}\n", state_word(f.severity), clean(&f.message)));
        if let Some(a) = &f.advice {
            out.push_str(&format!("  advice: {}\n", clean(a)));
        }
    }
    if let Some(m) = &r.most_complete {
        out.push_str(&format!(
            "most complete data: {} ({}): {}\n",
            m.node,
            if m.certain { "certain" } else { "not certain" },
            clean(&m.reason)
        ));
    }
    out
}

/// Left-aligned columns, two spaces apart, each row indented by two.
pub(super) fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::from(" ");
        for (c, cell) in r.iter().enumerate() {
            line.push(' ');
            line.push_str(cell);
            if c + 1 < r.len() {
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 1));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub(super) fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".to_string(), T::to_string)
}

pub(super) fn on_off(v: Option<bool>, on: &str, off: &str) -> String {
    v.map_or("-".to_string(), |b| (if b { on } else { off }).to_string())
}

/// The human format: nodes, ring, links, findings worst first, then the recommendation.
// Long on purpose: the text report printed top to bottom, section by section.
pub(super) fn text(r: &Report) -> String {
    let mut out = format!("ringdeck check: {} - {}\n", state_word(r.state), one_line(&r.summary));
    if r.error.is_some() {
        return out;
    }
    out.push_str(&format!(
        "config {}; {} node(s) polled in {} ms (timeout {} ms)\n\nNODES\n",
        r.config,
        r.nodes.len(),
        r.elapsed_ms,
        r.timeout_ms
    ));
    let mut rows = vec![
        ["name", "address", "state", "id", "ro", "lsu", "inc/off", "binlog", "gtid", "threads", "uptime", "version"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    ];
    for n in &r.nodes {
        if n.state != NodeState::Up {
            rows.push(vec![n.name.clone(), n.address.clone(), "DOWN".into()]);
            continue;
        }
        rows.push(vec![
            n.name.clone(),
            n.address.clone(),
            "up".into(),
            opt(&n.server_id),
            on_off(n.read_only, "RO", "rw"),
            on_off(n.log_slave_updates, "on", "OFF"),
            format!("{}/{}", opt(&n.auto_increment_increment), opt(&n.auto_increment_offset)),
            match (&n.binlog_file, n.binlog_pos) {
                (Some(f), Some(p)) => format!("{f}:{p}"),
                _ => "-".into(),
            },
            n.gtid_binlog_pos.clone().filter(|g| !g.is_empty()).unwrap_or_else(|| "-".into()),
            format!("{}/{}", opt(&n.threads_connected), opt(&n.max_connections)),
            n.uptime_secs.map_or("-".into(), |u| crate::fmt::duration(Duration::from_secs(u))),
            opt(&n.version),
        ]);
    }
    // A down node's row ends after its state, followed by the error (not squeezed into a column).
    for (line, n) in table(&rows).lines().zip(std::iter::once(None).chain(r.nodes.iter().map(Some))) {
        out.push_str(line);
        if let Some(n) = n.filter(|n| n.state != NodeState::Up) {
            out.push_str(&format!("   {}", opt(&n.error)));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "\nSHAPE  {}\n",
        match r.shape.kind {
            "ring" => {
                let mut o = r.shape.order.clone();
                if let Some(f) = o.first().cloned() {
                    o.push(f);
                }
                format!("ring {}", o.join(" -> "))
            }
            "chain" => match r.nodes.iter().find(|n| Some(&n.name) == r.shape.order.first()) {
                Some(head) if head.state != NodeState::Up => format!(
                    "{} (a chain as far as known: {} is down, its own link is unknown)",
                    r.shape.order.join(" -> "),
                    head.name
                ),
                _ => format!("chain {} (not closed)", r.shape.order.join(" -> ")),
            },
            _ => "not one ring or chain".to_string(),
        }
    ));
    out.push_str("\nLINKS\n");
    if r.links.is_empty() {
        out.push_str("  (none)\n");
    }
    let rows: Vec<Vec<String>> = r
        .links
        .iter()
        .map(|l| {
            let conn = if l.connection.is_empty() { String::new() } else { format!(" ['{}']", l.connection) };
            let behind = match (l.bytes_behind, l.behind_by_file) {
                (Some(b), _) => format!("{b} B behind"),
                (None, true) => "behind by file".into(),
                _ => "-".into(),
            };
            vec![
                format!("{} -> {}{conn}", l.upstream, l.downstream),
                format!("{:?}", l.state).to_ascii_lowercase(),
                l.seconds_behind.map_or("lag -".into(), |s| format!("lag {s} s")),
                behind,
                format!("exec {}:{}", l.executed_file, l.executed_pos),
                l.problem.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&table(&rows));
    out.push_str("\nFINDINGS (worst first)\n");
    if r.findings.is_empty() {
        out.push_str("  none\n");
    }
    let rows: Vec<Vec<String>> =
        r.findings.iter().map(|f| vec![state_word(f.severity).to_string(), f.message.clone()]).collect();
    out.push_str(&table(&rows));
    for f in r.findings.iter().filter(|f| f.advice.is_some()) {
        out.push_str(&format!("  advice ({}): {}\n", f.nodes.join(", "), f.advice.as_deref().unwrap_or("")));
    }
    if let Some(m) = &r.most_complete {
        out.push_str(&format!(
            "\nMOST COMPLETE DATA: {} ({})\n  {}\n  evidence:\n",
            m.node,
            if m.certain { "certain" } else { "NOT certain" },
            m.reason
        ));
        for e in &m.evidence {
            out.push_str(&format!("    {e}\n"));
        }
    }
    out
}
