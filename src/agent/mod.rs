//! `ringdeck agent`: tells HAProxy, per node, whether it should take connections. One process
//! polls every configured node with the console's own collectors and ring model, judges each node
//! by the `[agent]` policy ([`policy`]), damps flapping ([`damp`]), keeps at least one server of
//! every pool in ([`policy::fail_safe`]) and publishes the answers on a [`Board`]. The listeners
//! ([`serve`]) only read the board: an answer never waits on a database, so a hung node cannot
//! stall HAProxy's check; its answer comes from its last sample until that is too old.

pub mod damp;
pub mod metrics;
pub mod policy;
pub mod run;
pub mod serve;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::app::collected::Collected;
use crate::config::Config;
use crate::model::topology::{Thresholds, Topology};
use damp::{Damper, Ready};
use policy::{Pool, Verdict};

/// One node's answer in one pool, as published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub verdict: Verdict,
    /// The agent-check line (without its newline).
    pub line: String,
}

/// Everything the listeners answer from; replaced whole after each evaluation.
#[derive(Clone, Debug, Default)]
pub struct Board {
    /// Pool name -> node name -> answer (a node not polled yet has none).
    pub pools: BTreeMap<String, BTreeMap<String, Answer>>,
    /// Pool names in config order: a request without a pool is answered from the first that
    /// holds the node.
    pub order: Vec<String>,
    /// Every configured node, in config order.
    pub nodes: Vec<String>,
    /// When the answers were made (`None` before the first evaluation).
    pub evaluated: Option<Instant>,
    /// The Prometheus gauges of this evaluation (the request counters are added when served).
    pub gauges: String,
}

/// Why a request cannot be answered from the board.
#[derive(Debug, PartialEq, Eq)]
pub enum Miss {
    /// No such node (or pool) in the config.
    Unknown(String),
    /// Configured, not polled yet.
    NotYet(String),
}

impl Board {
    /// The answer for `node`, in `pool` or in the first pool that holds it.
    pub fn find(&self, node: &str, pool: Option<&str>) -> Result<&Answer, Miss> {
        if !self.nodes.iter().any(|n| n == node) {
            return Err(Miss::Unknown(format!("no node {node:?} in ringdeck's config")));
        }
        let pool = match pool {
            Some(p) if !self.order.iter().any(|o| o == p) => {
                return Err(Miss::Unknown(format!("no pool {p:?} in ringdeck's [agent] config")));
            }
            Some(p) => p.to_string(),
            None => match self.order.iter().find(|p| self.pools.get(*p).is_some_and(|m| m.contains_key(node))) {
                Some(p) => p.clone(),
                None => return Err(Miss::NotYet(format!("{node}: not polled yet"))),
            },
        };
        self.pools
            .get(&pool)
            .and_then(|m| m.get(node))
            .ok_or_else(|| Miss::NotYet(format!("{node}: not polled yet (or not in pool {pool})")))
    }
}

/// Nodes the recovery wizard holds for this config, with the step it is at.
pub fn holds(cfg: &Config) -> BTreeMap<String, String> {
    let Some(path) = crate::recover::state::state_path(&cfg.source) else { return BTreeMap::new() };
    match crate::recover::state::load(&path) {
        Ok(Some(st)) => holds_of(&st),
        _ => BTreeMap::new(),
    }
}

/// The nodes a saved recovery holds (every node of a rebuild, the rejoining node of a rejoin),
/// with `step 6 of 9: <title>`; none once it is done or aborted.
pub fn holds_of(st: &crate::recover::state::RecoveryState) -> BTreeMap<String, String> {
    if st.done() || st.aborted {
        return BTreeMap::new();
    }
    let what = st.next().map_or(String::new(), |k| format!(": {}", k.title()));
    let step = format!("{}{what}", st.position());
    let nodes = match &st.procedure {
        crate::recover::state::Procedure::Rebuild => st.nodes.clone(),
        crate::recover::state::Procedure::Rejoin { .. } => st.copy_targets(),
    };
    nodes.into_iter().map(|n| (n, step.clone())).collect()
}

