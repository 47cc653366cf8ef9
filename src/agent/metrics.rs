//! `GET /metrics`: the ring as Prometheus reads it (text format 0.0.4), so a fleet of rings is
//! watched by Prometheus and alerted by Alertmanager. Names carry the `ringdeck_` prefix and base
//! units (seconds, bytes, ratios); counters end in `_total`.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Board;
use super::policy::{Class, Pool};
use crate::model::topology::{LinkState, NodeInput, NodeState, Severity, Topology, Upstream};

/// A label value with `\`, `"` and newlines escaped.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The gauges of one evaluation.
pub fn gauges(
    board: &Board,
    nodes: &[NodeInput<'_>],
    topo: &Topology,
    changes: &BTreeMap<(usize, usize), u64>,
    pools: &[Pool],
) -> String {
    let mut o = String::with_capacity(4096);
    family(&mut o, "ringdeck_node_up", "gauge", "1 when the node answered its last poll in time.");
    for n in nodes {
        let _ = writeln!(o, "ringdeck_node_up{{node=\"{}\"}} {}", esc(n.name), u8::from(n.state == NodeState::Up));
    }
    family(&mut o, "ringdeck_node_read_only", "gauge", "1 when the node has read_only=ON (last sample).");
    for n in nodes.iter().filter(|n| n.status.is_some()) {
        let ro = n.status.is_some_and(|s| s.vars.read_only);
        let _ = writeln!(o, "ringdeck_node_read_only{{node=\"{}\"}} {}", esc(n.name), u8::from(ro));
    }
    family(&mut o, "ringdeck_node_sample_age_seconds", "gauge", "Age of the node's last good sample.");
    for n in nodes {
        if let Some(a) = n.age {
            let _ = writeln!(o, "ringdeck_node_sample_age_seconds{{node=\"{}\"}} {:.3}", esc(n.name), a.as_secs_f64());
        }
    }
    let link_labels = |l: &crate::model::topology::Link| {
        let up = match &l.upstream {
            Upstream::Node(i) => nodes.get(*i).map_or("?".to_string(), |n| n.name.to_string()),
            Upstream::External { host, port } => format!("{host}:{port}"),
        };
        let down = nodes.get(l.downstream).map_or("?", |n| n.name);
        format!("node=\"{}\",upstream=\"{}\",connection=\"{}\"", esc(down), esc(&up), esc(&l.connection))
    };
    family(&mut o, "ringdeck_link_running", "gauge", "1 when both replication threads of the link run.");
    for l in &topo.links {
        let running = l.io_running && l.sql_running && l.state != LinkState::Broken;
        let _ = writeln!(o, "ringdeck_link_running{{{}}} {}", link_labels(l), u8::from(running));
    }
    family(&mut o, "ringdeck_link_behind_seconds", "gauge", "Seconds_Behind_Master of the link.");
    for l in &topo.links {
        if let Some(s) = l.seconds_behind {
            let _ = writeln!(o, "ringdeck_link_behind_seconds{{{}}} {s}", link_labels(l));
        }
    }
    family(&mut o, "ringdeck_link_behind_bytes", "gauge", "Upstream binlog bytes not yet executed by the link.");
    for l in &topo.links {
        if let Some(b) = l.bytes_behind {
            let _ = writeln!(o, "ringdeck_link_behind_bytes{{{}}} {b}", link_labels(l));
        }
    }
    family(&mut o, "ringdeck_findings", "gauge", "Findings about the ring now, by kind and severity.");
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for f in &topo.findings {
        let kind = serde_json::to_value(f.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let sev =
            serde_json::to_value(f.severity).ok().and_then(|v| v.as_str().map(str::to_lowercase)).unwrap_or_default();
        *counts.entry((kind, sev)).or_default() += 1;
    }
    for ((kind, sev), n) in &counts {
        let _ = writeln!(o, "ringdeck_findings{{kind=\"{kind}\",severity=\"{sev}\"}} {n}");
    }
    family(&mut o, "ringdeck_ring_ok", "gauge", "1 when the ring model has no finding worse than OK.");
    let _ = writeln!(o, "ringdeck_ring_ok {}", u8::from(topo.severity() == Severity::Ok));
    family(&mut o, "ringdeck_agent_answer", "gauge", "The answer given to HAProxy (1 for the current one).");
    for (pool, answers) in &board.pools {
        for (node, a) in answers {
            for c in Class::ALL {
                let _ = writeln!(
                    o,
                    "ringdeck_agent_answer{{pool=\"{}\",node=\"{}\",answer=\"{}\"}} {}",
                    esc(pool),
                    esc(node),
                    c.word(),
                    u8::from(a.verdict.class == c)
                );
            }
        }
    }
    family(&mut o, "ringdeck_agent_weight_ratio", "gauge", "The weight answered, as a ratio of the configured one.");
    for (pool, answers) in &board.pools {
        for (node, a) in answers {
            let w = if a.verdict.class == Class::Up { f64::from(a.verdict.weight) / 100.0 } else { 0.0 };
            let _ = writeln!(o, "ringdeck_agent_weight_ratio{{pool=\"{}\",node=\"{}\"}} {w}", esc(pool), esc(node));
        }
    }
    family(&mut o, "ringdeck_agent_answer_changes_total", "counter", "Changes of the answer since the agent started.");
    for ((pi, ni), n) in changes {
        if let (Some(p), Some(node)) = (pools.get(*pi), nodes.get(*ni)) {
            let _ = writeln!(
                o,
                "ringdeck_agent_answer_changes_total{{pool=\"{}\",node=\"{}\"}} {n}",
                esc(&p.name),
                esc(node.name)
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::Answer;
    use crate::agent::policy::Verdict;
    use crate::model::tests::topology::{inputs, ring};
    use crate::model::topology::Thresholds;

    #[test]
    fn every_sample_line_is_prometheus_text() {
        let mut st = ring(3);
        st[1].links[0].seconds_behind = Some(7);
        let inp = inputs(&st);
        let topo = Topology::build(&inp, &Thresholds::default());
        let mut b = Board::default();
        let drain = Verdict { class: Class::Drain, weight: 100, reason: "x\"y".into(), kept: false };
        b.pools
            .entry("mysql".into())
            .or_default()
            .insert("node2".into(), Answer { verdict: drain, line: String::new() });
        let pools = vec![Pool { name: "mysql".into(), nodes: vec![0, 1, 2], write: true }];
        let text = gauges(&b, &inp, &topo, &BTreeMap::from([((0, 1), 2)]), &pools);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name_labels, value) = line.rsplit_once(' ').unwrap();
            assert!(name_labels.starts_with("ringdeck_"), "{line}");
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        assert!(text.contains("ringdeck_node_up{node=\"node2\"} 1"));
        assert!(text.contains("ringdeck_link_behind_seconds{node=\"node2\",upstream=\"node1\",connection=\"\"} 7"));
        assert!(text.contains("ringdeck_agent_answer{pool=\"mysql\",node=\"node2\",answer=\"drain\"} 1"));
        assert!(text.contains("ringdeck_agent_answer{pool=\"mysql\",node=\"node2\",answer=\"up\"} 0"));
        assert!(text.contains("ringdeck_agent_weight_ratio{pool=\"mysql\",node=\"node2\"} 0"));
        assert!(text.contains("ringdeck_agent_answer_changes_total{pool=\"mysql\",node=\"node2\"} 2"));
        assert!(text.contains("# TYPE ringdeck_agent_answer_changes_total counter"));
        assert!(text.contains("ringdeck_ring_ok 1"));
    }
}
