//! `ringdeck run` and `ringdeck audit` against real labs (two labs, one per test, run in
//! parallel): a duplicate-key break skipped (dry run changes nothing, `--yes` turns the ring green,
//! one audit line), skip-until-healthy over two 1062s in a row, stop/start slave, read_only on/off,
//! reset-slave-all then change-master back, reset-master then repairing its downstream. Every
//! action is also shown to be refused, changing nothing, with `--read-only`.

mod common;

use std::path::Path;

use common::{Lab, audit_interrupted, audit_lines, healthy, rd, rd_ok, replicates, ring_green};

/// `--read-only` in front of `args`: refused with exit 3 and a clear message.
fn refused_read_only(lab: &Lab, state: &Path, args: &[&str]) {
    let mut all = vec!["--read-only"];
    all.extend_from_slice(args);
    all.push("--yes");
    let (code, text) = rd(lab, state, &all);
    assert_eq!(code, 3, "{args:?} under --read-only:\n{text}");
    assert!(text.contains("read-only") && text.contains("nothing was changed"), "{text}");
}

fn st(lab: &Lab, k: u16, key: &str) -> String {
    lab.replica_status(k).get(key).cloned().unwrap_or_default()
}

#[test]
fn skip_stop_start_read_only() {
    let lab = Lab::start(3);
    let state = tempfile::tempdir().expect("state dir");
    let state = state.path();

    // A duplicate-key break on node2.
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    assert_eq!(st(&lab, 2, "Last_SQL_Errno"), "1062");

    refused_read_only(&lab, state, &["run", "skip", "--node", "node2"]);
    assert_eq!(st(&lab, 2, "Last_SQL_Errno"), "1062");

    // Dry run: prints the plan, changes nothing, writes no audit line.
    let out = rd_ok(&lab, state, &["run", "skip", "--node", "node2", "--count", "1"]);
    assert!(out.contains("STOP SLAVE\n  SET GLOBAL sql_slave_skip_counter = 1\n  START SLAVE\n"), "{out}");
    assert!(out.contains("[ok  ] SQL thread stopped on an error"), "{out}");
    assert!(out.contains("node3 and node1 will not have it"), "{out}");
    assert!(out.contains("dry run: nothing was changed"), "{out}");
    assert_eq!(st(&lab, 2, "Last_SQL_Errno"), "1062");
    assert_eq!(st(&lab, 2, "Slave_SQL_Running"), "No");
    assert!(audit_lines(state).is_empty());

    // --yes: the ring turns green, one audit line.
    let out = rd_ok(&lab, state, &["run", "skip", "--node", "node2", "--count", "1", "--yes"]);
    assert!(out.contains("running: SET GLOBAL sql_slave_skip_counter = 1"), "{out}");
    ring_green(&lab);
    let audit = audit_lines(state);
    assert_eq!(audit.len(), 1, "{audit:#?}");
    assert_eq!(audit[0]["node"], "node2");
    assert_eq!(audit[0]["action"]["action"], "skip");
    assert_eq!(audit[0]["ok"], true);
    assert_eq!(audit[0]["statements_run"], 3);
    let shown = rd_ok(&lab, state, &["audit"]);
    assert!(shown.contains("skip 1 event on node2  OK"), "{shown}");

    // A skip on a healthy node is refused by planning.
    let (code, out) = rd(&lab, state, &["run", "skip", "--node", "node2", "--yes"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not stopped on an error"), "{out}");

    // Two 1062s in a row (two different duplicate ids): skip-until-healthy skips both.
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    refused_read_only(&lab, state, &["run", "skip-until-healthy", "--node", "node2"]);
    assert_eq!(st(&lab, 2, "Last_SQL_Errno"), "1062");
    let out = rd_ok(
        &lab,
        state,
        &["run", "skip-until-healthy", "--node", "node2", "--errno", "1062", "--limit", "5", "--yes"],
    );
    let notes: Vec<&str> = out.lines().filter(|l| l.starts_with("note: skipping event")).collect();
    assert_eq!(notes.len(), 2, "{out}");
    assert!(notes.iter().all(|n| n.contains("1062 Duplicate entry")), "{out}");
    assert_ne!(notes[0].split("entry").nth(1), notes[1].split("entry").nth(1), "two different rows: {out}");
    assert!(out.contains("2 events skipped"), "{out}");
    ring_green(&lab);
    let audit = audit_lines(state);
    assert_eq!(audit.len(), 2);
    let notes: Vec<&str> = audit[1]["notes"].as_array().expect("notes").iter().filter_map(|n| n.as_str()).collect();
    assert_eq!(notes.iter().filter(|n| n.starts_with("skipping event")).count(), 2, "{notes:?}");
    assert_eq!(notes.iter().filter(|n| n.starts_with("forked data recorded (fork ")).count(), 2, "{notes:?}");

    // stop-slave / start-slave.
    refused_read_only(&lab, state, &["run", "stop-slave", "--node", "node3"]);
    assert!(healthy(&lab, 3));
    rd_ok(&lab, state, &["run", "stop-slave", "--node", "node3", "--yes"]);
    assert_eq!((st(&lab, 3, "Slave_IO_Running"), st(&lab, 3, "Slave_SQL_Running")), ("No".into(), "No".into()));
    refused_read_only(&lab, state, &["run", "start-slave", "--node", "node3"]);
    assert_eq!(st(&lab, 3, "Slave_SQL_Running"), "No");
    rd_ok(&lab, state, &["run", "start-slave", "--node", "node3", "--yes"]);
    ring_green(&lab);
    // Starting what runs already fails its precondition, dry run or not.
    let (code, out) = rd(&lab, state, &["run", "start-slave", "--node", "node3"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[FAIL] threads not both running"), "{out}");

    // read_only on / off.
    let ro = |k| lab.query_one(k, "SELECT @@read_only");
    refused_read_only(&lab, state, &["run", "read-only", "--on", "--node", "node1"]);
    assert_eq!(ro(1).as_deref(), Some("0"));
    rd_ok(&lab, state, &["run", "read-only", "--on", "--node", "node1", "--yes"]);
    assert_eq!(ro(1).as_deref(), Some("1"));
    refused_read_only(&lab, state, &["run", "read-only", "--off", "--node", "node1"]);
    assert_eq!(ro(1).as_deref(), Some("1"));
    rd_ok(&lab, state, &["run", "read-only", "--off", "--node", "node1", "--yes"]);
    assert_eq!(ro(1).as_deref(), Some("0"));
    replicates(&lab, 1, 900_001);
    assert_eq!(audit_lines(state).len(), 6);
}

#[test]
fn reset_slave_all_and_reset_master_then_repair() {
    let lab = Lab::start(3);
    let state = tempfile::tempdir().expect("state dir");
    let state = state.path();

    // reset-slave-all on node3, then change-master back to node2 restores the ring.
    refused_read_only(&lab, state, &["run", "reset-slave-all", "--node", "node3", "--confirm-node", "node3"]);
    assert!(healthy(&lab, 3));
    let (code, out) = rd(&lab, state, &["run", "reset-slave-all", "--node", "node3", "--yes"]);
    assert_eq!(code, 2, "without --confirm-node: {out}");
    assert!(out.contains("--confirm-node node3"), "{out}");
    let (code, out) =
        rd(&lab, state, &["run", "reset-slave-all", "--node", "node3", "--yes", "--confirm-node", "node2"]);
    assert_eq!(code, 2, "wrong --confirm-node: {out}");
    assert!(healthy(&lab, 3));
    rd_ok(&lab, state, &["run", "reset-slave-all", "--node", "node3", "--yes", "--confirm-node", "node3"]);
    assert!(lab.replica_status(3).is_empty(), "node3 still has a replica link");

    let change = ["run", "change-master", "--node", "node3", "--upstream", "node2"];
    refused_read_only(&lab, state, &[&change[..], &["--confirm-node", "node3"]].concat());
    assert!(lab.replica_status(3).is_empty());
    let out = rd_ok(&lab, state, &change);
    assert!(out.contains("MASTER_PASSWORD='***'"), "{out}");
    let out = rd_ok(&lab, state, &[&change[..], &["--yes", "--confirm-node", "node3"]].concat());
    assert!(out.contains("Master_Port = "), "{out}");
    assert_eq!(st(&lab, 3, "Master_Port"), lab.node_port(2).to_string());
    rd_ok(&lab, state, &["run", "start-slave", "--node", "node3", "--yes"]);
    ring_green(&lab);
    replicates(&lab, 2, 900_002);

    // reset-master on node1 (its replication stopped first), then repair node2 from node1.
    let pos_before: u64 = lab.query(1, "SHOW MASTER STATUS")[0][1].as_deref().and_then(|p| p.parse().ok()).unwrap_or(0);
    refused_read_only(&lab, state, &["run", "reset-master", "--node", "node1", "--confirm-node", "node1"]);
    let (code, out) = rd(&lab, state, &["run", "reset-master", "--node", "node1"]);
    assert_eq!(code, 1, "precondition: replication on node1 must be stopped first: {out}");
    assert!(out.contains("[FAIL] replication stopped on this node"), "{out}");
    rd_ok(&lab, state, &["run", "stop-slave", "--node", "node1", "--yes"]);
    rd_ok(&lab, state, &["run", "reset-master", "--node", "node1", "--yes", "--confirm-node", "node1"]);
    let row = lab.query(1, "SHOW MASTER STATUS");
    let file = row[0][0].clone().unwrap_or_default();
    let pos: u64 = row[0][1].as_deref().and_then(|p| p.parse().ok()).unwrap_or(0);
    assert!(file.ends_with(".000001"), "{file}");
    assert!(pos < pos_before, "binlog position {pos} not below {pos_before} after RESET MASTER");

    rd_ok(&lab, state, &["run", "stop-slave", "--node", "node2", "--yes"]);
    let out = rd_ok(
        &lab,
        state,
        &["run", "change-master", "--node", "node2", "--upstream", "node1", "--yes", "--confirm-node", "node2"],
    );
    assert!(out.contains(&format!("MASTER_LOG_FILE='{file}', MASTER_LOG_POS={pos}")), "{out}");
    rd_ok(&lab, state, &["run", "start-slave", "--node", "node2", "--yes"]);
    rd_ok(&lab, state, &["run", "start-slave", "--node", "node1", "--yes"]);
    ring_green(&lab);
    replicates(&lab, 1, 900_003);
    replicates(&lab, 3, 900_004);

    let audit = std::fs::read_to_string(state.join("ringdeck/audit.log")).expect("audit log");
    let password = ringdeck::config::Config::load(&lab.config_path()).expect("lab config").nodes[1]
        .replication_password
        .clone()
        .expect("replication password");
    assert!(!audit.contains(password.expose()), "the replication password reached the audit log");
    // reset-slave-all, change-master, start, stop, reset-master, stop, change-master, start, start
    // each step is written twice: "started" before the first statement, "ended" after
    assert_eq!(audit_lines(state).len(), 9, "{audit}");
    assert!(audit_interrupted(state).is_empty(), "{audit}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(state.join("ringdeck/audit.log")).expect("audit log").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}
