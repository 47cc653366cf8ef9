//! What `ringdeck check` reports: the nodes, links, shape, findings and the most complete node,
//! built from one or two polls and the ring model; serialised as its JSON.

use std::time::Duration;

use serde::Serialize;

use crate::config::{self, Config};
use crate::model::topology::{
    Finding, FindingKind, LinkState, NodeInput, NodeState, Severity, Shape, Thresholds, Topology, Upstream,
};

/// Output formats.
use super::Polled;

/// The JSON document (schema version 1, documented in the README).
#[derive(Serialize, Debug)]
pub struct Report {
    pub schema_version: u32,
    pub state: Severity,
    pub exit_code: i32,
    pub summary: String,
    /// Why the check could not run at all (config errors); null otherwise.
    pub error: Option<String>,
    pub config: String,
    pub timeout_ms: u64,
    pub elapsed_ms: u64,
    pub lag_warn_secs: u64,
    pub lag_crit_secs: u64,
    pub nodes: Vec<NodeReport>,
    pub shape: ShapeReport,
    pub links: Vec<LinkReport>,
    pub findings: Vec<FindingReport>,
    pub most_complete: Option<MostCompleteReport>,
}

#[derive(Serialize, Debug)]
pub struct NodeReport {
    pub name: String,
    pub address: String,
    /// `up` or `down`.
    pub state: NodeState,
    pub error: Option<String>,
    pub poll_ms: u64,
    pub version: Option<String>,
    pub dialect: Option<String>,
    pub server_id: Option<u32>,
    pub hostname: Option<String>,
    pub read_only: Option<bool>,
    pub binlog_file: Option<String>,
    pub binlog_pos: Option<u64>,
    pub gtid_binlog_pos: Option<String>,
    pub gtid_slave_pos: Option<String>,
    pub gtid_domain_id: Option<u32>,
    pub auto_increment_increment: Option<u32>,
    pub auto_increment_offset: Option<u32>,
    pub log_slave_updates: Option<bool>,
    pub uptime_secs: Option<u64>,
    pub threads_connected: Option<u32>,
    pub threads_running: Option<u32>,
    pub max_connections: Option<u32>,
}

#[derive(Serialize, Debug)]
pub struct ShapeReport {
    /// `ring`, `chain` or `other`.
    pub kind: &'static str,
    /// Node names in replication order (each replicates from the previous one).
    pub order: Vec<String>,
}

#[derive(Serialize, Debug)]
pub struct LinkReport {
    /// A node name, or `host:port` of a server outside the config.
    pub upstream: String,
    pub upstream_configured: bool,
    pub downstream: String,
    /// MariaDB connection name / MySQL channel; empty for the default.
    pub connection: String,
    /// `running`, `lagging`, `broken` or `unknown`.
    pub state: LinkState,
    pub io_running: bool,
    pub sql_running: bool,
    pub errno: u32,
    pub problem: Option<String>,
    pub seconds_behind: Option<u64>,
    pub bytes_behind: Option<u64>,
    pub behind_by_file: bool,
    pub executed_file: String,
    pub executed_pos: u64,
    pub upstream_file: Option<String>,
    pub upstream_pos: Option<u64>,
}

