//! The ring as the operator sees it: links (upstream -> downstream) discovered from every node's
//! replica status, the cycle they form, findings (broken link, node down, lag, ...) with a
//! severity, and, when the ring is broken, which node holds the most complete data and why.
//! Pure: built from the last samples and their health; used by the ring pane and `ringdeck check`.

use std::time::Duration;

use serde::Serialize;

use super::replication::NodeStatus;
use super::ring::{NodeIdent, upstream_of};

/// How fresh a node's sample is (the console's `Health`, without the UI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    Up,
    Stale,
    Down,
    Unknown,
}

/// One configured node as the model sees it.
#[derive(Clone, Debug)]
pub struct NodeInput<'a> {
    pub name: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub state: NodeState,
    /// The last good sample (may be old when stale or down).
    pub status: Option<&'a NodeStatus>,
    /// Why the last poll failed.
    pub error: Option<&'a str>,
    /// Age of the last good sample.
    pub age: Option<Duration>,
}

/// Where a link comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Upstream {
    /// A configured node (index into the inputs).
    Node(usize),
    /// A server outside the configured set.
    External { host: String, port: u16 },
}

/// A link's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Running,
    Lagging,
    Broken,
    /// The downstream's sample is missing or old: the link's state is not known.
    Unknown,
}

/// One replication link into a node (one per MariaDB connection name / MySQL channel).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    pub upstream: Upstream,
    pub downstream: usize,
    pub connection: String,
    pub state: LinkState,
    /// `SQL stopped 1062 Duplicate entry ...`, `IO connecting 2003 ...`.
    pub problem: Option<String>,
    /// The first non-zero of Last_SQL_Errno and Last_IO_Errno.
    pub errno: u32,
    pub seconds_behind: Option<u64>,
    /// Upstream binlog bytes not yet executed here, when the files match.
    pub bytes_behind: Option<u64>,
}

/// How bad a finding is, in order of urgency: the overall state is the maximum, so a CRITICAL
/// finding outranks an UNKNOWN one (which only says something could not be checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Ok,
    Warning,
    Unknown,
    Critical,
}

impl Severity {
    /// The Nagios exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub fn exit_code(self) -> i32 {
        match self {
            Severity::Ok => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
            Severity::Unknown => 3,
        }
    }
}

/// What was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    LinkBroken,
    NodeDown,
    NodeStale,
    Lag,
    ExternalUpstream,
    DuplicateServerId,
    AutoIncrementCollision,
    LogSlaveUpdatesOff,
    NotARing,
    NoReplication,
    ReadOnlyMismatch,
}

/// One finding, about one or more nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub kind: FindingKind,
    pub nodes: Vec<String>,
    pub message: String,
}

/// The node to rebuild from when the ring is broken (seed 001, step 3), and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MostComplete {
    pub node: usize,
    pub reason: String,
    /// Positions that support the choice, one line each.
    pub evidence: Vec<String>,
    /// False when several breaks make the choice a judgement call.
    pub certain: bool,
}

/// The ring's shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Every node replicates from the previous one around one cycle (in this order).
    Ring(Vec<usize>),
    /// Links form a line, not a closed loop.
    Chain(Vec<usize>),
    /// Anything else (several cycles, a node with no links, unknown nodes).
    Other,
}

/// Thresholds for findings.
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    pub lag_warn_secs: u64,
    pub lag_crit_secs: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { lag_warn_secs: 10, lag_crit_secs: 300 }
    }
}

/// Everything the model says about the ring.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Topology {
    pub links: Vec<Link>,
    pub shape: Shape,
    /// Worst first.
    pub findings: Vec<Finding>,
    pub most_complete: Option<MostComplete>,
}

impl Topology {
    /// Builds the topology from the nodes' last samples.
    pub fn build(nodes: &[NodeInput<'_>], th: &Thresholds) -> Topology {
        let idents: Vec<NodeIdent<'_>> =
            nodes.iter().map(|n| NodeIdent { host: n.host, port: n.port, status: n.status }).collect();
        let mut links = Vec::new();
        for (d, n) in nodes.iter().enumerate() {
            let Some(st) = n.status else { continue };
            for l in &st.links {
                let upstream = match upstream_of(l, &idents) {
                    Some(u) => Upstream::Node(u),
                    None => Upstream::External { host: l.master_host.clone(), port: l.master_port },
                };
                let problem = l.problem();
                let lag = l.seconds_behind.unwrap_or(0);
                let state = if n.state != NodeState::Up {
                    LinkState::Unknown
                } else if problem.is_some() {
                    LinkState::Broken
                } else if lag >= th.lag_warn_secs {
                    LinkState::Lagging
                } else {
                    LinkState::Running
                };
                links.push(Link {
                    upstream,
                    downstream: d,
                    connection: l.connection.clone(),
                    state,
                    problem,
                    errno: if l.last_sql_errno != 0 { l.last_sql_errno } else { l.last_io_errno },
                    seconds_behind: l.seconds_behind,
                    bytes_behind: None,
                });
            }
        }
        let mut findings = Vec::new();
        for n in nodes {
            match n.state {
                NodeState::Down => findings.push(Finding {
                    severity: Severity::Critical,
                    kind: FindingKind::NodeDown,
                    nodes: vec![n.name.to_string()],
                    message: format!("{} is down: {}", n.name, n.error.unwrap_or("no answer")),
                }),
                NodeState::Stale => findings.push(Finding {
                    severity: Severity::Warning,
                    kind: FindingKind::NodeStale,
                    nodes: vec![n.name.to_string()],
                    message: format!("{}: no fresh sample", n.name),
                }),
                _ => {}
            }
        }
        for l in links.iter().filter(|l| l.state == LinkState::Broken) {
            let up = match &l.upstream {
                Upstream::Node(u) => nodes[*u].name.to_string(),
                Upstream::External { host, port } => format!("{host}:{port}"),
            };
            findings.push(Finding {
                severity: Severity::Critical,
                kind: FindingKind::LinkBroken,
                nodes: vec![nodes[l.downstream].name.to_string()],
                message: format!("{up} -> {}  {}", nodes[l.downstream].name, l.problem.clone().unwrap_or_default()),
            });
        }
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        Topology { links, shape: Shape::Other, findings, most_complete: None }
    }

    /// The worst severity found (OK when there is nothing).
    pub fn severity(&self) -> Severity {
        self.findings.iter().map(|f| f.severity).max().unwrap_or(Severity::Ok)
    }

    /// The link from node `up` into node `down`, if any.
    pub fn link_between(&self, up: usize, down: usize) -> Option<&Link> {
        self.links.iter().find(|l| l.downstream == down && l.upstream == Upstream::Node(up))
    }
}
