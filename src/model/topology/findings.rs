//! The ring's findings: per node (down, stale, read_only), per link (broken, lagging), from the
//! configuration (auto-increment settings, server ids) and from the ring's shape.

use super::*;

/// `SQL stopped  1062 Duplicate entry ...` (and the IO thread's problem after `; ` when both
/// have one), or None when the link is healthy.
pub(super) fn link_problem(l: &ReplicaLink) -> Option<String> {
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
pub(super) fn confirmed_lag(n: &NodeInput<'_>, connection: &str) -> u64 {
    let behind = |s: Option<&NodeStatus>| {
        s.and_then(|s| s.links.iter().find(|x| x.connection == connection)).and_then(|x| x.seconds_behind)
    };
    match (behind(n.status), behind(n.prev)) {
        (Some(a), Some(b)) => a.min(b),
        _ => 0,
    }
}

pub(super) fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

pub(super) fn names(nodes: &[NodeInput<'_>], ix: &[usize]) -> String {
    ix.iter().map(|i| nodes[*i].name).collect::<Vec<_>>().join(", ")
}

pub(super) fn arrow_path(nodes: &[NodeInput<'_>], ix: &[usize]) -> String {
    ix.iter().map(|i| nodes[*i].name).collect::<Vec<_>>().join(" -> ")
}

pub(super) fn node_findings(nodes: &[NodeInput<'_>], th: &Thresholds, out: &mut Vec<Finding>) {
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

pub(super) fn link_findings(nodes: &[NodeInput<'_>], links: &[Link], th: &Thresholds, out: &mut Vec<Finding>) {
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
            f.advice = raw.and_then(|r| crate::model::advice::for_link(&down, &upstream_name(nodes, &l.upstream), r));
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

// Long on purpose: independent checks of the nodes' settings (server ids, auto-increment, binlog, GTID

// domains), one after the other.

pub(super) fn config_findings(nodes: &[NodeInput<'_>], out: &mut Vec<Finding>) {
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
pub(super) fn upstreams(nodes: &[NodeInput<'_>], links: &[Link]) -> Vec<Vec<usize>> {
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

pub(super) fn shape_findings(nodes: &[NodeInput<'_>], links: &[Link], shape: &Shape, out: &mut Vec<Finding>) {
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

pub(super) fn is_down(n: &NodeInput<'_>) -> bool {
    n.state == NodeState::Down || n.status.is_none()
}
