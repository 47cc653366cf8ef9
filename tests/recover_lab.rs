//! The ring recovery wizard on real labs (seed 001), the scenario of its issue (on a TLS lab, whose
//! links must stay encrypted through the rebuild): rows written on
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

/// The lab's config with node1's `[[node]]` section changed by `edit`.
fn with_node1(original: &str, edit: impl Fn(&str) -> String) -> String {
    let at = original.find("[[node]]").expect("a [[node]]");
    let end = original[at + 8..].find("[[node]]").map_or(original.len(), |i| at + 8 + i);
    format!("{}{}{}", &original[..at], edit(&original[at..end]), &original[end..])
}

/// Node1's stop command replaced by `argv` (TOML strings).
fn node1_stop_command(original: &str, argv: &[&str]) -> String {
    with_node1(original, |section| {
        let start = section.find("stop_command = [").expect("stop_command");
        let end = start + section[start..].find(']').expect("]") + 1;
        let list: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
        format!("{}stop_command = [{}]{}", &section[..start], list.join(", "), &section[end..])
    })
}

/// The backups (and what is beside them) next to node `k`'s data directory.
fn backups_of(lab: &Lab, k: u16) -> Vec<String> {
    let dir = lab.dir().join(format!("node{k}"));
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.retain(|n| n.contains("ringdeck-backup"));
    v.sort();
    v
}

/// A row on node3 that the others never see (seed 004's divergence).
fn diverge_node3(lab: &Lab) {
    lab.query(3, "SET sql_log_bin=0; INSERT INTO app.posts (id, node, body) VALUES (700003, 'node3', 'local only')");
}

