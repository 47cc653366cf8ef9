//! The conflict inspector on real labs, driven in tmux as an operator would: from `lab break dup`,
//! `lab break conflict --nodes 1,2` (a double break) and `lab break missing` (1032), three keys
//! from the first (`I`, a choice, `y`) leave every link running and `verify` equal, with no
//! server restarted and a writer on a healthy node never blocked. The time from the first key to
//! the result is printed. Also `ringdeck inspect --format json` and `ringdeck resolve` from the
//! shell, and the advice on the ring pane.

mod common;

use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::{Lab, Writer, caught_up, rd, ring_green, uptimes, wait_until};

fn console(lab: &Lab, state: &std::path::Path, name: &str) -> Tmux {
    Tmux::new(
        name,
        160,
        45,
        &format!(
            "XDG_STATE_HOME='{}' {} --config '{}'; sleep 60",
            state.display(),
            env!("CARGO_BIN_EXE_ringdeck"),
            lab.config_path().display()
        ),
    )
}

/// With a writer on a healthy node, breaks the lab (`lab break ...`), resolves it in the console
/// with `I`, `choice`, `y`, and checks the outcome.
struct Case<'a> {
    name: &'a str,
    breaks: &'a [&'a str],
    writer_on: u16,
    choice: &'a str,
    shown: &'a [&'a str],
}

fn three_keys(lab: &Lab, state: &std::path::Path, c: &Case<'_>) {
    ring_green(lab);
    let before = uptimes(lab);
    let writer = Writer::start(lab, c.writer_on);
    wait_until(Duration::from_secs(10), "the writer writing", || writer.rows() >= 3);
    let mut args = vec!["lab", "break"];
    args.extend(c.breaks);
    lab.ringdeck_ok(&args);
    let tmux = console(lab, state, c.name);
    tmux.wait_for(Duration::from_secs(15), "the stopped link and its advice", |s| {
        s.contains("SQL✗") && s.contains("→ I: the event beside every node's row")
    });
    let first = Instant::now();
    tmux.keys(&["I"]);
    tmux.wait_for(Duration::from_secs(20), "the inspection", |s| {
        c.shown.iter().all(|w| s.contains(w)) && s.contains("RESOLVE")
    });
    tmux.keys(&[c.choice]);
    tmux.wait_for(Duration::from_secs(20), "the planned resolution", |s| s.contains("y: run it   enter/esc: cancel"));
    let rows_before = writer.rows();
    tmux.keys(&["y"]);
    let screen = tmux.wait_for(Duration::from_secs(60), "the resolution's result", |s| {
        s.contains("every link running; the key is equal on every node") || s.contains("NOT resolved")
    });
    eprintln!("{}: {} ms from the first key to the result", c.name, first.elapsed().as_millis());
    assert!(screen.contains("every link running; the key is equal on every node"), "{screen}");
    assert!(writer.rows() > rows_before, "the writer kept writing");
    let (rows, slowest) = writer.finish();
    assert!(slowest < 2000, "{}: an insert waited {slowest} ms ({rows} rows)", c.name);
    tmux.keys(&["Enter"]);
    wait_until(Duration::from_secs(30), "every row everywhere", || caught_up(lab));
    tmux.wait_for(Duration::from_secs(10), "the ring healthy again", |s| s.contains("ring healthy"));
    let (code, out) = rd(lab, state, &["verify"]);
    assert_eq!(code, 0, "{}: {out}", c.name);
    let after = uptimes(lab);
    assert!(after.iter().zip(&before).all(|(a, b)| a >= b), "no server restarted: {before:?} -> {after:?}");
}

