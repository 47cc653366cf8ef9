//! Which node holds the most complete data when the ring is broken: by GTID positions when every
//! node has its own domain, else by walking the ring from the break; with the evidence.

use super::findings::{arrow_path, is_down, names};
use super::*;

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

/// One evidence line for the link `up -> down` of the ring.
pub(super) fn evidence_line(nodes: &[NodeInput<'_>], links: &[Link], up: usize, down: usize) -> String {
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
pub(super) fn gtids(nodes: &[NodeInput<'_>]) -> Vec<(usize, String, BTreeMap<String, u64>)> {
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
pub(super) fn gtid_leader(g: &[(usize, String, BTreeMap<String, u64>)]) -> Option<usize> {
    if g.len() < 2 {
        return None;
    }
    g.iter().find(|(_, _, a)| g.iter().all(|(_, _, b)| gtid_dominates(a, b))).map(|(i, _, _)| *i)
}

pub(super) fn gtid_evidence(nodes: &[NodeInput<'_>], g: &[(usize, String, BTreeMap<String, u64>)]) -> Vec<String> {
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

// Long on purpose: the ring walk and its evidence lines; the order of the rules is the explanation shown

// to the operator.

pub(super) fn most_complete(nodes: &[NodeInput<'_>], links: &[Link], shape: &Shape) -> Option<MostComplete> {
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
