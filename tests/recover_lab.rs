//! The ring recovery wizard on real labs (seed 001), the scenario of its issue: rows written on
//! every node, node2 broken on a duplicate key, a row written on node3 with sql_log_bin=0 (a
//! divergence no skip can repair). `ringdeck recover` plans from the model (node1, the failed
//! node's upstream), refuses without the typed source name and under --read-only, stops at a
//! changed host key, is killed during step 7 and resumes at step 7; afterwards every node
//! replicates, `ringdeck verify` finds equal checksums and the audit log holds every step.
//! A second lab bypasses node2 and then rejoins it from a copy of node1.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Lab, audit_lines, rd, rd_ok, replicates, ring_green, wait_until};

fn saved_state(state: &Path) -> Option<(PathBuf, serde_json::Value)> {
    let dir = state.join("ringdeck/recovery");
    let entries = std::fs::read_dir(dir).ok()?;
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json")
            && let Ok(text) = std::fs::read_to_string(&p)
            && let Ok(v) = serde_json::from_str(&text)
        {
            return Some((p, v));
        }
    }
    None
}

/// A row on node3 that the others never see (seed 004's divergence).
fn diverge_node3(lab: &Lab) {
    lab.query(3, "SET sql_log_bin=0; INSERT INTO app.posts (id, node, body) VALUES (700003, 'node3', 'local only')");
}

