//! Ring-aware row repair on real labs: after a skip (a recorded fork: `check` says data_forked)
//! and three kinds of unlogged divergence, `verify --repair --yes` makes every node equal
//! without restarting a server while a writer on another node keeps writing; values of every
//! awkward type and composite keys are repaired exactly; and a repair refuses what it must
//! (read-only, too many rows, a node down, no majority) while `run forget` clears a fork by hand.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Lab, Writer, audit_lines, caught_up, checksum, rd, ring_green, uptimes, wait_until};

#[test]
fn a_forked_ring_is_repaired_without_downtime_while_a_writer_writes() {
    let lab = Lab::start(4);
    let state = tempfile::tempdir().expect("state dir");
    let st = state.path();
    ring_green(&lab);
    wait_until(Duration::from_secs(30), "the lab's rows everywhere", || caught_up(&lab));
    let before = uptimes(&lab);
    let ids: Vec<String> =
        lab.query(1, "SELECT id FROM app.posts ORDER BY id LIMIT 2").into_iter().filter_map(|r| r[0].clone()).collect();
    let (changed, deleted) = (&ids[0], &ids[1]);

    // The classic incident: a duplicate key on node2, skipped. The ring runs, the data forks.
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    wait_until(Duration::from_secs(10), "node2 stopped on 1062", || {
        lab.replica_status(2).get("Last_SQL_Errno").map(String::as_str) == Some("1062")
    });
    let (code, out) = rd(&lab, st, &["run", "skip", "--node", "node2", "--yes"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("forked data recorded (fork "), "{out}");
    let (code, out) = rd(&lab, st, &["check", "--format", "json"]);
    assert_eq!(code, 1, "a fork is a WARNING: {out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let forked: Vec<&serde_json::Value> =
        v["findings"].as_array().expect("findings").iter().filter(|f| f["kind"] == "data_forked").collect();
    assert_eq!(forked.len(), 1, "{v:#}");
    let msg = forked[0]["message"].as_str().unwrap_or("");
    assert!(msg.starts_with("FORKED app.posts id ") && msg.contains("(skipped on node2 "), "{msg}");
    assert!(msg.contains("never on node3, node4"), "{msg}");
    assert!(!v["summary"].as_str().unwrap_or("").contains("ring node1"), "never called healthy: {v:#}");

    // Three kinds of divergence nothing logged: a row on node3 only, one changed on node4, one
    // deleted on node1.
    lab.query(3, "SET sql_log_bin=0; INSERT INTO app.posts (id, node, body) VALUES (900003, 'node3', 'node3 only')");
    lab.query(4, &format!("SET sql_log_bin=0; UPDATE app.posts SET body = 'changed on node4' WHERE id = {changed}"));
    lab.query(1, &format!("SET sql_log_bin=0; DELETE FROM app.posts WHERE id = {deleted}"));

    let writer = Writer::start(&lab, 4);
    wait_until(Duration::from_secs(10), "the writer writing", || writer.rows() >= 5);
    let (code, out) = rd(&lab, st, &["verify", "--repair", "--quiet"]);
    assert_eq!(code, 1, "a dry run changes nothing: {out}");
    assert!(out.contains("dry run: nothing was changed; add --yes to run it"), "{out}");
    let rows_before = writer.rows();
    let started = Instant::now();
    let (code, out) = rd(&lab, st, &["verify", "--repair", "--yes", "--quiet"]);
    let took = started.elapsed();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("keep node1's version (the skipped event's version, from node1) [fork "), "{out}");
    assert!(out.contains("fork ") && out.contains("cleared"), "{out}");
    assert!(out.contains(&format!("app.posts id {changed}: equal on every node")), "{out}");
    assert!(out.contains(&format!("app.posts id {deleted}: equal on every node")), "{out}");
    assert!(out.contains("app.posts id 900003: equal on every node (absent)"), "majority: {out}");
    assert!(writer.rows() > rows_before, "the writer kept writing during the {took:?} repair");
    let (rows, slowest) = writer.finish();
    assert!(slowest < 2000, "an insert waited {slowest} ms: the writer was blocked");
    eprintln!("repair took {} ms; the writer wrote {rows} rows, slowest insert {slowest} ms", took.as_millis());

    wait_until(Duration::from_secs(30), "the writer's rows everywhere", || caught_up(&lab));
    let (code, out) = rd(&lab, st, &["verify"]);
    assert_eq!(code, 0, "every node equal after the repair:\n{out}");
    let (code, out) = rd(&lab, st, &["check"]);
    assert_eq!(code, 0, "the fork is settled, the ring healthy:\n{out}");
    let after = uptimes(&lab);
    assert!(after.iter().zip(&before).all(|(a, b)| a >= b), "no server restarted: {before:?} -> {after:?}");
    let repairs: Vec<serde_json::Value> =
        audit_lines(st).into_iter().filter(|r| r["action"]["action"] == "repair").collect();
    assert_eq!(repairs.len(), 4, "one audit record per node");
    assert!(repairs.iter().all(|r| r["ok"] == true && !r["statements"].as_array().expect("statements").is_empty()));
}

const EXOTIC: &str = "CREATE TABLE app.exotic (a INT NOT NULL, k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, \
    b BIT(10), d DECIMAL(30,10), dt DATETIME(6), j JSON, bl BLOB, tx TEXT CHARACTER SET utf8mb4, n VARCHAR(10) NULL, \
    vb VARBINARY(16), f DOUBLE, PRIMARY KEY (a, k))";

const EXOTIC_ROW: &str = "b'1011001101', 12345678901234567890.0123456789, '2026-11-29 12:34:56.654321', \
    '{\"emoji\": \"\u{1F600}\", \"n\": [1, 2.5, null]}', X'00FF10807F', 'caf\u{e9} \u{1F680} line\nnext', NULL, \
    X'DEADBEEF00', 0.1";

fn exotic_image(lab: &Lab, k: u16, key: &str) -> Vec<Vec<Option<String>>> {
    lab.query(
        k,
        &format!(
            "SELECT a, k, HEX(b), d, dt, j, HEX(bl), HEX(tx), n IS NULL, HEX(vb), f FROM app.exotic WHERE {key} ORDER BY a, k"
        ),
    )
}

#[test]
fn awkward_values_and_composite_keys_are_repaired_exactly() {
    let lab = Lab::start(3);
    let state = tempfile::tempdir().expect("state dir");
    let st = state.path();
    ring_green(&lab);
    lab.query(1, EXOTIC);
    lab.query(
        1,
        &format!(
            "INSERT INTO app.exotic VALUES (2, 'y', {EXOTIC_ROW}), (3, 'z', b'1', 1.5, '2000-01-01 00:00:00.000001', \
             '[]', '', '', 'x', '', 2.5)"
        ),
    );
    lab.query(1, "CREATE TABLE app.parent (id INT PRIMARY KEY, v VARCHAR(10))");
    lab.query(1, "CREATE TABLE app.child (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES app.parent (id) ON DELETE CASCADE)");
    lab.query(1, "CREATE TRIGGER app.parent_au AFTER UPDATE ON app.parent FOR EACH ROW SET @touched = 1");
    lab.query(1, "INSERT INTO app.parent VALUES (1, 'one')");
    wait_until(Duration::from_secs(30), "the tables everywhere", || {
        caught_up(&lab) && (1..=3).all(|k| lab.query_one(k, "SELECT COUNT(*) FROM app.exotic").as_deref() == Some("2"))
    });

    // (1,'x') only on node2, with every awkward value; (2,'y') deleted on node3; (3,'z') three
    // versions (a tie: no majority); parent 1 changed on node2.
    lab.query(2, &format!("SET sql_log_bin=0; INSERT INTO app.exotic VALUES (1, 'x', {EXOTIC_ROW})"));
    lab.query(3, "SET sql_log_bin=0; DELETE FROM app.exotic WHERE a = 2");
    lab.query(2, "SET sql_log_bin=0; UPDATE app.exotic SET tx = 'two' WHERE a = 3");
    lab.query(3, "SET sql_log_bin=0; UPDATE app.exotic SET tx = 'three', d = NULL WHERE a = 3");
    lab.query(2, "SET sql_log_bin=0; UPDATE app.parent SET v = 'uno' WHERE id = 1");

    let (code, out) = rd(&lab, st, &["verify", "--repair", "--quiet"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("differing row(s), compared by key tuples (a, k)"), "{out}");
    assert!(out.contains("app.exotic (a, k) (1, 'x'): node1 missing, node2 has it, node3 missing"), "{out}");
    assert!(
        out.contains("REFUSED: 1 key(s) without a version to keep: app.exotic (a, k) (3, 'z'): no majority"),
        "{out}"
    );
    assert!(out.contains("WARNING: app.parent has triggers (parent_au AFTER UPDATE)"), "{out}");
    assert!(
        out.contains("WARNING: app.parent has foreign keys (app.child.p -> app.parent.id ON DELETE CASCADE"),
        "{out}"
    );
    assert!(out.contains("dry run: nothing was changed; it would be refused"), "{out}");
    let (code, out) = rd(&lab, st, &["verify", "--repair", "--yes", "--quiet"]);
    assert_eq!(code, 1, "refused: {out}");
    assert_eq!(
        lab.query_one(1, "SELECT COUNT(*) FROM app.exotic WHERE a = 1").as_deref(),
        Some("0"),
        "nothing changed"
    );

    // node2's version of everything: (1,'x') everywhere, (2,'y') back on node3, (3,'z') as on node2.
    let (code, out) = rd(&lab, st, &["verify", "--repair", "--yes", "--prefer", "node2", "--quiet"]);
    assert_eq!(code, 0, "{out}");
    let want = exotic_image(&lab, 2, "TRUE");
    assert_eq!(want.len(), 3, "{want:?}");
    for k in [1, 3] {
        assert_eq!(exotic_image(&lab, k, "TRUE"), want, "node{k} holds node2's rows, byte for byte");
        assert_eq!(checksum(&lab, k, "app.exotic"), checksum(&lab, 2, "app.exotic"));
        assert_eq!(lab.query_one(k, "SELECT v FROM app.parent WHERE id = 1").as_deref(), Some("uno"));
    }
    let (code, out) = rd(&lab, st, &["verify"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_repair_refuses_what_it_must_and_a_fork_can_be_forgotten() {
    let lab = Lab::start(3);
    let state = tempfile::tempdir().expect("state dir");
    let st = state.path();
    ring_green(&lab);
    lab.query(3, "SET sql_log_bin=0; INSERT INTO app.posts (id, node, body) VALUES (800003, 'node3', 'node3 only')");
    let on_node3 = || lab.query_one(3, "SELECT COUNT(*) FROM app.posts WHERE id = 800003").as_deref() == Some("1");

    let (code, out) = rd(&lab, st, &["--read-only", "verify", "--repair", "--yes", "--quiet"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("refused: ringdeck is read-only; the repair was not run") && out.contains("(--read-only)"),
        "{out}"
    );
    let (code, out) = rd(&lab, st, &["verify", "--repair", "--yes", "--max-rows", "0", "--quiet"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("row changes planned, more than --max-rows 0"), "{out}");
    assert!(on_node3(), "nothing changed");

    // A fork forgotten by hand: shown, refused without the node's name, then gone (audited).
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    wait_until(Duration::from_secs(10), "node2 stopped on 1062", || {
        lab.replica_status(2).get("Last_SQL_Errno").map(String::as_str) == Some("1062")
    });
    let (code, out) = rd(&lab, st, &["run", "skip", "--node", "node2", "--yes"]);
    assert_eq!(code, 0, "{out}");
    let id = out.split("(fork ").nth(1).and_then(|s| s.split(')').next()).expect("the fork's id").to_string();
    let (code, out) = rd(&lab, st, &["run", "forget", "--fork", &id]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("dry run: nothing was changed; add --yes --confirm-node node2"), "{out}");
    let (code, out) = rd(&lab, st, &["run", "forget", "--fork", &id, "--yes"]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(rd(&lab, st, &["check"]).0, 1, "still forked");
    let (code, out) = rd(&lab, st, &["run", "forget", "--fork", &id, "--yes", "--confirm-node", "node2"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(rd(&lab, st, &["check"]).0, 0, "forgotten");
    assert!(audit_lines(st).iter().any(|r| r["action"]["action"] == "forget-fork" && r["action"]["id"] == id.as_str()));

    // A node down: the repair refuses, and says why.
    lab.ringdeck_ok(&["lab", "break", "stop", "--node", "2"]);
    let (code, out) = rd(&lab, st, &["verify", "--repair", "--yes", "--quiet"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("REFUSED: node2 cannot be read"), "{out}");
    assert!(on_node3(), "nothing changed");
}

#[test]
fn the_console_repairs_a_fork_with_the_version_the_operator_chose() {
    let lab = Lab::start(3);
    let state = tempfile::tempdir().expect("state dir");
    let st = state.path();
    ring_green(&lab);
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    wait_until(Duration::from_secs(10), "node2 stopped on 1062", || {
        lab.replica_status(2).get("Last_SQL_Errno").map(String::as_str) == Some("1062")
    });
    let (code, out) = rd(&lab, st, &["run", "skip", "--node", "node2", "--yes"]);
    assert_eq!(code, 0, "{out}");
    let key = out.split("app.posts id ").nth(1).and_then(|s| s.split(' ').next()).expect("the key").to_string();
    let tmux = common::tmux::Tmux::new(
        "repair",
        160,
        45,
        &format!(
            "XDG_STATE_HOME='{}' {} --config '{}'; sleep 60",
            st.display(),
            env!("CARGO_BIN_EXE_ringdeck"),
            lab.config_path().display()
        ),
    );
    tmux.wait_for(Duration::from_secs(15), "the fork on the ring pane", |s| {
        s.contains(&format!("WARN FORKED app.posts id {key} (skipped on node2")) && !s.contains("ring healthy")
    });
    tmux.keys(&["V"]);
    tmux.wait_for(Duration::from_secs(30), "the planned repair", |s| {
        s.contains("REPAIR  1 key(s)") && s.contains("keep node1's version (default)")
    });
    tmux.keys(&["p"]);
    tmux.wait_for(Duration::from_secs(2), "node2's version chosen", |s| {
        s.contains("keep node2's version: chosen: node2's version") && s.contains("(default)")
    });
    tmux.keys(&["P"]);
    tmux.wait_for(Duration::from_secs(2), "the confirm box, Cancel first", |s| {
        s.contains("repair 2 row(s) on 2 node(s)?") && s.contains("[ Cancel ]")
    });
    tmux.keys(&["Tab"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for(Duration::from_secs(20), "the repaired key", |s| {
        s.contains("repaired: every key equal") && s.contains(&format!("app.posts id {key}: equal on every node"))
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for(Duration::from_secs(5), "the fork gone, the ring healthy", |s| s.contains("ring healthy"));
    for k in 1..=3 {
        assert_eq!(
            lab.query_one(k, &format!("SELECT body FROM app.posts WHERE id = {key}")).as_deref(),
            Some("local row written unlogged by lab break dup"),
            "node{k} holds node2's version"
        );
    }
    let (code, out) = rd(&lab, st, &["verify"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_node_lost_between_the_plan_and_the_run_is_reported_node_by_node() {
    use ringdeck::config::Config;
    use ringdeck::config::login::Logins;

    let lab = Lab::start(3);
    let state = tempfile::tempdir().expect("state dir");
    ring_green(&lab);
    let id = lab.query_one(1, "SELECT MIN(id) FROM app.posts").expect("a row");
    lab.query(3, "SET sql_log_bin=0; INSERT INTO app.posts (id, node, body) VALUES (910003, 'node3', 'node3 only')");
    lab.query(2, &format!("SET sql_log_bin=0; UPDATE app.posts SET body = 'node2 only' WHERE id = {id}"));
    let cfg = Config::load(&lab.config_path()).expect("the lab config");
    let logins = Logins::resolve(&cfg).expect("logins");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let report = rt.block_on(ringdeck::verify::verify(&cfg, &logins, &Default::default(), None)).expect("verify");
    let plan = rt
        .block_on(ringdeck::repair::prepare(&cfg, &logins, &report, &Default::default(), 1000, &[], None))
        .expect("a plan");
    assert!(plan.refusals.is_empty(), "{:?}", plan.refusals);
    assert_eq!(plan.changes.len(), 2, "delete on node3, update on node2");

    lab.ringdeck_ok(&["lab", "break", "stop", "--node", "2"]);
    let mut ctx = ringdeck::runbook::EngineCtx::new(Arc::new(cfg), Arc::new(logins)).expect("ctx");
    ctx.audit = ringdeck::runbook::AuditLog::new(state.path().join("audit.log"));
    let outcome = rt.block_on(ringdeck::repair::apply(&plan, &ctx, None));
    assert!(!outcome.ok, "{outcome:?}");
    let n2 = outcome.nodes.iter().find(|n| n.node == "node2").expect("node2's part");
    assert_eq!(n2.applied, 0);
    assert!(n2.error.as_deref().unwrap_or("").starts_with("cannot connect"), "{n2:?}");
    let n3 = outcome.nodes.iter().find(|n| n.node == "node3").expect("node3's part");
    assert_eq!((n3.applied, n3.error.as_deref()), (1, None));
    assert!(outcome.summary.contains("FAILED: node2: cannot connect"), "{}", outcome.summary);
    assert!(outcome.keys.iter().all(|k| !k.equal && k.text.contains("NOT compared on node2")), "{:?}", outcome.keys);
    assert_eq!(lab.query_one(3, "SELECT COUNT(*) FROM app.posts WHERE id = 910003").as_deref(), Some("0"));
    let audit = std::fs::read_to_string(state.path().join("audit.log")).expect("audit");
    let recs: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter(|r| r["phase"] == "ended")
        .collect();
    assert_eq!(recs.len(), 2, "{audit}");
    let r2 = recs.iter().find(|r| r["node"] == "node2").expect("node2's record");
    assert_eq!((r2["ok"].as_bool(), r2["statements_run"].as_u64()), (Some(false), Some(0)));
}
