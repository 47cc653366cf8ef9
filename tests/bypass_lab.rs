//! Bypassing a failed node on a real lab (seed 001's "restore around a failed node"): node2 breaks
//! on a duplicate key; `ringdeck run bypass --node node2` plans on node3 (dry run changes nothing),
//! refuses under `--read-only` and without the typed name, then points node3 at node1 where node2
//! stopped, so node1 and node3 form a ring again: rows written on either reach the other, the audit
//! log holds the step, and node2 stays out.

mod common;

use std::time::Duration;

use common::{Lab, audit_lines, rd, rd_ok, wait_until};

#[test]
fn bypass_a_broken_node() {
    let lab = Lab::start(3);
    let state = tempfile::tempdir().expect("state dir");
    let state = state.path();
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    wait_until(Duration::from_secs(20), "node2 stopped on 1062", || {
        lab.replica_status(2).get("Last_SQL_Errno").map(String::as_str) == Some("1062")
    });
    let master_port = |k| lab.replica_status(k).get("Master_Port").cloned().unwrap_or_default();
    let node1_port = lab.node_port(1).to_string();
    let node2_port = lab.node_port(2).to_string();

    // Dry run: the plan runs on node3 and names node1's coordinates; nothing changes.
    let plan = rd_ok(&lab, state, &["run", "bypass", "--node", "node2"]);
    assert!(plan.contains("bypass node2: point node3 at node1"), "{plan}");
    assert!(plan.contains("CHANGE MASTER TO MASTER_HOST='127.0.0.1'"), "{plan}");
    assert!(plan.contains("dry run: nothing was changed") && plan.contains("--confirm-node node3"), "{plan}");
    assert_eq!(master_port(3), node2_port);

    let (code, text) = rd(&lab, state, &["--read-only", "run", "bypass", "--node", "node2", "--yes"]);
    assert_eq!(code, 3, "{text}");
    let (code, text) = rd(&lab, state, &["run", "bypass", "--node", "node2", "--yes"]);
    assert_eq!(code, 2, "without --confirm-node: {text}");
    assert_eq!(master_port(3), node2_port);
    assert!(audit_lines(state).is_empty());

    let out = rd_ok(&lab, state, &["run", "bypass", "--node", "node2", "--yes", "--confirm-node", "node3"]);
    assert!(out.contains("OK"), "{out}");
    assert_eq!(master_port(3), node1_port);

    // node1 -> node3 -> node1 is a ring again; node2 no longer gets anything from node3's side.
    lab.query(1, "INSERT INTO app.posts (id, node, body) VALUES (900001, 'node1', 'after bypass')");
    lab.query(3, "INSERT INTO app.posts (id, node, body) VALUES (900003, 'node3', 'after bypass')");
    wait_until(Duration::from_secs(30), "rows from node1 and node3 on both", || {
        [1, 3].iter().all(|&k| {
            lab.query_one(k, "SELECT COUNT(*) FROM app.posts WHERE id IN (900001, 900003)").as_deref() == Some("2")
        })
    });
    let s3 = lab.replica_status(3);
    assert_eq!(s3.get("Slave_SQL_Running").map(String::as_str), Some("Yes"), "{s3:?}");
    assert_eq!(s3.get("Last_SQL_Errno").map(String::as_str), Some("0"), "{s3:?}");
    let audit = audit_lines(state);
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["node"], "node3");
    assert_eq!(audit[0]["action"]["action"], "bypass");
    assert_eq!(audit[0]["ok"], true);
}