#[derive(Serialize, Debug)]
pub struct FindingReport {
    pub severity: Severity,
    pub kind: FindingKind,
    pub nodes: Vec<String>,
    pub message: String,
    /// What to do about it (a broken link, by its error; a fork), or null.
    pub advice: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct MostCompleteReport {
    pub node: String,
    pub certain: bool,
    pub reason: String,
    pub evidence: Vec<String>,
}

pub(super) fn shape_report(shape: &Shape, name: impl Fn(usize) -> String) -> ShapeReport {
    let (kind, order) = match shape {
        Shape::Ring(o) => ("ring", o.clone()),
        Shape::Chain(o) => ("chain", o.clone()),
        Shape::Other => ("other", Vec::new()),
    };
    ShapeReport { kind, order: order.into_iter().map(name).collect() }
}

pub(super) fn node_report(node: &config::NodeConfig, p: &Polled) -> NodeReport {
    let s = p.result.as_ref().ok();
    NodeReport {
        name: node.name().to_string(),
        address: node.address(),
        state: if s.is_some() { NodeState::Up } else { NodeState::Down },
        error: p.result.as_ref().err().cloned(),
        poll_ms: p.took.as_millis() as u64,
        version: s.map(|s| s.version.clone()),
        dialect: s.map(|s| s.dialect.label().to_string()),
        server_id: s.map(|s| s.vars.server_id),
        hostname: s.map(|s| s.vars.hostname.clone()),
        read_only: s.map(|s| s.vars.read_only),
        binlog_file: s.and_then(|s| s.binlog.as_ref()).map(|b| b.file.clone()),
        binlog_pos: s.and_then(|s| s.binlog.as_ref()).map(|b| b.position),
        gtid_binlog_pos: s.map(|s| s.vars.gtid_binlog_pos.clone()),
        gtid_slave_pos: s.map(|s| s.vars.gtid_slave_pos.clone()),
        gtid_domain_id: s.and_then(|s| s.vars.gtid_domain_id),
        auto_increment_increment: s.map(|s| s.vars.auto_increment_increment),
        auto_increment_offset: s.map(|s| s.vars.auto_increment_offset),
        log_slave_updates: s.map(|s| s.vars.log_slave_updates),
        uptime_secs: s.map(|s| s.counters.uptime),
        threads_connected: s.map(|s| s.counters.threads_connected),
        threads_running: s.map(|s| s.counters.threads_running),
        max_connections: s.map(|s| s.vars.max_connections),
    }
}

pub(super) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Builds the report from the config and the poll results (pure: unit-testable); `before` is an
/// earlier poll of the same nodes, when one was needed to confirm what `polled` shows.
pub(super) fn report(
    cfg: &Config,
    source: &str,
    polled: &[Polled],
    before: Option<&[Polled]>,
    forks: &Result<Vec<crate::fork::Fork>, String>,
    th: &Thresholds,
    elapsed: Duration,
) -> Report {
    let inputs: Vec<NodeInput<'_>> = cfg
        .nodes
        .iter()
        .zip(polled)
        .enumerate()
        .map(|(i, (n, p))| match &p.result {
            Ok(s) => NodeInput {
                prev: before.and_then(|b| b.get(i)).and_then(|b| b.result.as_ref().ok()),
                ..NodeInput::up(n.name(), &n.host, n.port, s)
            },
            Err(e) => NodeInput::down(n.name(), &n.host, n.port, e),
        })
        .collect();
    let mut topo = Topology::build(&inputs, th);
    topo.add_findings(crate::fork::findings(forks));
    let name = |i: usize| inputs[i].name.to_string();
    let up_count = polled.iter().filter(|p| p.result.is_ok()).count();
    let mut state = topo.severity();
    let summary = if up_count == 0 {
        state = Severity::Unknown;
        format!(
            "no node answered ({})",
            topo.findings.iter().map(|f| one_line(&f.message)).collect::<Vec<_>>().join("; ")
        )
    } else {
        summary(&topo, &inputs)
    };
    Report {
        schema_version: 1,
        state,
        exit_code: state.exit_code(),
        summary,
        error: None,
        config: source.to_string(),
        timeout_ms: cfg.timeout.0.as_millis() as u64,
        elapsed_ms: elapsed.as_millis() as u64,
        lag_warn_secs: th.lag_warn_secs,
        lag_crit_secs: th.lag_crit_secs,
        nodes: cfg.nodes.iter().zip(polled).map(|(n, p)| node_report(n, p)).collect(),
        shape: shape_report(&topo.shape, name),
        links: topo
            .links
            .iter()
            .map(|l| LinkReport {
                upstream: topo.upstream_name(&inputs, l),
                upstream_configured: matches!(l.upstream, Upstream::Node(_)),
                downstream: name(l.downstream),
                connection: l.connection.clone(),
                state: l.state,
                io_running: l.io_running,
                sql_running: l.sql_running,
                errno: l.errno,
                problem: l.problem.clone(),
                seconds_behind: l.seconds_behind,
                bytes_behind: l.bytes_behind,
                behind_by_file: l.behind_by_file,
                executed_file: l.executed.file.clone(),
                executed_pos: l.executed.position,
                upstream_file: l.upstream_at.as_ref().map(|b| b.file.clone()),
                upstream_pos: l.upstream_at.as_ref().map(|b| b.position),
            })
            .collect(),
        findings: topo.findings.iter().map(finding_report).collect(),
        most_complete: topo.most_complete.as_ref().map(|m| MostCompleteReport {
            node: name(m.node),
            certain: m.certain,
            reason: m.reason.clone(),
            evidence: m.evidence.clone(),
        }),
    }
}

pub(super) fn finding_report(f: &Finding) -> FindingReport {
    FindingReport {
        severity: f.severity,
        kind: f.kind,
        nodes: f.nodes.clone(),
        message: f.message.clone(),
        advice: f.advice.clone(),
    }
}

pub(super) fn summary(topo: &Topology, inputs: &[NodeInput<'_>]) -> String {
    if let Some(first) = topo.findings.first() {
        let more = topo.findings.len() - 1;
        let mut s = one_line(&first.message);
        if more > 0 {
            s.push_str(&format!(" (+{more} more)"));
        }
        return s;
    }
    let lag = topo.links.iter().filter_map(|l| l.seconds_behind).max().unwrap_or(0);
    let what = match &topo.shape {
        Shape::Ring(o) => {
            let mut names: Vec<&str> = o.iter().map(|i| inputs[*i].name).collect();
            if let Some(first) = names.first().copied() {
                names.push(first);
            }
            format!("ring {}", names.join(" -> "))
        }
        Shape::Chain(o) => format!("chain {}", o.iter().map(|i| inputs[*i].name).collect::<Vec<_>>().join(" -> ")),
        Shape::Other => "replication".to_string(),
    };
    format!("{what}, {} nodes up, max lag {lag} s", inputs.iter().filter(|n| n.state == NodeState::Up).count())
}

/// A report for a check that could not run (config errors): UNKNOWN.
pub(super) fn failed(error: String, source: &str) -> Report {
    Report {
        schema_version: 1,
        state: Severity::Unknown,
        exit_code: Severity::Unknown.exit_code(),
        summary: error.clone(),
        error: Some(error),
        config: source.to_string(),
        timeout_ms: 0,
        elapsed_ms: 0,
        lag_warn_secs: 0,
        lag_crit_secs: 0,
        nodes: Vec::new(),
        shape: ShapeReport { kind: "other", order: Vec::new() },
        links: Vec::new(),
        findings: Vec::new(),
        most_complete: None,
    }
}
