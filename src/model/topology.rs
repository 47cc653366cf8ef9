//! The ring as the operator sees it: links (upstream -> downstream) discovered from every node's
//! replica status, the cycle they form, findings (broken link, node down, lag, ...) with a
//! severity, and, when the ring is broken, which node holds the most complete data and why.
//! Pure: built from the last samples and their health; used by the ring pane and `ringdeck check`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::replication::{BinlogPos, IoState, NodeStatus, ReplicaLink};
use super::ring::{NodeIdent, upstream_of};

mod complete;
mod findings;

use complete::most_complete;
pub use complete::{gtid_dominates, gtid_positions};
use findings::{config_findings, confirmed_lag, link_findings, link_problem, node_findings, shape_findings, upstreams};

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
    /// The good sample before `status` when both came from consecutive polls: a lag counts only
    /// when two samples in a row show it (one sample can lie).
    pub prev: Option<&'a NodeStatus>,
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
    /// The SQL thread executes an older upstream binlog file than the upstream writes now:
    /// behind by at least one file, bytes unknown.
    pub behind_by_file: bool,
    /// The upstream coordinates executed here (Relay_Master_Log_File, Exec_Master_Log_Pos).
    pub executed: BinlogPos,
    /// The upstream's own binlog position in its last sample (None when unknown or external).
    pub upstream_at: Option<BinlogPos>,
    pub io_running: bool,
    pub sql_running: bool,
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
    /// Never sampled yet.
    NodeUnknown,
    Lag,
    ExternalUpstream,
    DuplicateServerId,
    AutoIncrementCollision,
    LogSlaveUpdatesOff,
    NotARing,
    NoReplication,
    ReadOnlyMismatch,
    /// A skipped event left the nodes' data unequal (a forked-data record stands).
    DataForked,
}

/// One finding, about one or more nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub kind: FindingKind,
    pub nodes: Vec<String>,
    pub message: String,
    /// The link it is about (index into [`Topology::links`]), for broken links and lag.
    pub link: Option<usize>,
    /// What to do about it, when there is advice (a broken link, by its error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
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
    /// A stale node is a finding only once its last sample is older than this (two poll
    /// intervals and a half): one failed poll of a node that answers the next is not.
    pub stale_after: Duration,
}

/// How old a sample may be before its target counts as stale: two poll intervals and a half
/// (one failed poll of a target that answers the next is not a finding).
pub fn stale_after(interval: Duration) -> Duration {
    interval * 2 + Duration::from_millis(500)
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { lag_warn_secs: 10, lag_crit_secs: 300, stale_after: stale_after(Duration::from_secs(1)) }
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

impl<'a> NodeInput<'a> {
    /// A node that answered just now with `status`.
    pub fn up(name: &'a str, host: &'a str, port: u16, status: &'a NodeStatus) -> Self {
        NodeInput {
            name,
            host,
            port,
            state: NodeState::Up,
            status: Some(status),
            prev: None,
            error: None,
            age: Some(Duration::ZERO),
        }
    }

    /// A node that did not answer (`error` says why) and has no usable sample.
    pub fn down(name: &'a str, host: &'a str, port: u16, error: &'a str) -> Self {
        NodeInput { name, host, port, state: NodeState::Down, status: None, prev: None, error: Some(error), age: None }
    }
}

/// What a replication SQL error text names, as far as it does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorFacts {
    /// `app.posts` (from "Could not execute Write_rows_v1 event on table app.posts").
    pub table: Option<String>,
    /// `binlog-n1.000001 end_log_pos 3261`.
    pub at: Option<String>,
    /// The message itself: `Duplicate entry '1009' for key 'PRIMARY'`.
    pub main: Option<String>,
    /// The duplicate entry's value as printed (`1009`; composite keys print `5-abc`).
    pub entry: Option<String>,
    /// The index it collided on (`PRIMARY`; MySQL 8 prints `posts.PRIMARY`).
    pub index: Option<String>,
}

