//! The ring as the operator sees it: links (upstream -> downstream) discovered from every node's
//! replica status, the cycle they form, findings (broken link, node down, lag, ...) with a
//! severity, and, when the ring is broken, which node holds the most complete data and why.
//! Pure: built from the last samples and their health; used by the ring pane and `ringdeck check`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::replication::{BinlogPos, IoState, NodeStatus, ReplicaLink};
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

impl Default for Thresholds {
    fn default() -> Self {
        Self { lag_warn_secs: 10, lag_crit_secs: 300, stale_after: Duration::from_millis(2500) }
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

/// Per replication domain (MariaDB `D-S-N`) or per source UUID (MySQL `uuid:1-20:22-30`) the
/// highest sequence number in a GTID position/set. Unparsable parts are ignored.
pub fn gtid_positions(text: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, seq) = if let Some((uuid, ranges)) = part.split_once(':') {
            let max = ranges.split(':').filter_map(|r| r.rsplit('-').next()?.trim().parse::<u64>().ok()).max();
            (uuid.trim().to_ascii_lowercase(), max)
        } else {
            let mut it = part.splitn(3, '-');
            let domain = it.next().unwrap_or_default().to_string();
            let seq = it.nth(1).and_then(|s| s.trim().parse::<u64>().ok());
            (domain, seq)
        };
        if let Some(seq) = seq {
            let e = out.entry(key).or_insert(0);
            *e = (*e).max(seq);
        }
    }
    out
}

