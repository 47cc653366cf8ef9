//! The recovery wizard as an operator drives it in the console (tmux, real lab): `R` opens it on
//! a broken ring with the model's source and evidence, each step is confirmed (Cancel first; the
//! destructive ones only after typing the source's name), the console is killed in step 7 and the
//! wizard reopens there by itself, and after step 9 the ring pane shows a healthy ring.

mod common;

use std::time::Duration;

use common::tmux::Tmux;
use common::{Lab, audit_lines, replicates, wait_until};

/// Confirms the next step (typing `name` first when given) and waits for its result line.
fn run_step(tmux: &Tmux, number: usize, name: Option<&str>) {
    tmux.keys(&["Enter"]);
    tmux.wait_for(Duration::from_secs(5), "the step's confirm popup", |s| s.contains("[ Cancel ]"));
    if let Some(n) = name {
        tmux.keys(&["-l", n]);
    }
    tmux.keys(&["Tab", "Enter"]);
    let screen = tmux.wait_for(Duration::from_secs(240), &format!("step {number} finished"), |s| {
        s.contains("FAILED  ") || s.contains(&format!("✓ {number:>2}. "))
    });
    assert!(!screen.contains("FAILED  "), "step {number} failed:\n{screen}");
}

#[test]
fn wizard_rebuilds_the_ring_in_the_console() {
    let lab = Lab::start(3);
    let state = tempfile::tempdir().unwrap();
    lab.ringdeck_ok(&["lab", "break", "dup", "--node", "2"]);
    lab.query(3, "SET sql_log_bin=0; INSERT INTO app.posts (id, node, body) VALUES (700003, 'node3', 'local only')");
    let cmd = format!(
        "XDG_STATE_HOME='{}' {} --config '{}'; sleep 60",
        state.path().display(),
        env!("CARGO_BIN_EXE_ringdeck"),
        lab.config_path().display()
    );
    let tmux = Tmux::new("wizard", 160, 45, &cmd);
    tmux.wait_for(Duration::from_secs(15), "the broken link", |s| s.contains("✗1062"));
    tmux.keys(&["R"]);
    let screen = tmux.wait_for(Duration::from_secs(5), "the wizard", |s| s.contains("recovery: rebuild the ring"));
    assert!(screen.contains("● node1  (the model's choice)"), "{screen}");

    // Cancel is the default: enter, enter runs nothing.
    tmux.keys(&["Enter"]);
    tmux.wait_for(Duration::from_secs(5), "the confirm popup", |s| s.contains("[ Cancel ]"));
    tmux.keys(&["Enter"]);
    tmux.wait_for(Duration::from_secs(5), "the popup closed", |s| !s.contains("[ Cancel ]"));
    assert!(audit_lines(state.path()).is_empty());

    // `q` while step 1 runs asks (Cancel first); "quit when it ends" lets the step finish (its
    // audit record ends) and then the console quits; started again, the wizard is at step 2.
    tmux.keys(&["Enter"]);
    tmux.wait_for(Duration::from_secs(5), "the step's confirm popup", |s| s.contains("[ Cancel ]"));
    tmux.keys(&["Tab", "Enter"]);
    tmux.wait_for(Duration::from_secs(10), "step 1 watching", |s| s.contains("watching binlog positions"));
    tmux.keys(&["Escape"]);
    tmux.wait_for(Duration::from_secs(2), "the wizard hidden", |s| !s.contains("recovery: rebuild the ring"));
    tmux.keys(&["q"]);
    // (waiting for the whole popup: a capture may catch a frame half drawn)
    let screen = tmux.wait_for(Duration::from_secs(2), "the quit question", |s| {
        s.contains("quit while a write runs?") && s.contains("[ Quit now ]")
    });
    assert!(screen.contains("the recovery wizard's") && screen.contains("[ Cancel ]"), "{screen}");
    // (Enter on Cancel closing it is a unit test in app::quit: the step's 3 s watch is short.)
    tmux.keys(&["Tab", "Enter"]);
    tmux.wait_for(Duration::from_secs(30), "the console gone once step 1 ended", |s| !s.contains("ringdeck"));
    let step1: Vec<_> = audit_lines(state.path());
    assert_eq!(step1.len(), 1, "{step1:?}");
    assert_eq!(step1[0]["ok"], true, "{step1:?}");
    assert!(common::audit_interrupted(state.path()).is_empty());
    drop(tmux);
    let tmux = Tmux::new("wizard1b", 160, 45, &cmd);
    tmux.wait_for(Duration::from_secs(10), "the wizard reopened", |s| s.contains("step 2 of 9"));

    for n in 2..=4 {
        run_step(&tmux, n, None);
    }
    // A destructive step refuses Run until the source's name is typed.
    tmux.keys(&["Enter", "Tab", "Enter"]);
    let screen = tmux.wait_for(Duration::from_secs(5), "the popup still open", |s| s.contains("type node1 to confirm"));
    assert!(!screen.contains("✓  5. "), "{screen}");
    tmux.keys(&["Escape"]);
    run_step(&tmux, 5, Some("node1"));
    run_step(&tmux, 6, Some("node1"));

    // Kill the console while step 7 copies; starting it again reopens the wizard at step 7.
    tmux.keys(&["Enter"]);
    tmux.wait_for(Duration::from_secs(5), "the confirm popup", |s| s.contains("[ Cancel ]"));
    tmux.keys(&["-l", "node1"]);
    tmux.keys(&["Tab", "Enter"]);
    tmux.wait_for(Duration::from_secs(60), "step 7 copying", |s| s.contains("copying node1:"));
    drop(tmux); // kills the tmux server and the console in it (SIGHUP), mid-copy

    let tmux = Tmux::new("wizard2", 160, 45, &cmd);
    let screen = tmux.wait_for(Duration::from_secs(10), "the wizard resumed", |s| s.contains("step 7 of 9"));
    assert!(screen.contains("step 7 was interrupted") || screen.contains("✓  7. "), "{screen}");
    if !screen.contains("✓  7. ") {
        run_step(&tmux, 7, Some("node1"));
    }
    run_step(&tmux, 8, None);
    run_step(&tmux, 9, None);
    tmux.wait_for(Duration::from_secs(5), "the end", |s| s.contains("the procedure is complete"));
    tmux.keys(&["Escape"]);
    tmux.wait_for(Duration::from_secs(10), "a healthy ring", |s| s.contains("ring healthy"));
    for (k, id) in [(1, 610001), (2, 610002), (3, 610003)] {
        replicates(&lab, k, id);
    }
    wait_until(Duration::from_secs(5), "node3's local row gone", || {
        lab.query_one(3, "SELECT COUNT(*) FROM app.posts WHERE id = 700003").as_deref() == Some("0")
    });
}