/// Reads an SQL thread's error text (MariaDB and MySQL wording).
pub fn error_facts(text: &str) -> ErrorFacts {
    let mut f = ErrorFacts::default();
    for p in text.split("; ").map(str::trim) {
        if let Some(rest) = p.strip_prefix("Could not execute ") {
            f.table = rest.split(" on table ").nth(1).map(|t| t.trim().trim_end_matches('.').to_string());
        } else if let Some(rest) =
            p.strip_prefix("the event's master log ").or_else(|| p.strip_prefix("the event's source log "))
        {
            f.at = Some(rest.replace(',', ""));
        } else if p.starts_with("handler error") {
        } else if f.main.is_none() && !p.is_empty() {
            f.main = Some(p.split(", Error_code:").next().unwrap_or(p).trim().to_string());
        }
    }
    if let Some(m) = &f.main
        && let Some(rest) = m.strip_prefix("Duplicate entry '")
        && let Some((entry, tail)) = rest.rsplit_once("' for key '")
    {
        f.entry = Some(entry.to_string());
        f.index = Some(tail.trim_end_matches('\'').to_string());
    }
    f
}

/// The gist of a replication error for one line: `Duplicate entry '1009' for key 'PRIMARY'
/// (table app.posts, event at binlog-n1.000001 end_log_pos 3261)`. Unknown shapes pass through.
pub fn error_gist(text: &str) -> String {
    // IO thread: `error reconnecting to master 'repl@h:p' - retry-time: 1  maximum-retries: ...
    // message: Can't connect ...` -> `error reconnecting to master 'repl@h:p': Can't connect ...`
    if let (Some((head, _)), Some((_, msg))) = (text.split_once(" - retry-time:"), text.split_once("message: ")) {
        return format!("{}: {}", head.trim(), msg.trim());
    }
    let f = error_facts(text);
    let Some(main) = f.main.as_deref() else {
        return text.trim().to_string();
    };
    let extra: Vec<String> =
        [f.table.map(|t| format!("table {t}")), f.at.map(|a| format!("event at {a}"))].into_iter().flatten().collect();
    if extra.is_empty() { main.to_string() } else { format!("{main} ({})", extra.join(", ")) }
}

fn finding(severity: Severity, kind: FindingKind, nodes: Vec<String>, message: String) -> Finding {
    Finding { severity, kind, nodes, message, link: None, advice: None }
}