#[test]
fn rebuild_the_ring_resuming_after_a_kill_in_step_7() {
    // A TLS lab: the links replicate encrypted (MASTER_SSL=1, verified) and must stay so.
    let lab = Lab::start_with(common::LabOptions { nodes: 3, gtid: false, tls: true, agent: false });
    let encrypted = |k: u16| {
        let s = lab.replica_status(k);
        s.get("Master_SSL_Allowed").map(String::as_str) == Some("Yes")
            && s.get("Master_SSL_Verify_Server_Cert").map(String::as_str) == Some("Yes")
    };
    assert!((1..=3).all(encrypted), "the TLS lab's links are encrypted");
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

    // Stopped means stopped: a stop command that does nothing and a login the server refuses
    // (the old proof, a failed connect, would have passed) -> the step waits, then refuses with
    // what the host shows; nothing is copied and the server was never touched.
    let config = lab.config_path();
    let original = std::fs::read_to_string(&config).expect("lab config");
    let lying = node1_stop_command(&original, &["true"]);
    let lying = with_node1(&lying, |sec| {
        sec.replacen(&format!("password = \"{}\"", lab.password()), "password = \"wrong\"", 1)
    });
    assert_ne!(lying, original);
    std::fs::write(&config, &lying).unwrap();
    let uptime = || -> u64 {
        lab.query_one(1, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME'")
            .and_then(|v| v.parse().ok())
            .expect("node1 answers")
    };
    let before = uptime();
    let (code, text) =
        rd(&lab, state, &["recover", "--yes", "--confirm-node", "node1", "--steps", "1", "--server-wait", "4"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("node1: not proven stopped") && text.contains("(mariadbd)"), "{text}");
    assert!(backups_of(&lab, 1).is_empty(), "nothing was copied: {:?}", backups_of(&lab, 1));
    assert!(uptime() >= before + 4, "node1 ran throughout (no restart)");

    // A stop command that returns before mysqld exits: the step waits for the proof. A partial
    // backup left by an interrupted try is replaced; every backup ends with its manifest.
    let ctl = lab.dir().join("node1/ctl").display().to_string();
    let late =
        node1_stop_command(&original, &["sh", "-c", "(sleep 2; exec \"$0\" stop) </dev/null >/dev/null 2>&1 &", &ctl]);
    std::fs::write(&config, &late).unwrap();
    let (_, st) = saved_state(state).expect("the wizard is saved");
    let stamp: String = st["started"].as_str().unwrap().replace([':', '-'], "").chars().take(15).collect();
    let partial = lab.dir().join(format!("node1/data.ringdeck-backup-{stamp}.partial"));
    std::fs::create_dir_all(partial.join("junk")).unwrap();
    let out = rd_ok(&lab, state, &["recover", "--yes", "--confirm-node", "node1", "--steps", "1"]);
    // (as root in a container, processes started outside it are not readable: then the pid file
    // and the socket are the proof)
    assert!(
        out.contains("node1: server stopped: no process has a file under")
            || out.contains("node1: server stopped: the pid file"),
        "{out}"
    );
    assert!(out.contains("replacing the unfinished"), "{out}");
    assert!(out.contains("node1: backup") && out.contains("verified") && out.contains("by sha256"), "{out}");
    std::fs::write(&config, &original).unwrap();
    for k in 1..=3 {
        let b = backups_of(&lab, k);
        assert_eq!(b.len(), 2, "node{k}: the backup and its manifest, no partial: {b:?}");
        assert!(b[1].ends_with(".sha256"), "{b:?}");
    }

    // Steps 3 and 4; then a backup whose manifest is gone stops RESET before any statement.
    rd_ok(&lab, state, &["recover", "--yes", "--confirm-node", "node1", "--steps", "2"]);
    let manifest = lab.dir().join("node3").join(&backups_of(&lab, 3)[1]);
    let moved = manifest.with_extension("moved");
    std::fs::rename(&manifest, &moved).unwrap();
    let (code, text) = rd(&lab, state, &["recover", "--yes", "--confirm-node", "node1", "--steps", "1"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("node3: no verified backup before RESET MASTER"), "{text}");
    assert!(!lab.replica_status(1).is_empty(), "nothing was reset: node1 still has its replication settings");
    std::fs::rename(&moved, &manifest).unwrap();

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

    // Every node replicates, still encrypted and verified, node3's local row is gone, and the
    // checksums agree.
    ring_green(&lab);
    for k in 1..=3 {
        assert!(encrypted(k), "node{k}'s link lost its TLS in the rebuild: {:?}", lab.replica_status(k));
    }
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

/// A rebuild keeps each link as it was: on a GTID ring every link ends `Using_Gtid: Slave_Pos`
/// (never silently turned into a position-based one), starting from its upstream's GTID position.
#[test]
fn a_rebuild_of_a_gtid_ring_keeps_gtid_links() {
    let lab = Lab::start_with(common::LabOptions { nodes: 3, gtid: true, tls: false, agent: false });
    let state_dir = tempfile::tempdir().expect("state dir");
    let state = state_dir.path();
    for k in 1..=3 {
        assert_eq!(lab.replica_status(k).get("Using_Gtid").map(String::as_str), Some("Slave_Pos"));
    }
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    wait_until(Duration::from_secs(20), "node2 stopped on 1062", || {
        lab.replica_status(2).get("Last_SQL_Errno").map(String::as_str) == Some("1062")
    });
    let out = rd_ok(&lab, state, &["recover", "--yes", "--confirm-node", "node1"]);
    assert!(out.contains("link from 127.0.0.1") && out.contains("is gtid slave_pos"), "{out}");
    assert!(out.contains("SET GLOBAL gtid_slave_pos") && out.contains("MASTER_USE_GTID=slave_pos"), "{out}");
    assert!(out.contains("recovery complete"), "{out}");
    ring_green(&lab);
    for k in 1..=3 {
        let s = lab.replica_status(k);
        assert_eq!(s.get("Using_Gtid").map(String::as_str), Some("Slave_Pos"), "node{k}: {s:?}");
    }
    for (k, id) in [(1, 810001), (2, 810002), (3, 810003)] {
        replicates(&lab, k, id);
    }
    let verify = rd(&lab, state, &["verify"]);
    assert_eq!(verify.0, 0, "{}", verify.1);
}
