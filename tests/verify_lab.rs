//! `ringdeck verify` and the console's `V` against a real lab: a healthy ring with rows written on
//! every node (waited for everywhere) is equal (exit 0); a row written on node3 only
//! (`sql_log_bin=0`) makes it exit 1 naming the table, the chunk and the key, in text and JSON;
//! the console, even read-only, runs the verify from the keyboard and shows the difference.

mod common;

use std::process::Command;
use std::time::Duration;

use common::tmux::Tmux;
use common::{Lab, wait_until};

/// Runs `ringdeck verify --config <lab> args`: (exit code, stdout, stderr).
fn verify(lab: &Lab, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ringdeck"))
        .arg("verify")
        .arg("--config")
        .arg(lab.config_path())
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run the ringdeck binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every node has the same rows in app.posts (count and largest id) and replicates caught up.
fn settled(lab: &Lab) -> bool {
    let seen: Vec<Option<String>> = (1..=lab.nodes())
        .map(|k| lab.query_one(k, "SELECT CONCAT(COUNT(*), '/', COALESCE(MAX(id), 0)) FROM app.posts"))
        .collect();
    let same = seen.windows(2).all(|w| w[0] == w[1]);
    same && (1..=lab.nodes()).all(|k| {
        let s = lab.replica_status(k);
        let g = |c: &str| s.get(c).map(String::as_str).unwrap_or("");
        g("Slave_IO_Running") == "Yes" && g("Slave_SQL_Running") == "Yes" && g("Seconds_Behind_Master") == "0"
    })
}

#[test]
fn verify_on_a_live_lab() {
    let lab = Lab::start(3);

    // Rows written on every node; wait until every node has all of them.
    for k in 1..=lab.nodes() {
        for i in 0..5 {
            lab.query(k, &format!("INSERT INTO app.posts (node, body) VALUES ('node{k}', 'verify lab {i}')"));
        }
    }
    wait_until(Duration::from_secs(30), "every row on every node, replication caught up", || settled(&lab));

    let (code, out, err) = verify(&lab, &[]);
    assert_eq!(code, 0, "healthy ring:\n{out}\n{err}");
    assert!(out.starts_with("ringdeck verify: EQUAL - all equal: 1 table(s) in 1 schema(s) on 3 node(s)"), "{out}");
    assert!(out.contains("EQUAL (1 table(s))\n  app.posts\n"), "{out}");
    assert!(out.contains("note: only meaningful while writes are quiet and replication caught up"), "{out}");
    assert!(!out.contains("WARNINGS"), "caught up, quiet: no warnings\n{out}");
    assert!(err.contains("verify: CHECKSUM TABLE app.posts (1/1)"), "progress on stderr: {err}");

    // A row on node3 only: not written to its binlog, so it never goes around the ring.
    lab.query(
        3,
        "SET sql_log_bin = 0; INSERT INTO app.posts (id, node, body) VALUES (900003, 'node3', 'node3 only'); \
         SET sql_log_bin = 1",
    );
    let (code, out, err) = verify(&lab, &[]);
    assert_eq!(code, 1, "a row on node3 only:\n{out}\n{err}");
    assert!(out.starts_with("ringdeck verify: DIFFERENCES - 1 of 1 table(s) not equal: app.posts"), "{out}");
    assert!(out.contains("  app.posts  DIFFERS\n"), "{out}");
    assert!(
        out.contains("    chunk id 900003..900003: node1 0 rows crc 0 | node2 0 rows crc 0 | node3 1 row crc "),
        "{out}"
    );
    assert!(out.contains("      app.posts id 900003: node1 missing, node2 missing, node3 has it\n"), "{out}");

    // The same in JSON.
    let (code, out, _) = verify(&lab, &["--format", "json", "--table", "app.posts", "--chunk-size", "500"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["equal"], false);
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["chunk_size"], 500);
    let t = &v["tables"][0];
    assert_eq!(
        (t["schema"].as_str(), t["table"].as_str(), t["status"].as_str()),
        (Some("app"), Some("posts"), Some("differs"))
    );
    assert_eq!(t["key"], "id");
    let rows: Vec<u64> = t["nodes"].as_array().unwrap().iter().map(|n| n["rows"].as_u64().unwrap()).collect();
    assert_eq!(rows[2], rows[0] + 1, "node3 has one row more: {t}");
    let chunk = &t["chunks"][0];
    assert_eq!((chunk["lo"].as_u64(), chunk["hi"].as_u64()), (Some(900003), Some(900003)), "{t}");
    let row = &chunk["rows"][0];
    assert_eq!(row["key"], serde_json::json!([900003]));
    let states: Vec<&str> = row["nodes"].as_array().unwrap().iter().map(|n| n["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["missing", "missing", "has"]);

    // Only the other table: equal. A table no node has: missing, exit 1.
    let (code, out, _) = verify(&lab, &["--table", "app.nope"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("  app.nope  MISSING on node1, node2, node3 (no node has it)"), "{out}");

    // The console, read-only: V runs the verify and shows the difference.
    let bin = env!("CARGO_BIN_EXE_ringdeck");
    let tmux = Tmux::new(
        "verify",
        140,
        40,
        &format!("{bin} --read-only --config '{}'; sleep 60", lab.config_path().display()),
    );
    tmux.wait_for(Duration::from_secs(15), "all nodes up", |s| s.contains("db 3/3") && s.contains("READ-ONLY"));
    tmux.keys(&["V"]);
    let screen = tmux.wait_for(Duration::from_secs(20), "the verify overlay with the difference", |s| {
        s.contains("verify: NOT equal") && s.contains("app.posts id 900003: node1 missing, node2 missing, node3 has it")
    });
    assert!(screen.contains("chunk id 900003..900003"), "{screen}");
    assert!(!screen.contains("refused: ringdeck is read-only"), "verify only reads: allowed read-only\n{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_for(Duration::from_secs(3), "the overlay closed", |s| !s.contains("verify: NOT equal"));
}
