//! What a node should be answered, from the ring model: the policy of the `[agent]` section, then
//! the fail-safe that never lets a pool lose every server at once. Pure: the same inputs give the
//! same answers (the agent's loop, `agent --once` and the tests all call it).

use crate::config::agent::{AgentConfig, OutWord};
use crate::model::topology::{LinkState, NodeInput, NodeState, Shape, Topology};

/// The four answers HAProxy acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Up,
    Drain,
    Down,
    Maint,
}

impl Class {
    pub const ALL: [Class; 4] = [Class::Up, Class::Drain, Class::Down, Class::Maint];

    pub fn word(self) -> &'static str {
        match self {
            Class::Up => "up",
            Class::Drain => "drain",
            Class::Down => "down",
            Class::Maint => "maint",
        }
    }
}

/// One node's answer in one pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub class: Class,
    /// Percent of the server's configured weight (`up` only; 100 otherwise).
    pub weight: u8,
    /// Why, in a few words (`SQL thread stopped 1062 ...`); empty when all is well.
    pub reason: String,
    /// Kept up by the fail-safe although its own state says otherwise.
    pub kept: bool,
}

impl Verdict {
    pub fn up(weight: u8, reason: impl Into<String>) -> Verdict {
        Verdict { class: Class::Up, weight, reason: reason.into(), kept: false }
    }

    fn out(class: Class, reason: impl Into<String>) -> Verdict {
        Verdict { class, weight: 100, reason: reason.into(), kept: false }
    }

    /// Takes new connections: up with a weight above 0.
    pub fn in_pool(&self) -> bool {
        self.class == Class::Up && self.weight > 0
    }
}

/// A pool resolved against the config: its name, its nodes (indexes), whether it takes writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    pub name: String,
    pub nodes: Vec<usize>,
    pub write: bool,
}

/// The configured pools, or one write pool `default` of every node.
pub fn pools(cfg: &AgentConfig, node_names: &[&str]) -> Vec<Pool> {
    if cfg.pools.is_empty() {
        return vec![Pool { name: "default".into(), nodes: (0..node_names.len()).collect(), write: true }];
    }
    cfg.pools
        .iter()
        .map(|p| Pool {
            name: p.name.clone(),
            nodes: if p.nodes.is_empty() {
                (0..node_names.len()).collect()
            } else {
                p.nodes.iter().filter_map(|n| node_names.iter().position(|m| m == n)).collect()
            },
            write: p.write,
        })
        .collect()
}

/// The answer for node `i` on its own, before damping and the fail-safe. `held` is the recovery
/// wizard's hold on it (the step it is at). A node that stopped answering is judged on its last
/// sample while that is younger than `deadline`, then answered `down`. `None` before the node was
/// ever polled.
pub fn judge(
    i: usize,
    nodes: &[NodeInput<'_>],
    topo: &Topology,
    held: Option<&str>,
    pool: &Pool,
    cfg: &AgentConfig,
    deadline: std::time::Duration,
) -> Option<Verdict> {
    let n = nodes.get(i)?;
    if let Some(step) = held {
        return Some(Verdict::out(Class::Maint, format!("ringdeck recovery {step}")));
    }
    match n.state {
        NodeState::Unknown => return None,
        NodeState::Stale if n.status.is_some() && n.age.is_some_and(|a| a <= deadline) => {}
        NodeState::Down | NodeState::Stale => {
            let age = n.age.map_or(String::new(), |a| format!(" for {}", crate::fmt::duration(a)));
            let why = n.error.map_or("no answer".to_string(), crate::model::topology::error_gist);
            return Some(Verdict::out(Class::Down, format!("no answer{age}: {why}")));
        }
        NodeState::Up => {}
    }
    if let Shape::Ring(order) = &topo.shape
        && !order.contains(&i)
    {
        return Some(Verdict::out(Class::Maint, "bypassed: outside the ring"));
    }
    let out = match cfg.broken {
        OutWord::Drain => Class::Drain,
        OutWord::Down => Class::Down,
    };
    let upstream = |l: &crate::model::topology::Link| topo.upstream_name(nodes, l);
    if let Some(l) = topo.links_into(i).find(|l| l.state == LinkState::Broken) {
        let what = l.problem.clone().unwrap_or_else(|| "replication stopped".into());
        return Some(Verdict::out(out, format!("from {}: {what}", upstream(l))));
    }
    // Lag counts once the model confirmed it (two samples in a row): one sample can lie.
    let worst = topo
        .links_into(i)
        .filter(|l| l.state == LinkState::Lagging)
        .filter_map(|l| l.seconds_behind.map(|s| (s, l)))
        .max_by_key(|(s, _)| *s);
    let (warn, crit) = (cfg.lag_warn.0.as_secs(), cfg.lag_crit.0.as_secs());
    if let Some((s, l)) = worst
        && s >= crit
    {
        return Some(Verdict::out(out, format!("{s} s behind {}", upstream(l))));
    }
    if pool.write && n.status.is_some_and(|st| st.vars.read_only) {
        return Some(Verdict::out(Class::Drain, format!("read_only=ON in write pool {}", pool.name)));
    }
    if let Some((s, l)) = worst
        && s >= warn
    {
        let min = u64::from(cfg.min_weight);
        let cut = (s - warn) * (100 - min) / (crit - warn).max(1);
        let weight = u8::try_from(100u64.saturating_sub(cut).max(min)).unwrap_or(100);
        return Some(Verdict::up(weight, format!("{s} s behind {}", upstream(l))));
    }
    Some(Verdict::up(100, ""))
}

/// The fail-safe: when no node of the pool would take new connections, the node with the most
/// complete data (else the first that answers) is kept up, and its answer says why.
pub fn fail_safe(answers: &mut [Option<Verdict>], nodes: &[NodeInput<'_>], topo: &Topology, pool: &Pool) {
    let members: Vec<usize> =
        pool.nodes.iter().copied().filter(|&i| answers.get(i).is_some_and(Option::is_some)).collect();
    if members.is_empty() || members.iter().any(|&i| answers[i].as_ref().is_some_and(Verdict::in_pool)) {
        return;
    }
    let answering = |i: &usize| nodes.get(*i).is_some_and(|n| n.state == NodeState::Up);
    let complete = topo.most_complete.as_ref().map(|m| m.node).filter(|m| members.contains(m) && answering(m));
    let (keep, why) = match complete {
        Some(m) => (m, "it has the most complete data"),
        None => match members.iter().copied().find(answering) {
            Some(m) => (m, "it is the first that answers"),
            None => return,
        },
    };
    if let Some(v) = answers[keep].as_mut() {
        let own = if v.reason.is_empty() { v.class.word().to_string() } else { v.reason.clone() };
        *v = Verdict {
            class: Class::Up,
            weight: 100,
            reason: format!("kept up, every other server of pool {} is out and {why}; its own state: {own}", pool.name),
            kept: true,
        };
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