#[test]
fn a_duplicate_key_is_resolved_with_the_events_version_in_three_keys() {
    let lab = Lab::start(3);
    let state = tempfile::tempdir().expect("state");
    let shown = ["INSERT app.posts: id", "first written on node1"];
    let case = Case { name: "dup", breaks: &["dup", "--node", "2"], writer_on: 3, choice: "e", shown: &shown };
    three_keys(&lab, state.path(), &case);
    for k in 1..=3 {
        assert_eq!(
            lab.query_one(k, "SELECT COUNT(*) FROM app.posts WHERE body = 'row that collides on node2'").as_deref(),
            Some("1"),
            "node{k} holds the event's version"
        );
    }
    // Again, from the shell: JSON with the event, every node's row, who has it; then keep both.
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    let (code, out) = rd(&lab, state.path(), &["inspect", "--node", "node2", "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["schema_version"], 1);
    let c = &v["conflicts"][0];
    assert_eq!(
        (c["node"].as_str(), c["upstream"].as_str(), c["errno"].as_u64()),
        (Some("node2"), Some("node1"), Some(1062))
    );
    assert_eq!(c["origin"], "node1");
    assert_eq!(c["event"]["op"], "insert");
    assert_eq!(c["event"]["after"]["body"], "'row that collides on node2'");
    assert_eq!(c["rows"][1]["values"]["body"], "'local row written unlogged by lab break dup'");
    assert_eq!(c["rows"][2]["state"], "absent");
    assert_eq!(c["differing_columns"], serde_json::json!(["node", "body"]));
    assert_eq!(c["never_if_skipped"], serde_json::json!(["node2", "node3"]));
    let (code, out) = rd(&lab, state.path(), &["resolve", "--node", "node2", "--keep", "both"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("dry run: nothing was changed; add --yes to run it"), "{out}");
    let (code, out) = rd(&lab, state.path(), &["--read-only", "resolve", "--node", "node2", "--keep", "both", "--yes"]);
    assert_eq!(code, 3, "{out}");
    let (code, out) = rd(&lab, state.path(), &["resolve", "--node", "node2", "--keep", "both", "--yes"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(the local row moves to id "), "{out}");
    wait_until(Duration::from_secs(30), "caught up", || caught_up(&lab));
    let (code, out) = rd(&lab, state.path(), &["verify"]);
    assert_eq!(code, 0, "{out}");
    let q = "SELECT COUNT(*) FROM app.posts WHERE body IN ('row that collides on node2', \
             'local row written unlogged by lab break dup')";
    assert_eq!(lab.query_one(1, q).as_deref(), Some("3"), "the first resolution's row, and both rows of this one");
}

#[test]
fn a_double_break_is_resolved_keeping_the_local_version_in_three_keys() {
    let lab = Lab::start(3);
    let state = tempfile::tempdir().expect("state");
    let shown = ["ringdeck inspect: node1 (a double break: both directions)", "first written on node2"];
    let case =
        Case { name: "conflict", breaks: &["conflict", "--nodes", "1,2"], writer_on: 3, choice: "l", shown: &shown };
    three_keys(&lab, state.path(), &case);
    for k in 1..=3 {
        assert_eq!(
            lab.query_one(k, "SELECT COUNT(*) FROM app.posts WHERE body = 'written on node1 in a conflict'").as_deref(),
            Some("1"),
            "node{k} holds node1's version: I opened on node1 (the selected node, broken), whose local row it kept"
        );
    }
}

#[test]
fn a_missing_row_is_resolved_by_applying_the_event_in_three_keys() {
    let lab = Lab::start(3);
    let state = tempfile::tempdir().expect("state");
    let shown = ["UPDATE app.posts: id", "before: id"];
    let case = Case { name: "missing", breaks: &["missing", "--node", "3"], writer_on: 1, choice: "e", shown: &shown };
    three_keys(&lab, state.path(), &case);
    for k in 1..=3 {
        assert_eq!(
            lab.query_one(k, "SELECT COUNT(*) FROM app.posts WHERE body = 'updated on node2 after node3 lost it'")
                .as_deref(),
            Some("1"),
            "node{k} holds the update"
        );
    }
}