impl Topology {
    /// Builds the topology from the nodes' last samples. Nodes are identified by their index in
    /// `nodes` (config order); every node without a sample may be `NodeInput::down`.
    pub fn build(nodes: &[NodeInput<'_>], th: &Thresholds) -> Topology {
        let links = Self::links_of(nodes, th);
        let shape = shape_of(nodes, &links);
        let mut findings = Vec::new();
        node_findings(nodes, th, &mut findings);
        link_findings(nodes, &links, th, &mut findings);
        config_findings(nodes, &mut findings);
        shape_findings(nodes, &links, &shape, &mut findings);
        // Stable: within a severity, the order above (nodes, links, settings, shape).
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let most_complete = most_complete(nodes, &links, &shape);
        Topology { links, shape, findings, most_complete }
    }

    fn links_of(nodes: &[NodeInput<'_>], th: &Thresholds) -> Vec<Link> {
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
                let upstream_at = match upstream {
                    Upstream::Node(u) => {
                        nodes[u].status.filter(|_| nodes[u].state != NodeState::Down).and_then(|s| s.binlog.clone())
                    }
                    Upstream::External { .. } => None,
                };
                let (bytes_behind, behind_by_file) = match &upstream_at {
                    Some(b) if b.file == l.relay_master_log_file => {
                        (Some(b.position.saturating_sub(l.exec_master_log_pos)), false)
                    }
                    Some(b) => (None, !b.file.is_empty() && !l.relay_master_log_file.is_empty()),
                    None => (None, false),
                };
                let problem = link_problem(l);
                let state = if n.state != NodeState::Up {
                    LinkState::Unknown
                } else if problem.is_some() {
                    LinkState::Broken
                } else if confirmed_lag(n, &l.connection) >= th.lag_warn_secs {
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
                    bytes_behind,
                    behind_by_file,
                    executed: BinlogPos { file: l.relay_master_log_file.clone(), position: l.exec_master_log_pos },
                    upstream_at,
                    io_running: l.io == IoState::Running,
                    sql_running: l.sql_running,
                });
            }
        }
        links
    }

    /// Adds findings made outside the replication model (the forked-data records), keeping the
    /// worst first.
    pub fn add_findings(&mut self, more: impl IntoIterator<Item = Finding>) {
        self.findings.extend(more);
        self.findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    }

    /// The worst severity found (OK when there is nothing).
    pub fn severity(&self) -> Severity {
        self.findings.iter().map(|f| f.severity).max().unwrap_or(Severity::Ok)
    }

    /// The worst severity of the findings that name node `name` (OK when none does).
    pub fn node_severity(&self, name: &str) -> Severity {
        self.findings
            .iter()
            .filter(|f| f.nodes.iter().any(|n| n == name))
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Ok)
    }

    /// The link from node `up` into node `down`, if any.
    pub fn link_between(&self, up: usize, down: usize) -> Option<&Link> {
        self.links.iter().find(|l| l.downstream == down && l.upstream == Upstream::Node(up))
    }

    /// Every link into node `down` (several with MariaDB multi-source / MySQL channels).
    pub fn links_into(&self, down: usize) -> impl Iterator<Item = &Link> {
        self.links.iter().filter(move |l| l.downstream == down)
    }

    /// A link's upstream as text: the node's name, or `host:port` for an outside server.
    pub fn upstream_name(&self, nodes: &[NodeInput<'_>], link: &Link) -> String {
        upstream_name(nodes, &link.upstream)
    }
}

fn upstream_name(nodes: &[NodeInput<'_>], u: &Upstream) -> String {
    match u {
        Upstream::Node(u) => nodes[*u].name.to_string(),
        Upstream::External { host, port } => format!("{host}:{port}"),
    }
}

fn link_label(nodes: &[NodeInput<'_>], l: &Link) -> String {
    let conn = if l.connection.is_empty() { String::new() } else { format!(" ['{}']", l.connection) };
    format!("{} -> {}{conn}", upstream_name(nodes, &l.upstream), nodes[l.downstream].name)
}

fn shape_of(nodes: &[NodeInput<'_>], links: &[Link]) -> Shape {
    let n = nodes.len();
    if n == 0 {
        return Shape::Other;
    }
    let ups = upstreams(nodes, links);
    let mut downs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (d, us) in ups.iter().enumerate() {
        for u in us {
            downs[*u].push(d);
        }
    }
    let walk = |start: usize| {
        let mut order = vec![start];
        let mut cur = start;
        while let Some(&next) = downs[cur].first() {
            if order.contains(&next) {
                return (order, next == start);
            }
            order.push(next);
            cur = next;
        }
        (order, false)
    };
    if n > 1 && ups.iter().all(|u| u.len() == 1) && downs.iter().all(|d| d.len() == 1) {
        let (order, closed) = walk(0);
        if closed && order.len() == n {
            return Shape::Ring(order);
        }
        return Shape::Other;
    }
    if ups.iter().all(|u| u.len() <= 1) && downs.iter().all(|d| d.len() <= 1) {
        let heads: Vec<usize> = (0..n).filter(|i| ups[*i].is_empty()).collect();
        if let [head] = heads[..] {
            let (order, _) = walk(head);
            if order.len() == n {
                return Shape::Chain(order);
            }
        }
    }
    Shape::Other
}