/// The ring model with the agent's lag thresholds.
pub fn topology(nodes: &[crate::model::topology::NodeInput<'_>], cfg: &Config, stale_after: Duration) -> Topology {
    let a = &cfg.agent;
    let th = Thresholds { lag_warn_secs: a.lag_warn.0.as_secs(), lag_crit_secs: a.lag_crit.0.as_secs(), stale_after };
    Topology::build(nodes, &th)
}

/// Every pool's answers by the policy alone (before damping and the fail-safe), indexed by node.
pub fn own_verdicts(
    cfg: &Config,
    pools: &[Pool],
    nodes: &[crate::model::topology::NodeInput<'_>],
    topo: &Topology,
    holds: &BTreeMap<String, String>,
    deadline: Duration,
) -> Vec<Vec<Option<Verdict>>> {
    pools
        .iter()
        .map(|pool| {
            (0..nodes.len())
                .map(|i| {
                    let held = nodes.get(i).and_then(|n| holds.get(n.name)).map(String::as_str);
                    if pool.nodes.contains(&i) {
                        policy::judge(i, nodes, topo, held, pool, &cfg.agent, deadline)
                    } else {
                        None
                    }
                })
                .collect()
        })
        .collect()
}

/// The agent's memory between evaluations: damping, `ready` windows, change counts.
pub struct Agent {
    cfg: Config,
    pools: Vec<Pool>,
    dampers: BTreeMap<(usize, usize), Damper>,
    ready: BTreeMap<(usize, usize), Ready>,
    changes: BTreeMap<(usize, usize), u64>,
    given: BTreeMap<(usize, usize), String>,
    /// Every node's poll count (a verdict counts once per poll in damping).
    pub polls: Vec<u64>,
    /// Where the `ready` memory survives a restart (`None`: no state dir).
    memory: Option<PathBuf>,
}

impl Agent {
    /// The agent of `cfg`, its `ready` memory in the state dir.
    pub fn new(cfg: &Config) -> Agent {
        Agent::with_memory(cfg, crate::statefile::for_config("agent", &cfg.source))
    }

    /// The agent of `cfg` with its `ready` memory at `memory` (`None`: kept in memory only).
    pub fn with_memory(cfg: &Config, memory: Option<PathBuf>) -> Agent {
        let names: Vec<&str> = cfg.nodes.iter().map(|n| n.name()).collect();
        let pools = policy::pools(&cfg.agent, &names);
        let mut ready = BTreeMap::new();
        // Servers this agent drained or held before a restart still need their `ready`.
        let remembered: Vec<String> = memory
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        for key in &remembered {
            if let Some((p, n)) = key.split_once('/')
                && let (Some(pi), Some(ni)) =
                    (pools.iter().position(|x| x.name == p), cfg.nodes.iter().position(|x| x.name() == n))
            {
                ready.insert((pi, ni), Ready { admin: true, until: None });
            }
        }
        Agent {
            cfg: cfg.clone(),
            pools,
            dampers: BTreeMap::new(),
            ready,
            changes: BTreeMap::new(),
            given: BTreeMap::new(),
            polls: vec![0; cfg.nodes.len()],
            memory,
        }
    }

    /// Judges every node from the collected samples and returns the new board. Changed answers
    /// are logged on stderr, one line each.
    pub fn evaluate(&mut self, data: &Collected, now: Instant) -> Board {
        let stale = data.stale_after();
        let inputs = data.node_inputs(now);
        let topo = topology(&inputs, &self.cfg, stale);
        let holds = holds(&self.cfg);
        let own = own_verdicts(&self.cfg, &self.pools, &inputs, &topo, &holds, stale);
        let a = &self.cfg.agent;
        let mut board = Board {
            order: self.pools.iter().map(|p| p.name.clone()).collect(),
            nodes: self.cfg.nodes.iter().map(|n| n.name().to_string()).collect(),
            evaluated: Some(now),
            ..Board::default()
        };
        for (pi, pool) in self.pools.iter().enumerate() {
            // Damp each node's own verdict, then apply the fail-safe to the damped answers.
            let mut damped: Vec<Option<Verdict>> = vec![None; inputs.len()];
            for &ni in &pool.nodes {
                let v = own[pi].get(ni).cloned().flatten();
                let d = self.dampers.entry((pi, ni)).or_default();
                damped[ni] = d.observe(self.polls[ni], v, a.hold_polls, a.recover_polls).cloned();
            }
            policy::fail_safe(&mut damped, &inputs, &topo, pool);
            let answers = board.pools.entry(pool.name.clone()).or_default();
            for &ni in &pool.nodes {
                let Some(v) = damped[ni].clone() else { continue };
                let ready = self.ready.entry((pi, ni)).or_default().answer(v.class, now, a.ready_window.0);
                let line = wire::agent_line(&v, ready);
                let name = &board.nodes[ni];
                let before = self.given.insert((pi, ni), line.clone());
                if before.as_deref().map(class_word) != Some(class_word(&line)) {
                    *self.changes.entry((pi, ni)).or_default() += 1;
                    eprintln!(
                        "{} ringdeck agent: {name} (pool {}): {} -> {line}",
                        crate::fmt::rfc3339(SystemTime::now()),
                        pool.name,
                        before.as_deref().unwrap_or("(no answer yet)")
                    );
                }
                answers.insert(name.clone(), Answer { verdict: v, line });
            }
        }
        self.remember(now);
        board.gauges = metrics::gauges(&board, &inputs, &topo, &self.changes, &self.pools);
        board
    }

    /// Saves which servers still need `ready` (a JSON list of `pool/node`).
    fn remember(&self, now: Instant) {
        let Some(path) = &self.memory else { return };
        let keys: BTreeSet<String> = self
            .ready
            .iter()
            .filter(|(_, r)| r.pending(now))
            .filter_map(|((pi, ni), _)| {
                Some(format!("{}/{}", self.pools.get(*pi)?.name, self.cfg.nodes.get(*ni)?.name()))
            })
            .collect();
        let text = serde_json::to_string(&keys).unwrap_or_default();
        if std::fs::read_to_string(path).unwrap_or_default() != text {
            if let Some(dir) = path.parent() {
                let _ = crate::statefile::private_dir(dir);
            }
            if let Err(e) = crate::statefile::write_atomic(path, text.as_bytes()) {
                eprintln!("ringdeck agent: cannot save {}: {e}", path.display());
            }
        }
    }
}

/// The first word class of an answer line (`up` for `up 40% ...`): weight and reason changes are
/// not logged as changes.
fn class_word(line: &str) -> &str {
    line.split_whitespace().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recover::state::{Procedure, RecoveryState};

    #[test]
    fn after_a_restart_ready_follows_for_a_server_it_had_drained() {
        let nodes: String = (1..=3)
            .map(|k| format!("[[node]]\nname = \"node{k}\"\nhost = \"127.0.0.1\"\nport = {}\n", 41000 + k))
            .collect();
        let cfg = Config::parse(&nodes, std::path::Path::new("ring.toml")).expect("config");
        let dir = tempfile::tempdir().expect("temp dir");
        let memory = dir.path().join("agent.json");
        std::fs::write(&memory, r#"["default/node2"]"#).expect("write the memory");
        let mut agent = Agent::with_memory(&cfg, Some(memory.clone()));
        let mut data = Collected::new(&cfg);
        let now = std::time::Instant::now();
        for (i, st) in crate::model::tests::topology::ring(3).into_iter().enumerate() {
            data.apply(crate::collect::Update::Node(crate::collect::Polled {
                index: i,
                at: now,
                result: Ok(Box::new(st)),
            }));
            agent.polls[i] += 1;
        }
        let board = agent.evaluate(&data, now);
        assert_eq!(board.find("node2", None).expect("node2").line, "up ready 100%");
        assert_eq!(board.find("node1", None).expect("node1").line, "up 100%");
        let kept: Vec<String> = serde_json::from_str(&std::fs::read_to_string(&memory).unwrap()).unwrap();
        assert_eq!(kept, vec!["default/node2".to_string()], "still inside its ready window");
        assert!(board.gauges.contains("ringdeck_agent_answer{pool=\"default\",node=\"node2\",answer=\"up\"} 1"));
    }

    #[test]
    fn a_running_recovery_holds_its_nodes_until_it_ends() {
        let nodes = vec!["node1".to_string(), "node2".to_string(), "node3".to_string()];
        let mut rebuild = RecoveryState::new(Procedure::Rebuild, nodes.clone(), "lab.toml".into(), String::new());
        rebuild.current = 5;
        let h = holds_of(&rebuild);
        assert_eq!(h.len(), 3);
        assert!(h["node2"].starts_with("step 6 of 9: "), "{h:?}");
        let rejoin = Procedure::Rejoin { node: "node2".into(), donor: "node1".into() };
        let st = RecoveryState::new(rejoin, nodes.clone(), "lab.toml".into(), String::new());
        assert_eq!(holds_of(&st).keys().collect::<Vec<_>>(), vec!["node2"], "only the rejoining node");
        rebuild.aborted = true;
        assert!(holds_of(&rebuild).is_empty());
        rebuild.aborted = false;
        rebuild.current = rebuild.steps.len();
        assert!(holds_of(&rebuild).is_empty(), "done");
    }

    #[test]
    fn requests_find_their_pool_or_the_first_that_holds_the_node() {
        let ans = |line: &str| Answer { verdict: Verdict::up(100, ""), line: line.into() };
        let mut b =
            Board { order: vec!["rw".into(), "ro".into()], nodes: vec!["n1".into(), "n2".into()], ..Board::default() };
        b.pools.entry("rw".into()).or_default().insert("n1".into(), ans("up 100%"));
        b.pools.entry("ro".into()).or_default().insert("n1".into(), ans("up 50%"));
        b.pools.entry("ro".into()).or_default().insert("n2".into(), ans("up 100%"));
        assert_eq!(b.find("n1", None).unwrap().line, "up 100%");
        assert_eq!(b.find("n1", Some("ro")).unwrap().line, "up 50%");
        assert_eq!(b.find("n2", None).unwrap().line, "up 100%", "n2 is only in ro");
        assert!(matches!(b.find("n9", None), Err(Miss::Unknown(_))));
        assert!(matches!(b.find("n1", Some("nope")), Err(Miss::Unknown(_))));
        assert!(matches!(b.find("n2", Some("rw")), Err(Miss::NotYet(_))));
    }
}