/// True when `a` has executed at least as far as `b` in every domain `b` knows.
pub fn gtid_dominates(a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>) -> bool {
    b.iter().all(|(k, v)| a.get(k).is_some_and(|x| x >= v))
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

/// `SQL stopped  1062 Duplicate entry ...` (and the IO thread's problem after `; ` when both
/// have one), or None when the link is healthy.
fn link_problem(l: &ReplicaLink) -> Option<String> {
    let mut parts = Vec::new();
    if l.last_sql_errno != 0 || !l.sql_running {
        let what = if l.sql_running { "error" } else { "stopped" };
        parts.push(if l.last_sql_errno != 0 {
            format!("SQL {what}  {} {}", l.last_sql_errno, error_gist(&l.last_sql_error))
        } else {
            format!("SQL {what}")
        });
    }
    if l.io != IoState::Running || l.last_io_errno != 0 {
        let what = match &l.io {
            IoState::Connecting => "connecting",
            IoState::Stopped => "stopped",
            _ => "error",
        };
        parts.push(if l.last_io_errno != 0 {
            format!("IO {what}  {} {}", l.last_io_errno, error_gist(&l.last_io_error))
        } else {
            format!("IO {what}")
        });
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Seconds behind that the last two samples of the link (by connection name) agree on, the
/// smaller of the two: a spike seen once is not lag. 0 without a previous sample.
fn confirmed_lag(n: &NodeInput<'_>, connection: &str) -> u64 {
    let behind = |s: Option<&NodeStatus>| {
        s.and_then(|s| s.links.iter().find(|x| x.connection == connection)).and_then(|x| x.seconds_behind)
    };
    match (behind(n.status), behind(n.prev)) {
        (Some(a), Some(b)) => a.min(b),
        _ => 0,
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn names(nodes: &[NodeInput<'_>], ix: &[usize]) -> String {
    ix.iter().map(|i| nodes[*i].name).collect::<Vec<_>>().join(", ")
}

fn arrow_path(nodes: &[NodeInput<'_>], ix: &[usize]) -> String {
    ix.iter().map(|i| nodes[*i].name).collect::<Vec<_>>().join(" -> ")
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

fn node_findings(nodes: &[NodeInput<'_>], th: &Thresholds, out: &mut Vec<Finding>) {
    for n in nodes {
        let who = vec![n.name.to_string()];
        match n.state {
            NodeState::Down => out.push(finding(
                Severity::Critical,
                FindingKind::NodeDown,
                who,
                format!("{} ({}:{}) is down: {}", n.name, n.host, n.port, n.error.unwrap_or("no answer")),
            )),
            // Stale after one failed poll only (its sample is still recent): no finding yet.
            NodeState::Stale if n.age.is_some_and(|a| a <= th.stale_after) => {}
            NodeState::Stale => out.push(finding(
                Severity::Warning,
                FindingKind::NodeStale,
                who,
                match n.age {
                    Some(a) => format!(
                        "{}: last sample {} s old{}",
                        n.name,
                        a.as_secs(),
                        n.error.map(|e| format!(" ({e})")).unwrap_or_default()
                    ),
                    None => format!("{}: no fresh sample", n.name),
                },
            )),
            NodeState::Unknown => out.push(finding(
                Severity::Unknown,
                FindingKind::NodeUnknown,
                who,
                format!("{}: no sample yet", n.name),
            )),
            NodeState::Up => {}
        }
    }
}

fn link_findings(nodes: &[NodeInput<'_>], links: &[Link], th: &Thresholds, out: &mut Vec<Finding>) {
    for (i, l) in links.iter().enumerate() {
        let down = nodes[l.downstream].name.to_string();
        if let Upstream::External { host, port } = &l.upstream {
            out.push(finding(
                Severity::Warning,
                FindingKind::ExternalUpstream,
                vec![down.clone()],
                format!(
                    "{down} replicates from {host}:{port}, which is not a configured node \
                     (matched by host:port, server_id and hostname)"
                ),
            ));
        }
        if l.state == LinkState::Broken {
            let cause = match l.upstream {
                Upstream::Node(u) if is_down(&nodes[u]) => format!(" ({} is down)", nodes[u].name),
                _ => String::new(),
            };
            let mut f = finding(
                Severity::Critical,
                FindingKind::LinkBroken,
                vec![down.clone()],
                format!("{}  {}{cause}", link_label(nodes, l), l.problem.clone().unwrap_or_default()),
            );
            f.link = Some(i);
            let raw = nodes[l.downstream].status.and_then(|s| s.links.iter().find(|x| x.connection == l.connection));
            f.advice = raw.and_then(|r| super::advice::for_link(&down, &upstream_name(nodes, &l.upstream), r));
            out.push(f);
        } else if l.state == LinkState::Lagging {
            let secs = l.seconds_behind.unwrap_or(0);
            let (severity, limit) = if confirmed_lag(&nodes[l.downstream], &l.connection) >= th.lag_crit_secs {
                (Severity::Critical, th.lag_crit_secs)
            } else {
                (Severity::Warning, th.lag_warn_secs)
            };
            let behind = match (l.bytes_behind, l.behind_by_file, &l.upstream_at) {
                (Some(b), _, _) => format!(", {b} bytes of binlog not applied"),
                (None, true, Some(up)) => {
                    format!(", behind by file: executing {}, upstream writes {}", l.executed.file, up.file)
                }
                _ => String::new(),
            };
            let mut f = finding(
                severity,
                FindingKind::Lag,
                vec![down.clone()],
                format!("{}  lag {secs} s (limit {limit} s){behind}", link_label(nodes, l)),
            );
            f.link = Some(i);
            out.push(f);
        }
    }
}

fn config_findings(nodes: &[NodeInput<'_>], out: &mut Vec<Finding>) {
    let with: Vec<(usize, &NodeStatus)> =
        nodes.iter().enumerate().filter_map(|(i, n)| n.status.map(|s| (i, s))).collect();
    let n = nodes.len();
    // Duplicate server_id.
    let mut by_id: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, s) in &with {
        by_id.entry(s.vars.server_id).or_default().push(*i);
    }
    for (id, ix) in by_id.iter().filter(|(_, ix)| ix.len() > 1) {
        out.push(finding(
            Severity::Critical,
            FindingKind::DuplicateServerId,
            ix.iter().map(|i| nodes[*i].name.to_string()).collect(),
            format!(
                "{} share server_id {id}: each skips the other's events as its own, so writes \
                 are silently lost around the ring",
                names(nodes, ix)
            ),
        ));
    }
    if n > 1 {
        // Auto-increment: every node's ids are offset + k * increment (an offset above the
        // increment is ignored by the server and acts as 1).
        let small: Vec<usize> =
            with.iter().filter(|(_, s)| (s.vars.auto_increment_increment as usize) < n).map(|(i, _)| *i).collect();
        if !small.is_empty() {
            let detail: Vec<String> = small
                .iter()
                .filter_map(|i| {
                    let v = &nodes[*i].status?.vars;
                    Some(format!("{} {}", nodes[*i].name, v.auto_increment_increment))
                })
                .collect();
            out.push(finding(
                Severity::Critical,
                FindingKind::AutoIncrementCollision,
                small.iter().map(|i| nodes[*i].name.to_string()).collect(),
                format!(
                    "auto_increment_increment smaller than the {n} nodes ({}): inserts on \
                     different nodes can take the same id",
                    detail.join(", ")
                ),
            ));
        }
        let high: Vec<(usize, u32, u32)> = with
            .iter()
            .filter(|(_, s)| s.vars.auto_increment_offset > s.vars.auto_increment_increment)
            .map(|(i, s)| (*i, s.vars.auto_increment_offset, s.vars.auto_increment_increment))
            .collect();
        for (i, off, inc) in &high {
            out.push(finding(
                Severity::Critical,
                FindingKind::AutoIncrementCollision,
                vec![nodes[*i].name.to_string()],
                format!(
                    "{}: auto_increment_offset {off} > auto_increment_increment {inc}: the \
                     server ignores the offset, so its ids collide with another node's",
                    nodes[*i].name
                ),
            ));
        }
        let eff = |s: &NodeStatus| {
            let inc = s.vars.auto_increment_increment.max(1);
            let off = s.vars.auto_increment_offset;
            (if off > inc || off == 0 { 1 } else { off }, inc)
        };
        let mut pairs = Vec::new();
        let mut who = Vec::new();
        for (a, (ia, sa)) in with.iter().enumerate() {
            for (ib, sb) in &with[a + 1..] {
                if small.contains(ia) || small.contains(ib) {
                    continue;
                }
                let ((oa, na), (ob, nb)) = (eff(sa), eff(sb));
                if (i64::from(oa) - i64::from(ob)).rem_euclid(i64::from(gcd(na, nb))) == 0 {
                    pairs.push(format!(
                        "{} (offset {oa}, increment {na}) and {} (offset {ob}, increment {nb})",
                        nodes[*ia].name, nodes[*ib].name
                    ));
                    for i in [ia, ib] {
                        if !who.contains(&nodes[*i].name.to_string()) {
                            who.push(nodes[*i].name.to_string());
                        }
                    }
                }
            }
        }
        if !pairs.is_empty() {
            out.push(finding(
                Severity::Critical,
                FindingKind::AutoIncrementCollision,
                who,
                format!(
                    "auto-increment ids can collide: {}; give node i offset i and every node \
                     increment {n}",
                    pairs.join("; ")
                ),
            ));
        }
        // log_slave_updates.
        for (i, s) in &with {
            if !s.vars.log_slave_updates {
                out.push(finding(
                    Severity::Critical,
                    FindingKind::LogSlaveUpdatesOff,
                    vec![nodes[*i].name.to_string()],
                    format!(
                        "{}: log_slave_updates (log_replica_updates) is OFF: what it replicates \
                         is not written to its binlog, so other nodes' writes stop here instead \
                         of going on around the ring",
                        nodes[*i].name
                    ),
                ));
            }
        }
        // read_only.
        let (ro, rw): (Vec<usize>, Vec<usize>) =
            with.iter().map(|(i, _)| *i).partition(|i| nodes[*i].status.is_some_and(|s: &NodeStatus| s.vars.read_only));
        if !ro.is_empty() && !rw.is_empty() {
            out.push(finding(
                Severity::Warning,
                FindingKind::ReadOnlyMismatch,
                ro.iter().map(|i| nodes[*i].name.to_string()).collect(),
                format!(
                    "read_only differs: writable {}; read-only {} (writes sent to a read-only \
                     node fail)",
                    names(nodes, &rw),
                    names(nodes, &ro)
                ),
            ));
        }
    }
}

/// Configured upstreams of each node (distinct, self-links ignored), from the links known.
fn upstreams(nodes: &[NodeInput<'_>], links: &[Link]) -> Vec<Vec<usize>> {
    let mut ups: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for l in links {
        if let Upstream::Node(u) = l.upstream
            && u != l.downstream
            && !ups[l.downstream].contains(&u)
        {
            ups[l.downstream].push(u);
        }
    }
    ups
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

fn shape_findings(nodes: &[NodeInput<'_>], links: &[Link], shape: &Shape, out: &mut Vec<Finding>) {
    let n = nodes.len();
    if n < 2 {
        return;
    }
    for (i, node) in nodes.iter().enumerate() {
        if node.status.is_some_and(|s| s.links.is_empty()) {
            out.push(finding(
                Severity::Warning,
                FindingKind::NoReplication,
                vec![node.name.to_string()],
                format!("{} has no replica link: writes made on the other nodes never reach it", nodes[i].name),
            ));
        }
    }
    let all_known = nodes.iter().all(|n| n.status.is_some());
    match shape {
        Shape::Ring(_) => {}
        Shape::Chain(order) => {
            // A head without a sample is a node down: its links are unknown, not missing.
            let (Some(&head), Some(&tail)) = (order.first(), order.last()) else {
                return;
            };
            if nodes[head].status.is_some() {
                let others: Vec<usize> = order[..order.len() - 1].to_vec();
                out.push(finding(
                    Severity::Warning,
                    FindingKind::NotARing,
                    order.iter().map(|i| nodes[*i].name.to_string()).collect(),
                    format!(
                        "a chain, not a ring: {}; {} does not replicate from {}, so writes on \
                         {} never reach {}",
                        arrow_path(nodes, order),
                        nodes[head].name,
                        nodes[tail].name,
                        nodes[tail].name,
                        names(nodes, &others)
                    ),
                ));
            }
        }
        Shape::Other if all_known => {
            let ups = upstreams(nodes, links);
            let mut why = Vec::new();
            for (i, u) in ups.iter().enumerate() {
                if u.len() > 1 {
                    why.push(format!("{} replicates from {}", nodes[i].name, names(nodes, u)));
                }
                if u.is_empty() {
                    why.push(format!("{} has no upstream among the nodes", nodes[i].name));
                }
                let downs = ups.iter().filter(|x| x.contains(&i)).count();
                if downs > 1 {
                    why.push(format!("{} feeds {downs} nodes", nodes[i].name));
                }
            }
            if why.is_empty() {
                why.push("the links form more than one cycle".into());
            }
            out.push(finding(
                Severity::Warning,
                FindingKind::NotARing,
                nodes.iter().map(|n| n.name.to_string()).collect(),
                format!("the replication links do not form one ring: {}", why.join("; ")),
            ));
        }
        Shape::Other => {}
    }
}

fn is_down(n: &NodeInput<'_>) -> bool {
    n.state == NodeState::Down || n.status.is_none()
}

/// One evidence line for the link `up -> down` of the ring.
fn evidence_line(nodes: &[NodeInput<'_>], links: &[Link], up: usize, down: usize) -> String {
    let (u, d) = (nodes[up].name, nodes[down].name);
    if is_down(&nodes[down]) {
        return format!("{d} is down: what it executed of {u}'s binlog is unknown");
    }
    let Some(l) = links.iter().find(|l| l.downstream == down && l.upstream == Upstream::Node(up)) else {
        return format!("{d} has no link from {u}");
    };
    let exec = format!("{d} executed {u}'s binlog up to {}:{}", l.executed.file, l.executed.position);
    let state = match &l.problem {
        Some(p) => format!(" [{p}]"),
        None => String::new(),
    };
    match (&l.upstream_at, l.bytes_behind) {
        (None, _) => format!("{exec}; {u} is down (its position is unknown){state}"),
        (Some(b), Some(0)) => format!("{exec}; {u} is at {}:{} (all applied)", b.file, b.position),
        (Some(b), Some(n)) => format!("{exec}; {u} is at {}:{} ({n} bytes not applied){state}", b.file, b.position),
        (Some(b), None) => format!("{exec}; {u} is at {}:{} (behind by file){state}", b.file, b.position),
    }
}

/// GTID positions of the nodes that have a sample and one: (index, text, parsed).
/// MariaDB sequence numbers compare only within one origin: with several nodes writing into the
/// same `gtid_domain_id` (a position-based ring left at domain 0) they say nothing, so GTIDs are
/// used only when every node has its own domain (or MySQL UUID sets, which are per server).
fn gtids(nodes: &[NodeInput<'_>]) -> Vec<(usize, String, BTreeMap<String, u64>)> {
    let domains: Vec<u32> =
        nodes.iter().filter(|n| !is_down(n)).filter_map(|n| n.status?.vars.gtid_domain_id).collect();
    let mut distinct = domains.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != domains.len() {
        return Vec::new();
    }
    nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| !is_down(n))
        .filter_map(|(i, n)| {
            let text = n.status?.vars.gtid_binlog_pos.trim().to_string();
            let parsed = gtid_positions(&text);
            (!parsed.is_empty()).then_some((i, text, parsed))
        })
        .collect()
}

/// The node whose GTID positions dominate every other reachable node's, if one does.
fn gtid_leader(g: &[(usize, String, BTreeMap<String, u64>)]) -> Option<usize> {
    if g.len() < 2 {
        return None;
    }
    g.iter().find(|(_, _, a)| g.iter().all(|(_, _, b)| gtid_dominates(a, b))).map(|(i, _, _)| *i)
}

fn gtid_evidence(nodes: &[NodeInput<'_>], g: &[(usize, String, BTreeMap<String, u64>)]) -> Vec<String> {
    if g.is_empty() {
        return Vec::new();
    }
    let mut ev: Vec<String> = g.iter().map(|(i, t, _)| format!("{} gtid_binlog_pos {t}", nodes[*i].name)).collect();
    ev.push(match gtid_leader(g) {
        Some(i) => format!("{}'s GTID positions dominate in every domain", nodes[i].name),
        None => "no node's GTID positions dominate all others".to_string(),
    });
    ev
}

fn most_complete(nodes: &[NodeInput<'_>], links: &[Link], shape: &Shape) -> Option<MostComplete> {
    let n = nodes.len();
    let g = gtids(nodes);
    let any_break =
        links.iter().any(|l| l.state == LinkState::Broken) || nodes.iter().any(|n| n.state == NodeState::Down);
    // The ring's order: a Ring, or a Chain whose head is down (its link from the tail is unknown).
    let order = match shape {
        Shape::Ring(o) => o.clone(),
        Shape::Chain(o) if o.len() == n && n > 1 && is_down(&nodes[o[0]]) => o.clone(),
        _ => {
            if !any_break {
                return None;
            }
            let leader = gtid_leader(&g)?;
            return Some(MostComplete {
                node: leader,
                reason: format!(
                    "the links do not form a ring, so the ring rule does not apply; {}'s GTID \
                     positions dominate every other node's",
                    nodes[leader].name
                ),
                evidence: gtid_evidence(nodes, &g),
                certain: false,
            });
        }
    };
    // Failure points: a node down, or a broken link into a node whose upstream is not down.
    let mut failures: Vec<(usize, String)> = Vec::new();
    for i in 0..n {
        let (up, f) = (order[(i + n - 1) % n], order[i]);
        if is_down(&nodes[f]) {
            failures.push((i, format!("{} is down", nodes[f].name)));
            continue;
        }
        if is_down(&nodes[up]) {
            continue;
        }
        let into: Vec<&Link> = links.iter().filter(|l| l.downstream == f && l.upstream == Upstream::Node(up)).collect();
        if let Some(l) = into.iter().find(|l| l.state == LinkState::Broken) {
            let what = l
                .problem
                .as_deref()
                .map(|p| p.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
                .unwrap_or_default();
            let errno = if l.errno != 0 { format!(", error {}", l.errno) } else { String::new() };
            failures.push((i, format!("{} {what}{errno}", link_label(nodes, l))));
        }
    }
    if failures.is_empty() {
        return None;
    }
    let mut evidence: Vec<String> =
        (0..n).map(|i| evidence_line(nodes, links, order[(i + n - 1) % n], order[i])).collect();
    evidence.extend(gtid_evidence(nodes, &g));
    let leader = gtid_leader(&g);
    if let [(i, what)] = &failures[..] {
        let f = order[*i];
        let up = order[(i + n - 1) % n];
        // From the failed node around to its upstream: the path every write took to reach it.
        let path: Vec<usize> = (0..n).map(|k| order[(i + k) % n]).collect();
        let mut reason = format!(
            "one break: {what}. {u} is {f}'s upstream: every write made on {others} went around \
             the ring ({p}) to {u}, and {u}'s own writes stop at the break, so {u} has the most \
             complete data (the rule of the recovery: the failed node's master is the source)",
            u = nodes[up].name,
            f = nodes[f].name,
            others = names(nodes, &path[..n - 1]),
            p = arrow_path(nodes, &path),
        );
        let mut certain = true;
        let behind: Vec<String> = path
            .windows(2)
            .filter_map(|w| {
                let l = links.iter().find(|l| l.downstream == w[1] && l.upstream == Upstream::Node(w[0]))?;
                (l.bytes_behind.is_some_and(|b| b > 0) || l.behind_by_file).then(|| link_label(nodes, l))
            })
            .collect();
        if !behind.is_empty() {
            reason.push_str(&format!("; wait until {} has caught up before copying", behind.join(", ")));
        }
        if let Some(l) = leader.filter(|l| *l != up) {
            certain = false;
            reason.push_str(&format!(
                "; but {}'s GTID positions dominate: compare the data before choosing",
                nodes[l].name
            ));
        }
        return Some(MostComplete { node: up, reason, evidence, certain });
    }
    // Several breaks: each working run (from one failure point to the node before the next)
    // holds the writes of its own nodes only.
    let what: Vec<String> = failures.iter().map(|(_, w)| w.clone()).collect();
    let mut best: Option<(usize, Vec<usize>)> = None;
    for (k, (j, _)) in failures.iter().enumerate() {
        let (prev, _) = failures[(k + failures.len() - 1) % failures.len()];
        let len = (j + n - prev) % n;
        let run: Vec<usize> = (0..len).map(|s| order[(prev + s) % n]).collect();
        let cand = order[(j + n - 1) % n];
        if is_down(&nodes[cand]) {
            continue;
        }
        if best.as_ref().is_none_or(|(_, r)| run.len() > r.len()) {
            best = Some((cand, run));
        }
    }
    let (node, reason) = match (leader, best) {
        (Some(l), _) => (
            l,
            format!(
                "{} breaks ({}): no node is sure to have every write; {}'s GTID positions \
                 dominate every other node's. Compare the data (CHECKSUM TABLE) before choosing",
                failures.len(),
                what.join("; "),
                nodes[l].name
            ),
        ),
        (None, Some((c, run))) => (
            c,
            format!(
                "{} breaks ({}): no node has every write, writes made after the breaks stay \
                 where they were made. {} ends the longest working run ({}) and has those \
                 nodes' writes; compare the data (CHECKSUM TABLE) before choosing",
                failures.len(),
                what.join("; "),
                nodes[c].name,
                arrow_path(nodes, &run)
            ),
        ),
        (None, None) => return None,
    };
    Some(MostComplete { node, reason, evidence, certain: false })
}
