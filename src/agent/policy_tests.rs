//! The policy on rings built from the recorded MariaDB replica rows: every rule of the `[agent]`
//! section, and the fail-safe.

use super::*;
use crate::model::replication::ReplicaLink;
use crate::model::tests::replication::rows_from_vertical;
use crate::model::tests::topology::{BROKEN, inputs, ring};
use crate::model::topology::Thresholds;

const DEADLINE: std::time::Duration = std::time::Duration::from_millis(2500);

fn write_pool(n: usize) -> Pool {
    Pool { name: "mysql".into(), nodes: (0..n).collect(), write: true }
}

fn judge_all(nodes: &[NodeInput<'_>], topo: &Topology, cfg: &AgentConfig, pool: &Pool) -> Vec<Option<Verdict>> {
    (0..nodes.len()).map(|i| judge(i, nodes, topo, None, pool, cfg, DEADLINE)).collect()
}

fn th(cfg: &AgentConfig) -> Thresholds {
    Thresholds {
        lag_warn_secs: cfg.lag_warn.0.as_secs(),
        lag_crit_secs: cfg.lag_crit.0.as_secs(),
        ..Thresholds::default()
    }
}

#[test]
fn a_healthy_ring_is_up_everywhere() {
    let cfg = AgentConfig::default();
    let st = ring(3);
    let inp = inputs(&st);
    let t = Topology::build(&inp, &th(&cfg));
    for v in judge_all(&inp, &t, &cfg, &write_pool(3)) {
        assert_eq!(v, Some(Verdict::up(100, "")));
    }
}

#[test]
fn a_broken_link_drains_its_node_with_the_error_as_reason() {
    let mut cfg = AgentConfig::default();
    let mut st = ring(3);
    st[1].links = vec![ReplicaLink::from_row(&rows_from_vertical(BROKEN)[0]).unwrap()];
    let inp = inputs(&st);
    let t = Topology::build(&inp, &th(&cfg));
    let v = judge_all(&inp, &t, &cfg, &write_pool(3));
    let two = v[1].clone().unwrap();
    assert_eq!(two.class, Class::Drain);
    assert!(two.reason.starts_with("from node1: SQL stopped") && two.reason.contains("1062"), "{}", two.reason);
    assert!(v[0].as_ref().unwrap().in_pool() && v[2].as_ref().unwrap().in_pool());
    cfg.broken = OutWord::Down;
    assert_eq!(judge(1, &inp, &t, None, &write_pool(3), &cfg, DEADLINE).unwrap().class, Class::Down);
}

#[test]
fn lag_cuts_the_weight_in_proportion_then_takes_the_node_out() {
    let cfg = AgentConfig::default(); // warn 10 s, crit 60 s, floor 10 %
    let at = |secs: u64| {
        let mut st = ring(3);
        st[1].links[0].seconds_behind = Some(secs);
        let prev = st.clone();
        let mut inp = inputs(&st);
        for (i, n) in inp.iter_mut().enumerate() {
            n.prev = Some(&prev[i]);
        }
        let t = Topology::build(&inp, &th(&cfg));
        judge(1, &inp, &t, None, &write_pool(3), &cfg, DEADLINE).unwrap()
    };
    assert_eq!(at(5), Verdict::up(100, ""));
    assert_eq!((at(10).class, at(10).weight), (Class::Up, 100));
    assert_eq!((at(35).class, at(35).weight), (Class::Up, 55));
    assert_eq!(at(35).reason, "35 s behind node1");
    assert_eq!(at(59).weight, 12);
    assert_eq!(at(60).class, Class::Drain);
    // Seen in one sample only (no earlier one to confirm it): no cut.
    let mut st = ring(3);
    st[1].links[0].seconds_behind = Some(45);
    let inp = inputs(&st);
    let t = Topology::build(&inp, &th(&cfg));
    assert_eq!(judge(1, &inp, &t, None, &write_pool(3), &cfg, DEADLINE).unwrap(), Verdict::up(100, ""));
}

#[test]
fn down_held_bypassed_and_read_only_nodes() {
    let cfg = AgentConfig::default();
    let mut st = ring(3);
    st[2].vars.read_only = true;
    let mut inp = inputs(&st);
    inp[0] = NodeInput::down("node1", "127.0.0.1", 41001, "ERROR 2003: Can't connect");
    let t = Topology::build(&inp, &th(&cfg));
    let pool = write_pool(3);
    let one = judge(0, &inp, &t, None, &pool, &cfg, DEADLINE).unwrap();
    assert_eq!(one.class, Class::Down);
    assert!(one.reason.starts_with("no answer"), "{}", one.reason);
    let held = judge(1, &inp, &t, Some("step 6 of 9: copy the data"), &pool, &cfg, DEADLINE).unwrap();
    assert_eq!((held.class, held.reason.as_str()), (Class::Maint, "ringdeck recovery step 6 of 9: copy the data"));
    assert_eq!(
        judge(2, &inp, &t, None, &pool, &cfg, DEADLINE).unwrap().class,
        Class::Drain,
        "read_only in a write pool"
    );
    let read = Pool { write: false, ..pool };
    assert!(judge(2, &inp, &t, None, &read, &cfg, DEADLINE).unwrap().in_pool(), "read_only is fine for reads");
    // Never polled yet: no answer at all.
    inp[0] = NodeInput { state: NodeState::Unknown, status: None, error: None, ..inp[0].clone() };
    assert_eq!(judge(0, &inp, &t, None, &write_pool(3), &cfg, DEADLINE), None);
}

#[test]
fn the_fail_safe_keeps_the_most_complete_node_up() {
    let cfg = AgentConfig::default();
    let mut st = ring(3);
    for s in st.iter_mut() {
        s.links = vec![ReplicaLink::from_row(&rows_from_vertical(BROKEN)[0]).unwrap()];
    }
    let inp = inputs(&st);
    let t = Topology::build(&inp, &th(&cfg));
    let pool = write_pool(3);
    let mut v = judge_all(&inp, &t, &cfg, &pool);
    assert!(v.iter().all(|v| !v.as_ref().unwrap().in_pool()), "every node drained on its own");
    fail_safe(&mut v, &inp, &t, &pool);
    let kept: Vec<usize> = (0..3).filter(|&i| v[i].as_ref().unwrap().in_pool()).collect();
    assert_eq!(kept.len(), 1, "{v:?}");
    let k = &v[kept[0]].as_ref().unwrap();
    assert!(k.kept && k.reason.starts_with("kept up, every other server of pool mysql is out"), "{}", k.reason);
    if let Some(m) = &t.most_complete {
        assert_eq!(kept[0], m.node);
    }
    // A pool with a server still in it is left alone.
    let mut w = judge_all(&inp, &t, &cfg, &pool);
    w[2] = Some(Verdict::up(40, "lag"));
    let before = w.clone();
    fail_safe(&mut w, &inp, &t, &pool);
    assert_eq!(w, before);
}

#[test]
fn pools_default_to_one_write_pool_of_every_node() {
    let mut cfg = AgentConfig::default();
    assert_eq!(pools(&cfg, &["a", "b"]), vec![Pool { name: "default".into(), nodes: vec![0, 1], write: true }]);
    cfg.pools.push(crate::config::agent::PoolConfig { name: "ro".into(), nodes: vec!["b".into()], write: false });
    assert_eq!(pools(&cfg, &["a", "b"]), vec![Pool { name: "ro".into(), nodes: vec![1], write: false }]);
}