#[test]
fn rebuild_the_ring_resuming_after_a_kill_in_step_7() {
    let lab = Lab::start(3);
    let state_dir = tempfile::tempdir().expect("state dir");
    let state = state_dir.path();
    for (k, id) in [(1, 500001), (2, 500002), (3, 500003)] {
        replicates(&lab, k, id);
    }
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    wait_until(Duration::from_secs(20), "node2 stopped on 1062", || {
        lab.replica_status(2).get("Last_SQL_Errno").map(String::as_str) == Some("1062")
    });
    diverge_node3(&lab);

    // The plan names the model's source and changes nothing.
    let plan = rd_ok(&lab, state, &["recover"]);
    assert!(plan.contains("most complete data: node1"), "{plan}");
    assert!(plan.contains("7. copy the chosen data directory to the others"), "{plan}");
    assert!(plan.contains("nothing was changed") && plan.contains("--confirm-node node1"), "{plan}");
    assert!(saved_state(state).is_none(), "a plan saves nothing");
    let (code, text) = rd(&lab, state, &["--read-only", "recover", "--yes", "--confirm-node", "node1"]);
    assert_eq!(code, 3, "{text}");
    let (code, text) = rd(&lab, state, &["recover", "--yes"]);
    assert_eq!(code, 2, "without the typed source name: {text}");
    assert!(audit_lines(state).is_empty());

    // A changed host key stops the wizard at its first SSH step, fail closed.
    let known_hosts = lab.dir().join("known_hosts");
    let good = std::fs::read_to_string(&known_hosts).expect("lab known_hosts");
    let port = lab.port_base() + 22;
    std::fs::write(
        &known_hosts,
        format!(
            "[127.0.0.1]:{port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
        ),
    )
    .unwrap();
    let (code, text) = rd(&lab, state, &["recover", "--yes", "--confirm-node", "node1", "--steps", "2"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.to_lowercase().contains("host key") && text.contains("FAILED at step 2 of 9"), "{text}");
    std::fs::write(&known_hosts, good).unwrap();
    let (_, st) = saved_state(state).expect("the wizard is saved");
    assert_eq!(st["current"], 1, "step 1 ran, step 2 did not: {st}");

    // Run on and kill it in the middle of step 7 (after its first target, before the second).
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringdeck"))
        .args(["recover", "--yes", "--confirm-node", "node1", "--config"])
        .arg(lab.config_path())
        .env("XDG_STATE_HOME", state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ringdeck recover");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some((_, st)) = saved_state(state)
            && st["current"] == 6
            && st["copied"].as_array().is_some_and(|c| !c.is_empty())
        {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "recover ended before step 7's first copy was saved");
        assert!(Instant::now() < deadline, "step 7 not reached: {:?}", saved_state(state));
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill ringdeck");
    child.wait().unwrap();
    let (_, st) = saved_state(state).unwrap();
    assert_eq!((st["current"].as_u64(), st["interrupted"].as_bool()), (Some(6), Some(true)), "{st}");

    // Starting again resumes at step 7 and finishes.
    let out = rd_ok(&lab, state, &["recover", "--yes", "--confirm-node", "node1"]);
    assert!(out.contains("at step 7 of 9") && out.contains("step 7 was interrupted"), "{out}");
    assert!(out.contains("recovery complete"), "{out}");
    assert!(saved_state(state).is_none(), "a finished wizard is forgotten");

    // Every node replicates, node3's local row is gone, and the checksums agree.
    ring_green(&lab);
    for (k, id) in [(1, 600001), (2, 600002), (3, 600003)] {
        replicates(&lab, k, id);
    }
    for k in 1..=3 {
        assert_eq!(lab.query_one(k, "SELECT COUNT(*) FROM app.posts WHERE id = 700003").as_deref(), Some("0"));
    }
    let verify = rd(&lab, state, &["verify"]);
    assert_eq!(verify.0, 0, "{}", verify.1);

    // The audit log holds every step (the killed step 7 once more, when it ran to its end).
    let audit = audit_lines(state);
    for step in 1..=9 {
        assert!(
            audit.iter().any(|r| r["action"]["action"] == "recover" && r["action"]["step"] == step && r["ok"] == true),
            "no successful audit record of step {step}: {audit:#?}"
        );
    }
    let all = serde_json::to_string(&audit).unwrap();
    assert!(all.contains("state maint") && all.contains("state ready"), "HAProxy maint and back: {all}");
    // Write-ahead: the killed run of step 7 left its start, never its end, and `audit` says so.
    let cut = common::audit_interrupted(state);
    assert_eq!(cut.len(), 1, "{cut:#?}");
    assert_eq!(cut[0]["action"]["step"], 7);
    let shown = rd_ok(&lab, state, &["audit"]);
    assert!(
        shown.contains("step 7: copy the chosen data directory to the others  INTERRUPTED (started, never ended"),
        "{shown}"
    );
}

#[test]
fn bypass_then_rejoin_from_a_copy() {
    let lab = Lab::start(3);
    let state_dir = tempfile::tempdir().expect("state dir");
    let state = state_dir.path();
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    wait_until(Duration::from_secs(20), "node2 stopped on 1062", || {
        lab.replica_status(2).get("Last_SQL_Errno").map(String::as_str) == Some("1062")
    });
    rd_ok(&lab, state, &["run", "bypass", "--node", "node2", "--yes", "--confirm-node", "node3"]);
    lab.query(1, "INSERT INTO app.posts (id, node, body) VALUES (800001, 'node1', 'while bypassed')");
    wait_until(Duration::from_secs(30), "node3 has node1's row", || {
        lab.query_one(3, "SELECT COUNT(*) FROM app.posts WHERE id = 800001").as_deref() == Some("1")
    });

    let plan = rd_ok(&lab, state, &["recover", "--rejoin", "node2", "--donor", "node1"]);
    assert!(plan.contains("rejoin node2 from node1"), "{plan}");
    let out =
        rd_ok(&lab, state, &["recover", "--rejoin", "node2", "--donor", "node1", "--yes", "--confirm-node", "node1"]);
    assert!(out.contains("recovery complete"), "{out}");

    // node1 -> node2 -> node3 -> node1 again.
    let port = |k: u16| lab.replica_status(k).get("Master_Port").cloned().unwrap_or_default();
    assert_eq!(port(2), lab.node_port(1).to_string());
    assert_eq!(port(3), lab.node_port(2).to_string());
    ring_green(&lab);
    for (k, id) in [(1, 810001), (2, 810002), (3, 810003)] {
        replicates(&lab, k, id);
    }
    let verify = rd(&lab, state, &["verify"]);
    assert_eq!(verify.0, 0, "{}", verify.1);
}
