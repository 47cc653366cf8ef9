//! The console as a user runs it: in tmux against a real lab. It shows the ring, shows a break
//! within a poll, marks a hung node while the others and the keys stay live, and `q` restores
//! the terminal. Also `ringdeck snapshot` against the same lab.

mod common;

use std::time::Duration;

use common::tmux::Tmux;
use common::{Lab, node_pid};

#[test]
fn console_on_a_live_lab() {
    let lab = Lab::start(3);
    let cfg = lab.config_path();
    let bin = env!("CARGO_BIN_EXE_ringdeck");

    // snapshot: one frame of the real state, as text.
    let snap = lab.ringdeck_ok(&["--config", cfg.to_str().unwrap(), "snapshot", "--width", "160", "--height", "45"]);
    assert!(snap.contains("db 3/3  lb 1/1  web 2/2"), "{snap}");
    assert!(snap.contains("│ ● node1 │─────────────▶│ ● node2 │"), "the ring drawn: {snap}");
    assert!(snap.contains("ring healthy"), "{snap}");
    assert!(snap.contains("web1") && snap.contains("L7OK"), "{snap}");

    let state = tempfile::tempdir().unwrap();
    let tmux = Tmux::new(
        "live",
        160,
        45,
        &format!(
            "XDG_STATE_HOME='{}' {bin} --config '{}'; echo RINGDECK-EXIT=$?; sleep 60",
            state.path().display(),
            cfg.display()
        ),
    );
    tmux.wait_for(Duration::from_secs(15), "all targets up", |s| s.contains("db 3/3  lb 1/1  web 2/2"));

    // A break shows within one poll interval (1 s) plus slack for the break itself to land.
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    let screen = tmux.wait_for(Duration::from_millis(1500), "the broken link node1 -> node2", |s| {
        s.contains("──✗──")
            && s.contains("✗1062")
            && s.contains("CRIT node1 -> node2  SQL stopped  1062 Duplicate entry")
    });
    assert!(screen.contains("SQL✗ 1062"), "{screen}");

    // A hung node (SIGSTOP) shows as stale, then down, while the others stay up and keys answer.
    let pid = node_pid(&lab, 3);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGSTOP).unwrap();
    let screen = tmux.wait_for(Duration::from_secs(8), "node3 stale or down", |s| {
        s.lines().any(|l| l.contains("node3") && (l.contains("stale") || l.contains("DOWN")))
    });
    assert!(screen.lines().any(|l| l.contains("● node1") && l.contains(" up ")), "{screen}");
    tmux.keys(&["2", "z"]);
    tmux.wait_for(Duration::from_millis(1000), "the zoomed HAProxy pane", |s| {
        s.contains("┏ 2 HAProxy") && !s.contains("Replication ring")
    });
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGCONT).unwrap();
    // Esc alone (a following key would arrive as Alt+key), then back to the ring.
    tmux.keys(&["Escape"]);
    tmux.wait_for(Duration::from_millis(1000), "the unzoomed console", |s| s.contains("Replication ring"));
    tmux.keys(&["1"]);
    tmux.wait_for(Duration::from_secs(8), "node3 back up", |s| {
        s.lines().any(|l| l.contains("● node3") && l.contains(" up "))
    });

    // Repair from the keyboard: select node2, skip, read the dialog, confirm (Cancel is the default).
    tmux.keys(&["j", "s"]);
    tmux.wait_for(Duration::from_secs(5), "the skip dialog with live preconditions", |s| {
        s.contains("skip 1 event on node2")
            && s.contains("checked live just now")
            && s.contains("SET GLOBAL sql_slave_skip_counter = 1;")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for(Duration::from_secs(2), "the dialog closed by Enter on Cancel", |s| {
        !s.contains("skip 1 event on node2")
    });
    assert!(lab.replica_status(2).get("Last_SQL_Errno").map(String::as_str) == Some("1062"), "Cancel changed nothing");
    tmux.keys(&["s"]);
    tmux.wait_for(Duration::from_secs(5), "the skip dialog again", |s| s.contains("checked live just now"));
    tmux.keys(&["Tab"]);
    tmux.keys(&["Enter"]);
    // The ring runs again, but the skip forked its data: never called healthy.
    tmux.wait_for(Duration::from_secs(15), "the step done, the ring running and its data forked", |s| {
        s.contains("DONE")
            && s.contains("WARN FORKED app.posts id")
            && !s.contains("ring healthy")
            && !s.contains("✗1062")
    });
    tmux.keys(&["Enter"]);
    let audit = common::audit_lines(state.path());
    assert_eq!(audit.len(), 1, "one step ended: {audit:?}");
    let audit = audit[0].to_string();
    assert!(audit.contains("sql_slave_skip_counter") && audit.contains("node2"), "{audit}");

    // q quits with status 0 and leaves the alternate screen.
    tmux.keys(&["q"]);
    let screen = tmux.wait_for(Duration::from_secs(3), "the console's exit", |s| s.contains("RINGDECK-EXIT="));
    assert!(screen.contains("RINGDECK-EXIT=0"), "{screen}");
    assert!(!screen.contains("Replication ring"), "terminal restored: {screen}");

    // --read-only: the same key is refused on the spot and nothing is planned or run.
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    let ro = Tmux::new(
        "ro",
        120,
        36,
        &format!(
            "XDG_STATE_HOME='{}' {bin} --read-only --config '{}'; sleep 60",
            state.path().display(),
            cfg.display()
        ),
    );
    ro.wait_for(Duration::from_secs(10), "the broken link in read-only mode", |s| {
        s.contains("READ-ONLY") && s.contains("1062")
    });
    ro.keys(&["j", "s"]);
    ro.wait_for(Duration::from_secs(2), "the refusal", |s| {
        s.contains("refused: ringdeck is read-only; skip on node2 was not run")
    });
    assert_eq!(common::audit_all(state.path()).len(), 2, "read-only wrote nothing new (the skip's start and end)");
}
